"""Find the manuals under the paths an operator names.

HTML is recognised by name (`core.htmlfile.is_html_name`) or, for names that say nothing,
by sniffing the first bytes. Attachments (named like documents: .pdf, .xlsx, .hwp, ...) are
listed apart for `ingest.attachments`, which reads their content; images and the rest are
skipped.
Symlinked directories are followed once; a loop, a dangling link or an unreadable folder is
reported and the walk goes on. The walk stays inside the manuals root, reads no special file
and reports names that are not UTF-8 (ingest.files says why).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from core.htmlfile import is_html_name
from ingest.files import BAD_NAME, OUTSIDE, inside, link_problem, not_regular, printable, valid_name
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


def _consider(path: Path, root: Path, root_real: str, found: Found) -> None:
    rel = relative(path, root)
    if not valid_name(rel):
        found.errors.append((printable(rel), BAD_NAME))
        return
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            # Only links need resolving: a plain file in a walked folder is inside the root
            # (folders that lead out are not walked), which keeps a large scan cheap.
            problem = link_problem(path, root_real)
            if problem:
                found.errors.append((rel, problem))
                return
            info = path.stat()
    except OSError as exc:
        found.errors.append((rel, f"unreadable: {exc.strerror}"))
        return
    name = path.name
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    html_name = is_html_name(name)
    special = not_regular(info.st_mode)
    if special:  # never opened: a FIFO blocks a read, a device may act on an open
        if html_name:
            found.errors.append((rel, special))
        else:
            found.skipped += 1
        return
    if html_name:
        found.files.append((path, rel))
        return
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
    root_real = os.path.realpath(root)
    for start in paths:
        if start.is_file() or (start.is_symlink() and not start.exists()) or (start.exists() and not start.is_dir()):
            _consider(start, root, root_real, found)
            continue
        if not start.is_dir():
            found.errors.append((relative(start, root), "no such file or directory"))
            continue
        visited: set[tuple[int, int]] = set()

        def onerror(err: OSError) -> None:
            found.errors.append((relative(Path(err.filename or start), root), f"unreadable: {err.strerror}"))

        for dirpath, dirnames, filenames in os.walk(start, followlinks=True, onerror=onerror):
            here = Path(dirpath)
            here_info = here.stat()
            if (here_info.st_dev, here_info.st_ino) in visited:
                found.errors.append((relative(here, root), "symlink loop: directory already visited"))
                dirnames[:] = []
                continue
            visited.add((here_info.st_dev, here_info.st_ino))
            kept = []
            for name in sorted(d for d in dirnames if not d.startswith(".")):
                rel = relative(here / name, root)
                if not valid_name(rel):
                    found.errors.append((printable(rel) + "/", BAD_NAME))
                elif not inside(os.path.realpath(here / name), root_real):
                    found.errors.append((rel + "/", OUTSIDE))
                else:
                    kept.append(name)
            dirnames[:] = kept
            for name in sorted(filenames):
                _consider(here / name, root, root_real, found)
    found.files.sort(key=lambda item: item[1])
    found.attachments.sort(key=lambda item: item[1])
    return found
