"""The built site, shared by every test of the HTML (marked ``book``, so run last).

tests/test_book.py builds the book once per session in its ``build`` fixture and checks the
build itself. The tests of the site (test_site.py, test_browser.py) need the same HTML: they
reuse that build when it ran in this session, and build the book themselves only when run
on their own, so ``make test`` builds once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
BUILD_COMMAND = [str(Path(sys.executable).parent / "jupyter-book"),
                 "build", ".", "--all", "-W", "-n", "--keep-going"]

_BOOK_BUILD = pytest.StashKey[subprocess.CompletedProcess]()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
    value = yield
    if fixturedef.argname == "build" and isinstance(value, subprocess.CompletedProcess) \
            and value.args == BUILD_COMMAND:
        request.config.stash[_BOOK_BUILD] = value
    return value


@pytest.fixture(scope="session")
def site(request: pytest.FixtureRequest) -> Path:
    """Folder of the built HTML site, built in this session."""
    build = request.config.stash.get(_BOOK_BUILD, None)
    if build is None:
        build = subprocess.run(BUILD_COMMAND, cwd=ROOT, capture_output=True, text=True,
                               timeout=3600)
        request.config.stash[_BOOK_BUILD] = build
    if not (HTML / "index.html").is_file():
        pytest.fail("the book build produced no site:\n" + (build.stdout + build.stderr)[-3000:])
    return HTML
