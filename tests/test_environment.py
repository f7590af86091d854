"""The two dependency lists (pyproject.toml for pip, environment.yml for conda) must agree."""

from pathlib import Path
import re
import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    return set(project["dependencies"]) | {req for reqs in extras.values() for req in reqs}


def _environment_pip_requirements() -> set[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"\s*- pip:\s*$", line))
    reqs = set()
    for line in lines[start + 1:]:
        match = re.match(r"\s+- (.+?)\s*$", line)
        if not match:
            break
        reqs.add(match.group(1))
    reqs.discard("-e .")
    return reqs


def test_environment_yml_matches_pyproject():
    in_pyproject, in_environment = _pyproject_requirements(), _environment_pip_requirements()
    assert in_pyproject == in_environment, (
        f"only in pyproject.toml: {sorted(in_pyproject - in_environment)}; "
        f"only in environment.yml: {sorted(in_environment - in_pyproject)}"
    )


def test_environment_pins_python_311():
    assert re.search(r"^\s+- python=3\.11\s*$", (ROOT / "environment.yml").read_text(), re.M)


def test_version_is_exposed():
    import utils

    assert re.fullmatch(r"\d+\.\d+\.\d+", utils.__version__)
