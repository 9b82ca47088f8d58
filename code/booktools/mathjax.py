"""Sphinx extension: MathJax 3 served from the site itself, so formulas typeset offline.

Sphinx's ``sphinx.ext.mathjax`` loads MathJax from a CDN by default; a reader behind a
firewall, offline, or in the test's browser then sees ``\\(N^{-\\alpha}\\)`` verbatim. This
extension copies MathJax 3 from the PyPI package ``django-static-mathjax`` (the MathJax
distribution, Apache-2.0; Django itself is not needed) into ``_static/mathjax`` and points
``mathjax_path`` at the same component the CDN default names, ``tex-mml-chtml.js``.
Introduced for every page with math; see CONTRIBUTING.md for why this renderer.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.ext.mathjax import MATHJAX_URL
from sphinx.util.fileutil import copy_asset

#: The MathJax component each page loads: TeX and MathML input, HTML-CSS output, as
#: Sphinx's CDN default.
ENTRY_POINT = "tex-mml-chtml.js"

#: Folder below ``_static`` that receives MathJax.
STATIC_FOLDER = "mathjax"

#: What MathJax loads lazily from beside its entry point: TeX extensions on first use
#: (autoload), fonts, the context menu, accessibility and speech, the SVG output the menu
#: can switch to. The other combined components of the distribution are never loaded.
LAZY_FOLDERS = ("a11y", "adaptors", "input", "output", "sre", "ui")


def mathjax_distribution() -> Path:
    """Folder of the installed MathJax 3 distribution (its ``es5`` build and ``LICENSE``).

    Raises ``ExtensionError`` when the package ``django-static-mathjax`` is missing or
    holds no ``es5/tex-mml-chtml.js``.
    """
    try:
        package = resources.files("mathjax")
    except ModuleNotFoundError as error:
        raise ExtensionError("MathJax is not installed: pip install -r requirements.txt "
                             "(package django-static-mathjax)") from error
    distribution = Path(str(package)) / "static" / "mathjax"
    if not (distribution / "es5" / ENTRY_POINT).is_file():
        raise ExtensionError(f"no MathJax 3 es5/{ENTRY_POINT} in {distribution}: "
                             "reinstall django-static-mathjax from requirements.txt")
    return distribution


def copy_mathjax(distribution: Path, static_dir: Path) -> Path:
    """Copy MathJax's entry point, lazily loaded folders and licence into ``static_dir``.

    Returns the folder written, ``static_dir / STATIC_FOLDER``.
    """
    target = static_dir / STATIC_FOLDER
    es5 = distribution / "es5"
    target.mkdir(parents=True, exist_ok=True)
    copy_asset(es5 / ENTRY_POINT, target)
    for folder in LAZY_FOLDERS:
        copy_asset(es5 / folder, target / folder)
    copy_asset(distribution / "LICENSE", target)
    return target


def _serve_locally(app: Sphinx, config: Config) -> None:
    # only the CDN default is replaced: a mathjax_path set on purpose is the author's choice
    if config.mathjax_path == MATHJAX_URL:
        config.mathjax_path = f"{STATIC_FOLDER}/{ENTRY_POINT}"


def _copy_to_site(app: Sphinx) -> None:
    # before the pages are written, so that Sphinx stamps the script's URL with a checksum
    if app.builder.format == "html" and getattr(app.builder, "math_renderer_name",
                                                None) == "mathjax":
        copy_mathjax(mathjax_distribution(), Path(app.outdir) / "_static")


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("config-inited", _serve_locally)
    app.connect("builder-inited", _copy_to_site)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
