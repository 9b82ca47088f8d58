"""pytest plugin: every MyST chapter in ``chapters/`` runs as an nbval notebook.

A chapter is read with myst-nb's own reader, as the book build reads it. When the book's
jupyter-cache holds outputs for the chapter's code (the book build executed it), every
cell's output must equal its cached output, compared by nbval (images and cells tagged
``nbval-ignore-output`` excepted): the outputs rendered are the outputs tested, and a second
execution printed the same numbers. Without cached outputs (the chapter changed since the
last build), the cells only have to run. A failing cell is named ``chapters/<name>.md::Cell N``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from jupyter_cache import get_cache
from nbval.plugin import IPyNbCell, IPyNbFile, find_comment_markers, find_metadata_tags

from booktools import execution, kernelserver


def _tests_chapters(config: pytest.Config) -> bool:
    """Whether this run collects from the chapters' folder (``pytest tests`` does not)."""
    chapters = Path(config.rootpath, execution.CHAPTER_FOLDER).resolve()
    for argument in config.args:
        path = (config.invocation_params.dir / argument.split("::")[0]).resolve()
        if path == chapters or chapters in path.parents or path in chapters.parents:
            return True
    return False


def pytest_configure(config: pytest.Config) -> None:
    execution.set_kernel_environment()
    config.addinivalue_line("markers", "book: needs the built book (the slow tier; runs last)")
    if not _tests_chapters(config):
        # the book's cache is not touched: a run of the unit tests keeps the chapters' outputs
        return
    root = Path(config.rootpath)
    cache = execution.default_cache(root)
    execution.prepare(root, cache)
    kernelserver.start()  # nbval runs every chapter again, each in a kernel of its own
    # create the cache's database now, in the one process that configures first: pytest-xdist
    # starts its workers later, and two workers creating it at once collide
    get_cache(str(cache)).list_cache_records()


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if execution.is_notebook_chapter(file_path):
        return ChapterNotebook.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests of the built book go last, after the fast tier; chapters run longest first.

    With ``-n 2 --dist loadfile --no-loadscope-reorder`` (``make test``), pytest-xdist hands
    out the chapters in this order, so the last chapter to finish is a short one.
    """
    seconds = execution.expected_seconds()
    order = {path: rank for rank, path in enumerate(execution.longest_first(
        sorted({item.path for item in items if isinstance(item.parent, ChapterNotebook)}),
        seconds))}
    items.sort(key=lambda item: (item.get_closest_marker("book") is not None,
                                 order.get(item.path, -1)))


class ChapterNotebook(IPyNbFile):
    """A MyST chapter executed cell by cell in one kernel, compared with its cached outputs."""

    def collect(self):
        self.nb = execution.read_chapter(self.path)
        self.cells: list[IPyNbCell] = []
        code_cells = [cell for cell in self.nb.cells if cell.cell_type == "code"]
        for number, cell in enumerate(code_cells):
            options = defaultdict(bool, find_metadata_tags(cell.metadata))
            options.update(find_comment_markers(cell.source))
            # compared with the cached output unless the cell opted out (nbval-ignore-output)
            options["compare_with_cache"] = options.get("check", True)
            item = IPyNbCell.from_parent(
                self, name=f"Cell {number}", cell_num=number, cell=cell, options=options
            )
            self.cells.append(item)
            yield item

    def setup(self) -> None:
        self._use_cached_outputs_as_reference()
        super().setup()
        # nbval executes with store_history=False, which makes IPython ignore a trailing
        # ';' and show values the book build (nbclient) hides: execute as nbclient does.
        client = self.kernel.kc
        self.kernel.execute_cell_input = lambda source, allow_stdin=False: client.execute(
            source, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)

    def _use_cached_outputs_as_reference(self) -> None:
        cache = get_cache(str(execution.default_cache(Path(self.config.rootpath))))
        try:
            # merges into a copy: self.nb keeps the cells the items hold
            _, executed = cache.merge_match_into_notebook(self.nb)
        except KeyError:
            return
        executed_cells = [cell for cell in executed.cells if cell.cell_type == "code"]
        for item, reference in zip(self.cells, executed_cells):
            item.cell.outputs = reference.outputs
            item.cell.execution_count = reference.execution_count
            item.options["check"] = item.options["compare_with_cache"]
