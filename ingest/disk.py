"""A full disk (or quota) during an ingestion, told apart from every other failure.

Why: running out of space surfaces as a different exception from each layer that writes
(`OSError` ENOSPC from our own files, `sqlite3.OperationalError("database or disk is
full")` from the manifest, an `InternalError` from Chroma's Rust core, sometimes wrapped
in another exception while a cleanup also failed). The operator needs one line that says
what happened and that the published store is still the last good one, not a traceback.
"""

from __future__ import annotations

import errno
import re

_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_FULL_TEXT = re.compile(r"no space left on device|database or disk is full|disk quota exceeded|os error (28|122)\b", re.I)


def _chain(exc: BaseException):
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def disk_full(exc: BaseException) -> bool:
    """True when `exc`, or any exception it was raised from or during, says the disk is full."""
    return any((isinstance(e, OSError) and e.errno in _FULL_ERRNOS) or _FULL_TEXT.search(str(e)) for e in _chain(exc))


def written_path(exc: BaseException) -> str | None:
    """The file the failed write named, when the error says (OSError.filename)."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in _FULL_ERRNOS and e.filename:
            return str(e.filename)
    return None
