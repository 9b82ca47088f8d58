import numpy as np
import pytest
import torch
from transformers.modeling_outputs import CausalLMOutput

from emergence.geometry import principal_components
from emergence.tasks import IGNORE, Shape
from emergence.tasks.modular import (
    ModularAddition,
    answer_scores,
    frequency_energy,
    modular_addition_split,
    top_frequencies,
    weight_norm,
)


def test_split_covers_every_pair_once_with_correct_answers():
    train, test = modular_addition_split(7, 0.4, seed=1)
    both = torch.cat([train, test])
    assert len(train) == round(0.4 * 49) and len(both) == 49
    assert len({tuple(row[:2].tolist()) for row in both}) == 49
    assert (both[:, 2] == 7).all()
    assert ((both[:, 0] + both[:, 1]) % 7 == both[:, 3]).all()


def test_task_gives_the_whole_training_set_every_step_with_the_loss_on_the_answer_only():
    task = ModularAddition(5, 0.5, seed=0)
    assert task.vocab_size == 6 and task.context == 4
    batches = task.batches(batch_size=3, seed=7)  # full batch: size and seed are ignored
    ids, labels = batches(0)
    assert torch.equal(ids, task.train_set) and torch.equal(batches(99)[0], ids)
    assert (labels[:, :3] == IGNORE).all()
    assert torch.equal(labels[:, 3], ids[:, 3])


class _FixedLogits(torch.nn.Module):
    """Returns the same logits over the answer for every row: a model with known scores."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.as_tensor(logits, dtype=torch.float32)

    def forward(self, input_ids):
        out = torch.zeros(*input_ids.shape, len(self.logits))
        out[:, -1] = self.logits

        return CausalLMOutput(logits=out)


def test_answer_scores_give_accuracy_and_cross_entropy():
    # p = 3: rows [a, b, =, c]; the model puts probability 0.5, 0.25, 0.25 on answers 0, 1, 2
    logits = np.log([0.5, 0.25, 0.25, 1e-12])
    tokens = torch.tensor([[0, 0, 3, 0], [1, 2, 3, 0], [1, 0, 3, 1], [2, 2, 3, 1]])
    scores = answer_scores(_FixedLogits(logits), tokens)
    assert scores["accuracy"] == 0.5  # answer 0 is right on the two rows whose c is 0
    assert scores["loss"] == pytest.approx((2 * np.log(2) + 2 * np.log(4)) / 4, rel=1e-5)


def test_evaluate_scores_both_splits():
    task = ModularAddition(3, 0.5, seed=0)
    scores = task.evaluate(_FixedLogits(np.log([0.5, 0.25, 0.25, 1e-12])))
    assert set(scores) == {"train_accuracy", "train_loss", "test_accuracy", "test_loss"}
    for split, tokens in (("train", task.train_set), ("test", task.test_set)):
        assert scores[f"{split}_accuracy"] == pytest.approx(float((tokens[:, 3] == 0).float().mean()))


def test_one_gradient_step_lowers_the_answer_loss():
    # the loss moves with every small change of the weights, unlike accuracy
    task = ModularAddition(5, 0.8, seed=0)
    torch.manual_seed(0)
    model = task.model(Shape(1, 16, 2))
    before = answer_scores(model, task.train_set)["loss"]
    ids, labels = task.batches(len(task.train_set))(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model(input_ids=ids, labels=labels).loss.backward()
    optimizer.step()
    assert answer_scores(model, task.train_set)["loss"] < before


def test_weight_norm_is_the_norm_of_all_parameters():
    layer = torch.nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 0.0]]))
        layer.bias.fill_(4.0)
    assert weight_norm(layer) == pytest.approx(5.0)


def circle(p, k, d=8, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * k * np.arange(p) / p
    basis = np.linalg.qr(rng.normal(size=(d, 2)))[0].T
    return np.stack([np.cos(angles), np.sin(angles)], axis=1) @ basis + noise * rng.normal(
        size=(p, d)
    )


def test_a_circle_embedding_has_all_its_energy_in_one_frequency():
    frequencies, share = top_frequencies(circle(23, k=5), 1)
    assert frequencies == [5]
    assert share == pytest.approx(1.0)
    energy = frequency_energy(circle(23, k=5))
    assert energy[5 - 1] == pytest.approx(1.0) and energy.argmax() == 5 - 1


def test_a_random_embedding_spreads_its_energy():
    random = np.random.default_rng(0).normal(size=(23, 64))
    _, share = top_frequencies(random, 2)
    assert share < 0.4  # 2 of 11 frequencies: about 0.18 expected


def test_top_principal_components_of_a_noisy_circle_are_a_circle():
    points, explained = principal_components(circle(31, k=3, noise=0.02), 2)
    radii = np.hypot(points[:, 0], points[:, 1])
    assert explained.sum() > 0.95 and explained[0] >= explained[1]
    assert radii.std() / radii.mean() < 0.1


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: modular_addition_split(1, 0.5), "p must"),
        (lambda: modular_addition_split(5, 0.0), "empty"),
        (lambda: modular_addition_split(5, 1.0), "empty"),
        (lambda: ModularAddition(5, 1.0), "empty"),
        (lambda: frequency_energy(np.ones((7, 3))), "constant"),
        (lambda: frequency_energy(np.ones(7)), "residues"),
        (lambda: top_frequencies(circle(7, 1), 4), "k must"),
        (lambda: principal_components(np.ones((7, 2)), 3), "n must"),
        (lambda: answer_scores(_FixedLogits([0.0] * 6), torch.zeros(0, 4, dtype=torch.long)),
         "non-empty"),
        (lambda: answer_scores(_FixedLogits([0.0] * 6), torch.zeros(3, 3, dtype=torch.long)),
         r"\(n, 4\)"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
