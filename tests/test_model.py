import pytest
import torch

import emergence
from emergence.model import (
    count_parameters,
    matmul_peak_flops,
    tiny_gpt2,
    train,
    training_flops,
)


def copy_task_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences whose second half repeats the first: learnable in a few dozen steps."""
    generator = torch.Generator().manual_seed(step)
    half = torch.randint(1, 10, (16, 6), generator=generator)
    ids = torch.cat([half, half], dim=1)
    labels = ids.clone()
    labels[:, :6] = -100
    return ids, labels


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


def test_train_lowers_the_loss_and_is_repeatable():
    runs = []
    for _ in range(2):
        emergence.setup(seed=0)
        model = tiny_gpt2(vocab_size=10, n_layer=2, n_embd=32, n_head=2, n_positions=12)
        calls = []
        log = train(
            model,
            copy_task_batch,
            steps=150,
            lr=3e-3,
            eval_fn=lambda m: calls.append(m.training) or {"calls": float(len(calls))},
            eval_steps=[75, 150],
        )
        runs.append(log.losses)
    assert runs[0] == runs[1]
    assert sum(log.losses[-5:]) / 5 < 0.5 * sum(log.losses[:5]) / 5
    assert log.eval_steps == [75, 150] and calls == [False, False]
    assert log.tokens == 150 * 16 * 12 and log.tokens_per_second > 0
    assert not model.training


def test_train_rejects_bad_arguments():
    model = tiny_gpt2(vocab_size=10, n_layer=1, n_embd=16, n_head=2)
    with pytest.raises(ValueError, match="steps"):
        train(model, copy_task_batch, steps=0)
    with pytest.raises(ValueError, match="eval_fn"):
        train(model, copy_task_batch, steps=1, eval_steps=[1])


def test_flop_estimates():
    assert training_flops(1000, 10) == 60_000
    with pytest.raises(ValueError):
        training_flops(0, 10)
    state = torch.random.get_rng_state()
    assert matmul_peak_flops(size=64, repeats=2) > 1e6
    assert torch.equal(state, torch.random.get_rng_state()), "measuring must not touch the seed"
