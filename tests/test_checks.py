from pathlib import Path

from booktools.checks import (check_book, import_style_problems, introduced_objects, main,
                              maintainer_notes)

ROOT = Path(__file__).resolve().parents[1]

GOOD_CHAPTER = """\
---
kernelspec:
  name: python3
---

(chapter)=
# A good chapter

As {cite:p}`known2020` found, the answer is {glue:text}`answer:.1f`.

```{code-cell} ipython3
from myst_nb import glue
glue("answer", 42.0, display=False)
```
"""


def make_book(root: Path, chapter: str, toc_entry: str = "chapters/chapter") -> Path:
    (root / "chapters").mkdir()
    path = root / "chapters" / "chapter.md"
    path.write_text(chapter)
    (root / "references.bib").write_text("@article{known2020,\n  title = {T},\n}\n")
    (root / "_toc.yml").write_text(f"format: jb-book\nroot: {toc_entry}\n")
    return path


def messages(root: Path) -> list[str]:
    return [problem.message for problem in check_book(root)]


def test_this_book_passes_its_own_checks(capsys):
    assert main([str(ROOT)]) == 0, capsys.readouterr().out


def test_a_good_chapter_passes(tmp_path):
    make_book(tmp_path, GOOD_CHAPTER)
    assert messages(tmp_path) == []


def test_missing_top_label_is_reported(tmp_path):
    make_book(tmp_path, GOOD_CHAPTER.replace("(chapter)=\n", ""))
    assert any("does not open with a label" in m for m in messages(tmp_path))


def test_top_label_must_be_the_file_name(tmp_path):
    make_book(tmp_path, GOOD_CHAPTER.replace("(chapter)=", "(good)="))
    assert messages(tmp_path) == [
        "opens with the label '(good)=', but a page's top label is its file name: '(chapter)='"]


def test_a_template_may_open_with_any_label(tmp_path):
    make_book(tmp_path, GOOD_CHAPTER)
    (tmp_path / "chapters" / "_template.md").write_text(
        GOOD_CHAPTER.replace("(chapter)=", "(chapter-label)="))
    assert messages(tmp_path) == []


def test_unknown_citation_key_is_reported(tmp_path):
    make_book(tmp_path, GOOD_CHAPTER.replace("known2020", "unknown1999"))
    assert "cites 'unknown1999', which is not in references.bib" in messages(tmp_path)


def test_glue_shown_but_never_defined_is_reported(tmp_path):
    make_book(tmp_path, GOOD_CHAPTER.replace('glue("answer"', 'glue("other"'))
    assert "shows glued name 'answer' but no code cell glues it" in messages(tmp_path)


def test_glue_defined_only_in_prose_does_not_count(tmp_path):
    chapter = GOOD_CHAPTER.replace('glue("answer", 42.0, display=False)', "pass")
    make_book(tmp_path, chapter + '\nNot code: glue("answer", 1)\n')
    assert "shows glued name 'answer' but no code cell glues it" in messages(tmp_path)


def test_glue_figure_directive_is_checked(tmp_path):
    make_book(tmp_path, GOOD_CHAPTER + "\n```{glue:figure} missing_fig\n```\n")
    assert "shows glued name 'missing_fig' but no code cell glues it" in messages(tmp_path)


def test_chapter_missing_from_toc_is_reported(tmp_path):
    make_book(tmp_path, GOOD_CHAPTER, toc_entry="chapters/other")
    found = messages(tmp_path)
    assert any("is not listed in _toc.yml" in m for m in found)
    assert "lists 'chapters/other', which does not exist" in found


def test_template_is_checked_but_need_not_be_listed(tmp_path):
    make_book(tmp_path, GOOD_CHAPTER)
    (tmp_path / "chapters" / "_template.md").write_text(GOOD_CHAPTER)
    assert messages(tmp_path) == []


def test_main_reports_problems_with_file_names(tmp_path, capsys):
    path = make_book(tmp_path, GOOD_CHAPTER.replace("known2020", "unknown1999"))
    assert main([str(tmp_path)]) == 1
    assert f"{path}: cites 'unknown1999'" in capsys.readouterr().out


GLOSSARY = """\
(glossary)=
# Glossary

```{glossary}
emergence
  **涌现**. An ability that appears with scale. See {ref}`chapter`.

grokking
  Generalisation long after memorisation. See {ref}`chapter`.
```
"""


def test_a_glossary_term_without_chinese_is_a_note_not_a_problem(tmp_path, capsys):
    make_book(tmp_path, GOOD_CHAPTER)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: chapters/chapter\n"
                                       "chapters:\n  - file: chapters/glossary\n")
    (tmp_path / "chapters" / "glossary.md").write_text(GLOSSARY)
    assert messages(tmp_path) == []
    notes = [note.message for note in maintainer_notes(tmp_path)]
    assert notes == ["glossary term 'grokking' has no Chinese name yet; a maintainer will add "
                     "it (contributors may leave it out)"]
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "note: " in out and "'grokking'" in out and "1 note(s) for a maintainer" in out


def test_a_complete_glossary_has_no_notes(tmp_path):
    make_book(tmp_path, GOOD_CHAPTER)
    (tmp_path / "chapters" / "glossary.md").write_text(
        GLOSSARY.replace("  Generalisation", "  **顿悟**. Generalisation"))
    assert maintainer_notes(tmp_path) == []


def _cells(*sources: str) -> str:
    return "".join(f"```{{code-cell}} ipython3\n{source}\n```\n\n" for source in sources)


def _import_messages(*sources: str) -> list[str]:
    return [problem.message for problem in import_style_problems(Path("c.md"), _cells(*sources))]


def test_the_book_import_style_passes():
    assert _import_messages(
        "import emergence\nemergence.setup(seed=0)",
        "from emergence.lm import load_lm\nfrom emergence.tasks.addition import (\n"
        "    AdditionTask,\n)",
        "%matplotlib inline\nimport numpy as np\nfrom myst_nb import glue",
        "import emergencey as e  # another package") == []


def test_other_import_styles_are_errors():
    found = _import_messages("from emergence import lm",
                             "import emergence.lm as L",
                             "import emergence.scaling",
                             "import numpy, emergence as E",
                             "from emergence.lm import load_lm as load")
    assert len(found) == 5, found
    assert found[0].startswith("'from emergence import lm': import the names from their module")
    assert found[1].startswith("'import emergence.lm as L': write 'import emergence'")
    assert found[2].startswith("'import emergence.scaling'")
    assert found[3].startswith("'import emergence as E'")
    assert found[4] == "'from emergence.lm import load_lm as load': import names without renaming them"


def test_a_cell_that_is_not_python_is_left_to_the_execution():
    assert _import_messages("from emergence import (") == []


def test_the_import_style_is_a_problem_unless_switched_off(tmp_path):
    make_book(tmp_path, GOOD_CHAPTER + _cells("from emergence import lm"))
    assert messages(tmp_path)[0].startswith("'from emergence import lm'")
    assert check_book(tmp_path, enforce_import_style=False) == []
    assert [note.message for note in maintainer_notes(tmp_path, enforce_import_style=False)
            ][0].startswith("'from emergence import lm'")
    enforced = [p.message for p in check_book(tmp_path, enforce_import_style=True)]
    assert len(enforced) == 1 and enforced[0].startswith("'from emergence import lm'")
    assert maintainer_notes(tmp_path, enforce_import_style=True) == []


LIBRARY_MODULE = '''"""A module. Introduced in the chapter 'A good chapter' (chapter)."""


def named(x: int) -> int:
    """Named on its page. Introduced in the chapter 'A good
    chapter' (chapter)."""


def unnamed() -> None:
    """Introduced in 'A good chapter' (chapter)."""


class Fit:
    """Introduced in :ref:`chapter-section`."""

    def predict(self) -> None:
        """Introduced in the chapter 'Elsewhere' (nowhere)."""


def helper() -> None:
    """Says nothing about chapters."""
'''


def _library(root: Path) -> None:
    (root / "code" / "emergence" / "sub").mkdir(parents=True)
    (root / "code" / "emergence" / "__init__.py").write_text(
        "from emergence.sub.tools import unnamed as shortcut\n")
    (root / "code" / "emergence" / "sub" / "__init__.py").write_text("")
    (root / "code" / "emergence" / "sub" / "tools.py").write_text(LIBRARY_MODULE)


def test_introduced_objects_are_read_from_docstrings(tmp_path):
    _library(tmp_path)
    assert introduced_objects(tmp_path / "code" / "emergence") == [
        ("emergence.sub.tools.named", "chapter"), ("emergence.sub.tools.unnamed", "chapter"),
        ("emergence.sub.tools.Fit", "chapter-section"),
        ("emergence.sub.tools.Fit.predict", "nowhere")]


def test_an_introduced_function_its_chapter_neither_lists_nor_names_is_a_problem(tmp_path):
    path = make_book(tmp_path, GOOD_CHAPTER + "\nWe use `emergence.sub.tools.named()`.\n\n"
                                              "(chapter-section)=\n## Fits\n\n"
                                              "And `emergence.sub.tools.Fit`.\n")
    _library(tmp_path)
    assert [str(problem) for problem in check_book(tmp_path)] == [
        f"{path}: emergence.sub.tools.unnamed is introduced here (its docstring says so), but "
        "the page neither lists it (```{introduced-here}) nor names it as "
        "`emergence.sub.tools.unnamed`; either links to its source",
        f"{tmp_path / 'code' / 'emergence'}: emergence.sub.tools.Fit.predict says it is "
        "introduced at the label 'nowhere', which no page defines"]
    path.write_text(path.read_text() + "\n```{introduced-here}\n```\n")
    assert [problem.message for problem in check_book(tmp_path)] == [
        "emergence.sub.tools.Fit.predict says it is introduced at the label 'nowhere', which no "
        "page defines"]


def test_a_function_named_by_the_name_its_package_exports_counts_as_named(tmp_path):
    make_book(tmp_path, GOOD_CHAPTER + "\nWe use `emergence.sub.tools.named()` and "
                                       "`emergence.shortcut()`.\n")
    _library(tmp_path)
    problems = [problem.message for problem in check_book(tmp_path)]
    assert not any("emergence.sub.tools.unnamed" in problem for problem in problems), problems
