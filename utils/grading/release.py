"""Release: the student notebook made from a solution notebook, and the check that it leaks nothing."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Iterable

import nbformat

from .markers import (ANSWER_STUB, BEGIN_HIDDEN, BEGIN_SOLUTION, CODE_STUB, END_HIDDEN,
                      END_SOLUTION, MARKER_WORDS, SCHEMA_VERSION, _RUN_METADATA, AuthoringError,
                      Role, Solution, _has, _region_lines, _replace_regions, _source,
                      load_solution, parse_solution)


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

