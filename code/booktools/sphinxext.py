"""Sphinx extension: execute chapters in the book's environment, never from a stale cache.

Registers the inputs' fingerprint as a config value that forces Sphinx to re-read every
page when it changes, so that outputs re-executed after a change to ``code/`` or to the
requirements reach the HTML even when no chapter's text changed.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

from booktools import execution


def _prepare_execution(app: Sphinx, config: Config) -> None:
    # myst-nb's own default when _config.yml names no cache: beside the output folder
    cache = Path(config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")
    config.book_inputs_fingerprint = execution.prepare(Path(app.confdir), cache)


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_inputs_fingerprint", "", "env")
    app.connect("config-inited", _prepare_execution)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
