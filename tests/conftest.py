"""The book build, shared by every test of the HTML (marked ``book``, so run last).

The session builds the book once, in the ``build`` fixture: tests/test_book.py checks the
build itself, and the tests of the site (test_site.py, test_browser.py) read its HTML through
the ``site`` fixture.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
#: the build's whole log, kept for a person to read (CI uploads test-artifacts/)
BUILD_LOG = ROOT / "test-artifacts" / "build.log"
BUILD_COMMAND = [str(Path(sys.executable).parent / "jupyter-book"),
                 "build", ".", "--all", "-W", "-n", "--keep-going"]


@pytest.fixture(scope="session")
def build() -> subprocess.CompletedProcess:
    """The session's book build: warnings are errors, references nitpicky. Its log is
    written to :data:`BUILD_LOG`."""
    result = subprocess.run(BUILD_COMMAND, cwd=ROOT, capture_output=True, text=True,
                            timeout=3600)
    BUILD_LOG.parent.mkdir(exist_ok=True)
    BUILD_LOG.write_text(result.stdout + result.stderr, encoding="utf-8")
    return result


@pytest.fixture(scope="session")
def site(build: subprocess.CompletedProcess) -> Path:
    """Folder of the built HTML site, built in this session."""
    if not (HTML / "index.html").is_file():
        pytest.fail("the book build produced no site:\n" + (build.stdout + build.stderr)[-3000:])
    return HTML
