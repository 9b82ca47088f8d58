"""Sphinx extension: a "Cite this page" block on every page, generated, never hand-written.

Each page's BibTeX entry is built from the page's own title and top label and from the
project metadata in ``CITATION.cff`` (authors, title, version, release date, site URL), so a
new chapter is citable the moment it builds, and a new release changes every entry at once.
The block is added to the rendered HTML only, which keeps it out of the search index: a
search for a word of the book's title should find the pages about it, not every page.

The extension also shows the version in the footer of every page, sets ``html_baseurl`` to
the site's address when ``_config.yml`` gives none, and provides the directive
``book-citation``, which renders the entry for the whole book (used by the page "How to
cite").
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from docutils import nodes
from docutils.parsers.rst import Directive
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import BibTeXLexer
from sphinx.application import Sphinx
from sphinx.config import Config

CITATION_FILE = "CITATION.cff"

#: id of the citation block on every page, so that readers and tests can link to it
BLOCK_ID = "cite-this-page"


@dataclass(frozen=True)
class BookMetadata:
    """What a citation of the book or of one of its pages needs from ``CITATION.cff``."""

    title: str
    authors: tuple[str, ...]
    version: str
    released: dt.date
    url: str

    @property
    def year(self) -> int:
        return self.released.year

    @property
    def key_prefix(self) -> str:
        """Stem of every BibTeX key: the last part of the site's address, e.g. 'emergence-book'."""
        stem = self.url.rstrip("/").rsplit("/", 1)[-1]
        return re.sub(r"[^A-Za-z0-9-]+", "-", stem).strip("-") or "book"


def _author_name(author: dict[str, Any]) -> str:
    if author.get("name"):
        # an entity (a group of people): braces keep BibTeX from splitting it into names
        return "{" + str(author["name"]) + "}"
    family, given = author.get("family-names"), author.get("given-names")
    if not family:
        raise ValueError(f"{CITATION_FILE}: an author has neither 'name' nor 'family-names'")
    particle = author.get("name-particle")
    family = f"{particle} {family}" if particle else str(family)
    return f"{family}, {given}" if given else family


def read_metadata(citation_file: Path) -> BookMetadata:
    """Title, authors, version, year and site URL of the book, read from ``CITATION.cff``."""
    cff = yaml.safe_load(citation_file.read_text(encoding="utf-8")) or {}
    missing = [key for key in ("title", "authors", "version", "date-released", "url")
               if not cff.get(key)]
    if missing:
        raise ValueError(f"{citation_file}: missing {', '.join(missing)}")
    released = cff["date-released"]
    if isinstance(released, str):
        released = dt.date.fromisoformat(released)
    if not isinstance(released, dt.date):
        raise ValueError(f"{citation_file}: date-released must be a YYYY-MM-DD date")
    url = str(cff["url"])
    return BookMetadata(
        title=str(cff["title"]),
        authors=tuple(_author_name(author) for author in cff["authors"]),
        version=str(cff["version"]),
        released=released,
        url=url if url.endswith("/") else url + "/",
    )


_BIBTEX_SPECIAL = re.compile(r"(?<!\\)([&%#_])")


def bibtex_escape(text: str) -> str:
    """``text`` with the characters that BibTeX and LaTeX treat as commands escaped."""
    return _BIBTEX_SPECIAL.sub(r"\\\1", text)


def _bibtex(kind: str, key: str, fields: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in fields)
    lines = [f"  {name.ljust(width)} = {{{value}}}," for name, value in fields]
    return "@" + kind + "{" + key + ",\n" + "\n".join(lines) + "\n}"


def book_bibtex(meta: BookMetadata) -> str:
    """BibTeX entry (``@book``) for the whole book."""
    return _bibtex("book", meta.key_prefix, [
        ("title", bibtex_escape(meta.title)),
        ("author", " and ".join(meta.authors)),
        ("year", str(meta.year)),
        ("version", meta.version),
        ("url", meta.url),
    ])


def page_url(meta: BookMetadata, docname: str, anchor: str) -> str:
    """Published address of a page's section ``anchor``."""
    return f"{meta.url}{docname}.html#{anchor}"


def page_bibtex(meta: BookMetadata, docname: str, title: str, label: str, anchor: str) -> str:
    """BibTeX entry (``@incollection``) for one page, keyed and linked by its top label."""
    if not label or not title:
        raise ValueError(f"{docname}: a page citation needs the page's title and top label")
    return _bibtex("incollection", f"{meta.key_prefix}:{label}", [
        ("title", bibtex_escape(title)),
        ("author", " and ".join(meta.authors)),
        ("booktitle", bibtex_escape(meta.title)),
        ("year", str(meta.year)),
        ("version", meta.version),
        ("url", page_url(meta, docname, anchor)),
    ])


def _plain_authors(meta: BookMetadata) -> str:
    return ", ".join(author.strip("{}") for author in meta.authors)


def _highlighted(bibtex: str) -> str:
    code = highlight(bibtex, BibTeXLexer(), HtmlFormatter(nowrap=True))
    return ('<div class="highlight-bibtex notranslate"><div class="highlight"><pre>'
            f"{code}</pre></div></div>")


def _top_label(app: Sphinx, docname: str, doctree: nodes.document) -> tuple[str, str] | None:
    """The label written above the page's ``#`` title, and the HTML id it points to."""
    section = doctree.next_node(nodes.section)
    if section is None:
        return None
    labels = app.env.get_domain("std").labels
    for name, (label_doc, label_id, _) in sorted(labels.items()):
        if label_doc == docname and label_id in section["ids"]:
            return name, label_id
    return None


def _metadata(app: Sphinx) -> BookMetadata:
    return read_metadata(Path(app.confdir) / CITATION_FILE)


def add_page_citation(app: Sphinx, pagename: str, templatename: str,
                      context: dict[str, Any], doctree: nodes.document | None) -> None:
    """Append the citation block to the body of every page that has a top label."""
    if doctree is None or "body" not in context or pagename == app.config.root_doc:
        return
    top = _top_label(app, pagename, doctree)
    if top is None:
        return
    label, anchor = top
    meta = _metadata(app)
    title = app.env.titles[pagename].astext()
    bibtex = page_bibtex(meta, pagename, title, label, anchor)
    url = page_url(meta, pagename, anchor)
    context["body"] += (
        f'<div class="admonition page-citation" id="{BLOCK_ID}">'
        '<p class="admonition-title">Cite this page</p>'
        f"<p>{html.escape(_plain_authors(meta))} ({meta.year}). "
        f"“{html.escape(title)}”. In <em>{html.escape(meta.title)}</em>, "
        f'version {html.escape(meta.version)}. <a href="{html.escape(url)}">'
        f"{html.escape(url)}</a></p>"
        f"{_highlighted(bibtex)}</div>"
    )


class BookCitation(Directive):
    """``book-citation``: the BibTeX entry for the whole book, from ``CITATION.cff``."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        env.note_dependency(str(Path(env.app.confdir) / CITATION_FILE))
        bibtex = book_bibtex(_metadata(env.app))
        block = nodes.literal_block(bibtex, bibtex, language="bibtex")
        block["classes"].append("book-citation")
        return [block]


def _configure(app: Sphinx, config: Config) -> None:
    meta = _metadata(app)
    # a change of the metadata rewrites every page, even in an incremental build
    config.book_citation_metadata = repr(meta)
    if not config.html_baseurl:
        config.html_baseurl = meta.url
    options = config.html_theme_options
    if not options.get("extra_footer"):
        options["extra_footer"] = (f'<p class="book-version">Version {meta.version}, '
                                   f"released {meta.released.isoformat()}.</p>")


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_citation_metadata", "", "html")
    app.connect("config-inited", _configure)
    app.connect("html-page-context", add_page_citation)
    app.add_directive("book-citation", BookCitation)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
