# Two commands for a new machine: `make run` (set up, load the bundled sample, start the app) and
# `make test`. Everything lives in .venv; nothing is downloaded at run time.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export CLINIC_ANALYTICS_DB ?= warehouse/clinic_analytics.duckdb
PORT   ?= 8501

.PHONY: run test install warehouse e2e bench clean-warehouse

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Build the warehouse from data_samples/ unless one is already published at $CLINIC_ANALYTICS_DB; an
# existing one gets its models rebuilt if this release defines them differently (pipelines rebuild).
warehouse: install
	@if [ -L "$(CLINIC_ANALYTICS_DB)" ]; then \
		$(PY) -m pipelines rebuild; \
	else \
		$(PY) -m pipelines load data_samples; \
	fi

run: warehouse
	$(PY) -m dashboard.serve --server.address 127.0.0.1 --server.port $(PORT)

test: install
	$(PY) -m pytest

bench: install
	$(PY) benchmarks/load.py

clean-warehouse:
	rm -rf "$(CLINIC_ANALYTICS_DB)" "$(CLINIC_ANALYTICS_DB).versions"
