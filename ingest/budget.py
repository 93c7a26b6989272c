"""Bounded work per page: a nesting depth and a parse time that no page may exceed.

Why: a page is untrusted input. 50,000 nested `<div>`s (550 KB) took eleven minutes of CPU
and then failed with RecursionError, while the batch waited. Two budgets keep one page from
holding a run:

- Depth. Pages are walked recursively, and a few checks look at an element's whole
  subtree. Real manuals nest 12-19 levels (httpd, gimp, debian); past `MAX_DEPTH` the
  content is read as plain text ("flattened"), so its words stay searchable and the
  report says so. libxml2 caps its own trees at the same 256.
- Time. Whatever else a page manages to make slow, its parse stops after
  `PARSE_TIMEOUT` seconds and the page is reported ("parse took longer than N s").
  The clock is a SIGALRM timer, so it also stops work inside BeautifulSoup and lxml.
  Signals reach only a process's main thread: parser processes and the CLI parse there;
  a parse run on another thread (an embedding application's) has no time limit.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

MAX_DEPTH = 256
_NOT_TEXT = (Comment, Declaration, Doctype, ProcessingInstruction)
_NO_TEXT_INSIDE = frozenset({"script", "style", "template", "noscript", "head"})


class ParseTimeout(Exception):
    """The page's parse used up its time budget."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"parse took longer than {seconds:g} s (PARSE_TIMEOUT)")


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ParseTimeout in this block after `seconds` (see the module docstring for where
    it applies). An alarm another part of the process set is left alone: no limit then."""
    usable = (
        seconds > 0 and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return

    armed = [True]

    def on_alarm(signum: int, frame: object) -> None:
        if armed[0]:
            raise ParseTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        # The alarm can go off after the block ended, as this cleanup starts. Raised from
        # here it skipped the restoring lines below and left `on_alarm` installed, and every
        # later page of the process then ran without a limit (the check above sees a
        # foreign handler): the nested `finally` always restores, and a disarmed handler
        # never raises.
        try:
            armed[0] = False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _flat_text(element: Tag) -> str:
    """The text under `element`, in order, with a space where an element starts (block
    boundaries stay word boundaries). Iterative: the subtree may be 50,000 levels deep."""
    parts: list[str] = []
    for node in element.descendants:
        if isinstance(node, Tag):
            parts.append(" ")
        elif isinstance(node, NavigableString) and not isinstance(node, _NOT_TEXT):
            if node.parent is None or node.parent.name not in _NO_TEXT_INSIDE:
                parts.append(str(node))
    return "".join(parts)


def flatten_deep(soup: BeautifulSoup, limit: int = MAX_DEPTH) -> bool:
    """Replace the content of every element at depth `limit` that has elements inside by
    that content's text. Returns True when something was flattened. One iterative pass
    over the elements (about 1% of a page's parse)."""
    cut: list[Tag] = []
    stack: list[tuple[Tag, int]] = [(soup, 0)]
    while stack:
        element, depth = stack.pop()
        if depth >= limit:
            cut.append(element)
            continue
        depth += 1
        for child in element.contents:
            if isinstance(child, Tag):
                stack.append((child, depth))
    flattened = False
    for element in cut:
        if any(isinstance(child, Tag) for child in element.contents):
            text = _flat_text(element)
            element.clear()
            element.append(NavigableString(text))
            flattened = True
    return flattened
