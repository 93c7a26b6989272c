"""Ingestion: HTML manuals -> sections and tables -> prose -> chunks -> embeddings -> Chroma."""
