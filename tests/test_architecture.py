"""The import direction holds (pyproject.toml [tool.importlinter]): core <- ingest;
core <- query.answer <- query.desk; query.ops independent of answer and desk; no cycles."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    return subprocess.run([exe, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_a_forbidden_import_breaks_the_contract(tmp_path: Path):
    """The contract can fail: a copy of the tree where the answer package imports the desk."""
    for name in ("core", "ingest", "query"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "query" / "answer" / "smalltalk.py"
    target.write_text(target.read_text(encoding="utf-8") + "\nimport query.desk.sessions  # noqa\n", encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "query.answer.smalltalk -> query.desk.sessions" in result.stdout
