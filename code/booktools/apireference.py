"""Sphinx extension: the library's reference page, and one click from a chapter to the source.

Chapters name library functions as inline code, ``emergence.model.tiny_gpt2``. This
extension

* adds the directive ``{package-reference} emergence``, which documents every public module
  of the package, found by walking it (:func:`package_modules`): a module that is added,
  moved or renamed is on the page at the next build, with no list to keep up to date.
  ``sphinx.ext.autodoc`` writes each module's documentation and ``sphinx.ext.viewcode`` a
  page of its highlighted source, with an anchor at each documented object;
* adds the directive ``{introduced-here}``, which lists the library functions and classes
  whose docstring says the page introduces them ("Introduced in the chapter '...' (label)",
  read by :func:`booktools.checks.introduced_objects`), each linked to its source as below;
* turns every inline literal of a page that names a documented object of the package
  (``emergence.<module>.<name>``, with or without a trailing ``()``) into a link to that
  object's source, on the viewcode page; a literal naming a module links to its whole source.
  Literals that name nothing documented (a typo, a private helper) stay plain text.

Introduced on the page "Library reference" (library-reference).
"""

from __future__ import annotations

import importlib
import pkgutil
import posixpath
import re

from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

_LOGGER = logging.getLogger(__name__)

#: viewcode's folder of highlighted source pages in the built site
SOURCE_FOLDER = "_modules"

#: a dotted Python name, optionally called: ``emergence.lm.load_lm()``
_DOTTED_NAME = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\(\))?")


def package_modules(package: str) -> list[str]:
    """Every public module of ``package`` (itself included), in name order.

    A module is private when a part of its dotted name starts with ``_``; ``__main__``
    modules are scripts, not library. Raises ``ValueError`` when ``package`` is not an
    importable package.
    """
    try:
        root = importlib.import_module(package)
    except ImportError as error:
        raise ValueError(f"cannot import the package {package!r}: {error}") from error
    if not hasattr(root, "__path__"):
        raise ValueError(f"{package!r} is a module, not a package")
    names = [package] + [info.name for info in
                         pkgutil.walk_packages(root.__path__, prefix=f"{package}.")]
    return sorted(name for name in names
                  if not any(part.startswith("_") for part in name.split(".")))


class PackageReference(SphinxDirective):
    """``{package-reference} <package>``: a section per public module, documented by autodoc."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        try:
            modules = package_modules(self.arguments[0])
        except ValueError as error:
            raise self.error(str(error)) from error
        sections = []
        for module in modules:
            section = nodes.section(ids=[nodes.make_id(f"reference-{module}")])
            section += nodes.title("", "", nodes.literal(text=module))
            # the page is MyST Markdown, and autodoc writes reStructuredText
            body = StringList(["```{eval-rst}", f".. automodule:: {module}", "   :members:",
                               "   :undoc-members:", "```"], source=self.get_source_info()[0])
            self.state.nested_parse(body, self.content_offset, section)
            sections.append(section)
        return sections


def _introductions(app: Sphinx) -> dict[Path, list[str]]:
    """Each page's introduced library objects, read from the library once per reading of
    the pages (:func:`_forget_introductions` empties it before each)."""
    if getattr(app, "_introductions", None) is None:
        from booktools.checks import LIBRARY_SOURCE, introduced_objects, page_labels

        root = Path(app.srcdir)
        pages = {label: path.resolve() for label, path in page_labels(root).items()}
        found: dict[Path, list[str]] = {}
        for name, label in introduced_objects(root / LIBRARY_SOURCE):
            if label in pages:
                found.setdefault(pages[label], []).append(name)
        app._introductions = {page: sorted(names) for page, names in found.items()}
    return app._introductions


def _forget_introductions(app: Sphinx, env, docnames: list[str]) -> None:
    # a long-lived application (sphinx-autobuild) rereads the docstrings at every build
    app._introductions = None


class IntroducedHere(SphinxDirective):
    """``{introduced-here}``: the library objects this page introduces, as a list of names,
    each of which :func:`link_literals_to_source` links to its source."""

    def run(self) -> list[nodes.Node]:
        from booktools.checks import LIBRARY_SOURCE

        page = Path(self.env.doc2path(self.env.docname)).resolve()
        names = _introductions(self.env.app).get(page, [])
        if not names:
            raise self.error("no library object's docstring says this page introduces it")
        for file in (Path(self.env.srcdir) / LIBRARY_SOURCE).rglob("*.py"):
            self.env.note_dependency(str(file))  # a docstring that changes changes the list
        listing = nodes.bullet_list(classes=["introduced-here"])
        for name in names:
            paragraph = nodes.paragraph()
            paragraph += nodes.literal(text=name)
            listing += nodes.list_item("", paragraph)
        return [listing]


def _definition(module: str, inside: str) -> tuple[str, str] | None:
    """The module that defines the object ``module.inside`` and its name there: a package
    re-exports functions of its modules (``emergence.setup`` is ``emergence.runtime.setup``)."""
    try:
        found = importlib.import_module(module)
        for attribute in inside.split("."):
            found = getattr(found, attribute)
    except (ImportError, AttributeError):
        return None
    where, qualified = getattr(found, "__module__", None), getattr(found, "__qualname__", None)
    return (where, qualified) if where and qualified else None


def source_target(documented: dict, name: str) -> tuple[str, str] | None:
    """Where the source of the object called ``name`` is shown: ``(module, anchor)``.

    ``documented`` is viewcode's record of the modules it shows (module name -> ``(code,
    tags, used, refname)``, or ``False``); ``used`` holds the objects given an anchor. A
    module's own name gives an empty anchor; a name a package re-exports gives the anchor
    in the module that defines it. ``None`` when nothing documented has that name.
    """
    parts = name.split(".")
    if any(part.startswith("_") for part in parts):
        return None  # private, or a script (__main__) that importing would run
    for split in range(len(parts), 0, -1):
        module, inside = ".".join(parts[:split]), ".".join(parts[split:])
        if not inside:
            if documented.get(module):
                return module, ""
            continue
        for candidate in ((module, inside), _definition(module, inside)):
            if candidate and documented.get(candidate[0]) and \
                    candidate[1] in documented[candidate[0]][2]:
                return candidate
    return None


def link_literals_to_source(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Wrap each inline literal that names a documented object of the package in a link to
    its source on the viewcode page."""
    documented = getattr(app.env, "_viewcode_modules", {})
    prefix = f"{app.config.source_link_package}."
    if not documented or app.builder.format != "html":
        return
    for literal in list(doctree.findall(nodes.literal)):
        if isinstance(literal.parent, (nodes.reference, nodes.title)):
            continue
        match = _DOTTED_NAME.fullmatch(literal.astext().strip())
        if not match or not match[1].startswith(prefix):
            continue
        target = source_target(documented, match[1])
        if target is None:
            continue
        module, anchor = target
        page = posixpath.join(SOURCE_FOLDER, module.replace(".", "/"))
        uri = app.builder.get_relative_uri(docname, page) + (f"#{anchor}" if anchor else "")
        link = nodes.reference("", "", internal=True, refuri=uri,
                               reftitle=f"source of {match[1]}", classes=["source-link"])
        literal.replace_self(link)
        link += literal


def _defining_module(app: Sphinx, module: str, attribute: str) -> str:
    """viewcode's question: in which module's source is ``module.attribute`` defined?

    Only the package's own modules: viewcode's default answer for a constant
    (``IGNORE = -100``) is the module of its type, ``builtins``, which it then lists on its
    index of sources without a page to link to.
    """
    found = _definition(module, attribute)
    if found and found[0].split(".")[0] == app.config.source_link_package:
        return found[0]
    return module


def _ignore_outside_references(app: Sphinx, config) -> None:
    # the signatures name numpy's, torch's and the standard library's types, which this
    # offline book does not document: a nitpicky build checks references to the package only
    config.nitpick_ignore_regex = [*config.nitpick_ignore_regex,
                                   ("py:.*", rf"(?!{re.escape(config.source_link_package)}\.).*")]


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.viewcode")
    app.add_config_value("source_link_package", "emergence", "env")
    app.add_directive("package-reference", PackageReference)
    app.add_directive("introduced-here", IntroducedHere)
    app.connect("config-inited", _ignore_outside_references)
    app.connect("env-before-read-docs", _forget_introductions)
    app.connect("viewcode-follow-imported", _defining_module)
    app.connect("doctree-resolved", link_literals_to_source)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
