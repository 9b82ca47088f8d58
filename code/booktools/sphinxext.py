"""Sphinx extension: execute chapters in the book's environment, several at a time, never
from a stale cache.

Before myst-nb reads the pages, every chapter whose outputs are not in the jupyter-cache is
executed, as many at once as :func:`booktools.execution.parallel_chapters` allows, and
cached; myst-nb then renders every page from the cache. The inputs' fingerprint is
registered as a config value that forces Sphinx to re-read every page when it changes, so
that outputs re-executed after a change to ``code/`` or to the requirements reach the HTML
even when no chapter's text changed.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

from booktools import execution, kernelserver

_LOGGER = logging.getLogger(__name__)


def _prepare_execution(app: Sphinx, config: Config) -> None:
    # myst-nb's own default when _config.yml names no cache: beside the output folder
    cache = Path(config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")
    config.book_inputs_fingerprint = execution.prepare(Path(app.confdir), cache)
    if config.nb_execution_mode != "cache":
        if config.nb_execution_mode != "off":  # myst-nb executes chapters itself
            kernelserver.start()
        return
    outcome, summary = execution.execute_book(Path(app.confdir), cache,
                                              timeout=config.nb_execution_timeout)
    if summary:
        _LOGGER.info(summary)
    for uri in outcome["failed"]:
        # not a warning: myst-nb executes it again while reading it and reports the failing cell
        _LOGGER.info(f"{uri} failed; it runs again on its own to report the failing cell")


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_inputs_fingerprint", "", "env")
    app.connect("config-inited", _prepare_execution)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
