"""Which Chromium the e2e tests drive: Debian's ``/usr/bin/chromium`` (Playwright cannot
download its own browser on these machines), else Playwright's own build where a user has
installed it. Run as a script, it prints the path or exits 1."""

import os
import shutil
import sys

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# How every suite launches it: no sandbox (root), no GPU, and none of Chromium's own
# background requests (this machine's network is closed); suites add their host rules.
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    """A Chromium executable, or None to let Playwright use its own installed browser."""
    env = os.environ.get("PYAJS_CHROMIUM")
    if env:
        return env
    for path in CANDIDATES:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


def playwright_has_own_browser() -> bool:
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            return os.path.exists(p.chromium.executable_path)
    except Exception:
        return False


if __name__ == "__main__":
    path = chromium_path()
    if path:
        print(path)
    elif playwright_has_own_browser():
        print("playwright's own chromium")
    else:
        print("no Chromium found: install Debian's chromium package", file=sys.stderr)
        sys.exit(1)
