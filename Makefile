# The two commands of the README: `make demo` and `make test`.
PY := .venv/bin/python
PORT ?= 8000

.PHONY: demo test lint setup

setup:
	./scripts/setup.sh

demo: setup
	$(PY) serve.py --port $(PORT)

test:
	./scripts/setup.sh --browser
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check .
