"""pyajs dev server (demo + collector), run from a checkout: the same as `pyajs serve`.

    python serve.py [--host 127.0.0.1] [--port 8000] [--db PATH] [--write-key KEY ...]
                    [--quiet] [--faults] [--oracle] [--full-source]

The server is the package pysrc/pyajs_server (see its modules); this file only starts it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "pysrc"))

from pyajs_server.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
