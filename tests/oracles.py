"""Stand-in models for the tests: they answer as a causal language model does (an object with
``.logits``), with logits chosen so that the right scores are known."""

from __future__ import annotations

import torch
from transformers.modeling_outputs import CausalLMOutput


class NextTokenOracle(torch.nn.Module):
    """Puts all probability on the true next token of whatever it reads: a perfect model of
    any sequence it is shown."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = vocab_size

    def forward(self, input_ids: torch.Tensor) -> CausalLMOutput:
        logits = torch.zeros(*input_ids.shape, self.vocab_size)
        logits[:, :-1].scatter_(2, input_ids[:, 1:, None], 1.0)
        return CausalLMOutput(logits=logits)
