"""Measure the book against its budgets: ``python -m booktools.benchmark [root]``.

Builds the book twice: first cold, with the README's command and an empty cache (every
chapter executes, two at a time), then again with ``-W -n`` (every chapter comes from the
cache). Reports each chapter's execution time and its kernel's peak memory, the two build
times, and the machine's one-thread float32 matmul peak measured in the same run, the
yardstick for comparing runs on a noisy machine. The time budgets hold for a core of
:data:`REFERENCE_PEAK_FLOPS`: each time is also reported scaled to that core (a machine
twice as fast must finish in half the budget), and that is what is checked. Exits with
status 1 if a budget is exceeded. It is a benchmark, run by hand on an otherwise idle
machine, not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from jupyter_cache import get_cache

from booktools.execution import CHAPTER_SECONDS_FILE, PEAK_MEMORY_FILE, default_cache
from emergence.model import matmul_peak_flops

CHAPTER_BUDGET_SECONDS = 60.0
COLD_BOOK_BUDGET_SECONDS = 300.0
CACHED_REBUILD_BUDGET_SECONDS = 30.0
#: mybinder.org restarts a kernel above 2 GB
CHAPTER_MEMORY_BUDGET_BYTES = 2 * 1024**3
#: The core the time budgets are set for: a one-thread float32 matmul peak of 100 GFLOP/s
REFERENCE_PEAK_FLOPS = 100e9
REFERENCE_CORE = f"{REFERENCE_PEAK_FLOPS / 1e9:.0f} GFLOP/s"
#: The two builds a report times: (name, key in the report, budget in seconds)
BUILD_BUDGETS = (("cold build", "cold_build_seconds", COLD_BOOK_BUDGET_SECONDS),
                 ("cached -W -n rebuild", "cached_rebuild_seconds", CACHED_REBUILD_BUDGET_SECONDS))


def _timed_build(root: Path, *options: str) -> float:
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    started = time.perf_counter()
    subprocess.run([str(jupyter_book), "build", str(root), *options], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def chapter_seconds(cache_path: Path) -> dict[str, float]:
    """Execution time of each chapter in the jupyter-cache, keyed by file name."""
    cache = get_cache(cache_path)
    return {Path(record.uri).name: float(record.data.get("execution_seconds") or 0.0)
            for record in cache.list_cache_records()
            if record.uri}


def chapter_peak_memory(cache_path: Path) -> dict[str, int]:
    """Peak memory in bytes of each chapter's kernel, as its last execution recorded it."""
    return json.loads((cache_path / PEAK_MEMORY_FILE).read_text())


def one_thread_matmul_peak() -> float:
    """The float32 matmul peak of one core, in FLOP/s."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return matmul_peak_flops()
    finally:
        torch.set_num_threads(threads)


def run(root: Path) -> dict:
    """Cold build, cached rebuild, per-chapter times and peaks; returns the report."""
    peak_before = one_thread_matmul_peak()
    shutil.rmtree(root / "_build", ignore_errors=True)
    cold = _timed_build(root)
    cache = default_cache(root)
    cached = _timed_build(root, "-W", "-n", "--keep-going")
    return {"matmul_peak_flops_1_thread": max(peak_before, one_thread_matmul_peak()),
            "cold_build_seconds": cold, "cached_rebuild_seconds": cached,
            "chapter_seconds": chapter_seconds(cache),
            "chapter_peak_memory_bytes": chapter_peak_memory(cache)}


def write_chapter_seconds(seconds: dict[str, float]) -> None:
    """Record each chapter's time in :data:`~booktools.execution.CHAPTER_SECONDS_FILE`, from
    which later builds and test runs take the order in which to start the chapters."""
    CHAPTER_SECONDS_FILE.write_text(
        json.dumps({name: round(value, 1) for name, value in sorted(seconds.items())},
                   indent=1) + "\n", encoding="utf-8")


def on_reference_core(seconds: float, report: dict) -> float:
    """``seconds`` measured on the report's machine, scaled to a core of
    :data:`REFERENCE_PEAK_FLOPS` by the ratio of the one-thread matmul peaks."""
    return seconds * report["matmul_peak_flops_1_thread"] / REFERENCE_PEAK_FLOPS


def over_budget(report: dict) -> list[str]:
    """Human-readable list of every budget the report exceeds, times scaled to the
    reference core (:func:`on_reference_core`)."""
    def scaled(seconds: float) -> str:
        return f"{on_reference_core(seconds, report):.1f} s at {REFERENCE_CORE} ({seconds:.1f} s here)"

    problems = [f"chapter {name}: {scaled(seconds)} > {CHAPTER_BUDGET_SECONDS:.0f} s"
                for name, seconds in report["chapter_seconds"].items()
                if on_reference_core(seconds, report) > CHAPTER_BUDGET_SECONDS]
    problems += [f"chapter {name}: peak memory {peak / 1024**3:.2f} GiB > "
                 f"{CHAPTER_MEMORY_BUDGET_BYTES / 1024**3:.0f} GiB"
                 for name, peak in report["chapter_peak_memory_bytes"].items()
                 if peak > CHAPTER_MEMORY_BUDGET_BYTES]
    for label, key, budget in BUILD_BUDGETS:
        if on_reference_core(report[key], report) > budget:
            problems.append(f"{label}: {scaled(report[key])} > {budget:.0f} s")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=".", type=Path)
    parser.add_argument("--json", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    report = run(args.root.resolve())
    peaks = report["chapter_peak_memory_bytes"]
    print(f"1-thread matmul peak {report['matmul_peak_flops_1_thread'] / 1e9:.0f} GFLOP/s; "
          f"budgets hold at {REFERENCE_CORE}")
    print(f"{'seconds':>8}  {'at ' + REFERENCE_CORE.split()[0]:>8}  {'peak MiB':>8}  chapter (budget "
          f"{CHAPTER_BUDGET_SECONDS:.0f} s at {REFERENCE_CORE})")
    for name, seconds in sorted(report["chapter_seconds"].items(), key=lambda kv: -kv[1]):
        print(f"{seconds:8.1f}  {on_reference_core(seconds, report):8.1f}  "
              f"{peaks.get(name, 0) / 1024**2:8.0f}  {name}")
    total = sum(report["chapter_seconds"].values())
    print(f"{total:8.1f}  {on_reference_core(total, report):8.1f}            all chapters, "
          "one after the other")
    for label, key, budget in BUILD_BUDGETS:
        print(f"{label} {report[key]:.1f} s, {on_reference_core(report[key], report):.1f} s "
              f"at {REFERENCE_CORE} (budget {budget:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    write_chapter_seconds(report["chapter_seconds"])
    print(f"wrote {CHAPTER_SECONDS_FILE.name}: the next builds start the longest chapters first")
    problems = over_budget(report)
    for problem in problems:
        print("OVER BUDGET:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
