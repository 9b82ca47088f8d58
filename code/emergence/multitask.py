"""A corpus of synthetic "documents" in which several tasks hide, and zero-shot probes of them.

A language model trained on this corpus only ever predicts the next character. Some
documents happen to be additions, some translations through a toy lexicon, some
transitive inferences, some reversed strings. The probes then ask each task on items the
model never saw, with no example in the context. Introduced in the chapter 'Implicit
multi-task learning' (implicit-multitask).
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from transformers import GPT2LMHeadModel

from emergence.model import Batch, tiny_gpt2

#: Every character the corpus uses. The newline starts and ends each document and pads.
ALPHABET = "\n" + string.digits + string.ascii_lowercase + " +=<>,:|"
_INDEX = {char: i for i, char in enumerate(ALPHABET)}

#: The toy lexicon of the translation task: English word -> invented word.
LEXICON = {
    "cat": "mip", "dog": "zul", "sun": "bor", "sky": "kel",
    "red": "fad", "big": "gos", "run": "tun", "eat": "wev",
}

TASKS = ("addition", "translation", "syllogism", "reversal")

#: Characters per training sequence: the longest document, with its two newlines, fits.
CONTEXT = 32

_MAX_ADDEND = 50
_SENTENCE_WORDS = 3
_REVERSAL_LETTERS = 4


def encode(text: str) -> list[int]:
    """Character ids of ``text``.

    Raises:
        ValueError: if ``text`` contains a character outside :data:`ALPHABET`.
    """
    unknown = set(text) - set(ALPHABET)
    if unknown:
        raise ValueError(f"characters outside the corpus alphabet: {sorted(unknown)!r}")
    return [_INDEX[char] for char in text]


@dataclass(frozen=True)
class Example:
    """One document, split into the prompt a probe shows and the answer it expects."""

    task: str
    prompt: str
    answer: str

    @property
    def text(self) -> str:
        return self.prompt + self.answer


def _addition(a: int, b: int) -> Example:
    return Example("addition", f"{a}+{b}=", str(a + b))


def _translation(words: tuple[str, ...]) -> Example:
    return Example("translation", " ".join(words) + " > ", " ".join(LEXICON[w] for w in words))


def _syllogism(x: str, y: str, z: str) -> Example:
    return Example("syllogism", f"{x}<{y},{y}<{z}:", f"{x}<{z}")


def _reversal(letters: str) -> Example:
    return Example("reversal", f"{letters}|", letters[::-1])


@dataclass(frozen=True)
class MultitaskCorpus:
    """Training pools and held-out probe items of every task (see :func:`make_corpus`)."""

    train: dict[str, tuple[Example, ...]]
    held_out: dict[str, tuple[Example, ...]]


def make_corpus(held_out_fraction: float = 0.2, probe_items: int = 100, seed: int = 0
                ) -> MultitaskCorpus:
    """Split every task's items into a training pool and ``probe_items`` held-out items.

    Addition and translation have small item spaces (all sums of two numbers below 50, all
    three-word sentences over the lexicon), so a fraction ``held_out_fraction`` of them is
    set aside and the probes draw from it. The transitive-inference and reversal spaces are
    large, so training draws fresh items and the probe items are simply excluded from
    training. Introduced in the chapter 'Implicit multi-task learning'
    (implicit-multitask-corpus).

    Raises:
        ValueError: if ``held_out_fraction`` is outside (0, 1) or ``probe_items < 1``.
    """
    if not 0 < held_out_fraction < 1:
        raise ValueError(f"held_out_fraction must lie in (0, 1), got {held_out_fraction}")
    if probe_items < 1:
        raise ValueError(f"probe_items must be >= 1, got {probe_items}")
    rng = np.random.default_rng(seed)
    words = list(LEXICON)
    small_spaces = {
        "addition": [_addition(a, b) for a in range(_MAX_ADDEND) for b in range(_MAX_ADDEND)],
        "translation": [_translation((a, b, c)) for a in words for b in words for c in words],
    }
    train, held_out = {}, {}
    for task, items in small_spaces.items():
        order = rng.permutation(len(items))
        cut = int(round(held_out_fraction * len(items)))
        held = [items[i] for i in order[:cut]]
        if len(held) < probe_items:
            raise ValueError(f"{task}: only {len(held)} held-out items for {probe_items} probes")
        held_out[task] = tuple(held[:probe_items])
        train[task] = tuple(items[i] for i in order[cut:])
    letters = np.array(list(string.ascii_lowercase))
    syllogisms, reversals = set(), set()
    while len(syllogisms) < probe_items:
        syllogisms.add(_syllogism(*rng.choice(letters, size=3, replace=False)))
    while len(reversals) < probe_items:
        reversals.add(_reversal("".join(rng.choice(letters, size=_REVERSAL_LETTERS))))
    held_out["syllogism"] = tuple(sorted(syllogisms, key=lambda e: e.text))
    held_out["reversal"] = tuple(sorted(reversals, key=lambda e: e.text))
    # the open-ended tasks draw their training items on the fly (see sample_example)
    train["syllogism"] = train["reversal"] = ()
    return MultitaskCorpus(train=train, held_out=held_out)


def sample_example(corpus: MultitaskCorpus, task: str, rng: np.random.Generator) -> Example:
    """A training document of ``task``, never one of the held-out probe items.

    Raises:
        ValueError: if ``task`` is not one of :data:`TASKS`.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; the tasks are {TASKS}")
    if corpus.train[task]:
        return corpus.train[task][rng.integers(len(corpus.train[task]))]
    excluded = set(corpus.held_out[task])
    letters = np.array(list(string.ascii_lowercase))
    while True:
        if task == "syllogism":
            example = _syllogism(*rng.choice(letters, size=3, replace=False))
        else:
            example = _reversal("".join(rng.choice(letters, size=_REVERSAL_LETTERS)))
        if example not in excluded:
            return example


def new_model(n_layer: int, n_embd: int, n_head: int = 4) -> GPT2LMHeadModel:
    """A fresh tiny GPT-2 over :data:`ALPHABET` with a :data:`CONTEXT`-character window.
    Introduced in the chapter 'Implicit multi-task learning' (implicit-multitask-training).
    """
    return tiny_gpt2(len(ALPHABET), n_layer=n_layer, n_embd=n_embd, n_head=n_head,
                     n_positions=CONTEXT)


def _pad(texts: list[str], context: int) -> Batch:
    ids = torch.zeros((len(texts), context), dtype=torch.long)
    labels = torch.full((len(texts), context), -100, dtype=torch.long)
    for row, text in enumerate(texts):
        # a leading and a trailing newline: the model learns where documents start and end
        encoded = encode("\n" + text + "\n")
        if len(encoded) > context:
            raise ValueError(f"document {text!r} is longer than the context ({context})")
        ids[row, : len(encoded)] = torch.tensor(encoded)
        labels[row, : len(encoded)] = torch.tensor(encoded)
    return ids, labels


def batch_fn(corpus: MultitaskCorpus, batch_size: int = 32, seed: int = 0
             ) -> Callable[[int], Batch]:
    """Batches for :func:`emergence.model.train`: documents of randomly mixed tasks.

    The loss is taken on every character of every document: nothing tells the model which
    task a document belongs to or which part is the "answer". Batch ``step`` depends only on
    ``seed`` and ``step``. Introduced in the chapter 'Implicit multi-task learning'
    (implicit-multitask-corpus).

    Raises:
        ValueError: if ``batch_size < 1``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")

    def make(step: int) -> Batch:
        rng = np.random.default_rng([seed, step])
        tasks = rng.choice(len(TASKS), size=batch_size)
        return _pad([sample_example(corpus, TASKS[t], rng).text for t in tasks], CONTEXT)

    return make


def probe_scores(model: torch.nn.Module, items: tuple[Example, ...]) -> dict[str, float]:
    """Zero-shot exact match and per-character accuracy of the answers to ``items``.

    The model sees only an item's prompt. Greedy decoding reproduces the answer and the
    newline that ends it exactly if and only if, fed the right answer so far, the most
    likely next character is always the right one; so one forward pass over prompt + answer
    decides every item at once. ``exact_match`` is the fraction of items whose answer and
    final newline are all right (all-or-nothing per item); ``character_accuracy`` is the
    fraction of those characters that are right, each predicted from the right ones before
    it (partial credit). Introduced in the chapter 'Implicit multi-task learning'
    (implicit-multitask-probes).

    Raises:
        ValueError: if ``items`` is empty.
    """
    if not items:
        raise ValueError("items is empty")
    ids, _ = _pad([item.text for item in items], CONTEXT)
    with torch.inference_mode():
        predicted = model(input_ids=ids).logits.argmax(-1)
    exact, characters_right, characters = 0, 0, 0
    for row, item in enumerate(items):
        start = 1 + len(item.prompt)  # position of the answer's first character
        # the answer must also be followed by the newline that ends it: "15" is not "151"
        end = start + len(item.answer) + 1
        # the logits at position i predict the character at position i + 1
        right = predicted[row, start - 1 : end - 1] == ids[row, start:end]
        exact += int(right.all())
        characters_right += int(right.sum())
        characters += end - start
    return {"exact_match": exact / len(items), "character_accuracy": characters_right / characters}
