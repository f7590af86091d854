"""Grade reports (Markdown and JSON per student) and the gradebook."""

from __future__ import annotations

import csv
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

