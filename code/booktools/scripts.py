"""Sphinx extension: every script appears once in a page's head.

sphinx-thebe (which Jupyter Book always loads) and sphinx-togglebutton register their inline
scripts both with the builder and with the application registry, so Sphinx 7.4 writes each
twice, once with the file name None and once with ''. Twice is harmless for ``var``, but sphinx-thebe's
``const THEBE_JS_URL`` declared twice is a SyntaxError in every browser console.

The page's list is thinned in place and last: Sphinx hands every ``html-page-context``
handler the builder's own list, and handlers such as ``sphinx.ext.mathjax`` add the scripts
of one page to the builder, so a new list put into the context would lose them (MathJax did,
on every page with math).
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def unique_scripts(scripts: list[Any]) -> list[Any]:
    """``scripts`` without repeats: same file (or inline body) and attributes, any priority."""
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        # an inline script is registered with the file name None in one place, '' in another
        key = (str(getattr(script, "filename", script) or ""), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    return unique


def _drop_repeated_scripts(app: Sphinx, pagename: str, templatename: str,
                           context: dict[str, Any], doctree: Any) -> None:
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        scripts[:] = unique_scripts(scripts)


def setup(app: Sphinx) -> dict:
    # last, after every handler has added the scripts of its page (Sphinx calls all the
    # handlers even when one returns a template name)
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
