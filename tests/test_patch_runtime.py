"""scripts/patch-runtime.mjs: MicroPython's glue loses its function-table check and its debug
ErrnoError, gains a compile hint, and nothing else changes. The e2e suite then proves the
patched runtime in Chromium; the Node.js checks in test_micropython.py run on it too."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "patch-runtime.mjs"
RUNTIME = ROOT / "node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")

# The glue's shape around the edits, in the minified form the npm package ships.
ERRNO_DEBUG = ('ErrnoError:class extends Error{name="ErrnoError";constructor(errno){for(var key '
               'in super(runtimeInitialized?(errno=>UTF8ToString(_strerror(errno)))(errno):""),'
               'this.errno=errno,ERRNO_CODES)if(ERRNO_CODES[key]===errno){this.code=key;break}}}')
ERRNO_RELEASE = 'ErrnoError:class{name="ErrnoError";constructor(errno){this.errno=errno}}'
BEFORE = ('a=1,getWasmTableEntry=funcPtr=>{var func=wasmTableMirror[funcPtr];return func||'
          '(wasmTableMirror[funcPtr]=func=wasmTable.get(funcPtr)),assert(wasmTable.get(funcPtr)'
          '==func,"mirror is out of date!"),func},assert(x,"other checks stay"),FS={' +
          ERRNO_DEBUG + ',FSStream:class{}},b=2')
AFTER = ('//# allFunctionsCalledOnLoad\n'
         'a=1,getWasmTableEntry=funcPtr=>{var func=wasmTableMirror[funcPtr];return func||'
         '(wasmTableMirror[funcPtr]=func=wasmTable.get(funcPtr)),func},'
         'assert(x,"other checks stay"),FS={' + ERRNO_RELEASE + ',FSStream:class{}},b=2')
EDITS = ["table check removed", "ErrnoError as in a release build", "compile hint added"]


def patched(text: str) -> dict:
    """patch(text) from the script, run in Node.js: {text, changed} or {error}."""
    code = ("import { patch } from %s;\n"
            "let out; try { out = patch(%s); } catch (e) { out = { error: e.message }; }\n"
            "process.stdout.write(JSON.stringify(out));"
            % (json.dumps(SCRIPT.as_uri()), json.dumps(text)))
    run = subprocess.run(["node", "--input-type=module", "-e", code], capture_output=True,
                         text=True, timeout=60, check=True)
    return json.loads(run.stdout)


def test_the_three_edits_and_nothing_else():
    assert patched(BEFORE) == {"text": AFTER, "changed": True, "edits": EDITS}


def test_patching_again_changes_nothing():
    assert patched(AFTER) == {"text": AFTER, "changed": False, "edits": []}


def test_a_glue_patched_by_the_earlier_script_gets_the_other_two_edits():
    """setup.sh on a checkout whose node_modules the one-edit script had patched."""
    first = AFTER.replace("//# allFunctionsCalledOnLoad\n", "").replace(ERRNO_RELEASE,
                                                                           ERRNO_DEBUG)
    assert patched(first) == {"text": AFTER, "changed": True, "edits": EDITS[1:]}


def test_the_error_the_glue_throws_still_carries_name_and_errno():
    """The glue's system-call wrappers read only these two (``"ErrnoError" !== e.name``,
    ``-e.errno``); the release shape must still give them."""
    code = ("const FS = {%s};\nconst e = new FS.ErrnoError(44);\n"
            "process.stdout.write(JSON.stringify([e.name, e.errno, e instanceof Error]));"
            % ERRNO_RELEASE)
    run = subprocess.run(["node", "--input-type=module", "-e", code], capture_output=True,
                         text=True, timeout=60, check=True)
    assert json.loads(run.stdout) == ["ErrnoError", 44, False]


def test_an_unexpected_glue_is_refused_not_guessed_at():
    twice = BEFORE.replace(",b=2", ',assert(wasmTable.get(p)==f,"again"),b=2')
    assert "2 times" in patched(twice)["error"]
    two_errors = BEFORE.replace(",b=2", ",G={" + ERRNO_DEBUG + "},b=2")
    assert "ErrnoError occurs 2 times" in patched(two_errors)["error"]
    no_mirror = BEFORE.replace("getWasmTableEntry=", "lookup=")
    assert "getWasmTableEntry" in patched(no_mirror)["error"]


def test_the_file_on_a_copy(tmp_path):
    copy = tmp_path / "micropython.mjs"
    copy.write_text(BEFORE)
    check = subprocess.run(["node", str(SCRIPT), "--check", str(copy)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 1 and "to do: table check removed" in check.stdout
    done = subprocess.run(["node", str(SCRIPT), str(copy)], capture_output=True, text=True,
                          timeout=60, check=True)
    assert ", ".join(EDITS) in done.stdout
    assert copy.read_text() == AFTER
    again = subprocess.run(["node", str(SCRIPT), "--check", str(copy)], capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 0 and "patched" in again.stdout


@pytest.mark.skipif(not RUNTIME.exists(), reason="needs `npm ci` (scripts/setup.sh)")
def test_the_installed_runtime_is_patched():
    """scripts/setup.sh ran the patch: the served glue still keeps the mirror, without the
    second lookup, has the release ErrnoError and starts with the compile hint."""
    text = RUNTIME.read_text("utf-8")
    run = subprocess.run(["node", str(SCRIPT), "--check"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "wasmTableMirror[funcPtr]=func=wasmTable.get(funcPtr)" in text
    assert text.count("wasmTable.get(") == 1
    assert text.startswith("//# allFunctionsCalledOnLoad\n")
    assert ERRNO_RELEASE in text and "_strerror(errno)" not in text
