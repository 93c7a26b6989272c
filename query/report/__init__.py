"""`python -m query.report`: the gap report, kept under its old name; the code is in `query.ops.report`."""
