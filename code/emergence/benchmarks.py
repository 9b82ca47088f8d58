"""How benchmarks score a model: pass@k for sampled programs, and multiple-choice accuracy.

Introduced in the chapter 'Benchmarks, emergence curves and ablations' (benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k from ``n`` samples of which ``c`` pass the tests.

    pass@k is the probability that at least one of ``k`` samples solves a problem. Chen et
    al. (2021) estimate it from ``n >= k`` samples as ``1 - C(n-c, k) / C(n, k)``; this
    evaluates the ratio as the product ``prod_{i=n-c+1}^{n} (1 - k/i)``, which stays
    accurate when the binomial coefficients are astronomically large. Introduced in the
    chapter 'Benchmarks, emergence curves and ablations' (benchmarks-pass-at-k).

    Raises:
        ValueError: if ``n < 1``, ``c`` is outside ``[0, n]`` or ``k`` outside ``[1, n]``.
    """
    for name, value in (("n", n), ("c", c), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if n < 1:
        raise ValueError(f"n (samples per problem) must be >= 1, got {n}")
    if not 0 <= c <= n:
        raise ValueError(f"c (correct samples) must lie in [0, n={n}], got {c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must lie in [1, n={n}]: pass@{k} needs at least {k} samples")
    if n - c < k:
        # every set of k samples contains a correct one
        return 1.0
    i = np.arange(n - c + 1, n + 1, dtype=float)
    return float(1.0 - np.prod(1.0 - k / i))


@dataclass(frozen=True)
class ChoiceItem:
    """A multiple-choice question: a context, the choices that may continue it, the answer."""

    context: str
    choices: tuple[str, ...]
    answer: int


#: A tiny multiple-choice set written for this book: everyday facts a small model trained
#: on web text should know, each choice a continuation of the context (scored by its
#: log-likelihood, the way MMLU-style tasks are scored without a letter prompt).
TINY_CHOICE_SET: tuple[ChoiceItem, ...] = (
    ChoiceItem("The capital of France is", (" Paris", " Berlin", " Madrid", " Rome"), 0),
    ChoiceItem("The capital of Japan is", (" Seoul", " Tokyo", " Beijing", " Bangkok"), 1),
    ChoiceItem("Water freezes at a temperature of", (" 100 degrees Celsius",
               " 50 degrees Celsius", " 0 degrees Celsius", " 20 degrees Celsius"), 2),
    ChoiceItem("The largest planet in the solar system is", (" Mercury", " Mars", " Venus",
               " Jupiter"), 3),
    ChoiceItem("A week has", (" seven days", " five days", " ten days", " three days"), 0),
    ChoiceItem("The opposite of hot is", (" loud", " cold", " tall", " fast"), 1),
    ChoiceItem("Bees make", (" milk", " silk", " honey", " wool"), 2),
    ChoiceItem("The chemical symbol for gold is", (" Fe", " Ag", " Cu", " Au"), 3),
    ChoiceItem("The Earth orbits the", (" Sun", " Moon", " Mars", " comet"), 0),
    ChoiceItem("Two plus two equals", (" seven", " four", " nine", " one"), 1),
    ChoiceItem("A baby cat is called a", (" puppy", " calf", " kitten", " foal"), 2),
    ChoiceItem("The author of Romeo and Juliet is William", (" Wordsworth", " Blake",
               " Golding", " Shakespeare"), 3),
    ChoiceItem("Ice is the solid form of", (" water", " iron", " salt", " air"), 0),
    ChoiceItem("The first month of the year is", (" March", " January", " July",
               " October"), 1),
    ChoiceItem("Plants take in carbon dioxide and release", (" helium", " nitrogen",
               " oxygen", " methane"), 2),
    ChoiceItem("The Great Wall is in", (" Egypt", " Peru", " Italy", " China"), 3),
    ChoiceItem("A triangle has", (" three sides", " four sides", " six sides",
               " eight sides"), 0),
    ChoiceItem("The language spoken in Brazil is", (" Spanish", " Portuguese", " French",
               " Dutch"), 1),
    ChoiceItem("Humans breathe with their", (" kidneys", " livers", " lungs", " ears"), 2),
    ChoiceItem("The boiling point of water at sea level is", (" 10 degrees Celsius",
               " 37 degrees Celsius", " 0 degrees Celsius", " 100 degrees Celsius"), 3),
)


def choice_accuracy(
    choose: Callable[[str, Sequence[str]], int], items: Sequence[ChoiceItem]
) -> float:
    """Fraction of ``items`` for which ``choose(context, choices)`` returns the answer index.

    ``choose`` is any scorer, for instance a language model's highest-likelihood choice.
    Introduced in the chapter 'Benchmarks, emergence curves and ablations'
    (benchmarks-multiple-choice).

    Raises:
        ValueError: if ``items`` is empty, an item's answer is not one of its choices, or
            ``choose`` returns an index outside the choices.
    """
    if not items:
        raise ValueError("items is empty: accuracy of no questions is undefined")
    right = 0
    for item in items:
        if not 0 <= item.answer < len(item.choices):
            raise ValueError(f"answer {item.answer} is not a choice index of {item.context!r}")
        picked = choose(item.context, list(item.choices))
        if not 0 <= picked < len(item.choices):
            raise ValueError(f"choose returned {picked} for {item.context!r}, "
                             f"which has {len(item.choices)} choices")
        right += int(picked == item.answer)
    return right / len(items)


def chance_p_value(correct: int, total: int, chance: float) -> float:
    """One-sided binomial p-value of getting at least ``correct`` of ``total`` right by
    guessing with success probability ``chance``. Introduced in the chapter 'Benchmarks,
    emergence curves and ablations' (benchmarks-multiple-choice).

    Raises:
        ValueError: if ``total < 1``, ``correct`` is outside ``[0, total]`` or ``chance``
            outside ``(0, 1)``.
    """
    if total < 1 or not 0 <= correct <= total:
        raise ValueError(f"need total >= 1 and 0 <= correct <= total, got {correct}/{total}")
    if not 0 < chance < 1:
        raise ValueError(f"chance must lie in (0, 1), got {chance}")
    return float(stats.binom.sf(correct - 1, total, chance))
