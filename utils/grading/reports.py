"""Grade reports (Markdown, JSON and HTML per student) and the gradebook.

A report holds the auto-graded tests (``questions``) and the written answers graded by hand
(``manual``: one entry per answer, ``points`` None until a grader has scored it). Totals:
``score`` / ``possible`` are the tests, ``manual_score`` / ``manual_possible`` the written
answers, ``total`` / ``total_possible`` both: the points the notebook advertises.
"""

from __future__ import annotations

import csv
import html
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .markers import Solution, _source


@dataclass
class Question:
    grade_id: str
    points: float
    possible: float
    status: str            # passed | failed | timeout | error | not run
    message: str = ""
    # functions of other answers this test ran with the solution's versions of
    references: list[str] = field(default_factory=list)

    def result(self) -> str:
        """The result in words: status, message, and the reference implementations used."""
        text = self.status + (f": {self.message}" if self.message else "")
        if self.references:
            names = ", ".join(f"`{n}`" for n in self.references)
            many = len(self.references) > 1
            text += (f" (ran with the reference implementation{'s' if many else ''} of {names}: "
                     f"a mistake in yours costs only {'their' if many else 'its'} own "
                     f"test{'s' if many else ''})")
        return text


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
    sandboxed: bool = False                               # did the kernel run in a sandbox?
    sandbox: str = ""                                     # how, or why not, in words
    limits: str = ""                                      # CPU time and memory it was given

    @property
    def score(self) -> float:
        return sum(q.points for q in self.questions)

    @property
    def possible(self) -> float:
        return sum(q.possible for q in self.questions)

    @property
    def manual_score(self) -> float:
        return sum(m.get("points") or 0.0 for m in self.manual)

    @property
    def manual_possible(self) -> float:
        return sum(m["possible"] for m in self.manual)

    @property
    def pending(self) -> list[str]:
        """Written answers not graded by hand yet."""
        return [m["grade_id"] for m in self.manual if m.get("points") is None]

    @property
    def total(self) -> float:
        return self.score + self.manual_score

    @property
    def total_possible(self) -> float:
        return self.possible + self.manual_possible

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(score=self.score, possible=self.possible, manual_score=self.manual_score,
                    manual_possible=self.manual_possible, total=self.total,
                    total_possible=self.total_possible, pending=self.pending)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        fields = {f for f in cls.__dataclass_fields__}
        report = cls(**{k: v for k, v in data.items() if k in fields and k != "questions"})
        report.questions = [Question(**q) for q in data.get("questions", [])]
        return report

    def score_lines(self) -> list[str]:
        lines = [f"**Score: {_num(self.score)} / {_num(self.possible)}** (auto-graded tests)"]
        if self.manual:
            if self.pending:
                lines[0] += (f"; written answers: {_num(self.manual_score)} / "
                             f"{_num(self.manual_possible)} so far, {len(self.pending)} not "
                             "graded yet")
            else:
                lines[0] += (f"; written answers: {_num(self.manual_score)} / "
                             f"{_num(self.manual_possible)}; **total: {_num(self.total)} / "
                             f"{_num(self.total_possible)}**")
        return lines

    def to_markdown(self) -> str:
        title = f"# Grade report: {self.student}"
        if self.assignment:
            title += f" ({self.assignment})"
        lines = [title, "", *self.score_lines(), ""]
        if self.sandbox:
            note = f"Graded {self.sandbox}" + (f"; limits: {self.limits}" if self.limits else "")
            lines += [(f"*{note}.*" if self.sandboxed else f"**Warning: {note}.**"), ""]
        if self.problems:
            lines += ["## Problems with this submission", ""]
            lines += [f"- {p}" for p in self.problems] + [""]
        if self.questions:
            lines += ["| Question | Points | Result |", "|---|---:|---|"]
            for q in self.questions:
                result = q.result().replace("|", "\\|").replace("\n", " ")
                lines.append(f"| `{q.grade_id}` | {_num(q.points)} / {_num(q.possible)} | {result} |")
            lines.append("")
        if self.cell_errors:
            lines += ["## Errors in your own cells", ""]
            lines += [f"- {e}" for e in self.cell_errors] + [""]
        if self.manual:
            lines += ["## Written answers, graded by hand", "",
                      "| Answer | Points | Comment |", "|---|---:|---|"]
            for m in self.manual:
                points = ("not graded yet" if m.get("points") is None else
                          f"{_num(m['points'])} / {_num(m['possible'])}")
                if m.get("points") is None:
                    points += f" (of {_num(m['possible'])})"
                comment = str(m.get("comment") or "").replace("|", "\\|").replace("\n", " ")
                lines.append(f"| `{m['grade_id']}` | {points} | {comment} |")
            lines.append("")
        return "\n".join(lines)

    def to_html(self, notebook=None) -> str:
        """The report as a page: the summary, then the student's own notebook with the
        feedback of each test and written answer under its cell."""
        from nbconvert.filters import markdown2html

        feedback = {q.grade_id: f"{_num(q.points)} / {_num(q.possible)}: {q.result()}"
                    for q in self.questions}
        for m in self.manual:
            feedback[m["grade_id"]] = (
                "not graded yet" if m.get("points") is None else
                f"{_num(m['points'])} / {_num(m['possible'])}"
                + (f": {m['comment']}" if m.get("comment") else ""))
        body = [markdown2html(self.to_markdown())]
        if notebook is not None:
            body.append("<h2>Your notebook, with feedback</h2>")
            from .markers import cell_role

            for cell in notebook.get("cells", []):
                if not isinstance(cell, dict):
                    continue
                source = _source(cell)
                if cell.get("cell_type") == "markdown":
                    body.append(f'<div class="md">{markdown2html(source)}</div>')
                else:
                    body.append(f"<pre>{html.escape(source)}</pre>")
                metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
                meta = metadata.get("nbgrader") if isinstance(metadata.get("nbgrader"), dict) else {}
                role = None if meta.get("grade_id") else cell_role(cell)
                key = meta.get("grade_id") or (role.grade_id if role else cell.get("id"))
                if key in feedback:
                    body.append(f'<div class="feedback"><b>{html.escape(str(key))}</b>: '
                                f"{html.escape(feedback[key])}</div>")
        title = html.escape(f"Grade report: {self.student}")
        return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\n"
                f"<style>{_CSS}</style>\n{_MATHJAX}</head><body>\n" + "\n".join(body)
                + "\n</body></html>\n")


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


_CSS = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
        "pre{background:#f6f6f6;padding:.6em;overflow-x:auto}"
        ".feedback{border-left:4px solid #c60;background:#fff6ec;padding:.4em .8em;margin:.2em 0 1.2em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}")
_MATHJAX = ('<script>window.MathJax={tex:{inlineMath:[["$","$"]]}};</script>'
            '<script async src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>')


def load_reports(out_dir: Path) -> list[Report]:
    """Every STUDENT.json in out_dir (earlier runs included), sorted by student."""
    reports = []
    for path in sorted(Path(out_dir).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(data, dict) and "student" in data and "questions" in data:
            reports.append(Report.from_dict(data))
    return reports


def write_gradebook(reports: list[Report], path: Path, solutions: dict[str, Solution]) -> None:
    """One row per report: points per test and per written answer, then the auto, manual and
    overall totals, ``possible`` (what the notebook advertises) and ``pending`` (answers not
    graded by hand yet)."""
    tests: list[str] = []
    answers: list[str] = []
    for report in reports:
        solution = solutions.get(report.assignment)
        ids = [t.grade_id for t in solution.tests] if solution else [q.grade_id for q in report.questions]
        tests += [i for i in ids if i not in tests]
        ids = [m.grade_id for m in solution.manual] if solution else [m["grade_id"] for m in report.manual]
        answers += [i for i in ids if i not in answers]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", *tests, *answers, "auto", "manual", "total",
                         "possible", "pending"])
        for report in reports:
            earned = {q.grade_id: _num(q.points) for q in report.questions}
            earned.update({m["grade_id"]: _num(m["points"]) for m in report.manual
                           if m.get("points") is not None})
            writer.writerow([report.student, report.assignment or "",
                             *[earned.get(c, "") for c in tests + answers],
                             _num(report.score), _num(report.manual_score), _num(report.total),
                             _num(report.total_possible), len(report.pending)])

