"""Shared machinery of scoring and generation: tokenisation conventions, batches of equal
length, and the key-value cache of a prompt prefix that every row of a batch shares.

Part of :mod:`emergence.lm`, introduced in the chapter 'In-context learning in a small
pretrained model' (in-context-learning).
"""

from __future__ import annotations

from copy import deepcopy

import torch

from emergence.lm.loading import LanguageModel

#: Shortest shared prompt prefix worth encoding once for a whole batch.
MIN_SHARED_PREFIX = 4


def split_context(context: str, continuation: str) -> tuple[str, str]:
    """Move the spaces at the end of ``context`` to the start of ``continuation``: byte-level
    BPE attaches a space to the word after it."""
    stripped = context.rstrip(" ")
    return stripped, context[len(stripped):] + continuation


def context_ids(lm: LanguageModel, context: str) -> list[int]:
    """Token ids of a context; an empty one is the document separator, so that the first
    scored token is still conditioned on something."""
    return lm.encode(context) if context else [lm.separator_id]


#: The fixed cost of one forward pass, in padded token positions: for a small model on a CPU
#: a forward pass of a few tokens costs about as much as fifty more positions in a batch.
FORWARD_COST_IN_TOKENS = 50


def padded_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices sorted by length and cut into batches of at most ``batch_size`` rows, where
    the cuts minimise the padded positions plus :data:`FORWARD_COST_IN_TOKENS` per batch.

    Every row of a batch is padded to its longest; one batch wastes positions on padding,
    one batch per length wastes forward passes. The best cuts of the sorted lengths are
    found by dynamic programming over the end of the last batch.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    ordered = [lengths[i] for i in order]
    n = len(order)
    best = [0.0] + [float("inf")] * n   # best[j]: cost of batching the j shortest rows
    start_of_last = [0] * (n + 1)
    for end in range(1, n + 1):
        for start in range(max(0, end - batch_size), end):
            cost = best[start] + (end - start) * ordered[end - 1] + FORWARD_COST_IN_TOKENS
            if cost < best[end]:
                best[end], start_of_last[end] = cost, start
    batches, end = [], n
    while end > 0:
        batches.append(order[start_of_last[end]:end])
        end = start_of_last[end]
    return batches[::-1]


def shared_prefix_length(sequences: list[list[int]], limit: int) -> int:
    """Length of the token prefix common to all sequences, at most ``limit``."""
    if len(sequences) < 2:
        return 0
    shortest = min(min(len(s) for s in sequences), limit)
    first = sequences[0]
    for n in range(shortest):
        if any(seq[n] != first[n] for seq in sequences[1:]):
            return n
    return shortest


def encode_prefix(lm: LanguageModel, prefix: list[int]):
    """Key-value cache of a prefix, to be copied for every batch that continues it."""
    if not prefix:
        return None
    out = lm.model.base_model(input_ids=torch.tensor([prefix]), use_cache=True)
    return out.past_key_values


def continue_cache(cache, batch: int):
    """A copy of a prefix cache for ``batch`` rows (``None`` stays ``None``), since the
    forward pass extends the cache it is given."""
    if cache is None:
        return None
    copy = deepcopy(cache)
    copy.batch_repeat_interleave(batch)
    return copy


def usable_prefix_length(sequences: list[list[int]], limit: int) -> int:
    """The shared prefix worth caching once: its length, or 0 below :data:`MIN_SHARED_PREFIX`."""
    shared = shared_prefix_length(sequences, limit)
    return shared if shared >= MIN_SHARED_PREFIX else 0


def end_ids(lm: LanguageModel) -> list[int]:
    """Tokens that end a generation: the tokenizer's end-of-sequence and the separator."""
    return sorted({lm.tokenizer.eos_token_id, lm.separator_id})
