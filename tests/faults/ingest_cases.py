"""Ingestion fault cases, run as an operator runs ingestion: `python -m ingest` in a process.

The hostile-file cases share one run over one tree holding every hostile entry beside the
fixture manuals (one ingestion instead of ten); each case then reads its own entry's line
in that run's report. The others (a full disk, kill -9, two writers) need runs of their own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.faults.helpers import (
    GOOD, ROOT, SECRET, children, copy_fixtures, deep_page, env, equals_a_clean_run, ingest_cmd, make_socket,
    many_manuals, outside_page, paths_saying, pointer, run_ingest, stored_paths, wait_gone,
)
from tests.faults.registry import Outcome, case

AREA = "ingest"
OUTSIDE = "symlink points outside the manuals root"


@dataclass
class HostileRun:
    report: dict
    returncode: int
    seconds: float
    stored: set[str]
    storage: Path

    def reason(self, path: str) -> str | None:
        return next((e["reason"] for e in self.report.get("errors", []) if e["path"] == path), None)

    def warning(self, path: str) -> str | None:
        return next((w["reason"] for w in self.report.get("warnings", []) if w["path"] == path), None)


_HOSTILE: dict[Path, HostileRun] = {}
EXPECTED_STORED = set(GOOD) | {"deep.html", "truncated.html"}


def hostile_run(workdir: Path) -> HostileRun:
    """One ingestion of the fixture manuals plus every hostile entry (made once per suite run)."""
    base = workdir.parent / "_hostile"
    if base in _HOSTILE:
        return _HOSTILE[base]
    manuals = copy_fixtures(base / "manuals")
    (manuals / os.fsdecode(b"latin1_\xe9.html")).write_bytes(b"<h1>Caf\xc3\xa9</h1><p>menu</p>")
    os.mkfifo(manuals / "fifo.html")
    sock = make_socket(manuals / "socket.html")
    secret = outside_page(base)
    (manuals / "leak.html").symlink_to(secret)
    (manuals / "etc").symlink_to("/etc")
    (manuals / "shared").symlink_to(secret.parent)
    (manuals / "loop.html").symlink_to("loop.html")
    (manuals / "dangling.html").symlink_to("nowhere.html")
    (manuals / "deep.html").write_text(deep_page(50000), encoding="utf-8")
    (manuals / "empty.html").write_bytes(b"")
    (manuals / "binary.html").write_bytes(os.urandom(4096))
    (manuals / "mis-encoded.html").write_bytes('<meta charset="utf-8"><p>요금</p>'.encode("euc_kr"))
    with open(manuals / "huge.html", "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: over MAX_FILE_MB
    (manuals / "truncated.html").write_bytes((manuals / "plans.html").read_bytes()[:900])
    started = time.perf_counter()
    try:
        done = run_ingest(manuals, base / "storage", "--json", timeout=900)
    finally:
        sock.close()
    seconds = time.perf_counter() - started
    report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    run = HostileRun(report, done.returncode, seconds, stored_paths(base / "storage"), base / "storage")
    _HOSTILE[base] = run
    return run


def _reported(workdir: Path, path: str, expected: str) -> Outcome:
    run = hostile_run(workdir)
    reason = run.reason(path)
    lost = sorted(EXPECTED_STORED - run.stored)
    handled = run.returncode == 3 and reason is not None and expected in reason
    detail = f"{path}: {reason!r}" + (f"; missing from the store: {lost}" if lost else "; rest of the batch stored")
    return Outcome(handled, bool(lost), detail)


@case("non-UTF-8 file name", AREA, "reported by its escaped name; rest stored; counted in --status")
def non_utf8_name(workdir: Path) -> Outcome:
    outcome = _reported(workdir, "latin1_\\xe9.html", "not valid UTF-8")
    status = subprocess.run([sys.executable, "-m", "ingest", "--status", "--storage", str(hostile_run(workdir).storage)],
                            cwd=ROOT, env=env(), capture_output=True, text=True)
    failed = len(hostile_run(workdir).report.get("errors", []))
    if f"{failed} failed" not in status.stdout or "latin1_\\xe9.html" not in status.stdout:
        outcome.handled = False
        outcome.detail += f"; --status does not show the {failed} failures"
    return outcome


@case("FIFO named x.html", AREA, "reported 'not a regular file (FIFO)' at once, never read")
def fifo(workdir: Path) -> Outcome:
    return _reported(workdir, "fifo.html", "not a regular file (FIFO)")


@case("socket named x.html", AREA, "reported 'not a regular file (socket)'")
def unix_socket(workdir: Path) -> Outcome:
    return _reported(workdir, "socket.html", "not a regular file (socket)")


@case("symlink to a file outside the root", AREA, "reported as outside the root; never indexed")
def symlink_out_file(workdir: Path) -> Outcome:
    outcome = _reported(workdir, "leak.html", OUTSIDE)
    leaked = paths_saying(hostile_run(workdir).storage, SECRET)
    if leaked:
        outcome.handled = False
        outcome.detail += f"; the outside page is answerable from {sorted(leaked)}"
    return outcome


@case("symlink to /etc inside the root", AREA, "reported as outside the root; not walked")
def symlink_out_dir(workdir: Path) -> Outcome:
    outcome = _reported(workdir, "etc/", OUTSIDE)
    other = hostile_run(workdir).reason("shared/")
    if other != OUTSIDE:
        outcome.handled = False
        outcome.detail += f"; shared/: {other!r}"
    return outcome


@case("file symlink loop", AREA, "reported 'symlink loop'")
def symlink_loop(workdir: Path) -> Outcome:
    return _reported(workdir, "loop.html", "symlink loop")


@case("dangling symlink", AREA, "reported 'dangling symlink'")
def dangling(workdir: Path) -> Outcome:
    return _reported(workdir, "dangling.html", "dangling symlink")


@case("broken and odd HTML files", AREA, "empty/binary/mis-encoded/too large reported; truncated stored with a warning")
def broken_html(workdir: Path) -> Outcome:
    run = hostile_run(workdir)
    want = {"empty.html": "empty", "binary.html": "binary", "mis-encoded.html": "undecodable", "huge.html": "too large"}
    wrong = {p: run.reason(p) for p, word in want.items() if word not in (run.reason(p) or "")}
    truncated = run.warning("truncated.html")
    lost = sorted(EXPECTED_STORED - run.stored)
    handled = not wrong and truncated is not None and "truncated.html" in run.stored
    return Outcome(handled, bool(lost), f"wrongly reported: {wrong}" if wrong else
                   f"4 reported by name; truncated.html stored ({truncated})")


@case("50,000 nested divs (550 KB)", AREA, "read in seconds, deep part flattened with a warning, its words found")
def deep_nesting(workdir: Path) -> Outcome:
    run = hostile_run(workdir)
    found = paths_saying(run.storage, "zebracorn")
    warning = run.warning("deep.html") or ""
    handled = "nested more than" in warning and found == {"deep.html"} and run.seconds < 300
    return Outcome(handled, "deep.html" not in run.stored,
                   f"whole hostile run {run.seconds:.0f} s; warning: {warning!r}; 'zebracorn' found in {sorted(found)}")


@case("page over its parse time budget", AREA, "reported 'parse took longer than N s'; rest stored")
def parse_timeout(workdir: Path) -> Outcome:
    """Run as operators run it, `python -m ingest` in a process of its own: the limit is a SIGALRM
    timer of the process's main thread, and inside the long pytest process it was once found
    disarmed by something an earlier test left behind (the CLI process starts clean)."""
    manuals = copy_fixtures(workdir / "manuals")
    (manuals / "slow.html").write_text(deep_page(50000), encoding="utf-8")
    done = run_ingest(manuals, workdir / "storage", "--json", PARSE_TIMEOUT="0.2")
    report = json.loads(done.stdout)
    reasons = {e["path"]: e["reason"] for e in report["errors"]}
    stored = stored_paths(workdir / "storage")
    lost = sorted(set(GOOD) - stored)
    return Outcome(done.returncode == 3 and reasons == {"slow.html": "parse took longer than 0.2 s (PARSE_TIMEOUT)"}
                   and stored == set(GOOD), bool(lost), f"exit {done.returncode}; errors: {reasons}")


@case("full disk (tmpfs)", AREA, "one line 'no space left on device ...', exit 2, last good run still served; "
      "rerun after freeing space equals a clean run")
def full_disk(workdir: Path) -> Outcome:
    """A real full filesystem: a 16 MB tmpfs holding the store and a ballast file that leaves it 150 KB
    after a first good run, then eight more manuals. (The ballast, not a store grown until the disk
    fills, keeps the case to four short runs of the fixture manuals.)"""
    mount = workdir / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True).returncode:
        return Outcome(False, False, "cannot mount a tmpfs here (needs root); tests/ingest/test_disk_full.py injects ENOSPC",
                       skipped=True)
    try:
        manuals = copy_fixtures(workdir / "manuals")
        storage = mount / "store"
        run_ingest(manuals, storage)
        before = pointer(storage)
        many_manuals(manuals / "more", 2)
        ballast = mount / "ballast"
        with open(ballast, "wb") as handle:
            os.posix_fallocate(handle.fileno(), 0, shutil.disk_usage(mount).free - 150 * 1024)
        full = run_ingest(manuals, storage)
        lines = full.stderr.strip().splitlines()
        one_line = (len(lines) == 1 and lines[0].startswith("error: no space left on device while writing")
                    and f"still serves generation {before['number']}" in lines[0] and full.returncode == 2)
        kept = pointer(storage) == before
        ballast.unlink()
        again = run_ingest(manuals, storage)
        equal = again.returncode == 0 and equals_a_clean_run(storage, manuals, workdir / "clean")
        return Outcome(one_line and kept, not equal,
                       f"exit {full.returncode}: {lines[-1] if lines else ''!r}; generation kept: {kept}; "
                       f"after freeing space equal to a clean run: {equal}")
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@case("kill -9 of an ingestion with 2 workers", AREA, "its worker processes end within seconds")
def kill9_workers(workdir: Path) -> Outcome:
    manuals = many_manuals(workdir / "manuals", 20)
    proc = subprocess.Popen(ingest_cmd(manuals, workdir / "storage"), cwd=ROOT, env=env(PARSE_WORKERS="2"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        _wait_until(lambda: len(children(proc.pid)) >= 2 or proc.poll() is not None, 180)
        time.sleep(1.0)  # mid-start: the workers are loading the parser and the model
        workers = children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        left = wait_gone(workers, 15)
        return Outcome(bool(workers) and not left, False,
                       f"{len(workers)} child processes; still alive 15 s after the kill: {left}")
    finally:
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@case("kill -9 mid-ingest, twice, then rerun", AREA,
      "killed in its first commit groups, killed again while resuming; the rerun ends equal to a clean run "
      "(ids, texts, BM25)")
def kill9_rerun(workdir: Path) -> Outcome:
    """One case for both places a kill can land: early (3 manuals committed, the first commit groups
    of a first run) and late (30 of 80 committed, in a run that is itself resuming a killed one)."""
    manuals = many_manuals(workdir / "manuals", 20)
    killed = workdir / "killed"
    kills = []
    for at in (3, 30):
        proc = subprocess.Popen(ingest_cmd(manuals, killed), cwd=ROOT, env=env(FLUSH_CHUNKS="16"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_until(lambda: len(stored_paths(killed)) >= at or proc.poll() is not None, 300)
        was_running = proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills.append((was_running, len(stored_paths(killed))))
    rerun = run_ingest(manuals, killed)
    equal = equals_a_clean_run(killed, manuals, workdir / "clean")
    mid_run = all(running and committed < 80 for running, committed in kills)
    return Outcome(mid_run and rerun.returncode == 0 and equal, not equal,
                   f"killed with {' then '.join(f'{c}/80' for _, c in kills)} manuals committed"
                   f"{'' if mid_run else ' (a run ended before its kill)'}; rerun exit {rerun.returncode}; "
                   f"equal to a clean run: {equal}")


@case("two writers at once", AREA, "the second fails at once naming the first's pid (exit 2); the first completes")
def two_writers(workdir: Path) -> Outcome:
    # 16 manuals: the first takes its lock half a second after it starts and holds it for about
    # ten more; a refused second run takes well under a second.
    copies = 4
    manuals = many_manuals(workdir / "manuals", copies)
    storage = workdir / "storage"
    first = subprocess.Popen(ingest_cmd(manuals, storage), cwd=ROOT, env=env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    _wait_until(lambda: (storage / ".ingest.lock").exists() and (storage / ".ingest.lock").read_text().strip() != ""
                or first.poll() is not None, 120)
    started = time.perf_counter()
    second = run_ingest(manuals, storage)
    second_seconds = time.perf_counter() - started
    first.communicate(timeout=900)
    lost = sorted(set(f"copy{i:02d}/{p}" for i in range(copies) for p in GOOD) - stored_paths(storage))
    handled = second.returncode == 2 and f"pid {first.pid}" in second.stderr and first.returncode == 0
    return Outcome(handled, bool(lost), f"second: exit {second.returncode} in {second_seconds:.0f} s: "
                   f"{second.stderr.strip()[:90]!r}; first: exit {first.returncode}")


@case("first run where every manual fails", AREA, "each reported by name, exit 3, an empty store published")
def all_fail_first_run(workdir: Path) -> Outcome:
    manuals = workdir / "manuals"
    manuals.mkdir()
    (manuals / "empty.html").write_bytes(b"")
    (manuals / "binary.html").write_bytes(os.urandom(2048))
    done = run_ingest(manuals, workdir / "storage", "--json")
    report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    named = sorted(e["path"] for e in report.get("errors", []))
    handled = done.returncode == 3 and named == ["binary.html", "empty.html"] and bool(pointer(workdir / "storage"))
    tail = done.stderr.strip().splitlines()[-1:] if done.returncode not in (0, 3) else []
    return Outcome(handled, False, f"exit {done.returncode}; reported: {named}" + (f"; {tail}" if tail else ""))
