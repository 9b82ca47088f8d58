"""Shared code of the book *Emergent Abilities and Scaling Laws, Executed*.

Every chapter starts with :func:`emergence.setup`. Each public function says in its
docstring which section of the book introduces it.
"""

from emergence.runtime import is_interactive, setup

__version__ = "0.1.0"

__all__ = ["__version__", "is_interactive", "setup"]
