"""Question -> answer: retrieval, sections, reranking, extractive and LLM answers, caches (no FastAPI, no SQLAlchemy)."""
