"""`python -m query.querylog`: query log maintenance, kept under its old name; the code is in `query.ops.querylog`."""
