"""One source for homework: release student notebooks from solution notebooks, and autograde.

Instructors write only the solution notebooks (``solutions/*.ipynb``)::

    python -m utils.grading release                 # solutions/*.ipynb -> assignments/*.ipynb
    python -m utils.grading release --check         # exit 1 if a committed assignment is stale
    python -m utils.grading grade SUB.ipynb [...] --out DIR   # reports + gradebook.csv
    python -m utils.grading manual DIR              # written answers to grade by hand
    python -m utils.grading merge DIR               # hand-graded scores -> reports, gradebook
    python -m utils.grading check MY.ipynb          # for students, before they hand in

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
into points. A test cell whose metadata says ``course: {uses: [NAMES]}`` runs with the
solution's definitions of those functions, put in just for that test (utils.grading.references),
so a bug costs only the question of the function that has it. Kernels run in a bwrap sandbox
where one is available (utils.grading.sandbox).

Modules, one per idea: ``markers`` (what a cell is; parsing a solution), ``release`` (stubbing
and the leak check), ``running`` (nbval in a subprocess, limits), ``sandbox`` (bwrap, CPU and
memory limits), ``preflight`` (declared data), ``grader`` (one or many submissions),
``reports`` (Markdown, JSON, HTML, gradebook), ``manual`` (hand grading), ``roster`` (the class list; the students'
``check``), ``references`` (reference implementations for a test's dependencies), ``cli``.
"""

from .markers import (ANSWER_STUB, BEGIN_HIDDEN, BEGIN_SOLUTION, CODE_STUB, END_HIDDEN,
                      END_SOLUTION, GRADE_ID, MARKER_WORDS, SCHEMA_VERSION, AuthoringError, Role,
                      Solution, TestCell, cell_role, load_solution, load_solutions,
                      parse_solution, read_notebook)
from .release import find_leaks, make_assignment, notebook_text, release
from .reports import Question, Report, _num, load_reports, write_gradebook
from .running import DEFAULT_CELL_TIMEOUT, DEFAULT_TIMEOUT, KernelDied
from .grader import (GradingWarning, build_graded_notebook, default_jobs, expand_submissions,
                     fill_ungraded, grade, grade_submission, identify)
from .sandbox import Limits, Sandbox, SandboxUnavailable, find_sandbox
from .manual import ManualScoresError, collect, finish, student_answers
from .roster import check_notebook, match_roster, read_roster
from .preflight import PreflightError, missing_requirements, preflight
from .cli import main

__all__ = [
    "ANSWER_STUB", "BEGIN_HIDDEN", "BEGIN_SOLUTION", "CODE_STUB", "END_HIDDEN", "END_SOLUTION",
    "GRADE_ID", "MARKER_WORDS", "SCHEMA_VERSION", "AuthoringError", "Role", "Solution",
    "TestCell", "cell_role", "load_solution", "load_solutions", "parse_solution",
    "read_notebook", "find_leaks", "make_assignment", "notebook_text", "release", "Question",
    "Report", "write_gradebook", "DEFAULT_CELL_TIMEOUT", "DEFAULT_TIMEOUT", "KernelDied",
    "build_graded_notebook", "expand_submissions", "fill_ungraded", "grade",
    "grade_submission", "identify", "main", "PreflightError", "missing_requirements", "preflight",
    "ManualScoresError", "collect", "finish", "student_answers", "load_reports",
    "check_notebook", "match_roster", "read_roster",
    "Limits", "Sandbox", "SandboxUnavailable", "find_sandbox", "GradingWarning", "default_jobs",
]
