"""The standing fault suite: hostile input and unlucky operations, each with the outcome
the system promises (`make faults` prints them as a table; scripts/faults.py).

`registry` holds the cases (name, area, expected outcome, run -> Outcome); `ingest_cases`
registers the ingestion ones. Another area (the query server) adds a module of its own
that registers its cases the same way and is listed in `AREAS` below.
"""

AREAS = ["tests.faults.ingest_cases"]
