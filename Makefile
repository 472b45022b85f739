# hoctap — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: run test lab lint bench install dev clean sample notebooks browser-deps

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Cần Python 3.11 ($(PYTHON))"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PIP) install --quiet -c constraints.txt -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (hoctap)" >/dev/null
	@touch $@

$(DEVSTAMP): $(STAMP)
	$(PIP) install --quiet -c constraints.txt -e '.[dev,bench]'
	@touch $@

install: $(STAMP)
dev: $(DEVSTAMP)

## make run: install, then ingest -> validate -> report on the embedded sample; prints the dashboard path
run: $(STAMP)
	$(VENV)/bin/hoctap run

## make test: the whole suite (notebooks through papermill, the dashboard in headless Chromium)
test: $(DEVSTAMP)
	$(VENV)/bin/ruff check src tests tools benchmarks
	$(PY) -m pytest -q -n 2 --dist loadgroup

## make lab: JupyterLab on notebooks/ with the package importable
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

lint: $(DEVSTAMP)
	$(VENV)/bin/ruff check src tests tools benchmarks

## make bench: scale workloads against peers (not part of make test)
bench: $(DEVSTAMP)
	$(PY) benchmarks/run.py

## make sample / make notebooks: rebuild the committed sample data / notebooks
sample: $(STAMP)
	$(PY) tools/build_sample.py data/raw
notebooks: $(STAMP)
	$(PY) tools/make_notebooks.py notebooks

## browser-deps: headless Chromium for the browser test (needs root; CI runs it)
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; fi

clean:
	rm -rf $(VENV) data/processed reports .pytest_cache .ruff_cache
