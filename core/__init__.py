"""What ingestion and query share: settings, the embedding model, the stores, tokenization.

Nothing in here imports from `ingest` or `query`; both import from here.
"""
