"""pytest plugin for the course's notebook checks (loaded by pyproject.toml's `-p utils.pytest_plugin`).

Skip a notebook whose data is not reachable offline, rather than fail it.

A notebook lists what it needs beyond the embedded data in its metadata, e.g.
    "metadata": {"course": {"requires": ["reuters"]}}
Without those datasets (no $WV_MIRROR, nothing cached, no network) every cell of that
notebook is reported as skipped, with the missing names in the reason. CI points
$WV_MIRROR at the offline mirror, so there nothing is skipped. Being a plugin rather than
a tests/conftest.py, it also applies when a single notebook is checked on its own
(`pytest solutions/hw1_cooccurrence_svd.ipynb`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest


@lru_cache(maxsize=None)
def missing_datasets(notebook_path: str) -> tuple[str, ...]:
    """Names in the notebook's metadata.course.requires that cannot be reached offline."""
    from utils import data

    metadata = json.loads(Path(notebook_path).read_text(encoding="utf-8")).get("metadata", {})
    required = metadata.get("course", {}).get("requires", [])
    return tuple(name for name in required if not data.available(name))


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = str(item.path)
        if path.endswith(".ipynb"):
            missing = missing_datasets(path)
            if missing:
                item.add_marker(pytest.mark.skip(
                    reason=f"needs {', '.join(missing)}: set WV_MIRROR to a data mirror (see README)"))
