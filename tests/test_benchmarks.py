from math import comb

import pytest

from emergence.benchmarks import (
    TINY_CHOICE_SET,
    ChoiceItem,
    chance_p_value,
    choice_accuracy,
    pass_at_k,
)


@pytest.mark.parametrize(
    ("n", "c", "k"),
    [(10, 3, 1), (10, 3, 5), (20, 1, 10), (200, 17, 100), (5, 2, 2), (1, 0, 1), (1, 1, 1)],
)
def test_pass_at_k_matches_the_closed_form(n, c, k):
    expected = 1 - comb(n - c, k) / comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_pass_at_1_is_the_fraction_correct():
    assert pass_at_k(50, 13, 1) == pytest.approx(13 / 50)


def test_no_correct_sample_gives_zero_and_all_correct_gives_one():
    assert pass_at_k(30, 0, 7) == 0.0
    assert pass_at_k(30, 30, 7) == 1.0


def test_fewer_wrong_samples_than_k_gives_one():
    assert pass_at_k(10, 8, 3) == 1.0


def test_stable_where_binomial_coefficients_overflow_a_float():
    # C(2000, 1000) ~ 1e600 does not fit in a float; the product form does not need it
    expected = 1 - comb(1990, 1000) / comb(2000, 1000)
    assert pass_at_k(2000, 10, 1000) == pytest.approx(expected, rel=1e-12)


def test_pass_at_k_grows_with_k():
    values = [pass_at_k(100, 5, k) for k in (1, 2, 10, 50, 95)]
    assert values == sorted(values) and values[0] < values[-1]


@pytest.mark.parametrize(("n", "c", "k"), [(5, 2, 6), (5, 2, 0)])
def test_k_outside_one_to_n_is_rejected(n, c, k):
    with pytest.raises(ValueError, match="k must lie"):
        pass_at_k(n, c, k)


@pytest.mark.parametrize("c", [-1, 6])
def test_c_outside_zero_to_n_is_rejected(c):
    with pytest.raises(ValueError, match="c \\(correct samples\\)"):
        pass_at_k(5, c, 1)


def test_non_integer_and_empty_inputs_are_rejected():
    with pytest.raises(ValueError, match="integer"):
        pass_at_k(5.0, 2, 1)
    with pytest.raises(ValueError, match="n \\(samples"):
        pass_at_k(0, 0, 1)


def test_choice_accuracy_counts_right_answers():
    items = [ChoiceItem("a", ("x", "y"), 0), ChoiceItem("b", ("x", "y"), 1),
             ChoiceItem("c", ("x", "y", "z"), 2)]
    assert choice_accuracy(lambda context, choices: 0, items) == pytest.approx(1 / 3)
    assert choice_accuracy(lambda context, choices: len(choices) - 1, items) == pytest.approx(2 / 3)


def test_choice_accuracy_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        choice_accuracy(lambda context, choices: 0, [])
    with pytest.raises(ValueError, match="not a choice index"):
        choice_accuracy(lambda context, choices: 0, [ChoiceItem("a", ("x",), 3)])
    with pytest.raises(ValueError, match="choose returned"):
        choice_accuracy(lambda context, choices: 5, [ChoiceItem("a", ("x", "y"), 0)])


def test_tiny_choice_set_is_well_formed_and_balanced():
    assert len(TINY_CHOICE_SET) >= 16
    for item in TINY_CHOICE_SET:
        assert len(item.choices) == 4 and len(set(item.choices)) == 4
        assert 0 <= item.answer < 4
    # the right answer sits equally often at each position, so a positional bias cannot score
    positions = [item.answer for item in TINY_CHOICE_SET]
    assert {positions.count(i) for i in range(4)} == {len(positions) // 4}


def test_chance_p_value():
    assert chance_p_value(0, 10, 0.25) == pytest.approx(1.0)
    assert chance_p_value(10, 10, 0.5) == pytest.approx(0.5**10)
    assert chance_p_value(3, 4, 0.5) == pytest.approx(5 / 16)
    with pytest.raises(ValueError, match="chance"):
        chance_p_value(1, 2, 1.0)
    with pytest.raises(ValueError, match="correct <= total"):
        chance_p_value(3, 2, 0.5)
