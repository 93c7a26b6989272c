"""Source links as the desk serves them: a relative source url opens under /manuals/."""

from __future__ import annotations


def with_hrefs(result: dict) -> dict:
    for source in result.get("sources", []):
        if "://" not in source["url"]:
            source["href"] = "/manuals/" + source["url"]
    return result
