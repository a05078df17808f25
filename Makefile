# kmlang: two commands on a fresh machine
#   make demo   set up .venv and score the sample passages with the default model
#   make test   set up .venv (with test extras and the pinned en_core_web_sm) and run the tests

PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared

.PHONY: demo test model benchmark lint clean

$(BIN)/.base: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(BIN)/.dev: $(BIN)/.base requirements/syntax.txt
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r requirements/syntax.txt
	touch $@

demo: $(BIN)/.base
	$(BIN)/kmlang demo

test: $(BIN)/.dev
	$(BIN)/python -m pytest -q

model: $(BIN)/.dev
	$(BIN)/kmlang train -o models/default --dev $(SHARED)/dev/dev.jsonl

benchmark: $(BIN)/.dev
	$(BIN)/python benchmarks/speed.py

lint: $(BIN)/.dev
	$(BIN)/ruff check kmlang tests

clean:
	rm -rf $(VENV) build dist .pytest_cache
