"""Fixtures of the dev server's tests: a fake repository tree and a server running on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyajs_server.http import make_server

from tests.server.helpers import KEY, OTHER_KEY, Client, make_tree, serving


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "repo")


@pytest.fixture
def client(tree: Path, tmp_path: Path) -> Iterator[Client]:
    server = make_server(
        "127.0.0.1", 0, tmp_path / "db" / "events.sqlite3", [KEY, OTHER_KEY], root=tree
    )
    with serving(server) as client:
        yield client
