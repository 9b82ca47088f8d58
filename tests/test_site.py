"""The built site as a reader meets it: links resolve, and every chapter can be cited,
downloaded and launched.

Runs on the HTML that the session's book build produced (see tests/conftest.py).
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup
from pybtex.database import parse_string

import emergence
from booktools.checks import toc_files
from booktools.citation import bibtex_escape, read_metadata
from booktools.downloads import executed_notebook
from booktools.execution import notebook_chapters
from booktools.mathjax import ENTRY_POINT, STATIC_FOLDER

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
TOC = sorted(toc_files(ROOT / "_toc.yml"))
ROOT_PAGE = yaml.safe_load((ROOT / "_toc.yml").read_text())["root"]
EXECUTABLE = [p.relative_to(ROOT).with_suffix("").as_posix() for p in notebook_chapters(ROOT)]
_LINKING = {"a": "href", "link": "href", "img": "src", "script": "src"}


@cache
def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@cache
def _ids(path: Path) -> frozenset[str]:
    soup = _soup(path)
    return frozenset([tag["id"] for tag in soup.find_all(id=True)]
                     + [tag["name"] for tag in soup.find_all("a", attrs={"name": True})])


def broken_links(html_root: Path) -> list[str]:
    """Every internal link or anchor in the site at ``html_root`` that leads nowhere.

    External links (with a scheme or a host) are not followed.
    """
    problems = []
    for page in sorted(html_root.rglob("*.html")):
        if "_static" in page.relative_to(html_root).parts:
            continue
        where = page.relative_to(html_root).as_posix()
        for tag_name, attribute in _LINKING.items():
            for tag in _soup(page).find_all(tag_name, attrs={attribute: True}):
                link = urlsplit(tag[attribute])
                if link.scheme or link.netloc:
                    continue
                target = (page.parent / unquote(link.path)).resolve() if link.path else page
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    problems.append(f"{where}: {tag[attribute]} (no such file)")
                elif (tag_name == "a" and link.fragment and target.suffix == ".html"
                      and unquote(link.fragment) not in _ids(target)):
                    problems.append(f"{where}: {tag[attribute]} (no such anchor)")
    return problems


def test_every_internal_link_and_anchor_resolves(site):
    problems = broken_links(site)
    assert problems == [], "\n".join(problems[:50])


def test_the_link_check_finds_missing_files_and_anchors(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="sub/page.html#here">ok</a><a href="sub/page.html#gone">bad anchor</a>'
        '<a href="missing.html">bad file</a><a href="https://example.org/x.html#y">ext</a>'
        '<img src="sub/figure.png"><a href="#top">self</a>')
    (tmp_path / "sub" / "page.html").write_text('<section id="here"></section>')
    assert broken_links(tmp_path) == [
        "index.html: sub/page.html#gone (no such anchor)",
        "index.html: missing.html (no such file)",
        "index.html: #top (no such anchor)",
        "index.html: sub/figure.png (no such file)",
    ]


def _page(site: Path, entry: str) -> BeautifulSoup:
    return _soup(site / f"{entry}.html")


@pytest.mark.parametrize("entry", [e for e in TOC if e != ROOT_PAGE])
def test_every_page_carries_its_generated_citation(site, entry):
    meta = read_metadata(ROOT / "CITATION.cff")
    block = _page(site, entry).find(id="cite-this-page")
    assert block is not None, f"{entry} has no citation block"
    bibtex = block.select_one("div.highlight-bibtex").get_text()
    # the key and the anchor are the label written above the page's title
    source = (ROOT / entry).with_suffix(".md").read_text(encoding="utf-8")
    label = re.search(r"^\(([^)]+)\)=\n#\s", source, re.MULTILINE)[1]
    (key, record), = parse_string(bibtex, "bibtex").entries.items()
    assert key == f"{meta.key_prefix}:{label}" and record.type == "misc"
    assert record.fields["note"].startswith(f"Version {emergence.__version__}, accessed ")
    assert record.fields["howpublished"] == r"In \emph{" + bibtex_escape(meta.title) + "}"
    assert record.fields["url"] == f"{meta.url}{entry}.html#{label}"
    if not _heading(site, entry).select(".math"):  # a formula reads differently in BibTeX
        assert record.fields["title"] == bibtex_escape(page_title(_heading(site, entry)))


def _heading(site: Path, entry: str):
    """The page's ``#`` title as the article shows it (the print-only copy has no number)."""
    return _page(site, entry).select_one("article h1")


def page_title(heading) -> str:
    """A page's title without its chapter number ("9. ") and its anchor link ("#"): the
    title a citation gives, which stays when chapters are renumbered."""
    heading = copy.copy(heading)
    for tag in heading.select(".section-number, .headerlink"):
        tag.decompose()
    return heading.get_text().strip()


def chapter_number(heading) -> str | None:
    """The number a numbered part of the table of contents gives a chapter ("9"), or None."""
    number = heading.select_one(".section-number")
    return number.get_text().strip().rstrip(".") if number else None


def test_page_title_drops_the_number_and_the_anchor():
    heading = BeautifulSoup('<h1><span class="section-number">9. </span>The mirage'
                            '<a class="headerlink" href="#x">#</a></h1>', "html.parser").h1
    assert page_title(heading) == "The mirage" and chapter_number(heading) == "9"
    assert chapter_number(BeautifulSoup("<h1>Glossary</h1>", "html.parser").h1) is None


def _numbered_parts() -> tuple[list[str], list[str]]:
    """Chapters of the numbered parts of the toc, in order, and pages of the other parts."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    numbered, other = [], []
    for part in toc["parts"]:
        entries = [chapter["file"] for chapter in part["chapters"]]
        (numbered if part.get("numbered") else other).extend(entries)
    return numbered, other


def test_chapters_are_numbered_and_number_their_exercises_from_one(site):
    numbered, other = _numbered_parts()
    assert numbered, "no part of the toc is numbered: exercises would be numbered book-wide"
    exercises = 0
    for position, entry in enumerate(numbered, start=1):
        heading = _heading(site, entry)
        assert chapter_number(heading) == str(position), (entry, heading.get_text())
        titles = [t.get_text(" ", strip=True).split(" (")[0]
                  for t in _page(site, entry).select("div.exercise p.admonition-title")]
        assert titles == [f"Exercise {position}.{n}" for n in range(1, len(titles) + 1)], entry
        exercises += len(titles)
    for entry in other:
        assert chapter_number(_heading(site, entry)) is None, entry
        titles = [t.get_text(" ", strip=True).split(" (")[0]
                  for t in _page(site, entry).select("div.exercise p.admonition-title")]
        assert titles == [f"Exercise {n}" for n in range(1, len(titles) + 1)], entry
    assert exercises > 0, "no exercise found: the check checked nothing"


#: a page and a library function its prose names as inline code
SOURCE_LINK_PAGE, SOURCE_LINK_NAME = "chapters/library-reference", "emergence.lm.load_lm"


def test_a_library_function_named_in_prose_links_to_its_source(site):
    page = site / f"{SOURCE_LINK_PAGE}.html"
    links = [code.parent for code in _soup(page).select("article p a > code")
             if code.get_text() == SOURCE_LINK_NAME]
    assert links, f"{SOURCE_LINK_NAME} is not a link on {SOURCE_LINK_PAGE}"
    target = urlsplit(links[0]["href"])
    source = (page.parent / target.path).resolve()
    assert "_modules" in source.parts, f"{SOURCE_LINK_NAME} links to {target.geturl()}"
    block = _soup(source).find(id=target.fragment)
    name = SOURCE_LINK_NAME.rsplit(".", 1)[1]
    assert block is not None and f"def {name}(" in block.get_text(), (source, target.fragment)


def test_every_source_link_leads_to_an_object_of_the_package(site):
    """Each link the build made from an inline literal goes to the viewcode page of the
    module it names, at the named object, and the literal names the package."""
    links = [(page, a) for page in sorted((site / "chapters").glob("*.html"))
             for a in _soup(page).select("a.source-link")]
    assert len(links) > 1, "no literal of the book links to its source"
    for page, link in links:
        name = link.get_text().removesuffix("()")
        target = urlsplit(link["href"])
        assert name.startswith("emergence.") and "/_modules/emergence/" in \
            (page.parent / target.path).resolve().as_posix(), (page.name, name, link["href"])
        # re-exported names link to the defining module: emergence.setup -> runtime.html#setup
        assert name.endswith(target.fragment or ""), (page.name, name, link["href"])


def test_every_page_shows_the_version(site):
    for entry in TOC:
        footer = _page(site, entry).select_one(".book-version")
        assert footer is not None and f"Version {emergence.__version__}" in footer.get_text(), \
            entry


@pytest.mark.parametrize("entry", EXECUTABLE)
def test_every_executable_chapter_can_be_launched_and_downloaded(site, entry):
    soup = _page(site, entry)
    binder = [a["href"] for a in soup.find_all("a", href=True) if "mybinder.org" in a["href"]]
    assert binder and binder[0].endswith(f"urlpath=lab/tree/{entry}.md"), binder
    downloads = {a["href"] for a in soup.select("a.dropdown-item[href]")}
    for suffix in (".ipynb", ".md"):
        # pages live in chapters/, one level below _sources/
        assert f"../_sources/{entry}{suffix}" in downloads, f"{entry}: no {suffix} download"
    notebook = nbformat.read(site / "_sources" / f"{entry}.ipynb", as_version=4)
    shown = len(soup.select(".cell_output"))
    carried = sum(1 for cell in notebook.cells if cell.get("outputs"))
    assert carried >= shown > 0, f"{entry}: the page shows {shown} outputs, its .ipynb {carried}"


def test_a_chapter_without_cached_outputs_has_no_executed_notebook(tmp_path):
    chapter = notebook_chapters(ROOT)[0]
    assert executed_notebook(chapter, tmp_path / "empty-cache") is None


def test_site_has_search_theme_switch_and_repository_buttons(site):
    soup = _page(site, TOC[0])
    assert (site / "search.html").is_file() and (site / "searchindex.js").is_file()
    assert soup.select(".theme-switch-button"), "no light/dark switch"
    hrefs = [a["href"] for a in soup.find_all("a", href=True)]
    for kind in ("/issues/new", "/edit/main/", "github.com/emergence-book/emergence-book"):
        assert any(kind in href for href in hrefs), f"no {kind} button"


#: ``<link rel=...>`` kinds that make the browser fetch the linked file
_FETCHED_LINKS = {"stylesheet", "preload", "modulepreload", "icon", "manifest"}


def _loaded_from_elsewhere(soup: BeautifulSoup) -> list[str]:
    """Scripts, stylesheets and other files the page loads from another host."""
    addresses = [tag["src"] for tag in soup.find_all("script", src=True)]
    addresses += [tag["href"] for tag in soup.find_all("link", href=True)
                  if _FETCHED_LINKS.intersection(tag.get("rel", []))]
    return [address for address in addresses
            if urlsplit(address).scheme or urlsplit(address).netloc]


def test_every_page_loads_its_files_from_the_site_and_math_pages_load_mathjax(site):
    mathjax = site / "_static" / STATIC_FOLDER / ENTRY_POINT
    assert mathjax.is_file() and (mathjax.parent / "LICENSE").is_file(), "MathJax not served"
    problems, math_pages = [], 0
    for page in sorted(site.rglob("*.html")):
        if "_static" in page.relative_to(site).parts:
            continue
        where, soup = page.relative_to(site).as_posix(), _soup(page)
        problems += [f"{where}: loads {address}" for address in _loaded_from_elsewhere(soup)]
        if not soup.select("span.math, div.math"):
            continue
        math_pages += 1
        scripts = {(page.parent / urlsplit(tag["src"]).path).resolve()
                   for tag in soup.find_all("script", src=True)}
        if mathjax.resolve() not in scripts:
            problems.append(f"{where}: has math but does not load {ENTRY_POINT}")
    assert math_pages > 0, "no page has math: nothing was checked"
    assert problems == [], "\n".join(problems)


def test_mathjax_survives_the_script_deduplication(tmp_path):
    """A page with math loads the site's MathJax once, and a twice-registered inline script
    once: booktools.scripts thins the page's script list where sphinx.ext.mathjax adds to it
    (replacing the list once dropped MathJax from every page)."""
    source, html = tmp_path / "source", tmp_path / "html"
    source.mkdir()
    (source / "conf.py").write_text(
        "extensions = ['booktools.scripts', 'booktools.mathjax']\n"
        "def _inline_script(app):\n"
        "    # as sphinx-thebe does: registered once, written twice by Sphinx 7.4\n"
        "    app.add_js_file(None, body='const declaredOnce = 1;')\n"
        "def setup(app):\n"
        "    app.connect('builder-inited', _inline_script)\n")
    (source / "index.rst").write_text(
        "Page\n====\n\nInline :math:`N^{-\\alpha}`.\n\n.. math:: L(N) = (N_c/N)^{\\alpha}\n")
    build = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "-q", "-E",
                            str(source), str(html)], capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    soup = BeautifulSoup((html / "index.html").read_text(encoding="utf-8"), "html.parser")
    sources = [urlsplit(tag["src"]).path for tag in soup.find_all("script", src=True)]
    assert sources.count(f"_static/{STATIC_FOLDER}/{ENTRY_POINT}") == 1, sources
    assert (html / "_static" / STATIC_FOLDER / ENTRY_POINT).is_file()
    inline = [tag.string for tag in soup.find_all("script", src=False)]
    assert inline.count("const declaredOnce = 1;") == 1, inline
    assert _loaded_from_elsewhere(soup) == []


def unparsed_dollars(soup: BeautifulSoup) -> list[str]:
    """Prose around each ``$`` left in a page's text: dollar math that MyST did not parse
    (such as ``$$...$$`` inside a paragraph), which the reader sees raw. Code, outputs and
    parsed math are skipped."""
    main = copy.copy(soup.find("main") or soup)
    # code, and the signatures of the library reference (code too: VOCAB = '...$')
    for tag in main.select("pre, code, script, style, .math, .highlight, .cell_output, .sig"):
        tag.decompose()
    text = " ".join(main.get_text(" ").split())
    return [text[max(0, i - 40):i + 40] for i, char in enumerate(text) if char == "$"]


def test_unparsed_dollars_finds_dollar_math_left_in_the_text():
    soup = BeautifulSoup(
        '<main><p>Fit the loss, $ <span class="math">\\(x\\)</span> with a = 0.46$.</p>'
        '<pre>label="$N$"</pre><div class="cell_output">$5</div></main>', "html.parser")
    assert unparsed_dollars(soup) == ["Fit the loss, $ with a = 0.46$.",
                                      "Fit the loss, $ with a = 0.46$."]
    assert soup.select(".math"), "the page itself is left as it was"


def test_no_page_shows_dollar_math_raw(site):
    problems = [f"{page.relative_to(site).as_posix()}: ...{context}..."
                for page in sorted(site.rglob("*.html"))
                if "_static" not in page.relative_to(site).parts
                for context in unparsed_dollars(_soup(page))]
    assert problems == [], "\n".join(problems)
