"""Tests of emergence.published: every constant once against the number its paper prints.

The expected values below are a second transcription, from the verified fact sheet
(../shared/reference/facts.md, which quotes the papers' tables and equations), not copies of
the module: a typo in either fails here. Besides the values, each table's rows are checked
for form (no NaN, units and counts consistent) and each cite key for its entry in
references.bib.
"""

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest

from emergence import published
from emergence.published import (
    BESIROGLU_2024,
    BROWN_TABLE_3_9,
    CHEN_2021_TABLE_1,
    CHINCHILLA_PARAMETERS,
    CHINCHILLA_TOKENS,
    GOPHER_COMPUTE,
    GPT2_CONTEXT,
    GPT2_TABLE_2,
    GPT2_VOCABULARY,
    GPT3_LARGEST_PARAMETERS,
    GPT_12B_HUMANEVAL_PASS_AT_1,
    HOFFMANN_2022,
    HOFFMANN_2022_TEX,
    HOFFMANN_A,
    HOFFMANN_ISOFLOP_BUDGET_COUNT,
    HOFFMANN_DATASET_SIZES,
    HOFFMANN_ISOFLOP_BUDGETS,
    HOFFMANN_MODEL_SIZES,
    HOFFMANN_TABLE_2,
    HOFFMANN_TABLE_3,
    HUMANEVAL_PROBLEMS,
    KAPLAN_BREAKDOWN,
    KAPLAN_C_MIN,
    KAPLAN_C_MIN_FIGURE_1_SCALE,
    KAPLAN_D,
    KAPLAN_D_OPT,
    KAPLAN_DATASET_SIZES,
    KAPLAN_DOUBLING_FACTOR,
    KAPLAN_JOINT,
    KAPLAN_MODEL_SIZES,
    KAPLAN_N,
    KAPLAN_N_OPT,
    PF_DAY,
    SMOLLM2_135M_TOKENS,
    WEI_2022_COT_GSM8K,
    WEI_2022_TABLE_1,
    PublishedTable,
    power_of_ten,
)
from test_scaling import SHARED_POINTS, read_shared_points

REFERENCES = Path(__file__).resolve().parents[1] / "references.bib"
BIB_KEYS = set(re.findall(r"^@\w+\{([^,\s]+),", REFERENCES.read_text(), flags=re.MULTILINE))

#: every public constant of the module that carries a citation
CITED = {name: value for name, value in vars(published).items()
         if name.isupper() and hasattr(value, "citation")}


# --- form: citations, sources, rows ----------------------------------------------------------


def test_every_constant_names_a_key_of_references_bib_and_a_place_in_the_paper():
    assert len(CITED) >= 25, "the module's constants must be found"
    for name, value in CITED.items():
        assert value.citation in BIB_KEYS, f"{name}: {value.citation} is not in references.bib"
        assert value.source.strip(), f"{name} must say where in the paper it is"


def _numbers(value: object) -> list[float]:
    """The numeric fields of a record, recursively (None and strings skipped)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, tuple):
        return [x for item in value for x in _numbers(item)]
    if dataclasses.is_dataclass(value):
        return [x for field in dataclasses.fields(value)
                for x in _numbers(getattr(value, field.name))]
    return []


def test_no_constant_or_row_holds_nan_or_infinity():
    for name, value in CITED.items():
        records = value.rows if isinstance(value, PublishedTable) else (value,)
        for record in records:
            numbers = _numbers(record)
            assert numbers, f"{name}: {record} has no numbers"
            assert all(math.isfinite(x) for x in numbers), f"{name}: {record}"


def test_tables_have_the_papers_row_counts_and_well_formed_rows():
    tables = [value for value in CITED.values() if isinstance(value, PublishedTable)]
    assert len(tables) == 7
    for table in tables:
        assert len(table) == len(list(table)) > 0
        assert len({type(row) for row in table}) == 1, f"{table.source}: one row type"
    # Wei et al. Table 1 has 10 few-shot rows and 13 augmented ones; the few-shot row "Many
    # BIG-Bench tasks" has no scale and is left out
    methods = [row.method for row in WEI_2022_TABLE_1]
    assert (methods.count("few-shot"), methods.count("augmented") + methods.count("fine-tuned")) \
        == (9, 13)
    assert len({row.ability for row in WEI_2022_TABLE_1}) == len(WEI_2022_TABLE_1)
    for row in WEI_2022_TABLE_1:
        assert row.method in {"few-shot", "augmented", "fine-tuned"}
        assert 1e19 < row.training_flops < 1e25 and 1e7 < row.parameters < 1e12
        # training compute C ~ 6 N D: every row must imply a plausible token count
        assert 1e9 < row.training_flops / (6 * row.parameters) < 1e13, row.ability
    # Brown et al. Table 3.9: ten tasks, percentages
    assert [row.task for row in BROWN_TABLE_3_9] == [
        "2D+", "2D-", "3D+", "3D-", "4D+", "4D-", "5D+", "5D-", "2Dx", "1DC"]
    for row in BROWN_TABLE_3_9:
        assert all(0 <= row.accuracy(s) <= 100 for s in ("zero-shot", "one-shot", "few-shot"))
        assert row.task.startswith(str(row.digits))
    # Chen et al. Table 1: 13 rows, pass@k in % rising with k; only TabNine lacks a size
    assert len(CHEN_2021_TABLE_1) == 13
    for row in CHEN_2021_TABLE_1:
        assert 0 <= row.pass_at_1 <= row.pass_at_10 <= row.pass_at_100 <= 100, row.model
        assert (row.parameters is None) == (row.model == "TabNine")
    assert sum(row.model.startswith("Codex") for row in CHEN_2021_TABLE_1) == 8
    for row in WEI_2022_COT_GSM8K:
        assert 0 <= row.standard <= 100 and 0 <= row.chain_of_thought <= 100
    # Hoffmann et al. Table 2: a + b = 1 in every row, intervals ordered, and the point
    # estimate within rounding (0.005) of its interval
    for row in HOFFMANN_TABLE_2:
        assert row.a + row.b == pytest.approx(1.0, abs=1e-9), row.approach
        for point, interval in ((row.a, row.a_interval), (row.b, row.b_interval)):
            if interval is not None:
                low, high = interval
                assert low < high
                assert low - 0.005 - 1e-9 <= point <= high + 0.005 + 1e-9, row.approach


def test_accuracy_rejects_an_unknown_setting():
    with pytest.raises(ValueError, match="setting"):
        BROWN_TABLE_3_9.rows[0].accuracy("two-shot")


# --- values: Kaplan et al. (2020) --------------------------------------------------------------


def test_kaplan_laws_match_tables_5_and_2():
    assert (KAPLAN_N.alpha, KAPLAN_N.scale, KAPLAN_N.variable) == (0.076, 8.8e13, "N")
    assert (KAPLAN_D.alpha, KAPLAN_D.scale, KAPLAN_D.variable) == (0.095, 5.4e13, "D")
    assert (KAPLAN_C_MIN.alpha, KAPLAN_C_MIN.scale, KAPLAN_C_MIN.unit) == (0.050, 3.1e8,
                                                                           "PF-days")
    assert (KAPLAN_JOINT.alpha_n, KAPLAN_JOINT.alpha_d) == (0.076, 0.103)
    assert (KAPLAN_JOINT.n_c, KAPLAN_JOINT.d_c) == (6.4e13, 1.8e13)
    assert {law.citation for law in (KAPLAN_N, KAPLAN_D, KAPLAN_C_MIN, KAPLAN_JOINT)} == {
        "kaplan2020scaling"}
    assert KAPLAN_C_MIN_FIGURE_1_SCALE.value == 2.3e8


def test_kaplan_scalars_match_the_paper():
    assert PF_DAY == 8.64e19
    assert (KAPLAN_MODEL_SIZES.low, KAPLAN_MODEL_SIZES.high) == (768, 1.5e9)
    assert (KAPLAN_DATASET_SIZES.low, KAPLAN_DATASET_SIZES.high) == (22e6, 23e9)
    assert (KAPLAN_N_OPT.coefficient, KAPLAN_N_OPT.exponent) == (1.3e9, 0.73)
    assert (KAPLAN_D_OPT.coefficient, KAPLAN_D_OPT.exponent) == (2e10, 0.27)
    assert (KAPLAN_BREAKDOWN.compute_pf_days, KAPLAN_BREAKDOWN.parameters,
            KAPLAN_BREAKDOWN.tokens, KAPLAN_BREAKDOWN.loss_nats) == (1e4, 1e12, 1e12, 1.7)
    # "smaller by a factor 2^-alpha_N = 0.95" (section 1.2): the law and the quoted factor agree
    assert KAPLAN_DOUBLING_FACTOR.value == 0.95
    assert KAPLAN_N.loss(2e9) / KAPLAN_N.loss(1e9) == pytest.approx(0.95, abs=0.005)
    # Table 6's exponents add up to 1, as C proportional to N D requires
    assert KAPLAN_N_OPT.exponent + KAPLAN_D_OPT.exponent == pytest.approx(1.0, abs=1e-12)
    assert KAPLAN_N_OPT(np.array([1.0, 10.0])) == pytest.approx([1.3e9, 1.3e9 * 10**0.73])


# --- values: Hoffmann et al. (2022) and Besiroglu et al. (2024) ---------------------------------


def test_chinchilla_laws_match_eq_10_and_the_replication():
    assert (HOFFMANN_2022.E, HOFFMANN_2022.A, HOFFMANN_2022.B) == (1.69, 406.4, 410.7)
    assert (HOFFMANN_2022.alpha, HOFFMANN_2022.beta) == (0.34, 0.28)
    assert HOFFMANN_2022.citation == "hoffmann2022training"
    # the TeX values as Epoch's notebook hard-codes them (facts.md section 3.2)
    assert math.log(HOFFMANN_2022_TEX.A) == pytest.approx(6.0073404, abs=1e-12)
    assert math.log(HOFFMANN_2022_TEX.B) == pytest.approx(6.0179186, abs=1e-12)
    assert math.log(HOFFMANN_2022_TEX.E) == pytest.approx(0.5267228, abs=1e-12)
    assert (HOFFMANN_2022_TEX.alpha, HOFFMANN_2022_TEX.beta) == (0.33917084, 0.2849083)
    assert (BESIROGLU_2024.E, BESIROGLU_2024.A, BESIROGLU_2024.B) == (1.8172, 482.01, 2085.43)
    assert (BESIROGLU_2024.alpha, BESIROGLU_2024.beta) == (0.3478, 0.3658)
    assert BESIROGLU_2024.citation == "besiroglu2024chinchilla"


def test_unrounded_constants_round_to_the_printed_ones_and_give_table_2():
    # the TeX values must round to what Eq. (10) prints ...
    for name, digits in [("E", 2), ("A", 1), ("B", 1), ("alpha", 2), ("beta", 2)]:
        assert round(getattr(HOFFMANN_2022_TEX, name), digits) == getattr(HOFFMANN_2022, name)
    # ... and give Table 2's Approach-3 exponents, which the rounded values do not
    approach_3 = next(row for row in HOFFMANN_TABLE_2 if row.approach == "Approach 3")
    assert tuple(round(v, 2) for v in HOFFMANN_2022_TEX.exponents) == (approach_3.a,
                                                                       approach_3.b)
    assert tuple(round(v, 2) for v in HOFFMANN_2022.exponents) == (0.45, 0.55)
    # the replication's a = beta / (alpha + beta) = 0.5126 (facts.md section 3.2)
    assert BESIROGLU_2024.exponents[0] == pytest.approx(0.5126, abs=5e-5)


def test_hoffmann_tables_2_and_3_match_the_paper():
    expected = {
        "Approach 1": (0.50, 0.50, (0.488, 0.502), (0.501, 0.512)),
        "Approach 2": (0.49, 0.51, (0.462, 0.534), (0.483, 0.529)),
        "Approach 3": (0.46, 0.54, (0.454, 0.455), (0.542, 0.543)),
        "Kaplan et al. (2020)": (0.73, 0.27, None, None),
    }
    assert {row.approach: (row.a, row.b, row.a_interval, row.b_interval)
            for row in HOFFMANN_TABLE_2} == expected
    assert HOFFMANN_A == {"Approach 1": 0.50, "Approach 2": 0.49, "Approach 3": 0.46}
    assert [(row.parameters, row.tokens) for row in HOFFMANN_TABLE_3] == [
        (1e9, 20.2e9), (10e9, 205.1e9), (67e9, 1.5e12), (175e9, 3.7e12)]
    # Kaplan et al.'s row of Table 2 is their Table 6 exponent
    kaplan = next(row for row in HOFFMANN_TABLE_2 if row.a_interval is None)
    assert kaplan.a == KAPLAN_N_OPT.exponent and kaplan.b == KAPLAN_D_OPT.exponent


def test_chinchilla_scalars_match_the_paper():
    assert (HOFFMANN_ISOFLOP_BUDGETS.low, HOFFMANN_ISOFLOP_BUDGETS.high) == (6e18, 3e21)
    assert (HOFFMANN_MODEL_SIZES.low, HOFFMANN_MODEL_SIZES.high) == (70e6, 16e9)
    assert (HOFFMANN_DATASET_SIZES.low, HOFFMANN_DATASET_SIZES.high) == (5e9, 500e9)
    assert HOFFMANN_ISOFLOP_BUDGET_COUNT.value == 9
    assert GOPHER_COMPUTE.value == 5.76e23
    assert (CHINCHILLA_PARAMETERS.value, CHINCHILLA_TOKENS.value) == (70e9, 1.4e12)
    # Chinchilla at Gopher's compute: 6 N D is within 5 % of 5.76e23
    assert 6 * CHINCHILLA_PARAMETERS.value * CHINCHILLA_TOKENS.value == pytest.approx(
        GOPHER_COMPUTE.value, rel=0.05)


def test_allocations_at_gopher_compute_match_the_fact_sheet():
    """facts.md section 3.4: about 93 tokens per parameter with the printed constants, 59
    with the TeX values and 17.9 with the re-estimate, whose N_opt is about 7.3e10."""
    compute = GOPHER_COMPUTE.value
    assert HOFFMANN_2022.tokens_per_parameter(compute) == pytest.approx(93, abs=1.5)
    assert HOFFMANN_2022_TEX.tokens_per_parameter(compute) == pytest.approx(59, abs=1.5)
    assert BESIROGLU_2024.tokens_per_parameter(compute) == pytest.approx(17.9, abs=0.6)
    assert BESIROGLU_2024.compute_optimal(compute)[0] == pytest.approx(7.3e10, rel=0.05)


@pytest.mark.skipif(not SHARED_POINTS.exists(), reason="shared Chinchilla data not present")
def test_published_laws_fit_the_extracted_points_with_the_reported_errors():
    """Mean squared error in loss on the 240 points (facts.md section 3.4): 0.00276 with
    Hoffmann et al.'s rounded constants, 0.00091 with the TeX values, 0.00048 with the
    re-estimate."""
    n, d, loss = read_shared_points()
    mse = {name: float(np.mean((law.predict(n, d) - loss) ** 2))
           for name, law in [("printed", HOFFMANN_2022), ("tex", HOFFMANN_2022_TEX),
                             ("refit", BESIROGLU_2024)]}
    assert mse["printed"] == pytest.approx(0.00276, rel=0.01)
    assert mse["tex"] == pytest.approx(0.00091, rel=0.01)
    assert mse["refit"] == pytest.approx(0.00048, rel=0.02)


# --- values: tables of abilities ----------------------------------------------------------------


def test_wei_table_1_matches_the_paper():
    expected = {  # ability: (training FLOPs, parameters, model), facts.md section 4
        "Addition/subtraction (3 digit)": (2.3e22, 13e9, "GPT-3"),
        "Addition/subtraction (4-5 digit)": (3.1e23, 175e9, "GPT-3"),
        "MMLU (57 topic avg.)": (3.1e23, 175e9, "GPT-3"),
        "Toxicity classification (CivilComments)": (1.3e22, 7.1e9, "Gopher"),
        "Truthfulness (TruthfulQA)": (5.0e23, 280e9, "Gopher"),
        "MMLU (26 topics)": (5.0e23, 280e9, "Gopher"),
        "Grounded conceptual mappings": (3.1e23, 175e9, "GPT-3"),
        "MMLU (30 topics)": (5.0e23, 70e9, "Chinchilla"),
        "Word in Context (WiC)": (2.5e24, 540e9, "PaLM"),
        "Instruction following": (1.3e23, 68e9, "FLAN"),
        "Scratchpad: 8-digit addition": (8.9e19, 40e6, "LaMDA"),
        "Open-book knowledge for fact checking": (1.3e22, 7.1e9, "Gopher"),
        "Chain of thought: math word problems": (1.3e23, 68e9, "LaMDA"),
        "Chain of thought: StrategyQA": (2.9e23, 62e9, "PaLM"),
        "Differentiable search index": (3.3e22, 11e9, "T5"),
        "Self-consistency decoding": (1.3e23, 68e9, "LaMDA"),
        "Explanations in prompting": (5.0e23, 280e9, "Gopher"),
        "Least-to-most prompting": (3.1e23, 175e9, "GPT-3"),
        "Zero-shot chain of thought": (3.1e23, 175e9, "GPT-3"),
        "Calibration via P(True)": (2.6e23, 52e9, "Anthropic"),
        "Multilingual chain of thought": (2.9e23, 62e9, "PaLM"),
        "Ask me anything prompting": (1.4e22, 6e9, "EleutherAI"),
    }
    assert {row.ability: (row.training_flops, row.parameters, row.model)
            for row in WEI_2022_TABLE_1} == expected
    fine_tuned = {row.ability for row in WEI_2022_TABLE_1 if row.method == "fine-tuned"}
    assert fine_tuned == {"Instruction following", "Scratchpad: 8-digit addition"}


def test_brown_table_3_9_matches_the_paper():
    expected = {  # facts.md section 6: zero-, one-, few-shot by task
        "2D+": (76.9, 99.6, 100.0), "2D-": (58.0, 86.4, 98.9), "3D+": (34.2, 65.5, 80.4),
        "3D-": (48.3, 78.7, 94.2), "4D+": (4.0, 14.0, 25.5), "4D-": (7.5, 14.0, 26.8),
        "5D+": (0.7, 3.5, 9.3), "5D-": (0.8, 3.8, 9.9), "2Dx": (19.8, 27.4, 29.2),
        "1DC": (9.8, 14.3, 21.3),
    }
    assert {row.task: (row.zero_shot, row.one_shot, row.few_shot)
            for row in BROWN_TABLE_3_9} == expected
    assert GPT3_LARGEST_PARAMETERS.value == 175e9


def test_gsm8k_rows_match_appendix_table_2():
    assert [(row.model, row.parameters, row.standard, row.chain_of_thought)
            for row in WEI_2022_COT_GSM8K] == [
        ("GPT-3", 6.7e9, 4.0, 2.4), ("GPT-3", 175e9, 15.6, 46.9), ("LaMDA", 137e9, 6.5, 14.3),
        ("PaLM", 8e9, 4.9, 4.1), ("PaLM", 62e9, 9.6, 29.9), ("PaLM", 540e9, 17.9, 56.9)]


def test_chen_table_1_matches_the_paper():
    rows = {row.model: row for row in CHEN_2021_TABLE_1}
    # pass@1 by size, facts.md section 9 (Table 1 via the PolyCoder README, and the abstract)
    assert rows["Codex-300M"].pass_at_1 == 13.17
    assert rows["Codex-2.5B"].pass_at_1 == 21.36
    assert (rows["Codex-12B"].parameters, rows["Codex-12B"].pass_at_1) == (12e9, 28.81)
    assert rows["GPT-J 6B"].pass_at_1 == 11.62
    assert rows["GPT-Neo 2.7B"].pass_at_1 == 6.41
    # the abstract rounds Codex-12B's pass@1 to 28.8 %
    assert round(rows["Codex-12B"].pass_at_1, 1) == 28.8
    assert GPT_12B_HUMANEVAL_PASS_AT_1.value == 0.0
    assert HUMANEVAL_PROBLEMS.value == 164


def test_model_facts_match_their_sources():
    assert [(row.n_layer, row.d_model, row.printed_parameters, row.corrected_parameters)
            for row in GPT2_TABLE_2] == [
        (12, 768, 117e6, 124e6), (24, 1024, 345e6, 355e6), (36, 1280, 762e6, 774e6),
        (48, 1600, 1542e6, 1558e6)]
    assert (GPT2_VOCABULARY.value, GPT2_CONTEXT.value) == (50257, 1024)
    assert SMOLLM2_135M_TOKENS.value == 2e12


def test_power_of_ten_writes_latex_and_rejects_non_positive_values():
    assert power_of_ten(8.8e13).data == r"$8.8\times10^{13}$"
    assert power_of_ten(8.64e19).data == r"$8.64\times10^{19}$"
    assert power_of_ten(1e4).data == "$10^{4}$"
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="positive"):
            power_of_ten(bad)
