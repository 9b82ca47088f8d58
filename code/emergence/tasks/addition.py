"""Multi-digit addition as a language-modelling task, and how to score a model's answers.

A problem ``a + b`` with ``k``-digit operands is written over a 14-token vocabulary as the
prompt ``a + b =`` (operands zero-padded to ``k`` digits), optionally a scratchpad (the
carries, least significant first, then ``;``), then the ``k + 1`` digit answer (zero-padded,
optionally reversed) and an end token ``$``. Every sequence of one format has the same
length, so batches need no padding and a model can find each digit by its position.

:class:`AdditionTask` puts a format and its training and held-out problems behind the
:class:`~emergence.tasks.Task` interface. Introduced in the chapter 'Emergence with scale'
(emergence-with-scale) and used by the chapters 'The mirage' (mirage) and 'Conditions for
emergence' (conditions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike

from emergence.model import TinyGPT
from emergence.tasks import IGNORE, Batch, Batches, Task

#: The vocabulary: token id ``i`` is the character ``VOCAB[i]``; digits are their own ids.
VOCAB = "0123456789+=;$"
PLUS, EQUALS, SEP, END = (VOCAB.index(c) for c in "+=;$")
VOCAB_SIZE = len(VOCAB)


@dataclass(frozen=True)
class AdditionFormat:
    """How a ``digits``-digit addition problem is written as tokens.

    ``scratchpad`` writes the carry out of every column (least significant first) before the
    answer; ``reverse`` writes the answer least significant digit first, the order in which
    the carries are computed. Introduced in 'Emergence with scale' (emergence-with-scale).
    """

    digits: int
    scratchpad: bool = False
    reverse: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.digits, bool) or not isinstance(self.digits, int):
            raise ValueError(f"digits must be an integer, got {self.digits!r}")
        if not 1 <= self.digits <= 9:
            raise ValueError(f"digits must be between 1 and 9, got {self.digits}")

    @property
    def prompt_length(self) -> int:
        """Tokens of ``a + b =``."""
        return 2 * self.digits + 2

    @property
    def answer_length(self) -> int:
        """Digits of the answer: one more than the operands, for the final carry."""
        return self.digits + 1

    @property
    def scratch_length(self) -> int:
        """Tokens of the scratchpad (carries and separator), zero without one."""
        return self.digits + 1 if self.scratchpad else 0

    @property
    def generated_length(self) -> int:
        """Tokens the model writes after the prompt, up to the last answer digit."""
        return self.scratch_length + self.answer_length

    @property
    def length(self) -> int:
        """Tokens of a whole sequence, end token included."""
        return self.prompt_length + self.generated_length + 1


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Base-10 digits of ``values``, most significant first, zero-padded to ``width``."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


def _check_operands(a: np.ndarray, b: np.ndarray, digits: int) -> None:
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("a and b must be one-dimensional arrays of the same length")
    limit = 10**digits
    if (a < 0).any() or (b < 0).any() or (a >= limit).any() or (b >= limit).any():
        raise ValueError(f"operands must lie in [0, {limit}) for {digits}-digit problems")


def encode(a: ArrayLike, b: ArrayLike, fmt: AdditionFormat) -> np.ndarray:
    """Token ids of the problems ``a[i] + b[i]`` with their answers, shape ``(n, fmt.length)``.

    Introduced in 'Emergence with scale' (emergence-with-scale).

    Raises:
        ValueError: if the operands are not non-negative integers with at most
            ``fmt.digits`` digits, or ``a`` and ``b`` differ in shape.
    """
    a = np.atleast_1d(np.asarray(a))
    b = np.atleast_1d(np.asarray(b))
    if not (np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)):
        raise ValueError("operands must be integers")
    a, b = a.astype(np.int64), b.astype(np.int64)
    _check_operands(a, b, fmt.digits)
    n, k = len(a), fmt.digits
    da, db = _digits(a, k), _digits(b, k)
    parts = [da, np.full((n, 1), PLUS), db, np.full((n, 1), EQUALS)]
    if fmt.scratchpad:
        # carry out of column i (0 = units) is 1 when the low i+1 digits of a and b overflow
        low = 10 ** np.arange(1, k + 1, dtype=np.int64)
        carries = ((a[:, None] % low) + (b[:, None] % low)) >= low
        parts += [carries.astype(np.int64), np.full((n, 1), SEP)]
    answer = _digits(a + b, k + 1)
    parts += [answer[:, ::-1] if fmt.reverse else answer, np.full((n, 1), END)]
    return np.concatenate(parts, axis=1)


def decode(tokens: np.ndarray | list[int]) -> str:
    """The characters of a token sequence, e.g. ``'012+345=0357$'``.

    Raises:
        ValueError: if a token id is outside the vocabulary.
    """
    ids = np.asarray(tokens).ravel()
    if ((ids < 0) | (ids >= VOCAB_SIZE)).any():
        raise ValueError(f"token ids must lie in [0, {VOCAB_SIZE})")
    return "".join(VOCAB[i] for i in ids)


def answer_values(answer_tokens: np.ndarray, fmt: AdditionFormat) -> np.ndarray:
    """The integers written by answer digit tokens of shape ``(n, fmt.answer_length)``.

    Raises:
        ValueError: if the shape is wrong or a token is not a digit.
    """
    answer_tokens = np.asarray(answer_tokens)
    if answer_tokens.ndim != 2 or answer_tokens.shape[1] != fmt.answer_length:
        raise ValueError(f"answer tokens must have shape (n, {fmt.answer_length})")
    if ((answer_tokens < 0) | (answer_tokens > 9)).any():
        raise ValueError("answer tokens must be digits 0-9")
    digits = answer_tokens[:, ::-1] if fmt.reverse else answer_tokens
    powers = 10 ** np.arange(fmt.answer_length - 1, -1, -1, dtype=np.int64)
    return (digits.astype(np.int64) * powers).sum(axis=1)


def labels_for(tokens: np.ndarray, fmt: AdditionFormat) -> np.ndarray:
    """Training labels: the tokens themselves after ``=``, and ``IGNORE`` on the prompt.

    The loss is then taken on what the model must write (scratchpad, answer, end token) and
    never on the operands, which are random and cannot be predicted.
    """
    labels = np.array(tokens, dtype=np.int64, copy=True)
    labels[:, : fmt.prompt_length] = IGNORE
    return labels



def split_problems(
    digits: int, n_train: int, n_test: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint training and held-out problems: two ``(n, 2)`` arrays of operand pairs.

    Pairs are drawn without replacement from all ``10**(2*digits)`` ordered pairs, so no
    held-out problem is ever trained on. Introduced in 'Emergence with scale'
    (emergence-with-scale).

    Raises:
        ValueError: if the sizes are negative or ask for more pairs than exist.
    """
    AdditionFormat(digits)  # validates digits
    if n_train < 0 or n_test < 1:
        raise ValueError("n_train must be >= 0 and n_test >= 1")
    total = 10 ** (2 * digits)
    if n_train + n_test > total:
        raise ValueError(f"only {total} distinct {digits}-digit problems exist")
    rng = np.random.default_rng(seed)
    codes = rng.choice(total, size=n_train + n_test, replace=False)
    pairs = np.stack([codes // 10**digits, codes % 10**digits], axis=1)
    return pairs[:n_train], pairs[n_train:]



def edit_distance(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Levenshtein distance between row ``i`` of ``predicted`` and of ``target``, per row.

    Vectorised over rows: the dynamic programme loops over positions, not over examples.

    Raises:
        ValueError: if the inputs are not two-dimensional with the same number of rows.
    """
    predicted, target = np.asarray(predicted), np.asarray(target)
    if predicted.ndim != 2 or target.ndim != 2 or len(predicted) != len(target):
        raise ValueError("predicted and target must be 2-D arrays with the same number of rows")
    n, m = predicted.shape[1], target.shape[1]
    previous = np.tile(np.arange(m + 1), (len(target), 1))
    for i in range(1, n + 1):
        current = np.empty_like(previous)
        current[:, 0] = i
        for j in range(1, m + 1):
            substitute = previous[:, j - 1] + (predicted[:, i - 1] != target[:, j - 1])
            current[:, j] = np.minimum(
                substitute, np.minimum(previous[:, j] + 1, current[:, j - 1] + 1)
            )
        previous = current
    return previous[:, m]


def score_answers(predicted: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Three scores of the same answers: all-or-nothing, per digit, and edit distance.

    ``exact_match`` is the fraction of rows right in every digit, ``digit_accuracy`` the
    fraction of digits right in their position, ``edit_distance`` the mean number of token
    insertions, deletions and substitutions that turn an answer into the correct one.
    Introduced in 'Emergence with scale' (emergence-with-scale).

    Raises:
        ValueError: if the arrays are empty or differ in shape.
    """
    predicted, target = np.asarray(predicted), np.asarray(target)
    if predicted.shape != target.shape or predicted.ndim != 2 or predicted.size == 0:
        raise ValueError("predicted and target must be non-empty 2-D arrays of one shape")
    right = predicted == target
    return {
        "exact_match": float(right.all(axis=1).mean()),
        "digit_accuracy": float(right.mean()),
        "edit_distance": float(edit_distance(predicted, target).mean()),
    }


def greedy_answers(model: TinyGPT, tokens: np.ndarray, fmt: AdditionFormat) -> np.ndarray:
    """The answer digits the model writes after each prompt, by greedy decoding.

    The whole batch is decoded together, one position at a time: the model writes its own
    scratchpad (if the format has one) and then the answer, always taking the most likely
    token. Returns the ``fmt.answer_length`` answer tokens, shape ``(n, answer_length)``.
    Introduced in 'Emergence with scale' (emergence-with-scale).
    """
    prompts = torch.from_numpy(np.asarray(tokens)[:, : fmt.prompt_length])
    written = []
    with torch.inference_mode():
        # the cache keeps the keys and values of the positions read, so each later call
        # reads only the token just written instead of the whole sequence again
        output = model(input_ids=prompts, use_cache=True)
        for position in range(fmt.generated_length):
            written.append(output.logits[:, -1].argmax(dim=-1, keepdim=True))
            if position + 1 < fmt.generated_length:
                output = model(input_ids=written[-1], past_key_values=output.past_key_values,
                               use_cache=True)
    return torch.cat(written, dim=1)[:, -fmt.answer_length :].numpy()


def answer_log_probability(
    model: TinyGPT, tokens: np.ndarray, fmt: AdditionFormat
) -> np.ndarray:
    """Teacher-forced log-probability (nats) of each problem's correct answer digits.

    The model reads the correct sequence (with the correct scratchpad, if any) and the
    log-probabilities it gives the correct answer digits are summed: a continuous score that
    is 0 for a certain right answer.
    """
    ids = torch.from_numpy(np.asarray(tokens))
    with torch.inference_mode():
        log_probs = model(input_ids=ids[:, :-1]).logits.log_softmax(dim=-1)
    start = fmt.prompt_length + fmt.scratch_length
    answer = ids[:, start : start + fmt.answer_length]
    # position t of the logits predicts token t + 1
    picked = log_probs[:, start - 1 : start - 1 + fmt.answer_length].gather(
        2, answer.unsqueeze(-1)
    )
    return picked.squeeze(-1).sum(dim=1).numpy()


def score_problems(
    model: TinyGPT, pairs: np.ndarray, fmt: AdditionFormat,
    log_probability: bool = True,
) -> dict[str, float]:
    """The scores of ``model`` on the problems ``pairs`` (an ``(n, 2)`` array of operands).

    Returns ``exact_match``, ``digit_accuracy``, ``edit_distance`` (see :func:`score_answers`)
    and, unless ``log_probability`` is false (which saves a forward pass), ``answer_logprob``,
    the mean teacher-forced log-probability of the correct answer. The model is scored in
    eval mode and left in the mode it was found in.
    Introduced in 'Emergence with scale' (emergence-with-scale).

    Raises:
        ValueError: if ``pairs`` is empty or not of shape ``(n, 2)``.
    """
    pairs = _check_pairs(pairs, fmt.digits, "pairs")
    tokens = encode(pairs[:, 0], pairs[:, 1], fmt)
    start = fmt.prompt_length + fmt.scratch_length
    target = tokens[:, start : start + fmt.answer_length]
    was_training = model.training
    model.eval()
    scores = score_answers(greedy_answers(model, tokens, fmt), target)
    if log_probability:
        scores["answer_logprob"] = float(answer_log_probability(model, tokens, fmt).mean())
    model.train(was_training)
    return scores


def _check_pairs(pairs: ArrayLike, digits: int, name: str) -> np.ndarray:
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or len(pairs) == 0:
        raise ValueError(f"{name} must be a non-empty (n, 2) array of operands")
    if not np.issubdtype(pairs.dtype, np.integer):
        raise ValueError(f"{name} must hold integer operands")
    _check_operands(pairs[:, 0], pairs[:, 1], digits)
    return pairs


class AdditionTask(Task):
    """Addition in one format, learned from a pool of training problems, scored on held-out ones.

    ``batches(batch_size, seed)`` samples the training ``pairs`` with replacement (a small
    pool is therefore seen for many epochs within a token budget); batch ``step`` depends only
    on ``seed`` and ``step``, so runs repeat exactly. ``evaluate(model)`` is
    :func:`score_problems` on the held-out pairs. Every sequence of the format has the same
    length, so ``context = fmt.length``. Introduced in the chapter 'Emergence with scale'
    (emergence-with-scale).

    Raises:
        ValueError: if either set of pairs is empty, not of shape ``(n, 2)``, or holds
            operands with more than ``fmt.digits`` digits.
    """

    vocab_size = VOCAB_SIZE

    def __init__(self, fmt: AdditionFormat, train_pairs: ArrayLike, test_pairs: ArrayLike):
        self.fmt = fmt
        self.context = fmt.length
        self.train_pairs = _check_pairs(train_pairs, fmt.digits, "train_pairs")
        self.test_pairs = _check_pairs(test_pairs, fmt.digits, "test_pairs")
        tokens = encode(self.train_pairs[:, 0], self.train_pairs[:, 1], fmt)
        self._train_tokens = torch.from_numpy(tokens)
        self._train_labels = torch.from_numpy(labels_for(tokens, fmt))

    def batches(self, batch_size: int, seed: int = 0) -> Batches:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        tokens, labels = self._train_tokens, self._train_labels

        def batch(step: int) -> Batch:
            generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
            index = torch.randint(len(tokens), (batch_size,), generator=generator)
            return tokens[index], labels[index]

        return batch

    def evaluate(self, model: TinyGPT) -> dict[str, float]:
        return score_problems(model, self.test_pairs, self.fmt)
