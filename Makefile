# The two commands of the README: `make demo` and `make test`.
PY := .venv/bin/python
PORT ?= 8000

.PHONY: demo test test-fast lint setup build

setup:
	./scripts/setup.sh

demo: setup
	$(PY) serve.py --port $(PORT)

test:
	./scripts/setup.sh --browser
	$(PY) -m ruff check .
	$(PY) -m pytest -q

# No browser: the unit, server and packaging tests (the e2e mark: tests/conftest.py).
test-fast: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q -m "not e2e"

lint: setup
	$(PY) -m ruff check .

# A tree to upload to any static host or CDN (README, "Deploy"): BASE_URL is where it will
# be served from, e.g. `make build BASE_URL=https://cdn.example.com/pyajs/`.
OUT ?= dist/pyajs
BASE_URL ?= /pyajs/
build: setup
	$(PY) -m pyajs_server build --out $(OUT) --base-url $(BASE_URL)
