#!/usr/bin/env bash
# Installs what pyajs needs on a fresh Debian machine: Node.js (for npm), the pinned browser
# runtimes (npm ci), a virtualenv with the pinned Python tools and, for the tests, Chromium.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
want_browser="${1:-}"

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "setup: please install these Debian packages (needs root): $*" >&2
    exit 1
  fi
  if [ ! -f /tmp/.pyajs-apt-updated ]; then apt-get update -qq && touch /tmp/.pyajs-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v npm >/dev/null 2>&1 || apt_install nodejs npm
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv

# Browser runtimes: pinned in package.json, integrity-checked by package-lock.json.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing the browser runtimes (npm ci: Pyodide, PyScript, MicroPython)..."
  npm ci --no-audit --no-fund --loglevel=error
fi
# One debug check out of MicroPython's JavaScript glue (see the script; done in place, so
# serve.py, the precompressed copies and the Node tests all use the same file).
node scripts/patch-runtime.mjs

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating the virtualenv .venv..."
  python3 -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  echo "setup: installing pyajs and the pinned Python tools into .venv (pip)..."
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
  touch .venv/.installed
fi

if [ "$want_browser" = "--browser" ]; then
  # Brotli and gzip copies of the large runtime files, made once per runtime version (Node's
  # zlib; skipped quickly when they match the installed files). Only the tests and the
  # benchmarks want them: the demo's server gzips on request instead, so a first `make demo`
  # does not wait minutes for brotli.
  node scripts/precompress.mjs
  # micropip, which a PyScript page's `packages` needs (the e2e test of the wheel).
  if [ ! -f .pyajs/wheels/micropip-0.11.1-py3-none-any.whl ]; then
    echo "setup: fetching micropip for the wheel's e2e test (pip download)..."
    .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps \
      --only-binary=:all: --python-version 3.13 --require-hashes \
      -r scripts/micropip-requirements.txt -d .pyajs/wheels
  fi
  if ! .venv/bin/python tests/e2e/browser_path.py >/dev/null 2>&1; then
    apt_install chromium
  fi
  .venv/bin/python tests/e2e/browser_path.py
  # A stock web server for the deploy test: it serves `pyajs build`'s tree with the
  # generated header rules, as a site's own host would. The test starts it on loopback;
  # the package's own service is kept from starting (policy-rc.d) so nothing listens on :80.
  if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    if [ "$(id -u)" = 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      apt_install nginx
      rm -f /usr/sbin/policy-rc.d
    else
      apt_install nginx
    fi
  fi
fi
