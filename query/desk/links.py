"""Source links as the desk serves them: a relative source url opens under /manuals/."""

from __future__ import annotations

from query.contract import Answer


def href(url: str) -> str | None:
    return None if "://" in url else "/manuals/" + url


def with_hrefs(answer: Answer) -> Answer:
    for source in answer.sources:
        source.href = href(source.url)
        for link in source.linked_from:  # the page an attachment is linked from opens too
            link.href = href(link.url)
    return answer
