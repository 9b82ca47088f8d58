"""The whole book builds with zero warnings, and its HTML is complete.

The build executes every chapter (several at a time) into the jupyter-cache and renders the
cached outputs; `make test` then executes each chapter again under nbval and compares.
"""

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from bs4 import BeautifulSoup
from jupyter_cache import get_cache

from booktools.checks import toc_files
from booktools.execution import PEAK_MEMORY_FILE, default_cache, notebook_chapters, read_chapter

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHAPTERS = notebook_chapters(ROOT)


@pytest.fixture(scope="module")
def pages(build) -> dict[str, BeautifulSoup]:
    return {entry: BeautifulSoup((HTML / f"{entry}.html").read_text(encoding="utf-8"),
                                 "html.parser")
            for entry in sorted(toc_files(ROOT / "_toc.yml"))
            if (HTML / f"{entry}.html").is_file()}


def test_book_builds_with_zero_warnings(build):
    log = build.stdout + build.stderr
    # Sphinx's own format ("file:line: WARNING: ..."); -W turns every build warning into an
    # error
    warnings = [line for line in log.splitlines() if "WARNING:" in line or "ERROR:" in line]
    assert build.returncode == 0, "\n".join(warnings) or log[-5000:]
    assert re.search(r"build succeeded\.", log), log[-2000:]


def test_the_build_log_carries_no_kernel_noise(build):
    """Kernels start with encrypted transport (booktools.execution.KERNEL_MANAGER_CONFIG), so
    no "[IPKernelApp] WARNING | Kernel is running over TCP ..." line on every chapter."""
    noise = [line for line in (build.stdout + build.stderr).splitlines() if "[IPKernelApp]" in line]
    assert noise == [], "\n".join(noise[:5])


def test_every_chapter_was_executed_once_into_the_cache_and_rendered_from_it(build):
    log = build.stdout + build.stderr
    cache = get_cache(str(default_cache(ROOT)))
    peaks = json.loads((default_cache(ROOT) / PEAK_MEMORY_FILE).read_text())
    for chapter in CHAPTERS:
        record = cache.match_cache_notebook(read_chapter(chapter))  # KeyError: not cached
        assert record.data["execution_seconds"] > 0, chapter.name
        assert peaks[chapter.name] > 0, f"no peak memory recorded for {chapter.name}"
        # myst-nb executes a page itself only when the parallel step left it uncached
        assert f"{chapter}: Executing notebook" not in log, f"{chapter.name} ran twice in the build"


def test_every_page_in_the_toc_was_built(build):
    missing = [entry for entry in toc_files(ROOT / "_toc.yml")
               if not (HTML / f"{entry}.html").is_file()]
    assert missing == []


def test_no_page_shows_an_execution_error(pages):
    for entry, soup in pages.items():
        errors = soup.select(".output.traceback, .output.error, .output.stderr")
        assert errors == [], f"{entry} shows an error output: {errors[0].get_text()[:500]}"
        assert "Traceback (most recent call last)" not in soup.get_text(), entry


def test_every_referenced_image_exists(pages):
    for entry, soup in pages.items():
        page = HTML / f"{entry}.html"
        for image in soup.find_all("img"):
            source = urlparse(image.get("src", ""))
            if source.scheme in ("http", "https", "data"):
                continue
            assert (page.parent / unquote(source.path)).is_file(), f"{entry}: {image['src']}"


def test_chapters_that_plot_show_their_figures(pages):
    for chapter in CHAPTERS:
        entry = chapter.relative_to(ROOT).with_suffix("").as_posix()
        if "plt." in chapter.read_text(encoding="utf-8"):
            assert pages[entry].select(".cell_output img"), f"{entry} shows no figure"


def test_every_glue_role_was_replaced_by_its_value(pages):
    for entry, soup in pages.items():
        # code may name the role (the contributing page does); prose never shows it
        prose = "".join(node for node in soup.find_all(string=True)
                        if not node.find_parent(["code", "pre"]))
        assert "{glue" not in prose, f"{entry} shows an unresolved glue role"


def test_status_page_lists_every_executed_chapter(pages):
    table = pages["chapters/status"].find("table")
    assert table is not None, "the execution table is missing"
    for chapter in CHAPTERS:
        assert chapter.relative_to(ROOT).with_suffix("").as_posix() in table.get_text()
