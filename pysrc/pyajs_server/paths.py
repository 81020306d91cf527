"""Where things are: the tree the dev server serves (web/, pysrc/, node_modules/), its
default event database, and the installed runtime versions (from node_modules)."""

from __future__ import annotations

import json
from pathlib import Path

# The checkout this package sits in: pysrc/pyajs_server/ -> the repository root.
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB = ROOT / ".pyajs" / "events.sqlite3"

# The runtimes, each a folder under the root (installed by npm, pinned in package.json).
VERSIONED_PACKAGES: dict[str, tuple[str, ...]] = {
    "pyodide": ("node_modules", "pyodide"),
    "pyscript": ("node_modules", "@pyscript", "core"),
    "micropython": ("node_modules", "@micropython", "micropython-webassembly-pyscript"),
}


def package_version(root: Path, name: str) -> str | None:
    """The installed version of a runtime in VERSIONED_PACKAGES (its package.json)."""
    try:
        meta = json.loads(root.joinpath(*VERSIONED_PACKAGES[name], "package.json")
                          .read_text("utf-8"))
    except (OSError, ValueError, KeyError):
        return None
    version = meta.get("version") if isinstance(meta, dict) else None
    return version if isinstance(version, str) else None
