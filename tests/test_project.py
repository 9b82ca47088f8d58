"""Project metadata agrees with itself, and the chapter template is a working chapter."""

import json
import platform
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
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


CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


def _install_commands(*make_args: str) -> list[str]:
    """The install step's pip commands, as `make` would run them for a fresh .venv."""
    result = subprocess.run(["make", "--dry-run", "--always-make", *make_args, ".venv/.installed"],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in result.stdout.replace("\\\n", " ").splitlines()
            if "pip install" in line]


@pytest.mark.skipif(platform.system() != "Linux", reason="the CPU index is the default on Linux")
def test_install_takes_cpu_torch_first_on_linux():
    commands = _install_commands()
    torch_step, lock_step = commands[0], commands[1]
    assert f"--extra-index-url {CPU_TORCH_INDEX}" in torch_step
    assert "--no-deps" in torch_step and '"torch==2.13.0"' in torch_step
    assert "-r requirements.txt" in lock_step and "extra-index-url" not in lock_step


def test_the_torch_index_can_be_overridden_for_a_gpu():
    cuda = "https://download.pytorch.org/whl/cu128"
    assert f"--extra-index-url {cuda}" in _install_commands(f"TORCH_INDEX={cuda}")[0]
    assert "extra-index-url" not in _install_commands("TORCH_INDEX=")[0]


def test_torch_installs_whether_or_not_the_cpu_index_is_reachable(tmp_path):
    """The install step's torch command resolves torch==2.13.0 here, where PyTorch's index
    may be unreachable (pip then warns and uses PyPI or a local wheel). One attempt per
    index (--retries 0) keeps it quick; the install step itself retries."""
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps",
         "--quiet", "--retries", "0", "--timeout", "20", "--report", str(report),
         "--extra-index-url", CPU_TORCH_INDEX, "torch==2.13.0"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    chosen = [item["metadata"]["version"] for item in json.loads(report.read_text())["install"]]
    assert len(chosen) == 1 and chosen[0].split("+")[0] == "2.13.0", chosen
