"""Where everything lives under the storage directory, and how the Chroma store is opened.

    storage/
      index -> index-20261122T101500   symlink to the live index (swapped atomically by reingest)
      index-.../chroma/                 Chroma PersistentClient (vectors, texts, metadata)
      index-.../manifest.sqlite         manuals, hashes, chunk tokens (ingest's bookkeeping)
      index-.../lexical/                BM25 index rebuilt from the manifest
      cache/                            table prose and LLM answers (survive a reingest)
      sessions.sqlite                   the API's conversations and their turns
      querylog.sqlite                   query log and feedback (query.querylog; PII redacted)
      last_ingest.json                  the last run's report
      .ingest.lock                      held while an ingestion writes

Chroma's default embedding function downloads a model, which fails offline; we always
pass our own vectors, and the collection records the embedding model that made them.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from core.settings import Settings

if TYPE_CHECKING:
    from llama_index.core.schema import BaseNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

# chromadb and LlamaIndex are imported inside the functions that use them: they cost 3 s
# of start-up, and a no-change ingestion or `make status` needs neither.

COLLECTION = "manuals"


class StoreError(RuntimeError):
    """The store cannot be used as asked; the message tells the operator what to do."""


@dataclass(frozen=True)
class Storage:
    root: Path

    @property
    def index_link(self) -> Path:
        return self.root / "index"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

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

    def index_dir(self) -> Path | None:
        """The live index directory, or None before the first ingestion."""
        return self.index_link.resolve() if self.index_link.exists() else None

    def new_index_dir(self) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        path = self.root / f"index-{stamp}"
        path.mkdir(parents=True)
        return path

    def publish(self, index_dir: Path) -> Path | None:
        """Point `index` at `index_dir` atomically (rename of a symlink); return the old target."""
        old = self.index_dir()
        tmp = self.root / f".index-link-{os.getpid()}"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(index_dir.name)
        os.replace(tmp, self.index_link)
        return old


def get_storage(settings: Settings, override: str | Path | None = None) -> Storage:
    return Storage(Path(override) if override else Path(settings.storage_dir))


def chroma_client(path: Path, settings: Settings):
    """Embedded PersistentClient, or a `chroma run` server when CHROMA_HOST is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def collection_name(index_dir: Path, settings: Settings) -> str:
    """One server can hold several stores: name the collection after the index directory."""
    return f"{COLLECTION}-{index_dir.name}" if settings.chroma_host else COLLECTION


def _ef_search(collection) -> int | None:
    # Reading the configuration of a collection made without an embedding function (ours:
    # vectors come from core.embedding) raises a DeprecationWarning about "legacy embedding
    # function config" in chromadb 1.5; the HNSW part is what we read.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return (collection.configuration.get("hnsw") or {}).get("ef_search")


def open_collection(index_dir: Path, settings: Settings, embed_name: str, create: bool):
    client = chroma_client(index_dir / "chroma", settings)
    name = collection_name(index_dir, settings)
    if create:
        hnsw = {"space": "cosine", "ef_search": settings.hnsw_ef_search}
        collection = client.get_or_create_collection(
            name, configuration={"hnsw": hnsw}, metadata={"embed_model": embed_name}, embedding_function=None
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
# slower. Filters and deletes need only these keys flat; the rest travels inside
# LlamaIndex's `_node_content`, from which `ChromaVectorStore` rebuilds the node.
FLAT_KEYS = frozenset({"path", "lang", "dir1", "dir2", "dir3", "dir4", "document_id", "doc_id", "ref_doc_id"})


def chroma_metadata(node: BaseNode) -> dict:
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    metadata = node_to_metadata_dict(node, remove_text=True, flat_metadata=True)
    return {k: ("" if v is None else v) for k, v in metadata.items() if k in FLAT_KEYS or k.startswith("_")}


def add_nodes(collection, nodes: list[BaseNode]) -> None:
    """What `ChromaVectorStore.add` does, with the slimmer metadata above."""
    from llama_index.core.schema import MetadataMode

    collection.add(
        ids=[n.node_id for n in nodes],
        embeddings=[n.get_embedding() for n in nodes],
        metadatas=[chroma_metadata(n) for n in nodes],
        documents=[n.get_content(metadata_mode=MetadataMode.NONE) for n in nodes],
    )


def vector_store(collection) -> ChromaVectorStore:
    from llama_index.vector_stores.chroma import ChromaVectorStore

    return ChromaVectorStore(chroma_collection=collection)


def write_info(index_dir: Path, **info: str) -> None:
    """Facts about an index that readers need (the manuals' root for file links)."""
    path = index_dir / "info.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def read_info(index_dir: Path) -> dict:
    path = index_dir / "info.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
