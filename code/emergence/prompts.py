"""Small prompting tasks written for the book, and the few-shot prompts built from them.

Every task is literal data in this module (no download, no data files): pairs of a query
and its answer, of which the first :data:`N_DEMOS` are kept for demonstrations and the rest
are the test items. Introduced in the chapter 'In-context learning in a small pretrained
model' (in-context-learning); the word problems and arithmetic items serve the chapters
'Chain of thought' (chain-of-thought) and 'Tool use' (tool-use).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

#: How many items of each task are set aside as demonstrations.
N_DEMOS = 8


@dataclass(frozen=True)
class Task:
    """A query-to-answer task: ``instruction`` heads every prompt; ``pairs`` holds
    ``N_DEMOS`` demonstration items followed by the test items."""

    name: str
    instruction: str
    pairs: tuple[tuple[str, str], ...]

    @property
    def demos(self) -> tuple[tuple[str, str], ...]:
        return self.pairs[:N_DEMOS]

    @property
    def items(self) -> tuple[tuple[str, str], ...]:
        return self.pairs[N_DEMOS:]


def few_shot_prompt(instruction: str, demos: list[tuple[str, str]], query: str) -> str:
    """``instruction``, one ``query -> answer`` line per demonstration, then ``query ->``.

    The answer to score or generate follows with a leading space and ends at a line break.
    Introduced in the chapter 'In-context learning in a small pretrained model'
    (in-context-learning).
    """
    lines = [instruction] + [f"{q} -> {a}" for q, a in demos] + [f"{query} ->"]
    return "\n".join(lines)


def demo_orders(task: Task, n_shots: int, n_orders: int, seed: int = 0) -> list[list[tuple[str, str]]]:
    """``n_orders`` demonstration lists of ``n_shots`` items, each a fresh shuffle of the
    task's demonstration pool (so both the choice and the order of the shots vary).

    With no shots there is a single, empty order. Introduced in the chapter 'In-context
    learning in a small pretrained model' (in-context-learning).
    """
    if not 0 <= n_shots <= len(task.demos):
        raise ValueError(f"n_shots must be between 0 and {len(task.demos)}, got {n_shots}")
    if n_orders < 1:
        raise ValueError(f"n_orders must be at least 1, got {n_orders}")
    if n_shots == 0:
        return [[]]
    orders = []
    for r in range(n_orders):
        pool = list(task.demos)
        random.Random(f"{task.name}-{seed}-{r}").shuffle(pool)
        orders.append(pool[:n_shots])
    return orders


def mismatched_demos(task: Task, demos: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The same demonstrations with wrong answers: each query keeps its place but takes the
    answer of the next item of the task's demonstration pool.

    The prompt keeps its format and draws its answers from the same kind of words (for eight
    shots, exactly the same words), but the mapping from query to answer is wrong: a control
    that separates what demonstrations teach about the format from what they teach about
    the task. Introduced in the chapter 'In-context learning in a small pretrained model'
    (in-context-learning-shots).
    """
    pool = list(task.demos)
    queries = [q for q, _ in pool]
    mismatched = []
    for query, answer in demos:
        if (query, answer) not in pool:
            raise ValueError(f"({query!r}, {answer!r}) is not a demonstration of {task.name!r}")
        following = pool[(queries.index(query) + 1) % len(pool)][1]
        mismatched.append((query, following))
    return mismatched


CAPITALS = Task("country -> capital", "Countries and their capital cities:", (
    ("France", "Paris"), ("Japan", "Tokyo"), ("Egypt", "Cairo"), ("Peru", "Lima"),
    ("Norway", "Oslo"), ("Thailand", "Bangkok"), ("Kenya", "Nairobi"), ("Cuba", "Havana"),
    ("Italy", "Rome"), ("Spain", "Madrid"), ("Germany", "Berlin"), ("Russia", "Moscow"),
    ("China", "Beijing"), ("Greece", "Athens"), ("Canada", "Ottawa"), ("Austria", "Vienna"),
    ("Ireland", "Dublin"), ("Sweden", "Stockholm"), ("Finland", "Helsinki"),
    ("Denmark", "Copenhagen"), ("Poland", "Warsaw"), ("Portugal", "Lisbon"),
    ("Hungary", "Budapest"), ("Iran", "Tehran"), ("Iraq", "Baghdad"), ("Syria", "Damascus"),
    ("Lebanon", "Beirut"), ("Afghanistan", "Kabul"), ("Indonesia", "Jakarta"),
    ("Philippines", "Manila"), ("Vietnam", "Hanoi"), ("South Korea", "Seoul"),
    ("Belgium", "Brussels"), ("Romania", "Bucharest"), ("Bulgaria", "Sofia"),
    ("Serbia", "Belgrade"), ("Ghana", "Accra"), ("Morocco", "Rabat"), ("Venezuela", "Caracas"),
    ("Iceland", "Reykjavik"), ("Nepal", "Kathmandu"), ("Pakistan", "Islamabad"),
    ("Turkey", "Ankara"), ("Saudi Arabia", "Riyadh"), ("Australia", "Canberra"),
    ("New Zealand", "Wellington"), ("Argentina", "Buenos Aires"), ("Chile", "Santiago"),
    ("Mexico", "Mexico City"), ("Scotland", "Edinburgh"), ("Croatia", "Zagreb"),
    ("Latvia", "Riga"), ("Georgia", "Tbilisi"), ("Senegal", "Dakar"), ("Uganda", "Kampala"),
))

ANTONYMS = Task("word -> antonym", "Words and their opposites:", (
    ("hot", "cold"), ("big", "small"), ("fast", "slow"), ("happy", "sad"), ("rich", "poor"),
    ("win", "lose"), ("wet", "dry"), ("loud", "quiet"), ("up", "down"), ("full", "empty"),
    ("strong", "weak"), ("high", "low"), ("early", "late"), ("true", "false"),
    ("good", "bad"), ("love", "hate"), ("thick", "thin"), ("clean", "dirty"),
    ("cheap", "expensive"), ("inside", "outside"), ("push", "pull"), ("buy", "sell"),
    ("left", "right"), ("north", "south"), ("east", "west"), ("day", "night"),
    ("black", "white"), ("first", "last"), ("alive", "dead"), ("above", "below"),
    ("before", "after"), ("give", "take"), ("question", "answer"), ("friend", "enemy"),
    ("war", "peace"), ("increase", "decrease"), ("maximum", "minimum"),
    ("positive", "negative"), ("always", "never"), ("ancient", "modern"), ("deep", "shallow"),
    ("wide", "narrow"), ("odd", "even"), ("entrance", "exit"), ("import", "export"),
    ("possible", "impossible"), ("success", "failure"), ("summer", "winter"),
    ("top", "bottom"), ("smooth", "rough"), ("polite", "rude"), ("guilty", "innocent"),
    ("safe", "dangerous"), ("remember", "forget"), ("open", "closed"), ("sweet", "sour"),
))

FRENCH = Task("English -> French", "English words and their French translations:", (
    ("dog", "chien"), ("house", "maison"), ("water", "eau"), ("red", "rouge"),
    ("moon", "lune"), ("bread", "pain"), ("three", "trois"), ("king", "roi"),
    ("cat", "chat"), ("book", "livre"), ("black", "noir"), ("white", "blanc"),
    ("green", "vert"), ("blue", "bleu"), ("two", "deux"), ("four", "quatre"),
    ("five", "cinq"), ("seven", "sept"), ("eight", "huit"), ("ten", "dix"),
    ("sun", "soleil"), ("sea", "mer"), ("tree", "arbre"), ("flower", "fleur"),
    ("car", "voiture"), ("night", "nuit"), ("day", "jour"), ("man", "homme"),
    ("woman", "femme"), ("child", "enfant"), ("friend", "ami"), ("cheese", "fromage"),
    ("wine", "vin"), ("apple", "pomme"), ("milk", "lait"), ("fish", "poisson"),
    ("bird", "oiseau"), ("horse", "cheval"), ("city", "ville"), ("queen", "reine"),
    ("love", "amour"), ("world", "monde"), ("door", "porte"), ("hand", "main"),
    ("yes", "oui"), ("small", "petit"), ("girl", "fille"), ("cow", "vache"),
    ("mouse", "souris"), ("butter", "beurre"), ("salt", "sel"), ("sugar", "sucre"),
    ("rain", "pluie"), ("snow", "neige"), ("wind", "vent"), ("fire", "feu"),
))

#: The three query-to-answer tasks of the in-context learning chapter.
TASKS = (CAPITALS, ANTONYMS, FRENCH)

#: Short film-review phrases and their sentiment, for the label-flipping experiment: the
#: first N_DEMOS are demonstrations (half of each label), the rest test items.
SENTIMENT = Task("review -> sentiment", "Film reviews and their sentiment:", (
    ("a wonderful, moving film", "positive"), ("a dull and lifeless plot", "negative"),
    ("brilliant acting throughout", "positive"), ("a waste of two hours", "negative"),
    ("I loved every minute", "positive"), ("boring from start to finish", "negative"),
    ("a delightful surprise", "positive"), ("the worst film of the year", "negative"),
    ("a charming and funny story", "positive"), ("a terrible, confusing mess", "negative"),
    ("beautifully shot and well acted", "positive"), ("I hated the ending", "negative"),
    ("an absolute masterpiece", "positive"), ("painfully slow and predictable", "negative"),
    ("great music and a clever script", "positive"), ("the jokes fall flat", "negative"),
    ("a joy to watch", "positive"), ("awful dialogue and weak acting", "negative"),
    ("warm, witty and wise", "positive"), ("a complete disaster", "negative"),
    ("the best film I have seen in years", "positive"), ("I walked out early", "negative"),
    ("an excellent cast", "positive"), ("ugly, loud and stupid", "negative"),
    ("a touching, beautiful story", "positive"), ("badly written and poorly directed", "negative"),
    ("fun for the whole family", "positive"), ("a forgettable sequel", "negative"),
    ("superb performances", "positive"), ("the plot makes no sense", "negative"),
    ("a real triumph", "positive"), ("tedious and far too long", "negative"),
    ("smart, fresh and exciting", "positive"), ("a boring, empty film", "negative"),
    ("an inspiring film", "positive"), ("a sad waste of talent", "negative"),
    ("I would happily watch it again", "positive"), ("dreadful in every way", "negative"),
    ("lovely and heartfelt", "positive"), ("a mess of clichés", "negative"),
    ("a funny, clever comedy", "positive"), ("I fell asleep halfway", "negative"),
    ("gorgeous to look at", "positive"), ("a cheap, lazy remake", "negative"),
    ("a thrilling ride", "positive"), ("annoying characters everywhere", "negative"),
    ("pure magic on screen", "positive"), ("an insult to the audience", "negative"),
))

#: The two labels of :data:`SENTIMENT`, and each one's flipped counterpart.
FLIP = {"positive": "negative", "negative": "positive"}


@dataclass(frozen=True)
class WordProblem:
    """A short arithmetic word problem with its integer answer; for the worked examples, a
    chain of thought that ends with ``The answer is <answer>.``; for the test problems, the
    calculations that solve it, in order (``steps``, each ``a op b``; the last one gives the
    answer), against which a model's written equations are checked.

    Introduced in the chapter 'Chain of thought' (chain-of-thought).
    """

    question: str
    answer: int
    reasoning: str = ""
    steps: tuple[str, ...] = ()


#: Worked examples for chain-of-thought prompting. The first is the exemplar of Figure 1 of
#: Wei et al. (2022): its answer is 11. It is a demonstration, never a test item.
COT_EXEMPLARS = (
    WordProblem(
        "Roger has 5 tennis balls. He buys 2 more cans of tennis balls. Each can has 3 tennis "
        "balls. How many tennis balls does he have now?", 11,
        "Roger started with 5 balls. 2 cans of 3 tennis balls each is 6 tennis balls. "
        "5 + 6 = 11. The answer is 11."),
    WordProblem(
        "There are 15 trees in the grove. Grove workers will plant trees in the grove today. "
        "After they are done, there will be 21 trees. How many trees did the grove workers "
        "plant today?", 6,
        "There are 15 trees originally. Then there were 21 trees after some more were planted. "
        "So there must have been 21 - 15 = 6. The answer is 6."),
)

#: Test problems: the cafeteria question of Wei et al. (2022, Figure 1), the juggler question
#: of Kojima et al. (2022, Figure 1), and six more written for this book, all of two steps.
WORD_PROBLEMS = (
    WordProblem("The cafeteria had 23 apples. If they used 20 to make lunch and bought 6 more, "
                "how many apples do they have?", 9, steps=("23 - 20", "3 + 6")),
    WordProblem("A juggler can juggle 16 balls. Half of the balls are golf balls, and half of "
                "the golf balls are blue. How many blue golf balls are there?", 4,
                steps=("16 / 2", "8 / 2")),
    WordProblem("Anna has 12 pencils. She gives 4 pencils to her brother and then buys 7 more. "
                "How many pencils does she have now?", 15, steps=("12 - 4", "8 + 7")),
    WordProblem("A bus has 30 seats. 18 people are sitting on the bus. At the next stop 9 more "
                "people get on. How many seats are still empty?", 3, steps=("18 + 9", "30 - 27")),
    WordProblem("Tom reads 8 pages every day. How many pages does he read in 2 weeks?", 112,
                steps=("2 * 7", "8 * 14")),
    WordProblem("A farmer has 4 fields with 25 cows in each field. He sells 30 cows. How many "
                "cows does he have left?", 70, steps=("4 * 25", "100 - 30")),
    WordProblem("A box holds 6 eggs. Mary buys 5 boxes and breaks 3 eggs. How many whole eggs "
                "does she have?", 27, steps=("6 * 5", "30 - 3")),
    WordProblem("A shirt costs 15 dollars and a hat costs 9 dollars. How much do 2 shirts and "
                "1 hat cost together?", 39, steps=("2 * 15", "30 + 9")),
)


def read_answer(text: str) -> int | None:
    """The integer a model's answer gives: the number after the last "answer is" if there is
    one, else the first number in the text; ``None`` when the text holds no number.

    Introduced in the chapter 'Chain of thought' (chain-of-thought).
    """
    text = text.replace(",", "")
    stated = re.findall(r"answer is\D{0,3}?(-?\d+)", text)
    if stated:
        return int(stated[-1])
    first = re.search(r"-?\d+", text)
    return int(first.group()) if first else None


def equations(text: str) -> list[tuple[str, str]]:
    """Every ``a op b = c`` a model wrote, as ``(left side, right side)`` pairs, so that its
    arithmetic can be checked. Introduced in the chapter 'Chain of thought' (chain-of-thought).
    """
    pattern = r"(-?\d+(?:\s*[-+*/x×]\s*-?\d+)+)\s*=\s*(-?\d+)"
    return [(left.replace("x", "*").replace("×", "*"), right)
            for left, right in re.findall(pattern, text.replace(",", ""))]


#: The three operations of the arithmetic problems, as the question writes them.
OPERATIONS = ("+", "-", "*")


def arithmetic_problems(digits: int, n: int, seed: int = 0) -> list[tuple[str, int]]:
    """``n`` problems ``a op b`` with two ``digits``-digit operands and an operation from
    :data:`OPERATIONS`, as ``(expression, answer)`` pairs, reproducible from ``seed``.

    Introduced in the chapter 'Tool use' (tool-use).
    """
    if digits < 1 or n < 1:
        raise ValueError(f"digits and n must be at least 1, got {digits} and {n}")
    rng = random.Random(f"arithmetic-{digits}-{seed}")
    low, high = 10 ** (digits - 1), 10**digits - 1
    problems = []
    for _ in range(n):
        a, b, op = rng.randint(low, high), rng.randint(low, high), rng.choice(OPERATIONS)
        value = a + b if op == "+" else a - b if op == "-" else a * b
        problems.append((f"{a} {op} {b}", value))
    return problems
