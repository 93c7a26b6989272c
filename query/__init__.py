"""Query: hybrid retrieval -> answer with numbered, anchored sources -> CLI, API, web page."""
