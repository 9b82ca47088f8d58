"""Tests of emergence.tasks.bytes: the corpus, the split, the task, held-out loss, budgets."""

import math

import pytest
import torch

from emergence.model import count_parameters
from emergence.tasks import Shape
from emergence.tasks.bytes import (
    VOCAB_SIZE,
    ByteCorpus,
    byte_lm_parameters,
    held_out_loss,
    load_corpus,
    split_corpus,
    tokens_for_compute,
)
from emergence.training import train, train_family

TEXT = bytes(range(256)) * 8  # every byte value, 2048 bytes
SMALL = Shape(n_layer=1, n_embd=16, n_head=2)


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def untrained(shape: Shape = SMALL, context: int = 16):
    torch.manual_seed(0)
    return ByteCorpus(TEXT, TEXT, context=context).model(shape)


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


def test_batches_are_windows_of_the_text_and_depend_only_on_seed_and_step():
    corpus = ByteCorpus(TEXT, TEXT[:64], context=16)
    batches = corpus.batches(4, seed=3)
    ids, labels = batches(5)
    assert ids.shape == (4, 16) and ids.dtype == torch.long
    assert torch.equal(ids, labels), "GPT-2 shifts the labels itself"
    for window in ids:
        start = TEXT.index(bytes(window[:2].tolist()))
        assert bytes(window.tolist()) == TEXT[start:start + 16]
    # asked in another order, or from a fresh source, step 5 is the same batch
    batches(0)
    assert torch.equal(batches(5)[0], ids)
    assert torch.equal(corpus.batches(4, seed=3)(5)[0], ids)
    assert not torch.equal(corpus.batches(4, seed=4)(5)[0], ids)
    assert not torch.equal(batches(6)[0], ids)


def test_task_rejects_bad_arguments():
    with pytest.raises(ValueError, match="context"):
        ByteCorpus(TEXT, TEXT, context=1)
    with pytest.raises(ValueError, match="train_bytes has 5 bytes"):
        ByteCorpus(b"short", TEXT, context=16)
    with pytest.raises(ValueError, match="held_out has 5 bytes"):
        ByteCorpus(TEXT, b"short", context=16)
    with pytest.raises(ValueError, match="bytes"):
        ByteCorpus("text" * 10, TEXT, context=16)  # type: ignore[arg-type]
    corpus = ByteCorpus(TEXT, TEXT, context=16)
    with pytest.raises(ValueError, match="batch_size"):
        corpus.batches(0)
    with pytest.raises(ValueError, match="seed"):
        corpus.batches(4, seed=-1)
    with pytest.raises(ValueError, match="step"):
        corpus.batches(4)(-1)


def test_training_is_seeded_and_counts_tokens():
    corpus = ByteCorpus(TEXT, TEXT, context=16)
    first, second = (train(corpus, SMALL, 5, seed=3, batch_size=4, lr=3e-3) for _ in range(2))
    assert first.log.tokens == 4 * 16 * 5
    assert first.log.losses == second.log.losses
    other = train(corpus, SMALL, 5, seed=4, batch_size=4, lr=3e-3)
    assert other.log.losses != first.log.losses


def test_family_training_matches_training_one_by_one():
    corpus = ByteCorpus(TEXT, TEXT, context=16)
    settings = dict(batch_size=4, lr=3e-3, warmup_steps=2)
    together = train_family(corpus, SMALL, [0, 1], 20, **settings)
    for run in together:
        alone = train(corpus, SMALL, 20, seed=run.seed, **settings)
        torch.testing.assert_close(torch.tensor(run.log.losses), torch.tensor(alone.log.losses),
                                   rtol=1e-4, atol=1e-5)


def test_training_lowers_held_out_loss_on_repetitive_text():
    text = b"abcdefgh" * 512
    corpus = ByteCorpus(text, text, context=16)
    run = train(corpus, Shape(1, 32, 2), 60, batch_size=16, lr=1e-2, warmup_steps=6)
    loss = corpus.evaluate(run.model)["loss"]
    assert loss == held_out_loss(run.model, text, context=16)
    assert loss < 0.5 * math.log(VOCAB_SIZE)


def test_untrained_model_is_near_uniform():
    loss = held_out_loss(untrained(), TEXT, context=16)
    assert abs(loss - math.log(VOCAB_SIZE)) < 0.1


def test_held_out_loss_uses_max_bytes_and_rejects_bad_input():
    model = untrained()
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


@pytest.mark.parametrize("shape", [Shape(1, 6, 2), Shape(2, 16, 2), Shape(3, 24, 4)])
def test_byte_lm_parameters_matches_the_built_model(shape):
    # counted by hand for a GPT-2 block of width d: attention 4d^2 + 4d, MLP 8d^2 + 5d, two
    # layer norms 4d; a final layer norm 2d; embeddings (256 + context) d, the output head
    # tied to the token embedding
    d = shape.n_embd
    for context in (16, 64):
        model = untrained(shape, context)
        assert byte_lm_parameters(shape, context) == count_parameters(model)
        assert count_parameters(model, non_embedding=True) == (
            shape.n_layer * (12 * d**2 + 13 * d) + 2 * d
        )
        assert count_parameters(model) - count_parameters(model, non_embedding=True) == (
            (VOCAB_SIZE + context) * d
        )


def test_byte_lm_parameters_rejects_bad_input():
    with pytest.raises(ValueError, match="Shape"):
        byte_lm_parameters((1, 16, 2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="context"):
        byte_lm_parameters(SMALL, context=1)


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
