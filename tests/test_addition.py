from types import SimpleNamespace

import numpy as np
import pytest
import torch

import emergence
from emergence.tasks import IGNORE, Shape
from emergence.tasks.addition import (
    VOCAB,
    AdditionFormat,
    AdditionTask,
    answer_values,
    decode,
    edit_distance,
    encode,
    greedy_answers,
    labels_for,
    score_answers,
    score_problems,
    split_problems,
)
from emergence.training import train


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
        (lambda: AdditionTask(AdditionFormat(2), np.zeros((0, 2), dtype=int), [[1, 2]]),
         "train_pairs must be a non-empty"),
        (lambda: AdditionTask(AdditionFormat(2), [[1, 2]], [[100, 2]]), "operands"),
        (lambda: AdditionTask(AdditionFormat(2), [[1, 2]], [[1, 2]]).batches(0), "batch_size"),
        (lambda: score_problems(None, np.zeros((3,), dtype=int), AdditionFormat(2)), "(n, 2)"),
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


class OracleModel(torch.nn.Module):
    """Stands in for a GPT-2: at every position its logits favour the next token of the
    correct sequence, which it reads off the prompt. Greedy decoding of it must give the
    right answers, and its log-probability of them must be near zero. Like GPT-2 with
    ``use_cache``, it returns what it has read as ``past_key_values`` and, given them back,
    reads only the new tokens."""

    def __init__(self, fmt: AdditionFormat, wrong_last_digit: bool = False):
        super().__init__()
        self.fmt, self.wrong_last_digit = fmt, wrong_last_digit

    def forward(self, input_ids, past_key_values=None, use_cache=False):
        read = input_ids if past_key_values is None else torch.cat([past_key_values, input_ids], 1)
        ids = read.numpy()
        k = self.fmt.digits
        powers = 10 ** np.arange(k - 1, -1, -1)
        a, b = ids[:, :k] @ powers, ids[:, k + 1 : 2 * k + 1] @ powers
        correct = encode(a, b, self.fmt)
        if self.wrong_last_digit:
            last = self.fmt.prompt_length + self.fmt.generated_length - 1
            correct[:, last] = (correct[:, last] + 1) % 10
        logits = torch.zeros(ids.shape + (len(VOCAB),))
        for t in range(ids.shape[1]):
            logits[np.arange(len(ids)), t, correct[:, t + 1]] = 10.0
        new = logits[:, read.shape[1] - input_ids.shape[1]:]
        return SimpleNamespace(logits=new, past_key_values=read if use_cache else None)


def test_greedy_answers_with_the_cache_are_those_of_rereading_the_whole_sequence():
    emergence.setup(seed=0, threads=1)
    fmt = AdditionFormat(3, scratchpad=True)
    task = AdditionTask(fmt, *split_problems(3, 2000, 200, seed=0))
    model = train(task, Shape(n_layer=1, n_embd=16, n_head=2), steps=60, seed=0, lr=3e-3).model
    tokens = encode(task.test_pairs[:, 0], task.test_pairs[:, 1], fmt)
    sequence = torch.from_numpy(tokens[:, : fmt.prompt_length])
    with torch.inference_mode():
        for _ in range(fmt.generated_length):
            logits = model(input_ids=sequence).logits[:, -1]
            sequence = torch.cat([sequence, logits.argmax(dim=-1, keepdim=True)], dim=1)
    reread = sequence[:, -fmt.answer_length:].numpy()
    np.testing.assert_array_equal(greedy_answers(model, tokens, fmt), reread)
    assert len(np.unique(reread)) > 1, "a model that writes one digit everywhere tests nothing"


@pytest.mark.parametrize("fmt", [AdditionFormat(2), AdditionFormat(3, scratchpad=True),
                                 AdditionFormat(2, reverse=True)])
def test_evaluate_gives_full_marks_to_a_model_that_always_knows_the_answer(fmt):
    pairs = split_problems(fmt.digits, 0, 20, seed=1)[1]
    scores = score_problems(OracleModel(fmt), pairs, fmt)
    assert scores["exact_match"] == 1.0 and scores["digit_accuracy"] == 1.0
    assert scores["edit_distance"] == 0.0
    # each answer digit gets probability 1 / (1 + 13 e^-10): log-probability ~ -5.9e-4 nats
    # (computed in float32, hence the tolerance)
    per_digit = -np.log1p((len(VOCAB) - 1) * np.exp(-10.0))
    assert scores["answer_logprob"] == pytest.approx(fmt.answer_length * per_digit, rel=1e-3)


def test_evaluate_scores_the_answer_the_model_writes_not_the_true_one():
    fmt = AdditionFormat(3, scratchpad=True)
    pairs = split_problems(3, 0, 20, seed=2)[1]
    scores = score_problems(OracleModel(fmt, wrong_last_digit=True), pairs, fmt)
    assert scores["exact_match"] == 0.0
    assert scores["digit_accuracy"] == pytest.approx(1 - 1 / fmt.answer_length)
    assert scores["edit_distance"] == pytest.approx(1.0)
    # teacher forcing scores the correct last digit, which this model gives logit 0
    assert scores["answer_logprob"] < -10.0


def test_evaluate_puts_a_model_back_in_the_mode_it_found():
    fmt = AdditionFormat(1)
    train_pairs, test_pairs = split_problems(1, 10, 10)
    task = AdditionTask(fmt, train_pairs, test_pairs)
    model = task.model(Shape(n_layer=1, n_embd=8, n_head=2))
    model.train()
    task.evaluate(model)
    assert model.training
    model.eval()
    task.evaluate(model)
    assert not model.training


def test_task_fits_its_format_and_scores_its_held_out_problems():
    fmt = AdditionFormat(3, scratchpad=True)
    train_pairs, test_pairs = split_problems(3, 50, 20, seed=2)
    task = AdditionTask(fmt, train_pairs, test_pairs)
    assert task.vocab_size == len(VOCAB) and task.context == fmt.length
    scores = task.evaluate(OracleModel(fmt))
    assert scores == score_problems(OracleModel(fmt), test_pairs, fmt)
    without = score_problems(OracleModel(fmt), test_pairs, fmt, log_probability=False)
    assert without == {name: scores[name] for name in without}
    assert "answer_logprob" not in without
    ids, labels = task.batches(8)(0)
    assert ids.shape == labels.shape == (8, fmt.length)
    training = {decode(row) for row in encode(train_pairs[:, 0], train_pairs[:, 1], fmt)}
    assert {decode(row) for row in ids.numpy()} <= training
    np.testing.assert_array_equal(labels.numpy(), labels_for(ids.numpy(), fmt))


def test_batches_repeat_for_a_seed_and_step_and_differ_otherwise():
    train_pairs, test_pairs = split_problems(2, 500, 1, seed=0)
    task = AdditionTask(AdditionFormat(2), train_pairs, test_pairs)
    first, again = task.batches(16, seed=0), task.batches(16, seed=0)
    other_seed = task.batches(16, seed=1)
    assert torch.equal(first(5)[0], again(5)[0])
    assert not torch.equal(first(5)[0], first(6)[0])
    assert not torch.equal(first(5)[0], other_seed(5)[0])


def test_a_trained_model_beats_an_untrained_one_on_held_out_problems():
    emergence.setup(seed=0, threads=1)
    task = AdditionTask(AdditionFormat(1), *split_problems(1, 70, 30, seed=0))
    shape = Shape(n_layer=1, n_embd=32, n_head=2)
    torch.manual_seed(0)
    before = task.evaluate(task.model(shape))
    after = task.evaluate(train(task, shape, steps=300, seed=0, lr=3e-3).model)
    assert after["answer_logprob"] > before["answer_logprob"] + 1.0
    assert after["digit_accuracy"] > before["digit_accuracy"]
    assert after["exact_match"] > before["exact_match"]
