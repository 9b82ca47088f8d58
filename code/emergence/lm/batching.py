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


def length_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of equal length (at most ``batch_size`` each), so that
    no compute is spent on padding; the few extra forward passes cost little."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < batch_size and lengths[batches[-1][0]] == lengths[i]:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


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
