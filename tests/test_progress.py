import math

import numpy as np
import pytest
import torch

from emergence.progress import (
    answer_logit_grid,
    excluded_loss,
    key_frequency_component,
    restricted_loss,
)
from emergence.tasks import Shape
from emergence.tasks.modular import ModularAddition, answer_scores

P = 13


def fourier_logits(frequencies, scale=4.0, p=P):
    """The logits of the Fourier algorithm: sum_k cos(w_k (a + b - c)), over outputs 0..p-1."""
    a, b, c = np.meshgrid(np.arange(p), np.arange(p), np.arange(p), indexing="ij")
    grid = sum(np.cos(2 * np.pi * k * (a + b - c) / p) for k in frequencies)
    return torch.tensor(scale * grid, dtype=torch.float32)


def all_pairs(p=P):
    a, b = np.divmod(np.arange(p * p), p)
    return torch.from_numpy(np.stack([a, b, np.full(p * p, p), (a + b) % p], axis=1))


def full_loss(grid, tokens):
    return float(torch.nn.functional.cross_entropy(grid[tokens[:, 0], tokens[:, 1]], tokens[:, 3]))


def test_logits_made_of_the_key_frequencies_are_all_kept_or_all_removed():
    grid, tokens = fourier_logits([2, 5]), all_pairs()
    assert torch.allclose(key_frequency_component(grid, [2, 5]), grid, atol=1e-4)
    assert restricted_loss(grid, [2, 5], tokens) == pytest.approx(full_loss(grid, tokens), abs=1e-4)
    # with both waves removed nothing is left: a uniform guess over the p outputs
    assert excluded_loss(grid, [2, 5], tokens) == pytest.approx(math.log(P), abs=1e-4)
    assert full_loss(grid, tokens) < 0.5 * math.log(P)


def test_other_frequencies_are_orthogonal_to_the_key_ones():
    grid, tokens = fourier_logits([2, 5]), all_pairs()
    assert torch.allclose(key_frequency_component(grid, [3]), torch.zeros_like(grid), atol=1e-4)
    assert excluded_loss(grid, [3], tokens) == pytest.approx(full_loss(grid, tokens), abs=1e-4)
    # keeping one of the two waves keeps half the algorithm: worse than both, better than none
    half = restricted_loss(grid, [2], tokens)
    assert full_loss(grid, tokens) < half < math.log(P)


def test_the_constant_is_kept_by_the_restricted_loss_and_left_alone_by_the_excluded_loss():
    grid, tokens = fourier_logits([4]), all_pairs()
    favourite = torch.zeros(P)
    favourite[0] = 3.0  # a bias towards answer 0, the same for every pair
    shifted = grid + favourite
    assert restricted_loss(shifted, [4], tokens) == pytest.approx(full_loss(shifted, tokens), abs=1e-4)
    assert excluded_loss(shifted, [4], tokens) == pytest.approx(
        full_loss(favourite.expand(P, P, P), tokens), abs=1e-4
    )


def test_the_grid_holds_the_answer_logits_of_every_pair():
    task = ModularAddition(7, 0.5, seed=0)
    torch.manual_seed(0)
    model = task.model(Shape(1, 16, 2)).eval()
    grid = answer_logit_grid(model, 7)
    assert grid.shape == (7, 7, 8)
    assert full_loss(grid, task.test_set) == pytest.approx(
        answer_scores(model, task.test_set)["loss"], rel=1e-5
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: key_frequency_component(torch.zeros(5, 4, 6), [1]), r"\(p, p, vocab\)"),
        (lambda: key_frequency_component(torch.zeros(5, 5), [1]), r"\(p, p, vocab\)"),
        (lambda: key_frequency_component(torch.zeros(5, 5, 6), [0]), "frequencies"),
        (lambda: key_frequency_component(torch.zeros(5, 5, 6), [3]), "frequencies"),
        (lambda: key_frequency_component(torch.zeros(5, 5, 6), [1, 1]), "distinct"),
        (lambda: key_frequency_component(torch.zeros(5, 5, 6), []), "frequencies"),
        (lambda: restricted_loss(torch.zeros(5, 5, 6), [1], torch.zeros(0, 4, dtype=torch.long)),
         "non-empty"),
        (lambda: excluded_loss(torch.zeros(5, 5, 6), [1], torch.zeros(2, 3, dtype=torch.long)),
         r"\(n, 4\)"),
        (lambda: answer_logit_grid(torch.nn.Identity(), 2), "p must"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
