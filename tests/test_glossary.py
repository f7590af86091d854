"""docs/glossary.md: every English term it lists occurs in a notebook (the rule is stated in the doc).

A term belongs to a lecture (its "lecture" column). It must occur in the text (markdown and
code) of some notebook in lectures/ or solutions/. Only while that lecture's notebook does
not exist yet is the term checked against the course syllabus instead (../shared/SYLLABUS.md
beside the repository, as CI has it); without the syllabus those terms are reported, not passed.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "glossary.md"
SYLLABUS = ROOT.parent / "shared" / "SYLLABUS.md"


def glossary_terms() -> list[tuple[str, str, str]]:
    """(English term, Chinese term, lecture) for each row of the glossary's Terms table."""
    text = GLOSSARY.read_text(encoding="utf-8")
    table = text.split("## Terms", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"0[1-8]", cells[2]):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def term_pattern(term: str) -> re.Pattern:
    """The term before any parenthesis; a hyphen (or en dash) matches a space; plurals match."""
    words = re.split(r"[\s\-–]+", term.split(" (")[0].strip())
    last = re.escape(words[-1])
    last = rf"(?:{last}|{last[:-1]}ies)" if words[-1].endswith("y") else rf"{last}(?:s|es)?"
    body = r"[\s\-–]*".join([re.escape(word) for word in words[:-1]] + [last])
    return re.compile(rf"(?<![\w]){body}(?![\w])", re.IGNORECASE)


def notebook_text() -> str:
    parts = []
    for path in sorted((ROOT / "lectures").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb")):
        parts += [cell.source for cell in nbformat.read(path, as_version=4).cells]
    return "\n".join(parts)


def lecture_exists(lecture: str) -> bool:
    return any((ROOT / "lectures").glob(f"{lecture}_*.ipynb"))


def test_glossary_has_terms_in_both_languages():
    rows = glossary_terms()
    assert len(rows) > 60
    english = [row[0] for row in rows]
    assert len(english) == len(set(english)), "a term is listed twice"
    for term, chinese, _ in rows:
        assert chinese, f"{term!r} has no Chinese column"
    for lecture in (f"{n:02d}" for n in range(1, 9)):
        assert re.search(rf"^### {lecture} · .+ · .+$", GLOSSARY.read_text(encoding="utf-8"), re.M), \
            f"lecture {lecture} has no bilingual title section"


def test_every_glossary_term_occurs_in_a_notebook(capsys):
    text = notebook_text()
    syllabus = SYLLABUS.read_text(encoding="utf-8") if SYLLABUS.exists() else None
    missing, by_syllabus, unchecked = [], [], []
    for term, _, lecture in glossary_terms():
        pattern = term_pattern(term)
        if pattern.search(text):
            continue
        if lecture_exists(lecture):
            missing.append(f"{term} (lecture {lecture})")
        elif syllabus is not None and pattern.search(syllabus):
            by_syllabus.append(term)
        elif syllabus is None:
            unchecked.append(term)
        else:
            missing.append(f"{term} (lecture {lecture} not written yet, and not in the syllabus either)")
    assert not missing, f"glossary terms found in no notebook: {missing}"
    with capsys.disabled():
        if by_syllabus:
            print(f"\nglossary: {len(by_syllabus)} terms of lectures not yet written checked against the syllabus: "
                  + ", ".join(by_syllabus))
    if unchecked:
        pytest.skip(f"no syllabus beside the repo to check {len(unchecked)} terms of unwritten lectures: {unchecked}")


def test_readme_links_the_glossary_and_the_chinese_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "README.zh-CN.md" in readme and "docs/glossary.md" in readme
    chinese = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "make course" in chinese and "make test" in chinese and "docs/glossary.md" in chinese
