"""The book's figure style: readable, labelled, identical from one run to the next."""

from __future__ import annotations

import matplotlib as mpl

BOOK_STYLE = {
    "figure.figsize": (7.0, 4.0),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    # fixed ids in SVG output, so two builds write the same files
    "svg.hashsalt": "emergence-book",
}


def use_book_style() -> None:
    """Apply :data:`BOOK_STYLE` to matplotlib. Introduced in :ref:`intro-run`."""
    mpl.rcParams.update(BOOK_STYLE)
