import random

import matplotlib as mpl
import numpy as np
import pytest

import emergence
from emergence.plotting import BOOK_STYLE


def draw():
    import torch

    return random.random(), np.random.rand(), torch.rand(1).item()


def test_setup_makes_every_generator_repeatable():
    emergence.setup(seed=3)
    first = draw()
    emergence.setup(seed=3)
    assert draw() == first
    emergence.setup(seed=4)
    assert draw() != first


def test_setup_fixes_torch_threads():
    import torch

    emergence.setup(threads=1)
    assert torch.get_num_threads() == 1
    emergence.setup()
    assert torch.get_num_threads() == 2


def test_setup_applies_the_book_style():
    mpl.rcParams["axes.grid"] = False
    emergence.setup()
    assert mpl.rcParams["axes.grid"] is BOOK_STYLE["axes.grid"]


@pytest.mark.parametrize("kwargs", [{"seed": -1}, {"threads": 0}])
def test_setup_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        emergence.setup(**kwargs)


def test_builds_are_not_interactive_and_silence_progress_bars(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setenv("EMERGENCE_NONINTERACTIVE", "1")
    assert not emergence.is_interactive()
    emergence.setup()
    import os

    assert os.environ["TQDM_DISABLE"] == "1"


def test_a_reader_session_is_interactive(monkeypatch):
    monkeypatch.delenv("EMERGENCE_NONINTERACTIVE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert emergence.is_interactive()
    monkeypatch.setenv("CI", "true")
    assert not emergence.is_interactive()
