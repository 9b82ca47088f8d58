"""Measure the book against its budgets: ``python -m booktools.benchmark [root]``.

Builds the book twice with the command the README gives, first from an empty cache (every
chapter executes) and then again (every chapter comes from the cache), and reports each
chapter's execution time as myst-nb recorded it, the two build times and the peak memory of
any process the builds started. Exits with status 1 if a budget is exceeded. It is a
benchmark, run by hand on an otherwise idle machine, not a test: timings depend on the
machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from jupyter_cache import get_cache

from booktools.execution import default_cache

CHAPTER_BUDGET_SECONDS = 90.0
COLD_BOOK_BUDGET_SECONDS = 600.0
CACHED_REBUILD_BUDGET_SECONDS = 60.0
PEAK_MEMORY_BUDGET_BYTES = 3 * 1024**3


def _timed_build(root: Path) -> float:
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    started = time.perf_counter()
    subprocess.run([str(jupyter_book), "build", str(root)], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def chapter_seconds(cache_path: Path) -> dict[str, float]:
    """Execution time of each chapter in the jupyter-cache, keyed by file name."""
    cache = get_cache(cache_path)
    return {Path(record.uri).name: float(record.data.get("execution_seconds") or 0.0)
            for record in cache.list_cache_records()
            if record.uri}


def run(root: Path) -> dict:
    """Cold build, cached rebuild and per-chapter times; returns the report."""
    shutil.rmtree(root / "_build", ignore_errors=True)
    cold = _timed_build(root)
    chapters = chapter_seconds(default_cache(root))
    cached = _timed_build(root)
    # ru_maxrss is in kibibytes on Linux, the largest of any finished descendant
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {"cold_build_seconds": cold, "cached_rebuild_seconds": cached,
            "peak_memory_bytes": peak, "chapter_seconds": chapters}


def over_budget(report: dict) -> list[str]:
    """Human-readable list of every budget the report exceeds."""
    problems = [f"chapter {name}: {seconds:.1f} s > {CHAPTER_BUDGET_SECONDS:.0f} s"
                for name, seconds in report["chapter_seconds"].items()
                if seconds > CHAPTER_BUDGET_SECONDS]
    if report["cold_build_seconds"] > COLD_BOOK_BUDGET_SECONDS:
        problems.append(f"cold build: {report['cold_build_seconds']:.0f} s")
    if report["cached_rebuild_seconds"] > CACHED_REBUILD_BUDGET_SECONDS:
        problems.append(f"cached rebuild: {report['cached_rebuild_seconds']:.0f} s")
    if report["peak_memory_bytes"] > PEAK_MEMORY_BUDGET_BYTES:
        problems.append(f"peak memory: {report['peak_memory_bytes'] / 1024**3:.2f} GiB")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=".", type=Path)
    parser.add_argument("--json", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    report = run(args.root.resolve())
    for name, seconds in sorted(report["chapter_seconds"].items(), key=lambda kv: -kv[1]):
        print(f"{seconds:7.1f} s  {name}")
    print(f"{sum(report['chapter_seconds'].values()):7.1f} s  all chapters (budget "
          f"{COLD_BOOK_BUDGET_SECONDS:.0f} s for the cold build)")
    print(f"cold build {report['cold_build_seconds']:.1f} s, cached rebuild "
          f"{report['cached_rebuild_seconds']:.1f} s (budget "
          f"{CACHED_REBUILD_BUDGET_SECONDS:.0f} s), peak memory "
          f"{report['peak_memory_bytes'] / 1024**2:.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    problems = over_budget(report)
    for problem in problems:
        print("OVER BUDGET:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
