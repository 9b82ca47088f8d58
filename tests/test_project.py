"""Project metadata agrees with itself, and the chapter template is a working chapter."""

import tomllib
from pathlib import Path

import yaml

import emergence
from booktools.execution import CELL_TIMEOUT_SECONDS, execute_chapter, read_chapter

ROOT = Path(__file__).resolve().parents[1]


def test_one_version_for_package_and_citation():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert project["version"] == emergence.__version__ == str(citation["version"])


def test_citation_file_has_the_required_fields():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    for field in ("cff-version", "message", "title", "authors", "version", "license"):
        assert citation.get(field), f"CITATION.cff lacks {field}"


def test_licence_names_code_and_text_licences():
    text = (ROOT / "LICENSE").read_text()
    assert "MIT License" in text and "CC BY 4.0" in text


def test_build_and_tests_give_cells_the_same_timeout():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["timeout"] == CELL_TIMEOUT_SECONDS
    assert f"--nbval-cell-timeout={CELL_TIMEOUT_SECONDS}" in (ROOT / "pytest.ini").read_text()


def test_torch_is_pinned_exactly():
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.startswith("torch")]
    assert pins == ["torch==2.13.0"]


def test_the_chapter_template_executes():
    template = ROOT / "chapters" / "_template.md"
    notebook = read_chapter(template)
    result = execute_chapter(notebook, template.parent)
    assert result.err is None, result.exc_string
