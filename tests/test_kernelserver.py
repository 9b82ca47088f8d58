"""The kernel server: kernels forked from a process that has imported the libraries run
chapters as ordinary kernels do (booktools.kernelserver)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from booktools import execution, kernelserver

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the kernel server forks")


@pytest.fixture(scope="module")
def server():
    names = (kernelserver.SERVER_VARIABLE, kernelserver.FOLDER_VARIABLE, "JUPYTER_PATH")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.pop(kernelserver.SERVER_VARIABLE, None)
    execution.set_kernel_environment()
    path = kernelserver.start()
    yield path
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _run(source: str, tmp_path) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    client = NotebookClient(notebook, timeout=60, resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return notebook


def test_the_build_kernelspec_launches_through_the_server(server):
    first_path = Path(os.environ["JUPYTER_PATH"].split(os.pathsep)[0])
    spec = json.loads((first_path / "kernels" / "python3" / "kernel.json").read_text())
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == kernelserver.PROVISIONER_NAME
    assert server and os.path.exists(server)


def test_a_forked_kernel_has_the_libraries_imported_and_runs_in_its_own_folder(server, tmp_path):
    notebook = _run("import os, sys\n"
                       "print('torch' in sys.modules, os.getcwd(), os.getppid() != os.getpid())\n"
                       "print(os.environ['PYTHONHASHSEED'], hash('emergence'))",
                       tmp_path)
    first, second = notebook.cells[0].outputs[0]["text"].splitlines()
    assert first == f"True {tmp_path} True"
    expected = subprocess.run([sys.executable, "-c", "print(hash('emergence'))"],
                              capture_output=True, text=True, env=dict(os.environ)).stdout.strip()
    assert second == f"0 {expected}", "the kernel must hash as a fresh interpreter with the seed"


def test_figures_still_reach_the_page_and_the_peak_memory_is_reported(server, tmp_path):
    kernelserver.last_kernel_peak_memory = 0
    notebook = _run("import matplotlib.pyplot as plt\nplt.plot([0, 1])", tmp_path)
    kinds = [key for output in notebook.cells[0].outputs for key in output.get("data", {})]
    assert "image/png" in kinds, "the inline backend must display the figure"
    assert kernelserver.last_kernel_peak_memory > 50 * 2**20


CHAPTER = """
# A chapter

```{code-cell} ipython3
import sys
print('torch' in sys.modules)
```
"""


def test_the_server_starts_only_when_a_chapter_must_execute(tmp_path, monkeypatch, write_chapter):
    for name in (kernelserver.SERVER_VARIABLE, kernelserver.FOLDER_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))
    write_chapter(tmp_path, "chapter", CHAPTER)
    cache = tmp_path / "_build" / ".jupyter_cache"
    execution.prepare(tmp_path, cache)
    assert kernelserver.running_server() is None, "preparing a build must not start the server"
    first_path = Path(os.environ["JUPYTER_PATH"].split(os.pathsep)[0])
    assert (first_path / "kernels" / "python3" / "kernel.json").is_file()

    chapters = execution.notebook_chapters(tmp_path)
    outcome = execution.execute_missing(chapters, cache, processes=1)
    assert len(outcome["succeeded"]) == 1, outcome
    assert kernelserver.running_server() is not None, "a chapter to execute starts the server"

    monkeypatch.delenv(kernelserver.SERVER_VARIABLE)
    outcome = execution.execute_missing(chapters, cache, processes=1)
    assert outcome == {"succeeded": [], "failed": []}
    assert kernelserver.running_server() is None, "a book read from the cache needs no server"
