"""The knowledge-gap report over a demo log answered by the real Engine on the fixture store."""

from __future__ import annotations

import importlib.util
import json
import shutil
from datetime import timedelta

import numpy as np
import pytest

from query.ops.querylog import open_log
from query.ops.report import cluster, parse_since, run
from tests.helpers import ROOT, make_settings


def _demo_module():
    spec = importlib.util.spec_from_file_location("make_demo_log", ROOT / "scripts" / "make_demo_log.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def logged(built_store, tmp_path_factory):
    """A copy of the fixture store with a small demo log and one known thumbs-down."""
    _, built = built_store
    base = tmp_path_factory.mktemp("report")
    shutil.copytree(built.storage_dir, base / "storage", symlinks=True)
    settings = make_settings(base / "storage")
    counts = _demo_module().generate(settings, None, n=8, days=3, seed=3)
    assert counts["asked"] == 8 and not counts["errors"]
    from query.answer.engine import Engine

    log = open_log(settings)
    result = Engine(settings).ask("고객 010-2345-6789 건인데, 5G 요금제 위성방송 결합 해지 절차는?").contract()
    exchange_id = log.record_exchange(result, user="browser-agent", session_id="s1")
    log.record_feedback(exchange_id, "down", ["outdated"], "요금표가 작년 것", user="browser-agent")
    log.close()
    return settings, base


def test_markdown_and_charts(logged, capsys):
    settings, base = logged
    assert run(settings, None, timedelta(days=7), False, base / "reports") == 0
    text = (base / "reports" / "gap-report.md").read_text(encoding="utf-8")
    assert text == capsys.readouterr().out.rstrip("\n") + "\n"
    assert "9 questions" in text
    assert "5G 요금제 위성방송 결합 해지 절차는?" in text and "outdated" in text and "요금표가 작년 것" in text
    assert "010-2345-6789" not in text and "<전화번호>" in text
    for name in ("gap-questions-per-day.png", "gap-cost-latency.png"):
        assert (base / "reports" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## Most-cited sections" in text and "p95" in text


def test_json_for_tools(logged, capsys):
    settings, base = logged
    assert run(settings, None, None, True, base / "unused") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["exchanges"] == 9 and sum(report["status_totals"].values()) == 9
    assert sum(c["count"] for c in report["uncovered_clusters"]) == \
        report["status_totals"].get("no_match", 0) + report["status_totals"].get("low_confidence", 0)
    down = [n for n in report["negative_feedback"] if n["user"] == "browser-agent"]
    assert down and down[0]["reasons"] == ["outdated"] and down[0]["cited"]
    assert report["latency_ms"]["p50"] <= report["latency_ms"]["p95"]
    assert not (base / "unused").exists()


def test_clusters_group_by_meaning():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=16), rng.normal(size=16)
    vectors = np.stack([a, a + 0.05 * rng.normal(size=16), b, a + 0.05 * rng.normal(size=16), b * 1.1])
    assert cluster(vectors, 0.9) == [[0, 1, 3], [2, 4]]
    assert cluster(np.zeros((0, 4))) == []


def test_since_parsing():
    assert parse_since("7d") == timedelta(days=7) and parse_since("36h") == timedelta(hours=36)
    assert parse_since("all") is None
    with pytest.raises(Exception, match="7d"):
        parse_since("last week")
