import numpy as np
import pytest

from emergence.metrics import sequence_accuracy


def test_sequence_accuracy_is_per_token_accuracy_to_the_power_length():
    p = np.array([0.0, 0.5, 0.9, 1.0])
    np.testing.assert_allclose(sequence_accuracy(p, 3), [0.0, 0.125, 0.729, 1.0])


def test_one_token_answer_scores_like_its_token():
    assert sequence_accuracy(0.37, 1) == pytest.approx(0.37)


@pytest.mark.parametrize("length", [0, -2, 2.5, True, "8"])
def test_length_must_be_a_positive_integer(length):
    with pytest.raises(ValueError, match="length must be a positive integer"):
        sequence_accuracy(0.5, length)


def test_nan_accuracy_is_rejected():
    with pytest.raises(ValueError, match="NaN"):
        sequence_accuracy([0.5, np.nan], 4)


@pytest.mark.parametrize("p", [-0.1, 1.2])
def test_accuracy_outside_unit_interval_is_rejected(p):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sequence_accuracy([0.5, p], 4)
