"""Release: the student notebook made from a solution notebook, and the check that it leaks nothing.

The leak check (``find_leaks``, run by ``release`` and ``release --check``) has two halves:

- *lines*: no line of an answer block, a hidden test, a written answer or a ``solution-only``
  cell appears in the assignment, and nothing there has outputs or marker lines;
- *answers*: the substance of every answer appears nowhere else in the assignment: the
  formulas of a written answer (each side of every ``=`` in its LaTeX), its inline code, the
  expressions of a code answer, and any string the author lists in the answer cell's
  ``metadata.course.secrets``. What the question itself gives (text in the cells before the
  answer) is not a secret.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Iterable

import nbformat

from .markers import (ANSWER_STUB, BEGIN_HIDDEN, BEGIN_SOLUTION, CODE_STUB, END_HIDDEN,
                      END_SOLUTION, MARKER_WORDS, SCHEMA_VERSION, _RUN_METADATA, AuthoringError,
                      Role, Solution, _has, _region_lines, _replace_regions, _source,
                      locked, load_solution, parse_solution, solution_only)


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
        if solution_only(cell):
            continue
        where = f"{name}: cell {index}"
        text = _source(cell)
        cell_metadata = {k: copy.deepcopy(v) for k, v in (cell.get("metadata") or {}).items()
                         if k not in _RUN_METADATA and k not in ("nbgrader", "course")}
        tags = [t for t in cell_metadata.pop("tags", []) or []
                if str(t).split(":")[0] not in ("test", "answer", "solution")]
        if tags:
            cell_metadata["tags"] = tags
        if role is not None:
            cell_metadata["nbgrader"] = _nbgrader_metadata(role)
        if role is None:
            new_source = text
            if locked(cell):
                cell_metadata.update(deletable=False, editable=False)
                cell_metadata["nbgrader"] = {"grade": False, "grade_id": cell.get("id") or f"cell-{index}",
                                             "locked": True, "schema_version": SCHEMA_VERSION,
                                             "solution": False}
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
        if role is None and solution_only(cell):
            secret.update(line.strip() for line in text.splitlines())
            continue
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
    return leaks + find_answer_leaks(solution, assignment)


# Spacing and sizing commands that do not change what a formula says.
_LATEX_NOISE = re.compile(r"\\(?:[,;:!> ]|q?quad\b|left\b|right\b|[bB]ig+[lr]?\b|displaystyle\b)")
_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_RELATION = re.compile(r"=|\\approx\b|\\qquad\b|\\quad\b|\\text\{[^}]*\}")
_SUBSTANTIVE = re.compile(r"[(+\-*/^@]|\\(?:frac|sigma|sum|log|exp|partial|top)")
# The name of a derivative (\\partial J / \\partial U) is notation; its value is the answer.
_DERIVATIVE_NAME = re.compile(r"^(?:\\frac\{\\partial[^{}]*\}\{\\partial[^{}]*\}|\\partial[^/]*/\\partial[^/]*)$")
MIN_FRAGMENT = 6       # shorter fragments (v_c, K+1) are notation, not answers
MIN_CODE_FRAGMENT = 10


def normalize_formula(text: str) -> str:
    """LaTeX without spacing commands, whitespace or braces around one character, and with
    \\dfrac/\\tfrac as \\frac: two ways of typing the same formula compare equal."""
    text = _LATEX_NOISE.sub("", text)
    text = re.sub(r"\\[dt]frac\b", r"\\frac", text)
    text = re.sub(r"\s+", "", text)
    return re.sub(r"\{(\\?\w)\}", r"\1", text)


def normalize_code(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _formula_fragments(markdown: str) -> set[str]:
    """The formulas of a written answer: each math segment, and each side of its relations."""
    fragments = set()
    for match in _MATH.finditer(markdown):
        math = match.group(1) or match.group(2)
        for piece in [math, *_RELATION.split(math)]:
            piece = normalize_formula(piece).strip(".,;")
            if (len(piece) >= MIN_FRAGMENT and _SUBSTANTIVE.search(piece)
                    and not _DERIVATIVE_NAME.match(piece)):
                fragments.add(piece)
    return fragments


def _code_fragments(code: str) -> set[str]:
    """The expressions of a code answer: each statement and the right side of each assignment."""
    fragments = set()
    for line in code.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pieces = [line]
        assignment = re.match(r"^[\w\[\], .]+?\s*(?:[-+*/@]?=)(?!=)\s*(.+)$", line)
        if assignment:
            pieces.append(assignment.group(1))
        elif line.startswith("return "):
            pieces.append(line[len("return "):])
        for piece in pieces:
            piece = normalize_code(piece)
            if len(piece) >= MIN_CODE_FRAGMENT and re.search(r"[(\[.*/+\-@]", piece):
                fragments.add(piece)
    return fragments


def answer_secrets(solution: Solution) -> list[tuple[str, str, set[str], set[str]]]:
    """Per answer: (grade_id, what it is, formula fragments, code fragments), minus anything
    the cells before it (the question, the notation, given code) already show."""
    given_text = ""
    out = []
    for cell, role in zip(solution.nb.cells, solution.roles):
        text = _source(cell)
        meta = cell.get("metadata") or {}
        declared = (meta.get("course") or {}).get("secrets") or [] if isinstance(meta, dict) else []
        if role is not None and role.kind in ("answer", "solution"):
            if _has(BEGIN_SOLUTION, text):
                inside, outside = _region_lines(text, BEGIN_SOLUTION, END_SOLUTION)
            else:
                inside, outside = text.splitlines(), []
            answer = "\n".join(inside)
            given_text += "\n" + "\n".join(outside)
            formulas = _formula_fragments(answer) if cell.get("cell_type") != "code" else set()
            code = {normalize_code(c) for c in _INLINE_CODE.findall(answer)
                    if len(normalize_code(c)) >= MIN_FRAGMENT}
            if cell.get("cell_type") == "code":
                code |= _code_fragments(answer)
            given_formulas, given_code = normalize_formula(given_text), normalize_code(given_text)
            formulas = {f for f in formulas if f not in given_formulas}
            code = {c for c in code if c not in given_code}
            code |= {normalize_code(str(s)) for s in declared if str(s).strip()}
            kind = "code answer" if cell.get("cell_type") == "code" else "written answer"
            out.append((role.grade_id, kind, formulas, code))
        elif not solution_only(cell) and (role is None or role.kind == "test"):
            given_text += "\n" + (text if role is None else
                                  "\n".join(_region_lines(text, BEGIN_HIDDEN, END_HIDDEN)[1]))
    return out


def find_answer_leaks(solution: Solution, assignment: nbformat.NotebookNode) -> list[str]:
    """Where the assignment shows the substance of one of its own answers (see the module
    docstring). Empty means clean."""
    cells = [(index, cell, normalize_formula(_source(cell)), normalize_code(_source(cell)))
             for index, cell in enumerate(assignment.cells)]
    leaks = []
    for grade_id, kind, formulas, code in answer_secrets(solution):
        for index, cell, as_formula, as_code in cells:
            if cell.get("id") == grade_id:
                continue
            where = f"cell {index} (id {cell.get('id')})"
            for fragment in sorted(formulas):
                if fragment in as_formula:
                    leaks.append(f"{where}: gives away the {kind} `{grade_id}`: formula {fragment!r}")
            for fragment in sorted(code):
                if fragment in as_code:
                    leaks.append(f"{where}: gives away the {kind} `{grade_id}`: {fragment!r}")
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

