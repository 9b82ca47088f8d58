import pytest
import torch

import emergence
from emergence.model import (
    count_parameters,
    matmul_peak_flops,
    tiny_gpt2,
    training_flops,
)


def test_tiny_gpt2_shape_and_parameter_counts():
    emergence.setup(seed=0)
    model = tiny_gpt2(vocab_size=10, n_layer=1, n_embd=16, n_head=2, n_positions=12)
    embeddings = 10 * 16 + 12 * 16
    assert count_parameters(model) - count_parameters(model, non_embedding=True) == embeddings
    assert count_parameters(model, non_embedding=True) > 12 * 16 * 16 * 0.9


@pytest.mark.parametrize(
    "kwargs, message",
    [({"n_embd": 10, "n_head": 4}, "divisible"), ({"n_layer": 0}, ">= 1")],
)
def test_tiny_gpt2_rejects_bad_shapes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_gpt2(vocab_size=10, **kwargs)


def test_flop_estimates():
    assert training_flops(1000, 10) == 60_000
    with pytest.raises(ValueError):
        training_flops(0, 10)
    state = torch.random.get_rng_state()
    assert matmul_peak_flops(size=64, repeats=2) > 1e6
    assert torch.equal(state, torch.random.get_rng_state()), "measuring must not touch the seed"
