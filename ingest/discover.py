"""Find the manuals under the paths an operator names.

HTML is recognised by name (`core.htmlfile.is_html_name`) or, for names that say nothing,
by sniffing the first bytes. Attachments (named like documents: .pdf, .xlsx, .hwp, ...) are
listed apart for `ingest.attachments`, which reads their content; images and the rest are
skipped.
Symlinked directories are followed once; a loop, a dangling link or an unreadable folder is
reported and the walk goes on.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.htmlfile import is_html_name
from ingest.parse import ATTACHMENT_EXT, IMAGE_EXT

_NOT_MANUAL = ATTACHMENT_EXT | IMAGE_EXT | {"css", "js", "json", "xml", "map", "ico", "woff", "woff2", "ttf", "gz", "md"}
_SNIFF = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)", re.I | re.S)


@dataclass
class Found:
    files: list[tuple[Path, str]] = field(default_factory=list)  # (absolute path, root-relative path)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (root-relative path, reason)
    skipped: int = 0  # images and other non-manual files
    attachments: list[tuple[Path, str]] = field(default_factory=list)  # files named like documents (ingest.attachments)


def _sniff(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
    except OSError:
        return True  # let the reader report why it cannot be read
    return bool(_SNIFF.match(head.lstrip(b"\xef\xbb\xbf")))


def relative(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def _consider(path: Path, root: Path, found: Found) -> None:
    rel = relative(path, root)
    if path.is_symlink() and not path.exists():
        found.errors.append((rel, "dangling symlink"))
        return
    name = path.name
    if is_html_name(name):
        found.files.append((path, rel))
        return
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext in ATTACHMENT_EXT and not name.startswith("."):
        found.attachments.append((path, rel))  # its content decides what it is (ingest.attachments.sniff)
    elif ext in _NOT_MANUAL or name.startswith("."):
        found.skipped += 1
    elif _sniff(path):
        found.files.append((path, rel))
    else:
        found.skipped += 1


def discover(paths: list[Path], root: Path) -> Found:
    found = Found()
    for start in paths:
        if start.is_file() or (start.is_symlink() and not start.exists()):
            _consider(start, root, found)
            continue
        if not start.is_dir():
            found.errors.append((relative(start, root), "no such file or directory"))
            continue
        visited: set[tuple[int, int]] = set()

        def onerror(err: OSError) -> None:
            found.errors.append((relative(Path(err.filename or start), root), f"unreadable: {err.strerror}"))

        for dirpath, dirnames, filenames in os.walk(start, followlinks=True, onerror=onerror):
            here = Path(dirpath)
            stat = here.stat()
            if (stat.st_dev, stat.st_ino) in visited:
                found.errors.append((relative(here, root), "symlink loop: directory already visited"))
                dirnames[:] = []
                continue
            visited.add((stat.st_dev, stat.st_ino))
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                _consider(here / name, root, found)
    found.files.sort(key=lambda item: item[1])
    found.attachments.sort(key=lambda item: item[1])
    return found
