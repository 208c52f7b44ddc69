# The README's two commands: `make demo` and `make test`. Both install what they need first:
# Debian's orthanc (and dcmtk) with apt, then a virtualenv with this package and Airflow.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
AIRFLOW_VERSION ?= 3.3.2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: deps venv test demo bench bench-monitor screenshots clean

APT_PACKAGES := orthanc dcmtk faketime chromium

deps: ## Debian packages: Orthanc 1.10 (the DICOM servers), dcmtk (dsrdump checks SRs), faketime (past intervals)
	@if command -v Orthanc >/dev/null && command -v dsrdump >/dev/null && command -v faketime >/dev/null && command -v chromium >/dev/null; then :; else \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi
	@Orthanc --version | head -n 1

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade uv
	$(VENV)/bin/uv pip install --python $(PY) -q -e ".[test]" "apache-airflow==$(AIRFLOW_VERSION)"
	touch $@

venv: $(VENV)/.installed

test: deps venv ## the whole test suite, against real Orthanc servers and real Airflow
	$(PY) -m pytest -q -ra --durations=15 $(PYTEST_ARGS)

demo: deps venv ## two local Orthanc servers, SQLite Airflow, the replicate DAG end to end
	$(PY) -m copydicom_provider.testing.demo

screenshots: deps venv ## refresh docs/ui-*.png from the browser test
	COPYDICOM_SCREENSHOTS=docs $(PY) -m pytest -q tests/test_ui_browser.py

bench: deps venv ## side-by-side throughput figures, then monitor-mode latency (not tests)
	$(PY) benchmarks/replicate_bench.py
	$(PY) benchmarks/tags_bench.py
	$(MAKE) --no-print-directory bench-monitor

MONITOR_ARGS ?=
bench-monitor: deps venv ## monitor-mode latency under the real scheduler, across a scheduler restart (~7 min)
	$(PY) benchmarks/monitor_latency.py $(MONITOR_ARGS)

clean:
	rm -rf $(VENV) .demo
