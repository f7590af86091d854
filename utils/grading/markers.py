"""What a cell of a solution notebook is: nbgrader's markers, roles and the parsed solution.

- an *answer* code cell holds ``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines;
- a *test* cell carries nbgrader metadata ``{grade: true, solution: false, grade_id, points}``
  or the tag ``test:GRADE_ID:POINTS``; ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``
  lines mark tests that only run when grading;
- a *written answer* is a Markdown cell with ``nbgrader.solution = true`` (or the tag
  ``answer:GRADE_ID:POINTS``), or one with ``BEGIN SOLUTION`` / ``END SOLUTION`` lines.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import nbformat

from . import references as _references


SCHEMA_VERSION = 3
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_STUB = "YOUR ANSWER HERE"
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MARKER = r"^(?P<indent>[ \t]*)(?:#+|<!--)[ \t]*{}[ \t]*(?:-->)?[ \t]*$"
BEGIN_SOLUTION = re.compile(_MARKER.format("BEGIN SOLUTION"))
END_SOLUTION = re.compile(_MARKER.format("END SOLUTION"))
BEGIN_HIDDEN = re.compile(_MARKER.format("BEGIN HIDDEN TESTS"))
END_HIDDEN = re.compile(_MARKER.format("END HIDDEN TESTS"))
MARKER_WORDS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# nbval reads these from a cell; a test cell must not carry them (they could skip it).
NBVAL_WORDS = ("NBVAL_", "PYTEST_VALIDATE_IGNORE_OUTPUT")
# A cell with this tag is in the solution only: material that uses the answers (a worked
# extension, a summary). Release drops it.
SOLUTION_ONLY_TAG = "solution-only"
# A cell with this tag is given code the tests depend on (helpers, a dataset class): it is
# locked in the assignment, and grading runs the solution's copy, reporting an edit.
LOCKED_TAG = "locked"
# Per-cell metadata that only records a past run; not copied into assignments.
_RUN_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")


class AuthoringError(ValueError):
    """A solution notebook breaks the marking conventions; the message lists every problem."""


@dataclass(frozen=True)
class Role:
    """A graded or answer cell: kind is "test", "solution" (code answer) or "answer" (written)."""

    kind: str
    grade_id: str
    points: float = 0.0
    grade: bool = False

    @property
    def solution(self) -> bool:
        return self.kind != "test"


def _source(cell) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(str(line) for line in source)
    return source if isinstance(source, str) else ""


def solution_only(cell) -> bool:
    """True for a cell tagged ``solution-only``: never released."""
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return isinstance(tags, list) and SOLUTION_ONLY_TAG in tags


def locked(cell) -> bool:
    """True for a cell tagged ``locked``: given code, restored from the solution at grading."""
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return isinstance(tags, list) and LOCKED_TAG in tags


def _has(pattern: re.Pattern, text: str) -> bool:
    return any(pattern.match(line) for line in text.splitlines())


def _parse_points(text, where: str, problems: list[str]) -> float:
    try:
        points = float(text)
    except (TypeError, ValueError):
        problems.append(f"{where}: points {text!r} is not a number")
        return 0.0
    if points != points or points < 0 or points == float("inf"):
        problems.append(f"{where}: points must be a finite number >= 0, not {text!r}")
        return 0.0
    return points


def cell_role(cell, problems: list[str] | None = None, where: str = "cell") -> Role | None:
    """Read a cell's role from nbgrader metadata, a ``test:``/``answer:``/``solution:`` tag,
    or solution markers. Inconsistencies are appended to ``problems`` (when given)."""
    problems = [] if problems is None else problems
    metadata = cell.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    cell_type = cell.get("cell_type")
    text = _source(cell)
    tags = metadata.get("tags") or []
    tag_roles = []
    for tag in tags if isinstance(tags, list) else []:
        parts = str(tag).split(":")
        if parts[0] in ("test", "answer", "solution") and len(parts) > 1:
            tag_roles.append(parts)
    if len(tag_roles) > 1:
        problems.append(f"{where}: more than one role tag {[':'.join(t) for t in tag_roles]}")
    meta = metadata.get("nbgrader")
    meta = meta if isinstance(meta, dict) else {}
    has_markers = _has(BEGIN_SOLUTION, text)

    if tag_roles:
        kind, grade_id, *rest = tag_roles[0]
        points = _parse_points(rest[0], where, problems) if rest else 0.0
        if kind == "test":
            if not rest:
                problems.append(f"{where}: tag test:{grade_id} needs points, e.g. test:{grade_id}:2")
            role = Role("test", grade_id, points, True)
        elif kind == "answer":
            role = Role("answer" if cell_type == "markdown" else "solution", grade_id, points,
                        points > 0)
        else:
            role = Role("solution" if cell_type == "code" else "answer", grade_id, points,
                        points > 0)
    elif meta.get("grade") or meta.get("solution"):
        grade_id = str(meta.get("grade_id") or cell.get("id") or "")
        grade = bool(meta.get("grade"))
        points = _parse_points(meta.get("points", 0), where, problems) if grade else 0.0
        if grade and not meta.get("solution"):
            role = Role("test", grade_id, points, True)
        else:
            role = Role("solution" if cell_type == "code" else "answer", grade_id, points, grade)
    elif has_markers:
        role = Role("solution" if cell_type == "code" else "answer", str(cell.get("id") or ""))
    else:
        return None

    if not role.grade_id:
        problems.append(f"{where}: no grade_id and no cell id: add a tag such as "
                        f"{'test:NAME:POINTS' if role.kind == 'test' else 'solution:NAME'} "
                        "(a current Jupyter also gives every cell an id when it saves)")
    elif not GRADE_ID.match(role.grade_id):
        problems.append(f"{where}: grade_id {role.grade_id!r} must be 1-64 letters, digits, - or _")
    if role.kind == "test":
        if cell_type != "code":
            problems.append(f"{where}: test cell {role.grade_id!r} must be a code cell")
        if role.points <= 0:
            problems.append(f"{where}: test cell {role.grade_id!r} must be worth points > 0")
        if has_markers:
            problems.append(f"{where}: test cell {role.grade_id!r} holds a BEGIN SOLUTION block")
        if any(word in text for word in NBVAL_WORDS):
            problems.append(f"{where}: test cell {role.grade_id!r} holds an nbval marker")
        if text.lstrip().startswith("%%"):
            problems.append(f"{where}: test cell {role.grade_id!r} starts with a cell magic")
    elif _has(BEGIN_HIDDEN, text):
        problems.append(f"{where}: hidden tests outside a test cell")
    if role.kind == "answer" and cell_type not in ("markdown", "raw"):
        problems.append(f"{where}: written answer {role.grade_id!r} must be a Markdown cell")
    return role


def _replace_regions(text: str, begin: re.Pattern, end: re.Pattern, stub: Iterable[str] | None,
                     where: str, problems: list[str]) -> str:
    """Replace each begin..end block (markers included) with ``stub`` lines at its indentation."""
    out, indent, inside = [], None, False
    for line in text.splitlines():
        if begin.match(line):
            if inside:
                problems.append(f"{where}: nested {line.strip()!r}")
            inside, indent = True, begin.match(line).group("indent")
            out.extend(indent + s for s in stub or ())
        elif end.match(line):
            if not inside:
                problems.append(f"{where}: {line.strip()!r} without a matching BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        problems.append(f"{where}: a BEGIN marker has no matching END")
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def _region_lines(text: str, begin: re.Pattern, end: re.Pattern) -> tuple[list[str], list[str]]:
    """Split lines into (inside begin..end blocks, outside); marker lines belong to neither."""
    inside_lines, outside_lines, inside = [], [], False
    for line in text.splitlines():
        if begin.match(line):
            inside = True
        elif end.match(line):
            inside = False
        else:
            (inside_lines if inside else outside_lines).append(line)
    return inside_lines, outside_lines


# --------------------------------------------------------------------------------------------
# Solution notebooks
# --------------------------------------------------------------------------------------------

@dataclass
class TestCell:
    grade_id: str
    points: float
    source: str          # as graded: visible and hidden tests
    visible: str         # as released
    references: tuple[str, ...] = ()   # run with the solution's versions of these (references.py)


@dataclass
class Solution:
    """A parsed solution notebook: its cells' roles, test cells and the keys used to anchor."""

    name: str
    path: Path | None
    nb: nbformat.NotebookNode
    roles: list[Role | None]
    tests: list[TestCell]
    manual: list[Role]
    # name -> the solution's definition, for the tests' reference implementations
    references: dict[str, str] = field(default_factory=dict)

    @property
    def possible(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def graded_ids(self) -> set[str]:
        return {r.grade_id for r in self.roles if r is not None}

    def keys(self) -> list[str | None]:
        """Per cell, the key a submission's copy is found by: grade_id, else the cell id."""
        return [r.grade_id if r else c.get("id") for r, c in zip(self.roles, self.nb.cells)]


def parse_solution(nb: nbformat.NotebookNode, name: str, path: Path | None = None) -> Solution:
    """Check a solution notebook's marks; raise AuthoringError listing every problem."""
    problems: list[str] = []
    roles, tests, manual, seen = [], [], [], {}
    answers: list[tuple[int, str]] = []       # (index, source) of every code answer
    uses: dict[str, tuple[int, str, list[str]]] = {}   # test grade_id -> (index, where, names)
    for index, cell in enumerate(nb.cells):
        where = f"{name}: cell {index} (id {cell.get('id')})"
        role = cell_role(cell, problems, where)
        roles.append(role)
        text = _source(cell)
        declared = _references.declared_uses(cell.get("metadata"), where, problems)
        if declared and (role is None or role.kind != "test"):
            problems.append(f"{where}: course.{_references.USES_KEY} belongs on a test cell")
        elif declared:
            uses[role.grade_id] = (index, where, declared)
        if role is not None and locked(cell):
            problems.append(f"{where}: a {role.kind} cell cannot be {LOCKED_TAG!r} (test cells "
                            "are locked anyway; answer cells must stay editable)")
        if role is not None and solution_only(cell):
            problems.append(f"{where}: a {role.kind} cell cannot be {SOLUTION_ONLY_TAG!r}: "
                            "students need it")
        if role is None:
            for word in MARKER_WORDS:
                if word in text:
                    problems.append(f"{where}: {word!r} in a cell that is not an answer or test")
            continue
        if role.grade_id in seen:
            problems.append(f"{where}: grade_id {role.grade_id!r} also used by cell {seen[role.grade_id]}")
        seen[role.grade_id] = index
        if role.kind == "test":
            visible = _replace_regions(text, BEGIN_HIDDEN, END_HIDDEN, None, where, problems)
            tests.append(TestCell(role.grade_id, role.points, text, visible))
        elif role.grade:
            manual.append(role)
        if role.kind == "solution" and cell.get("cell_type") == "code":
            _replace_regions(text, BEGIN_SOLUTION, END_SOLUTION, CODE_STUB, where, problems)
            answers.append((index, text))
    references = _resolve_references(tests, answers, uses, problems)
    ids = {}
    for index, cell in enumerate(nb.cells):
        cell_id = roles[index].grade_id if roles[index] else cell.get("id")
        if cell_id and cell_id in ids and roles[index] is None:
            problems.append(f"{name}: cell {index} id {cell_id!r} repeats cell {ids[cell_id]}")
        ids.setdefault(cell_id, index)
    if problems:
        raise AuthoringError("\n".join(problems))
    return Solution(name, path, nb, roles, tests, manual, references)


def _resolve_references(tests: list[TestCell], answers: list[tuple[int, str]],
                        uses: dict[str, tuple[int, str, list[str]]], problems: list[str]
                        ) -> dict[str, str]:
    """Fill in each test's ``references`` (its declared uses, closed under calls); return the
    definitions they need. A name must be defined in exactly one answer cell, and not in the
    answer the test grades (the answer cell nearest above it)."""
    if not uses:
        return {}
    found, repeated = _references.definitions(answers)
    needed: dict[str, str] = {}
    for test in tests:
        if test.grade_id not in uses:
            continue
        index, where, names = uses[test.grade_id]
        bad = [n for n in names if n not in found]
        if bad:
            problems.append(f"{where}: course.{_references.USES_KEY} names {bad}, which no "
                            "answer cell defines (a top-level def or class)")
        names = _references.closure([n for n in names if n in found], found)
        for n in names:
            if n in repeated:
                problems.append(f"{where}: {n!r} is defined in more than one answer cell; "
                                "a reference implementation must be unambiguous")
        own = max((i for i, _ in answers if i < index), default=None)
        tested = [n for n in names if found[n][0] == own]
        if tested:
            problems.append(f"{where}: course.{_references.USES_KEY} would replace {tested}, "
                            "defined in the answer this test grades (the cell just above it)")
        test.references = tuple(names)
        needed.update({n: found[n][1] for n in names})
    return needed


def read_notebook(path: Path) -> nbformat.NotebookNode:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nbformat.reads(Path(path).read_text(encoding="utf-8"), as_version=4)


def load_solution(path: Path) -> Solution:
    path = Path(path)
    return parse_solution(read_notebook(path), path.stem, path)


def load_solutions(directory: Path) -> dict[str, Solution]:
    return {p.stem: load_solution(p) for p in sorted(Path(directory).glob("*.ipynb"))}

