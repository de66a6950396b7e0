# agent-app — `make help` lists the targets. Every target bootstraps .venv itself.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
PYTHON ?= python3

.PHONY: help run test test-fast lint bench e2e eval clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e ".[dev,server]"
	touch $(STAMP)

run: $(STAMP) ## start the app in the browser (works offline, no key needed)
	$(VENV)/bin/streamlit run streamlit_app.py --server.address 127.0.0.1

test: $(STAMP) ## run the whole test suite (unit, integration, browser e2e), two workers
	sh scripts/ensure-chromium.sh
	AGENT_APP_CHECK_TRACKED=1 $(VENV)/bin/pytest -n 2 --dist loadfile --durations=25

test-fast: $(STAMP) ## the edit-test loop (< 2 min): the in-process tests, two workers
	$(VENV)/bin/pytest -q -x -n 2 -m "not e2e and not slow and not integration"

e2e: $(STAMP) ## only the browser tests (Playwright + Debian chromium)
	sh scripts/ensure-chromium.sh
	AGENT_APP_CHECK_TRACKED=1 $(VENV)/bin/pytest -m e2e

lint: $(STAMP) ## ruff check, ruff format --check, mypy
	$(VENV)/bin/ruff check agent_app tests tools benchmarks
	$(VENV)/bin/ruff format --check agent_app tests tools benchmarks
	$(VENV)/bin/mypy agent_app

bench: $(STAMP) ## benchmarks: ratios against a baseline in the same run → benchmarks/results.json
	$(PY) -m benchmarks.run

eval: $(STAMP) ## retrieval quality: memory (recall@1/3, false recall) and knowledge base (recall@k, MRR)
	$(PY) benchmarks/eval_memory.py; m=$$?; $(PY) benchmarks/eval_kb.py; k=$$?; test $$m -eq 0 -a $$k -eq 0

clean: ## remove the virtual environment and caches (not your data)
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
