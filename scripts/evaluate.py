"""`make eval`: retrieval and answer quality on question sets the project owns.

For each dataset (the sample manuals always; httpd-manual, gimp-help-en, debian-faq-ko and
debian-install-ko when ../shared/corpora has them and data/eval holds their question set) it
ingests the manuals (incrementally, into storage/eval/), asks every question through the
same Engine the CLI uses (no LLM), and measures per language and per category:
page hit@k, section (path#anchor) hit@k, MRR (section level), the share of extractive
answers containing the expected fact, and retrieval latency p50/p95. In the same run it
builds the vanilla LlamaIndex baseline (page text -> SentenceSplitter -> VectorStoreIndex,
same embedding model) and scores it the same way. Groups: language, category, style (when
the question set has one: fragment / concise / spoken) and table-only. A first table puts
every corpus side by side. Writes reports/eval.md and eval.png.

`--combined` scores every set against ONE index holding all the dev corpora together (a
company's index holds all its manuals: every other manual is a distractor); writes
reports/eval_combined.md. `--copies 3 --only debian-install` scores the Korean procedural guide
copied under three program folders (the same help text for several programs): copies must take
one place; writes reports/eval_copies.md. `make eval` runs all three.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bs4 import BeautifulSoup  # noqa: E402
from llama_index.core import Document, StorageContext, VectorStoreIndex, load_index_from_storage  # noqa: E402
from llama_index.core.node_parser import SentenceSplitter  # noqa: E402

from core.embedding import get_embed_model  # noqa: E402
from core.settings import Settings, get_settings  # noqa: E402
from core.htmlfile import DecodeError, decode_html  # noqa: E402
from ingest.attachments import ocr  # noqa: E402
from ingest.discover import discover  # noqa: E402
from ingest.run import ingest  # noqa: E402
from query.answer.engine import Engine  # noqa: E402
from query.answer.retrieve import Filters  # noqa: E402

K = 5
# Recall of a longer list: what a reranker or an LLM given 20 sources could still find (the
# issue-22 acceptance asks for the right section in the top 20 as well as the top 5).
RECALL_K = 20
CATEGORIES = ("process", "fact", "table", "recommendation", "condition", "comparison")
STYLES = ("fragment", "concise", "spoken")
DATASETS = (  # (name, corpus folder under --corpora, question file under data/eval)
    ("httpd", "httpd-manual", "httpd_questions.jsonl"),
    ("gimp", "gimp-help-en", "gimp_questions.jsonl"),
    ("debian", "debian-faq-ko", "debian_questions.jsonl"),
    # Questions naming things the way users say them (transliterations, letter names), over
    # the same store as their corpus (core.vocab); QUERY_EXPANSION=false measures without.
    ("vocab-debian", "debian-faq-ko", "vocab_debian_questions.jsonl"),
    # Written after the first sets, from the pages only, and never tuned on: condition, process and
    # comparison questions, a third Korean. Extractive-answer changes are judged here first.
    ("httpd-heldout", "httpd-manual", "httpd_heldout_questions.jsonl"),
    # Korean and procedural (DocBook, 84 pages): written from the pages before any system output.
    ("debian-install", "debian-install-ko", "debian_install_questions.jsonl"),
    # Written once with the set above, never tuned on; scored at the end of a session only.
    ("debian-install-heldout", "debian-install-ko", "debian_install_heldout_questions.jsonl"),
    # The largest miss kind on its own: a need told in everyday words that the expected
    # section never uses (no heading word, none of the page's key terms), written from the
    # pages with the facts copied from them. Far harder than the sets above, which were
    # written by someone who had just read the page: section@5 0.39 where debian-install has
    # 0.91, close to the hidden Korean help's 0.53.
    ("debian-install-everyday", "debian-install-ko", "debian_install_everyday_questions.jsonl"),
    # The same kind over the Debian FAQ, written once and never tuned on; scored at the end of a
    # session only, to tell whether what moves the set above carries to another manual.
    ("debian-everyday-heldout", "debian-faq-ko", "debian_everyday_heldout_questions.jsonl"),
)


def store_name(dataset: str) -> str:
    """A question set over another set's corpus shares its store (one ingest per corpus)."""
    if dataset == "attachments":
        return "sample"
    return dataset.removeprefix("vocab-").removesuffix("-heldout").removesuffix("-everyday")


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def load_questions(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(question: dict, urls: list[str], paths: list[str], answer: str, top_text: str,
          recall_urls: list[str] = ()) -> dict:
    """`urls`/`paths`: the top K sources; `recall_urls`: the section urls of a top-RECALL_K list."""
    # compared unquoted: "forms/명의변경_신청서.pdf", "price.xlsx#sheet=단말기" as written in the set
    urls, paths = [unquote(u) for u in urls], [unquote(p) for p in paths]
    expected = [unquote(e) for e in question["expected"]]
    expected_paths = {e.split("#", 1)[0] for e in expected}
    section_rank = next((i + 1 for i, url in enumerate(urls[:K]) if url in expected), None)
    facts = [norm(f) for f in question["facts"]]
    return {
        "page_hit": any(p in expected_paths for p in paths[:K]),
        "section_hit": section_rank is not None,
        "section_hit1": section_rank == 1,
        "section_hit20": any(unquote(u) in expected for u in recall_urls[:RECALL_K]),
        "rr": 1.0 / section_rank if section_rank else 0.0,
        "fact_in_answer": any(f in norm(answer) for f in facts),
        "fact_in_top": any(f in norm(top_text) for f in facts),
    }


def run_ours(engine: Engine, questions: list[dict], filters: Filters | None = None) -> list[dict]:
    rows = []
    for q in questions:
        result = engine.ask(q["question"], q["id"], K, filters, use_llm=False).contract()
        urls = [s["url"] for s in result["sources"]]
        paths = [s["path"] for s in result["sources"]]
        sections = engine.retriever.retrieve(q["question"], K, filters).sections  # texts for fact_in_top
        top_text = "\n".join(hit.node.get_content() for s in sections for hit in s.chunks)
        longer = engine.retriever.retrieve(q["question"], RECALL_K, filters).sections
        row = score(q, urls, paths, result["answer"], top_text, [s.section_id for s in longer])
        row.update(id=q["id"], lang=q["lang"], category=q["category"], table_only=q.get("table_only", False),
                   style=q.get("style", ""), retrieve_ms=result["latency"]["retrieve_ms"], top=urls[:K],
                   answer=result["answer"])
        rows.append(row)
    return rows


def page_documents(root: Path) -> list[Document]:
    """Vanilla: the whole page's visible text, one Document per page, no anchors."""
    docs = []
    for abs_path, rel in discover([root], root).files:
        try:
            text, _ = decode_html(abs_path.read_bytes(), abs_path.name)
        except (DecodeError, OSError):
            continue
        body = BeautifulSoup(text, "lxml").get_text(" ")
        docs.append(Document(text=" ".join(body.split()), metadata={"path": rel}, id_=rel))
    return docs


def baseline_index(root: Path, persist: Path, settings: Settings) -> VectorStoreIndex:
    embed = get_embed_model(settings)
    if (persist / "docstore.json").exists():
        return load_index_from_storage(StorageContext.from_defaults(persist_dir=str(persist)), embed_model=embed)
    nodes = SentenceSplitter().get_nodes_from_documents(page_documents(root))
    index = VectorStoreIndex(nodes, embed_model=embed, show_progress=True)
    index.storage_context.persist(persist_dir=str(persist))
    return index


def files_baseline_index(root: Path, persist: Path, settings: Settings) -> VectorStoreIndex:
    """Plain LlamaIndex over a folder with attachments, as its tutorial does it:
    `SimpleDirectoryReader` with its default readers for every file (PDF per page, DOCX,
    PPTX, XLSX, HWP, ...; HTML as text), the default `SentenceSplitter`, the same embedding
    model, no LLM. One reader emits list-valued metadata that the vector store refuses, so
    metadata values are flattened to strings; a PDF chunk's `page_label` becomes
    `path#page=N` so its section can be scored like ours."""
    from llama_index.core import SimpleDirectoryReader

    embed = get_embed_model(settings)
    if (persist / "docstore.json").exists():
        return load_index_from_storage(StorageContext.from_defaults(persist_dir=str(persist)), embed_model=embed)
    documents = SimpleDirectoryReader(str(root), recursive=True, raise_on_error=False).load_data(show_progress=False)
    for document in documents:
        rel = Path(document.metadata.get("file_path", "")).resolve().relative_to(root.resolve()).as_posix()
        page = document.metadata.get("page_label")
        document.metadata = {k: v if isinstance(v, (str, int, float)) or v is None else json.dumps(v, ensure_ascii=False)
                             for k, v in document.metadata.items()}
        document.metadata["path"] = rel
        document.metadata["section"] = f"{rel}#page={page}" if page else rel
    nodes = SentenceSplitter().get_nodes_from_documents(documents)
    index = VectorStoreIndex(nodes, embed_model=embed, show_progress=True)
    index.storage_context.persist(persist_dir=str(persist))
    return index


def run_baseline(index: VectorStoreIndex, questions: list[dict]) -> list[dict]:
    retriever = index.as_retriever(similarity_top_k=RECALL_K)
    rows = []
    for q in questions:
        started = time.perf_counter()
        longer = retriever.retrieve(q["question"])
        elapsed = (time.perf_counter() - started) * 1000
        hits = longer[:K]
        paths = [h.node.metadata["path"] for h in hits]
        sections = [h.node.metadata.get("section", h.node.metadata["path"]) for h in longer]
        top_text = "\n".join(h.node.get_content() for h in hits)
        first = hits[0].node.get_content()[:300] if hits else ""
        row = score(q, sections[:K], paths, first, top_text, sections)
        row.update(id=q["id"], lang=q["lang"], category=q["category"], table_only=q.get("table_only", False),
                   style=q.get("style", ""), retrieve_ms=elapsed, top=paths, answer=first)
        rows.append(row)
    return rows


def summarize(rows: list[dict]) -> dict:
    if not rows:
        return {}
    n = len(rows)
    lat = sorted(r["retrieve_ms"] for r in rows)
    p95 = lat[min(n - 1, int(round(0.95 * (n - 1))))]
    return {
        "n": n,
        "page@5": sum(r["page_hit"] for r in rows) / n,
        "section@5": sum(r["section_hit"] for r in rows) / n,
        "section@1": sum(r["section_hit1"] for r in rows) / n,
        "MRR": sum(r["rr"] for r in rows) / n,
        "section@20": sum(r["section_hit20"] for r in rows) / n,
        "fact in answer": sum(r["fact_in_answer"] for r in rows) / n,
        "fact in top-5": sum(r["fact_in_top"] for r in rows) / n,
        "p50 ms": statistics.median(lat),
        "p95 ms": p95,
    }


def groups(rows: list[dict]) -> list[tuple[str, list[dict]]]:
    out = [("all", rows)]
    for lang in ("en", "ko"):
        out.append((f"lang={lang}", [r for r in rows if r["lang"] == lang]))
    categories = list(CATEGORIES) + sorted({r["category"] for r in rows} - set(CATEGORIES))
    for category in categories:
        out.append((f"cat={category}", [r for r in rows if r["category"] == category]))
    styles = list(STYLES) + sorted({r.get("style", "") for r in rows} - set(STYLES) - {""})
    for style in styles:
        out.append((f"style={style}", [r for r in rows if r.get("style") == style]))
    out.append(("table-only", [r for r in rows if r["table_only"]]))
    return [(name, g) for name, g in out if g]


COLUMNS = ("n", "page@5", "section@5", "section@1", "MRR", "section@20", "fact in answer", "fact in top-5", "p50 ms", "p95 ms")


def table(title: str, rows_by_system: dict[str, list[dict]]) -> list[str]:
    lines = [f"### {title}", "", "| system | group | " + " | ".join(COLUMNS) + " |",
             "|---|---|" + "---:|" * len(COLUMNS)]
    for system, rows in rows_by_system.items():
        for name, group in groups(rows):
            s = summarize(group)
            cells = [str(s["n"])] + [f"{s[c]:.2f}" if "ms" not in c else f"{s[c]:.0f}" for c in COLUMNS[1:]]
            lines.append(f"| {system} | {name} | " + " | ".join(cells) + " |")
    return lines + [""]


def report_head(what: str, settings: Settings) -> list[str]:
    """A report's first lines: what was scored and how, and whether pictures were read (the
    attachments set's picture questions miss without OCR, and an unchanged re-run of the
    ingestion does not say so again)."""
    return [f"# Evaluation{what} (top {K}; section@20 from a list of {RECALL_K}; embedding {settings.embed_model}, "
            f"retrieval {settings.retrieval_mode}, no LLM)", "", f"{ocr.status(settings.ocr)}.", ""]


def overview(results: dict[str, dict[str, list[dict]]]) -> list[str]:
    """Every corpus side by side: the `all` row of each system."""
    lines = ["### All corpora side by side", "", "| corpus | system | " + " | ".join(COLUMNS) + " |",
             "|---|---|" + "---:|" * len(COLUMNS)]
    for dataset, systems in results.items():
        for system, rows in systems.items():
            s = summarize(rows)
            cells = [str(s["n"])] + [f"{s[c]:.2f}" if "ms" not in c else f"{s[c]:.0f}" for c in COLUMNS[1:]]
            lines.append(f"| {dataset} | {system} | " + " | ".join(cells) + " |")
    return lines + [""]


def chart(results: dict[str, dict[str, list[dict]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ("page@5", "section@5", "MRR", "fact in answer")
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4), squeeze=False)
    for ax, (dataset, systems) in zip(axes[0], results.items()):
        width = 0.8 / len(systems)
        for i, (system, rows) in enumerate(systems.items()):
            s = summarize(rows)
            xs = [m + i * width for m in range(len(metrics))]
            bars = ax.bar(xs, [s[m] for m in metrics], width, label=system)
            ax.bar_label(bars, fmt="%.2f", fontsize=7)
        ax.set_xticks([m + width * (len(systems) - 1) / 2 for m in range(len(metrics))], metrics)
        ax.set_ylim(0, 1.1)
        ax.set_title(f"{dataset} (n={len(next(iter(systems.values())))}, top {K})")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def misses(rows: list[dict], limit: int = 15) -> list[str]:
    out = ["| id | expected found? | top sources |", "|---|---|---|"]
    for r in [r for r in rows if not r["section_hit"]][:limit]:
        out.append(f"| {r['id']} | page {'yes' if r['page_hit'] else 'no'} | {', '.join(r['top'][:3])} |")
    return out


def combined_root(datasets: list[tuple[str, Path, Path]], where: Path) -> Path:
    """One folder holding a copy of every dev corpus as a subfolder, ingested as one manual tree.

    A company's index holds all its manuals, so every other manual is a distractor: the sets are
    scored here against that one index (about 1,200 pages, Korean and English). Copies (about
    20 MB, under the storage folder, outside the repository), not symlinks: ingestion never
    follows a symlink out of the manuals root (manuals are untrusted), so a tree of symlinks
    ingests nothing. Copied afresh each run with their times kept; ingestion keys on content,
    so an unchanged corpus is not embedded again.
    """
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    for name, corpus, _ in datasets:
        target = where / combined_prefix(name, corpus)
        if not target.exists():
            shutil.copytree(corpus.resolve(), target, symlinks=True)
    return where


def combined_prefix(name: str, corpus: Path) -> str:
    return "sample" if store_name(name) == "sample" else corpus.name


def run_combined(datasets: list[tuple[str, Path, Path]], storage: Path, out_dir: Path) -> int:
    """Every set against one store of all corpora; expected urls gain their corpus folder."""
    root = combined_root(datasets, storage / "combined-corpora")
    sets = []
    for name, corpus, qfile in datasets:
        prefix = combined_prefix(name, corpus)
        sets.append((name, [dict(q, expected=[f"{prefix}/{e}" for e in q["expected"]]) for q in load_questions(qfile)]))
    return run_one_index(root, storage / "combined", sets, "one index of all dev corpora", out_dir / "eval_combined")


# Folder names for `--copies`: the programs one office suite's help is written for.
PROGRAMS = ("writer", "calc", "impress", "draw", "base", "math")


def run_copies(datasets: list[tuple[str, Path, Path]], copies: int, storage: Path, out_dir: Path) -> int:
    """Each set against an index of its corpus copied under `copies` program folders
    (writer/, calc/, impress/, ...), as help written once for several programs is shipped: the
    issue's hidden Korean help holds the same text for three programs. The questions name
    no program, so any copy of the expected section answers. What it measures: that copies
    take one place among the results (query.answer.sections.group_duplicates) and what
    grouping them costs in time. Writes reports/eval_copies.md."""
    if not 2 <= copies <= len(PROGRAMS):
        raise SystemExit(f"--copies takes 2 to {len(PROGRAMS)}")
    programs = PROGRAMS[:copies]
    corpora = {corpus.resolve() for _, corpus, _ in datasets}
    if len(corpora) != 1:
        raise SystemExit("--copies scores one corpus at a time: choose its sets with --only")
    name, corpus, _ = datasets[0]
    root = storage / "copies-corpora" / combined_prefix(name, corpus)
    if root.exists():
        shutil.rmtree(root)
    for program in programs:  # copied afresh, not symlinked, as `combined_root` does
        shutil.copytree(corpus.resolve(), root / program, symlinks=True)
    sets = [(name, [dict(q, expected=[f"{program}/{e}" for program in programs for e in q["expected"]])
                    for q in load_questions(qfile)]) for name, _, qfile in datasets]
    return run_one_index(root, storage / f"copies-{root.name}", sets,
                         f"{root.name} copied under {', '.join(p + '/' for p in programs)}", out_dir / "eval_copies")


def run_one_index(root: Path, store: Path, sets: list[tuple[str, list[dict]]], what: str, out: Path) -> int:
    """Ingest `root` into `store`, score each (name, questions) against it, write `out`.md and
    `out`_rows.json."""
    base = get_settings()
    settings = base.model_copy(update={"storage_dir": store})
    print(f"[{out.name}] ingesting {root} ...", file=sys.stderr)
    stats = ingest([root], settings, progress=True)
    if not stats.chunks.total:
        raise SystemExit(f"[{out.name}] nothing was indexed from {root}; see the ingestion report above")
    engine = Engine(settings)
    engine.ask("warm-up", use_llm=False)
    engine.ask("준비", use_llm=False)
    results: dict[str, dict[str, list[dict]]] = {}
    head = report_head(f" against {what}", base)
    report = list(head)
    for name, questions in sets:
        print(f"[{out.name}:{name}] asking {len(questions)} questions ...", file=sys.stderr)
        results[name] = {"manual-qa": run_ours(engine, questions)}
        report.append(f"Section misses ({name}):")
        report += ["", *misses(results[name]["manual-qa"]), ""]
    report[len(head):len(head)] = overview(results)  # the side-by-side table right under the head
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text("\n".join(report) + "\n", encoding="utf-8")
    out.with_name(out.name + "_rows.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print("\n".join(report))
    print(f"\nwrote {out.with_suffix('.md')}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora",
                        help="folder holding httpd-manual, gimp-help-en, debian-faq-ko")
    parser.add_argument("--corpus", type=Path, help="the httpd manual, when not under --corpora")
    parser.add_argument("--storage", type=Path, default=ROOT / "storage" / "eval")
    parser.add_argument("--no-baseline", action="store_true")
    names = ("sample", "vocab-sample", "attachments") + tuple(d[0] for d in DATASETS)
    parser.add_argument("--only", help=f"comma-separated datasets to evaluate ({', '.join(names)})")
    parser.add_argument("--out", type=Path, default=ROOT / "reports", help="where the reports are written")
    parser.add_argument("--combined", action="store_true",
                        help="score every set against ONE index holding all dev corpora together "
                             "(writes reports/eval_combined.md)")
    parser.add_argument("--copies", type=int, metavar="N",
                        help="score the chosen sets against their corpus copied under N program folders, the same help "
                             "text for several programs (writes reports/eval_copies.md)")
    args = parser.parse_args()
    datasets = [("sample", ROOT / "data" / "manuals", ROOT / "data" / "eval" / "sample_questions.jsonl"),
                ("vocab-sample", ROOT / "data" / "manuals", ROOT / "data" / "eval" / "vocab_sample_questions.jsonl"),
                # facts only inside data/manuals/forms/ (PDF, XLSX, DOCX, PPTX, HWPX, HWP): page@5 is
                # "the attachment is among the top 5 sources"; the baseline reads every file
                ("attachments", ROOT / "data" / "manuals", ROOT / "data" / "eval" / "attachment_questions.jsonl")]
    for name, folder, qname in DATASETS:
        corpus = args.corpus if store_name(name) == "httpd" and args.corpus else args.corpora / folder
        if corpus.is_dir():
            datasets.append((name, corpus, ROOT / "data" / "eval" / qname))
        else:
            print(f"[{name}] {corpus} not found: skipped", file=sys.stderr)
    if args.only:
        wanted = {w.strip() for w in args.only.split(",") if w.strip()}
        unknown = wanted - set(names)
        if unknown:
            parser.error(f"unknown dataset(s) {', '.join(sorted(unknown))}; choose from {', '.join(names)}")
        datasets = [d for d in datasets if d[0] in wanted]
    for name, _, qfile in [d for d in datasets if not d[2].exists()]:
        print(f"[{name}] no question set at {qfile}: skipped", file=sys.stderr)
    datasets = [d for d in datasets if d[2].exists()]
    print(ocr.status(get_settings().ocr), file=sys.stderr)  # (the attachments set's pictures need it)

    if args.combined:
        return run_combined(datasets, args.storage, args.out)
    if args.copies:
        return run_copies(datasets, args.copies, args.storage, args.out)
    base = get_settings()
    head = report_head("", base)
    report = list(head)
    results: dict[str, dict[str, list[dict]]] = {}
    raw: dict[str, dict] = {}
    for name, root, qfile in datasets:
        questions = load_questions(qfile)
        store = store_name(name)
        settings = base.model_copy(update={"storage_dir": args.storage / store})
        print(f"[{name}] ingesting {root} ...", file=sys.stderr)
        ingest([root], settings, progress=True)
        engine = Engine(settings)
        engine.ask("warm-up", use_llm=False)
        engine.ask("준비", use_llm=False)
        print(f"[{name}] asking {len(questions)} questions ...", file=sys.stderr)
        systems = {"manual-qa": run_ours(engine, questions)}
        if not args.no_baseline:
            print(f"[{name}] vanilla baseline ...", file=sys.stderr)
            if name == "attachments":
                index = files_baseline_index(root, args.storage / "attachments-baseline", settings)
            else:
                index = baseline_index(root, args.storage / f"{store}-baseline", settings)
            systems["vanilla"] = run_baseline(index, questions)
        results[name] = systems
        report += table(f"{name}: {len(questions)} questions over {root.name}", systems)
        ours = summarize(systems["manual-qa"])
        if "vanilla" in systems:
            gain = ours["page@5"] - summarize(systems["vanilla"])["page@5"]
            report.append(f"Page-level gain over vanilla: **{gain * 100:+.1f} points**; "
                          f"section-level: **{(ours['section@5'] - summarize(systems['vanilla'])['section@5']) * 100:+.1f} points**.")
            report.append("")
        korean = [q for q in questions if q["lang"] == "ko"]
        if name == "httpd" and korean:
            # Cross-language: Korean questions answered from English pages only.
            crossed = [dict(q, expected=[e.replace(".ko.euc-kr", ".en.utf8") for e in q["expected"]]) for q in korean]
            cross_rows = run_ours(engine, crossed, Filters(lang="en"))
            s = summarize(cross_rows)
            report.append(f"Korean questions answered from English pages only (`--lang en`, n={s['n']}): "
                          f"page@5 {s['page@5']:.2f}, section@5 {s['section@5']:.2f}, MRR {s['MRR']:.2f}.")
            report.append("")
        report.append(f"Section misses ({name}, manual-qa):")
        report.append("")
        report += misses(systems["manual-qa"])
        report.append("")
        raw[name] = {system: rows for system, rows in systems.items()}
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    report[len(head):len(head)] = overview(results)  # the side-by-side table right under the head
    (out_dir / "eval.md").write_text("\n".join(report) + "\n![chart](eval.png)\n", encoding="utf-8")
    (out_dir / "eval_rows.json").write_text(json.dumps(raw, ensure_ascii=False, indent=1), encoding="utf-8")
    chart(results, out_dir / "eval.png")
    print("\n".join(report))
    print(f"\nwrote {out_dir / 'eval.md'} and {out_dir / 'eval.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
