"""Server mode for real: a `chroma run` server, one ingestion writer, two query replicas.

The vectors live in the Chroma server; STORAGE_DIR (pointer, BM25 snapshots, manifest)
is the directory every replica and the ingestion share (core.generations says why).
"""

from __future__ import annotations

import shutil

import pytest

from core.store import get_storage
from ingest.run import ingest
from tests.helpers import FIXTURES, make_settings
from tests.servers import Askers, ask, chroma_server, query_servers, shows, wait_until

pytestmark = pytest.mark.slow  # a real browser / a live server process / `chroma run`

PRICE = "How much is the daily roaming pass?"
CANCEL = "1년 안에 인터넷을 해지하면 위약금이 얼마인가요?"
FRESH_WITHIN = 2.0


def test_two_replicas_on_a_chroma_server_follow_each_ingest(tmp_path):
    manuals, storage = tmp_path / "manuals", tmp_path / "shared"
    shutil.copytree(FIXTURES, manuals)
    guide = manuals / "en" / "guide.html.en"
    with chroma_server(tmp_path / "chroma-data") as (host, port):
        settings = make_settings(storage, chroma_host=host, chroma_port=port)
        assert ingest([manuals], settings, progress=False).files.failed == 0
        index_dir = get_storage(settings).index_dir()
        assert not (index_dir / "chroma").exists()  # vectors went to the server, not to a local store

        server_env = {"CHROMA_HOST": host, "CHROMA_PORT": str(port)}
        with query_servers(storage, 2, server_env) as replicas:
            for url in replicas:
                assert shows(ask(url, PRICE), "11,000 KRW")

            askers = Askers(replicas, [PRICE, CANCEL])
            guide.write_text(guide.read_text(encoding="utf-8").replace("11,000 KRW", "13,000 KRW"), encoding="utf-8")
            (manuals / "billing" / "suspend.html").unlink()
            with askers.during():
                assert ingest([manuals], settings, progress=False).files.deleted == 1
            for url in replicas:
                took, result = wait_until(url, PRICE, lambda r: shows(r, "13,000 KRW"), 10)
                assert shows(result, "13,000 KRW") and not shows(result, "11,000 KRW"), (url, result)
                assert took < FRESH_WITHIN, f"{url} showed the edit after {took:.2f}s"
                assert all(s["path"] != "billing/suspend.html" for s in ask(url, "일시 정지는 최대 며칠?")["sources"])

            # a rebuild makes a new collection; both replicas move to it
            guide.write_text(guide.read_text(encoding="utf-8").replace("13,000 KRW", "15,000 KRW"), encoding="utf-8")
            with askers.during():
                ingest([manuals], settings, fresh=True, progress=False)
            for url in replicas:
                took, result = wait_until(url, PRICE, lambda r: shows(r, "15,000 KRW"), 10)
                assert shows(result, "15,000 KRW"), (url, result)
                assert took < FRESH_WITHIN, f"{url} showed the rebuild after {took:.2f}s"
            assert askers.errors == [] and askers.bad_sources == [], (askers.errors[:3], askers.bad_sources[:3])
            assert askers.asked >= 2

        # the server holds the live collection and the one kept for --rollback (KEEP_INDEXES=2)
        import chromadb

        names = sorted(c.name for c in chromadb.HttpClient(host=host, port=port).list_collections())
        assert names == sorted(f"manuals-{p.name}" for p in get_storage(settings).index_dirs()) and len(names) == 2
