"""pytest plugin: every MyST chapter in ``chapters/`` runs as an nbval notebook.

nbval collects only ``.ipynb`` files, so chapters are read through jupytext here. A
chapter whose every cell passed is written, with the outputs nbval saw, into the book's
jupyter-cache, keyed exactly as myst-nb keys it: the book build that follows in the same
test run then renders those outputs instead of executing the chapter a second time.
"""

from __future__ import annotations

import time
import warnings
from collections import defaultdict
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from nbval.plugin import IPyNbCell, IPyNbFile, find_comment_markers, find_metadata_tags

from booktools import execution

#: Chapters that this test session executed and stored in the book's cache.
CACHED_CHAPTERS = pytest.StashKey[list[Path]]()


def pytest_configure(config: pytest.Config) -> None:
    root = Path(config.rootpath)
    config.stash[CACHED_CHAPTERS] = []
    execution.prepare(root, execution.default_cache(root))
    config.addinivalue_line("markers", "book: runs after every chapter has executed")


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if execution.is_notebook_chapter(file_path):
        return ChapterNotebook.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Book-build tests go last, so that they find every chapter in the cache."""
    items.sort(key=lambda item: item.get_closest_marker("book") is not None)


class ChapterCell(IPyNbCell):
    """An nbval cell that remembers whether it passed."""

    passed = False

    def runtest(self) -> None:
        super().runtest()
        self.passed = True


class ChapterNotebook(IPyNbFile):
    """A MyST chapter, read with jupytext, executed cell by cell in one kernel."""

    def collect(self):
        self.nb = jupytext.read(self.path)
        self.cells: list[ChapterCell] = []
        code_cells = [cell for cell in self.nb.cells if cell.cell_type == "code"]
        for number, cell in enumerate(code_cells):
            options = defaultdict(bool, find_metadata_tags(cell.metadata))
            options.update(find_comment_markers(cell.source))
            options.setdefault("check", self.compare_outputs)
            item = ChapterCell.from_parent(
                self, name=f"Cell {number}", cell_num=number, cell=cell, options=options
            )
            self.cells.append(item)
            yield item

    def setup(self) -> None:
        self.started = time.perf_counter()
        super().setup()
        # nbval executes with store_history=False, which makes IPython ignore a trailing
        # ';' and show values the book build (nbclient) hides: execute as nbclient does.
        client = self.kernel.kc
        self.kernel.execute_cell_input = lambda source, allow_stdin=False: client.execute(
            source, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)

    def teardown(self) -> None:
        seconds = time.perf_counter() - self.started
        super().teardown()
        if self.cells and all(cell.passed for cell in self.cells):
            self._cache_outputs(seconds)

    def _cache_outputs(self, seconds: float) -> None:
        """Store the executed chapter as myst-nb would have stored it."""
        notebook = execution.read_chapter(self.path)
        code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
        if [cell.source for cell in code_cells] != [item.cell.source for item in self.cells]:
            warnings.warn(f"{self.path.name}: jupytext and myst-nb read different code cells; "
                          "the book build will execute this chapter again")
            return
        for count, (cell, item) in enumerate(zip(code_cells, self.cells), start=1):
            cell.outputs = [nbformat.from_dict(output) for output in item.test_outputs]
            cell.execution_count = count
        cache = get_cache(str(execution.default_cache(Path(self.config.rootpath))))
        bundle = CacheBundleIn(notebook, str(self.path), data={"execution_seconds": seconds})
        cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
        self.config.stash[CACHED_CHAPTERS].append(self.path)
