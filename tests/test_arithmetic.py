import numpy as np
import pytest
import torch

import emergence
from emergence.arithmetic import (
    IGNORE,
    AdditionFormat,
    addition_model,
    answer_values,
    batches,
    decode,
    edit_distance,
    encode,
    evaluate,
    labels_for,
    score_answers,
    split_problems,
)


def test_direct_format_writes_prompt_answer_and_end():
    fmt = AdditionFormat(3)
    tokens = encode([12], [345], fmt)
    assert decode(tokens[0]) == "012+345=0357$"
    assert tokens.shape == (1, fmt.length)


def test_reversed_format_writes_the_answer_units_first():
    assert decode(encode([95], [7], AdditionFormat(2, reverse=True))[0]) == "95+07=201$"


def test_scratchpad_writes_the_carry_of_every_column_before_the_answer():
    # 478 + 256: units 8+6 carries, tens 7+5+1 carries, hundreds 4+2+1 does not
    fmt = AdditionFormat(3, scratchpad=True)
    assert decode(encode([478], [256], fmt)[0]) == "478+256=110;0734$"


@pytest.mark.parametrize("fmt", [AdditionFormat(3), AdditionFormat(3, True, True),
                                 AdditionFormat(2, reverse=True)])
def test_answers_decode_back_to_the_sum(fmt):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 10**fmt.digits, 200)
    b = rng.integers(0, 10**fmt.digits, 200)
    tokens = encode(a, b, fmt)
    start = fmt.prompt_length + fmt.scratch_length
    np.testing.assert_array_equal(answer_values(tokens[:, start:start + fmt.answer_length], fmt),
                                  a + b)


def test_labels_mask_the_prompt_only():
    fmt = AdditionFormat(2, scratchpad=True)
    tokens = encode([99], [1], fmt)
    labels = labels_for(tokens, fmt)
    assert (labels[:, : fmt.prompt_length] == IGNORE).all()
    np.testing.assert_array_equal(labels[:, fmt.prompt_length:], tokens[:, fmt.prompt_length:])


def test_train_and_held_out_problems_never_overlap():
    train, test = split_problems(2, n_train=9000, n_test=1000, seed=3)
    seen = {tuple(p) for p in train}
    assert len(seen) == 9000
    assert not seen & {tuple(p) for p in test}
    assert train.max() < 100 and train.min() >= 0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: AdditionFormat(0), "digits"),
        (lambda: encode([100], [1], AdditionFormat(2)), "operands"),
        (lambda: encode([1.5], [1], AdditionFormat(2)), "integers"),
        (lambda: encode([1, 2], [1], AdditionFormat(2)), "same length"),
        (lambda: split_problems(1, 95, 10), "only 100"),
        (lambda: decode([14]), "token ids"),
        (lambda: score_answers(np.zeros((2, 3)), np.zeros((2, 4))), "one shape"),
        (lambda: batches(np.zeros((0, 2), dtype=int), AdditionFormat(2), 4), "at least one"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_three_scores_of_hand_made_answers():
    target = np.array([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]])
    predicted = np.array([[1, 2, 3, 4],    # right
                          [1, 2, 3, 5],    # one digit wrong
                          [2, 3, 4, 0]])   # shifted: every position wrong, edit distance 2
    scores = score_answers(predicted, target)
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["digit_accuracy"] == pytest.approx(7 / 12)
    assert scores["edit_distance"] == pytest.approx((0 + 1 + 2) / 3)


def test_edit_distance_matches_hand_computed_cases():
    predicted = np.array([[1, 2, 3], [3, 2, 1], [0, 0, 0]])
    target = np.array([[1, 2, 3], [1, 2, 3], [1, 0, 0]])
    np.testing.assert_array_equal(edit_distance(predicted, target), [0, 2, 1])


def test_a_trained_model_beats_an_untrained_one_on_held_out_problems():
    emergence.setup(seed=0, threads=1)
    fmt = AdditionFormat(1)
    train_pairs, test_pairs = split_problems(1, 70, 30, seed=0)
    model = addition_model(fmt, n_layer=1, n_embd=32, n_head=2)
    before = evaluate(model, test_pairs, fmt)
    emergence.model.train(model, batches(train_pairs, fmt, 64), steps=300, lr=3e-3)
    after = evaluate(model, test_pairs, fmt)
    assert after["answer_logprob"] > before["answer_logprob"] + 1.0
    assert after["digit_accuracy"] > before["digit_accuracy"]
    assert 0.0 <= after["exact_match"] <= after["digit_accuracy"] <= 1.0
    assert not model.training and isinstance(next(model.parameters()), torch.Tensor)
