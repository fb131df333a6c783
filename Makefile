# Earmark — two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export NUMBA_CACHE_DIR ?= $(CURDIR)/var/numba-cache

.PHONY: run test install install-test migrate frontend benchmarks lint format clean prod-local

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.base-installed: requirements/base.txt requirements/vad.txt | $(VENV)/bin/python
	$(PIP) install -q -r requirements/base.txt
	$(PIP) install -q --no-deps -r requirements/vad.txt
	touch $@

$(VENV)/.test-installed: requirements/base.txt requirements/vad.txt requirements/ml.txt requirements/test.txt | $(VENV)/bin/python
	$(PIP) install -q -r requirements/test.txt
	$(PIP) install -q --no-deps -r requirements/vad.txt
	touch $@ $(VENV)/.base-installed

install: $(VENV)/.base-installed
install-test: $(VENV)/.test-installed

## make run: the platform on its embedded default (SQLite, local media, filesystem broker, a real worker).
run: install
	$(PY) scripts/bootstrap_env.py
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_demo
	$(PY) manage.py run_embedded

## make prod-local: the production shape on this machine without Docker (gunicorn workers, the machine's
## PostgreSQL and Redis, moto's S3 server, two worker nodes, beat); Ctrl-C stops it. See scripts/prod_local.sh.
prod-local: install-test
	scripts/prod_local.sh run

## make test: `make lint`, then the whole suite. Service-backed tests run when PostgreSQL/Redis/Chromium are
## there; with EARMARK_REQUIRE_SERVICES=1 (CI) they must run.
test: lint
	$(PY) -m pytest -n 2 --dist loadgroup

## make frontend: rebuild the annotator bundle (needs npm; the built files are committed).
frontend:
	cd frontend && npm ci --no-audit --no-fund && npm run build

## make benchmarks: every benchmark with its baseline, one after the other (about an hour on an idle 2-core
## machine; README "Performance" has the figures and docs/performance.md how each measures).
benchmarks: install-test
	$(PY) benchmarks/api_list.py
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/features.py
	$(PY) benchmarks/export.py
	$(PY) -m benchmarks.long_audio
	$(PY) benchmarks/qa.py
	$(PY) -m benchmarks.qa_memory
	$(PY) benchmarks/annotator_load.py
	$(PY) benchmarks/autosave.py
	$(PY) benchmarks/load.py
	$(PY) benchmarks/vad.py
	$(PY) benchmarks/transcripts.py
	$(PY) benchmarks/models.py

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

## make lint: import contracts (layers, pure DSP), ruff (lint + format check), mypy on services and selectors,
## eslint on the annotator sources.
lint: install-test frontend/node_modules/.installed
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	cd frontend && npm run lint

## make format: apply ruff's formatter and its safe fixes (then `make lint` tells what is left to do by hand).
format: install-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var/broker var/test*.sqlite3
