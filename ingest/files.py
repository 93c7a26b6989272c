"""What may be read as a manual, and reading it without hanging.

Why a module of its own: the manuals folder is untrusted. A name, a link or a file type
there must never crash a run, block it, or pull in a file from outside the tree the
operator named. Everything here answers "can this path be read as a manual, and if not,
what does the report say?" in words an operator can act on.

- A name that is not valid UTF-8 (`latin1_\\xe9.html`): Python hands it over with lone
  surrogates, which SQLite, Chroma and JSON all refuse. Its answer's source link could not
  be served or clicked either (a URL names UTF-8), so it is reported, in an escaped form
  that shows the raw bytes, with the fix (rename it), and the rest of the batch goes on.
- A symlink that leaves the manuals root is not followed: the query server refuses to
  serve such a file under /manuals/, and ingestion must not index what it cannot serve.
- A FIFO, socket or device is not read: `read()` on a FIFO blocks for ever (holding the
  store lock), and opening a device can have side effects. The type is checked from
  `stat` before opening, and again on the open descriptor (opened non-blocking), so a
  file swapped for a FIFO between scan and read cannot block either.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "directory"),
)


class UnreadableManual(OSError):
    """A path that is not read as a manual; `str()` is the report's reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def valid_name(rel: str) -> bool:
    """False for a path whose bytes are not UTF-8 (os.fsdecode left lone surrogates in it)."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(rel: str) -> str:
    """A path as the report shows it: undecodable bytes as `\\xe9` (valid in JSON and SQLite)."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


BAD_NAME = "file name is not valid UTF-8; rename it to UTF-8 (e.g. `convmv -f latin1 -t utf-8 --notest`)"
OUTSIDE = "symlink points outside the manuals root"


def not_regular(mode: int) -> str | None:
    """The report's reason for a file type that is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "special file")
    return f"not a regular file ({kind})"


def inside(real: str, root_real: str) -> bool:
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def link_problem(path: Path, root_real: str) -> str | None:
    """Why a path that may be (or pass through) a symlink cannot be followed, else None."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        if path.is_symlink():
            return "dangling symlink"
        return f"unreadable: {exc.strerror}"
    if not inside(os.path.realpath(path), root_real):
        return OUTSIDE
    return None


def read_manual(path: Path, limit: int, limit_label: str) -> bytes:
    """The file's bytes; raises UnreadableManual (or OSError) with the reason instead of
    blocking on a special file or reading past the size limit."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        reason = not_regular(info.st_mode)
        if reason:
            raise UnreadableManual(reason)
        if info.st_size > limit:
            raise UnreadableManual(f"too large ({info.st_size / 1048576:.1f} MB > {limit_label})")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:  # it grew since fstat
            raise UnreadableManual(f"too large (> {limit_label})")
        return data
    finally:
        os.close(fd)
