"""Reproducible execution: seeds, thread counts, plot style and quiet progress bars."""

from __future__ import annotations

import os
import random
import warnings

import numpy as np

from emergence import plotting

_TRUE = {"1", "true", "yes"}


def is_interactive() -> bool:
    """False when the book is being built or tested (``EMERGENCE_NONINTERACTIVE`` or ``CI`` set).

    Introduced in :ref:`intro-run`.
    """
    flags = (os.environ.get("EMERGENCE_NONINTERACTIVE", ""), os.environ.get("CI", ""))
    return not any(flag.strip().lower() in _TRUE for flag in flags)


def setup(seed: int = 0, threads: int = 2) -> None:
    """Make a chapter's run repeatable; every chapter calls this in its first cell.

    Seeds Python's, NumPy's and (when installed) PyTorch's generators, fixes PyTorch's
    thread count (results of float reductions depend on it), applies the book's plot style,
    and turns tqdm progress bars off when the run is not interactive, so that built pages
    and test logs carry no progress-bar noise.

    Introduced in :ref:`intro-run`.
    """
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if not is_interactive():
        # Before importing torch: torch imports tqdm, and tqdm reads TQDM_* variables only once,
        # when it is first imported.
        os.environ["TQDM_DISABLE"] = "1"
        # tqdm.auto warns on stderr in a kernel without ipywidgets; a built page must not show it.
        warnings.filterwarnings("ignore", message="IProgress not found")
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
    plotting.use_book_style()
