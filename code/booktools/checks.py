"""Check every chapter against the house rules that a build alone does not enforce.

Run ``python -m booktools.checks`` from the book root (``make check``; the test suite runs
it too). Each problem is reported as ``file: message``; the exit status is 1 when there is
any.

Rules checked, per page in ``chapters/`` (introduced on the page "Contributing a chapter"):

* it opens (after its front matter) with a label, ``(my-label)=``, then a ``#`` heading;
* that label is the file's name (``chapters/power-laws.md`` opens with ``(power-laws)=``),
  because readers cite and link pages by it (page "How to cite"); templates, whose names
  start with ``_``, are exempt;
* every key in a ``{cite}`` role exists in ``references.bib``;
* every name shown with a ``{glue}`` role or directive is glued in one of its code cells;
* it is listed in ``_toc.yml`` (pages whose name starts with ``_`` are templates, not pages);
* its code cells import the library in the book's one style: ``import emergence`` (for
  ``emergence.setup``) and ``from emergence.<module> import <names>``; ``from emergence
  import <name>``, ``import emergence.<module>`` and ``import emergence... as <alias>`` are
  errors. While :data:`IMPORT_STYLE_ENFORCED` is False (chapters are being converted), they
  are listed as notes instead;
* a library function or class whose docstring says it is introduced in a chapter ("Introduced
  in the chapter 'Title' (label)") must be one click from that chapter to its source: listed
  by the chapter's ``{introduced-here}`` directive or named as inline code,
  ``emergence.<module>.<name>`` (the built book links both to the source).

Besides problems, the checker lists *notes*: work a maintainer completes, which does not fail
the check:

* a glossary entry without its Chinese name (the glossary gives each term's Chinese name as
  the seed blog posts use it), so a contributor who does not write Chinese can add a term in
  English and a maintainer adds the Chinese name;
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from booktools.execution import CHAPTER_FOLDER

_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_TOP_LABEL = re.compile(r"\A\s*\(([A-Za-z0-9][\w.:-]*)\)=\n#\s+\S")
_CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
_BIB_KEY = re.compile(r"^@\w+\s*\{\s*([^,\s]+)\s*,", re.MULTILINE)
_GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)(?::[^`]*)?`")
_GLUE_DIRECTIVE = re.compile(r"^[`:]{3,}\{glue(?::\w+)?\}\s+(\S+)", re.MULTILINE)
_GLUE_CALL = re.compile(r"\bglue\(\s*(?:name\s*=\s*)?[\"']([^\"']+)[\"']")
# LanguageModel.glue(prefix) (emergence.lm) glues the model's description, size and credit.
_MODEL_GLUE_CALL = re.compile(r"\.glue\(\s*[\"'](\w+)[\"']\s*\)")
_MODEL_GLUE_NAMES = ("model", "params_m", "credit")
_CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_GLOSSARY_BLOCK = re.compile(r"^```\{glossary\}[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_CHINESE = re.compile(r"[\u3400-\u9fff]")
_LABEL_LINE = re.compile(r"^\(([A-Za-z0-9][\w.:-]*)\)=[ \t]*$", re.MULTILINE)
# "Introduced in the chapter 'Title' (label)", "Introduced in 'Title' (label)", or with a
# :ref:`label` role; the docstring's line breaks are folded to spaces first
_INTRODUCED_IN = re.compile(r"Introduced in (?:the chapter )?(?:'[^']*'\s*\(([\w.:-]+)\)"
                            r"|:ref:`([\w.:-]+)`)")
# a cell's IPython lines (magics, shell escapes), which are not Python
_IPYTHON_LINE = re.compile(r"^\s*[%!].*$", re.MULTILINE)

#: Whether an import in a chapter that breaks the book's import style fails the check (True)
#: or is listed as a note for a maintainer (False, while chapters are being converted).
IMPORT_STYLE_ENFORCED = True

#: The package the chapters import, and the folder (under the book root) of its source.
LIBRARY = "emergence"
#: the directive (booktools.apireference) that lists, and links, what a page introduces
INTRODUCED_HERE = "```{introduced-here}"
LIBRARY_SOURCE = Path("code") / LIBRARY

#: the page whose glossary entries should each give a Chinese name
GLOSSARY_PAGE = "glossary.md"


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def bibliography_keys(bib_file: Path) -> set[str]:
    """Citation keys defined in a BibTeX file."""
    return set(_BIB_KEY.findall(bib_file.read_text(encoding="utf-8")))


def toc_files(toc_file: Path) -> set[str]:
    """Every ``file:`` (and the ``root:``) of a Jupyter Book ``_toc.yml``, without suffix."""
    toc = yaml.safe_load(toc_file.read_text(encoding="utf-8")) or {}
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("file", "root") and isinstance(value, str):
                    found.add(str(Path(value).with_suffix("")))
                else:
                    walk(value)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(toc)
    return found


def import_style_problems(path: Path, body: str) -> list[Problem]:
    """Imports of the library in the code cells of a page (``body``, without front matter)
    that break the book's one import style."""
    problems = []
    for cell in _CODE_CELL.findall(body):
        try:
            tree = ast.parse(_IPYTHON_LINE.sub("", cell))
        except SyntaxError:
            continue  # the chapter's own execution reports it
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == LIBRARY and not node.level:
                names = ", ".join(alias.name for alias in node.names)
                problems.append(Problem(path, f"'from {LIBRARY} import {names}': import the "
                                              f"names from their module, 'from {LIBRARY}."
                                              f"<module> import <names>' ('import {LIBRARY}' "
                                              f"only for {LIBRARY}.setup)"))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    f"{LIBRARY}.") and any(alias.asname for alias in node.names):
                renamed = ", ".join(f"{a.name} as {a.asname}" for a in node.names if a.asname)
                problems.append(Problem(path, f"'from {node.module} import {renamed}': "
                                              "import names without renaming them"))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    top = alias.name.split(".")[0]
                    if top == LIBRARY and (alias.asname or alias.name != LIBRARY):
                        shown = alias.name + (f" as {alias.asname}" if alias.asname else "")
                        problems.append(Problem(path, f"'import {shown}': write 'import "
                                                      f"{LIBRARY}' (for {LIBRARY}.setup) or "
                                                      f"'from {LIBRARY}.<module> import "
                                                      "<names>'"))
    return problems


def check_page(path: Path, root: Path, bib_keys: set[str], listed: set[str],
               enforce_import_style: bool = IMPORT_STYLE_ENFORCED) -> list[Problem]:
    """Problems of one page; ``path`` lies under ``root``."""
    text = path.read_text(encoding="utf-8")
    body = _FRONT_MATTER.sub("", text, count=1)
    problems = []
    top = _TOP_LABEL.match(body)
    if not top:
        problems.append(Problem(path, "does not open with a label line such as "
                                      "'(my-chapter)=' followed by a '# Title' heading"))
    elif top[1] != path.stem and not path.name.startswith("_"):
        problems.append(Problem(path, f"opens with the label '({top[1]})=', but a page's top "
                                      f"label is its file name: '({path.stem})='"))
    cited = {key.strip() for keys in _CITE_ROLE.findall(body) for key in keys.split(",")}
    for key in sorted(cited - bib_keys):
        problems.append(Problem(path, f"cites '{key}', which is not in references.bib"))
    shown = set(_GLUE_ROLE.findall(body)) | set(_GLUE_DIRECTIVE.findall(body))
    cells = _CODE_CELL.findall(body)
    defined = {name for cell in cells for name in _GLUE_CALL.findall(cell)}
    defined |= {f"{prefix}_{name}" for cell in cells for prefix in _MODEL_GLUE_CALL.findall(cell)
                for name in _MODEL_GLUE_NAMES}
    for name in sorted(shown - defined):
        problems.append(Problem(path, f"shows glued name '{name}' but no code cell glues it"))
    if not path.name.startswith("_"):
        entry = path.relative_to(root).with_suffix("").as_posix()
        if entry not in listed:
            problems.append(Problem(path, f"is not listed in _toc.yml (add '- file: {entry}')"))
    if enforce_import_style:
        problems.extend(import_style_problems(path, body))
    return problems


def check_book(root: Path, enforce_import_style: bool = IMPORT_STYLE_ENFORCED) -> list[Problem]:
    """Problems of every page in ``root/chapters``."""
    bib_keys = bibliography_keys(root / "references.bib")
    listed = toc_files(root / "_toc.yml")
    problems = []
    for path in sorted((root / CHAPTER_FOLDER).glob("*.md")):
        problems.extend(check_page(path, root, bib_keys, listed, enforce_import_style))
    for entry in sorted(listed):
        if not (root / entry).with_suffix(".md").is_file():
            problems.append(Problem(root / "_toc.yml", f"lists '{entry}', which does not exist"))
    return problems + unnamed_introductions(root)


def glossary_terms(glossary: Path) -> dict[str, str]:
    """Each term of the ``{glossary}`` directives of a page, with its definition's text."""
    entries: dict[str, str] = {}
    for block in _GLOSSARY_BLOCK.findall(glossary.read_text(encoding="utf-8")):
        term = None
        for line in block.splitlines():
            if line.strip() and not line.startswith((" ", "\t", ":")):
                term = line.strip()
                entries[term] = ""
            elif term is not None and line.strip():
                entries[term] += line.strip() + " "
    return entries


def introduced_objects(source: Path, package: str = LIBRARY) -> list[tuple[str, str]]:
    """``(dotted name, label)`` of every function, class and method under ``source`` (the
    folder of ``package``) whose docstring says which chapter introduces it.

    The source is read, not imported: the checker runs without the library's dependencies.
    """
    found = []
    for file, module, tree in _modules(source, package):

        def visit(node: ast.AST, prefix: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = f"{prefix}.{child.name}"
                    docstring = " ".join((ast.get_docstring(child) or "").split())
                    for match in _INTRODUCED_IN.finditer(docstring):
                        found.append((name, match[1] or match[2]))
                    if isinstance(child, ast.ClassDef):
                        visit(child, name)

        visit(tree, module)
    return found


def _modules(source: Path, package: str) -> list[tuple[Path, str, ast.Module]]:
    """Each module of the package in ``source``: its file, dotted name and syntax tree."""
    found = []
    for file in sorted(source.rglob("*.py")):
        parts = list(file.relative_to(source).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        found.append((file, ".".join([package, *parts]), tree))
    return found


def reexported_names(source: Path, package: str = LIBRARY) -> dict[str, set[str]]:
    """Other names of an object that a package's ``__init__`` imports from its modules:
    ``emergence.runtime.setup`` is also ``emergence.setup``."""
    aliases: dict[str, set[str]] = {}
    for file, module, tree in _modules(source, package):
        if file.name != "__init__.py":
            continue
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package):
                for alias in node.names:
                    aliases.setdefault(f"{node.module}.{alias.name}", set()).add(
                        f"{module}.{alias.asname or alias.name}")
    return aliases


def page_labels(root: Path) -> dict[str, Path]:
    """Each label, ``(my-label)=``, written on a page in ``root/chapters``, with its page."""
    return {label: path for path in sorted((root / CHAPTER_FOLDER).glob("*.md"))
            for label in _LABEL_LINE.findall(path.read_text(encoding="utf-8"))}


def unnamed_introductions(root: Path) -> list[Problem]:
    """Library objects whose docstring names the chapter that introduces them, where that
    chapter neither lists them (``{introduced-here}``) nor names them as
    ``emergence.<module>.<name>``: either gives the reader one click to the source."""
    source = root / LIBRARY_SOURCE
    if not source.is_dir():
        return []
    labels = page_labels(root)
    aliases = reexported_names(source)
    notes = []
    for name, label in introduced_objects(source):
        page = labels.get(label)
        names = "|".join(re.escape(n) for n in sorted({name} | aliases.get(name, set())))
        if page is None:
            notes.append(Problem(source, f"{name} says it is introduced at the label "
                                         f"'{label}', which no page defines"))
        elif INTRODUCED_HERE not in (text := page.read_text(encoding="utf-8")) and \
                not re.search(f"`(?:{names})(?:\\(\\))?`", text):
            notes.append(Problem(page, f"{name} is introduced here (its docstring says so), "
                                       f"but the page neither lists it ({INTRODUCED_HERE}) nor "
                                       f"names it as `{name}`; either links to its source"))
    return notes


def maintainer_notes(root: Path, enforce_import_style: bool = IMPORT_STYLE_ENFORCED
                     ) -> list[Problem]:
    """What a maintainer completes, without failing the check: glossary entries without a
    Chinese name and (while the import style is not enforced) imports that break it."""
    notes = []
    glossary = root / CHAPTER_FOLDER / GLOSSARY_PAGE
    if glossary.is_file():
        notes += [Problem(glossary, f"glossary term '{term}' has no Chinese name yet; a "
                                    "maintainer will add it (contributors may leave it out)")
                  for term, definition in glossary_terms(glossary).items()
                  if not _CHINESE.search(definition)]
    if not enforce_import_style:
        for path in sorted((root / CHAPTER_FOLDER).glob("*.md")):
            body = _FRONT_MATTER.sub("", path.read_text(encoding="utf-8"), count=1)
            notes += import_style_problems(path, body)
    return notes


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path.cwd()
    problems = check_book(root)
    for problem in problems:
        print(problem)
    notes = maintainer_notes(root)
    for note in notes:
        print(f"note: {note}")
    print(f"{len(problems)} problem(s) in the chapters of {root.resolve()}"
          + (f"; {len(notes)} note(s) for a maintainer, which do not fail the check"
             if notes else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
