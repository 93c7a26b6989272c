"""A full disk stops the run with one line and leaves the last good run published.

Before the fix: a raw traceback and exit 1 (and the report's own write failing on the full
disk hid the first error).
"""

from __future__ import annotations

import errno

import pytest

from ingest import cli
from ingest.run import DiskFullError, ingest
from ingest.writer import Writer
from tests.faults.helpers import GOOD, pointer, stored_paths


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


# The same on a real, full tmpfs (needs root) is the fault suite's "full disk" case
# (tests/faults/ingest_cases.py), run by `make test` and `make faults`.
