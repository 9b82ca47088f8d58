"""Sphinx extension: the ``.ipynb`` download of a chapter carries the outputs shown on its page.

sphinx-book-theme offers each chapter's notebook for download by copying the notebook that
myst-nb writes to ``_build/jupyter_execute``. When myst-nb takes a chapter's outputs from the
jupyter-cache (``execute_notebooks: cache``, how this book is always built), it writes the
notebook as read from the ``.md`` file, without outputs. This extension writes, in its place,
the notebook merged with the cached outputs that the page itself renders.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from docutils import nodes
from jupyter_cache import get_cache
from sphinx.application import Sphinx
from sphinx.util import logging

from booktools.execution import is_notebook_chapter, read_chapter

_LOGGER = logging.getLogger(__name__)


def executed_notebook(source: Path, cache_path: Path) -> nbformat.NotebookNode | None:
    """The chapter at ``source`` with the outputs cached for it, or None if none are cached."""
    try:
        _, notebook = get_cache(str(cache_path)).merge_match_into_notebook(read_chapter(source))
    except KeyError:
        return None
    return notebook


def _write_executed_notebook(app: Sphinx, doctree: nodes.document) -> None:
    config = app.env.mystnb_config
    source = Path(app.env.doc2path(app.env.docname))
    if config.execution_mode != "cache" or not is_notebook_chapter(source):
        return
    notebook = executed_notebook(source, Path(config.execution_cache_path))
    if notebook is None:
        _LOGGER.info(f"{source.name}: no cached outputs; its .ipynb download has none")
        return
    target = Path(config.output_folder).joinpath(*app.env.docname.split("/"))
    target = target.with_name(target.name + ".ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(nbformat.writes(notebook), encoding="utf-8")


def setup(app: Sphinx) -> dict:
    # doctree-read comes after myst-nb has parsed the page and written its notebook
    app.connect("doctree-read", _write_executed_notebook)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
