"""Reference implementations: a test cell graded against the solution's versions of the
functions it depends on, so that one bug costs only the points of the function that has it.

A test cell declares what it calls besides the function it grades, in its cell metadata::

    "course": {"uses": ["distinct_words"]}

At grading, and only then, the grader runs a cell just before that test which binds the
solution's definitions of those names (taken from the solution's answer cells; never in the
assignment) in the kernel's namespace, and a cell just after it which puts the student's
objects back, so the student's later cells use their own code again. The set is closed
under calls: a reference that calls another answer's function (the reference
``compute_co_occurrence_matrix`` calls ``distinct_words``) brings that one too. Names are
swapped in the namespace, so whatever captured the student's function earlier (a default
argument, an alias, a closure) keeps it: tests pass the functions they need explicitly.

Three times, three kinds of function here: when a solution is parsed (``definitions``,
``closure``), when the graded notebook is built (``swap_in_source``, ``restore_source``),
and inside the kernel (``swap_in``, ``restore``).
"""

from __future__ import annotations

import ast
import re
from typing import Iterable

# The metadata key, under a test cell's "course" metadata.
USES_KEY = "uses"
_MARKER_LINE = re.compile(r"^[ \t]*#+[ \t]*(?:BEGIN|END) SOLUTION[ \t]*$")


def _parse(text: str) -> ast.Module | None:
    """The cell's code as Python (IPython magics translated), or None if it does not parse."""
    try:
        return ast.parse(text)
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(text))
    except Exception:
        return None


def definitions(cells: Iterable[tuple[int, str]]) -> tuple[dict[str, tuple[int, str]], set[str]]:
    """The top-level functions and classes of answer cells.

    ``cells``: (cell index, source) of each code answer cell. Returns ({name: (cell index,
    source of the definition, decorators included, marker lines dropped)}, names defined in
    more than one answer cell)."""
    found: dict[str, tuple[int, str]] = {}
    repeated: set[str] = set()
    for index, text in cells:
        tree = _parse(text)
        if tree is None:
            continue
        lines = text.splitlines()
        for node in tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            source = "\n".join(line for line in lines[first - 1:node.end_lineno]
                               if not _MARKER_LINE.match(line))
            if node.name in found and found[node.name][0] != index:
                repeated.add(node.name)
            found[node.name] = (index, source)
    return found, repeated


def _names_used(source: str) -> set[str]:
    tree = _parse(source)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} if tree else set()


def closure(uses: Iterable[str], found: dict[str, tuple[int, str]]) -> list[str]:
    """``uses`` and every answer function their references call, in solution order."""
    wanted, todo = set(), list(uses)
    while todo:
        name = todo.pop()
        if name in wanted or name not in found:
            continue
        wanted.add(name)
        todo += [n for n in _names_used(found[name][1]) if n in found and n not in wanted]
    return sorted(wanted, key=lambda n: (found[n][0], n))


def declared_uses(metadata, where: str, problems: list[str]) -> list[str]:
    """A cell's ``course.uses``: a list of names (problems appended when it is malformed)."""
    course = metadata.get("course") if isinstance(metadata, dict) else None
    uses = course.get(USES_KEY) if isinstance(course, dict) else None
    if uses is None:
        return []
    if not isinstance(uses, list) or not all(isinstance(u, str) and u.isidentifier()
                                             for u in uses):
        problems.append(f"{where}: course.{USES_KEY} must be a list of function names, "
                        f"not {uses!r}")
        return []
    return list(uses)


# --------------------------------------------------------------------------------------------
# The grader's cells around a test
# --------------------------------------------------------------------------------------------

_MODULE = __name__


def swap_in_source(references: dict[str, str]) -> str:
    """The cell run just before a test: bind the reference definitions (name -> source)."""
    return (f"# grading: the reference {', '.join(references)} for the next test only\n"
            f"__import__({_MODULE!r}, fromlist=['swap_in']).swap_in(globals(), {references!r})\n")


def restore_source() -> str:
    """The cell run just after the test: the student's objects back."""
    return f"__import__({_MODULE!r}, fromlist=['restore']).restore(globals())\n"


# --------------------------------------------------------------------------------------------
# Inside the kernel
# --------------------------------------------------------------------------------------------

_UNSET = object()
_saved: list[dict[str, object]] = []


def swap_in(namespace: dict, references: dict[str, str]) -> None:
    """Bind each reference definition in ``namespace``, remembering what was there."""
    _saved.append({name: namespace.get(name, _UNSET) for name in references})
    try:
        for name, source in references.items():
            exec(compile(source, f"<reference implementation of {name}>", "exec"), namespace)
    except BaseException:
        restore(namespace)
        raise


def restore(namespace: dict) -> None:
    """Undo the latest ``swap_in``: the student's objects (or their absence) come back."""
    if not _saved:
        return
    for name, value in _saved.pop().items():
        if value is _UNSET:
            namespace.pop(name, None)
        else:
            namespace[name] = value
