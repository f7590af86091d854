"""The class roster (who should hand in) and the student-side check of a notebook.

Roster: a CSV with a ``student`` column (or, without a header of that name, the first column)
of student ids. A submission belongs to the id equal to its file name (``alice.ipynb``) or to
its folder (``alice/hw1.ipynb``), ignoring case. Grading with ``--roster`` then reports
students with no submission (a 0 in the gradebook, "No submission received"), students with
more than one (the newest file is graded, the others are named in the report) and files that
match nobody (graded under their own name, flagged).

Check: ``python -m utils.grading check my.ipynb`` runs, on the student's machine, what the
grader will run, minus the hidden tests: it reads the notebook, tells which assignment it is
(from ``assignments/``), runs it top to bottom in a fresh kernel with the visible tests put
back, and prints what failed.
"""

from __future__ import annotations

import csv
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .markers import load_solution


@dataclass
class RosterMatch:
    """Which submission is graded as which student, and what does not fit the roster."""

    graded: dict[Path, str] = field(default_factory=dict)       # path -> student id
    missing: list[str] = field(default_factory=list)            # ids with no submission
    duplicates: dict[str, list[Path]] = field(default_factory=dict)  # id -> ignored paths
    unknown: list[Path] = field(default_factory=list)           # paths that match nobody


def read_roster(path: Path) -> list[str]:
    """The student ids of a roster CSV, in its order; ValueError for an empty or bad file."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"roster {path} is empty: one student id per line, or a 'student' column")
    header = [cell.strip().lower() for cell in rows[0]]
    column = header.index("student") if "student" in header else 0
    body = rows[1:] if "student" in header else rows
    ids = [row[column].strip() for row in body if len(row) > column and row[column].strip()]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"roster {path} lists {', '.join(repeated)} more than once")
    return ids


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "submission"


def match_roster(paths: list[Path], roster: list[str]) -> RosterMatch:
    by_key = {student.lower(): student for student in roster}
    claimed: dict[str, list[Path]] = {}
    match = RosterMatch()
    for path in paths:
        student = by_key.get(path.stem.lower()) or by_key.get(path.parent.name.lower())
        if student is None:
            match.unknown.append(path)
        else:
            claimed.setdefault(student, []).append(path)
    for student in roster:
        files = claimed.get(student, [])
        if not files:
            match.missing.append(student)
            continue
        newest = max(files, key=lambda p: (p.stat().st_mtime, str(p)))
        match.graded[newest] = student
        others = [p for p in files if p != newest]
        if others:
            match.duplicates[student] = others
    return match


def check_notebook(path: Path, assignments_dir: Path = Path("assignments"),
                   cell_timeout: float = 300.0, timeout: float = 1800.0) -> tuple[bool, list[str]]:
    """The student-side check: (all good, lines to print)."""
    from .grader import grade_submission, identify
    from .markers import read_notebook
    from .preflight import missing_requirements
    from .sandbox import Limits, Sandbox

    lines: list[str] = []
    try:
        nb = read_notebook(path)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
    except Exception as exc:
        return False, [f"✗ {path} is not a readable notebook ({str(exc).splitlines()[0][:200]}): "
                       "hand in the .ipynb file Jupyter saves, not a copy of its text"]
    lines.append(f"✓ {path} is a readable notebook")
    assignments = {p.stem: load_solution(p) for p in sorted(Path(assignments_dir).glob("*.ipynb"))}
    name, problem = identify(nb, assignments)
    if name is None:
        return False, lines + [f"✗ {problem} Known assignments: {', '.join(assignments) or 'none'}"]
    lines.append(f"✓ it is the assignment `{name}`")
    for missing in missing_requirements(assignments[name]):
        lines.append(f"! this machine lacks data the notebook reads: {missing}")
    with tempfile.TemporaryDirectory(prefix="check-") as out:
        report = grade_submission(path, assignments, Path(out), assignment=name,
                                  cell_timeout=cell_timeout, timeout=timeout,
                                  sandbox=Sandbox("none", "a student's own check"),
                                  limits=Limits(0, 0), after_timeout=0)
    for problem in report.problems:
        lines.append(f"! {problem}")
    ok = not report.cell_errors and not any("did not finish" in p or "kernel stopped" in p
                                            for p in report.problems)
    if report.cell_errors:
        lines.append("✗ it does not run top to bottom: errors in your cells:")
        lines += [f"    {e}" for e in report.cell_errors]
    elif ok:
        lines.append(f"✓ it runs top to bottom in a fresh kernel ({report.seconds:.0f} s)")
    passed = [q for q in report.questions if q.status == "passed"]
    lines.append(f"{'✓' if len(passed) == len(report.questions) else '✗'} visible tests: "
                 f"{len(passed)} of {len(report.questions)} test cells pass")
    lines += [f"    {q.grade_id}: {q.status}" + (f": {q.message}" if q.message else "")
              for q in report.questions if q.status != "passed"]
    if report.manual:
        lines.append(f"  {len(report.manual)} written answer(s) are graded by hand; "
                     "hidden tests run only when your notebook is graded")
    return ok and len(passed) == len(report.questions), lines
