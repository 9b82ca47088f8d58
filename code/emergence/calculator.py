"""A calculator a language model may call, safe against whatever text the model writes.

The model writes a call such as ``[calc: 23*45]``; :func:`find_call` extracts the expression
and :func:`evaluate` computes it. The evaluator parses with :mod:`ast` and walks the tree
itself, accepting only int and float literals, ``+ - * /``, unary minus and parentheses.
It never calls ``eval``: a model (or a prompt injected into it) can make it do arithmetic
and nothing else. Introduced in the chapter 'Tool use' (tool-use); :func:`operators` serves
the chapter 'Chain of thought' (chain-of-thought), which checks the equations a model writes.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass

#: Longest expression accepted, in characters; longer text is not a calculator call.
MAX_EXPRESSION_CHARS = 100
#: Largest magnitude of any literal, intermediate or final value.
MAX_MAGNITUDE = 10**15

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CALL = re.compile(r"\[calc:([^\]\n]*)\]")


def _checked(value: int | float) -> int | float:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("the result is not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"a value exceeds the calculator's limit of {MAX_MAGNITUDE:.0e}")
    return value


def _walk(node: ast.AST) -> int | float:
    if isinstance(node, ast.Constant):
        # bool is a subclass of int; True + True is not arithmetic a model should write.
        if type(node.value) not in (int, float):
            raise ValueError(f"only numbers are allowed, not {type(node.value).__name__}")
        return _checked(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _walk(node.left), _walk(node.right)
        if isinstance(node.op, ast.Div) and right == 0:
            raise ValueError("division by zero")
        return _checked(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _checked(_UNARY[type(node.op)](_walk(node.operand)))
    raise ValueError(f"{type(node).__name__} is not allowed: use numbers, + - * / and ()")


def evaluate(expression: str) -> int | float:
    """Value of an arithmetic expression of numbers, ``+ - * /``, unary minus and parentheses.

    Anything else (names, calls, attributes, powers, subscripts, strings, lambdas, ...),
    an expression longer than :data:`MAX_EXPRESSION_CHARS`, a value beyond
    :data:`MAX_MAGNITUDE` and division by zero raise ``ValueError``. Introduced in the
    chapter 'Tool use' (tool-use).
    """
    if not isinstance(expression, str):
        raise ValueError(f"expression must be a string, got {type(expression).__name__}")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    if not expression.strip():
        raise ValueError("empty expression")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise ValueError(f"not an arithmetic expression: {error.msg}") from None
    return _walk(tree.body)


def operators(expression: str) -> set[str]:
    """The binary operations an arithmetic expression uses, as symbols out of ``+ - * /``.

    A unary minus is part of a number, not an operation (``-5 + 3`` uses ``{"+"}``). The
    expression must be one :func:`evaluate` accepts (it is evaluated first), else
    ``ValueError``. Introduced in the chapter 'Chain of thought' (chain-of-thought), to
    compare the operations of a model's written equations with those a problem needs.
    """
    evaluate(expression)
    tree = ast.parse(expression.strip(), mode="eval")
    return {_SYMBOL[type(node.op)] for node in ast.walk(tree) if isinstance(node, ast.BinOp)}


def format_number(value: int | float) -> str:
    """The calculator's answer as text: integers without a decimal point, others to 6 digits."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:.6g}"


@dataclass(frozen=True)
class ToolCall:
    """The outcome of running the first calculator call in a model's text.

    ``expression`` is ``None`` when the text holds no well-formed call; ``error`` says why a
    call could not be run (``None`` when ``result`` holds the answer as text).
    """

    expression: str | None
    result: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def find_call(text: str) -> str | None:
    """Expression inside the first ``[calc: ...]`` in ``text``, or ``None`` if there is none."""
    match = _CALL.search(text)
    return match.group(1).strip() if match else None


def run_call(text: str) -> ToolCall:
    """Find the first calculator call in model-written text and execute it; never raises on
    bad input, so a chapter can count malformed calls instead of crashing. Introduced in
    the chapter 'Tool use' (tool-use)."""
    expression = find_call(text)
    if expression is None:
        return ToolCall(None, None, "no [calc: ...] call")
    try:
        return ToolCall(expression, format_number(evaluate(expression)), None)
    except ValueError as error:
        return ToolCall(expression, None, str(error))
