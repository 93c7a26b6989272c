"""A full disk stops the run with one line and leaves the last good run published.

Before the fix: a raw traceback and exit 1 (and the report's own write failing on the full
disk hid the first error).
"""

from __future__ import annotations

import errno
import shutil
import subprocess

import pytest

from ingest import cli
from ingest.run import DiskFullError, ingest
from ingest.writer import Writer
from tests.faults.helpers import GOOD, many_manuals, pointer, run_ingest, store_state, stored_paths


def _full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "/store/index/chroma/chroma.sqlite3")


def test_full_disk_stops_with_one_line_and_the_last_good_run_stays_published(manuals, settings, monkeypatch, capsys):
    ingest([manuals], settings, progress=False)
    before = pointer(settings.storage_dir)
    (manuals / "new.html").write_text("<h1>New</h1><p>a new page about refunds</p>", encoding="utf-8")
    monkeypatch.setattr(Writer, "_store", _full)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    assert cli.main([str(manuals), "--storage", str(settings.storage_dir), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [
        "error: no space left on device while writing /store/index/chroma/chroma.sqlite3; the store still serves "
        f"generation {before['number']}, the last good run; free space and run the same command again to finish"]
    assert pointer(settings.storage_dir) == before
    monkeypatch.undo()  # space freed: the same command finishes the work
    report = ingest([manuals], settings, progress=False)
    assert report.exit_code == 0 and stored_paths(settings.storage_dir) == set(GOOD) | {"new.html"}


def test_full_disk_during_a_rebuild_removes_the_unpublished_index(manuals, settings, monkeypatch):
    ingest([manuals], settings, progress=False)
    live = pointer(settings.storage_dir)["index"]
    (manuals / "new.html").write_text("<h1>New</h1><p>a new page</p>", encoding="utf-8")
    monkeypatch.setattr(Writer, "_store", _full)
    with pytest.raises(DiskFullError):
        ingest([manuals], settings, fresh=True, progress=False)
    assert [p.name for p in settings.storage_dir.glob("index-*")] == [live]
    assert stored_paths(settings.storage_dir) == set(GOOD)


@pytest.mark.slow
def test_a_real_full_filesystem(tmp_path, manuals):
    """The store on a 3 MB tmpfs: the second, bigger run fills it (needs root; skipped otherwise)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if shutil.which("mount") is None or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                                                       capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        storage = mount / "store"
        assert run_ingest(manuals, storage).returncode == 0
        before = pointer(storage)
        many_manuals(manuals / "more", 40)  # 160 more manuals: about 4 MB of store
        full = run_ingest(manuals, storage)
        assert full.returncode == 2, full.stderr[-2000:]
        assert "Traceback" not in full.stderr
        assert full.stderr.strip().startswith("error: no space left on device while writing")
        assert f"still serves generation {before['number']}" in full.stderr
        assert pointer(storage) == before
        subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)
        again = run_ingest(manuals, storage)
        assert again.returncode == 0, again.stderr[-2000:]
        clean = run_ingest(manuals, tmp_path / "clean")
        assert clean.returncode == 0
        got, expected = store_state(storage), store_state(tmp_path / "clean")
        assert got["ids"] == expected["ids"] and got["docs"] == expected["docs"]
        assert got["lexical_ids"] == expected["lexical_ids"]
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
