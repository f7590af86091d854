"""Hand grading: written answers collected per question, scores taken back, merged into the
reports and the gradebook.

    python -m utils.grading grade SUBMISSIONS --out OUT    # auto-graded tests, reports
    python -m utils.grading manual OUT                     # OUT/manual.html + OUT/manual.csv
    ... the grader reads manual.html and fills in manual.csv (points, comment) ...
    python -m utils.grading merge OUT                      # reports and gradebook with totals

``manual.html`` has one section per written answer: the question's points, the model answer,
then every student's answer. ``manual.csv`` has one row per (question, student) with empty
``points``; running ``manual`` again keeps what was filled in and adds rows for new
submissions. ``merge`` checks every row (a number between 0 and the answer's points, a known
student and question) and refuses with the list of problems otherwise. ``grade`` merges
``manual.csv`` by itself when it exists, so regrading a student keeps their hand-graded points.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path

from .markers import ANSWER_STUB, Solution, _source, read_notebook
from .reports import Report, _num, load_reports, write_gradebook

MANUAL_CSV = "manual.csv"
MANUAL_HTML = "manual.html"
CSV_COLUMNS = ["question", "student", "assignment", "possible", "points", "comment"]


class ManualScoresError(ValueError):
    """manual.csv has rows that cannot be merged; the message lists each one."""


def _submission(report: Report):
    try:
        return read_notebook(Path(report.submission))
    except Exception:
        return None


def student_answers(nb, solution: Solution) -> dict[str, str | None]:
    """grade_id -> the student's text for each written answer (None: the cell is missing)."""
    from .grader import _cell_key

    wanted = {m.grade_id for m in solution.manual}
    answers: dict[str, str | None] = {g: None for g in wanted}
    for cell in (nb.get("cells", []) if nb is not None else []):
        if isinstance(cell, dict):
            key = _cell_key(cell)
            if key in wanted and answers[key] is None:
                answers[key] = _source(cell)
    return answers


def write_report(out_dir: Path, report: Report) -> None:
    """STUDENT.md, STUDENT.json and STUDENT.html (the notebook with the feedback inline)."""
    import json

    from utils.data import atomic_write

    out_dir = Path(out_dir)
    files = {".md": report.to_markdown(), ".json": json.dumps(report.to_dict(), indent=2) + "\n",
             ".html": report.to_html(_submission(report))}
    for suffix, text in files.items():
        with atomic_write(out_dir / f"{report.student}{suffix}") as tmp:
            tmp.write_text(text, encoding="utf-8")


def collect(out_dir: Path, solutions: dict[str, Solution]) -> tuple[Path, Path]:
    """Write OUT/manual.html and OUT/manual.csv from the reports in OUT; return their paths."""
    from nbconvert.filters import markdown2html

    from utils.data import atomic_write

    out_dir = Path(out_dir)
    reports = [r for r in load_reports(out_dir) if r.assignment in solutions]
    if not reports:
        raise ManualScoresError(f"no graded reports in {out_dir}: run `grade ... --out {out_dir}` first")
    old = _read_rows(out_dir / MANUAL_CSV) if (out_dir / MANUAL_CSV).exists() else {}
    rows, sections = [], []
    for name in sorted({r.assignment for r in reports}):
        solution = solutions[name]
        group = [r for r in reports if r.assignment == name]
        answers = {r.student: student_answers(_submission(r), solution) for r in group}
        cells = {role.grade_id: cell for role, cell in zip(solution.roles, solution.nb.cells) if role}
        question_text = _question_texts(solution)
        for manual in solution.manual:
            gid = manual.grade_id
            sections.append(f'<h2 id="{html.escape(gid)}">{html.escape(name)}: '
                            f"<code>{html.escape(gid)}</code> ({_num(manual.points)} points)</h2>")
            if question_text.get(gid):
                sections.append(f'<div class="question">{markdown2html(question_text[gid])}</div>')
            sections.append("<h3>Model answer</h3>"
                            f'<div class="model">{markdown2html(_source(cells[gid]))}</div>')
            sections.append("<h3>Answers</h3><table><tr><th>student</th><th>answer</th></tr>")
            for report in group:
                text = answers[report.student].get(gid)
                shown = ("<i>(no such cell: deleted)</i>" if text is None else
                         "<i>(not answered)</i>" if text.strip() in ("", ANSWER_STUB) else
                         markdown2html(text))
                sections.append(f"<tr><td>{html.escape(report.student)}</td><td>{shown}</td></tr>")
                previous = old.get((gid, report.student), {})
                rows.append({"question": gid, "student": report.student, "assignment": name,
                             "possible": _num(manual.points),
                             "points": previous.get("points", ""),
                             "comment": previous.get("comment", "")})
            sections.append("</table>")
    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Written answers</title>"
            f"<style>{_CSS}</style></head><body>\n<h1>Written answers, per question</h1>\n"
            f"<p>Score them in <code>{MANUAL_CSV}</code> (points, comment), then run "
            f"<code>python -m utils.grading merge {html.escape(str(out_dir))}</code>.</p>\n"
            + "\n".join(sections) + "\n</body></html>\n")
    with atomic_write(out_dir / MANUAL_HTML) as tmp:
        tmp.write_text(page, encoding="utf-8")
    with atomic_write(out_dir / MANUAL_CSV) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    return out_dir / MANUAL_HTML, out_dir / MANUAL_CSV


_CSS = ("body{font-family:sans-serif;max-width:70em;margin:2em auto;line-height:1.4}"
        "td,th{border:1px solid #ccc;padding:.4em;vertical-align:top}table{border-collapse:collapse;width:100%}"
        ".model{background:#eef6ee;padding:.5em}.question{background:#f3f3f3;padding:.5em}")


def _question_texts(solution: Solution) -> dict[str, str]:
    """Per written answer, the Markdown cell just before it (its question)."""
    texts, previous = {}, ""
    for role, cell in zip(solution.roles, solution.nb.cells):
        if role is not None and role.kind == "answer":
            texts[role.grade_id] = previous
        if cell.get("cell_type") == "markdown" and role is None:
            previous = _source(cell)
    return texts


def _read_rows(path: Path) -> dict[tuple[str, str], dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return {(row.get("question", ""), row.get("student", "")): row for row in csv.DictReader(f)}


def read_scores(path: Path, reports: list[Report], solutions: dict[str, Solution]
                ) -> dict[tuple[str, str], tuple[float | None, str]]:
    """(student, grade_id) -> (points or None if blank, comment); ManualScoresError lists
    every row that is wrong."""
    possible = {(r.student, m["grade_id"]): m["possible"] for r in reports for m in r.manual}
    scores, problems = {}, []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"question", "student", "points"} - set(reader.fieldnames or [])
        if missing:
            raise ManualScoresError(f"{path}: no column {', '.join(sorted(missing))} "
                                    f"(expected {', '.join(CSV_COLUMNS)})")
        for line, row in enumerate(reader, start=2):
            key = (row["student"].strip(), row["question"].strip())
            where = f"{path.name} line {line} ({key[0]}, {key[1]})"
            if key not in possible:
                problems.append(f"{where}: no such student or written answer in the reports")
                continue
            text = (row.get("points") or "").strip()
            if not text:
                scores[key] = (None, (row.get("comment") or "").strip())
                continue
            try:
                points = float(text)
            except ValueError:
                problems.append(f"{where}: points {text!r} is not a number")
                continue
            if not 0 <= points <= possible[key]:
                problems.append(f"{where}: points {text} outside 0..{_num(possible[key])}")
                continue
            scores[key] = (points, (row.get("comment") or "").strip())
    if problems:
        raise ManualScoresError("cannot merge the hand-graded scores:\n"
                                + "\n".join(f"- {p}" for p in problems))
    return scores


def finish(out_dir: Path, solutions: dict[str, Solution]) -> list[Report]:
    """Merge OUT/manual.csv (if any) into every report in OUT, rewrite the reports that
    change, and write gradebook.csv from all of them (earlier runs included)."""
    out_dir = Path(out_dir)
    reports = load_reports(out_dir)
    changed = set()
    csv_path = out_dir / MANUAL_CSV
    scores = read_scores(csv_path, reports, solutions) if csv_path.exists() else {}
    for report in reports:
        for m in report.manual:
            points, comment = scores.get((report.student, m["grade_id"]), (None, ""))
            if (points, comment) != (m.get("points"), m.get("comment", "")):
                m["points"], m["comment"] = points, comment
                changed.add(report.student)
    for report in reports:
        if report.student in changed:
            write_report(out_dir, report)
    write_gradebook(reports, out_dir / "gradebook.csv", solutions)
    return reports
