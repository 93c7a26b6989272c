"""Token counting stays offline and leaves the process environment alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Count with an o200k model (our table), then let a child process build LlamaIndex's
# cl100k tokenizer the way an ingest worker does. The child inherits the environment; the
# test suite's network guard (tests/netguard) makes any download attempt fail at once.
SCRIPT = """
import os, subprocess, sys
from core.tokens import count_tokens
before = dict(os.environ)
assert count_tokens("요금제 변경 방법", "gpt-4o-mini") > 0
changed = {k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)}
assert not changed, f"count_tokens changed the environment: {sorted(changed)}"
child = "from llama_index.core.utils import get_tokenizer; print(len(get_tokenizer()('hello world')))"
out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
assert out.returncode == 0, out.stderr[-2000:]
print("tokens ok")
"""


def test_counting_tokens_then_splitting_in_a_child_needs_no_download(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR")}
    env.update(HOME=str(tmp_path / "home"), TMPDIR=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "tokens ok" in result.stdout
