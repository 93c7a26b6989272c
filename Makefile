# manual-qa: `make demo` runs the main job offline, `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DATA   ?= data/manuals
STORAGE ?= storage
CORPUS ?= ../shared/corpora/httpd-manual
SINCE  ?= 7d
Q      ?= 인터넷 이전 설치비는 얼마인가요?
STAMP  := $(VENV)/.installed
WORKERS ?= 1

.PHONY: install ingest reingest status ask demo test test-fast lint-imports faults screenshots bench bench-ingest bench-serve bench-scale eval serve clean rollback report demo-log pii-eval

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

ingest: install
	$(PY) -m ingest $(DATA) --storage $(STORAGE)

reingest: install
	$(PY) -m ingest $(DATA) --storage $(STORAGE) --rebuild

rollback: install
	$(PY) -m ingest --rollback --storage $(STORAGE)

status: install
	$(PY) -m ingest --status --storage $(STORAGE)

ask: install
	$(PY) -m query "$(Q)" --storage $(STORAGE)

demo: install
	$(PY) -m ingest $(DATA) --storage $(STORAGE); test $$? -eq 0 -o $$? -eq 3
	$(PY) -m query "인터넷 이전 설치비는 얼마인가요?" --storage $(STORAGE)
	@echo
	$(PY) -m query "How much does the daily roaming pass cost in Japan?" --storage $(STORAGE)
	@echo
	$(PY) -m query "휴대폰 분실보험 플러스의 월 요금은 얼마인가요?" --storage $(STORAGE)

# Everything, including the import contract (tests/test_architecture.py) and the slow tests.
# Two pytest-xdist workers: much of the suite waits on processes it started (servers, kill -9,
# `chroma run`, Chromium), so two workers on two cores took 476 s where one took ~600 s.
TEST_WORKERS ?= 2
test: install
	$(PY) -m pytest -q -n $(TEST_WORKERS)

# The standing fault suite alone (also part of `make test`): hostile files, a full disk, kill -9,
# two writers, the desk under faults. Prints a table: cases tried, handled, data lost.
faults: install
	$(PY) -m pytest -q tests/faults

# Refresh the README's screenshots (reports/web_*.png) on purpose; `make test` writes its own to /tmp.
screenshots: install
	SCREENSHOT_DIR=reports $(PY) -m pytest -q tests/desk/test_browser.py tests/desk/test_browser_attachments.py

# The quick loop: all but the browser, `chroma run`, kill -9, PostgreSQL and live-server tests.
test-fast: install
	$(PY) -m pytest -q -m "not slow"

lint-imports: install
	$(VENV)/bin/lint-imports

bench-ingest: install
	$(PY) scripts/bench_ingest.py --corpus $(CORPUS)

bench-serve: install
	$(PY) scripts/bench_serve.py --workers $(WORKERS)

# Growth benchmark: 1x, 8x, 32x copies of the httpd manual (32x takes about an hour on 2
# cores). SIZES=1 for a quick run; results resume from reports/bench_scale.json (FORCE=1 re-measures).
SIZES ?= 1,8,32
bench-scale: install
	$(PY) scripts/bench_scale.py --corpus $(CORPUS) --sizes $(SIZES) $(if $(FORCE),--force)

bench: bench-ingest

eval: install
	$(PY) scripts/evaluate.py
	$(PY) scripts/evaluate.py --combined
	$(PY) scripts/evaluate.py --copies 3 --only debian-install
	$(PY) scripts/eval_followups.py --corpus $(CORPUS)

report: install
	$(PY) -m query.report --storage $(STORAGE) --since $(SINCE)

demo-log: install
	$(PY) scripts/make_demo_log.py --storage $(STORAGE)

pii-eval: install
	$(PY) -m query.pii --eval data/eval/pii_cases.jsonl

serve: install
	$(PY) -m query.server --storage $(STORAGE) --workers $(WORKERS)

clean:
	rm -rf $(STORAGE)/index $(STORAGE)/index-* $(STORAGE)/current.json $(STORAGE)/cache $(STORAGE)/last_ingest.json
