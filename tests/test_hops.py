import numpy as np
import pytest
import torch
from oracles import NextTokenOracle
from transformers.modeling_outputs import CausalLMOutput

from emergence.tasks import IGNORE, Shape
from emergence.tasks.hops import HopTask


def _decode(task, row):
    s = task.symbols
    f = {t // s: t % s for t in row[:s]}
    questions = [(row[i] - s * s - s + 1, row[i + 1] - s * s, row[i + 2] - s * s)
                 for i in range(s, task.context, 3)]
    return f, questions


def test_sequences_list_a_permutation_and_correct_answers():
    task = HopTask(symbols=5, max_hops=3, queries=4)
    rng = np.random.default_rng(0)
    hops = rng.integers(1, 4, size=(50, 4))
    ids = task.sequences(hops, rng)
    assert ids.shape == (50, task.context) and int(ids.max()) < task.vocab_size
    for row, row_hops in zip(ids.tolist(), hops):
        f, questions = _decode(task, row)
        assert sorted(f) == sorted(f.values()) == list(range(5))
        assert len({x for _, x, _ in questions}) == 4, "queries are distinct"
        for (k, x, answer), expected_k in zip(questions, row_hops):
            assert k == expected_k
            y = x
            for _ in range(k):
                y = f[y]
            assert answer == y


def test_batches_mask_everything_but_the_answers():
    task = HopTask()
    ids, labels = task.batches(batch_size=8, seed=1)(3)
    again, _ = task.batches(batch_size=8, seed=1)(3)
    assert torch.equal(ids, again)
    assert not torch.equal(ids, task.batches(batch_size=8, seed=1)(4)[0])
    kept = (labels != IGNORE).nonzero()[:, 1].unique().tolist()
    assert kept == task.answer_positions
    assert torch.equal(labels[:, kept], ids[:, kept])


def test_evaluate_a_perfect_and_a_fresh_model():
    task = HopTask(max_hops=3)
    assert task.evaluate(NextTokenOracle(task.vocab_size)) == {"1-hop": 1.0, "2-hop": 1.0, "3-hop": 1.0}
    torch.manual_seed(0)
    fresh = task.model(Shape(1, 16, 4)).eval()
    assert all(score < 0.5 for score in task.evaluate(fresh).values())


class _AnswersOneHop(torch.nn.Module):
    """Answers every question with f(x), right for one hop only."""

    def __init__(self, task):
        super().__init__()
        self.task = task

    def forward(self, input_ids):
        s = self.task.symbols
        logits = torch.zeros(*input_ids.shape, self.task.vocab_size)
        for row, seq in enumerate(input_ids.tolist()):
            f = {t // s: t % s for t in seq[:s]}
            for p in self.task.answer_positions:
                logits[row, p - 1, s * s + f[seq[p - 1] - s * s]] = 1.0

        return CausalLMOutput(logits=logits)


def test_evaluate_scores_each_hop_count_separately():
    task = HopTask(eval_items=16)
    scores = task.evaluate(_AnswersOneHop(task))
    assert scores["1-hop"] == 1.0
    # f(x) = f(f(x)) only where f fixes f(x): rare, so two hops score low
    assert scores["2-hop"] < 0.5


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="symbols"):
        HopTask(symbols=1)
    with pytest.raises(ValueError, match="queries"):
        HopTask(symbols=3, queries=4)
    task = HopTask()
    with pytest.raises(ValueError, match="shape"):
        task.sequences(np.ones((2, 3), dtype=int), np.random.default_rng(0))
    with pytest.raises(ValueError, match="hop counts"):
        task.sequences(np.full((2, task.queries), 3), np.random.default_rng(0))
    with pytest.raises(ValueError, match="batch_size"):
        task.batches(batch_size=0)
    with pytest.raises(ValueError, match="eval_items"):
        HopTask(eval_items=0)
