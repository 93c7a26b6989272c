"""`python -m query.server`: the desk's HTTP server, kept under its old name; the code is in `query.desk.server`."""
