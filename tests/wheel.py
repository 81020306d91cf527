"""Builds pyajs's wheel from a copy of the sources (so the build leaves nothing in the
working tree), for the packaging tests and the e2e test that installs it in a page."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "pysrc/pyajs", "pysrc/pyajs_server")


def build_wheel(workdir: Path) -> Path:
    """`pip wheel --no-deps` of a copy of the project; returns the wheel's path."""
    src = workdir / "src"
    for rel in SOURCES:
        source, target = ROOT / rel, src / rel
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    out = workdir / "dist"
    # No build isolation: the pinned setuptools of the dev extra, and no download.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "--disable-pip-version-check", "-w", str(out),
                    str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = out.glob("pyajs-*.whl")
    return wheel
