"""Greedy generation over a shared-prefix key-value cache.

Part of :mod:`emergence.lm`, introduced in the chapter 'Chain of thought' (chain-of-thought).
"""

from __future__ import annotations

import torch

from emergence.lm.batching import context_ids, continue_cache, encode_prefix, end_ids, usable_prefix_length
from emergence.lm.loading import LanguageModel


def generate(
    lm: LanguageModel,
    prompts: list[str],
    max_new_tokens: int,
    stop: str | None = "\n",
    batch_size: int = 16,
) -> list[str]:
    """Greedy continuations of each prompt, cut before the first ``stop`` string.

    Generation of a row ends at ``stop``, at an end-of-text token or after ``max_new_tokens``
    tokens; the returned texts exclude the prompt and the stop string. A prefix shared by
    all prompts (few-shot demonstrations) is encoded once; the rest is left-padded and
    batched. Introduced in the chapter 'Chain of thought' (chain-of-thought).
    """
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if stop == "":
        raise ValueError("stop must be None or a non-empty string")
    encoded = [context_ids(lm, p) for p in prompts]
    for ids in encoded:
        if len(ids) + max_new_tokens > lm.context_length:
            raise ValueError(f"a prompt of {len(ids)} tokens plus {max_new_tokens} new tokens "
                             f"exceeds the model's context of {lm.context_length} tokens")
    outputs = [""] * len(prompts)
    if not prompts:
        return outputs
    shared = usable_prefix_length(encoded, min(len(e) for e in encoded) - 1)
    ends = end_ids(lm)
    decode = lm.tokenizer.decode
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    with torch.inference_mode():
        prefix_cache = encode_prefix(lm, encoded[0][:shared])
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            width = max(len(encoded[i]) for i in chunk) - shared
            ids = torch.full((len(chunk), width), lm.separator_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), shared + width), dtype=torch.long)
            mask[:, :shared] = 1
            for row, i in enumerate(chunk):
                suffix = encoded[i][shared:]
                ids[row, width - len(suffix):] = torch.tensor(suffix)
                mask[row, shared + width - len(suffix):] = 1
            # Left padding sits between the shared prefix and each prompt's own tokens, so
            # positions are counted over real tokens only.
            positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, shared:]
            cache = continue_cache(prefix_cache, len(chunk))
            new: list[list[int]] = [[] for _ in chunk]
            done = [False] * len(chunk)
            for _ in range(max_new_tokens):
                out = lm.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                               past_key_values=cache, use_cache=True, logits_to_keep=1)
                cache = out.past_key_values
                chosen = out.logits[:, -1].argmax(dim=-1).tolist()
                for row, token in enumerate(chosen):
                    if done[row]:
                        continue
                    if token in ends:
                        done[row] = True
                        continue
                    new[row].append(token)
                    done[row] = stop is not None and stop in decode(new[row])
                if all(done):
                    break
                ids = torch.tensor(chosen).unsqueeze(1)
                mask = torch.cat([mask, torch.ones((len(chunk), 1), dtype=torch.long)], dim=1)
                positions = positions[:, -1:] + 1
            for row, i in enumerate(chunk):
                text = decode(new[row], skip_special_tokens=True)
                outputs[i] = text.split(stop)[0] if stop else text
    return outputs
