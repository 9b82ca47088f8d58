"""A family of same-shaped tiny GPT-2 models, run as one: stacked weights, batched matmuls.

A tiny model on a CPU spends most of a training step launching operations, not doing
arithmetic. Models of one shape (the seeds of a size, the runs of a sweep) can share every
launch: their weights are stacked along a leading "family" axis and each matrix product
becomes one batched product (``torch.baddbmm``). :func:`family_loss` is GPT-2's forward pass
and causal-language-modelling loss written for such a stack; ``tests/test_training.py``
checks it member by member against :class:`emergence.model.TinyGPT` (itself checked against
Hugging Face's ``GPT2LMHeadModel``). Introduced in the chapter 'Emergence with scale'
(emergence-with-scale-training).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from emergence.model import IGNORE, GPTConfig, TinyGPT

#: Stacked parameters, keyed by the models' parameter names (``transformer.h.0.ln_1.weight``).
Stack = dict[str, torch.Tensor]


def check_family(models: list[TinyGPT]) -> None:
    """Raise ``ValueError`` unless ``models`` can train as one family: at least one, all
    :class:`~emergence.model.TinyGPT` of one configuration."""
    if not models:
        raise ValueError("a family needs at least one model")
    if not all(isinstance(model, TinyGPT) for model in models):
        raise ValueError("a family is made of emergence.model.TinyGPT models")
    if any(model.config != models[0].config for model in models[1:]):
        raise ValueError("every model of a family must have the same configuration")


def stack(models: list[TinyGPT]) -> Stack:
    """The models' parameters stacked along a new first axis, as fresh leaf tensors to train.

    The output head is tied to the token embedding, so it has no entry of its own.
    """
    check_family(models)
    members = [dict(model.named_parameters()) for model in models]
    # torch.stack copies, so the stack shares no memory with the models
    return {name: torch.stack([member[name].detach() for member in members]).requires_grad_(True)
            for name in members[0]}


def unstack(params: Stack, models: list[TinyGPT]) -> None:
    """Copy member ``i`` of the stacked ``params`` into ``models[i]``, in place."""
    with torch.no_grad():
        for i, model in enumerate(models):
            for name, parameter in model.named_parameters():
                parameter.copy_(params[name][i])


def _layer_norm(x: torch.Tensor, params: Stack, name: str, eps: float) -> torch.Tensor:
    # F.layer_norm takes one weight for all rows; each member has its own, so scale after
    normalised = F.layer_norm(x, x.shape[-1:], eps=eps)
    return normalised * params[f"{name}.weight"][:, None, :] + params[f"{name}.bias"][:, None, :]


def _linear(x: torch.Tensor, params: Stack, name: str) -> torch.Tensor:
    # GPT-2's Conv1D stores weights as (in, out): y = x @ W + b, one product per member
    return torch.baddbmm(params[f"{name}.bias"][:, None, :], x, params[f"{name}.weight"])


def family_logits(params: Stack, input_ids: torch.Tensor, config: GPTConfig) -> torch.Tensor:
    """Logits of every member on its own batch: ``input_ids`` (family, batch, length) ->
    (family, batch, length, vocabulary)."""
    family, batch, length = input_ids.shape
    d, heads, eps = config.n_embd, config.n_head, config.layer_norm_epsilon
    wte = params["transformer.wte.weight"]
    vocab = wte.shape[1]
    offsets = torch.arange(family)[:, None, None] * vocab
    x = wte.reshape(family * vocab, d)[input_ids + offsets]
    x = (x + params["transformer.wpe.weight"][:, None, :length]).reshape(family, batch * length, d)
    for layer in range(config.n_layer):
        prefix = f"transformer.h.{layer}"
        qkv = _linear(_layer_norm(x, params, f"{prefix}.ln_1", eps), params, f"{prefix}.attn.c_attn")
        q, k, v = (
            t.reshape(family * batch, length, heads, d // heads).transpose(1, 2)
            for t in qkv.split(d, dim=-1)
        )
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        attended = attended.transpose(1, 2).reshape(family, batch * length, d)
        x = x + _linear(attended, params, f"{prefix}.attn.c_proj")
        hidden = _linear(_layer_norm(x, params, f"{prefix}.ln_2", eps), params, f"{prefix}.mlp.c_fc")
        x = x + _linear(F.gelu(hidden, approximate="tanh"), params, f"{prefix}.mlp.c_proj")
    x = _layer_norm(x, params, "transformer.ln_f", eps)
    logits = torch.bmm(x, wte.transpose(1, 2))
    return logits.reshape(family, batch, length, vocab)


def family_loss(params: Stack, input_ids: torch.Tensor, labels: torch.Tensor, config: GPTConfig
                ) -> torch.Tensor:
    """Each member's causal-LM loss on its own batch, shape (family,).

    The same loss as ``model(input_ids, labels=labels).loss`` of a
    :class:`~emergence.model.TinyGPT`: position ``t`` predicts token ``t + 1``, and the
    cross-entropy is averaged over the labels that are not ``IGNORE``, separately for each
    member.
    """
    if input_ids.shape != labels.shape or input_ids.ndim != 3:
        raise ValueError("input_ids and labels must both have shape (family, batch, length)")
    logits = family_logits(params, input_ids, config)[:, :, :-1]
    targets = labels[:, :, 1:]
    losses = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1),
        ignore_index=IGNORE, reduction="none",
    ).reshape(targets.shape)
    counted = (targets != IGNORE).sum(dim=(1, 2))
    return losses.sum(dim=(1, 2)) / counted
