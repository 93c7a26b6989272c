"""Rows of cell texts (with merged ranges) -> `ingest.tables.Table`, the type HTML tables
become, so attachments' tables are rendered by the same prose and markdown code.

Office formats mark no header cells the way HTML's `<th>` does, so the header is decided
from the grid's shape: the first row is a header when every cell in it is filled with
text that is not a number and rows follow; a header row with cells merged across columns
(a group label over its sub-columns: "요금 | 월 요금, 할인 후") makes the next row a header
row too, so each value is stated with both labels ("요금 / 월 요금: 55,000원").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.tables import Cell, Table, _column_headers

_NUMBER = re.compile(r"^[-+]?[\d,.]+\s*(%|원|개월|GB|MB)?$")


@dataclass(frozen=True)
class Merge:
    """A merged range in 0-based grid coordinates (inclusive)."""

    top: int
    left: int
    bottom: int
    right: int


def _is_label(text: str) -> bool:
    return bool(text) and not _NUMBER.match(text.replace(" ", ""))


def build_table(rows: list[list[str]], merges: list[Merge] = (), caption: str = "",
                header: bool | None = None) -> Table | None:
    """A Table from cell texts, merged ranges repeated into every cell they cover (a
    repetition across columns is marked `col_copy`, as HTML colspans are). Empty rows and
    columns are dropped. `header`: force (True/False) or infer (None) the first row's role."""
    ncols = max((len(r) for r in rows), default=0)
    if not ncols:
        return None
    grid = [[Cell(str(text).strip() if text is not None else "", False) for text in row] + [Cell("", False)] * (ncols - len(row))
            for row in rows]
    grid = [list(row) for row in grid]
    merged_rows_head: set[int] = set()
    for m in merges:
        if m.top >= len(grid) or m.left >= ncols:
            continue
        value = grid[m.top][m.left].text
        for r in range(m.top, min(m.bottom, len(grid) - 1) + 1):
            for c in range(m.left, min(m.right, ncols - 1) + 1):
                grid[r][c] = Cell(value, False, col_copy=c > m.left)
        if m.right > m.left:
            merged_rows_head.add(m.top)
    keep_cols = [c for c in range(ncols) if any(row[c].text for row in grid)]
    grid = [[row[c] for c in keep_cols] for row in grid]
    spans = [r in merged_rows_head for r in range(len(grid))]
    kept = [r for r, row in enumerate(grid) if any(cell.text for cell in row)]
    grid, spans = [grid[r] for r in kept], [spans[r] for r in kept]
    if not grid or not keep_cols:
        return None

    # a title row (one text across the table, usually merged) is the caption, not a header
    while len(grid) > 2 and len(keep_cols) > 1 and len({c.text for c in grid[0] if c.text}) == 1:
        title = next(c.text for c in grid[0] if c.text)
        caption = f"{caption} — {title}" if caption and title not in caption else (caption or title)
        grid, spans = grid[1:], spans[1:]

    header_rows = 0
    if header is None:
        first = [cell.text for cell in grid[0]]
        header = len(grid) > 1 and all(_is_label(t) for t in first)
    if header:
        header_rows = 1
        # a group label merged across columns: the row under it names the sub-columns
        while (header_rows in range(1, len(grid) - 1) and spans[header_rows - 1]
               and all(_is_label(cell.text) for cell in grid[header_rows] if cell.text)):
            header_rows += 1
        for r in range(header_rows):
            grid[r] = [Cell(cell.text, True, cell.col_copy) for cell in grid[r]]
    table = Table(caption=caption, grid=grid, header_rows=header_rows, header_col=False)
    table.column_headers = _column_headers(table, len(keep_cols))
    return table
