"""The standing fault suite: hostile input and unlucky operations, each with the outcome
the system promises (`make faults` runs this folder and prints them as a table; `make test`
runs it with the rest).

Two kinds of case: scenario functions registered in `registry` (name, area, expected
outcome, run -> Outcome; `ingest_cases` holds the ingestion ones, run by test_cases.py),
and plain pytest tests (test_server.py: the desk as a real process, sharing one server).
"""

AREAS = ["tests.faults.ingest_cases"]
