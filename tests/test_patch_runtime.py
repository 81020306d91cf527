"""scripts/patch-runtime.mjs: MicroPython's glue loses its function-table check, and nothing
else. The e2e suite then proves the patched runtime in Chromium; the Node.js checks in
test_micropython.py run on it too."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "patch-runtime.mjs"
RUNTIME = ROOT / "node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")

# The glue's shape around the check, in the minified form the npm package ships.
BEFORE = ('a=1,getWasmTableEntry=funcPtr=>{var func=wasmTableMirror[funcPtr];return func||'
          '(wasmTableMirror[funcPtr]=func=wasmTable.get(funcPtr)),assert(wasmTable.get(funcPtr)'
          '==func,"mirror is out of date!"),func},assert(x,"other checks stay"),b=2')
AFTER = ('a=1,getWasmTableEntry=funcPtr=>{var func=wasmTableMirror[funcPtr];return func||'
         '(wasmTableMirror[funcPtr]=func=wasmTable.get(funcPtr)),func},'
         'assert(x,"other checks stay"),b=2')


def patched(text: str) -> dict:
    """patch(text) from the script, run in Node.js: {text, changed} or {error}."""
    code = ("import { patch } from %s;\n"
            "let out; try { out = patch(%s); } catch (e) { out = { error: e.message }; }\n"
            "process.stdout.write(JSON.stringify(out));"
            % (json.dumps(SCRIPT.as_uri()), json.dumps(text)))
    run = subprocess.run(["node", "--input-type=module", "-e", code], capture_output=True,
                         text=True, timeout=60, check=True)
    return json.loads(run.stdout)


def test_the_table_check_is_removed_and_nothing_else():
    assert patched(BEFORE) == {"text": AFTER, "changed": True}


def test_patching_again_changes_nothing():
    assert patched(AFTER) == {"text": AFTER, "changed": False}


def test_an_unexpected_glue_is_refused_not_guessed_at():
    twice = BEFORE.replace(",b=2", ',assert(wasmTable.get(p)==f,"again"),b=2')
    assert "2 times" in patched(twice)["error"]
    no_mirror = BEFORE.replace("getWasmTableEntry=", "lookup=")
    assert "getWasmTableEntry" in patched(no_mirror)["error"]


def test_the_file_on_a_copy(tmp_path):
    copy = tmp_path / "micropython.mjs"
    copy.write_text(BEFORE)
    check = subprocess.run(["node", str(SCRIPT), "--check", str(copy)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 1 and "table check present" in check.stdout
    done = subprocess.run(["node", str(SCRIPT), str(copy)], capture_output=True, text=True,
                          timeout=60, check=True)
    assert "table check removed" in done.stdout
    assert copy.read_text() == AFTER


@pytest.mark.skipif(not RUNTIME.exists(), reason="needs `npm ci` (scripts/setup.sh)")
def test_the_installed_runtime_is_patched():
    """scripts/setup.sh ran the patch: the served glue still keeps the mirror, without the
    second lookup."""
    text = RUNTIME.read_text("utf-8")
    run = subprocess.run(["node", str(SCRIPT), "--check"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "wasmTableMirror[funcPtr]=func=wasmTable.get(funcPtr)" in text
    assert text.count("wasmTable.get(") == 1
