"""Sphinx extension: every script appears once in a page's head.

sphinx-thebe (which Jupyter Book always loads) and sphinx-togglebutton register their inline
scripts both with the builder and with the application registry, so Sphinx 7.4 writes each
twice, once with the file name None and once with ''. Twice is harmless for ``var``, but sphinx-thebe's
``const THEBE_JS_URL`` declared twice is a SyntaxError in every browser console.
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
    if "script_files" in context:
        context["script_files"] = unique_scripts(context["script_files"])


def setup(app: Sphinx) -> dict:
    # early: a later handler may end the event by returning a template name, and the repeated
    # scripts are registered before any page is written
    app.connect("html-page-context", _drop_repeated_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
