"""The command line: ``python -m utils.grading release|grade ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __doc__ as _package_doc
from .grader import grade
from .markers import AuthoringError, load_solution, read_notebook
from .release import find_leaks, release
from .reports import _num
from .running import DEFAULT_CELL_TIMEOUT, DEFAULT_TIMEOUT


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
