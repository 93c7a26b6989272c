"""HTML tables -> a cell grid -> faithful prose and a compact markdown form.

Why our own grid code rather than `pandas.read_html`: pandas drops the th/td distinction
(so key-value tables like `<th>Monthly fee:</th><td>…</td>` and header columns are lost), and
it cannot say which header a nested table's cell belongs to. The grid below expands
colspan/rowspan the way browsers do, then every body row is stated with its headers, so
every cell value survives into the prose (tests enforce this).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bs4 import NavigableString, Tag
from bs4.element import Comment

_WS = re.compile(r"\s+")
_MAX_SPAN = 200


def clean(text: str) -> str:
    return _WS.sub(" ", text).strip()


def is_alternative(element: Tag) -> bool:
    """The element is one of several `hidden` alternatives of which a script shows one (the
    reader's system: "⌘ Cmd" or "Ctrl"; the program: a Writer, a Calc or an Impress
    sentence), and the one before it is another. Read as text they ran together ("⌘
    CmdCtrl+Shift+S", "...넣습니다.Calc 시트에서는"), so "Ctrl" was no word: the parsers put " / "
    between them. All are kept: which one a reader is shown is not known at ingestion."""
    if not element.has_attr("hidden"):
        return False
    before = element.previous_sibling
    while isinstance(before, NavigableString) and (isinstance(before, Comment) or not before.strip()):
        before = before.previous_sibling
    return isinstance(before, Tag) and before.has_attr("hidden")


def inline_text(element: Tag) -> str:
    """Visible text of an element; a nested table becomes `[a: b; c: d]` so its values stay."""
    parts: list[str] = []
    for child in element.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            parts.append(str(child))
        elif isinstance(child, Tag):
            if child.name in ("script", "style"):
                continue
            if is_alternative(child) and "".join(parts).strip():
                parts.append(" / ")
            if child.name == "table":
                rows = [
                    ": ".join(v for v in (inline_text(c) for c in tr.find_all(["th", "td"], recursive=False)) if v)
                    for tr in own_rows(child)
                ]
                parts.append(" [" + "; ".join(r for r in rows if r) + "] ")
            elif child.name == "br":
                parts.append(" ")
            else:
                parts.append(inline_text(child))
                if child.name in ("p", "div", "li", "dd", "dt"):
                    parts.append(" ")
    return clean("".join(parts))


def own_rows(table: Tag) -> list[Tag]:
    """Rows of this table, not of tables nested in its cells. Finding them is most of the
    cost of `is_layout_table` and `parse_table`, so a caller asking both passes them in."""
    return [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]


_HEADING_TAGS = ["h1", "h2", "h3", "h4", "h5", "h6"]


def is_layout_table(table: Tag, rows: list[Tag] | None = None) -> bool:
    """A table that lays out the page rather than relating values: read as page text.

    Older help systems put the whole page (navigation bar, headings, paragraphs, the real
    data tables) inside the cells of one table. Read as a data table, its headings never
    open sections and all the text becomes one cell. Told by shape, never by class names:
    declared presentational, or without header cells (`th`) and either a heading inside a
    cell or a single column (a boxed note, a page frame). A table with header cells keeps
    its table reading (a parameter table whose description cell holds a boxed "Note").
    """
    if table.get("role") in ("presentation", "none"):
        return True
    rows = own_rows(table) if rows is None else rows
    if any(tr.find("th", recursive=False) is not None for tr in rows):
        return False  # header cells relate values, even around a boxed note with a heading in a cell
    row_cells = [tr.find_all(["th", "td"], recursive=False) for tr in rows]
    if not any(row_cells):
        return False
    if any(cell.find(_HEADING_TAGS) is not None for cells in row_cells for cell in cells):
        return True
    return all(len(cells) <= 1 for cells in row_cells)


def layout_cells(rows: list[Tag]) -> list[Tag]:
    """A layout table's cells in reading order (row by row)."""
    return [cell for tr in rows for cell in tr.find_all(["th", "td"], recursive=False)]


@dataclass
class Cell:
    text: str
    header: bool
    col_copy: bool = False  # a colspan repetition of the cell to its left


@dataclass
class Table:
    caption: str
    grid: list[list[Cell]]
    header_rows: int
    header_col: bool
    column_headers: list[str] = field(default_factory=list)

    @property
    def body(self) -> list[list[Cell]]:
        return self.grid[self.header_rows:]

    def values(self) -> list[str]:
        """Every distinct non-empty cell text: what the prose must contain."""
        seen: dict[str, None] = {}
        for row in self.grid:
            for cell in row:
                if cell.text:
                    seen.setdefault(cell.text, None)
        return list(seen)


def parse_table(table: Tag, rows: list[Tag] | None = None) -> Table | None:
    rows = own_rows(table) if rows is None else rows
    placed: dict[tuple[int, int], Cell] = {}
    in_head: list[bool] = []
    for r, tr in enumerate(rows):
        in_head.append(tr.find_parent("thead") is not None and tr.find_parent("table") is table)
        c = 0
        for td in tr.find_all(["th", "td"], recursive=False):
            while (r, c) in placed:
                c += 1
            rowspan = _span(td.get("rowspan"))
            colspan = _span(td.get("colspan"))
            text = inline_text(td)
            for dr in range(min(rowspan, len(rows) - r)):
                for dc in range(colspan):
                    placed[(r + dr, c + dc)] = Cell(text, td.name == "th", col_copy=dc > 0)
            c += colspan
    if not placed:
        return None
    ncols = max(c for _, c in placed) + 1
    grid = [[placed.get((r, c), Cell("", False, True)) for c in range(ncols)] for r in range(len(rows))]
    grid = [row for row in grid if any(cell.text for cell in row)]
    if not grid:
        return None

    header_rows = 0
    for r, row in enumerate(grid[:-1]):
        is_head = (r < len(in_head) and in_head[r]) or all(cell.header or not cell.text for cell in row)
        if not is_head:
            break
        header_rows = r + 1
    if header_rows == 0 and not any(cell.header for row in grid for cell in row) and _styled_first_row(rows):
        header_rows = 1
    body = grid[header_rows:]
    header_col = bool(body) and all(row[0].header for row in body) and ncols > 1

    caption_tag = table.find("caption")
    caption = inline_text(caption_tag) if caption_tag and caption_tag.find_parent("table") is table else ""
    parsed = Table(caption=caption, grid=grid, header_rows=header_rows, header_col=header_col)
    parsed.column_headers = _column_headers(parsed, ncols)
    return parsed


_LOOK = ("bgcolor", "class", "style")


def _look(tag: Tag) -> tuple:
    return tuple(str(tag.get(name) or "") for name in _LOOK)


def _emphasised(cell: Tag) -> bool:
    """All of the cell's text is bold (`<b>`, `<strong>`)."""
    def outermost(bold: Tag) -> bool:
        parent = bold.parent
        while parent is not None and parent is not cell and parent.name not in ("b", "strong"):
            parent = parent.parent
        return parent is cell

    text = clean(cell.get_text(" "))
    bold = clean(" ".join(b.get_text(" ") for b in cell.find_all(["b", "strong"]) if outermost(b)))
    return bool(text) and bold == text


def _styled_first_row(rows: list[Tag]) -> bool:
    """A header row written without `<th>`: every cell of the first row bold, or the first
    row dressed alike (background, class, style) and unlike the row below.

    Why: editors that export HTML (and many older help tools) mark a table's header by
    looks only. Read as a body row, the header's labels never reach the values, so "월
    요금: 33,000원" becomes "베이직 | 33,000원 | 10GB" and a question naming the column
    finds nothing. Needs a header and two body rows and at least two labelled columns.
    """
    if len(rows) < 3:
        return False
    first = rows[0].find_all(["th", "td"], recursive=False)
    second = rows[1].find_all(["th", "td"], recursive=False)
    labelled = [td for td in first if clean(td.get_text(" "))]
    if len(labelled) < 2 or any(len(clean(td.get_text(" "))) > 40 for td in labelled):
        return False
    if all(_emphasised(td) for td in labelled) and not all(_emphasised(td) for td in second if clean(td.get_text(" "))):
        return True
    looks = {_look(td) if any(_look(td)) else _look(rows[0]) for td in labelled}
    below = {_look(td) if any(_look(td)) else _look(rows[1]) for td in second}
    return len(looks) == 1 and any(next(iter(looks))) and not looks & below


def _span(value: object) -> int:
    try:
        return max(1, min(int(str(value).strip()), _MAX_SPAN))
    except (TypeError, ValueError):
        return 1


def _column_headers(table: Table, ncols: int) -> list[str]:
    """One label per column: stacked header rows joined with ' / ' (colspan groups included)."""
    headers = []
    for c in range(ncols):
        parts: list[str] = []
        for row in table.grid[: table.header_rows]:
            text = row[c].text
            if text and text not in parts:
                parts.append(text)
        headers.append(" / ".join(parts))
    return headers


def _key(label: str) -> str:
    return label.rstrip(" :：")


def is_pairs(table: Table) -> bool:
    """A two-column table without headers whose first cells are short labels: key -> effect,
    option -> meaning, label -> value (shortcut lists, option tables). Read by its shape,
    whatever the manual's markup, each row becomes "label: value" like a `<th>` key row."""
    rows = [[c for c in row if c.text and not c.col_copy] for row in table.body]
    return bool(rows) and len(rows) >= 2 and all(len(r) == 2 and len(r[0].text) <= 60 for r in rows)


def row_sentences(table: Table) -> list[tuple[str, list[Cell]]]:
    """One self-contained line per body row, naming each value's header, with its row.

    Rowspan values are repeated on every row they cover, so a row read alone (in its own
    chunk) is still complete.
    """
    lines: list[tuple[str, list[Cell]]] = []
    headers = table.column_headers
    pairs = is_pairs(table)
    for row in table.body:
        cells = [(i, cell) for i, cell in enumerate(row) if cell.text and not cell.col_copy]
        if not cells:
            continue
        if table.header_rows == 0 and (table.header_col or pairs):
            key, rest = cells[0][1].text, [cell.text for _, cell in cells[1:]]
            lines.append((f"{_key(key)}: {' / '.join(rest)}." if rest else f"{_key(key)}.", row))
        elif table.header_rows == 0:
            lines.append((" | ".join(cell.text for _, cell in cells) + ".", row))
        else:
            parts = []
            for i, cell in cells:
                label = _key(headers[i]) if i < len(headers) and headers[i] else ""
                parts.append(f"{label}: {cell.text}" if label and label != cell.text else cell.text)
            lines.append(("; ".join(parts) + ".", row))
    # Header-only tables (every row is th) still carry values.
    if not lines and table.header_rows:
        lines.append((" | ".join(h for h in headers if h) + ".", []))
    return lines


def prose(table: Table) -> str:
    """The deterministic rendering: caption, then one sentence per row."""
    rows = [line for line, _ in row_sentences(table)]
    return "\n".join(([table.caption] if table.caption else []) + rows)


def markdown(table: Table, rows: list[list[Cell]] | None = None) -> str:
    """Compact structured form kept in the node, so exact values are searchable."""
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    ncols = len(table.column_headers)
    if table.header_rows:
        head = [esc(h) for h in table.column_headers]
    else:
        head = [f"col{i + 1}" for i in range(ncols)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * ncols]
    for row in table.body if rows is None else rows:
        if row:
            lines.append("| " + " | ".join(esc(cell.text) for cell in row) + " |")
    return "\n".join(lines)
