"""One source for homework: release student notebooks from solution notebooks, and autograde.

Instructors write only the solution notebooks (``solutions/*.ipynb``)::

    python -m utils.grading release                 # solutions/*.ipynb -> assignments/*.ipynb
    python -m utils.grading release --check         # exit 1 if a committed assignment is stale
    python -m utils.grading grade SUB.ipynb [...] --out DIR   # reports + gradebook.csv

How a solution notebook marks its parts (nbgrader's conventions; see docs/grading.md):

- an *answer* code cell holds ``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines; in the
  assignment the lines between them (markers included) become ``# YOUR CODE HERE`` and
  ``raise NotImplementedError()`` at the marker's indentation; everything else (signature,
  docstring, ``### YOUR CODE HERE (~3 lines)`` hints) is kept;
- a *test* cell carries cell metadata ``nbgrader: {grade: true, solution: false,
  grade_id: "...", points: N}`` or, more simply, the cell tag ``test:GRADE_ID:POINTS``;
  lines between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` are removed from the
  assignment but run when grading;
- a *written answer* is a Markdown cell with ``nbgrader.solution = true`` (or the tag
  ``answer:GRADE_ID[:POINTS]``), whose whole text becomes "YOUR ANSWER HERE", or a Markdown
  cell with ``BEGIN SOLUTION`` / ``END SOLUTION`` lines around the part to hide.

Grading puts the solution's test cells (visible and hidden) back into each submission by
grade_id, runs the result under nbval (``pytest --nbval-lax``) in a fresh kernel with a
per-cell time limit and a whole-notebook time limit, and turns each test cell's pass/fail
into points. Student code runs with the grader's permissions: this stops edited, deleted or
weakened test cells, not a deliberately malicious program (use a container for that).
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

import nbformat

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
# Per-cell metadata that only records a past run; not copied into assignments.
_RUN_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CELL_TIMEOUT = 300.0
DEFAULT_TIMEOUT = 1800.0


class AuthoringError(ValueError):
    """A solution notebook breaks the marking conventions; the message lists every problem."""


# --------------------------------------------------------------------------------------------
# What a cell is
# --------------------------------------------------------------------------------------------

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


@dataclass
class Solution:
    """A parsed solution notebook: its cells' roles, test cells and the keys used to anchor."""

    name: str
    path: Path | None
    nb: nbformat.NotebookNode
    roles: list[Role | None]
    tests: list[TestCell]
    manual: list[Role]

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
    for index, cell in enumerate(nb.cells):
        where = f"{name}: cell {index} (id {cell.get('id')})"
        role = cell_role(cell, problems, where)
        roles.append(role)
        text = _source(cell)
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
    ids = {}
    for index, cell in enumerate(nb.cells):
        cell_id = roles[index].grade_id if roles[index] else cell.get("id")
        if cell_id and cell_id in ids and roles[index] is None:
            problems.append(f"{name}: cell {index} id {cell_id!r} repeats cell {ids[cell_id]}")
        ids.setdefault(cell_id, index)
    if problems:
        raise AuthoringError("\n".join(problems))
    return Solution(name, path, nb, roles, tests, manual)


def read_notebook(path: Path) -> nbformat.NotebookNode:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nbformat.reads(Path(path).read_text(encoding="utf-8"), as_version=4)


def load_solution(path: Path) -> Solution:
    path = Path(path)
    return parse_solution(read_notebook(path), path.stem, path)


def load_solutions(directory: Path) -> dict[str, Solution]:
    return {p.stem: load_solution(p) for p in sorted(Path(directory).glob("*.ipynb"))}


# --------------------------------------------------------------------------------------------
# Release
# --------------------------------------------------------------------------------------------

def _nbgrader_metadata(role: Role) -> dict:
    meta = {"grade": role.grade, "grade_id": role.grade_id, "locked": role.kind == "test",
            "schema_version": SCHEMA_VERSION, "solution": role.solution}
    if role.grade:
        meta["points"] = int(role.points) if float(role.points).is_integer() else role.points
    return meta


def make_assignment(solution: Solution | nbformat.NotebookNode, name: str | None = None
                    ) -> nbformat.NotebookNode:
    """The student notebook for a solution: answers stubbed, hidden tests and outputs gone."""
    if not isinstance(solution, Solution):
        solution = parse_solution(solution, name or "notebook")
    name = name or solution.name
    src = solution.nb
    metadata = {k: copy.deepcopy(src.metadata[k]) for k in ("kernelspec", "language_info")
                if k in src.metadata}
    course = dict(src.metadata.get("course") or {})
    course["assignment"] = name
    metadata["course"] = course
    cells, used_ids, problems = [], set(), []
    for index, (cell, role) in enumerate(zip(src.cells, solution.roles)):
        where = f"{name}: cell {index}"
        text = _source(cell)
        cell_metadata = {k: copy.deepcopy(v) for k, v in (cell.get("metadata") or {}).items()
                         if k not in _RUN_METADATA and k != "nbgrader"}
        tags = [t for t in cell_metadata.pop("tags", []) or []
                if str(t).split(":")[0] not in ("test", "answer", "solution")]
        if tags:
            cell_metadata["tags"] = tags
        if role is not None:
            cell_metadata["nbgrader"] = _nbgrader_metadata(role)
        if role is None:
            new_source = text
        elif role.kind == "test":
            new_source = _replace_regions(text, BEGIN_HIDDEN, END_HIDDEN, None, where, problems)
            cell_metadata.update(deletable=False, editable=False)
        elif cell.get("cell_type") == "code":
            if _has(BEGIN_SOLUTION, text):
                new_source = _replace_regions(text, BEGIN_SOLUTION, END_SOLUTION, CODE_STUB,
                                              where, problems)
            else:
                new_source = "\n".join(CODE_STUB)
        elif _has(BEGIN_SOLUTION, text):
            new_source = _replace_regions(text, BEGIN_SOLUTION, END_SOLUTION, (ANSWER_STUB,),
                                          where, problems)
        else:
            new_source = ANSWER_STUB
        cell_id = role.grade_id if role else (cell.get("id") or f"cell-{index}")
        while cell_id in used_ids:
            cell_id = f"{cell_id}-{index}"
        used_ids.add(cell_id)
        new = {"cell_type": cell.get("cell_type", "code"), "id": cell_id,
               "metadata": cell_metadata, "source": new_source}
        if new["cell_type"] == "code":
            new.update(execution_count=None, outputs=[])
        elif cell.get("attachments") and role is None:
            new["attachments"] = copy.deepcopy(cell["attachments"])
        cells.append(new)
    if problems:
        raise AuthoringError("\n".join(problems))
    nb = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata,
                             "cells": cells})
    nbformat.validate(nb)
    return nb


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """The exact text ``release`` writes: nbformat's own layout plus a final newline."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def find_leaks(solution: Solution, assignment: nbformat.NotebookNode) -> list[str]:
    """Everything in ``assignment`` that gives an answer away: solution or hidden-test lines,
    marker lines, outputs, whole written answers. Empty means clean."""
    secret, public = set(), set(CODE_STUB) | {ANSWER_STUB}
    for cell, role in zip(solution.nb.cells, solution.roles):
        text = _source(cell)
        if role is None:
            public.update(line.strip() for line in text.splitlines())
            continue
        if role.kind == "test":
            inside, outside = _region_lines(text, BEGIN_HIDDEN, END_HIDDEN)
        elif _has(BEGIN_SOLUTION, text):
            inside, outside = _region_lines(text, BEGIN_SOLUTION, END_SOLUTION)
        else:
            inside, outside = text.splitlines(), []
        secret.update(line.strip() for line in inside)
        public.update(line.strip() for line in outside)
    secret -= public
    secret.discard("")
    leaks = []
    for index, cell in enumerate(assignment.cells):
        where = f"cell {index} (id {cell.get('id')})"
        for line in _source(cell).splitlines():
            if line.strip() in secret:
                leaks.append(f"{where}: solution or hidden-test line {line.strip()!r}")
            elif any(word in line for word in MARKER_WORDS):
                leaks.append(f"{where}: marker line {line.strip()!r}")
        if cell.get("outputs") or cell.get("execution_count") is not None:
            leaks.append(f"{where}: has outputs or an execution count")
    return leaks


def release(solutions_dir: Path = Path("solutions"), assignments_dir: Path = Path("assignments"),
            check: bool = False, names: Iterable[str] = ()) -> list[str]:
    """Write (or with check=True, compare) assignments; return the names that were stale."""
    solutions_dir, assignments_dir = Path(solutions_dir), Path(assignments_dir)
    wanted = set(names)
    stale = []
    for path in sorted(solutions_dir.glob("*.ipynb")):
        if wanted and path.stem not in wanted:
            continue
        solution = load_solution(path)
        text = notebook_text(make_assignment(solution))
        target = assignments_dir / path.name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        stale.append(path.stem)
        if not check:
            assignments_dir.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8"))
    return stale


# --------------------------------------------------------------------------------------------
# Grading: reports
# --------------------------------------------------------------------------------------------

@dataclass
class Question:
    grade_id: str
    points: float
    possible: float
    status: str            # passed | failed | timeout | error | not run
    message: str = ""


@dataclass
class Report:
    student: str
    submission: str
    assignment: str | None
    questions: list[Question] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)    # bad input, in one clear line each
    cell_errors: list[str] = field(default_factory=list)  # errors in the student's own cells
    manual: list[dict] = field(default_factory=list)      # written answers graded by hand
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(q.points for q in self.questions)

    @property
    def possible(self) -> float:
        return sum(q.possible for q in self.questions)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(score=self.score, possible=self.possible)
        return data

    def to_markdown(self) -> str:
        title = f"# Grade report: {self.student}"
        if self.assignment:
            title += f" ({self.assignment})"
        lines = [title, "", f"**Score: {_num(self.score)} / {_num(self.possible)}** "
                 "(auto-graded tests)", ""]
        if self.problems:
            lines += ["## Problems with this submission", ""]
            lines += [f"- {p}" for p in self.problems] + [""]
        if self.questions:
            lines += ["| Question | Points | Result |", "|---|---:|---|"]
            for q in self.questions:
                result = q.status + (f": {q.message}" if q.message else "")
                result = result.replace("|", "\\|").replace("\n", " ")
                lines.append(f"| `{q.grade_id}` | {_num(q.points)} / {_num(q.possible)} | {result} |")
            lines.append("")
        if self.cell_errors:
            lines += ["## Errors in your own cells", ""]
            lines += [f"- {e}" for e in self.cell_errors] + [""]
        if self.manual:
            lines += ["## Graded by hand (not included above)", ""]
            lines += [f"- `{m['grade_id']}` ({_num(m['possible'])} point"
                      f"{'' if m['possible'] == 1 else 's'})" for m in self.manual]
            lines.append("")
        return "\n".join(lines)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _first_lines(text: str, n: int = 3, width: int = 300) -> str:
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(text)).strip()
    lines = [line.rstrip() for line in text.splitlines() if line.strip()][:n]
    out = "\n".join(lines)
    return out if len(out) <= width else out[: width - 3] + "..."


def _describe(cell) -> str:
    first = next((line.strip() for line in _source(cell).splitlines() if line.strip()), "")
    return f"`{first[:60]}`" if first else "(empty)"


# --------------------------------------------------------------------------------------------
# Grading: building the notebook that runs
# --------------------------------------------------------------------------------------------

def _cell_key(cell) -> str | None:
    """A submission cell's key: its nbgrader grade_id, else its cell id."""
    metadata = cell.get("metadata")
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    if isinstance(meta, dict) and meta.get("grade_id"):
        return str(meta["grade_id"])
    role = cell_role(cell)
    key = role.grade_id if role else cell.get("id")
    return key if isinstance(key, str) else None


def _plain(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def build_graded_notebook(submission: nbformat.NotebookNode, solution: Solution, sentinel: str
                          ) -> tuple[nbformat.NotebookNode, list[tuple[str, object]], list[str]]:
    """The notebook that runs: the submission with the solution's test cells put back.

    Returns (notebook, one (kind, info) per code cell in run order, problem lines); kind is
    "test" (info: grade_id) or "student" (info: the submission cell)."""
    tests = {t.grade_id: t for t in solution.tests}
    problems: list[str] = []
    cells: list[dict] = []
    placed: dict[str, int] = {}
    for cell in submission.cells:
        key = _cell_key(cell)
        if key in tests and key not in placed:
            if cell.get("cell_type") != "code" or _plain(_source(cell)) not in (
                    _plain(tests[key].visible), _plain(tests[key].source)):
                problems.append(f"Test cell `{key}` had been changed; the original was used.")
            placed[key] = len(cells)
            cells.append({"kind": "test", "grade_id": key})
            continue
        if key in tests:
            problems.append(f"Test cell `{key}` appears more than once; only the first copy "
                            "was graded (the others ran as ordinary cells).")
        cells.append({"kind": "student", "cell": cell})
    # Put back deleted test cells: before the first later solution cell the submission has.
    keys = solution.keys()
    present = {(_cell_key(c["cell"]) if c["kind"] == "student" else c["grade_id"]) for c in cells}
    for index, role in enumerate(solution.roles):
        if role is None or role.kind != "test" or role.grade_id in placed:
            continue
        anchor = next((k for k in keys[index + 1:] if k in present and k not in tests), None)
        position = len(cells)
        if anchor is not None:
            position = next(i for i, c in enumerate(cells) if c["kind"] == "student"
                            and _cell_key(c["cell"]) == anchor)
        cells.insert(position, {"kind": "test", "grade_id": role.grade_id})
        placed[role.grade_id] = position
        problems.append(f"Test cell `{role.grade_id}` was missing; the original was put back.")

    out_cells, code_map = [], []
    for i, entry in enumerate(cells):
        if entry["kind"] == "test":
            test = tests[entry["grade_id"]]
            # Reached only if every line above ran: an exception whose report the student's
            # code suppressed still fails. Sent as display data, so a replaced sys.stdout
            # does not matter.
            source = (test.source.rstrip() + "\n__import__('IPython').display.display("
                      f"{{'text/plain': {sentinel!r}}}, raw=True)\n")
            out_cells.append(nbformat.v4.new_code_cell(source, id=f"graded-{i}"))
            code_map.append(("test", test.grade_id))
            continue
        cell = entry["cell"]
        cell_type = cell.get("cell_type")
        if cell_type == "code":
            out_cells.append(nbformat.v4.new_code_cell(_source(cell), id=f"graded-{i}"))
            code_map.append(("student", cell))
        elif cell_type == "markdown":
            out_cells.append(nbformat.v4.new_markdown_cell(_source(cell), id=f"graded-{i}"))
    nb = nbformat.v4.new_notebook(cells=out_cells)
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"}}
    return nb, code_map, problems


# --------------------------------------------------------------------------------------------
# Grading: running nbval in a subprocess
# --------------------------------------------------------------------------------------------

class KernelDied(RuntimeError):
    """The kernel process exited while a cell was running."""


class _Recorder:
    """pytest plugin for the grading subprocess: one JSON line per notebook cell, written
    as soon as the cell finishes (so a run killed at the time limit keeps what it had)."""

    def __init__(self, results: str, sentinel: str):
        self.results = open(results, "a", encoding="utf-8")
        self.sentinel = sentinel

    def pytest_configure(self, config):
        _patch_nbval_kernel_watch()

    def pytest_unconfigure(self, config):
        self.results.close()

    def _write(self, record: dict) -> None:
        self.results.write(json.dumps(record) + "\n")
        self.results.flush()

    def pytest_collection_finish(self, session):
        self._write({"collected": len(session.items)})

    def pytest_runtest_makereport(self, item, call):
        # Called for setup, call and teardown; record the call, or a setup that failed.
        if call.when == "teardown" or (call.when == "setup" and call.excinfo is None):
            return None
        exc = call.excinfo.value if call.excinfo is not None else None
        outputs = getattr(item, "test_outputs", None) or []
        shown = "".join(str((o.get("data") or {}).get("text/plain", "")) for o in outputs)
        error = next((o for o in outputs if o.get("output_type") == "error"), None)
        record = {
            "cell": getattr(item, "cell_num", None),
            "when": call.when,
            "ok": exc is None,
            "skipped": exc is not None and call.excinfo.typename in ("Skipped", "XFailed"),
            "message": str(exc) if exc is not None else "",
            "exception": call.excinfo.typename if exc is not None else "",
            "ename": error.get("ename", "") if error else "",
            "evalue": error.get("evalue", "") if error else "",
            "traceback": _first_lines("\n".join(error.get("traceback", [])), 40, 4000)
            if error else "",
            "sentinel": self.sentinel in shown,
            "seconds": round(call.duration, 3),
        }
        self._write(record)
        return None


def _patch_nbval_kernel_watch() -> None:
    """Make nbval notice a dead kernel within a second instead of waiting out the cell's
    time limit. nbval polls the shell channel for the whole limit in one call; poll in short
    slices and check the kernel process between them."""
    from queue import Empty

    try:
        from nbval.kernel import RunningKernel
    except ImportError:  # pragma: no cover - nbval missing: the run fails with a clear error
        return

    def await_reply(self, msg_id, timeout=None):
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        while True:
            step = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            try:
                msg = self.get_message(stream="shell", timeout=step)
            except Empty:
                if not self.is_alive():
                    try:  # release its channels, or pytest waits for them at exit
                        self.stop()
                    except Exception:
                        pass
                    raise KernelDied("the kernel died (its process exited) while running this cell")
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                if msg["content"]["status"] == "aborted":
                    raise RuntimeError("Kernel aborted execution request")
                return

    RunningKernel.await_reply = await_reply


def _run_nbval(argv: list[str]) -> int:
    """Entry point of the grading subprocess: _run-nbval RESULTS SENTINEL -- PYTEST ARGS."""
    import pytest

    results, sentinel, separator, *pytest_args = argv
    assert separator == "--"
    return int(pytest.main(pytest_args, plugins=[_Recorder(results, sentinel)]))


def _kill_tree(process: subprocess.Popen) -> None:
    """Kill the pytest process and everything it started (the kernel has its own session)."""
    try:
        import psutil

        try:
            children = psutil.Process(process.pid).children(recursive=True)
        except psutil.Error:
            children = []
        for child in children:
            try:
                child.kill()
            except psutil.Error:
                pass
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        pass
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()
    process.wait()


def _run_notebook(nb: nbformat.NotebookNode, work: Path, sentinel: str, cell_timeout: float,
                  timeout: float) -> tuple[list[dict], bool, str]:
    """Run nb under nbval in ``work``; return (records, hit the time limit, log tail)."""
    nb_path = work / "graded.ipynb"
    nb_path.write_text(notebook_text(nb), encoding="utf-8")
    (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    results = work / "results.jsonl"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "JPY_PARENT_PID")}
    env.update(
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
        IPYTHONDIR=str(work / "ipython"), JUPYTER_RUNTIME_DIR=str(work / "runtime"),
        MPLCONFIGDIR=str(work.parent / "matplotlib"), PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    # nbformat -> jsonschema imports rfc3987_syntax if it is installed, which builds a parser
    # for seconds at import time; nbformat's schema has no IRI formats, so skip it here.
    bootstrap = ("import sys; sys.modules['rfc3987_syntax'] = None; "
                 "from utils.grading import main; sys.exit(main(sys.argv[1:]))")
    command = [sys.executable, "-c", bootstrap, "_run-nbval", str(results), sentinel, "--",
               str(nb_path), "-c", str(work / "pytest.ini"), "--rootdir", str(work),
               "-p", "nbval.plugin", "-p", "no:cacheprovider", "-p", "no:stepwise",
               "--nbval-lax", "--nbval-current-env", f"--nbval-cell-timeout={cell_timeout:g}",
               "-q", "--no-header", "-rN", "--color=no"]
    log_path = work / "pytest.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=work, env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            process.wait(timeout=timeout)
            limit_hit = False
        except subprocess.TimeoutExpired:
            _kill_tree(process)
            limit_hit = True
    records = []
    if results.exists():
        for line in results.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                pass
    log_tail = _first_lines("\n".join(log_path.read_text(errors="replace").splitlines()[-20:]),
                            n=20, width=2000)
    return records, limit_hit, log_tail


# --------------------------------------------------------------------------------------------
# Grading: one submission
# --------------------------------------------------------------------------------------------

def _declared_assignment(nb) -> str | None:
    metadata = nb.get("metadata")
    course = metadata.get("course") if isinstance(metadata, dict) else None
    name = course.get("assignment") if isinstance(course, dict) else None
    return name if isinstance(name, str) and name else None


def identify(nb, solutions: dict[str, Solution], expected: str | None = None
             ) -> tuple[str | None, str | None]:
    """(assignment name, problem line); the name is None when it cannot be graded."""
    declared = _declared_assignment(nb)
    keys = {_cell_key(c) for c in nb.cells}
    overlap = {name: len(keys & s.graded_ids) for name, s in solutions.items()}
    if expected is not None:
        if expected not in solutions:
            return None, f"No solution notebook for assignment `{expected}`."
        if declared and declared != expected:
            return None, (f"Wrong assignment: this notebook is `{declared}`, "
                          f"but `{expected}` was being graded.")
        if not declared and not overlap[expected]:
            best = max(overlap, key=overlap.get, default=None)
            other = f" (it looks like `{best}`)" if best and overlap[best] else ""
            return None, (f"Wrong assignment: none of the cells of `{expected}` are in this "
                          f"notebook{other}.")
        return expected, None
    if declared:
        if declared in solutions:
            return declared, None
        return None, f"Unknown assignment `{declared}`: there is no solution notebook for it."
    best = max(overlap, key=overlap.get, default=None)
    if best is None or not overlap[best]:
        return None, ("Could not tell which assignment this notebook is (no assignment in its "
                      "metadata and no known graded cells); grade it with --assignment.")
    return best, None


def grade_submission(path: Path, solutions: dict[str, Solution], out_dir: Path, *,
                     student: str | None = None, assignment: str | None = None,
                     cell_timeout: float = DEFAULT_CELL_TIMEOUT, timeout: float = DEFAULT_TIMEOUT,
                     keep_work: bool = False) -> Report:
    """Grade one submission; never raises for bad input: problems go into the report."""
    # Absolute paths: the grading subprocess runs in a scratch folder, not in our cwd.
    path, out_dir = Path(path).resolve(), Path(out_dir).resolve()
    started = time.monotonic()
    report = Report(student or path.stem, str(path), assignment)
    try:
        _grade_into(report, path, solutions, out_dir, assignment, cell_timeout, timeout, keep_work)
    except Exception as exc:  # the grader's own fault: say so, award nothing
        report.questions = []
        report.problems.append(f"Internal grader error ({type(exc).__name__}: "
                               f"{_first_lines(exc, 1)}); nothing was awarded.")
    if not report.questions and report.assignment in solutions:
        fill_ungraded(report, solutions[report.assignment])
    report.seconds = round(time.monotonic() - started, 2)
    return report


def fill_ungraded(report: Report, solution: Solution) -> None:
    """List every question of the assignment at 0 points for a submission that did not run."""
    report.assignment = solution.name
    report.questions = [Question(t.grade_id, 0.0, t.points, "not run", "submission not graded")
                        for t in solution.tests]


def _grade_into(report: Report, path: Path, solutions: dict[str, Solution], out_dir: Path,
                assignment: str | None, cell_timeout: float, timeout: float,
                keep_work: bool) -> None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        report.problems.append(f"Could not read the submission: {exc.strerror or exc}.")
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
        for cell in nb.cells:
            if not isinstance(cell, dict):
                raise ValueError("a cell is not a JSON object")
    except Exception as exc:
        report.problems.append("Not a readable notebook (malformed JSON or not nbformat 4): "
                               f"{_first_lines(exc, 1, 200)}")
        return
    name, problem = identify(nb, solutions, assignment)
    if problem:
        report.problems.append(problem)
    if name is None:
        return
    report.assignment = name
    solution = solutions[name]
    report.manual = [{"grade_id": m.grade_id, "possible": m.points} for m in solution.manual]
    sentinel = f"grading-sentinel-{secrets.token_hex(12)}"
    graded, code_map, problems = build_graded_notebook(nb, solution, sentinel)
    report.problems.extend(problems)

    work_root = out_dir / ".work"
    work_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{report.student}-", dir=work_root))
    try:
        records, limit_hit, log_tail = _run_notebook(graded, work, sentinel, cell_timeout, timeout)
    finally:
        if not keep_work:
            shutil.rmtree(work, ignore_errors=True)
    _score(report, solution, code_map, records, limit_hit, log_tail, cell_timeout, timeout)


def _failing_line(traceback: str, test: TestCell) -> str:
    """" (line N: `source`)" for the test line that raised, or " (in a hidden test)"."""
    match = re.search(r"^-+>\s*(\d+)", traceback, re.M)
    if not match:
        return ""
    number, hidden, lines = int(match.group(1)), False, test.source.splitlines()
    for line in lines[:number]:
        if BEGIN_HIDDEN.match(line):
            hidden = True
        elif END_HIDDEN.match(line):
            hidden = False
    if hidden:
        return " (in a hidden test)"
    if 1 <= number <= len(lines):
        return f" (line {number}: `{lines[number - 1].strip()[:100]}`)"
    return ""


def _score(report: Report, solution: Solution, code_map, records, limit_hit, log_tail,
           cell_timeout, timeout) -> None:
    by_cell = {r["cell"]: r for r in records if r.get("cell") is not None}
    tests = {t.grade_id: t for t in solution.tests}
    collected = any("collected" in r for r in records)
    results: dict[str, Question] = {}
    death = None  # description of the cell whose run ended the kernel
    for num, (kind, info) in enumerate(code_map):
        where = f"test `{info}`" if kind == "test" else f"your cell {_describe(info)}"
        record = by_cell.get(num)
        status, message = "passed", ""
        if record is None:
            status = "not run"
            if limit_hit:
                message = f"the notebook time limit ({_num(timeout)} s) was reached first"
            elif not collected:
                message = f"the notebook could not be run: {log_tail or 'no output'}"
            else:
                message = "no result"
        elif record["exception"] == "KernelDied":
            status, message = "error", "the kernel died while running this cell (or just before)"
            death = death or f"the kernel died at {where}"
        elif "Kernel dead" in record["message"]:
            status = "not run"
            message = f"the kernel had stopped ({death or 'in an earlier cell'})"
        elif record["message"].startswith("Timeout"):
            status, message = "timeout", f"exceeded the {_num(cell_timeout)} s time limit per cell"
            if "Failed to interrupt" in record["message"]:
                message += " and could not be interrupted, so the kernel was stopped"
                death = death or f"{where} ran past its time limit and ignored the interrupt"
        elif record["when"] == "setup":
            status, message = "not run", _first_lines(record["message"], 2)
        elif record["skipped"]:
            status, message = "not run", "skipped"
        elif not record["ok"]:
            status = "failed"
            if record["ename"]:
                message = _first_lines(f"{record['ename']}: {record['evalue']}".rstrip(": "))
                if kind == "test":
                    message += _failing_line(record.get("traceback", ""), tests[info])
            else:
                message = _first_lines(record["message"]) or "failed"
        elif kind == "test" and not record["sentinel"]:
            status, message = "failed", "the test did not run to completion"
        if kind == "test":
            test = tests[info]
            earned = test.points if status == "passed" else 0.0
            results[info] = Question(info, earned, test.points, status, message)
        elif status not in ("passed", "not run"):
            report.cell_errors.append(f"{where}: {status}" + (f" ({message})" if message else ""))
    report.questions = [results[t.grade_id] for t in solution.tests]
    if limit_hit:
        report.problems.append(f"The notebook did not finish within {_num(timeout)} s; "
                               "tests that had not run earn nothing.")
    if death:
        report.problems.append(f"The kernel stopped ({death}); later cells could not run.")
    if records and not collected:
        report.problems.append("The grader could not collect the notebook's cells.")


# --------------------------------------------------------------------------------------------
# Grading: many submissions
# --------------------------------------------------------------------------------------------

def _student_names(paths: list[Path]) -> list[str]:
    names = [p.stem for p in paths]
    if len(set(names)) < len(names):  # e.g. alice/hw1.ipynb and bob/hw1.ipynb
        names = [f"{p.parent.name}-{p.stem}" if names.count(p.stem) > 1 else p.stem
                 for p in paths]
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "submission"
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return unique


def expand_submissions(items: Iterable[Path]) -> list[Path]:
    """Files as given; a folder means every notebook under it (checkpoints skipped)."""
    paths = []
    for item in map(Path, items):
        if item.is_dir():
            paths += sorted(p for p in item.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        else:
            paths.append(item)
    return paths


def write_gradebook(reports: list[Report], path: Path, solutions: dict[str, Solution]) -> None:
    columns: list[str] = []
    for report in reports:
        ids = [t.grade_id for t in solutions[report.assignment].tests] \
            if report.assignment in solutions else [q.grade_id for q in report.questions]
        columns += [i for i in ids if i not in columns]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", *columns, "total", "possible"])
        for report in reports:
            earned = {q.grade_id: _num(q.points) for q in report.questions}
            writer.writerow([report.student, report.assignment or "",
                             *[earned.get(c, "") for c in columns],
                             _num(report.score), _num(report.possible)])


def grade(submissions: Iterable[Path], out_dir: Path, solutions_dir: Path = Path("solutions"), *,
          assignment: str | None = None, cell_timeout: float = DEFAULT_CELL_TIMEOUT,
          timeout: float = DEFAULT_TIMEOUT, jobs: int = 1, keep_work: bool = False
          ) -> list[Report]:
    """Grade submissions into out_dir: STUDENT.md and STUDENT.json each, and gradebook.csv."""
    out_dir = Path(out_dir)
    solutions = load_solutions(solutions_dir)
    paths = expand_submissions(submissions)
    names = _student_names(paths)
    out_dir.mkdir(parents=True, exist_ok=True)

    def one(args):
        path, name = args
        return grade_submission(path, solutions, out_dir, student=name, assignment=assignment,
                                cell_timeout=cell_timeout, timeout=timeout, keep_work=keep_work)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        reports = list(pool.map(one, zip(paths, names)))
    # An unreadable notebook in a batch of one assignment is out of that assignment's points.
    known = {r.assignment for r in reports if r.assignment in solutions}
    if len(known) == 1:
        (only,) = known
        for r in reports:
            if r.assignment is None and not r.questions:
                fill_ungraded(r, solutions[only])
    for report in reports:
        (out_dir / f"{report.student}.md").write_text(report.to_markdown(), encoding="utf-8")
        (out_dir / f"{report.student}.json").write_text(
            json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    write_gradebook(reports, out_dir / "gradebook.csv", solutions)
    work_root = out_dir / ".work"
    if work_root.exists() and not keep_work:
        shutil.rmtree(work_root, ignore_errors=True)
    return reports


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_run-nbval"]:
        return _run_nbval(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m utils.grading", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="solutions/*.ipynb -> assignments/*.ipynb")
    rel.add_argument("names", nargs="*", help="only these assignments (default: all)")
    rel.add_argument("--solutions", type=Path, default=Path("solutions"))
    rel.add_argument("--assignments", type=Path, default=Path("assignments"))
    rel.add_argument("--check", action="store_true",
                     help="write nothing; exit 1 if an assignment is stale or leaks an answer")
    gr = sub.add_parser("grade", help="grade submissions into reports and a gradebook")
    gr.add_argument("submissions", nargs="+", type=Path, help="notebooks, or folders of them")
    gr.add_argument("--out", type=Path, required=True, help="folder for reports (created)")
    gr.add_argument("--solutions", type=Path, default=Path("solutions"))
    gr.add_argument("--assignment", help="grade every submission as this assignment "
                    "(default: read from each notebook)")
    gr.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT,
                    help="seconds per cell (default %(default)g)")
    gr.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                    help="seconds per notebook (default %(default)g)")
    gr.add_argument("--jobs", type=int, default=1, help="notebooks graded at once")
    gr.add_argument("--keep-work", action="store_true", help="keep OUT/.work for debugging")
    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            return _release_command(args)
        return _grade_command(args)
    except AuthoringError as exc:
        print(f"error in a solution notebook:\n{exc}", file=sys.stderr)
        return 2


def _release_command(args) -> int:
    stale = release(args.solutions, args.assignments, check=args.check, names=args.names)
    leaks = []
    for path in sorted(args.solutions.glob("*.ipynb")):
        target = args.assignments / path.name
        if (args.names and path.stem not in args.names) or not target.exists():
            continue
        leaks += [f"{target}: {leak}" for leak in find_leaks(load_solution(path),
                                                             read_notebook(target))]
    orphans = sorted(p for p in args.assignments.glob("*.ipynb")
                     if not (args.solutions / p.name).exists())
    for name in stale:
        print(f"{'stale' if args.check else 'wrote'}: {args.assignments / (name + '.ipynb')}")
    for leak in leaks:
        print(f"leak: {leak}")
    for orphan in orphans:
        print(f"no solution: {orphan} has no {args.solutions / orphan.name}")
    if args.check and stale:
        print("run `python -m utils.grading release` (or `make release`) and commit the result")
    if not stale and not leaks and not orphans:
        print(f"assignments up to date in {args.assignments}/")
    return 1 if leaks or orphans or (args.check and stale) else 0


def _grade_command(args) -> int:
    reports = grade(args.submissions, args.out, args.solutions, assignment=args.assignment,
                    cell_timeout=args.cell_timeout, timeout=args.timeout, jobs=args.jobs,
                    keep_work=args.keep_work)
    if not reports:
        print("no submissions found", file=sys.stderr)
        return 2
    for r in reports:
        note = f"  ({len(r.problems)} problem(s): {r.problems[0]})" if r.problems else ""
        print(f"{r.student}: {_num(r.score)} / {_num(r.possible)}{note}")
    print(f"reports and gradebook.csv in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
