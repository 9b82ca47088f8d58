"""Project metadata agrees with itself, and the chapter template is a working chapter."""

import json
import platform
import re
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
    """The install step's shell commands, one by one and with single spaces, as `make` would
    run them for a fresh .venv (a line `a & b || c; d` gives a, b, c and d)."""
    result = subprocess.run(["make", "--dry-run", "--always-make", *make_args, ".venv/.installed"],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    pieces = re.split(r"\|\||;| & |\n", result.stdout.replace("\\\n", " "))
    return [" ".join(piece.split()) for piece in pieces if piece.strip()]


@pytest.mark.skipif(platform.system() != "Linux", reason="the CPU index is the default on Linux")
def test_install_takes_cpu_torch_from_pip_and_the_rest_of_the_lock_without_it():
    commands = _install_commands()
    (torch_step,) = [command for command in commands if '"torch==2.13.0"' in command]
    assert f"--extra-index-url {CPU_TORCH_INDEX}" in torch_step and "--no-deps" in torch_step
    assert "grep -v -E '^torch==' requirements.txt > .venv/lock-without-torch.txt" in commands
    lock_steps = [command for command in commands if "-r .venv/lock-without-torch.txt" in command]
    assert len(lock_steps) == 2 and all("extra-index-url" not in step for step in lock_steps)


def test_uv_installs_the_lock_with_bytecode_and_pip_is_the_fallback():
    """uv (pinned in the lock) installs the lock but torch, while pip installs torch;
    bytecode is compiled at install, since PYTHONDONTWRITEBYTECODE would otherwise make
    every kernel compile transformers again."""
    commands = _install_commands()
    uv_pin = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.startswith("uv==")]
    assert len(uv_pin) == 1
    assert f'.venv/bin/python -m pip install --quiet --disable-pip-version-check "{uv_pin[0]}"' \
        in commands
    uv_step, pip_step = [command for command in commands if "lock-without-torch.txt" in command
                         and "grep" not in command]
    assert uv_step.startswith(".venv/bin/uv pip install") and "--compile-bytecode" in uv_step
    assert pip_step.startswith(".venv/bin/python -m pip install") and "--no-deps" in pip_step


def test_the_torch_index_can_be_overridden_for_a_gpu():
    def torch_step(*make_args: str) -> str:
        return next(c for c in _install_commands(*make_args) if '"torch==2.13.0"' in c)

    cuda = "https://download.pytorch.org/whl/cu128"
    assert f"--extra-index-url {cuda}" in torch_step(f"TORCH_INDEX={cuda}")
    assert "extra-index-url" not in torch_step("TORCH_INDEX=")


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


def _contributing_listings(section: str) -> list[str]:
    """The Python listings of a section of CONTRIBUTING.md, in order."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    body = text.split(f"<!-- {section} -->", 1)[1].split(f"<!-- /{section} -->", 1)[0]
    return [block.split("```", 1)[0] for block in body.split("```python\n")[1:]]


def test_the_task_listing_of_contributing_keeps_the_task_contract():
    """CONTRIBUTING's example task, run through what its text asks of a task's tests."""
    import torch

    from emergence.tasks import IGNORE, Shape, Task
    from emergence.training import train

    listing, usage = _contributing_listings("contributing-task")
    assert "from emergence.tasks.reverse import ReverseTask" in usage
    namespace: dict = {"__name__": "reverse"}
    exec(compile(listing, "CONTRIBUTING.md (Adding a task)", "exec"), namespace)
    task = namespace["ReverseTask"](length=3)
    assert isinstance(task, Task)
    with pytest.raises(ValueError):
        namespace["ReverseTask"](length=0)
    first, again, other = task.batches(16, seed=0), task.batches(16, seed=0), task.batches(16, 1)
    input_ids, labels = first(5)
    assert input_ids.shape == labels.shape == (16, task.context)
    assert torch.equal(input_ids, again(5)[0]) and not torch.equal(input_ids, other(5)[0])
    assert (labels[:, : task.length + 1] == IGNORE).all() and (labels[:, task.length + 1:] >= 0).all()
    seen = {tuple(row) for step in range(50) for row in first(step)[0][:, : task.length].tolist()}
    held_out = {tuple(row) for row in task._sequences(task.test_numbers)[0][:, : task.length].tolist()}
    assert seen and not seen & held_out

    class Oracle(torch.nn.Module):
        """Predicts each next token of the sequence it reads: every answer right."""

        def forward(self, input_ids):
            logits = torch.nn.functional.one_hot(input_ids.roll(-1, dims=1), task.vocab_size)
            return type("Output", (), {"logits": logits.float()})

    assert task.evaluate(Oracle()) == {"exact_match": 1.0, "digit_accuracy": 1.0}
    run = train(task, Shape(n_layer=1, n_embd=16, n_head=2), steps=5, seed=0, eval_steps=[5])
    assert set(run.log.evals[-1]) == {"exact_match", "digit_accuracy"}
