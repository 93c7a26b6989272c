"""Hostile entries in the manuals tree are reported by name and skipped; the rest is stored.

Each test here failed before its fix: a non-UTF-8 name crashed the run (UnicodeEncodeError,
nothing stored), a FIFO blocked it for ever, a symlink out of the root was indexed, and a
file symlink loop was called a dangling symlink.
"""

from __future__ import annotations

import os
import threading

from ingest.run import ingest
from ingest.status import format_status, status
from tests.faults.helpers import GOOD, SECRET, make_socket, outside_page, paths_saying, stored_paths


def _reasons(report) -> dict[str, str]:
    return {e["path"]: e["reason"] for e in report.errors}


def test_non_utf8_file_name_is_reported_by_its_bytes_and_the_rest_is_stored(manuals, settings):
    (manuals / os.fsdecode(b"latin1_\xe9.html")).write_bytes(b"<html><body><h1>Caf\xc3\xa9</h1><p>menu</p></body></html>")
    (manuals / os.fsdecode(b"dir_\xff")).mkdir()
    (manuals / os.fsdecode(b"dir_\xff") / "inner.html").write_text("<h1>x</h1><p>inner page</p>", encoding="utf-8")
    report = ingest([manuals], settings, progress=False)
    reasons = _reasons(report)
    assert "not valid UTF-8" in reasons["latin1_\\xe9.html"] and "rename" in reasons["latin1_\\xe9.html"]
    assert "not valid UTF-8" in reasons["dir_\\xff/"]
    assert report.exit_code == 3 and report.files.failed == 2
    assert stored_paths(settings.storage_dir) == set(GOOD)
    shown = format_status(status(settings))  # the operator's view counts and names it
    assert "2 failed" in shown and "latin1_\\xe9.html: file name is not valid UTF-8" in shown


def test_fifo_and_socket_named_html_are_reported_at_once_not_read(manuals, settings):
    os.mkfifo(manuals / "x.html")
    sock = make_socket(manuals / "y.html")
    done: dict = {}
    runner = threading.Thread(target=lambda: done.update(report=ingest([manuals], settings, progress=False)), daemon=True)
    try:
        runner.start()
        runner.join(120)
        if runner.is_alive():  # blocked on the FIFO: give it an end of file so the thread ends
            os.close(os.open(manuals / "x.html", os.O_WRONLY | os.O_NONBLOCK))
        assert not runner.is_alive(), "the run blocked on a FIFO"
    finally:
        sock.close()
    reasons = _reasons(done["report"])
    assert reasons["x.html"] == "not a regular file (FIFO)"
    assert reasons["y.html"] == "not a regular file (socket)"
    assert stored_paths(settings.storage_dir) == set(GOOD)


def test_symlinks_out_of_the_manuals_root_are_reported_and_not_indexed(manuals, settings, tmp_path):
    secret = outside_page(tmp_path)
    (manuals / "leak.html").symlink_to(secret)
    (manuals / "shared").symlink_to(secret.parent)  # a folder outside (like a link to /etc)
    (manuals / "etc").symlink_to("/etc")
    (manuals / "billing" / "inside.html").symlink_to(manuals / "plans.html")  # inside: still followed
    report = ingest([manuals], settings, progress=False)
    reasons = _reasons(report)
    outside = "symlink points outside the manuals root"
    assert reasons == {"leak.html": outside, "shared/": outside, "etc/": outside}
    assert stored_paths(settings.storage_dir) == set(GOOD) | {"billing/inside.html"}
    assert paths_saying(settings.storage_dir, SECRET) == set()


def test_file_symlink_loop_is_called_a_loop(manuals, settings):
    (manuals / "self.html").symlink_to("self.html")
    (manuals / "a.html").symlink_to("b.html")
    (manuals / "b.html").symlink_to("a.html")
    (manuals / "gone.html").symlink_to("nowhere.html")
    reasons = _reasons(ingest([manuals], settings, progress=False))
    assert reasons == {"self.html": "symlink loop", "a.html": "symlink loop", "b.html": "symlink loop",
                       "gone.html": "dangling symlink"}


def test_a_first_run_where_every_manual_fails_reports_them_and_publishes_an_empty_store(tmp_path, settings):
    """Before the fix: AttributeError from the empty BM25 index, a traceback instead of the report."""
    manuals = tmp_path / "only-bad"
    manuals.mkdir()
    (manuals / "empty.html").write_bytes(b"")
    os.mkfifo(manuals / "fifo.html")
    report = ingest([manuals], settings, progress=False)
    assert _reasons(report) == {"empty.html": "empty file", "fifo.html": "not a regular file (FIFO)"}
    assert report.exit_code == 3 and report.generation is not None
    assert stored_paths(settings.storage_dir) == set()
