import numpy as np
import pytest
import torch
from oracles import NextTokenOracle
from transformers.modeling_outputs import CausalLMOutput

import emergence
from emergence.tasks import IGNORE, Shape
from emergence.tasks import multitask
from emergence.tasks.multitask import Example


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


def _task_of(text):
    """The hidden task a training document belongs to, checked against its own rule."""
    if "+" in text:
        a, rest = text.split("+")
        b, total = rest.split("=")
        assert int(a) + int(b) == int(total), text
        return "addition"
    if ">" in text:
        english, invented = text.split(" > ")
        assert " ".join(multitask.LEXICON[w] for w in english.split()) == invented, text
        return "translation"
    if "<" in text:
        assert text[0] != text[2] != text[6] != text[0], text
        assert text == multitask._syllogism(text[0], text[2], text[6]).text, text
        return "syllogism"
    assert text == multitask._reversal(text[:4]).text, text
    return "reversal"


def test_training_documents_are_right_and_never_probe_items(corpus):
    for task in ("addition", "translation"):
        assert not set(corpus.held_out[task]) & set(corpus.train[task])
    held_out = {item.text for items in corpus.held_out.values() for item in items}
    assert all(len(items) == 50 for items in corpus.held_out.values())
    make = corpus.batches(batch_size=256, seed=1)
    drawn = {task: set() for task in multitask.HIDDEN_TASKS}
    for step in range(12):
        for row in make(step)[0]:
            text = multitask.decode(row)
            drawn[_task_of(text)].add(text)
    for task, texts in drawn.items():
        assert len(texts) > 100, f"{task}: every task is drawn, and drawn afresh"
        assert not texts & held_out, task


def test_the_probe_items_of_the_open_ended_tasks_are_excluded_when_drawn(corpus):
    # 200,000 four-letter strings out of 26**4 would hit one of the 50 probe items about 22
    # times if the draw did not redraw them
    rng = np.random.default_rng(0)
    ids, lengths = corpus._draw("reversal", 200_000, rng)
    texts = {multitask.decode(row) for row in ids[:, :11]}
    assert not texts & {item.text for item in corpus.held_out["reversal"]}
    assert (lengths == 11).all()


def test_corpus_is_deterministic():
    a = multitask.make_corpus(probe_items=20, seed=3)
    b = multitask.make_corpus(probe_items=20, seed=3)
    assert a == b


def test_batches_are_deterministic_and_fit_the_context(corpus):
    make = corpus.batches(batch_size=16, seed=0)
    ids, labels = make(5)
    again, _ = make(5)
    assert torch.equal(ids, again)
    longest = max(len(multitask.decode(row)) for row in ids) + 2
    assert ids.shape == (16, longest) and longest <= multitask.CONTEXT
    assert ids[:, 0].eq(0).all(), "every document starts with a newline"
    kept = labels != IGNORE
    assert (labels[kept] == ids[kept]).all()
    # the loss covers each document and its final newline, not the padding after it
    for row, label_row in zip(ids, labels):
        length = len(multitask.decode(row)) + 2
        assert label_row[:length].ne(IGNORE).all()
        assert label_row[length:].eq(IGNORE).all()
    assert not torch.equal(ids, make(6)[0])


def test_bad_arguments_are_rejected(corpus):
    with pytest.raises(ValueError, match="held_out_fraction"):
        multitask.make_corpus(held_out_fraction=1.0)
    with pytest.raises(ValueError, match="probe_items"):
        multitask.make_corpus(probe_items=0)
    with pytest.raises(ValueError, match="batch_size"):
        corpus.batches(batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        multitask.probe_scores(corpus.model(Shape(1, 16, 4)), ())


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

        return CausalLMOutput(logits=logits)


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
    model = corpus.model(Shape(1, 16, 4)).eval()
    scores = corpus.evaluate(model)
    assert sorted(scores) == sorted(f"{task} {name}" for task in multitask.HIDDEN_TASKS
                                    for name in ("exact_match", "character_accuracy"))
    for task in multitask.HIDDEN_TASKS:
        assert scores[f"{task} exact_match"] <= 0.05
        assert scores[f"{task} exact_match"] == exact_match(model, corpus.held_out[task])


def test_evaluate_scores_a_perfect_model_perfectly(corpus):
    assert set(corpus.evaluate(NextTokenOracle(len(multitask.ALPHABET))).values()) == {1.0}


def test_cutting_the_padding_changes_no_loss(corpus):
    emergence.setup(seed=0, threads=1)
    model = corpus.model(Shape(1, 16, 4)).eval()
    ids, labels = corpus.batches(batch_size=8, seed=2)(0)
    extra = multitask.CONTEXT - ids.shape[1]
    assert extra > 0
    padded_ids = torch.nn.functional.pad(ids, (0, extra), value=0)
    padded_labels = torch.nn.functional.pad(labels, (0, extra), value=IGNORE)
    with torch.inference_mode():
        cut = model(input_ids=ids, labels=labels).loss
        full = model(input_ids=padded_ids, labels=padded_labels).loss
    assert torch.allclose(cut, full, atol=1e-6)
