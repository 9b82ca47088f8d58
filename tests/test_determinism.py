"""Two executions of every chapter print the same numbers.

The first execution is the one in the book's jupyter-cache (made by nbval earlier in this
run, or by the book build); the second is made here.
"""

from pathlib import Path

import pytest
from jupyter_cache import get_cache

from booktools.determinism import output_differences
from booktools.execution import default_cache, execute_chapter, notebook_chapters, read_chapter

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = notebook_chapters(ROOT)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.name)
def test_a_second_execution_prints_the_same_numbers(chapter: Path):
    notebook = read_chapter(chapter)
    cache = get_cache(str(default_cache(ROOT)))
    try:
        first = cache.get_cache_bundle(cache.match_cache_notebook(notebook).pk).nb
    except KeyError:
        pytest.fail(f"{chapter.name} has no cached execution: the book build should have made one")
    result = execute_chapter(notebook, chapter.parent)
    assert result.err is None, f"{chapter.name} failed on its second execution:\n{result.exc_string}"
    differences = output_differences(first, notebook)
    assert differences == [], f"{chapter.name} printed different outputs:\n" + "\n".join(differences)
