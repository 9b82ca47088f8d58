"""Tests of emergence.bytelm: the corpus, the split, training and held-out loss."""

import math

import pytest
import torch

from emergence.bytelm import (
    VOCAB_SIZE,
    ByteLMRun,
    byte_lm_parameters,
    held_out_loss,
    load_corpus,
    split_corpus,
    tokens_for_compute,
    train_byte_lm,
)
from emergence.model import count_parameters, tiny_gpt2

TEXT = bytes(range(256)) * 8  # every byte value, 2048 bytes


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_corpus_is_deterministic_english_utf8():
    data = load_corpus()
    assert data == load_corpus()
    assert len(data) > 100_000
    text = data.decode("utf-8")
    assert "the" in text and "class" in text


def test_split_is_contiguous_and_complete():
    train_part, held_out = split_corpus(TEXT, held_out_fraction=0.25)
    assert train_part + held_out == TEXT
    assert len(held_out) == 512


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="held_out_fraction"):
        split_corpus(TEXT, fraction)


def test_split_rejects_non_bytes_and_tiny_data():
    with pytest.raises(ValueError, match="bytes"):
        split_corpus("text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="too short"):
        split_corpus(b"a", 0.1)


def test_training_is_seeded_and_counts_tokens():
    runs = [
        train_byte_lm(1, 16, 2, TEXT, tokens=4 * 16 * 5, context=16, batch_size=4, seed=3)
        for _ in range(2)
    ]
    first, second = runs
    assert isinstance(first, ByteLMRun)
    assert first.steps == 5 and first.log.tokens == 4 * 16 * 5
    assert first.log.losses == second.log.losses
    # counted by hand for a GPT-2 block of width d: attention 4d^2 + 4d, MLP 8d^2 + 5d, two
    # layer norms 4d; a final layer norm 2d; embeddings (256 + context) d, the output head
    # tied to the token embedding
    d, n_layer, context = 16, 1, 16
    by_hand = n_layer * (12 * d**2 + 13 * d) + 2 * d
    assert first.n_non_embedding == by_hand
    assert first.n_parameters == by_hand + (VOCAB_SIZE + context) * d
    other = train_byte_lm(1, 16, 2, TEXT, tokens=4 * 16 * 5, context=16, batch_size=4, seed=4)
    assert other.log.losses != first.log.losses


def test_training_lowers_held_out_loss_on_repetitive_text():
    text = b"abcdefgh" * 512
    run = train_byte_lm(1, 32, 2, text, tokens=16 * 16 * 60, context=16, batch_size=16, lr=1e-2)
    assert held_out_loss(run.model, text, context=16) < 0.5 * math.log(VOCAB_SIZE)


def test_training_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least one batch"):
        train_byte_lm(1, 16, 2, TEXT, tokens=10, context=16, batch_size=4)
    with pytest.raises(ValueError, match="context"):
        train_byte_lm(1, 16, 2, TEXT, tokens=1000, context=1)
    with pytest.raises(ValueError, match="fewer than one context"):
        train_byte_lm(1, 16, 2, b"short", tokens=1000, context=16, batch_size=4)
    with pytest.raises(ValueError, match="divisible"):
        train_byte_lm(1, 16, 3, TEXT, tokens=1000, context=16, batch_size=4)


def test_untrained_model_is_near_uniform():
    torch.manual_seed(0)
    model = tiny_gpt2(VOCAB_SIZE, n_layer=1, n_embd=16, n_head=2, n_positions=16)
    loss = held_out_loss(model, TEXT, context=16)
    assert abs(loss - math.log(VOCAB_SIZE)) < 0.1


def test_held_out_loss_uses_max_bytes_and_rejects_bad_input():
    torch.manual_seed(0)
    model = tiny_gpt2(VOCAB_SIZE, n_layer=1, n_embd=16, n_head=2, n_positions=16)
    full = held_out_loss(model, TEXT, context=16)
    part = held_out_loss(model, TEXT, context=16, max_bytes=32)
    assert part == held_out_loss(model, TEXT[:32], context=16)
    assert part != full
    with pytest.raises(ValueError, match="fewer than one context"):
        held_out_loss(model, TEXT[:8], context=16)
    with pytest.raises(ValueError, match="positions"):
        held_out_loss(model, TEXT, context=32)
    with pytest.raises(ValueError, match="max_bytes"):
        held_out_loss(model, TEXT, context=16, max_bytes=0)


@pytest.mark.parametrize("shape", [(1, 6, 2), (2, 16, 2), (3, 24, 4)])
def test_byte_lm_parameters_matches_the_built_model(shape):
    n_layer, n_embd, n_head = shape
    for context in (16, 64):
        model = tiny_gpt2(
            VOCAB_SIZE, n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_positions=context
        )
        assert byte_lm_parameters(n_layer, n_embd, n_head, context) == count_parameters(model)


def test_byte_lm_parameters_rejects_bad_shapes():
    with pytest.raises(ValueError, match="divisible"):
        byte_lm_parameters(1, 16, 3)
    with pytest.raises(ValueError, match=">= 1"):
        byte_lm_parameters(0, 16, 2)
    with pytest.raises(ValueError, match="context"):
        byte_lm_parameters(1, 16, 2, context=1)


def test_tokens_for_compute_rounds_to_whole_batches():
    # 6 x 1000 parameters x 8 batches of 4 x 16 bytes = 3,072,000 FLOP
    assert tokens_for_compute(3_072_000, 1000, batch_size=4, context=16) == 8 * 64
    # 8.4 batches round down, 8.6 up; a tiny budget still buys one batch
    assert tokens_for_compute(3_072_000 * 8.4 / 8, 1000, batch_size=4, context=16) == 8 * 64
    assert tokens_for_compute(3_072_000 * 8.6 / 8, 1000, batch_size=4, context=16) == 9 * 64
    assert tokens_for_compute(1.0, 1000, batch_size=4, context=16) == 64


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"compute": 0.0, "n_parameters": 10}, "compute"),
        ({"compute": float("inf"), "n_parameters": 10}, "compute"),
        ({"compute": float("nan"), "n_parameters": 10}, "compute"),
        ({"compute": 1e6, "n_parameters": 0}, "n_parameters"),
        ({"compute": 1e6, "n_parameters": 10, "batch_size": 0}, "batch_size"),
        ({"compute": 1e6, "n_parameters": 10, "context": 1}, "context"),
    ],
)
def test_tokens_for_compute_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tokens_for_compute(**kwargs)
