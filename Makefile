# The README's two commands: `make demo` and `make test`. Both install what they need first:
# Debian's orthanc (and dcmtk) with apt, then a virtualenv with this package and Airflow.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# The Airflow range we claim (pyproject.toml) is tested at both ends: the newest in .venv (`make test`), the
# lowest in .venv-airflow-lowest (`make test-airflow-lowest`, unit and DAG tests).
AIRFLOW_VERSION ?= 3.3.2
HTTP_PROVIDER_VERSION ?= 6.3.0
AIRFLOW_LOWEST ?= 3.1.8
HTTP_PROVIDER_LOWEST ?= 5.6.4
VENV_LOWEST ?= .venv-airflow-lowest
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: deps venv test demo bench screenshots clean test-airflow-lowest demo-celery

APT_PACKAGES := orthanc dcmtk faketime chromium postgresql redis-server

deps: ## Debian packages: Orthanc 1.10 (the DICOM servers), dcmtk (dsrdump checks SRs), faketime (past intervals),
      ## PostgreSQL and Redis (Airflow's metadata database and Celery broker in the topology test)
	@if command -v Orthanc >/dev/null && command -v dsrdump >/dev/null && command -v faketime >/dev/null && command -v chromium >/dev/null \
		&& command -v redis-server >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; else \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi
	@Orthanc --version | head -n 1

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade uv
	$(VENV)/bin/uv pip install --python $(PY) -q -e ".[test]" "apache-airflow==$(AIRFLOW_VERSION)" \
		"apache-airflow-providers-http==$(HTTP_PROVIDER_VERSION)"
	touch $@

$(VENV_LOWEST)/.installed: pyproject.toml
	python3 -m venv $(VENV_LOWEST)
	$(VENV_LOWEST)/bin/pip install -q --upgrade uv
	$(VENV_LOWEST)/bin/uv pip install --python $(VENV_LOWEST)/bin/python -q -e ".[test]" \
		"apache-airflow==$(AIRFLOW_LOWEST)" "apache-airflow-providers-http==$(HTTP_PROVIDER_LOWEST)"
	touch $@

venv: $(VENV)/.installed

test: deps venv ## the whole test suite, against real Orthanc servers and real Airflow
	$(PY) -m pytest -q -ra --durations=15 $(PYTEST_ARGS)

test-airflow-lowest: deps $(VENV_LOWEST)/.installed ## unit and DAG tests (not -m integration) on the lowest Airflow we claim
	$(VENV_LOWEST)/bin/python -m pytest -q -ra -m "not integration" $(PYTEST_ARGS)

demo: deps venv ## two local Orthanc servers, SQLite Airflow, the replicate DAG end to end
	$(PY) -m copydicom_provider.testing.demo

demo-celery: deps venv ## the production topology on this machine: PostgreSQL, Redis, CeleryExecutor, two workers
	$(PY) -m copydicom_provider.testing.demo_celery $(DEMO_ARGS)

screenshots: deps venv ## refresh docs/ui-*.png from the browser test
	COPYDICOM_SCREENSHOTS=docs $(PY) -m pytest -q tests/test_ui_browser.py

bench: deps venv ## side-by-side throughput figures (not a test)
	$(PY) benchmarks/replicate_bench.py
	$(PY) benchmarks/tags_bench.py

clean:
	rm -rf $(VENV) $(VENV_LOWEST) .demo
