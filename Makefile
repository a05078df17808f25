# kmlang: two commands on a fresh machine
#   make demo   set up .venv and score the sample passages with the default model
#   make test   set up .venv (with test extras and the pinned en_core_web_sm) and run the tests
#   make docs   serve the documentation site (make docs-build: build it strictly into site/, as CI does)

PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared

.PHONY: demo test model benchmark lint clean docs docs-build

$(BIN)/.base: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(BIN)/.dev: $(BIN)/.base requirements/syntax.txt
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r requirements/syntax.txt
	touch $@

# The docs extra (MkDocs Material, mkdocstrings, mkdocs-jupyter, the kernel the notebooks run on).
$(BIN)/.docs: $(BIN)/.base
	$(BIN)/python -m pip install -q -e ".[docs]"
	touch $@

demo: $(BIN)/.base
	$(BIN)/kmlang demo

test: $(BIN)/.dev
	$(BIN)/python -m pytest -q

model: $(BIN)/.dev
	$(BIN)/kmlang train -o models/default --dev $(SHARED)/dev/dev.jsonl
	$(BIN)/python benchmarks/quantification.py --model models/default --write

benchmark: $(BIN)/.dev
	$(BIN)/python benchmarks/speed.py

# Serve the site with live reload; the notebooks are executed at every rebuild.
# (NO_MKDOCS_2_WARNING hides Material's banner about MkDocs 2, which this site does not use.)
docs: $(BIN)/.docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

# Build the site as CI does: every warning is an error; the notebooks are executed.
docs-build: $(BIN)/.docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site/

lint: $(BIN)/.dev
	$(BIN)/ruff check kmlang tests tools benchmarks

clean:
	rm -rf $(VENV) build dist .pytest_cache
