"""The book build, shared by every test of the HTML (marked ``book``, so run last), and a
writer of small chapters for the tests of the execution machinery.

The session builds the book once, in the ``build`` fixture: tests/test_book.py checks the
build itself, and the tests of the site (test_site.py, test_browser.py) read its HTML through
the ``site`` fixture. ``write_chapter`` writes a chapter into a book folder.
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


#: The front matter of a chapter: a MyST Markdown notebook for the ``python3`` kernel.
CHAPTER_FRONT_MATTER = """\
---
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


@pytest.fixture
def write_chapter():
    """``write_chapter(book, name, body)``: write ``book/chapters/<name>.md``, the front
    matter followed by ``body`` (MyST Markdown with code cells); return its path."""

    def write(book: Path, name: str, body: str) -> Path:
        chapter = book / "chapters" / f"{name}.md"
        chapter.parent.mkdir(parents=True, exist_ok=True)
        chapter.write_text(CHAPTER_FRONT_MATTER + body)
        return chapter

    return write
