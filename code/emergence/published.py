"""Numbers the book takes from papers, each with its BibTeX key and where the paper prints it.

Chapters import these constants instead of typing the numbers, so that every number has one
transcription, checked once against the paper in ``tests/test_published.py``. Scalars are
:class:`Quantity` (value, unit, citation, location); tables are :class:`PublishedTable`
(a tuple of typed rows with the table's citation and location); the scaling laws are the law
types of :mod:`emergence.scaling` with the constants of Kaplan et al. (2020), Hoffmann et al.
(2022) and Besiroglu et al. (2024).

Introduced in the chapter 'Power laws' (power-laws), with the constants of Kaplan et al.;
'Compute-optimal training' (compute-optimal) adds Hoffmann et al. and Besiroglu et al.,
'Typical emergent abilities' (typical-abilities) the tables of Wei et al., Brown et al. and
Chen et al.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from IPython.display import Markdown

from emergence.scaling import ChinchillaLaw, KaplanJointLaw, KaplanPowerLaw


def power_of_ten(value: float) -> Markdown:
    """``value`` as inline LaTeX, m x 10^e with up to three significant digits, for a
    ``{glue:md}`` role.

    A paper's ``8.8e13`` becomes ``$8.8\\times10^{13}$``, its ``1e4`` ``$10^{4}$``.
    Introduced in the chapter 'Power laws' (power-laws).
    """
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"value must be positive and finite, got {value}")
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    factor = "" if mantissa == "1" else rf"{mantissa}\times"
    return Markdown(f"${factor}10^{{{int(exponent)}}}$")


@dataclass(frozen=True)
class Quantity:
    """One number printed in a paper: its value, unit, BibTeX key and place in the paper.

    Introduced in the chapter 'Power laws' (power-laws).
    """

    value: float
    unit: str
    citation: str
    source: str


@dataclass(frozen=True)
class ValueRange:
    """A range a paper reports (low to high, in ``unit``), with its key and place.

    Introduced in the chapter 'Power laws' (power-laws).
    """

    low: float
    high: float
    unit: str
    citation: str
    source: str


@dataclass(frozen=True)
class PublishedTable:
    """A table (or the part of one the book uses) as a tuple of typed rows (one dataclass
    per table: its fields are the table's columns).

    Iterating over it gives the rows in the paper's order. Introduced in the chapter
    'Typical emergent abilities' (typical-abilities).
    """

    title: str
    citation: str
    source: str
    rows: tuple[Any, ...]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


# ---------------------------------------------------------------------------------------
# Kaplan et al. (2020), "Scaling Laws for Neural Language Models"

#: Eq. (1.1), constants of Table 5: models trained to convergence on enough data.
KAPLAN_N = KaplanPowerLaw("N", 0.076, 8.8e13, "non-embedding parameters", "Table 5, Eq. (1.1)")
#: Eq. (1.2), constants of Table 5: large models, early stopping.
KAPLAN_D = KaplanPowerLaw("D", 0.095, 5.4e13, "tokens", "Table 5, Eq. (1.2)")
#: Eq. (1.3), constants of Table 5: compute-efficient training.
KAPLAN_C_MIN = KaplanPowerLaw("C_min", 0.050, 3.1e8, "PF-days", "Table 5, Eq. (1.3)")
#: Figure 1's legend labels the compute law with C_c^min = 2.3e8 PF-days; Table 5 (used above)
#: gives 3.1e8. An inconsistency of the paper, kept so that chapters can name it.
KAPLAN_C_MIN_FIGURE_1_SCALE = Quantity(2.3e8, "PF-days", "kaplan2020scaling", "Figure 1 legend")
#: Eq. (1.5), constants of Table 2 (section 4.2): the joint fit.
KAPLAN_JOINT = KaplanJointLaw(0.076, 0.103, 6.4e13, 1.8e13, "Table 2, Eq. (1.5)")
#: "Doubling the number of parameters yields a loss that is smaller by a factor
#: 2^-alpha_N = 0.95" (section 1.2).
KAPLAN_DOUBLING_FACTOR = Quantity(0.95, "ratio of losses", "kaplan2020scaling", "section 1.2")
#: One PF-day in FLOP, 10^15 x 24 x 3600 (section 1.3).
PF_DAY = 1e15 * 24 * 3600
#: Model sizes of the experiments, 768 to 1.5e9 non-embedding parameters (section 3).
KAPLAN_MODEL_SIZES = ValueRange(768, 1.5e9, "non-embedding parameters", "kaplan2020scaling",
                                "section 3")
#: Dataset sizes of the experiments, 22M to 23B tokens (section 3).
KAPLAN_DATASET_SIZES = ValueRange(22e6, 23e9, "tokens", "kaplan2020scaling", "section 3")


@dataclass(frozen=True)
class KaplanAllocation:
    """A compute-efficient allocation of Kaplan et al.'s Table 6, quantity = coefficient x
    C_min^exponent with C_min in PF-days. Introduced in the chapter 'Compute-optimal
    training' (compute-optimal).
    """

    quantity: str
    coefficient: float
    exponent: float
    unit: str
    citation: str = "kaplan2020scaling"
    source: str = "Table 6"

    def __call__(self, compute_pf_days: float | np.ndarray) -> float | np.ndarray:
        """The allocation at ``compute_pf_days`` (a number or a NumPy array, in PF-days)."""
        return self.coefficient * compute_pf_days ** self.exponent


#: Table 6: N_opt = 1.3e9 C_min^0.73 non-embedding parameters.
KAPLAN_N_OPT = KaplanAllocation("N_opt", 1.3e9, 0.73, "non-embedding parameters")
#: Table 6: D_opt = 2e10 C_min^0.27 tokens (one epoch).
KAPLAN_D_OPT = KaplanAllocation("D_opt", 2e10, 0.27, "tokens")


@dataclass(frozen=True)
class KaplanBreakdown:
    """Where Kaplan et al. conjecture their trends must break down (section 6.3): the
    extrapolated L(C_min) and L(D(C_min)) cross. "The numerical values are highly uncertain,
    varying by an order of magnitude in either direction." Introduced in the chapter
    'Power laws' (power-laws).
    """

    compute_pf_days: float
    parameters: float
    tokens: float
    loss_nats: float
    citation: str = "kaplan2020scaling"
    source: str = "section 6.3"


#: C* ~ 1e4 PF-days, N* ~ 1e12 parameters, D* ~ 1e12 tokens, L* ~ 1.7 nats per token.
KAPLAN_BREAKDOWN = KaplanBreakdown(1e4, 1e12, 1e12, 1.7)


# ---------------------------------------------------------------------------------------
# Hoffmann et al. (2022), "Training Compute-Optimal Large Language Models" (Chinchilla),
# and its replication by Besiroglu et al. (2024)

#: Eq. (10) in App. D.2, rounded as printed.
HOFFMANN_2022 = ChinchillaLaw(
    E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28,
    source="Eq. (10), as printed", citation="hoffmann2022training",
)
#: The same fit with the unrounded values of the paper's TeX source, as Epoch's notebook
#: hard-codes them (log A = 6.0073404, log B = 6.0179186, log E = 0.5267228).
HOFFMANN_2022_TEX = ChinchillaLaw(
    E=math.exp(0.5267228), A=math.exp(6.0073404), B=math.exp(6.0179186),
    alpha=0.33917084, beta=0.2849083,
    source="Eq. (10), unrounded TeX source values", citation="epoch2024analyzingchinchilla",
)
#: Besiroglu et al. (2024): their re-estimate of Approach 3 on the points extracted from
#: Hoffmann et al.'s Figure 4 (the point estimates of their table).
BESIROGLU_2024 = ChinchillaLaw(
    E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658,
    source="re-estimate of Approach 3", citation="besiroglu2024chinchilla",
)


@dataclass(frozen=True)
class AllocationExponents:
    """One row of Hoffmann et al.'s Table 2: N_opt proportional to C^a, D_opt to C^b, with
    the 10th and 90th bootstrap percentiles in brackets (none for Kaplan et al.'s row).
    Introduced in the chapter 'Compute-optimal training' (compute-optimal).
    """

    approach: str
    a: float
    b: float
    a_interval: tuple[float, float] | None
    b_interval: tuple[float, float] | None


#: Table 2. Approach 3's printed a = 0.46 lies just outside its printed interval
#: (0.454, 0.455); the paper prints it so.
HOFFMANN_TABLE_2 = PublishedTable(
    "Estimated parameter and data scaling with increased training compute",
    "hoffmann2022training", "Table 2",
    (
        AllocationExponents("Approach 1", 0.50, 0.50, (0.488, 0.502), (0.501, 0.512)),
        AllocationExponents("Approach 2", 0.49, 0.51, (0.462, 0.534), (0.483, 0.529)),
        AllocationExponents("Approach 3", 0.46, 0.54, (0.454, 0.455), (0.542, 0.543)),
        AllocationExponents("Kaplan et al. (2020)", 0.73, 0.27, None, None),
    ),
)
#: Hoffmann et al.'s allocation exponent a by approach, from Table 2.
HOFFMANN_A = {row.approach: row.a for row in HOFFMANN_TABLE_2 if row.a_interval is not None}


@dataclass(frozen=True)
class OptimalTokens:
    """A row of Hoffmann et al.'s Table 3 (Approach 1's projections): the compute-optimal
    number of training tokens for a model size. Introduced in the chapter 'Compute-optimal
    training' (compute-optimal).
    """

    parameters: float
    tokens: float


#: Four rows of Table 3, the ones from which "about 20 tokens per parameter" is read.
HOFFMANN_TABLE_3 = PublishedTable(
    "Estimated optimal training FLOPs and training tokens for various model sizes (Approach 1)",
    "hoffmann2022training", "Table 3 (four rows)",
    (
        OptimalTokens(1e9, 20.2e9),
        OptimalTokens(10e9, 205.1e9),
        OptimalTokens(67e9, 1.5e12),
        OptimalTokens(175e9, 3.7e12),
    ),
)
#: Over 400 models, "70 million to over 16 billion parameters on 5 to 500 billion tokens"
#: (abstract); N counts every parameter, embeddings included.
HOFFMANN_MODEL_SIZES = ValueRange(70e6, 16e9, "parameters", "hoffmann2022training", "abstract")
HOFFMANN_DATASET_SIZES = ValueRange(5e9, 500e9, "tokens", "hoffmann2022training", "abstract")
#: The IsoFLOP profiles of Approach 2 use 9 budgets from 6e18 to 3e21 FLOP (section 3.2).
HOFFMANN_ISOFLOP_BUDGETS = ValueRange(6e18, 3e21, "FLOP", "hoffmann2022training", "section 3.2")
HOFFMANN_ISOFLOP_BUDGET_COUNT = Quantity(9, "budgets", "hoffmann2022training", "section 3.2")
#: Gopher's training compute, which Chinchilla matched (section 4).
GOPHER_COMPUTE = Quantity(5.76e23, "FLOP", "hoffmann2022training", "section 4")
#: Chinchilla: 70B parameters trained on 1.4T tokens (section 4).
CHINCHILLA_PARAMETERS = Quantity(70e9, "parameters", "hoffmann2022training", "section 4")
CHINCHILLA_TOKENS = Quantity(1.4e12, "tokens", "hoffmann2022training", "section 4")


# ---------------------------------------------------------------------------------------
# Emergent scales: Wei et al. (2022), "Emergent Abilities of Large Language Models"


@dataclass(frozen=True)
class EmergentScale:
    """A row of Wei et al.'s Table 1: the smallest model in which an ability emerged.

    ``method`` is "few-shot" for the table's first half, "augmented" for the second, and
    "fine-tuned" for the two rows the table marks "(finetuning)". Introduced in the chapter
    'Typical emergent abilities' (typical-abilities).
    """

    ability: str
    method: str
    training_flops: float
    parameters: float
    model: str


#: Table 1. The row "Many BIG-Bench tasks (see Appendix E)" gives no single scale and is
#: omitted. The 8-digit scratchpad row is the fine-tuned model of Nye et al. (nye2021show).
WEI_2022_TABLE_1 = PublishedTable(
    "Examples of emergence in few-shot prompting and augmented prompting strategies",
    "wei2022emergent", "Table 1",
    (
        EmergentScale("Addition/subtraction (3 digit)", "few-shot", 2.3e22, 13e9, "GPT-3"),
        EmergentScale("Addition/subtraction (4-5 digit)", "few-shot", 3.1e23, 175e9, "GPT-3"),
        EmergentScale("MMLU (57 topic avg.)", "few-shot", 3.1e23, 175e9, "GPT-3"),
        EmergentScale("Toxicity classification (CivilComments)", "few-shot", 1.3e22, 7.1e9,
                      "Gopher"),
        EmergentScale("Truthfulness (TruthfulQA)", "few-shot", 5.0e23, 280e9, "Gopher"),
        EmergentScale("MMLU (26 topics)", "few-shot", 5.0e23, 280e9, "Gopher"),
        EmergentScale("Grounded conceptual mappings", "few-shot", 3.1e23, 175e9, "GPT-3"),
        EmergentScale("MMLU (30 topics)", "few-shot", 5.0e23, 70e9, "Chinchilla"),
        EmergentScale("Word in Context (WiC)", "few-shot", 2.5e24, 540e9, "PaLM"),
        EmergentScale("Instruction following", "fine-tuned", 1.3e23, 68e9, "FLAN"),
        EmergentScale("Scratchpad: 8-digit addition", "fine-tuned", 8.9e19, 40e6, "LaMDA"),
        EmergentScale("Open-book knowledge for fact checking", "augmented", 1.3e22, 7.1e9,
                      "Gopher"),
        EmergentScale("Chain of thought: math word problems", "augmented", 1.3e23, 68e9, "LaMDA"),
        EmergentScale("Chain of thought: StrategyQA", "augmented", 2.9e23, 62e9, "PaLM"),
        EmergentScale("Differentiable search index", "augmented", 3.3e22, 11e9, "T5"),
        EmergentScale("Self-consistency decoding", "augmented", 1.3e23, 68e9, "LaMDA"),
        EmergentScale("Explanations in prompting", "augmented", 5.0e23, 280e9, "Gopher"),
        EmergentScale("Least-to-most prompting", "augmented", 3.1e23, 175e9, "GPT-3"),
        EmergentScale("Zero-shot chain of thought", "augmented", 3.1e23, 175e9, "GPT-3"),
        EmergentScale("Calibration via P(True)", "augmented", 2.6e23, 52e9, "Anthropic"),
        EmergentScale("Multilingual chain of thought", "augmented", 2.9e23, 62e9, "PaLM"),
        EmergentScale("Ask me anything prompting", "augmented", 1.4e22, 6e9, "EleutherAI"),
    ),
)


# ---------------------------------------------------------------------------------------
# Arithmetic: Brown et al. (2020), "Language Models are Few-Shot Learners" (GPT-3)


@dataclass(frozen=True)
class ArithmeticAccuracy:
    """A column of Brown et al.'s Table 3.9: GPT-3 175B's accuracy (%) on one arithmetic
    task, zero-, one- and few-shot. ``operation`` is "addition", "subtraction",
    "multiplication" or "composite" (1DC: one-digit composite operations). Introduced in
    the chapter 'Typical emergent abilities' (typical-abilities).
    """

    task: str
    operation: str
    digits: int
    zero_shot: float
    one_shot: float
    few_shot: float

    def accuracy(self, setting: str) -> float:
        """Accuracy (%) in ``setting``: "zero-shot", "one-shot" or "few-shot"."""
        by_setting = {"zero-shot": self.zero_shot, "one-shot": self.one_shot,
                      "few-shot": self.few_shot}
        if setting not in by_setting:
            raise ValueError(f"setting must be one of {sorted(by_setting)}, got {setting!r}")
        return by_setting[setting]


#: Table 3.9, in the paper's column order. (The prose of section 3.9.1 gives 80.2% for
#: few-shot 3D+; the table, used here, 80.4.)
BROWN_TABLE_3_9 = PublishedTable(
    "Results on all 10 arithmetic tasks in the few-, one-, and zero-shot settings (GPT-3 175B)",
    "brown2020language", "Table 3.9",
    (
        ArithmeticAccuracy("2D+", "addition", 2, 76.9, 99.6, 100.0),
        ArithmeticAccuracy("2D-", "subtraction", 2, 58.0, 86.4, 98.9),
        ArithmeticAccuracy("3D+", "addition", 3, 34.2, 65.5, 80.4),
        ArithmeticAccuracy("3D-", "subtraction", 3, 48.3, 78.7, 94.2),
        ArithmeticAccuracy("4D+", "addition", 4, 4.0, 14.0, 25.5),
        ArithmeticAccuracy("4D-", "subtraction", 4, 7.5, 14.0, 26.8),
        ArithmeticAccuracy("5D+", "addition", 5, 0.7, 3.5, 9.3),
        ArithmeticAccuracy("5D-", "subtraction", 5, 0.8, 3.8, 9.9),
        ArithmeticAccuracy("2Dx", "multiplication", 2, 19.8, 27.4, 29.2),
        ArithmeticAccuracy("1DC", "composite", 1, 9.8, 14.3, 21.3),
    ),
)
#: The parameter count of the model of Table 3.9 (Table 2.1, GPT-3 175B).
GPT3_LARGEST_PARAMETERS = Quantity(175e9, "parameters", "brown2020language", "Table 2.1")


# ---------------------------------------------------------------------------------------
# Reasoning: Wei et al. (2022), "Chain-of-Thought Prompting Elicits Reasoning"


@dataclass(frozen=True)
class SolveRate:
    """A row of the chain-of-thought paper's Appendix Table 2: GSM8K solve rate (%) with
    standard and with chain-of-thought prompting. Introduced in the chapter 'Typical
    emergent abilities' (typical-abilities).
    """

    model: str
    parameters: float
    standard: float
    chain_of_thought: float


#: The GSM8K rows of Appendix Table 2 that the book uses. "GPT-3" is the text-davinci-002
#: (InstructGPT) series.
WEI_2022_COT_GSM8K = PublishedTable(
    "GSM8K solve rate, standard prompting and chain-of-thought prompting",
    "wei2022chain", "Appendix Table 2 (GSM8K rows)",
    (
        SolveRate("GPT-3", 6.7e9, 4.0, 2.4),
        SolveRate("GPT-3", 175e9, 15.6, 46.9),
        SolveRate("LaMDA", 137e9, 6.5, 14.3),
        SolveRate("PaLM", 8e9, 4.9, 4.1),
        SolveRate("PaLM", 62e9, 9.6, 29.9),
        SolveRate("PaLM", 540e9, 17.9, 56.9),
    ),
)


# ---------------------------------------------------------------------------------------
# Code: Chen et al. (2021), "Evaluating Large Language Models Trained on Code" (Codex)


@dataclass(frozen=True)
class PassRates:
    """A row of Chen et al.'s Table 1: HumanEval pass@1, pass@10 and pass@100 (%).

    ``parameters`` is None where the paper gives no size (TabNine). Introduced in the
    chapter 'Typical emergent abilities' (typical-abilities).
    """

    model: str
    parameters: float | None
    pass_at_1: float
    pass_at_10: float
    pass_at_100: float


#: Table 1, whole: four models trained on the Pile, TabNine, and eight Codex models.
CHEN_2021_TABLE_1 = PublishedTable(
    "Codex, GPT-Neo, GPT-J and TabNine evaluated on HumanEval",
    "chen2021evaluating", "Table 1",
    (
        PassRates("GPT-Neo 125M", 125e6, 0.75, 1.88, 2.97),
        PassRates("GPT-Neo 1.3B", 1.3e9, 4.79, 7.47, 16.30),
        PassRates("GPT-Neo 2.7B", 2.7e9, 6.41, 11.27, 21.37),
        PassRates("GPT-J 6B", 6e9, 11.62, 15.74, 27.74),
        PassRates("TabNine", None, 2.58, 4.35, 7.59),
        PassRates("Codex-12M", 12e6, 2.00, 3.62, 8.58),
        PassRates("Codex-25M", 25e6, 3.21, 7.1, 12.89),
        PassRates("Codex-42M", 42e6, 5.06, 8.8, 15.55),
        PassRates("Codex-85M", 85e6, 8.22, 12.81, 22.4),
        PassRates("Codex-300M", 300e6, 13.17, 20.37, 36.27),
        PassRates("Codex-679M", 679e6, 16.22, 25.7, 40.95),
        PassRates("Codex-2.5B", 2.5e9, 21.36, 35.42, 59.5),
        PassRates("Codex-12B", 12e9, 28.81, 46.81, 72.31),
    ),
)
#: Figure 1's caption: a 12B GPT model not fine-tuned on code "solves no problems" (pass@1).
GPT_12B_HUMANEVAL_PASS_AT_1 = Quantity(0.0, "%", "chen2021evaluating", "Figure 1 caption")
#: HumanEval's size: 164 hand-written programming problems (section 2.2).
HUMANEVAL_PROBLEMS = Quantity(164, "problems", "chen2021evaluating", "section 2.2")


# ---------------------------------------------------------------------------------------
# Models the book names


@dataclass(frozen=True)
class GPT2Size:
    """A GPT-2 model of Radford et al.'s Table 2, with the parameter count the paper prints
    and the corrected one of OpenAI's GPT-2 repository. Introduced in the chapter 'Power
    laws' (power-laws).
    """

    n_layer: int
    d_model: int
    printed_parameters: float
    corrected_parameters: float


#: Table 2 of the GPT-2 paper; the corrected counts are those of the openai/gpt-2 README
#: ("our original parameter counts were wrong due to an error").
GPT2_TABLE_2 = PublishedTable(
    "Architecture hyperparameters for the 4 model sizes", "radford2019language", "Table 2",
    (
        GPT2Size(12, 768, 117e6, 124e6),
        GPT2Size(24, 1024, 345e6, 355e6),
        GPT2Size(36, 1280, 762e6, 774e6),
        GPT2Size(48, 1600, 1542e6, 1558e6),
    ),
)
#: GPT-2's vocabulary of 50,257 tokens and context of 1,024 tokens (section 2.3).
GPT2_VOCABULARY = Quantity(50257, "tokens", "radford2019language", "section 2.3")
GPT2_CONTEXT = Quantity(1024, "tokens", "radford2019language", "section 2.3")
#: SmolLM2-135M's training tokens, 2 trillion, from the model card.
SMOLLM2_135M_TOKENS = Quantity(2e12, "tokens", "allal2025smollm2", "model card")
