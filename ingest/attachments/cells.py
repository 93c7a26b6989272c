"""A spreadsheet cell's value as the sheet shows it, for the number formats manuals use.

Why: openpyxl and xlrd return 55000.0 for a cell the sheet shows as "55,000원"; the agent
asks for, and the extractive answer must quote, what the sheet shows. Thousands
separators, fixed decimals, percent and quoted literal prefixes/suffixes ("원", "개월")
are applied; any other format falls back to the plain number (no value is ever lost).
"""

from __future__ import annotations

import datetime as dt
import re

_LITERAL = re.compile(r'"([^"]*)"')


def shown(value: object, number_format: str = "General") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return _number(float(value), number_format or "General")
    return " ".join(str(value).split())


def _number(value: float, fmt: str) -> str:
    section = fmt.split(";")[0]
    literals = _LITERAL.findall(section)
    bare = _LITERAL.sub("", section).replace("\\", "")
    decimals = len(bare.split(".", 1)[1].rstrip("%_-)( ").replace("#", "0")) if "." in bare else 0
    decimals = min(decimals, 6)
    if "%" in bare:
        return f"{value * 100:.{decimals}f}%"
    if fmt == "General" or not any(ch in bare for ch in "0#"):
        text = f"{int(value)}" if value == int(value) else f"{value:g}"
    elif "," in bare:
        text = f"{value:,.{decimals}f}"
    else:
        text = f"{value:.{decimals}f}"
    if literals:
        prefix = literals[0] if section.lstrip().startswith('"') else ""
        suffix = literals[-1] if section.rstrip().endswith('"') else ""
        text = f"{prefix}{text}{suffix}"
    return text
