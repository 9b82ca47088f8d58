"""Scoring text with a language model: log-probabilities of continuations, of choices, of
every token of a text, and whether greedy decoding would write a given answer.

Conventions (natural-log probabilities unless said otherwise):

- Texts are tokenised without special tokens. An empty context, and the first token of
  :func:`text_bits`, are conditioned on the document separator ``<|endoftext|>``.
- Spaces at the end of a context belong to the continuation (``"Q: x\\nA: "`` + ``"7"`` is
  scored as ``"Q: x\\nA:"`` + ``" 7"``), because byte-level BPE attaches a space to the word
  after it.

Part of :mod:`emergence.lm`, introduced in the chapter 'In-context learning in a small
pretrained model' (in-context-learning).
"""

from __future__ import annotations

import numpy as np
import torch

from emergence.lm.batching import (
    context_ids,
    continue_cache,
    encode_prefix,
    end_ids,
    padded_batches,
    split_context,
    usable_prefix_length,
)
from emergence.lm.loading import LanguageModel


def _score_positions(
    lm: LanguageModel,
    sequences: list[list[int]],
    first_scored: list[int],
    batch_size: int,
    next_ids: list[list[int]] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Log-probabilities of tokens ``seq[first:]`` given their prefixes; the most probable
    token at each of those positions plus the one after the sequence; and the
    log-probabilities of the tokens ``next_ids[i]`` after sequence ``i``. One array per
    sequence for each.

    A prompt prefix shared by all sequences (the demonstrations of a few-shot prompt) is
    encoded once. The rest is right-padded, so every real token keeps its position and never
    attends to padding; only the needed positions go through the output layer, whose
    vocabulary-wide matrix product is a fifth of a small model's cost.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    limit = lm.context_length
    for seq, first in zip(sequences, first_scored):
        if len(seq) > limit:
            raise ValueError(f"a sequence of {len(seq)} tokens exceeds the model's "
                             f"context of {limit} tokens")
        if not 1 <= first <= len(seq):
            raise ValueError("every scored token needs at least one token before it")
    picked: list[np.ndarray] = [np.empty(0)] * len(sequences)
    argmax: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(sequences)
    after: list[np.ndarray] = [np.empty(0)] * len(sequences)
    if not sequences:
        return picked, argmax, after
    # The last context token stays outside the prefix: its output predicts the first scored one.
    shared = usable_prefix_length(sequences, min(first_scored) - 1)
    body = lm.model.base_model
    head = lm.model.get_output_embeddings()
    with torch.inference_mode():
        prefix_cache = encode_prefix(lm, sequences[0][:shared])
        for chunk in padded_batches([len(seq) for seq in sequences], batch_size):
            width = max(len(sequences[i]) for i in chunk) - shared
            ids = torch.full((len(chunk), width), lm.separator_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), shared + width), dtype=torch.long)
            mask[:, :shared] = 1
            rows, cols, targets = [], [], []
            for row, i in enumerate(chunk):
                seq = sequences[i]
                ids[row, :len(seq) - shared] = torch.tensor(seq[shared:])
                mask[row, :len(seq)] = 1
                rows.extend([row] * (len(seq) - first_scored[i] + 1))
                cols.extend(range(first_scored[i] - 1 - shared, len(seq) - shared))
                # The position after the sequence predicts a token that is not there yet.
                targets.extend(seq[first_scored[i]:] + [0])
            hidden = body(input_ids=ids, attention_mask=mask,
                          past_key_values=continue_cache(prefix_cache, len(chunk)),
                          use_cache=False).last_hidden_state
            logp = torch.log_softmax(head(hidden[rows, cols]).float(), dim=-1)
            chosen = logp[torch.arange(len(targets)), torch.tensor(targets)].double().numpy()
            top = logp.argmax(dim=-1).numpy()
            offset = 0
            for i in chunk:
                count = len(sequences[i]) - first_scored[i]
                picked[i] = chosen[offset:offset + count]
                argmax[i] = top[offset:offset + count + 1]
                if next_ids is not None:
                    after[i] = logp[offset + count, next_ids[i]].double().numpy()
                offset += count + 1
    return picked, argmax, after


def _pairs(
    lm: LanguageModel, contexts: list[str], continuations: list[str]
) -> tuple[list[list[int]], list[int]]:
    if len(contexts) != len(continuations):
        raise ValueError(f"{len(contexts)} contexts but {len(continuations)} continuations")
    sequences, firsts = [], []
    for context, continuation in zip(contexts, continuations):
        context, continuation = split_context(context, continuation)
        if not continuation:
            raise ValueError("every continuation must be a non-empty string")
        ids = context_ids(lm, context)
        firsts.append(len(ids))
        sequences.append(ids + lm.encode(continuation))
    return sequences, firsts


def continuation_token_logprobs(
    lm: LanguageModel, contexts: list[str], continuations: list[str], batch_size: int = 64
) -> list[np.ndarray]:
    """Natural-log probability of every token of each continuation given its context and
    the continuation's tokens before it: one array per pair, as long as the continuation
    has tokens.

    Their sum is the continuation's log-probability, their mean the length-normalised score
    of multiple-choice benchmarks; scoring all pairs of a benchmark in one call gives both.
    Introduced in the chapter 'Benchmarks, emergence curves and ablations' (benchmarks).
    """
    sequences, firsts = _pairs(lm, contexts, continuations)
    picked, _, _ = _score_positions(lm, sequences, firsts, batch_size)
    return picked


def continuation_logprobs(
    lm: LanguageModel, contexts: list[str], continuations: list[str], batch_size: int = 64
) -> list[float]:
    """Sum of the natural-log probabilities of each continuation's tokens given its context.

    Introduced in the chapter 'In-context learning in a small pretrained model'
    (in-context-learning).
    """
    return [float(p.sum()) for p in
            continuation_token_logprobs(lm, contexts, continuations, batch_size)]


def choice_logprobs(
    lm: LanguageModel, contexts: list[str], choices: list[str], batch_size: int = 64
) -> np.ndarray:
    """Log-probability of every choice after every context, as an array of shape
    ``(len(contexts), len(choices))``.

    When every choice is a single token (class labels such as ``" positive"``), one forward
    pass per context scores all of them; otherwise each pair is scored by
    :func:`continuation_logprobs`. Introduced in the chapter 'In-context learning in a small
    pretrained model' (in-context-learning).
    """
    if not choices:
        raise ValueError("choice_logprobs needs at least one choice")
    sequences, candidates = [], []
    for context in contexts:
        stripped, _ = split_context(context, "")
        ids = [lm.encode(split_context(context, c)[1]) for c in choices]
        if any(len(t) != 1 for t in ids):
            pairs = [(x, c) for x in contexts for c in choices]
            flat = continuation_logprobs(lm, [x for x, _ in pairs], [c for _, c in pairs],
                                         batch_size)
            return np.array(flat).reshape(len(contexts), len(choices))
        sequences.append(context_ids(lm, stripped))
        candidates.append([t[0] for t in ids])
    firsts = [len(seq) for seq in sequences]
    _, _, after = _score_positions(lm, sequences, firsts, batch_size, next_ids=candidates)
    return np.array(after).reshape(len(contexts), len(choices))


def rank_choices(
    lm: LanguageModel, context: str, choices: list[str], length_normalised: bool = False
) -> int:
    """Index of the choice the model finds most probable after ``context``.

    With ``length_normalised=True`` the score is the mean log-probability per token, which
    stops long choices from losing merely for being long. Introduced in the chapter
    'In-context learning in a small pretrained model' (in-context-learning).
    """
    if not choices:
        raise ValueError("rank_choices needs at least one choice")
    sequences, firsts = _pairs(lm, [context] * len(choices), list(choices))
    picked, _, _ = _score_positions(lm, sequences, firsts, batch_size=64)
    scores = [p.mean() if length_normalised else p.sum() for p in picked]
    return int(np.argmax(scores))


def greedy_matches(
    lm: LanguageModel,
    contexts: list[str],
    continuations: list[str],
    stop: str | None = "\n",
    batch_size: int = 64,
) -> list[bool]:
    """Whether greedy decoding after each context would produce exactly its continuation
    and then stop: ``generate(lm, [context], n, stop) == [continuation]``, up to tokenisation.

    One forward pass replaces a generation loop: greedy decoding reproduces a token sequence
    if and only if each of its tokens is the most probable one given the tokens before it.
    With ``stop`` given, the most probable token after the continuation must also begin with
    the stop string (or be the end-of-text token), so that an answer ``12`` does not count
    when the model goes on to write ``123``. Introduced in the chapter 'In-context learning
    in a small pretrained model' (in-context-learning).
    """
    if stop == "":
        raise ValueError("stop must be None or a non-empty string")
    sequences, firsts = _pairs(lm, contexts, continuations)
    _, argmax, _ = _score_positions(lm, sequences, firsts, batch_size)
    matches = []
    for seq, first, best in zip(sequences, firsts, argmax):
        agrees = list(best[:-1]) == seq[first:]
        if stop is not None:
            after = int(best[-1])
            agrees = agrees and (after in end_ids(lm)
                                 or lm.tokenizer.decode([after]).startswith(stop))
        matches.append(bool(agrees))
    return matches


def _windows(lm: LanguageModel, ids: list[int]) -> tuple[list[list[int]], list[int]]:
    """Cut a long token sequence into windows that fit the model; each window after the
    first re-reads half a context of earlier tokens before scoring new ones."""
    width = lm.context_length
    if len(ids) <= width:
        return [ids], [1]
    windows, firsts = [ids[:width]], [1]
    scored = width
    while scored < len(ids):
        begin = scored - width // 2
        end = min(begin + width, len(ids))
        windows.append(ids[begin:end])
        firsts.append(scored - begin)
        scored = end
    return windows, firsts


def id_logprobs(lm: LanguageModel, sequences: list[list[int]], batch_size: int = 8) -> list[np.ndarray]:
    """For token-id sequences, the natural-log probability of every token after the first.

    For inputs that are not text, such as the random token sequences of the induction test.
    Introduced in the chapter 'In-context learning in a small pretrained model'
    (in-context-learning).
    """
    vocabulary = lm.model.get_output_embeddings().weight.shape[0]
    for seq in sequences:
        if len(seq) < 2:
            raise ValueError("every sequence needs at least two tokens")
        if min(seq) < 0 or max(seq) >= vocabulary:
            raise ValueError(f"token ids must lie in [0, {vocabulary})")
    picked, _, _ = _score_positions(lm, [list(map(int, s)) for s in sequences],
                                    [1] * len(sequences), batch_size)
    return picked


def token_logprobs(lm: LanguageModel, text: str, batch_size: int = 8) -> np.ndarray:
    """Natural-log probability of every token of ``text`` after the first, given those before.

    The result has one entry fewer than the text has tokens. Texts longer than the model's
    context are scored in overlapping windows (every token still sees at least half a
    context). Introduced in the chapter 'In-context learning in a small pretrained model'
    (in-context-learning); used for compression in the chapter 'Compression' (compression).
    """
    if not text:
        raise ValueError("text must be a non-empty string")
    ids = lm.encode(text)
    if len(ids) < 2:
        return np.empty(0)
    windows, firsts = _windows(lm, ids)
    picked, _, _ = _score_positions(lm, windows, firsts, batch_size)
    return np.concatenate(picked)


def text_bits(lm: LanguageModel, text: str, batch_size: int = 8) -> float:
    """Information content of ``text`` under the model: the sum of -log2 p over all its tokens.

    Convention: the first token is conditioned on the document separator ``<|endoftext|>``,
    so no token is left out and the total is the length in bits of an arithmetic code of
    the text built from the model. Introduced for the chapter 'Compression' (compression).
    """
    if not text:
        raise ValueError("text must be a non-empty string")
    ids = [lm.separator_id] + lm.encode(text)
    windows, firsts = _windows(lm, ids)
    picked, _, _ = _score_positions(lm, windows, firsts, batch_size)
    return float(-np.concatenate(picked).sum() / np.log(2.0))
