"""Where things are: the tree the dev server serves (web/, pysrc/, node_modules/), its
default event database, and the installed runtime versions (from node_modules)."""

from __future__ import annotations

import json
from pathlib import Path

# The checkout this package sits in: pysrc/pyajs_server/ -> the repository root. (Installed
# from a wheel, the package is not in a checkout: find_root then looks elsewhere.)
ROOT = Path(__file__).resolve().parents[2]
# The event database, under the served tree.
DB_PATH = (".pyajs", "events.sqlite3")

# The runtimes, each a folder under the root (installed by npm, pinned in package.json).
VERSIONED_PACKAGES: dict[str, tuple[str, ...]] = {
    "pyodide": ("node_modules", "pyodide"),
    "pyscript": ("node_modules", "@pyscript", "core"),
    "micropython": ("node_modules", "@micropython", "micropython-webassembly-pyscript"),
}


def is_tree(path: Path) -> bool:
    """Whether `path` holds what `pyajs serve` serves: the pages (web/) and pyajs (pysrc/)."""
    return (path / "web" / "demo.html").is_file() and (path / "pysrc" / "pyajs").is_dir()


def find_root(explicit: Path | None = None) -> Path | None:
    """The tree to serve: `explicit` if given, else the checkout this package is in, else the
    current directory; None when it is not a pyajs tree (see is_tree)."""
    for candidate in [explicit] if explicit is not None else [ROOT, Path.cwd()]:
        if is_tree(candidate):
            return candidate.resolve()
    return None


def missing_runtimes(root: Path) -> list[str]:
    """The runtimes (VERSIONED_PACKAGES) not installed under `root` (npm ci)."""
    return [name for name in VERSIONED_PACKAGES if package_version(root, name) is None]


def package_version(root: Path, name: str) -> str | None:
    """The installed version of a runtime in VERSIONED_PACKAGES (its package.json)."""
    try:
        meta = json.loads(root.joinpath(*VERSIONED_PACKAGES[name], "package.json")
                          .read_text("utf-8"))
    except (OSError, ValueError, KeyError):
        return None
    version = meta.get("version") if isinstance(meta, dict) else None
    return version if isinstance(version, str) else None
