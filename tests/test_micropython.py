"""The pure core under PyScript's MicroPython 1.27 (run in Node.js from the pinned npm
package): pyajs is meant to run on both runtimes, so the same checks must pass there."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs"


@pytest.mark.skipif(shutil.which("node") is None or not RUNTIME.exists(),
                    reason="needs Node.js and `npm ci` (scripts/setup.sh installs both)")
def test_core_checks_pass_under_micropython():
    out = subprocess.run(["node", str(ROOT / "tests/micropython/run.mjs"),
                          str(ROOT / "tests/micropython/core_check.py")],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    match = re.search(r"micropython: (\d+) passed, (\d+) failed", text)
    assert match, text
    assert int(match.group(2)) == 0, text
    assert int(match.group(1)) == text.count("\nok ") + text.startswith("ok "), text
    assert int(match.group(1)) >= 6
