"""The test harness itself: a failing cell fails and is named; so does a cell whose output
differs from the cached output of the book build."""

import subprocess
import sys
from pathlib import Path

from jupyter_cache import get_cache

from booktools.execution import execute_missing, notebook_chapters, prepare, read_chapter

BROKEN_CHAPTER = """

(broken)=
# A broken chapter

```{code-cell} ipython3
x = 1
```

```{code-cell} ipython3
x / 0
```
"""


UNSEEDED_CHAPTER = """

(unseeded)=
# A chapter that forgot its seed

```{code-cell} ipython3
print("fixed")
```

```{code-cell} ipython3
import random
print(random.random())
```

```{code-cell} ipython3
:tags: [nbval-ignore-output]
print(random.random())
```
"""


def run_chapters(root: Path) -> str:
    (root / "pytest.ini").write_text("[pytest]\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "booktools.pytest_chapters", "-p", "no:cacheprovider",
         "--nbval-lax", "--nbval-current-env", "-rA", "chapters"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )
    return run.stdout + run.stderr + f"\nexit status {run.returncode}"


def test_a_failing_cell_fails_the_run_and_names_chapter_and_cell(tmp_path: Path, write_chapter):
    write_chapter(tmp_path, "broken", BROKEN_CHAPTER)
    out = run_chapters(tmp_path)
    assert "exit status 1" in out, out
    assert "PASSED chapters/broken.md::Cell 0" in out, out
    assert "FAILED chapters/broken.md::Cell 1" in out, out
    assert "ZeroDivisionError" in out, out


def test_a_cell_that_prints_other_numbers_than_the_build_fails_and_is_named(tmp_path: Path,
                                                                           write_chapter):
    write_chapter(tmp_path, "unseeded", UNSEEDED_CHAPTER)
    cache = tmp_path / "_build" / ".jupyter_cache"
    prepare(tmp_path, cache)  # stamps the cache with this book's inputs, as a build does
    outcome = execute_missing(notebook_chapters(tmp_path), cache, processes=1)
    assert outcome["failed"] == [] and len(outcome["succeeded"]) == 1, outcome
    out = run_chapters(tmp_path)
    assert "PASSED chapters/unseeded.md::Cell 0" in out, out
    assert "FAILED chapters/unseeded.md::Cell 1" in out, out
    assert "Cell outputs differ" in out, out
    assert "PASSED chapters/unseeded.md::Cell 2" in out, out  # opted out of the comparison
    assert "exit status 1" in out, out


ENVIRONMENT_CHAPTER = """

# A chapter that prints a setting

```{code-cell} ipython3
import os
print(os.environ["EMERGENCE_TEST_SETTING"])  # {label}
```
"""


def test_each_chapter_runs_with_the_callers_environment_of_the_moment(tmp_path: Path, monkeypatch,
                                                                     write_chapter):
    # the pool's processes come from a fork server that outlives one call: what a chapter
    # sees must be the environment of the call that executes it, not of the first call
    cache = tmp_path / "_build" / ".jupyter_cache"
    for value in ("first", "second"):
        book = tmp_path / value
        chapter = write_chapter(book, value, ENVIRONMENT_CHAPTER.replace("{label}", value))
        monkeypatch.setenv("EMERGENCE_TEST_SETTING", value)
        prepare(book, cache)
        outcome = execute_missing(notebook_chapters(book), cache, processes=1)
        assert len(outcome["succeeded"]) == 1, outcome
        record = get_cache(str(cache)).match_cache_notebook(read_chapter(chapter))
        notebook = get_cache(str(cache)).get_cache_bundle(record.pk).nb
        printed = [output["text"] for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.outputs]
        assert printed == [value + "\n"], printed
