"""A corpus of synthetic "documents" in which several tasks hide, and zero-shot probes of them.

A language model trained on this corpus only ever predicts the next character. Some
documents happen to be additions, some translations through a toy lexicon, some
transitive inferences, some reversed strings. The probes then ask each hidden task on items
the model never saw, with no example in the context. Introduced in the chapter 'Implicit
multi-task learning' (implicit-multitask).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

import numpy as np
import torch

from emergence.model import TinyGPT
from emergence.tasks import IGNORE, Batch, Batches, Task

#: Every character the corpus uses. The newline starts and ends each document and pads.
ALPHABET = "\n" + string.digits + string.ascii_lowercase + " +=<>,:|"
_INDEX = {char: i for i, char in enumerate(ALPHABET)}
_NEWLINE = _INDEX["\n"]
_FIRST_LETTER = _INDEX["a"]
_LETTERS = len(string.ascii_lowercase)

#: The toy lexicon of the translation task: English word -> invented word.
LEXICON = {
    "cat": "mip", "dog": "zul", "sun": "bor", "sky": "kel",
    "red": "fad", "big": "gos", "run": "tun", "eat": "wev",
}

#: The tasks hidden in the corpus, in the order the scores and the batches use.
HIDDEN_TASKS = ("addition", "translation", "syllogism", "reversal")

#: Characters per training sequence: the longest document, with its two newlines, fits.
CONTEXT = 32

_MAX_ADDEND = 50
_REVERSAL_LETTERS = 4
# Templates of the open-ended tasks: letter slot i of the document is filled with the i-th
# drawn letter; the other characters are fixed.
_SYLLOGISM = "\n0<1,1<2:0<2\n"
_REVERSAL = "\n0123|3210\n"


def encode(text: str) -> list[int]:
    """Character ids of ``text``.

    Raises:
        ValueError: if ``text`` contains a character outside :data:`ALPHABET`.
    """
    unknown = set(text) - set(ALPHABET)
    if unknown:
        raise ValueError(f"characters outside the corpus alphabet: {sorted(unknown)!r}")
    return [_INDEX[char] for char in text]


def decode(ids: torch.Tensor | np.ndarray | list[int]) -> str:
    """The text of a row of character ids, without the newlines that frame a document.
    Introduced in the chapter 'Implicit multi-task learning' (implicit-multitask-corpus)."""
    return "".join(ALPHABET[int(i)] for i in ids).strip("\n")


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


def _pad(texts: list[str]) -> tuple[torch.Tensor, np.ndarray]:
    """Documents framed by newlines and padded with newlines to :data:`CONTEXT`; their lengths."""
    ids = torch.full((len(texts), CONTEXT), _NEWLINE, dtype=torch.long)
    lengths = np.zeros(len(texts), dtype=np.int64)
    for row, text in enumerate(texts):
        # a leading and a trailing newline: the model learns where documents start and end
        encoded = encode("\n" + text + "\n")
        if len(encoded) > CONTEXT:
            raise ValueError(f"document {text!r} is longer than the context ({CONTEXT})")
        ids[row, : len(encoded)] = torch.tensor(encoded)
        lengths[row] = len(encoded)
    return ids, lengths


def _letter_key(letters: np.ndarray) -> np.ndarray:
    """One integer per row of letter indices (0..25): equal rows, equal keys."""
    return letters @ (_LETTERS ** np.arange(letters.shape[1]))


def _template_rows(template: str, letters: np.ndarray) -> np.ndarray:
    """Documents made from ``template``, its digit slots filled with the rows of ``letters``."""
    rows = np.empty((len(letters), len(template)), dtype=np.int64)
    for position, char in enumerate(template):
        if char.isdigit():
            rows[:, position] = _FIRST_LETTER + letters[:, int(char)]
        else:
            rows[:, position] = _INDEX[char]
    return rows


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
    ids, lengths = _pad([item.text for item in items])
    # a causal model reads no further than each document's end: cut the common padding
    width = int(lengths.max())
    ids = ids[:, :width]
    # the answer of an item runs from after its leading newline and prompt to its final
    # newline: "15" is not "151"
    starts = torch.tensor([1 + len(item.prompt) for item in items])
    ends = starts + torch.tensor([len(item.answer) + 1 for item in items])
    positions = torch.arange(1, width)
    scored = (positions >= starts[:, None]) & (positions < ends[:, None])
    with torch.inference_mode():
        predicted = model(input_ids=ids).logits.argmax(-1)
    # the logits at position i predict the character at position i + 1
    right = predicted[:, :-1] == ids[:, 1:]
    exact = (right | ~scored).all(dim=1).float().mean()
    characters = (right & scored).sum() / scored.sum()
    return {"exact_match": float(exact), "character_accuracy": float(characters)}


@dataclass(frozen=True)
class MultitaskCorpus(Task):
    """The corpus as a task: training pools and held-out probe items of every hidden task.

    Build it with :func:`make_corpus`. ``batches`` draws documents of randomly mixed tasks;
    ``evaluate`` probes every hidden task zero-shot on its held-out items. Introduced in the
    chapter 'Implicit multi-task learning' (implicit-multitask-corpus).
    """

    train: dict[str, tuple[Example, ...]]
    held_out: dict[str, tuple[Example, ...]]
    # the training pools of the small-space tasks as padded ids, and their lengths
    _pools: dict[str, tuple[np.ndarray, np.ndarray]] = field(
        init=False, repr=False, compare=False)
    # keys of the held-out letters of the open-ended tasks, which training must never draw
    _excluded: dict[str, np.ndarray] = field(init=False, repr=False, compare=False)

    vocab_size = len(ALPHABET)
    context = CONTEXT

    def __post_init__(self) -> None:
        pools = {}
        for task, items in self.train.items():
            if items:
                ids, lengths = _pad([item.text for item in items])
                pools[task] = (ids.numpy(), lengths)
        excluded = {
            "syllogism": _letter_key(np.array(
                [[ord(c) - ord("a") for c in e.prompt[0:3:2] + e.prompt[6]]
                 for e in self.held_out["syllogism"]])),
            "reversal": _letter_key(np.array(
                [[ord(c) - ord("a") for c in e.prompt[:_REVERSAL_LETTERS]]
                 for e in self.held_out["reversal"]])),
        }
        object.__setattr__(self, "_pools", pools)
        object.__setattr__(self, "_excluded", excluded)

    def _draw(self, task: str, count: int, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray]:
        """``count`` training documents of ``task`` as padded ids, and their lengths."""
        if task in self._pools:
            ids, lengths = self._pools[task]
            chosen = rng.integers(len(lengths), size=count)
            return ids[chosen], lengths[chosen]
        if task == "syllogism":
            def letters(n: int) -> np.ndarray:  # three distinct letters
                return np.argsort(rng.random((n, _LETTERS)), axis=1)[:, :3]
            template = _SYLLOGISM
        else:
            def letters(n: int) -> np.ndarray:
                return rng.integers(_LETTERS, size=(n, _REVERSAL_LETTERS))
            template = _REVERSAL
        drawn = letters(count)
        # redraw the rows that happen to be probe items, until none is
        while True:
            held = np.isin(_letter_key(drawn), self._excluded[task])
            if not held.any():
                break
            drawn[held] = letters(int(held.sum()))
        rows = np.full((count, CONTEXT), _NEWLINE, dtype=np.int64)
        rows[:, : len(template)] = _template_rows(template, drawn)
        return rows, np.full(count, len(template))

    def batches(self, batch_size: int, seed: int = 0) -> Batches:
        """Training batches: documents of randomly mixed hidden tasks, one per row.

        The loss is taken on every character of every document (padding aside): nothing
        tells the model which task a document belongs to or which part is the "answer".
        Rows are as long as the batch's longest document. Batch ``step`` depends only on
        ``seed`` and ``step``.

        Raises:
            ValueError: if ``batch_size < 1``.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")

        def make(step: int) -> Batch:
            rng = np.random.default_rng([seed, step])
            which = rng.integers(len(HIDDEN_TASKS), size=batch_size)
            ids = np.empty((batch_size, CONTEXT), dtype=np.int64)
            lengths = np.empty(batch_size, dtype=np.int64)
            for index, task in enumerate(HIDDEN_TASKS):
                rows = which == index
                ids[rows], lengths[rows] = self._draw(task, int(rows.sum()), rng)
            # padding after the longest document changes no loss of a causal model: cut it
            width = int(lengths.max())
            ids = ids[:, :width]
            labels = np.where(np.arange(width) < lengths[:, None], ids, IGNORE)
            return torch.from_numpy(ids), torch.from_numpy(labels)

        return make

    def evaluate(self, model: TinyGPT) -> dict[str, float]:
        """Zero-shot probe scores of every hidden task on its held-out items, named
        ``"<task> exact_match"`` and ``"<task> character_accuracy"`` (see :func:`probe_scores`)."""
        return {f"{task} {name}": score
                for task in HIDDEN_TASKS
                for name, score in probe_scores(model, self.held_out[task]).items()}


def make_corpus(held_out_fraction: float = 0.2, probe_items: int = 100, seed: int = 0
                ) -> MultitaskCorpus:
    """Split every hidden task's items into a training pool and ``probe_items`` held-out items.

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
    # the open-ended tasks draw their training items on the fly (see MultitaskCorpus.batches)
    train["syllogism"] = train["reversal"] = ()
    return MultitaskCorpus(train=train, held_out=held_out)
