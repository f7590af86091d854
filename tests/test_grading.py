"""utils.grading: one source (solutions -> assignments) and autograding under nbval.

The adversarial cases run on the tiny notebooks in tests/fixtures/grading/ (written by its
make_fixtures.py); the end-to-end cases run on every solutions/*.ipynb there is.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import re
import runpy
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from utils import grading
from utils.pytest_plugin import missing_datasets

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "grading"
FIXTURE_SOLUTIONS = FIXTURES / "solutions"
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
CELL_TIMEOUT = 3        # seconds per cell for the fixtures (they run in milliseconds)
NOTEBOOK_TIMEOUT = 40   # seconds per fixture notebook


def _toy() -> grading.Solution:
    return grading.load_solution(FIXTURE_SOLUTIONS / "toy.ipynb")


def _cells(nb) -> dict[str, nbformat.NotebookNode]:
    return {cell.id: cell for cell in nb.cells}


def _tree(folder: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                         p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------------------------
# Release: no kernels, fast
# --------------------------------------------------------------------------------------------

def test_fixture_notebooks_are_what_make_fixtures_writes():
    expected = runpy.run_path(str(FIXTURES / "make_fixtures.py"))["expected_files"]()
    for path, text in expected.items():
        assert path.exists(), f"missing {path}: run python {FIXTURES / 'make_fixtures.py'}"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run python {FIXTURES / 'make_fixtures.py'}")


def test_release_stubs_answers_but_keeps_signature_docstring_and_hint():
    cells = _cells(grading.make_assignment(_toy()))
    assert cells["mean"].source == (
        'def mean(xs):\n    """Return the arithmetic mean of a non-empty list."""\n'
        "    ### YOUR CODE HERE (~2 lines)\n    # YOUR CODE HERE\n    raise NotImplementedError()")
    assert cells["mean"].metadata["nbgrader"] == {
        "grade": False, "grade_id": "mean", "locked": False, "schema_version": 3,
        "solution": True}


def test_release_drops_hidden_tests_and_keeps_ids_and_points():
    cells = _cells(grading.make_assignment(_toy()))
    assert cells["test_mean"].source == "assert mean([1, 2, 3]) == 2"  # marked by a tag
    assert cells["test_mean"].metadata == {
        "deletable": False, "editable": False,
        "nbgrader": {"grade": True, "grade_id": "test_mean", "locked": True, "points": 2,
                     "schema_version": 3, "solution": False}}
    assert cells["test_norm"].metadata["nbgrader"]["points"] == 3  # marked by metadata
    assert "tags" not in cells["test_mean"].metadata


def test_release_blanks_written_answers_and_clears_outputs():
    solution = _toy()
    nb = copy.deepcopy(solution.nb)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="secret\n")]
    nb.cells[1].execution_count = 7
    assignment = grading.make_assignment(grading.parse_solution(nb, "toy"))
    cells = _cells(assignment)
    assert cells["why_empty"].source == "YOUR ANSWER HERE"
    assert cells["why_empty"].metadata["nbgrader"]["points"] == 1
    assert cells["bonus"].source == "**Bonus thought:**\nYOUR ANSWER HERE"
    assert all(c.outputs == [] and c.execution_count is None
               for c in assignment.cells if c.cell_type == "code")
    assert assignment.metadata["course"] == {"assignment": "toy"}


def test_release_is_deterministic():
    first = grading.notebook_text(grading.make_assignment(_toy()))
    assert first == grading.notebook_text(grading.make_assignment(_toy()))
    assert first.endswith("}\n")


def test_find_leaks_catches_answers_hidden_tests_markers_and_outputs():
    solution = _toy()
    clean = grading.make_assignment(solution)
    assert grading.find_leaks(solution, clean) == []
    for cell_id, source in [("mean", "def mean(xs):\n    total = sum(xs)"),
                            ("test_add", "assert add(-1, 1) == 0, 'hidden: add(-1, 1)'"),
                            ("why_empty", "Dividing by `len(xs) == 0` raises `ZeroDivisionError`."),
                            ("setup", "### BEGIN SOLUTION")]:
        leaky = copy.deepcopy(clean)
        _cells(leaky)[cell_id].source = source
        assert grading.find_leaks(solution, leaky), source
    leaky = copy.deepcopy(clean)
    _cells(leaky)["setup"].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x")]
    assert grading.find_leaks(solution, leaky)


def _with_cells(solution_nb, *cells):
    nb = copy.deepcopy(solution_nb)
    nb.cells.extend(cells)
    return nb


def test_solution_only_cells_are_not_released_and_count_as_secret():
    toy = _toy().nb
    extra = nbformat.v4.new_markdown_cell("Summary: `mean` divides by `len(xs)`.", id="summary",
                                          metadata={"tags": ["solution-only"]})
    solution = grading.parse_solution(_with_cells(toy, extra), "toy")
    assignment = grading.make_assignment(solution)
    assert "summary" not in _cells(assignment)
    leaky = copy.deepcopy(assignment)
    leaky.cells.append(nbformat.v4.new_markdown_cell(extra.source, id="copied"))
    assert any("solution or hidden-test line" in leak for leak in grading.find_leaks(solution, leaky))
    tagged_test = copy.deepcopy(toy)
    tagged_test.cells[3].metadata["tags"] = ["solution-only"]
    with pytest.raises(grading.AuthoringError, match="solution-only"):
        grading.parse_solution(tagged_test, "toy")


def test_answer_leaks_formulas_code_and_declared_secrets_fail_but_the_question_does_not():
    """The class of leak of issue 9: an answer restated in an ordinary cell that release keeps."""
    question = nbformat.v4.new_markdown_cell(
        "**(b)** With $\\hat y = \\operatorname{softmax}(U^\\top v_c)$, compute "
        "$\\dfrac{\\partial J}{\\partial v_c}$.", id="q-b")
    answer = nbformat.v4.new_markdown_cell(
        "$$\\frac{\\partial J}{\\partial v_c} = U(\\hat y - y)$$, and in code `U.T @ (y_hat - y)`.",
        id="answer-b", metadata={"nbgrader": {"grade": True, "solution": True, "grade_id": "answer_b",
                                              "points": 2}, "course": {"secrets": ["s * (1 - s)"]}})
    restated = nbformat.v4.new_markdown_cell(
        "From (b): $\\frac{\\partial J}{\\partial v_c} = U\\,(\\hat{y} - y)$.", id="naive-md")
    in_code = nbformat.v4.new_code_cell("grad = U.T @ (y_hat - y)", id="uses-b")
    declared = nbformat.v4.new_code_cell("ax.plot(x, s*(1 - s))", id="picture")
    reuses_code = nbformat.v4.new_code_cell("print(total / len(xs))", id="uses-mean")
    solution = grading.parse_solution(_with_cells(_toy().nb, question, answer), "toy")
    clean = grading.make_assignment(solution)
    assert grading.find_leaks(solution, clean) == []  # the question's own formulas are given
    for cell, what in [(restated, "formula 'U(\\\\haty-y)'"), (in_code, "U.T@(y_hat-y)"),
                       (declared, "s*(1-s)"), (reuses_code, "code answer `mean`")]:
        leaky = copy.deepcopy(clean)
        leaky.cells.append(cell)
        leaks = grading.find_leaks(solution, leaky)
        assert any(what in leak and cell.id in leak for leak in leaks), (what, leaks)
    # The author's secrets never reach the assignment's metadata.
    assert "course" not in _cells(clean)["answer_b"].metadata


@pytest.mark.parametrize("name, cells", [
    ("hw2_word2vec", {"sigmoid-md", "sigmoid-picture", "naive-md", "batched-md", "batched",
                      "equivalence", "train-batched", "discussion"}),
    ("hw1_cooccurrence_svd", {"get-matrix", "synonym-extra", "summary"}),
])
def test_release_check_catches_the_answers_the_old_assignments_gave_away(name, cells):
    """tests/fixtures/grading/leaky/ holds the assignments as released before issue 9."""
    solution = grading.load_solution(ROOT / "solutions" / f"{name}.ipynb")
    old = grading.read_notebook(FIXTURES / "leaky" / f"{name}_before.ipynb")
    leaky_cells = {re.search(r"\(id ([^)]+)\)", leak).group(1)
                   for leak in grading.find_leaks(solution, old)}
    assert cells <= leaky_cells, sorted(cells - leaky_cells)


@pytest.mark.parametrize("cells, problem", [
    ([nbformat.v4.new_code_cell("x = 1\n### BEGIN SOLUTION\nx = 2", id="a")], "no matching END"),
    ([nbformat.v4.new_code_cell("### END SOLUTION", id="a")], "END SOLUTION"),
    ([nbformat.v4.new_code_cell("assert 1", id="a", metadata={"tags": ["test:t"]})], "needs points"),
    ([nbformat.v4.new_code_cell("assert 1", id="a", metadata={"tags": ["test:t:0"]})], "points > 0"),
    ([nbformat.v4.new_code_cell("assert 1", id="a", metadata={"tags": ["test:t:2"]}),
      nbformat.v4.new_code_cell("assert 2", id="b", metadata={"tags": ["test:t:1"]})], "also used"),
    ([nbformat.v4.new_code_cell("assert 1", id="a", metadata={"tags": ["test:bad id:1"]})], "grade_id"),
    ([nbformat.v4.new_code_cell("# NBVAL_SKIP\nassert 1", id="a",
                                metadata={"tags": ["test:t:1"]})], "nbval marker"),
    ([nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nx\n### END HIDDEN TESTS", id="a")],
     "HIDDEN TESTS"),
])
def test_authoring_mistakes_are_refused(cells, problem):
    with pytest.raises(grading.AuthoringError, match=problem):
        grading.make_assignment(nbformat.v4.new_notebook(cells=cells), "bad")


def test_release_command_writes_then_checks(tmp_path):
    solutions, assignments = tmp_path / "solutions", tmp_path / "assignments"
    solutions.mkdir()
    (solutions / "toy.ipynb").write_bytes((FIXTURE_SOLUTIONS / "toy.ipynb").read_bytes())
    args = ["--solutions", str(solutions), "--assignments", str(assignments)]
    assert grading.main(["release", "--check", *args]) == 1      # nothing released yet
    assert grading.main(["release", *args]) == 0
    assert (assignments / "toy.ipynb").read_bytes() == (FIXTURES / "assignments" / "toy.ipynb").read_bytes()
    assert grading.main(["release", "--check", *args]) == 0
    edited = (assignments / "toy.ipynb").read_text().replace("YOUR ANSWER HERE", "typo")
    (assignments / "toy.ipynb").write_text(edited)
    assert grading.main(["release", "--check", *args]) == 1
    assert grading.main(["release", *args]) == 0
    (assignments / "orphan.ipynb").write_text("{}")  # every assignment needs its solution
    assert grading.main(["release", "--check", *args]) == 1


def test_release_command_line_entry_point(tmp_path):
    """`python -m utils.grading release --check` as make and CI run it."""
    result = subprocess.run(
        [sys.executable, "-m", "utils.grading", "release", "--check",
         "--solutions", str(FIXTURE_SOLUTIONS), "--assignments", str(FIXTURES / "assignments")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_committed_assignment_is_what_release_generates(solution):
    committed = ROOT / "assignments" / solution.name
    assert committed.exists(), f"{committed} missing: run `python -m utils.grading release`"
    generated = grading.notebook_text(grading.make_assignment(grading.load_solution(solution)))
    assert committed.read_text(encoding="utf-8") == generated, (
        f"{committed} differs from its solution: run `python -m utils.grading release`")


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_committed_assignment_leaks_no_answer(solution):
    committed = ROOT / "assignments" / solution.name
    assert committed.exists(), f"{committed} missing: run `python -m utils.grading release`"
    leaks = grading.find_leaks(grading.load_solution(solution), grading.read_notebook(committed))
    assert leaks == []


# --------------------------------------------------------------------------------------------
# Building the graded notebook: no kernels
# --------------------------------------------------------------------------------------------

def test_canonical_tests_replace_edited_ones_and_deleted_ones_come_back():
    toy = _toy()
    submission = grading.read_notebook(FIXTURES / "submissions" / "tests_deleted.ipynb")
    nb, code_map, problems = grading.build_graded_notebook(submission, toy, "SENTINEL")
    tests = [info for kind, info in code_map if kind == "test"]
    assert tests == ["test_add", "test_mean", "test_norm"]
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    mean_test = sources[[info for _, info in code_map].index("test_mean")]
    assert "assert mean([1, 2]) == 1.5" in mean_test  # hidden tests are graded
    order = [info if kind == "test" else info.id for kind, info in code_map]
    assert order.index("mean") < order.index("test_mean") < order.index("norm")
    assert any("`test_add` had been changed" in p for p in problems)
    assert any("`test_mean` was missing" in p for p in problems)


def test_identify_by_metadata_or_by_cells():
    solutions = grading.load_solutions(FIXTURE_SOLUTIONS)
    subs = FIXTURES / "submissions"
    read = grading.read_notebook
    assert grading.identify(read(subs / "one_wrong.ipynb"), solutions) == ("toy", None)
    assert grading.identify(read(subs / "cell_raises.ipynb"), solutions) == ("toy", None)  # no metadata
    assert grading.identify(read(subs / "wrong_assignment.ipynb"), solutions) == ("other", None)
    name, problem = grading.identify(read(subs / "wrong_assignment.ipynb"), solutions, "toy")
    assert name is None and "Wrong assignment" in problem
    name, problem = grading.identify(nbformat.v4.new_notebook(), solutions)
    assert name is None and "--assignment" in problem


# --------------------------------------------------------------------------------------------
# Grading the fixtures: one batch, two notebooks at a time
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("graded")
    home = tmp_path_factory.mktemp("home")
    submissions = [FIXTURE_SOLUTIONS / "toy.ipynb", FIXTURES / "assignments" / "toy.ipynb",
                   FIXTURES / "submissions"]
    before = _tree(FIXTURES)
    saved_home = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        started = time.monotonic()
        reports = grading.grade(submissions, out, FIXTURE_SOLUTIONS, assignment="toy",
                                cell_timeout=CELL_TIMEOUT, timeout=NOTEBOOK_TIMEOUT, jobs=2)
        elapsed = time.monotonic() - started
    finally:
        if saved_home is None:
            del os.environ["HOME"]
        else:
            os.environ["HOME"] = saved_home
    return {"out": out, "home": home, "reports": {r.student: r for r in reports},
            "before": before, "after": _tree(FIXTURES), "elapsed": elapsed}


def _points(report) -> dict[str, float]:
    return {q.grade_id: q.points for q in report.questions}


def _question(report, grade_id):
    return next(q for q in report.questions if q.grade_id == grade_id)


def test_solution_gets_full_marks(batch):
    report = batch["reports"]["solutions-toy"]
    assert (report.score, report.possible) == (6, 6), report.to_markdown()
    assert report.problems == [] and report.cell_errors == []
    assert report.manual == [{"grade_id": "why_empty", "possible": 1.0, "points": None,
                              "comment": ""}]
    assert report.pending == ["why_empty"] and report.total_possible == 7


def test_released_assignment_gets_no_points(batch):
    report = batch["reports"]["assignments-toy"]
    assert (report.score, report.possible) == (0, 6)
    assert all(q.message.startswith("NotImplementedError (line 1: `assert ") for q in report.questions)
    assert report.problems == []


def test_one_wrong_function_loses_exactly_its_question(batch):
    report = batch["reports"]["one_wrong"]
    assert _points(report) == {"test_add": 1, "test_mean": 0, "test_norm": 3}
    assert _question(report, "test_mean").status == "failed"
    assert _question(report, "test_mean").message == (
        "AssertionError: hidden: mean([1, 2]) (in a hidden test)")


def test_tests_replaced_by_pass_still_fail(batch):
    report = batch["reports"]["tests_pass"]
    assert report.score == 0
    assert sum("had been changed" in p for p in report.problems) == 3


def test_weakened_and_deleted_tests_gain_nothing(batch):
    report = batch["reports"]["tests_deleted"]
    assert _points(report) == {"test_add": 0, "test_mean": 0, "test_norm": 3}
    assert any("`test_mean` was missing" in p for p in report.problems)
    assert sum("had been changed" in p for p in report.problems) == 2  # test_add, test_norm
    assert _question(report, "test_mean").message == (
        "AssertionError (line 1: `assert mean([1, 2, 3]) == 2`)")


def test_hidden_exceptions_still_fail(batch):
    report = batch["reports"]["hides_errors"]
    assert _points(report) == {"test_add": 1, "test_mean": 0, "test_norm": 3}
    assert _question(report, "test_mean").message == "the test did not run to completion"


def test_infinite_loop_costs_only_its_question(batch):
    report = batch["reports"]["infinite_loop"]
    assert _points(report) == {"test_add": 1, "test_mean": 0, "test_norm": 3}
    assert _question(report, "test_mean").status == "timeout"
    assert report.seconds < NOTEBOOK_TIMEOUT


def test_loop_that_ignores_interrupts_stops_the_kernel_cleanly(batch):
    report = batch["reports"]["uninterruptible"]
    assert _points(report) == {"test_add": 1, "test_mean": 0, "test_norm": 0}
    assert _question(report, "test_mean").status == "timeout"
    assert _question(report, "test_norm").status == "not run"
    assert "kernel" in _question(report, "test_norm").message
    assert any("ignored the interrupt" in p for p in report.problems)
    assert report.seconds < NOTEBOOK_TIMEOUT


def test_locked_given_cells_are_locked_and_restored_at_grading(batch):
    setup = _cells(grading.make_assignment(_toy()))["setup"]
    assert (setup.metadata["editable"], setup.metadata["deletable"]) == (False, False)
    assert setup.metadata["nbgrader"]["locked"] is True
    report = batch["reports"]["edits_given"]
    assert (report.score, report.possible) == (6, 6), report.to_markdown()
    assert report.problems == ["Given cell `setup` had been changed; the original was used."]


def test_kernel_that_dies_is_reported(batch):
    report = batch["reports"]["kernel_dies"]
    assert _points(report) == {"test_add": 1, "test_mean": 0, "test_norm": 0}
    assert _question(report, "test_mean").message.startswith("the kernel died while running")
    assert "kernel had stopped" in _question(report, "test_norm").message
    assert any("kernel" in p for p in report.problems)


def test_cells_that_raise_are_reported_and_cost_only_what_they_break(batch):
    report = batch["reports"]["cell_raises"]
    assert _points(report) == {"test_add": 1, "test_mean": 0, "test_norm": 3}
    assert "NameError" in _question(report, "test_mean").message
    errors = "\n".join(report.cell_errors)
    assert "ZeroDivisionError" in errors and "SyntaxError" in errors


def test_malformed_notebook_is_a_clear_line_not_a_crash(batch):
    report = batch["reports"]["malformed"]
    assert (report.score, report.possible) == (0, 6)
    assert report.problems[0].startswith("Not a readable notebook")


def test_wrong_assignment_earns_nothing(batch):
    report = batch["reports"]["wrong_assignment"]
    assert (report.score, report.possible) == (0, 6)
    assert "Wrong assignment" in report.problems[0] and "`other`" in report.problems[0]


def test_reports_and_gradebook(batch):
    out, reports = batch["out"], batch["reports"]
    for student, report in reports.items():
        data = json.loads((out / f"{student}.json").read_text())
        assert data["score"] == report.score and data["possible"] == report.possible
        assert [q["grade_id"] for q in data["questions"]] == ["test_add", "test_mean", "test_norm"]
        markdown = (out / f"{student}.md").read_text()
        assert f"**Score: {grading._num(report.score)} / 6**" in markdown
    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student", "assignment", "test_add", "test_mean", "test_norm",
                             "why_empty", "auto", "manual", "total", "possible", "pending"]
    assert {r["student"]: r["auto"] for r in rows} == {
        s: grading._num(r.score) for s, r in reports.items()}
    # Nothing graded by hand yet: the total is the auto score, out of all 7 advertised points.
    assert all(r["total"] == r["auto"] and r["manual"] == "0" for r in rows)
    assert {r["possible"] for r in rows} == {"7"} and {r["pending"] for r in rows} == {"1"}


def test_grading_touches_only_its_output_folder(batch):
    assert batch["after"] == batch["before"]  # submissions and solutions unchanged, nothing added
    assert list(batch["home"].iterdir()) == []
    expected = {f"{s}.{ext}" for s in batch["reports"] for ext in ("md", "json", "html")}
    assert {p.name for p in batch["out"].iterdir()} == expected | {"gradebook.csv"}


def test_batch_is_quick(batch):
    # 13 notebooks, two at a time; the two looping ones wait out their 3 s limits.
    assert batch["elapsed"] < 60


# --------------------------------------------------------------------------------------------
# Single runs
# --------------------------------------------------------------------------------------------

def test_notebook_time_limit_ends_grading_and_keeps_earlier_results(tmp_path):
    solutions = grading.load_solutions(FIXTURE_SOLUTIONS)
    started = time.monotonic()
    report = grading.grade_submission(FIXTURES / "submissions" / "infinite_loop.ipynb", solutions,
                                      tmp_path, cell_timeout=60, timeout=6)
    assert time.monotonic() - started < 6 + 10
    assert _question(report, "test_add").status == "passed"
    assert [_question(report, g).status for g in ("test_mean", "test_norm")] == ["not run"] * 2
    assert "time limit" in _question(report, "test_norm").message
    assert any("did not finish within 6 s" in p for p in report.problems)
    assert report.score == 1


def test_command_line_grades_by_the_notebooks_own_assignment(tmp_path, capsys):
    """Without --assignment each notebook is graded as the assignment it says it is."""
    out = tmp_path / "out"
    status = grading.main(["grade", str(FIXTURES / "submissions" / "wrong_assignment.ipynb"),
                           "--solutions", str(FIXTURE_SOLUTIONS), "--out", str(out),
                           "--cell-timeout", str(CELL_TIMEOUT), "--timeout", str(NOTEBOOK_TIMEOUT)])
    assert status == 0
    assert "wrong_assignment: 1 / 1" in capsys.readouterr().out
    assert json.loads((out / "wrong_assignment.json").read_text())["assignment"] == "other"


def test_relative_paths_work_as_an_instructor_types_them(tmp_path, monkeypatch, capsys):
    """`make grade SUBMISSIONS=submissions/hw OUT=grades/hw` passes paths relative to the cwd."""
    (tmp_path / "submissions").mkdir()
    source = FIXTURES / "submissions" / "wrong_assignment.ipynb"
    (tmp_path / "submissions" / "carol.ipynb").write_bytes(source.read_bytes())
    monkeypatch.chdir(tmp_path)
    status = grading.main(["grade", "submissions", "--solutions", str(FIXTURE_SOLUTIONS),
                           "--out", "grades/hw", "--cell-timeout", str(CELL_TIMEOUT),
                           "--timeout", str(NOTEBOOK_TIMEOUT)])
    assert status == 0
    assert "carol: 1 / 1" in capsys.readouterr().out
    assert (tmp_path / "grades" / "hw" / "gradebook.csv").is_file()


def test_preflight_refuses_an_assignment_whose_data_is_missing(tmp_path, monkeypatch, capsys):
    """Grading without the data would fail correct answers for the machine's fault."""
    monkeypatch.setenv("WV_MIRROR", str(tmp_path / "empty-mirror"))
    monkeypatch.setenv("WV_CACHE", str(tmp_path / "empty-cache"))
    submission = FIXTURE_SOLUTIONS / "needs_data.ipynb"
    out = tmp_path / "out"
    with pytest.raises(grading.PreflightError) as error:
        grading.grade([submission], out, FIXTURE_SOLUTIONS, cell_timeout=CELL_TIMEOUT,
                      timeout=NOTEBOOK_TIMEOUT)
    message = str(error.value)
    assert "`reuters`" in message and "WV_MIRROR" in message and "cache" in message
    assert "no_such_package_for_the_grading_tests" in message and "pip install" in message
    assert not out.exists()  # nothing graded, nothing written
    status = grading.main(["grade", str(submission), "--solutions", str(FIXTURE_SOLUTIONS),
                           "--out", str(out), "--assignment", "needs_data"])
    assert status == 2 and "Not grading" in capsys.readouterr().err
    # An assignment that declares nothing is not held up by another's missing data.
    assert grading.missing_requirements(_toy()) == []


# --------------------------------------------------------------------------------------------
# Hand-graded points
# --------------------------------------------------------------------------------------------

def test_gradebook_possible_is_what_the_homework_advertises():
    """39 and 47 points: tests and written answers together (the issue's numbers)."""
    advertised = {"hw1_cooccurrence_svd": 39, "hw2_word2vec": 47}
    for path in SOLUTIONS:
        solution = grading.load_solution(path)
        manual = sum(m.points for m in solution.manual)
        assert solution.possible + manual == advertised[path.stem], path.stem


def test_written_answers_are_collected_scored_merged_and_survive_a_regrade(tmp_path):
    out = tmp_path / "out"
    submissions = tmp_path / "subs"
    submissions.mkdir()
    (submissions / "ann.ipynb").write_bytes((FIXTURE_SOLUTIONS / "toy.ipynb").read_bytes())
    bob = grading.read_notebook(FIXTURES / "submissions" / "one_wrong.ipynb")
    next(c for c in bob.cells if c.id == "why_empty").source = "Because **len** is zero."
    (submissions / "bob.ipynb").write_text(grading.notebook_text(bob))
    options = dict(assignment="toy", cell_timeout=CELL_TIMEOUT, timeout=NOTEBOOK_TIMEOUT, jobs=2)
    grading.grade([submissions], out, FIXTURE_SOLUTIONS, **options)

    html_path, csv_path = grading.collect(out, grading.load_solutions(FIXTURE_SOLUTIONS))
    page = html_path.read_text()
    assert "Model answer" in page and "ZeroDivisionError" in page          # the model answer
    assert "<strong>len</strong> is zero" in page and "1 points" in page    # bob's, rendered
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["question"], r["student"], r["possible"], r["points"]) for r in rows] == [
        ("why_empty", "ann", "1", ""), ("why_empty", "bob", "1", "")]

    def fill(points):
        with open(csv_path, "w", newline="") as f:
            writer = csv.DictWriter(f, list(rows[0]))
            writer.writeheader()
            for row, (value, comment) in zip(rows, points):
                writer.writerow({**row, "points": value, "comment": comment})

    fill([("3", ""), ("x", "")])
    with pytest.raises(grading.ManualScoresError) as error:
        grading.finish(out, grading.load_solutions(FIXTURE_SOLUTIONS))
    assert "outside 0..1" in str(error.value) and "'x' is not a number" in str(error.value)

    fill([("1", ""), ("0.5", "say which exception")])
    assert grading.main(["merge", str(out), "--solutions", str(FIXTURE_SOLUTIONS)]) == 0
    with open(out / "gradebook.csv", newline="") as f:
        book = {r["student"]: r for r in csv.DictReader(f)}
    assert (book["ann"]["auto"], book["ann"]["manual"], book["ann"]["total"]) == ("6", "1", "7")
    assert (book["bob"]["auto"], book["bob"]["manual"], book["bob"]["total"]) == ("4", "0.5", "4.5")
    assert {r["possible"] for r in book.values()} == {"7"} and {r["pending"] for r in book.values()} == {"0"}
    markdown = (out / "bob.md").read_text()
    assert "**total: 4.5 / 7**" in markdown and "say which exception" in markdown
    report_page = (out / "bob.html").read_text()
    assert "Because <strong>len</strong> is zero." in report_page      # their own cells
    assert "0.5 / 1: say which exception" in report_page                 # feedback inline
    assert "test_mean</b>: 0 / 2: failed" in report_page

    # Regrade only bob (a fixed mean): ann's row stays, bob keeps his hand-graded half point.
    fixed = grading.read_notebook(submissions / "bob.ipynb")
    next(c for c in fixed.cells if c.id == "mean").source = "def mean(xs):\n    return sum(xs) / len(xs)"
    (submissions / "bob.ipynb").write_text(grading.notebook_text(fixed))
    (regraded,) = grading.grade([submissions / "bob.ipynb"], out, FIXTURE_SOLUTIONS, **options)
    assert (regraded.score, regraded.manual_score, regraded.total) == (6, 0.5, 6.5)
    with open(out / "gradebook.csv", newline="") as f:
        book = {r["student"]: r for r in csv.DictReader(f)}
    assert (book["ann"]["total"], book["bob"]["total"]) == ("7", "6.5")


# --------------------------------------------------------------------------------------------
# Fair tests on the real homework (no kernels)
# --------------------------------------------------------------------------------------------

def _hidden_line_numbers(source: str) -> set[int]:
    hidden, inside = set(), False
    for number, line in enumerate(source.splitlines(), start=1):
        if grading.BEGIN_HIDDEN.match(line):
            inside = True
        elif grading.END_HIDDEN.match(line):
            inside = False
        elif inside:
            hidden.add(number)
    return hidden


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_every_hidden_assert_says_what_was_wrong(solution):
    """A failing hidden test shows only its message: without one the student learns nothing."""
    import ast

    bare = []
    for test in grading.load_solution(solution).tests:
        hidden = _hidden_line_numbers(test.source)
        for node in ast.walk(ast.parse(test.source)):
            if isinstance(node, ast.Assert) and node.msg is None and node.lineno in hidden:
                bare.append(f"{test.grade_id} line {node.lineno}")
    assert bare == []


def test_visible_tests_catch_a_flipped_negative_sampling_sign():
    """A wrong loss with a gradient consistent with it passes every gradient check; the visible
    known values must still catch it (it lost 11 points only at grading before)."""
    nb = grading.read_notebook(ROOT / "assignments" / "hw2_word2vec.ipynb")
    cells = {c.id: c.source for c in nb.cells}
    namespace: dict = {}
    exec("import random\nimport numpy as np", namespace)
    exec(cells["given-helpers"], namespace)
    exec(cells["get_negative_samples"], namespace)
    exec("def sigmoid(x):\n    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))", namespace)
    flipped = """
def neg_sampling_loss_and_gradient(center_word_vec, outside_word_idx, outside_vectors, dataset, K=10):
    indices = [outside_word_idx] + get_negative_samples(outside_word_idx, dataset, K)
    u = outside_vectors[indices]
    s = sigmoid(u @ center_word_vec)              # the negatives' sign is flipped
    loss = -np.sum(np.log(s))
    coef = -(1.0 - s)                             # ... and the gradient agrees with it
    grad_outside = np.zeros_like(outside_vectors)
    np.add.at(grad_outside, indices, np.outer(coef, center_word_vec))
    return loss, coef @ u, grad_outside
"""
    exec(flipped, namespace)
    with pytest.raises(AssertionError, match="expected loss 3.302128"):
        exec(cells["test_neg_sampling"], namespace)
    # Skip-gram's visible test too: CS224N's own negative-sampling values catch it.
    solution = _cells(grading.read_notebook(ROOT / "solutions" / "hw2_word2vec.ipynb"))
    for cell_id in ("naive_softmax", "skipgram", "sgd-wrapper"):
        exec(solution[cell_id].source, namespace)
    with pytest.raises(AssertionError, match=r"negative sampling, window \('c', 1, \['a', 'b'\]\): "
                                             "your loss and grad_center_vecs"):
        exec(cells["test_skipgram"], namespace)


# CS224N's a2 sanity check (utils/utils.py grad_tests_softmax, grad_tests_negsamp): the
# skip-gram loss for its six windows, three with the naive softmax, three with negative sampling.
CS224N_LOSSES = ["11.16610900153398", "9.87714910003414", "10.810758628593335",
                 "16.15119285363322", "28.653567707668795", "60.648705494891914"]


def test_visible_skipgram_test_shows_cs224n_expected_values():
    """The assignment's visible test holds CS224N's expected values, and the solution
    reproduces every one of them (its output shows CS224N's beside its own)."""
    source = _cells(grading.read_notebook(ROOT / "assignments" / "hw2_word2vec.ipynb"))["test_skipgram"].source
    assert all(loss in source for loss in CS224N_LOSSES)
    assert "-4.54650789" in source and "-1.26947339" in source
    solved = _cells(grading.read_notebook(ROOT / "solutions" / "hw2_word2vec.ipynb"))["test_skipgram"]
    shown = "".join(o.get("text", "") for o in solved.outputs)
    for loss in CS224N_LOSSES:
        value = f"{float(loss):.8f}"
        assert f"CS224N {value}  yours {value}  ok" in shown, value
    assert "DIFFERS" not in shown and shown.count("  ok") == 18


# --------------------------------------------------------------------------------------------
# Reference implementations: no cascades
# --------------------------------------------------------------------------------------------

REFERENCES = FIXTURES / "references"


def test_swap_in_binds_references_and_restore_brings_back_the_students():
    from utils.grading import references

    def students_words(text):
        return "mine"

    namespace = {"__builtins__": __builtins__, "words": students_words, "other": 1}
    before = dict(namespace)
    references.swap_in(namespace, {"words": "def words(text):\n    return 'reference'",
                                   "counts": "def counts(text):\n    return [len(words(text))]"})
    assert namespace["words"]("x") == "reference" and namespace["counts"]("x") == [9]
    references.restore(namespace)
    assert namespace == before  # counts was not there: gone again
    references.restore(namespace)  # nothing to undo: no-op
    with pytest.raises(NameError):  # a reference that fails to define: nothing is left swapped
        references.swap_in(namespace, {"words": "def words(t):\n    pass\nundefined_name"})
    assert namespace == before


def test_uses_are_closed_under_calls_and_checked():
    chain = grading.load_solution(REFERENCES / "solutions" / "chain.ipynb")
    assert {t.grade_id: t.references for t in chain.tests} == {
        "test_words": (), "test_counts": ("words",), "test_top": ("words", "counts")}
    assert chain.references["words"] == ('def words(text):\n    """The distinct words of text, '
                                         'sorted."""\n    return sorted(set(text.split()))')
    hw1 = grading.load_solution(ROOT / "solutions" / "hw1_cooccurrence_svd.ipynb")
    assert {t.grade_id: t.references for t in hw1.tests if t.references} == {
        "test_compute_co_occurrence_matrix": ("distinct_words",),
        "test_reduce_to_k_dim": ("distinct_words", "compute_co_occurrence_matrix")}
    hw2 = grading.load_solution(ROOT / "solutions" / "hw2_word2vec.ipynb")
    assert {t.grade_id: t.references for t in hw2.tests if t.references} == {
        "test_neg_sampling": ("sigmoid",),
        "test_skipgram": ("sigmoid", "naive_softmax_loss_and_gradient",
                          "neg_sampling_loss_and_gradient")}
    # Graded: the grader's cells put the references in just before the test, and back after.
    nb, code_map, _ = grading.build_graded_notebook(chain.nb, chain, "S")
    assert [kind for kind, _ in code_map] == ["student", "test", "student", "swap", "test", "restore",
                                              "student", "swap", "test", "restore", "student"]
    swaps = [c.source for c in nb.cells if c.id.startswith("swap-")]
    assert "'words': 'def words(text)" in swaps[0] and "'counts': 'def counts(text)" in swaps[1]
    for cell_index, uses, problem in [(4, ["nothing_defines_this"], "which no answer cell defines"),
                                      (4, "words", "must be a list of function names"),
                                      (4, ["counts"], "defined in the answer this test grades"),
                                      (1, ["words"], "belongs on a test cell")]:
        nb = copy.deepcopy(chain.nb)
        nb.cells[cell_index].metadata["course"] = {"uses": uses}
        with pytest.raises(grading.AuthoringError, match=problem):
            grading.parse_solution(nb, "chain")


@pytest.mark.parametrize("path", [REFERENCES / "solutions" / "chain.ipynb", *SOLUTIONS],
                         ids=lambda p: p.stem)
def test_assignment_holds_no_reference_code(path):
    """The references come from the answer cells, which release stubs: not one line of their
    bodies, and no trace of the declared dependencies, reaches the students."""
    from utils.grading.markers import BEGIN_SOLUTION, END_SOLUTION, _region_lines

    solution = grading.load_solution(path)
    released = grading.make_assignment(solution)
    released_lines = {line.strip() for c in released.cells for line in c.source.splitlines()}
    assert solution.references
    for name, source in solution.references.items():
        (cell,) = [c for c in solution.nb.cells if c.cell_type == "code" and
                   "BEGIN SOLUTION" in c.source and source in
                   "\n".join(l for l in c.source.splitlines() if "SOLUTION" not in l)]
        inside, _ = _region_lines(cell.source, BEGIN_SOLUTION, END_SOLUTION)
        answer = [line.strip() for line in inside if line.strip()]
        assert answer and all(line in source for line in answer)
        assert not released_lines & set(answer), f"{name}: {released_lines & set(answer)}"
    assert all("course" not in c.metadata for c in released.cells)
    if path.parent == ROOT / "solutions":
        assert grading.find_leaks(solution, released) == []


@pytest.fixture(scope="module")
def chain_batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("chain")
    reports = grading.grade([REFERENCES / "solutions" / "chain.ipynb",
                             REFERENCES / "assignments" / "chain.ipynb", REFERENCES / "submissions"],
                            out, REFERENCES / "solutions", assignment="chain",
                            cell_timeout=10, timeout=NOTEBOOK_TIMEOUT, jobs=2)
    return {"out": out, "reports": {r.student: r for r in reports}}


def test_one_bug_costs_only_the_function_that_has_it(chain_batch):
    reports = chain_batch["reports"]
    assert _points(reports["solutions-chain"]) == {"test_words": 1, "test_counts": 2, "test_top": 3}
    assert _points(reports["assignments-chain"]) == {"test_words": 0, "test_counts": 0, "test_top": 0}
    assert _points(reports["broken_words"]) == {"test_words": 0, "test_counts": 2, "test_top": 3}
    assert _points(reports["broken_counts"]) == {"test_words": 1, "test_counts": 0, "test_top": 3}
    for student, report in reports.items():
        assert report.problems == [], report.to_markdown()
        # After the tests, the last cell calls `words` again: the student's own, not the
        # reference (the submissions assert it; the blank one's stub raises again).
        blank = student == "assignments-chain"
        assert report.cell_errors == ([
            'your cell `print("words here:", words("b a b"))`: failed (NotImplementedError)']
            if blank else []), report.to_markdown()


def test_report_says_which_tests_ran_with_reference_implementations(chain_batch):
    report = chain_batch["reports"]["broken_words"]
    assert _question(report, "test_words").references == []
    assert _question(report, "test_top").references == ["words", "counts"]
    markdown = (chain_batch["out"] / "broken_words.md").read_text()
    assert ("| `test_counts` | 2 / 2 | passed (ran with the reference implementation of `words`: "
            "a mistake in yours costs only its own test) |") in markdown
    assert "reference implementations of `words`, `counts`: a mistake in yours" in markdown
    data = json.loads((chain_batch["out"] / "broken_words.json").read_text())
    assert data["questions"][2]["references"] == ["words", "counts"]
    assert "ran with the reference implementation of `words`" in (
        chain_batch["out"] / "broken_words.html").read_text()


def _homework_submission(name: str, tmp_path: Path) -> Path:
    """A homework submission: the solution's answers, except the cells in the fixture patch."""
    patch = {c.id: c.source for c in grading.read_notebook(REFERENCES / f"{name}.ipynb").cells}
    homework = name.split("_", 1)[0]
    solution_path = next(p for p in SOLUTIONS if p.stem.startswith(homework))
    answered = runpy.run_path(str(FIXTURES / "make_fixtures.py"))["answered"]
    nb = answered(solution_path.stem, grading.read_notebook(solution_path), **patch)
    path = tmp_path / f"{name}.ipynb"
    path.write_text(grading.notebook_text(nb), encoding="utf-8")
    return path


@pytest.mark.parametrize("name, loses", [
    ("hw1_broken_distinct_words", {"test_distinct_words"}),
    ("hw2_wrong_sigmoid", {"test_sigmoid"}),
])
def test_homework_bug_costs_only_its_own_question(name, loses, tmp_path):
    """Homework 1: a broken distinct_words (which compute_co_occurrence_matrix calls, and
    reduce_to_k_dim's test through it); homework 2: a wrong sigmoid (which negative sampling
    and skip-gram's tests call). Without reference implementations these cost 7 and 13 points."""
    path = _homework_submission(name, tmp_path)
    solution = next(p for p in SOLUTIONS if p.stem.startswith(name.split("_", 1)[0]))
    missing = missing_datasets(str(solution))
    if missing:
        pytest.skip(f"needs {', '.join(missing)}: set WV_MIRROR to a data mirror (see README)")
    (report,) = grading.grade([path], tmp_path / "out", ROOT / "solutions", assignment=solution.stem,
                              cell_timeout=600, timeout=1800, jobs=1)
    lost = {q.grade_id for q in report.questions if q.points < q.possible}
    assert lost == loses, report.to_markdown()
    assert report.problems == [], report.to_markdown()
    assert any(q.references for q in report.questions if q.grade_id not in loses)
    # The student's later cells ran with their own (broken) function again.
    assert report.cell_errors or name == "hw2_wrong_sigmoid", report.to_markdown()


# --------------------------------------------------------------------------------------------
# Roster and the students' check
# --------------------------------------------------------------------------------------------

def test_roster_reports_missing_duplicate_and_unknown_submissions(tmp_path):
    subs = tmp_path / "subs"
    (subs / "bob").mkdir(parents=True)
    solution = (FIXTURE_SOLUTIONS / "toy.ipynb").read_bytes()
    (subs / "ann.ipynb").write_bytes(solution)
    (subs / "bob" / "hw.ipynb").write_bytes(solution)            # bob, by his folder
    (subs / "BOB.ipynb").write_bytes(solution)                   # bob again, newer
    os.utime(subs / "bob" / "hw.ipynb", (1, 1))
    (subs / "mallory.ipynb").write_bytes(solution)               # not on the roster
    roster = tmp_path / "roster.csv"
    roster.write_text("student,email\nann,a@x\nbob,b@x\ncarol,c@x\n")
    reports = {r.student: r for r in grading.grade(
        [subs], tmp_path / "out", FIXTURE_SOLUTIONS, assignment="toy", roster=roster,
        cell_timeout=CELL_TIMEOUT, timeout=NOTEBOOK_TIMEOUT, jobs=2)}
    assert set(reports) == {"ann", "bob", "carol", "mallory"}
    assert reports["carol"].problems == ["No submission received."] and reports["carol"].score == 0
    assert reports["carol"].possible == 6
    assert any("2 submissions for bob" in p and "hw.ipynb" in p for p in reports["bob"].problems)
    assert reports["bob"].submission.endswith("BOB.ipynb") and reports["bob"].score == 6
    assert any("Not on the roster" in p for p in reports["mallory"].problems)
    with open(tmp_path / "out" / "gradebook.csv", newline="") as f:
        assert {r["student"] for r in csv.DictReader(f)} == set(reports)
    bad = tmp_path / "twice.csv"
    bad.write_text("ann\nann\n")
    with pytest.raises(ValueError, match="more than once"):
        grading.read_roster(bad)


@pytest.mark.parametrize("submission, ok, says", [
    ("one_wrong", True, ["readable notebook", "assignment `toy`", "runs top to bottom",
                         "3 of 3 test cells pass", "hidden tests run only when"]),
    ("cell_raises", False, ["does not run top to bottom", "ZeroDivisionError", "2 of 3"]),
    ("malformed", False, ["not a readable notebook"]),
])
def test_student_check(submission, ok, says, capsys):
    status = grading.main(["check", str(FIXTURES / "submissions" / f"{submission}.ipynb"),
                           "--assignments", str(FIXTURES / "assignments"),
                           "--cell-timeout", str(CELL_TIMEOUT)])
    out = capsys.readouterr().out
    assert status == (0 if ok else 1), out
    for text in says:
        assert text in out, (text, out)


# --------------------------------------------------------------------------------------------
# Sandbox, limits and bounded time (tests/fixtures/grading/limits/)
# --------------------------------------------------------------------------------------------

LIMITS = FIXTURES / "limits"
SANDBOX = grading.find_sandbox("auto")
needs_bwrap = pytest.mark.skipif(
    not SANDBOX.used, reason=f"no sandbox on this machine ({SANDBOX.detail}); "
    "on Debian/Ubuntu: apt-get install bubblewrap")


def _grade_one(path, tmp_path, **options):
    solutions = grading.load_solutions(FIXTURE_SOLUTIONS)
    options.setdefault("cell_timeout", CELL_TIMEOUT)
    options.setdefault("timeout", NOTEBOOK_TIMEOUT)
    return grading.grade_submission(path, solutions, tmp_path / "out", assignment="toy", **options)


@pytest.fixture
def escape_watch(tmp_path, monkeypatch):
    """A port the submission tries to connect to, and a folder it tries to write in."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    connections, done = [], threading.Event()

    def accept():
        while not done.is_set():
            try:
                connections.append(server.accept())
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.setenv("GRADING_TEST_PORT", str(server.getsockname()[1]))
    monkeypatch.setenv("GRADING_ESCAPE_DIR", str(outside))
    yield {"connections": connections, "outside": outside}
    done.set()
    thread.join()
    server.close()


def test_without_a_sandbox_a_blank_submission_copies_the_solution(tmp_path, escape_watch):
    """What the sandbox prevents, shown on the grader's own machine (and said in the report)."""
    report = _grade_one(LIMITS / "reads_solutions.ipynb", tmp_path,
                        sandbox=grading.find_sandbox("none"))
    assert (report.score, report.possible) == (6, 6), report.to_markdown()
    assert not report.sandboxed and "NOT sandboxed" in report.to_markdown()
    assert (escape_watch["outside"] / "escaped.txt").exists()
    assert escape_watch["connections"]


@needs_bwrap
def test_sandbox_hides_solutions_network_and_files_outside(tmp_path, escape_watch):
    report = _grade_one(LIMITS / "reads_solutions.ipynb", tmp_path,
                        sandbox=grading.find_sandbox("bwrap"))
    assert (report.score, report.possible) == (0, 6), report.to_markdown()
    assert report.sandboxed and "sandboxed with bwrap" in report.to_markdown()
    assert list(escape_watch["outside"].iterdir()) == []
    assert escape_watch["connections"] == []


def test_sandbox_none_and_required(monkeypatch):
    assert grading.find_sandbox("none").used is False
    import utils.grading.sandbox as sandbox

    sandbox._bwrap_works.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    try:
        assert "apt-get install bubblewrap" in grading.find_sandbox("auto").detail
        with pytest.raises(grading.SandboxUnavailable, match="bwrap"):
            grading.find_sandbox("bwrap")
    finally:
        sandbox._bwrap_works.cache_clear()


def test_memory_limit_turns_a_huge_allocation_into_a_failed_test(tmp_path):
    report = _grade_one(LIMITS / "hogs_memory.ipynb", tmp_path,
                        limits=grading.Limits(cpu_seconds=0, memory_mb=4096))
    assert _points(report) == {"test_add": 1, "test_mean": 0, "test_norm": 3}
    assert "MemoryError" in _question(report, "test_mean").message
    assert "4,096 MiB" in report.limits


def test_cpu_time_limit_stops_the_kernel(tmp_path):
    report = _grade_one(LIMITS / "burns_cpu.ipynb", tmp_path, cell_timeout=60,
                        limits=grading.Limits(cpu_seconds=8, memory_mb=0))
    assert _points(report) == {"test_add": 1, "test_mean": 0, "test_norm": 0}
    assert "CPU-time limit" in _question(report, "test_mean").message, report.to_markdown()
    assert report.seconds < 40


def test_after_a_timeout_later_cells_fail_fast(tmp_path):
    report = _grade_one(LIMITS / "loop_everywhere.ipynb", tmp_path, after_timeout=0.5)
    assert [q.status for q in report.questions] == ["timeout"] * 3
    assert _question(report, "test_add").message.startswith("exceeded the 3 s")
    for grade_id in ("test_mean", "test_norm"):
        assert _question(report, grade_id).message.startswith("stopped after 0.5 s: an earlier cell")
    # Without fast failing, three cells wait 3 s each; with it, 3 + 2 x 0.5.
    assert report.seconds < 3 * CELL_TIMEOUT + 4


def test_jobs_default_to_the_cores(capsys):
    assert grading.default_jobs() == len(os.sched_getaffinity(0))
    with pytest.raises(SystemExit):
        grading.main(["grade", "--help"])
    assert f"the {grading.default_jobs()} CPU cores" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# End to end on the real homework
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_homework_solution_gets_full_marks_and_its_assignment_none(solution, tmp_path):
    missing = missing_datasets(str(solution))
    if missing:
        pytest.skip(f"needs {', '.join(missing)}: set WV_MIRROR to a data mirror (see README)")
    fresh = tmp_path / "fresh" / solution.name  # the assignment as released now
    fresh.parent.mkdir()
    fresh.write_text(grading.notebook_text(grading.make_assignment(grading.load_solution(solution))))
    full, blank = grading.grade([solution, fresh], tmp_path / "out", ROOT / "solutions",
                                assignment=solution.stem, cell_timeout=600, timeout=1800, jobs=2)
    assert full.possible > 0, f"{solution.name} has no autograded test cells"
    assert full.score == full.possible, full.to_markdown()
    assert full.problems == [], full.to_markdown()
    assert blank.score == 0, blank.to_markdown()


def test_odd_cells_are_plain_cells_not_crashes():
    odd = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": {"course": 3},
                              "cells": [{"cell_type": "code", "metadata": [], "source": 5},
                                        {"cell_type": "weird", "source": ["a", 1]},
                                        {"cell_type": "code", "id": 7, "source": "x = 1",
                                         "metadata": {"nbgrader": "yes", "tags": "test:x:1"}}]})
    toy = _toy()
    assert grading.identify(odd, {"toy": toy}) == (
        None, grading.identify(nbformat.v4.new_notebook(), {"toy": toy})[1])
    nb, code_map, problems = grading.build_graded_notebook(odd, toy, "S")
    assert [info for kind, info in code_map if kind == "test"] == ["test_add", "test_mean", "test_norm"]
    assert len(problems) == 4  # each test cell was missing and was put back; setup missing
