from booktools.benchmark import on_reference_core, over_budget

WITHIN = {"matmul_peak_flops_1_thread": 100e9,
          "cold_build_seconds": 290.0, "cached_rebuild_seconds": 20.0,
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


def test_times_are_checked_on_the_reference_core():
    """A chapter of 40 s is within budget on a 100 GFLOP/s core, not on one of 175."""
    fast = dict(WITHIN, matmul_peak_flops_1_thread=175e9, chapter_seconds={"c.md": 40.0})
    assert on_reference_core(40.0, fast) == 70.0
    problems = over_budget(fast)
    assert any("c.md" in p and "70.0 s at 100 GFLOP/s (40.0 s here)" in p for p in problems)
    assert any(p.startswith("cold build") for p in problems), "290 s here is 507 s there"
    slow = dict(WITHIN, matmul_peak_flops_1_thread=50e9,
                cold_build_seconds=500.0, chapter_seconds={"c.md": 100.0})
    assert over_budget(slow) == []
