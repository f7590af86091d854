"""The command line: ``python -m utils.grading release|grade ...``."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from . import __doc__ as _package_doc
from .grader import GradingWarning, default_jobs, grade
from .manual import ManualScoresError, collect, finish
from .markers import AuthoringError, load_solution, load_solutions, read_notebook
from .preflight import PreflightError
from .release import find_leaks, release
from .reports import _num
from .roster import check_notebook
from .running import DEFAULT_AFTER_TIMEOUT, DEFAULT_CELL_TIMEOUT, DEFAULT_TIMEOUT
from .sandbox import (DEFAULT_CPU_TIME, DEFAULT_MEMORY_MB, INSTALL_HINT, SandboxUnavailable,
                      find_sandbox)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m utils.grading", description=_package_doc.split("\n")[0])
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
    gr.add_argument("--jobs", type=int, default=None,
                    help=f"notebooks graded at once (default: the {default_jobs()} CPU cores)")
    gr.add_argument("--after-timeout", type=float, default=DEFAULT_AFTER_TIMEOUT,
                    help="seconds per cell once a cell has timed out (default %(default)g; 0: off)")
    gr.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                    help="run kernels in a bwrap sandbox: auto (if available, else warn), "
                    "bwrap (required), none")
    gr.add_argument("--cpu-time", type=float, default=DEFAULT_CPU_TIME,
                    help="CPU seconds per kernel (default %(default)g; 0: no limit)")
    gr.add_argument("--memory", type=int, default=DEFAULT_MEMORY_MB,
                    help="MiB of memory per process (default %(default)d; 0: no limit)")
    gr.add_argument("--roster", type=Path, help="CSV of student ids: report missing, "
                    "duplicate and unknown submissions")
    gr.add_argument("--keep-work", action="store_true", help="keep OUT/.work for debugging")
    chk = sub.add_parser("check", help="for students: is this the right assignment, readable, "
                         "and does it run top to bottom with the visible tests?")
    chk.add_argument("notebook", type=Path)
    chk.add_argument("--assignments", type=Path, default=Path("assignments"))
    chk.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT)
    man = sub.add_parser("manual", help="collect the written answers of graded reports: "
                         "OUT/manual.html to read, OUT/manual.csv to fill in")
    man.add_argument("out", type=Path, help="the --out folder of `grade`")
    man.add_argument("--solutions", type=Path, default=Path("solutions"))
    mer = sub.add_parser("merge", help="merge OUT/manual.csv into the reports and gradebook.csv")
    mer.add_argument("out", type=Path, help="the --out folder of `grade`")
    mer.add_argument("--solutions", type=Path, default=Path("solutions"))
    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            return _release_command(args)
        if args.command == "check":
            ok, lines = check_notebook(args.notebook, args.assignments, args.cell_timeout)
            print("\n".join(lines))
            return 0 if ok else 1
        if args.command == "manual":
            html_path, csv_path = collect(args.out, load_solutions(args.solutions))
            print(f"read {html_path}, score in {csv_path}, then: "
                  f"python -m utils.grading merge {args.out}")
            return 0
        if args.command == "merge":
            reports = finish(args.out, load_solutions(args.solutions))
            for r in reports:
                pending = f"  ({len(r.pending)} written answer(s) not graded)" if r.pending else ""
                print(f"{r.student}: {_num(r.total)} / {_num(r.total_possible)}{pending}")
            print(f"reports and gradebook.csv in {args.out}/ updated")
            return 0
        return _grade_command(args)
    except AuthoringError as exc:
        print(f"error in a solution notebook:\n{exc}", file=sys.stderr)
        return 2
    except (PreflightError, SandboxUnavailable, ManualScoresError) as exc:
        print(exc, file=sys.stderr)
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
    sandbox = find_sandbox(args.sandbox)
    if not sandbox.used:
        print("=" * 78 + f"\nWARNING: grading {sandbox.describe()}.\nA submission can read "
              "the solutions and hidden tests while it is graded. "
              f"{INSTALL_HINT[0].upper() + INSTALL_HINT[1:]}.\n" + "=" * 78, file=sys.stderr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradingWarning)   # said above, once
        reports = grade(args.submissions, args.out, args.solutions, assignment=args.assignment,
                        cell_timeout=args.cell_timeout, timeout=args.timeout, jobs=args.jobs,
                        keep_work=args.keep_work, sandbox=sandbox, cpu_time=args.cpu_time,
                        memory_mb=args.memory, after_timeout=args.after_timeout,
                        roster=args.roster)
    if not reports:
        print("no submissions found", file=sys.stderr)
        return 2
    for r in reports:
        note = f"  ({len(r.problems)} problem(s): {r.problems[0]})" if r.problems else ""
        manual = (f" + {len(r.manual)} written answer(s) to grade by hand "
                  f"({_num(r.manual_possible)} points)" if r.pending else
                  f" + written {_num(r.manual_score)} / {_num(r.manual_possible)}" if r.manual else "")
        print(f"{r.student}: {_num(r.score)} / {_num(r.possible)}{manual}{note}")
    print(f"reports and gradebook.csv in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
