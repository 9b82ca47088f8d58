import numpy as np
import pytest

from emergence.metrics import loss_matched_prediction, sequence_accuracy


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


def test_loss_matched_prediction_interpolates_within_and_across_groups():
    # group 0 and group 1 share score = 1 - loss; group 2 scores 0.2 higher at equal loss
    loss = np.array([1.0, 2.0, 3.0, 1.5, 2.5, 1.0, 2.0, 3.0])
    group = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    score = 1 - loss / 4 + np.where(group == 2, 0.2, 0.0)
    across = loss_matched_prediction(loss, score, group, same_group=False)
    within = loss_matched_prediction(loss, score, group, same_group=True)
    # group 1 at loss 1.5 from groups 0 and 2: halfway between their lines
    assert across[3] == pytest.approx(score[3] + 0.1)
    # group 2's middle point from groups 0 and 1 misses its 0.2 offset
    assert across[6] == pytest.approx(score[6] - 0.2)
    # within a group, the middle point is interpolated from its neighbours exactly
    assert within[1] == pytest.approx(score[1]) and within[6] == pytest.approx(score[6])
    # end points of a group have no neighbours on both sides: no extrapolation
    assert np.isnan(within[[0, 2, 3, 4, 5, 7]]).all()


def test_loss_matched_prediction_rejects_bad_input():
    with pytest.raises(ValueError, match="one length"):
        loss_matched_prediction([1.0, 2.0], [0.5], [0, 1], same_group=False)
    with pytest.raises(ValueError, match="NaN"):
        loss_matched_prediction([1.0, np.nan], [0.5, 0.4], [0, 1], same_group=False)
