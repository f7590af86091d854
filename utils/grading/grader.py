"""Grading: the solution's test cells put back into each submission, the run, the score."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

import nbformat

from .markers import (BEGIN_HIDDEN, END_HIDDEN, Solution, TestCell, _source, cell_role,
                      load_solutions, locked, read_notebook)
from .manual import finish, write_report
from .preflight import preflight
from .references import restore_source, swap_in_source
from .roster import match_roster, read_roster, safe_name
from .reports import Question, Report, _describe, _first_lines, _num
from .running import DEFAULT_AFTER_TIMEOUT, DEFAULT_CELL_TIMEOUT, DEFAULT_TIMEOUT, _run_notebook
from .sandbox import DEFAULT_CPU_TIME, DEFAULT_MEMORY_MB, Limits, Sandbox, find_sandbox


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
    "test" (info: grade_id), "student" (info: the submission cell), or "swap" / "restore"
    (info: grade_id) for the grader's cells around a test run with reference
    implementations (utils.grading.references)."""
    tests = {t.grade_id: t for t in solution.tests}
    given = {c.get("id"): c for c in solution.nb.cells if locked(c) and c.get("id")}
    problems: list[str] = []
    cells: list[dict] = []
    placed: dict[str, int] = {}
    for cell in submission.cells:
        key = _cell_key(cell)
        if key in given and key not in tests:
            original = given.pop(key)
            if cell.get("cell_type") != original.get("cell_type") or \
                    _plain(_source(cell)) != _plain(_source(original)):
                problems.append(f"Given cell `{key}` had been changed; the original was used.")
            cell = nbformat.from_dict({"cell_type": original.get("cell_type"), "id": key,
                                       "metadata": {}, "source": _source(original)})
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
    problems += [f"Given cell `{key}` was missing; grading ran without it." for key in given]
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

    # Displayed at the end of a grader's cell: it ran to its end (see the test cells below).
    reached = f"\n__import__('IPython').display.display({{'text/plain': {sentinel!r}}}, raw=True)\n"
    out_cells, code_map = [], []
    for i, entry in enumerate(cells):
        if entry["kind"] == "test":
            test = tests[entry["grade_id"]]
            if test.references:  # the solution's versions of what it calls, for this test only
                out_cells.append(nbformat.v4.new_code_cell(swap_in_source(
                    {n: solution.references[n] for n in test.references}).rstrip() + reached,
                    id=f"swap-{i}"))
                code_map.append(("swap", test.grade_id))
            # Reached only if every line above ran: an exception whose report the student's
            # code suppressed still fails. Sent as display data, so a replaced sys.stdout
            # does not matter.
            source = test.source.rstrip() + reached
            out_cells.append(nbformat.v4.new_code_cell(source, id=f"graded-{i}"))
            code_map.append(("test", test.grade_id))
            if test.references:
                out_cells.append(nbformat.v4.new_code_cell(restore_source(), id=f"restore-{i}"))
                code_map.append(("restore", test.grade_id))
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
                     keep_work: bool = False, sandbox: Sandbox | None = None,
                     limits: Limits | None = None,
                     after_timeout: float = DEFAULT_AFTER_TIMEOUT) -> Report:
    """Grade one submission; never raises for bad input: problems go into the report.

    ``sandbox``: how the kernel is isolated (default: find_sandbox("auto")); ``limits``: its
    CPU time and memory; ``after_timeout``: the limit per cell once a cell has timed out."""
    # Absolute paths: the grading subprocess runs in a scratch folder, not in our cwd.
    path, out_dir = Path(path).resolve(), Path(out_dir).resolve()
    sandbox = sandbox or find_sandbox("auto")
    limits = limits or Limits()
    started = time.monotonic()
    report = Report(student or path.stem, str(path), assignment, sandboxed=sandbox.used,
                    sandbox=sandbox.describe(), limits=limits.describe())
    try:
        _grade_into(report, path, solutions, out_dir, assignment, cell_timeout, timeout, keep_work,
                    sandbox, limits, after_timeout)
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
    if not report.manual:
        report.manual = [{"grade_id": m.grade_id, "possible": m.points, "points": None,
                          "comment": ""} for m in solution.manual]


def _grade_into(report: Report, path: Path, solutions: dict[str, Solution], out_dir: Path,
                assignment: str | None, cell_timeout: float, timeout: float,
                keep_work: bool, sandbox: Sandbox, limits: Limits, after_timeout: float) -> None:
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
    report.manual = [{"grade_id": m.grade_id, "possible": m.points, "points": None, "comment": ""}
                     for m in solution.manual]
    sentinel = f"grading-sentinel-{secrets.token_hex(12)}"
    graded, code_map, problems = build_graded_notebook(nb, solution, sentinel)
    report.problems.extend(problems)

    work_root = out_dir / ".work"
    work_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{report.student}-", dir=work_root))
    try:
        records, limit_hit, log_tail = _run_notebook(graded, work, sentinel, cell_timeout, timeout,
                                                     sandbox, limits, after_timeout)
    finally:
        if not keep_work:
            shutil.rmtree(work, ignore_errors=True)
            Path(f"{work}.log").unlink(missing_ok=True)
    _score(report, solution, code_map, records, limit_hit, log_tail, cell_timeout, timeout,
           after_timeout)


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
           cell_timeout, timeout, after_timeout=0.0) -> None:
    by_cell = {r["cell"]: r for r in records if r.get("cell") is not None}
    tests = {t.grade_id: t for t in solution.tests}
    collected = any("collected" in r for r in records)
    results: dict[str, Question] = {}
    death = None  # description of the cell whose run ended the kernel
    swapped = set()  # tests whose reference implementations were in place
    for num, (kind, info) in enumerate(code_map):
        if kind in ("swap", "restore"):
            record = by_cell.get(num)
            if record is not None and record["ok"] and record["sentinel"] and kind == "swap":
                swapped.add(info)
            elif record is not None and "Kernel dead" not in record["message"] and (
                    not record["ok"] or kind == "swap"):   # a swap whose end was not reached
                what = ("put in the reference implementations for" if kind == "swap" else
                        "put your own functions back after")
                error = (f"{record['ename']}: {record['evalue']}".rstrip(": ") if record["ename"]
                         else record["message"] or "its end was not reached")
                report.problems.append(f"The grader could not {what} test `{info}` "
                                       f"({_first_lines(error, 1)})" + (
                                           "; it ran with your own functions." if kind == "swap"
                                           else "."))
            continue
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
            if "CPU-time" in record["message"]:
                message += ": it had used up its CPU-time limit"
            death = death or f"the kernel died at {where}"
        elif "Kernel dead" in record["message"]:
            status = "not run"
            message = f"the kernel had stopped ({death or 'in an earlier cell'})"
        elif record["message"].startswith("Timeout"):
            status, message = "timeout", f"exceeded the {_num(cell_timeout)} s time limit per cell"
            if record.get("fast_fail"):
                message = (f"stopped after {_num(after_timeout)} s: an earlier cell had run past "
                           "its time limit, so later cells get only that long (a looping "
                           "function would otherwise cost every cell that calls it the full limit)")
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
            used = list(test.references) if info in swapped else []
            results[info] = Question(info, earned, test.points, status, message, used)
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


class GradingWarning(UserWarning):
    """Grading runs, but less safely than it should (e.g. without a sandbox)."""


def default_jobs() -> int:
    """Notebooks graded at once by default: one per CPU core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _assignments_to_grade(paths: list[Path], solutions: dict[str, Solution],
                          assignment: str | None) -> set[str]:
    """The assignments a batch will be graded as (for the preflight); unreadable files and
    unknown assignments are left to grading, which reports them per submission."""
    if assignment is not None:
        return {assignment} & set(solutions)
    names = set()
    for path in paths:
        try:
            nb = read_notebook(path)
            name, _ = identify(nb, solutions)
        except Exception:
            continue
        if name is not None:
            names.add(name)
    return names


def grade(submissions: Iterable[Path], out_dir: Path, solutions_dir: Path = Path("solutions"), *,
          assignment: str | None = None, cell_timeout: float = DEFAULT_CELL_TIMEOUT,
          timeout: float = DEFAULT_TIMEOUT, jobs: int | None = None, keep_work: bool = False,
          sandbox: str | Sandbox = "auto", cpu_time: float = DEFAULT_CPU_TIME,
          memory_mb: int = DEFAULT_MEMORY_MB, after_timeout: float = DEFAULT_AFTER_TIMEOUT,
          roster: Path | None = None) -> list[Report]:
    """Grade submissions into out_dir: STUDENT.md and STUDENT.json each, and gradebook.csv.

    ``jobs``: notebooks graded at once (default: the number of CPU cores). ``sandbox``:
    "auto", "bwrap" or "none" (see utils.grading.sandbox). Raises PreflightError (and writes
    nothing) when an assignment's declared data is missing, and SandboxUnavailable when
    sandbox="bwrap" cannot run. ``roster``: a CSV of student ids (see utils.grading.roster):
    missing, duplicate and unknown submissions are reported."""
    out_dir = Path(out_dir)
    solutions = load_solutions(solutions_dir)
    paths = expand_submissions(submissions)
    names = _student_names(paths)
    notes: dict[str, list[str]] = {}
    missing: list[str] = []
    if roster is not None:
        match = match_roster(paths, read_roster(roster))
        used = set(match.graded.values())
        kept = [p for p in paths if p in match.graded or p in match.unknown]
        unknown_names = dict(zip(paths, names))
        names = [safe_name(match.graded[p]) if p in match.graded else unknown_names[p] for p in kept]
        for p in match.unknown:
            notes.setdefault(unknown_names[p], []).append(
                f"Not on the roster: `{p.name}` matches no student id of {Path(roster).name}.")
        for student, ignored in match.duplicates.items():
            notes.setdefault(safe_name(student), []).append(
                f"{len(ignored) + 1} submissions for {student}: the newest was graded; ignored "
                + ", ".join(f"`{q}`" for q in ignored) + ".")
        missing = [s for s in match.missing if s not in used]
        paths = kept
    preflight(solutions[name] for name in _assignments_to_grade(paths, solutions, assignment))
    sandbox = sandbox if isinstance(sandbox, Sandbox) else find_sandbox(sandbox)
    if not sandbox.used:
        warnings.warn(f"grading {sandbox.describe()}", GradingWarning, stacklevel=2)
    limits = Limits(cpu_time, memory_mb)
    jobs = default_jobs() if jobs is None else jobs
    out_dir.mkdir(parents=True, exist_ok=True)

    def one(args):
        path, name = args
        return grade_submission(path, solutions, out_dir, student=name, assignment=assignment,
                                cell_timeout=cell_timeout, timeout=timeout, keep_work=keep_work,
                                sandbox=sandbox, limits=limits, after_timeout=after_timeout)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        reports = list(pool.map(one, zip(paths, names)))
    for report in reports:
        report.problems = notes.get(report.student, []) + report.problems
    for student in missing:
        absent = Report(safe_name(student), "", assignment)
        absent.problems.append("No submission received.")
        if assignment in solutions:
            fill_ungraded(absent, solutions[assignment])
        else:
            absent.assignment = None
        reports.append(absent)
    # An unreadable notebook in a batch of one assignment is out of that assignment's points.
    known = {r.assignment for r in reports if r.assignment in solutions}
    if len(known) == 1:
        (only,) = known
        for r in reports:
            if r.assignment is None and not r.questions:
                fill_ungraded(r, solutions[only])
    work_root = out_dir / ".work"
    if work_root.exists() and not keep_work:
        shutil.rmtree(work_root, ignore_errors=True)
    for report in reports:
        write_report(out_dir, report)
    # Hand-graded scores already in OUT/manual.csv carry over; the gradebook covers every
    # report in OUT, so regrading one student updates only their row.
    merged = {r.student: r for r in finish(out_dir, solutions)}
    return [merged.get(r.student, r) for r in reports]

