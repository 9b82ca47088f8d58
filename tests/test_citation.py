"""CITATION.cff is valid CFF 1.2.0, and the citation blocks generated from it are complete."""

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

import emergence
from booktools.citation import (BookMetadata, bibtex_escape, book_bibtex, page_bibtex,
                                read_metadata)

ROOT = Path(__file__).resolve().parents[1]
CFF = ROOT / "CITATION.cff"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_URL = re.compile(r"^https://\S+$")


def _author_problems(where: str, authors: object) -> list[str]:
    if not isinstance(authors, list) or not authors:
        return [f"{where}: authors must be a non-empty list"]
    problems = []
    for number, author in enumerate(authors):
        if not isinstance(author, dict):
            problems.append(f"{where}: author {number} is not a mapping")
        elif not any(isinstance(author.get(key), str) and author[key].strip()
                     for key in ("name", "family-names", "given-names")):
            problems.append(f"{where}: author {number} has no name, family-names or given-names")
    return problems


def cff_problems(cff: object, raw_text: str) -> list[str]:
    """What keeps ``cff`` (and its source ``raw_text``) from being a usable CFF 1.2.0 file.

    Required by the CFF 1.2.0 schema: cff-version, message, title, authors. Required here
    because the book's citations use them: version, date-released, license, repository-code
    and url.
    """
    if not isinstance(cff, dict):
        return ["not a YAML mapping"]
    problems = []
    if cff.get("cff-version") != "1.2.0":
        problems.append("cff-version must be the string '1.2.0'")
    for key in ("message", "title"):
        if not isinstance(cff.get(key), str) or not cff[key].strip():
            problems.append(f"{key} must be a non-empty string")
    problems += _author_problems("authors", cff.get("authors"))
    if not isinstance(cff.get("version"), (str, int, float)) or cff["version"] in ("", None):
        problems.append("version must be a string or a number")
    released = re.search(r"^date-released:\s*[\"']?([^\"'\s]+)", raw_text, re.MULTILINE)
    if released is None or not _DATE.match(released[1]):
        problems.append("date-released must be a date written YYYY-MM-DD")
    else:
        try:
            dt.date.fromisoformat(released[1])
        except ValueError:
            problems.append(f"date-released {released[1]} is not a calendar date")
    licence = cff.get("license")
    if not (isinstance(licence, str) and licence.strip()) and not (
            isinstance(licence, list) and licence and all(isinstance(x, str) for x in licence)):
        problems.append("license must be an SPDX identifier or a list of them")
    for key in ("repository-code", "url"):
        if not isinstance(cff.get(key), str) or not _URL.match(cff[key]):
            problems.append(f"{key} must be an https URL")
    preferred = cff.get("preferred-citation")
    if preferred is not None:
        if not isinstance(preferred, dict):
            problems.append("preferred-citation must be a mapping")
        else:
            for key in ("type", "title"):
                if not isinstance(preferred.get(key), str):
                    problems.append(f"preferred-citation: {key} must be a string")
            problems += _author_problems("preferred-citation", preferred.get("authors"))
    return problems


def test_citation_file_is_valid_cff():
    text = CFF.read_text(encoding="utf-8")
    assert cff_problems(yaml.safe_load(text), text) == []


def test_the_cff_check_catches_broken_files():
    text = CFF.read_text(encoding="utf-8")
    broken = yaml.safe_load(text)
    broken["cff-version"] = "1.1.0"
    broken["authors"] = [{"affiliation": "nowhere"}]
    broken["url"] = "emergence-book.github.io"
    del broken["message"]
    problems = cff_problems(broken, text.replace("date-released: \"2026-11-23\"",
                                                 "date-released: 2026-23-11"))
    assert len(problems) == 5, problems
    assert cff_problems([], "") == ["not a YAML mapping"]


def test_site_version_comes_from_the_citation_file():
    assert read_metadata(CFF).version == emergence.__version__


META = BookMetadata(title="A Book", authors=("{The Crew}", "Doe, Jane"), version="1.2.3",
                    released=dt.date(2030, 1, 2), url="https://example.org/a-book/")


def test_page_entry_names_page_book_version_and_anchor():
    entry = page_bibtex(META, "chapters/power-laws", "Power laws", "power-laws", "power-laws")
    assert entry.startswith("@incollection{a-book:power-laws,")
    fields = dict(re.findall(r"^\s+(\w+)\s+= \{(.*)\},$", entry, re.MULTILINE))
    assert fields == {
        "title": "Power laws", "author": "{The Crew} and Doe, Jane", "booktitle": "A Book",
        "year": "2030", "version": "1.2.3",
        "url": "https://example.org/a-book/chapters/power-laws.html#power-laws"}


def test_book_entry_is_keyed_by_the_site():
    entry = book_bibtex(META)
    assert entry.startswith("@book{a-book,") and "version = {1.2.3}" in entry


def test_a_page_without_label_cannot_be_cited():
    with pytest.raises(ValueError, match="top label"):
        page_bibtex(META, "chapters/x", "X", "", "x")


def test_metadata_with_a_nameless_author_is_rejected(tmp_path):
    cff = yaml.safe_load(CFF.read_text(encoding="utf-8"))
    cff["authors"] = [{"given-names": "Jane"}]
    broken = tmp_path / "CITATION.cff"
    broken.write_text(yaml.safe_dump(cff))
    with pytest.raises(ValueError, match="family-names"):
        read_metadata(broken)
    del cff["url"]
    broken.write_text(yaml.safe_dump(cff))
    with pytest.raises(ValueError, match="missing url"):
        read_metadata(broken)


def test_titles_are_escaped_for_bibtex():
    assert bibtex_escape("Loss & accuracy: 50% of #tokens_x") == \
        r"Loss \& accuracy: 50\% of \#tokens\_x"
    assert bibtex_escape(r"already \& escaped") == r"already \& escaped"
    entry = page_bibtex(META, "chapters/a", "Scale & skill", "a", "a")
    assert r"title     = {Scale \& skill}," in entry
