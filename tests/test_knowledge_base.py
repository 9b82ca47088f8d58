"""The knowledge-base appendices stay complete and the seeds' wrong numbers stay out.

The claims ledger must cover every claim of the fact sheet's check of the seeds, the outline
map every heading of the seeds, and the glossary the key terms with their Chinese names.
The fact sheet and the seeds live outside the repository (in ``shared/`` beside it, or where
the environment variable ``EMERGENCE_SHARED`` points); the tests that need them are skipped
when it is absent.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
LEDGER = CHAPTERS / "claims-ledger.md"
OUTLINE_MAP = CHAPTERS / "outline-map.md"
GLOSSARY = CHAPTERS / "glossary.md"


def _shared_folder() -> Path | None:
    """The shared folder: ``$EMERGENCE_SHARED`` if set, else ``shared/`` beside the repository."""
    configured = os.environ.get("EMERGENCE_SHARED")
    candidate = Path(configured) if configured else ROOT.parent / "shared"
    return candidate if (candidate / "reference" / "facts.md").is_file() else None


SHARED = _shared_folder()
needs_shared = pytest.mark.skipif(SHARED is None, reason="shared/ (fact sheet, seeds) absent")


def _fact_check_rows(facts: str) -> dict[int, str]:
    """Claim number -> verdict text of the fact sheet's claim-by-claim table (section 11)."""
    section = facts.split("## 11.", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0].isdigit():
            rows[int(cells[0])] = cells[2]
    return rows


def _ledger_rows() -> dict[str, list[str]]:
    """Ledger id -> the cells of its list-table row (id, claim, verdict, correction, where)."""
    text = LEDGER.read_text(encoding="utf-8")
    table = text.split("```{list-table}", 1)[1].split("\n```", 1)[0]
    rows: dict[str, list[str]] = {}
    for block in re.split(r"^\* - ", table, flags=re.MULTILINE)[1:]:
        cells = [cell.strip() for cell in re.split(r"^  - ", block, flags=re.MULTILINE)]
        rows[cells[0]] = cells
    return rows


@needs_shared
def test_every_fact_checked_claim_has_a_ledger_entry_with_its_verdict() -> None:
    facts = (SHARED / "reference" / "facts.md").read_text(encoding="utf-8")
    checked = _fact_check_rows(facts)
    assert len(checked) >= 20, "the fact sheet's check table was not parsed"
    ledger = _ledger_rows()
    for number, verdict in checked.items():
        entry = ledger.get(f"C{number}")
        assert entry is not None, f"claim {number} of the fact check has no ledger entry C{number}"
        first_word = re.search(r"[A-Z]{4,}", verdict).group(0).lower()
        assert first_word in entry[2].lower(), (
            f"ledger C{number} says '{entry[2]}', the fact sheet '{verdict}'")


def test_every_ledger_entry_is_complete() -> None:
    verdicts = ("supported", "misleading", "wrong", "unsourced", "contested",
                "misattributed", "plausible")
    rows = _ledger_rows()
    assert len(rows) >= 24
    for key, cells in rows.items():
        assert key == "ID" or len(cells) == 5, f"ledger row {key} must have 5 cells"
        if key == "ID":
            continue
        assert any(word in cells[2].lower() for word in verdicts), f"{key}: unknown verdict"
        assert "{ref}`" in cells[4], f"{key}: no link to the section that discusses it"
        if "unsourced" not in cells[2].lower():
            assert "{cite" in cells[3], f"{key}: the corrected statement needs a citation"


# The seeds' numbers that the fact sheet (section 11) found wrong or unsourced. Each entry:
# (fact-check claim, pattern of the wrong number, pattern that must occur in the same
# paragraph for the number to be the seed's claim rather than something else).
WRONG_NUMBERS = [
    ("C1: Kaplan's law with a compute variable F", r"F\^\{?-\\gamma|L\(N,\s*D,\s*F\)", r""),
    ("C2: text generation appears at 100M", r"\b100\s?M\b", r"text generation"),
    ("C2: reasoning needs 1B-10B", r"\b1\s?B\s*[-–—]\s*10\s?B\b", r"reason"),
    ("C3: GPT-1 has 1e8 parameters",
     r"GPT-1\b[^.\n]{0,40}(\b100\s?M\b|1e8|10\^8|1亿)", r""),
    ("C4: three-digit addition at 100B is 85%", r"\b85\s?%", r"addition|digit|arithmetic"),
    ("C4: the 5/10/15/20% accuracy ladder", r"\b5\s?%,\s*(100\s?M\s*)?10\s?%", r""),
    ("C5: 10B writes simple functions", r"\b10\s?B\b[^.\n]{0,40}simple functions", r""),
    ("C5: 100B writes complex algorithms", r"\b100\s?B\b[^.\n]{0,40}complex algorithms", r""),
    ("C6: GPT-3.5 solves the Roger problem", r"GPT-3\.5", r"Roger"),
]
# A paragraph that attributes the number to the seeds quotes it; it does not state it.
# ("seed=0" in a code cell is a random seed, not an attribution.)
ATTRIBUTION = re.compile(r"\bthe seeds?\b|\bseed (?:post|author|claim|table)s?\b|blog posts?",
                         re.IGNORECASE)
EXEMPT = {LEDGER.name, OUTLINE_MAP.name}


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def _wrong_numbers_in(text: str) -> list[str]:
    found = []
    for claim, number, context in WRONG_NUMBERS:
        for paragraph in _paragraphs(text):
            if re.search(number, paragraph) and re.search(context, paragraph, re.IGNORECASE):
                if not ATTRIBUTION.search(paragraph):
                    found.append(f"{claim}: {paragraph.strip()[:120]!r}")
    return found


def test_wrong_number_patterns_recognise_the_seeds_claims() -> None:
    # The ledger quotes every wrong number; if a pattern no longer finds it there, the
    # pattern (not the book) is broken.
    ledger = LEDGER.read_text(encoding="utf-8")
    for claim, number, context in WRONG_NUMBERS:
        assert any(re.search(number, p) and re.search(context, p, re.IGNORECASE)
                   for p in _paragraphs(ledger)), f"pattern for '{claim}' misses the ledger"
    assert _wrong_numbers_in("Three-digit addition reaches 85% at 100B parameters.")
    assert not _wrong_numbers_in("The seeds claim three-digit addition reaches 85% at 100B.")
    assert _wrong_numbers_in("emergence.setup(seed=0)\nThree-digit addition: 85% at 100B.")


def test_no_chapter_states_a_seed_number_as_fact() -> None:
    problems = []
    for page in sorted(CHAPTERS.glob("*.md")):
        if page.name in EXEMPT or page.name.startswith("_"):
            continue
        problems += [f"{page.name}: {hit}" for hit in _wrong_numbers_in(page.read_text("utf-8"))]
    assert not problems, "seed numbers stated as fact:\n" + "\n".join(problems)


def _seed_headings(seed_text: str) -> list[str]:
    """Front-matter title and Markdown headings of a seed, outside fenced code blocks."""
    headings = []
    front = re.match(r"---\n(.*?)\n---\n", seed_text, re.DOTALL)
    if front:
        title = re.search(r"^title:\s*(.+)$", front.group(1), re.MULTILINE)
        if title:
            headings.append(title.group(1).strip())
        seed_text = seed_text[front.end():]
    in_code = False
    for line in seed_text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (match := re.match(r"#{1,6}\s+(.+?)\s*$", line)):
            # decorative emoji before the words are not part of the heading
            headings.append(re.sub(r"^[^\w\u4e00-\u9fff]+", "", match.group(1)))
    return headings


@needs_shared
def test_every_seed_heading_is_in_the_outline_map() -> None:
    seeds = sorted((SHARED / "seeds").glob("*.txt"))
    assert len(seeds) == 2
    table_cells = set()
    for line in OUTLINE_MAP.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            table_cells.update(cells)
            if len(cells) == 4 and cells[1] not in ("Seed heading", "---"):
                assert "{ref}`" in cells[3], f"outline map row '{cells[1]}' links nowhere"
    for seed in seeds:
        headings = _seed_headings(seed.read_text(encoding="utf-8"))
        assert len(headings) > 10, f"no headings parsed from {seed.name}"
        missing = [h for h in headings if h not in table_cells]
        assert not missing, f"{seed.name}: headings missing from the outline map: {missing}"


def _glossary_entries() -> dict[str, str]:
    text = GLOSSARY.read_text(encoding="utf-8")
    body = text.split("```{glossary}", 1)[1].split("\n```", 1)[0]
    entries, term = {}, None
    for line in body.splitlines():
        if line and not line.startswith((" ", ":")):
            term = line.strip()
            entries[term] = ""
        elif term and line.startswith("  "):
            entries[term] += line.strip() + " "
    return entries


KEY_TERMS = {
    "emergence": "涌现",
    "emergent ability": "涌现能力",
    "scaling law": "规模法则",
    "chain-of-thought prompting": "思维链",
    "in-context learning": "上下文学习",
    "few-shot learning": "少样本学习",
    "zero-shot learning": "零样本学习",
    "phase transition": "相变",
    "tool use": "工具使用",
    "information bottleneck": "信息瓶颈",
    "manifold hypothesis": "流形假设",
}


def test_glossary_gives_chinese_names_and_links() -> None:
    entries = _glossary_entries()
    for term, chinese in KEY_TERMS.items():
        assert term in entries, f"glossary lacks '{term}'"
        assert chinese in entries[term], f"glossary '{term}' lacks its Chinese name {chinese}"
    # a term without a Chinese name is listed by `make check` for a maintainer to complete,
    # so that it never blocks a contributor who does not write Chinese
    for term, definition in entries.items():
        assert "{ref}`" in definition, f"glossary '{term}' does not say where it is explained"


def test_every_term_role_names_a_glossary_term() -> None:
    terms = {term.lower() for term in _glossary_entries()}
    for page in CHAPTERS.glob("*.md"):
        for role in re.findall(r"\{term\}`([^`]+)`", page.read_text(encoding="utf-8")):
            target = re.search(r"<([^>]+)>$", role)
            name = (target.group(1) if target else role).strip().lower()
            assert name in terms, f"{page.name}: {{term}} '{name}' is not in the glossary"
