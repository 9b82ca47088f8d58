from booktools.benchmark import over_budget

WITHIN = {"cold_build_seconds": 290.0, "cached_rebuild_seconds": 20.0,
          "chapter_seconds": {"a.md": 10.0, "b.md": 59.0},
          "chapter_peak_memory_bytes": {"a.md": 1024**3, "b.md": 1900 * 1024**2}}


def test_a_report_within_budget_has_no_problems():
    assert over_budget(WITHIN) == []


def test_each_exceeded_budget_is_named():
    report = dict(WITHIN, cold_build_seconds=301.0, cached_rebuild_seconds=31.0,
                  chapter_seconds={"slow.md": 61.0},
                  chapter_peak_memory_bytes={"big.md": 2 * 1024**3 + 1})
    problems = over_budget(report)
    assert len(problems) == 4, problems
    assert any("slow.md" in p for p in problems)
    assert any("big.md" in p and "peak memory" in p for p in problems)
