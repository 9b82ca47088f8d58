"""Tests of the safe calculator: arithmetic works, everything else is a ValueError."""

from __future__ import annotations

import pytest

from emergence.calculator import (
    MAX_EXPRESSION_CHARS,
    evaluate,
    find_call,
    format_number,
    operators,
    run_call,
)


@pytest.mark.parametrize(
    ("expression", "value"),
    [("23+45", 68), ("2 * (3 + 4)", 14), ("-5 + 3", -2), ("7/2", 3.5), ("1.5*4", 6.0),
     ("((12))", 12), ("10 - -3", 13), ("999*999", 998001), (" 8 / 4 ", 2.0)],
)
def test_arithmetic(expression, value):
    result = evaluate(expression)
    assert result == value and type(result) is type(value)


HOSTILE = [
    "__import__('os')",
    "__import__('os').system('echo pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "(1).__class__",
    "x",
    "x + 1",
    "abs(-3)",
    "lambda: 1",
    "(lambda: 1)()",
    "2**99999",
    "2**10",
    "9**9**9",
    "[1, 2][0]",
    "'a' * 3",
    "f'{1+1}'",
    "(y := 3)",
    "1 if True else 2",
    "True + True",
    "1j * 1j",
    "3 % 2",
    "7 // 2",
    "1 << 5",
    "1 < 2",
    "not 1",
    "~1",
    "...",
    "None",
    "{1: 2}",
    "1; 2",
    "import os",
    "1 = 1",
    "",
    "   ",
    "1 +",
    "1" * (MAX_EXPRESSION_CHARS + 1),
    "+".join(["1"] * 200),
    "9" * 20,
    "1e308 * 10",
    "10**15 * 10",
    "1/0",
    "1 / (2 - 2)",
    "0.0 / 0.0",
]


@pytest.mark.parametrize("expression", HOSTILE)
def test_hostile_input_is_a_value_error(expression):
    with pytest.raises(ValueError):
        evaluate(expression)


def test_non_strings_are_value_errors():
    with pytest.raises(ValueError, match="string"):
        evaluate(12)  # type: ignore[arg-type]


def test_deep_nesting_is_bounded_by_the_length_limit():
    with pytest.raises(ValueError, match="longer"):
        evaluate("(" * 5000 + "1" + ")" * 5000)


def test_format_number():
    assert format_number(68) == "68"
    assert format_number(2.0) == "2"
    assert format_number(3.5) == "3.5"
    assert format_number(1 / 3) == "0.333333"


def test_find_call_takes_the_first_well_formed_call():
    assert find_call("Let me compute. [calc: 23+45] and [calc: 1+1]") == "23+45"
    assert find_call("[calc:12*3]") == "12*3"
    assert find_call("no call here") is None
    assert find_call("[calc: 23+45") is None
    assert find_call("[calc: 1+\n2]") is None


def test_run_call_reports_instead_of_raising():
    good = run_call("A: [calc: 120 - 45]")
    assert good.ok and good.expression == "120 - 45" and good.result == "75"
    missing = run_call("A: 75")
    assert not missing.ok and missing.expression is None and "no [calc" in missing.error
    hostile = run_call("[calc: __import__('os').system('ls')]")
    assert not hostile.ok and hostile.result is None
    zero = run_call("[calc: 5/0]")
    assert not zero.ok and "zero" in zero.error


@pytest.mark.parametrize(
    ("expression", "symbols"),
    [("23 + 45", {"+"}), ("5 + 2 * 3", {"+", "*"}), ("-5 - 3", {"-"}), ("(12 + 30) / 4", {"+", "/"}),
     ("-7", set()), ("16 / 2 / 2", {"/"}), ("4*25 - 30", {"*", "-"})],
)
def test_operators(expression, symbols):
    assert operators(expression) == symbols


@pytest.mark.parametrize("expression", ["__import__('os')", "2 ** 3", "", "1 +", "7 / 0"])
def test_operators_reject_what_evaluate_rejects(expression):
    with pytest.raises(ValueError):
        operators(expression)
