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

.PHONY: deps venv lint test test-newest demo demo-ui demo-celery bench bench-replicate bench-monitor screenshots clean splunk-app appinspect-venv appinspect test-airflow-lowest

APT_PACKAGES := orthanc dcmtk faketime chromium postgresql redis-server dicom3tools

deps: ## Debian packages: Orthanc 1.10 (the DICOM servers), dcmtk (dsrdump checks SRs), faketime (past intervals),
      ## PostgreSQL and Redis (Airflow's metadata database and Celery broker in the topology test),
      ## dicom3tools (dciodvfy: the de-identification corpus checks every copy is still valid DICOM)
	@if command -v Orthanc >/dev/null && command -v dsrdump >/dev/null && command -v faketime >/dev/null && command -v chromium >/dev/null \
		&& command -v dciodvfy >/dev/null \
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

# The Splunk app (splunk_app/copydicom) as an installable archive, and Splunk's own validator for it.
# splunk-appinspect lives in a venv of its own: its pinned dependencies must not meet Airflow's.
APP_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
APP_TGZ ?= dist/copydicom-$(APP_VERSION).tgz
APPINSPECT_VENV ?= .venv-appinspect

$(APP_TGZ): splunk_app/build.py $(wildcard copydicom_provider/reports/*.csv) $(shell find splunk_app/copydicom -type f)
	python3 splunk_app/build.py --out $@

splunk-app: $(APP_TGZ) ## the Splunk app, ready for Apps > Install app from file

$(APPINSPECT_VENV)/.installed:
	python3 -m venv $(APPINSPECT_VENV)
	$(APPINSPECT_VENV)/bin/pip install -q "splunk-appinspect>=4.3,<5"
	touch $@

appinspect-venv: $(APPINSPECT_VENV)/.installed

appinspect: splunk-app appinspect-venv ## Splunk AppInspect (precert) on the packaged app
	$(APPINSPECT_VENV)/bin/splunk-appinspect inspect $(APP_TGZ) --mode precert

test: lint test-newest test-airflow-lowest ## the whole test suite: style and types, every test on the newest Airflow we claim, then unit and DAG tests on the lowest

LINTED := copydicom_provider dags tests benchmarks splunk_app
lint: venv ## ruff (the rule families in pyproject.toml) and mypy on the package and the DAGs
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/mypy

test-newest: deps venv ## every test, against real Orthanc servers and real Airflow (the newest we claim)
	@$(MAKE) --no-print-directory appinspect-venv || echo "splunk-appinspect could not be installed: tests/integration/splunk_app/test_splunk_app.py will skip its AppInspect test"
	$(PY) -m pytest -q -ra --durations=15 $(PYTEST_ARGS)

test-airflow-lowest: deps $(VENV_LOWEST)/.installed ## unit and DAG tests (-m "not services") on the lowest Airflow we claim
	$(VENV_LOWEST)/bin/python -m pytest -q -ra -m "not services" $(PYTEST_ARGS)

demo: deps venv ## two local Orthanc servers, SQLite Airflow, the replicate DAG end to end
	$(PY) -m copydicom_provider.testing.demo

demo-ui: deps venv ## the last demo's servers again, with a whole Airflow on its database, to try things in (Ctrl-C stops)
	$(PY) -m copydicom_provider.testing.demo_ui

demo-celery: deps venv ## the production topology on this machine: PostgreSQL, Redis, CeleryExecutor, two workers
	$(PY) -m copydicom_provider.testing.demo_celery $(DEMO_ARGS)

screenshots: deps venv ## refresh docs/ui-*.png from the browser test
	COPYDICOM_SCREENSHOTS=docs $(PY) -m pytest -q tests/system/test_ui_browser.py

bench: deps venv ## side-by-side throughput figures, CLI start-up, then monitor-mode latency (not tests)
	$(MAKE) --no-print-directory bench-replicate
	$(MAKE) --no-print-directory bench-cli
	$(PY) benchmarks/tags_bench.py
	$(MAKE) --no-print-directory bench-monitor

REPLICATE_ARGS ?=
bench-replicate: deps venv ## copy methods side by side: ours, Orthanc's push, the ingest bound, OrthancCloner (own venv)
	$(PY) benchmarks/replicate_bench.py $(REPLICATE_ARGS)

.PHONY: bench-cli
bench-cli: deps venv ## copydicom --help, --version and mistakes against python -c "import airflow" (~30 s)
	$(PY) benchmarks/cli_startup.py

MONITOR_ARGS ?=
bench-monitor: deps venv ## monitor-mode latency under the real scheduler, across a scheduler restart (~7 min)
	$(PY) benchmarks/monitor_latency.py $(MONITOR_ARGS)

clean:
	rm -rf $(VENV) $(VENV_LOWEST) $(APPINSPECT_VENV) benchmarks/.venv-cloner .demo dist
