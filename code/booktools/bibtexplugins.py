"""Sphinx extension: look up the bibliography's plugins once per build, not once per citation.

sphinxcontrib-bibtex asks pybtex for its plain-text backend (and itself for the referencing
style) every time it resolves a citation, and each lookup scans the metadata of every
installed package for entry points: about 7 ms, some 400 times per build. Both libraries
keep a runtime plugin store that is searched first; registering the plugins there once, through
their public ``register_plugin``, makes every later lookup a dictionary access. The classes
registered are the ones the entry points give, so the output is unchanged.
"""

from __future__ import annotations

import pybtex.plugin
import sphinxcontrib.bibtex.plugin
from sphinx.application import Sphinx

#: The pybtex plugin sphinxcontrib-bibtex looks up for every citation, whatever the config.
PYBTEX_LOOKUPS = (("pybtex.backends", "plaintext"),)
REFERENCING_GROUP = "sphinxcontrib.bibtex.style.referencing"


def register_once(pybtex_lookups: list[tuple[str, str]], referencing_styles: list[str]) -> None:
    """Put each plugin the citations need into its library's runtime store: the pybtex
    plugins ``(group, name)`` and sphinxcontrib-bibtex's referencing styles, by name."""
    for group, name in pybtex_lookups:
        pybtex.plugin.register_plugin(group, name, pybtex.plugin.find_plugin(group, name),
                                      force=True)
    for name in referencing_styles:
        style = sphinxcontrib.bibtex.plugin.find_plugin(REFERENCING_GROUP, name)
        sphinxcontrib.bibtex.plugin.register_plugin(REFERENCING_GROUP, name, style, force=True)


def _register(app: Sphinx) -> None:
    config = app.config
    formatting = sorted({config.bibtex_default_style, config.bibtex_tooltips_style} - {""})
    register_once([*PYBTEX_LOOKUPS, *(("pybtex.style.formatting", s) for s in formatting)],
                  [config.bibtex_reference_style, config.bibtex_foot_reference_style])


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinxcontrib.bibtex")
    app.connect("builder-inited", _register)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
