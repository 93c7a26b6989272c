"""Where everything lives under the storage directory, and how the Chroma store is opened.

    storage/
      current.json                      THE pointer: the live generation and the last few
                                        (one small file, replaced with os.replace)
      index-20261122T101500.../         one index (a --rebuild makes a new one)
        chroma/                         Chroma PersistentClient (embedded mode only)
        manifest.sqlite                 manuals, hashes, chunk tokens (ingest's bookkeeping)
        lexical-000042/                 BM25 snapshot at manifest generation 42
          chunks.json, bm25/            chunk ids + filter fields, the bm25s index
          summary.npy, summary.json     pages' summary-unit vectors (SUMMARY_LANE, core.summaries)
        info.json                       the manuals' root (for file links)
      cache/                            table_prose.sqlite, answers.sqlite (CACHE_DIR overrides)
      sessions.sqlite                   the API's conversations and their turns
      querylog.sqlite                   query log and feedback (query.querylog; PII redacted)
      last_ingest.json                  the last run's report
      .ingest.lock                      held while an ingestion writes

Every path below the root is named here and nowhere else: Storage for the root's entries,
its static methods for what is inside an index directory and a BM25 snapshot (what is
inside chroma/ is Chroma's business).

A *generation* (core.generations) is one value of current.json: an index directory plus
one BM25 snapshot in it. With CHROMA_HOST set the vectors live in a `chroma run` server
(one collection per index directory) and this directory is the shared one every replica
mounts: see core.generations for why.

Chroma's default embedding function downloads a model, which fails offline; we always
pass our own vectors, and the collection records the embedding model that made them.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from core.chunk_record import FILTER_KEYS, SECTION_ID, section_of
from core.settings import Settings

if TYPE_CHECKING:
    from llama_index.core.schema import BaseNode

# chromadb and LlamaIndex are imported inside the functions that use them: they cost 3 s
# of start-up, and a no-change ingestion or `make status` needs neither.

COLLECTION = "manuals"
LEGACY_LEXICAL = "lexical"  # the one BM25 directory of a store from before generations


class StoreError(RuntimeError):
    """The store cannot be used as asked; the message tells the operator what to do."""


@dataclass(frozen=True)
class Generation:
    """One published state of the store: what a query server loads as a whole."""

    number: int
    index: str  # index directory name under the storage root
    lexical: str | None  # BM25 snapshot directory name inside the index; None before the first one
    kind: str  # first | incremental | rebuild | rollback | legacy
    published_at: str = ""
    manuals: int = 0
    chunks: int = 0

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Generation":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class Storage:
    root: Path
    cache_override: Path | None = None

    @property
    def pointer_path(self) -> Path:
        return self.root / "current.json"

    @property
    def index_link(self) -> Path:
        """The symlink of stores made before generations existed (read, then removed)."""
        return self.root / "index"

    @property
    def cache_dir(self) -> Path:
        return self.cache_override or self.root / "cache"

    @property
    def answer_cache_db(self) -> Path:
        """LLM answers (query.cache); survives a reingest."""
        return self.cache_dir / "answers.sqlite"

    @property
    def table_prose_db(self) -> Path:
        """LLM prose of tables (ingest.table_prose): a rebuild does not pay for it again."""
        return self.cache_dir / "table_prose.sqlite"

    @property
    def sessions_db(self) -> Path:
        """Conversations of the API (outside any index: a reingest keeps them)."""
        return self.root / "sessions.sqlite"

    @property
    def log_db(self) -> Path:
        """SQLite query log and feedback (when DATABASE_URL is not set); survives a reingest."""
        return self.root / "querylog.sqlite"

    @property
    def lock_path(self) -> Path:
        return self.root / ".ingest.lock"

    @property
    def report_path(self) -> Path:
        return self.root / "last_ingest.json"

    def read_pointer(self) -> dict:
        """{"current": {...}, "previous": [{...}, ...]} or {} before the first ingestion.

        Read by opening the file each time (no stat cache): on NFS, open() revalidates
        the file (close-to-open consistency), so a replica sees a moved pointer at once.
        """
        try:
            return json.loads(self.pointer_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def current(self) -> Generation | None:
        """The live generation, or None before the first ingestion."""
        data = self.read_pointer()
        if data.get("current"):
            return Generation.from_dict(data["current"])
        if self.index_link.exists():  # a store from before generations: serve it as generation 0
            target = self.index_link.resolve()
            lexical = LEGACY_LEXICAL if self.lexical_saved(target / LEGACY_LEXICAL) else None
            return Generation(0, target.name, lexical, "legacy")
        return None

    def write_pointer(self, current: Generation, previous: list[Generation]) -> None:
        """Move the pointer: write a temp file, fsync, rename over current.json."""
        data = {"current": current.as_dict(), "previous": [g.as_dict() for g in previous]}
        tmp = self.root / f".current-{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.pointer_path)
        if self.index_link.is_symlink():  # migrated: one pointer only
            self.index_link.unlink()

    def index_path(self, name: str) -> Path:
        return self.root / name

    # inside one index directory ------------------------------------------------------
    @staticmethod
    def chroma_dir(index_dir: Path) -> Path:
        """The embedded Chroma store (absent in server mode: the vectors live in `chroma run`)."""
        return index_dir / "chroma"

    @staticmethod
    def manifest_db(index_dir: Path) -> Path:
        return index_dir / "manifest.sqlite"

    @staticmethod
    def info_path(index_dir: Path) -> Path:
        return index_dir / "info.json"

    @staticmethod
    def lexical_dirs(index_dir: Path) -> list[Path]:
        """Every BM25 snapshot directory in an index (and the legacy `lexical`)."""
        return [p for p in index_dir.glob("lexical*") if p.is_dir()]

    # inside one BM25 snapshot (written by core.lexical: whole, then renamed in) -------------
    @staticmethod
    def lexical_chunks(snapshot: Path) -> Path:
        """The chunk ids and filter fields; a snapshot without it is not a snapshot."""
        return snapshot / "chunks.json"

    @staticmethod
    def lexical_bm25(snapshot: Path) -> Path:
        return snapshot / "bm25"

    @staticmethod
    def lexical_vocab(snapshot: Path) -> Path:
        """The corpus vocabulary (core.vocab); absent in snapshots written before it."""
        return snapshot / "vocab.json"

    @staticmethod
    def summary_vectors(snapshot: Path) -> Path:
        """The pages' summary-unit vectors (core.summaries; only with SUMMARY_LANE)."""
        return snapshot / "summary.npy"

    @staticmethod
    def summary_pages(snapshot: Path) -> Path:
        """Which page each summary vector stands for, with its filter fields."""
        return snapshot / "summary.json"

    @staticmethod
    def lexical_saved(snapshot: Path) -> bool:
        return Storage.lexical_chunks(snapshot).exists()

    def index_dir(self) -> Path | None:
        """The live index directory, or None before the first ingestion."""
        generation = self.current()
        return self.index_path(generation.index) if generation else None

    def index_dirs(self) -> list[Path]:
        return sorted(p for p in self.root.glob("index-*") if p.is_dir())

    def new_index_dir(self) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        path = self.root / f"index-{stamp}"
        path.mkdir(parents=True)
        return path

    @staticmethod
    def lexical_name(manifest_generation: int) -> str:
        return f"lexical-{manifest_generation:06d}"

    def lexical_dir(self, generation: Generation) -> Path | None:
        return self.index_path(generation.index) / generation.lexical if generation.lexical else None


def get_storage(settings: Settings, override: str | Path | None = None) -> Storage:
    cache = Path(settings.cache_dir) if settings.cache_dir else None
    return Storage(Path(override) if override else Path(settings.storage_dir), cache)


# Chroma's per-path System cache (`SharedSystemClient._identifier_to_system`) is a plain
# class-level dict: a client being created checks it, starts a System, then reads it back.
# `reader_client` clears that cache while a query server's loader thread opens a new
# generation; a client opened meanwhile in another thread (an ingestion in the same process,
# a second store) found its entry gone: KeyError from inside chromadb. Every embedded
# client of this process is created, and the cache cleared, under this one lock.
_CHROMA_CACHE_LOCK = threading.Lock()


def chroma_client(path: Path, settings: Settings):
    """Embedded PersistentClient, or a `chroma run` server when CHROMA_HOST is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    with _CHROMA_CACHE_LOCK:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def reader_client(path: Path, settings: Settings):
    """(client, system_to_stop): a client that sees the store as it is now.

    Chroma caches one System per path in the process (`SharedSystemClient`), and an
    embedded System keeps the HNSW index it loaded: writes another process made later
    are in SQLite (`get` sees them) but never in its HNSW (`query` does not, and still
    returns deleted ids: chroma issue #3792; reproduced with chromadb 1.5.9). So each
    generation a query server loads gets a System of its own: forget the cached ones
    (`clear_system_cache`, Chroma's public way), open, and forget again so nobody else
    shares it. Clients already open keep working: they hold their System directly. The
    caller stops the returned System when no request uses it any more.
    """
    if settings.chroma_host:  # the server is the only process holding HNSW: always current
        return chroma_client(path, settings), None
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient
    from chromadb.config import Settings as ChromaSettings

    with _CHROMA_CACHE_LOCK:
        SharedSystemClient.clear_system_cache()
        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False))
        system = client._system  # noqa: SLF001 - the only handle on what to stop later
        SharedSystemClient.clear_system_cache()
    return client, system


def collection_name(index_dir: Path, settings: Settings, base: str = COLLECTION) -> str:
    """One server can hold several stores: name the collection after the index directory."""
    return f"{base}-{index_dir.name}" if settings.chroma_host else base


# The sentence vectors of the chunks (core.sentence_vectors): a second collection beside the
# chunks, one record per sentence, named after its chunk (SENTENCE_OF) so that it is written,
# copied and deleted with it. Its flat metadata is the chunk's filter keys, so the same
# filters (language, folder) apply to both collections.
SENTENCES = "sentences"
SENTENCE_OF = "chunk"


def open_sentences(client, index_dir: Path, settings: Settings, create: bool):
    """The index's sentence collection; None when the index has none (built before, or with
    SENTENCE_VECTORS off): the dense lane then ranks chunks alone."""
    name = collection_name(index_dir, settings, SENTENCES)
    if create:
        return client.get_or_create_collection(name, configuration=_hnsw(settings), embedding_function=None)
    try:
        return client.get_collection(name, embedding_function=None)
    except Exception:  # chromadb raises NotFoundError (a ValueError before 1.0)
        return None


def sentence_records(chunk_id: str, metadata: dict, vectors) -> tuple[list[str], list[dict]]:
    """Ids and flat metadata of one chunk's sentence records: its filter keys and section id,
    read from the chunk's own `metadata` (flat strings already: no `chroma_metadata` pass)."""
    flat = {k: v for k, v in metadata.items() if k in FILTER_KEYS or k == SECTION_ID}
    return [f"{chunk_id}:s{i}" for i in range(len(vectors))], [dict(flat, **{SENTENCE_OF: chunk_id})] * len(vectors)


def sentence_owner(sentence_id: str) -> str:
    """The chunk a sentence record belongs to, from its id (reading it needs no metadata)."""
    return sentence_id.rpartition(":s")[0]


def delete_sentences(collection, chunk_ids: list[str]) -> None:
    if collection is not None and chunk_ids:
        collection.delete(where={SENTENCE_OF: {"$in": list(chunk_ids)}})


def _ef_search(collection) -> int | None:
    # Reading the configuration of a collection made without an embedding function (ours:
    # vectors come from core.embedding) raises a DeprecationWarning about "legacy embedding
    # function config" in chromadb 1.5; the HNSW part is what we read.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return (collection.configuration.get("hnsw") or {}).get("ef_search")


def _hnsw(settings: Settings) -> dict:
    """The index configuration a collection is created with (chunks and sentences alike)."""
    return {"hnsw": {"space": "cosine", "ef_search": settings.hnsw_ef_search}}


def open_collection(index_dir: Path, settings: Settings, embed_name: str, create: bool, client=None):
    client = client if client is not None else chroma_client(Storage.chroma_dir(index_dir), settings)
    name = collection_name(index_dir, settings)
    if create:
        collection = client.get_or_create_collection(
            name, configuration=_hnsw(settings), metadata={"embed_model": embed_name}, embedding_function=None
        )
    else:
        try:
            collection = client.get_collection(name, embedding_function=None)
        except Exception as exc:
            raise StoreError(f"no manuals indexed in {index_dir}: run `make ingest` first") from exc
    # Stores built before the setting existed (or with another value) get it on first open;
    # it is a search-time parameter, so no vector is re-indexed.
    if _ef_search(collection) != settings.hnsw_ef_search:
        collection.modify(configuration={"hnsw": {"ef_search": settings.hnsw_ef_search}})
    stored = (collection.metadata or {}).get("embed_model")
    if stored and stored != embed_name:
        raise StoreError(
            f"the index was built with EMBED_MODEL={stored} but EMBED_MODEL={embed_name} is set: "
            "set it back, or rebuild with `make reingest`"
        )
    return client, collection


# Chroma indexes every metadata value it stores: our full chunk metadata made `add` 17%
# slower. Filters and deletes need only these keys flat, and retrieval the section id (it
# groups some 70 candidates into sections before building any node); the rest travels
# inside LlamaIndex's `_node_content`, from which retrieval rebuilds the node
# (`metadata_dict_to_node`, as LlamaIndex's `ChromaVectorStore` does).
FLAT_KEYS = frozenset({*FILTER_KEYS, SECTION_ID, "document_id", "doc_id", "ref_doc_id"})  # the last three: LlamaIndex's


def chroma_metadata(node: BaseNode) -> dict:
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    metadata = node_to_metadata_dict(node, remove_text=True, flat_metadata=True)
    return {k: ("" if v is None else v) for k, v in metadata.items() if k in FLAT_KEYS or k.startswith("_")}


def stored_section(record: dict) -> str:
    """The section a stored chunk belongs to, from its Chroma record (see `chroma_metadata`)
    without building the LlamaIndex node. Why: retrieval groups some 70 candidates into
    sections and returns a handful; `metadata_dict_to_node` validates a pydantic model per
    record, 2.1 ms for the 70 of one question on the httpd manual. Records written before
    the section id was a flat key are read from their JSON (1.0 ms for 70)."""
    if SECTION_ID in record:
        return section_of(record)
    content = record.get("_node_content")
    return section_of(json.loads(content).get("metadata", record) if content else record)


def add_nodes(collection, nodes: list[BaseNode]) -> None:
    """What `ChromaVectorStore.add` does, with the slimmer metadata above."""
    from llama_index.core.schema import MetadataMode

    collection.add(
        ids=[n.node_id for n in nodes],
        embeddings=[n.get_embedding() for n in nodes],
        metadatas=[chroma_metadata(n) for n in nodes],
        documents=[n.get_content(metadata_mode=MetadataMode.NONE) for n in nodes],
    )


def write_info(index_dir: Path, **info: str) -> None:
    """Facts about an index that readers need (the manuals' root for file links)."""
    path = Storage.info_path(index_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def read_info(index_dir: Path) -> dict:
    path = Storage.info_path(index_dir)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
