"""`python -m query.auth`: API keys (new / hash), kept under its old name; the code is in `query.desk.auth`."""
