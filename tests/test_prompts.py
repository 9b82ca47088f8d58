"""Tests of the prompt builders, task data and answer readers of emergence.prompts."""

from __future__ import annotations

import re

import pytest

from emergence.calculator import evaluate, format_number

from emergence.prompts import (
    N_DEMOS, SENTIMENT, TASKS, WORD_PROBLEMS, demo_orders, equations, few_shot_prompt,
    mismatched_demos, read_answer,
)


def test_tasks_have_demonstrations_and_forty_test_items():
    for task in TASKS + (SENTIMENT,):
        assert len(task.demos) == N_DEMOS and len(task.items) >= 40
        queries = [q for q, _ in task.pairs]
        assert len(set(queries)) == len(queries), f"duplicate query in {task.name}"


def test_sentiment_is_balanced():
    for part in (SENTIMENT.demos, SENTIMENT.items):
        labels = [a for _, a in part]
        assert labels.count("positive") == labels.count("negative")


def test_few_shot_prompt_format():
    prompt = few_shot_prompt("Opposites:", [("hot", "cold"), ("up", "down")], "big")
    assert prompt == "Opposites:\nhot -> cold\nup -> down\nbig ->"


def test_demo_orders_are_reproducible_shuffles():
    task = TASKS[0]
    orders = demo_orders(task, 8, 3)
    assert orders == demo_orders(task, 8, 3)
    assert all(sorted(o) == sorted(task.demos) for o in orders)
    assert len({tuple(o) for o in orders}) == 3
    assert demo_orders(task, 0, 3) == [[]]
    with pytest.raises(ValueError):
        demo_orders(task, 9, 1)
    with pytest.raises(ValueError):
        demo_orders(task, 2, 0)


def test_mismatched_demos_keep_queries_and_answer_words_but_no_right_pair():
    for task in TASKS:
        for k in (1, 4, 8):
            for demos in demo_orders(task, k, 3):
                wrong = mismatched_demos(task, demos)
                assert [q for q, _ in wrong] == [q for q, _ in demos]
                assert not set(wrong) & set(task.pairs), "no demonstration keeps its answer"
                assert {a for _, a in wrong} <= {a for _, a in task.demos}
        full = demo_orders(task, 8, 1)[0]
        assert sorted(a for _, a in mismatched_demos(task, full)) == sorted(a for _, a in full)
    with pytest.raises(ValueError, match="not a demonstration"):
        mismatched_demos(TASKS[0], [("Atlantis", "Poseidonia")])


def test_word_problem_answers_are_integers():
    assert all(isinstance(p.answer, int) for p in WORD_PROBLEMS)


def test_word_problems_carry_two_solution_steps_that_reach_the_answer():
    for problem in WORD_PROBLEMS:
        assert len(problem.steps) == 2, problem.question
        first, last = (evaluate(step) for step in problem.steps)
        assert last == problem.answer, problem.question
        # The second step uses the first one's result: the problems take two steps.
        assert format_number(first) in re.findall(r"\d+", problem.steps[1]), problem.question


@pytest.mark.parametrize(("text", "value"), [
    (" 23.", 23), ("So 5 + 6 = 11. The answer is 11.", 11), ("The answer is $1,200.", 1200),
    ("first 3, then the answer is 7, no, the answer is 8", 8), ("no number", None),
    (": -4 apples", -4),
])
def test_read_answer(text, value):
    assert read_answer(text) == value


def test_equations():
    text = "2 cans of 3 is 6. 5 + 6 = 11. Then 2 x 9 = 18 and 4*25 - 30 = 70."
    assert equations(text) == [("5 + 6", "11"), ("2 * 9", "18"), ("4*25 - 30", "70")]
