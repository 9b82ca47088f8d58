from booktools.benchmark import over_budget

WITHIN = {"cold_build_seconds": 300.0, "cached_rebuild_seconds": 20.0,
          "peak_memory_bytes": 1024**3, "chapter_seconds": {"a.ipynb": 10.0, "b.ipynb": 89.0}}


def test_a_report_within_budget_has_no_problems():
    assert over_budget(WITHIN) == []


def test_each_exceeded_budget_is_named():
    report = dict(WITHIN, cold_build_seconds=601.0, cached_rebuild_seconds=61.0,
                  peak_memory_bytes=4 * 1024**3, chapter_seconds={"slow.ipynb": 91.0})
    problems = over_budget(report)
    assert len(problems) == 4
    assert any("slow.ipynb" in p for p in problems)
