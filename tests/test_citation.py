"""CITATION.cff is valid CFF 1.2.0 (checked against the official schema), and the BibTeX
entries generated from it are standard BibTeX that real parsers read."""

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from pybtex.database import parse_string

import emergence
from booktools.citation import (BookMetadata, access_date, bibtex_escape, book_bibtex,
                                build_release, page_bibtex, read_metadata)

ROOT = Path(__file__).resolve().parents[1]
CFF = ROOT / "CITATION.cff"
#: the official CFF 1.2.0 schema, vendored (see tests/data/README.md)
SCHEMA = json.loads((ROOT / "tests" / "data" / "cff-1.2.0.schema.json").read_text())


def _as_json(node: object) -> object:
    """YAML with its dates as strings, as the schema expects of a CFF file."""
    if isinstance(node, dict):
        return {key: _as_json(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_as_json(value) for value in node]
    return node.isoformat() if isinstance(node, dt.date) else node


def cff_errors(cff: object) -> list[str]:
    """Every violation of the CFF 1.2.0 schema (with formats such as dates checked)."""
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    return sorted(f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
                  for error in validator.iter_errors(_as_json(cff)))


def _cff() -> dict:
    return yaml.safe_load(CFF.read_text(encoding="utf-8"))


def test_the_vendored_schema_is_the_official_one():
    assert SCHEMA["$id"] == "https://citation-file-format.github.io/1.2.0/schema.json"
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_citation_file_validates_against_the_schema():
    assert cff_errors(_cff()) == []


def test_the_schema_catches_broken_files():
    broken = _cff()
    broken["cff-version"] = "1.1.0"
    broken["authors"] = []
    broken["date-released"] = "2026-23-11"
    broken["license"] = "CC BY 4.0"  # not an SPDX identifier
    del broken["message"]
    errors = cff_errors(broken)
    for where in ("cff-version", "authors", "date-released", "license", "(root)"):
        assert any(error.startswith(where + ":") for error in errors), (where, errors)


def test_citation_file_says_what_is_licensed_how():
    cff = _cff()
    # a list of licences would mean "either", so the repository (the code) has one licence,
    # and the book, the preferred citation, has the text's
    assert cff["license"] == "MIT"
    assert cff["preferred-citation"]["type"] == "book"
    assert cff["preferred-citation"]["license"] == "CC-BY-4.0"
    assert "CC-BY-4.0" in cff["message"] and "MIT" in cff["message"]


def test_site_version_comes_from_the_citation_file():
    assert read_metadata(CFF).version == emergence.__version__
    assert str(_cff()["preferred-citation"]["version"]) == emergence.__version__


def test_zenodo_metadata_agrees_with_the_citation_file():
    zenodo = json.loads((ROOT / ".zenodo.json").read_text(encoding="utf-8"))
    cff = _cff()
    assert zenodo["title"] == cff["title"]
    assert zenodo["license"] == "cc-by-4.0"
    assert zenodo["upload_type"] == "publication" and zenodo["publication_type"] == "book"
    assert [creator["name"] for creator in zenodo["creators"]] == \
        [author["name"] for author in cff["authors"]]
    assert any(item["identifier"] == cff["repository-code"]
               for item in zenodo["related_identifiers"])


META = BookMetadata(title="A Book & more", authors=("{The Crew}", "Doe, Jane"),
                    version="1.2.3", released=dt.date(2030, 1, 2),
                    url="https://example.org/a-book/")
ACCESSED = dt.date(2030, 2, 3)


def _page_entry() -> str:
    return page_bibtex(META, "chapters/power-laws", "Power laws: 50% of #tokens",
                       "power-laws", "power-laws", ACCESSED)


def test_page_entry_parses_as_bibtex():
    database = parse_string(_page_entry(), "bibtex")
    entry = database.entries["a-book:power-laws"]
    assert entry.type == "misc"
    assert [str(person) for person in entry.persons["author"]] == ["{The Crew}", "Doe, Jane"]
    assert dict(entry.fields) == {
        "title": r"Power laws: 50\% of \#tokens",
        "howpublished": r"In \emph{A Book \& more}",
        "year": "2030",
        "url": "https://example.org/a-book/chapters/power-laws.html#power-laws",
        "note": "Version 1.2.3, accessed 2030-02-03"}


def test_book_entry_parses_as_bibtex():
    entry = parse_string(book_bibtex(META), "bibtex").entries["a-book"]
    assert entry.type == "book"
    assert entry.fields["edition"] == "Version 1.2.3" and entry.fields["year"] == "2030"


def _run(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(shutil.which("bibtex") is None, reason="Debian's bibtex is not installed")
def test_bibtex_prints_version_and_access_date(tmp_path):
    """A second opinion: BibTeX itself, with its standard style plain.bst, formats the entry."""
    (tmp_path / "refs.bib").write_text(_page_entry())
    (tmp_path / "doc.aux").write_text("\\citation{a-book:power-laws}\n\\bibstyle{plain}\n"
                                      "\\bibdata{refs}\n")
    result = _run("bibtex", "doc", cwd=tmp_path)
    assert result.returncode == 0 and "Warning" not in result.stdout, result.stdout
    bbl = " ".join((tmp_path / "doc.bbl").read_text().split())
    assert "Version 1.2.3, accessed 2030-02-03" in bbl and "Power laws" in bbl


def _biber_complaints(bib: str, folder: Path) -> list[str]:
    (folder / "refs.bib").write_text(bib)
    result = _run("biber", "--tool", "--validate-datamodel", "refs.bib", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in (result.stdout + result.stderr).splitlines()
            if line.startswith(("WARN", "ERROR"))]


@pytest.mark.skipif(shutil.which("biber") is None, reason="Debian's biber is not installed")
def test_biber_accepts_the_entries_in_biblatex_data_model(tmp_path):
    """A second opinion: biber checks every field against biblatex's data model."""
    assert _biber_complaints(_page_entry() + "\n\n" + book_bibtex(META), tmp_path) == []
    # and it would complain: a field that @misc does not have
    wrong = _page_entry().replace("  howpublished", "  booktitle   ")
    assert any("Invalid field 'booktitle'" in line for line in _biber_complaints(wrong, tmp_path))


def test_a_page_without_label_cannot_be_cited():
    with pytest.raises(ValueError, match="top label"):
        page_bibtex(META, "chapters/x", "X", "", "x", ACCESSED)


def test_the_access_date_follows_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1900000000")
    assert access_date() == dt.date(2030, 3, 17)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH"):
        access_date()
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert access_date() == dt.datetime.now(dt.UTC).date()


def test_metadata_with_a_nameless_author_is_rejected(tmp_path):
    cff = _cff()
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


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   cwd=repo, check=True, capture_output=True)


def test_the_footer_names_the_release_or_the_commit_after_it(tmp_path):
    released = "Version 1.2.3, released 2030-01-02."
    assert build_release(tmp_path, META) == released  # no git history: a release archive
    _git(tmp_path, "init", "--quiet")
    (tmp_path / "page.md").write_text("one\n")
    _git(tmp_path, "add", "page.md")
    _git(tmp_path, "commit", "--quiet", "-m", "one")
    _git(tmp_path, "tag", "v1.2.3")
    assert build_release(tmp_path, META) == released
    (tmp_path / "page.md").write_text("two\n")
    assert re.fullmatch(r"Version 1\.2\.3, released 2030-01-02, plus later changes: built "
                        r"from commit [0-9a-f]{10} with uncommitted changes\.",
                        build_release(tmp_path, META))
    _git(tmp_path, "commit", "--quiet", "-am", "two")
    assert re.fullmatch(r"Version 1\.2\.3, released 2030-01-02, plus later changes: built "
                        r"from commit [0-9a-f]{10}\.", build_release(tmp_path, META))
