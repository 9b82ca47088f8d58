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


# TinyGPT is GPT-2 written out; transformers' GPT2LMHeadModel is the reference it must equal
SHAPES = [  # (vocab_size, n_layer, n_embd, n_head, n_positions)
    (14, 2, 16, 2, 20),
    (97, 1, 32, 4, 8),
    (20, 3, 24, 3, 12),
]


def hugging_face_gpt2(vocab_size, n_layer, n_embd, n_head, n_positions):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=vocab_size, n_positions=n_positions, n_embd=n_embd,
                        n_layer=n_layer, n_head=n_head, resid_pdrop=0.0, embd_pdrop=0.0,
                        attn_pdrop=0.0)
    model = GPT2LMHeadModel(config)
    model.loss_type = "ForCausalLM"
    return model


def twins(shape, seed=3):
    """transformers' model and ours from one seed, and a draw from the stream after each."""
    torch.manual_seed(seed)
    reference = hugging_face_gpt2(*shape)
    after_reference = torch.rand(4)
    torch.manual_seed(seed)
    ours = tiny_gpt2(*shape)
    after_ours = torch.rand(4)
    return reference, ours, torch.equal(after_reference, after_ours)


@pytest.mark.parametrize("shape", SHAPES)
def test_tiny_gpt2_initialises_as_hugging_face_gpt2(shape):
    reference, ours, stream_in_step = twins(shape)
    expected, actual = dict(reference.named_parameters()), dict(ours.named_parameters())
    assert list(actual) == list(expected)
    for name, parameter in expected.items():
        assert torch.equal(actual[name], parameter), name
    assert stream_in_step, "building the model must draw as many random numbers as transformers"


@pytest.mark.parametrize("shape", SHAPES)
def test_tiny_gpt2_computes_as_hugging_face_gpt2_bit_for_bit(shape):
    vocab_size, n_positions = shape[0], shape[-1]
    reference, ours, _ = twins(shape)
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, vocab_size, (6, n_positions), generator=generator)
    labels = ids.clone()
    labels[:, :3] = -100
    for model in (reference, ours):
        model.eval()
    with torch.inference_mode():
        expected, actual = reference(input_ids=ids, labels=labels), ours(input_ids=ids, labels=labels)
    assert torch.equal(actual.logits, expected.logits)
    assert torch.equal(actual.loss, expected.loss)
    # and in training: the same gradients make the same AdamW steps
    losses = {}
    for name, model in (("reference", reference), ("ours", ours)):
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        losses[name] = []
        for step in range(20):
            batch = torch.randint(0, vocab_size, (8, n_positions),
                                  generator=torch.Generator().manual_seed(step))
            loss = model(input_ids=batch, labels=batch).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses[name].append(loss.item())
    assert losses["ours"] == losses["reference"]


@pytest.mark.parametrize("shape", SHAPES)
def test_cached_decoding_is_hugging_face_decoding(shape):
    vocab_size, n_positions = shape[0], shape[-1]
    reference, ours, _ = twins(shape)
    ids = torch.randint(0, vocab_size, (5, n_positions), generator=torch.Generator().manual_seed(1))
    prompt = n_positions // 2
    steps = {}
    with torch.inference_mode():
        for name, model in (("reference", reference), ("ours", ours)):
            model.eval()
            output = model(input_ids=ids[:, :prompt], use_cache=True)
            steps[name] = [output.logits[:, -1]]
            for position in range(prompt, n_positions):
                output = model(input_ids=ids[:, position:position + 1],
                               past_key_values=output.past_key_values, use_cache=True)
                steps[name].append(output.logits[:, -1])
        whole = ours(input_ids=ids).logits
    for expected, actual in zip(steps["reference"], steps["ours"], strict=True):
        assert torch.equal(actual, expected)
    # one position at a time computes what the whole sequence at once computes
    torch.testing.assert_close(torch.stack(steps["ours"][1:], dim=1), whole[:, prompt:],
                               rtol=1e-5, atol=1e-5)


def test_tiny_gpt2_rejects_inputs_beyond_its_positions():
    model = tiny_gpt2(vocab_size=10, n_layer=1, n_embd=8, n_head=2, n_positions=4)
    with pytest.raises(ValueError, match="exceed the model's 4"):
        model(input_ids=torch.zeros(1, 5, dtype=torch.long))
    past = model(input_ids=torch.zeros(1, 2, dtype=torch.long), use_cache=True).past_key_values
    with pytest.raises(ValueError, match="one position at a time"):
        model(input_ids=torch.zeros(1, 2, dtype=torch.long), past_key_values=past)


def test_the_training_chapters_need_nothing_from_transformers():
    import subprocess
    import sys

    modules = ["emergence", "emergence.training", "emergence.progress", "emergence.spectral",
               "emergence.geometry", "emergence.metrics", "emergence.scaling",
               "emergence.published", "emergence.tasks.addition", "emergence.tasks.bytes",
               "emergence.tasks.hops", "emergence.tasks.modular", "emergence.tasks.multitask"]
    code = (f"import importlib, sys\nfor name in {modules!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'transformers'))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", f"transformers was imported: {loaded.stdout[:300]}"
