"""Sphinx extension: a "Cite this page" block on every page, generated, never hand-written.

Each page's BibTeX entry is built from the page's own title and top label and from the
project metadata in ``CITATION.cff`` (authors, title, version, release date, site URL), so a
new chapter is citable the moment it builds, and a new release changes every entry at once.
The block is added to the rendered HTML only, which keeps it out of the search index: a
search for a word of the book's title should find the pages about it, not every page.

The entries are standard BibTeX that both BibTeX (classic ``.bst`` styles) and biber
(biblatex) read: a page is a ``@misc`` whose ``howpublished`` names the book and whose
``note`` gives the version and the access date, fields both know (``url`` is printed by
natbib and biblatex styles). The access date is the day the page was built
(``SOURCE_DATE_EPOCH`` when set, for a reproducible build): a reader who cites the page
later puts the day of reading there.

The extension also shows, in the footer of every page, the release the page was built from
(with the commit when the build is not exactly a tagged release, see :func:`build_release`),
sets ``html_baseurl`` to the site's address when ``_config.yml`` gives none, and provides the
directive ``book-citation``, which renders the entry for the whole book (used by the page
"How to cite").
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import subprocess
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
    """BibTeX entry (``@book``) for the whole book (introduced on the page "How to cite")."""
    return _bibtex("book", meta.key_prefix, [
        ("title", bibtex_escape(meta.title)),
        ("author", " and ".join(meta.authors)),
        ("year", str(meta.year)),
        ("edition", f"Version {meta.version}"),
        ("url", meta.url),
    ])


def page_url(meta: BookMetadata, docname: str, anchor: str) -> str:
    """Published address of a page's section ``anchor``."""
    return f"{meta.url}{docname}.html#{anchor}"


def access_date() -> dt.date:
    """The date a page's citation gives as accessed: the build's day, in UTC.

    ``SOURCE_DATE_EPOCH`` (seconds since 1970, the reproducible-builds convention) overrides
    it, so that two builds of one commit can write identical pages.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        if not epoch.strip().isdigit():
            raise ValueError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, not {epoch!r}")
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return dt.datetime.now(dt.UTC).date()


def page_bibtex(meta: BookMetadata, docname: str, title: str, label: str, anchor: str,
                accessed: dt.date) -> str:
    """BibTeX entry (``@misc``) for one page, keyed and linked by its top label.

    Every field is one that BibTeX's standard styles and biblatex both know; the version and
    the access date are in ``note``, which both print.
    """
    if not label or not title:
        raise ValueError(f"{docname}: a page citation needs the page's title and top label")
    return _bibtex("misc", f"{meta.key_prefix}:{label}", [
        ("author", " and ".join(meta.authors)),
        ("title", bibtex_escape(title)),
        ("howpublished", "In \\emph{" + bibtex_escape(meta.title) + "}"),
        ("year", str(meta.year)),
        ("url", page_url(meta, docname, anchor)),
        ("note", f"Version {meta.version}, accessed {accessed.isoformat()}"),
    ])


def _git(root: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def build_release(root: Path, meta: BookMetadata) -> str:
    """What the footer says the site was built from (introduced on the page "How to cite").

    A build of the commit tagged ``v<version>`` (or of a source archive without git history,
    such as a release's archive) is that release; any other commit is named with its short
    hash after the release it follows, so a page never claims a release it was not built from.
    """
    released = f"Version {meta.version}, released {meta.released.isoformat()}"
    if not (root / ".git").exists():
        return released + "."
    described = _git(root, "describe", "--tags", "--match", "v[0-9]*", "--dirty")
    if described == f"v{meta.version}":
        return released + "."
    # where git cannot answer, the page says so instead of claiming the release
    commit = _git(root, "rev-parse", "--short=10", "HEAD") or "unknown"
    dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    changes = " with uncommitted changes" if dirty else ""
    return f"{released}, plus later changes: built from commit {commit}{changes}."


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
    bibtex = page_bibtex(meta, pagename, title, label, anchor, access_date())
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
        release = build_release(Path(app.confdir), meta)
        options["extra_footer"] = f'<p class="book-version">{html.escape(release)}</p>'


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_citation_metadata", "", "html")
    app.connect("config-inited", _configure)
    app.connect("html-page-context", add_page_citation)
    app.add_directive("book-citation", BookCitation)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
