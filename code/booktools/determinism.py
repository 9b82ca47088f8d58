"""Compare two executions of a chapter: the house rule is that both print the same numbers.

Text outputs (printed streams, results, glued values) must match exactly. Images are
not compared (their bytes depend on the renderer, their numbers are in the text), and a
cell may opt out, for instance one that reports a wall-clock time, with nbval's own marker:
the tag ``nbval-ignore-output`` or the comment ``# NBVAL_IGNORE_OUTPUT``.
"""

from __future__ import annotations

from nbformat import NotebookNode

_IGNORE_TAG = "nbval-ignore-output"
_IGNORE_COMMENT = "# NBVAL_IGNORE_OUTPUT"


def _ignores_output(cell: NotebookNode) -> bool:
    return _IGNORE_TAG in cell.get("metadata", {}).get("tags", []) or any(
        line.strip() == _IGNORE_COMMENT for line in cell.source.splitlines()
    )


def _text_of(output: NotebookNode) -> list[str]:
    data = output.get("data", {})
    return [f"{mime}: {value}" for mime, value in sorted(data.items())
            if not mime.startswith("image/")]


def cell_texts(notebook: NotebookNode) -> list[list[str]]:
    """The compared text of each code cell's outputs, with streams merged by name."""
    texts = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if _ignores_output(cell):
            texts.append([])
            continue
        merged: dict[str, str] = {}
        rest: list[str] = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                merged[output["name"]] = merged.get(output["name"], "") + output["text"]
            else:
                rest.extend(_text_of(output))
        texts.append([f"{name}: {text}" for name, text in sorted(merged.items())] + rest)
    return texts


def output_differences(first: NotebookNode, second: NotebookNode) -> list[str]:
    """Human-readable differences between the text outputs of two executions."""
    a, b = cell_texts(first), cell_texts(second)
    if len(a) != len(b):
        return [f"the executions have {len(a)} and {len(b)} code cells"]
    differences = []
    for number, (left, right) in enumerate(zip(a, b)):
        if left != right:
            differences.append(f"Cell {number}: first run {left!r}, second run {right!r}")
    return differences
