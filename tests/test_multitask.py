import numpy as np
import pytest
import torch

import emergence
from emergence import multitask
from emergence.multitask import Example


@pytest.fixture(scope="module")
def corpus():
    return multitask.make_corpus(held_out_fraction=0.2, probe_items=50, seed=0)


def test_encode_round_trips_and_rejects_unknown_characters():
    ids = multitask.encode("12+7=19\n")
    assert "".join(multitask.ALPHABET[i] for i in ids) == "12+7=19\n"
    with pytest.raises(ValueError, match="outside the corpus alphabet"):
        multitask.encode("Hello")


def test_examples_are_correct():
    assert multitask._addition(37, 45).text == "37+45=82"
    assert multitask._translation(("cat", "red", "sun")).answer == "mip fad bor"
    assert multitask._syllogism("a", "b", "c").text == "a<b,b<c:a<c"
    assert multitask._reversal("abcd").text == "abcd|dcba"


def test_held_out_items_never_appear_in_training(corpus):
    for task in ("addition", "translation"):
        assert not set(corpus.held_out[task]) & set(corpus.train[task])
    rng = np.random.default_rng(1)
    for task in multitask.TASKS:
        assert len(corpus.held_out[task]) == 50
        drawn = {multitask.sample_example(corpus, task, rng) for _ in range(3000)}
        assert not drawn & set(corpus.held_out[task]), task


def test_corpus_is_deterministic():
    a = multitask.make_corpus(probe_items=20, seed=3)
    b = multitask.make_corpus(probe_items=20, seed=3)
    assert a == b


def test_batches_are_deterministic_and_fit_the_context(corpus):
    make = multitask.batch_fn(corpus, batch_size=16, seed=0)
    ids, labels = make(5)
    again, _ = make(5)
    assert torch.equal(ids, again)
    assert ids.shape == (16, multitask.CONTEXT)
    assert ids[:, 0].eq(0).all(), "every document starts with a newline"
    assert (labels[labels != -100] == ids[labels != -100]).all()
    assert not torch.equal(ids, make(6)[0])


def test_bad_arguments_are_rejected(corpus):
    with pytest.raises(ValueError, match="held_out_fraction"):
        multitask.make_corpus(held_out_fraction=1.0)
    with pytest.raises(ValueError, match="probe_items"):
        multitask.make_corpus(probe_items=0)
    with pytest.raises(ValueError, match="unknown task"):
        multitask.sample_example(corpus, "poetry", np.random.default_rng(0))
    with pytest.raises(ValueError, match="batch_size"):
        multitask.batch_fn(corpus, batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        multitask.probe_scores(multitask.new_model(1, 16), ())


class _Oracle(torch.nn.Module):
    """Predicts the next character of the texts it was built for: a perfect model."""

    def __init__(self, texts, wrong_at=None):
        super().__init__()
        self.texts, self.wrong_at = texts, wrong_at

    def forward(self, input_ids):
        logits = torch.zeros(*input_ids.shape, len(multitask.ALPHABET))
        for row, text in enumerate(self.texts):
            target = multitask.encode("\n" + text + "\n")
            for pos in range(len(target) - 1):
                char = target[pos + 1]
                if self.wrong_at is not None and pos == self.wrong_at:
                    char = (char + 1) % len(multitask.ALPHABET)
                logits[row, pos, char] = 1.0

        class Out:
            pass

        out = Out()
        out.logits = logits
        return out


def exact_match(model, items):
    return multitask.probe_scores(model, items)["exact_match"]


def test_probe_exact_match_scores_the_whole_answer():
    items = (Example("addition", "1+2=", "3"), Example("reversal", "abcd|", "dcba"))
    texts = [item.text for item in items]
    assert exact_match(_Oracle(texts), items) == 1.0
    # a mistake inside the prompt does not count; one in an answer or its end of line does
    assert exact_match(_Oracle(texts, wrong_at=1), items) == 1.0
    assert exact_match(_Oracle(texts, wrong_at=5), items) == 0.0
    assert exact_match(_Oracle(texts, wrong_at=7), items) == 0.5


def test_probe_character_accuracy_gives_partial_credit():
    items = (Example("addition", "1+2=", "3"), Example("reversal", "abcd|", "dcba"))
    texts = [item.text for item in items]
    # scored characters: "3" + newline and "dcba" + newline, 7 in all
    assert multitask.probe_scores(_Oracle(texts), items)["character_accuracy"] == 1.0
    # one wrong character in "dcba" (position 7 predicts its "b"): 6 of 7 right
    scores = multitask.probe_scores(_Oracle(texts, wrong_at=7), items)
    assert scores["character_accuracy"] == pytest.approx(6 / 7)
    assert scores["exact_match"] == 0.5


def test_probe_requires_the_end_of_line_after_the_answer():
    items = (Example("addition", "1+2=", "3"),)
    # an oracle for "1+2=34" predicts "3" and then "4" instead of the newline
    scores = multitask.probe_scores(_Oracle(["1+2=34"]), items)
    assert scores["exact_match"] == 0.0
    assert scores["character_accuracy"] == 0.5


def test_an_untrained_model_scores_near_zero(corpus):
    emergence.setup(seed=0, threads=1)
    model = multitask.new_model(n_layer=1, n_embd=16)
    model.eval()
    for task in multitask.TASKS:
        assert exact_match(model, corpus.held_out[task]) <= 0.05
