"""Limits checked before a container is opened by a reader library.

XLSX, DOCX, PPTX and HWPX are ZIP packages: a few kilobytes can declare gigabytes of XML
(a ZIP bomb), and openpyxl or python-docx would inflate them into memory. The ZIP central
directory states every member's compressed and uncompressed size, so the total and the
ratio are checked from it alone; Python's `zipfile` stops reading a member at its declared
size, so a directory that lies cannot make a reader inflate more than was checked.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from ingest.attachments.units import AttachmentError


@dataclass(frozen=True)
class ZipLimits:
    max_total_mb: float = 200.0  # all members together, uncompressed
    max_ratio: float = 100.0  # one member's uncompressed / compressed size (XML packages: 5-30)
    max_members: int = 10000


def check_zip(raw: bytes, limits: ZipLimits) -> None:
    """Raise AttachmentError naming the limit a ZIP package exceeds."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise AttachmentError(f"corrupt ZIP package: {exc}") from None
    if len(members) > limits.max_members:
        raise AttachmentError(f"ZIP package with {len(members)} members (limit {limits.max_members}); not opened")
    total = sum(m.file_size for m in members)
    if total > limits.max_total_mb * 1048576:
        raise AttachmentError(
            f"ZIP bomb suspected: {total / 1048576:.0f} MB uncompressed (limit {limits.max_total_mb:g} MB); not opened")
    for member in members:
        if member.file_size > 1048576 and member.file_size > limits.max_ratio * max(member.compress_size, 1):
            ratio = member.file_size / max(member.compress_size, 1)
            raise AttachmentError(
                f"ZIP bomb suspected: {member.filename} expands {ratio:.0f}x (limit {limits.max_ratio:g}x); not opened")
