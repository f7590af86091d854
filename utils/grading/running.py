"""Running a graded notebook: nbval in a subprocess, one fresh kernel, time limits, a
record per cell written as soon as the cell finishes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from .release import notebook_text
from .reports import _first_lines


ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CELL_TIMEOUT = 300.0
DEFAULT_TIMEOUT = 1800.0

class KernelDied(RuntimeError):
    """The kernel process exited while a cell was running."""


class _Recorder:
    """pytest plugin for the grading subprocess: one JSON line per notebook cell, written
    as soon as the cell finishes (so a run killed at the time limit keeps what it had)."""

    def __init__(self, results: str, sentinel: str):
        self.results = open(results, "a", encoding="utf-8")
        self.sentinel = sentinel

    def pytest_configure(self, config):
        _patch_nbval_kernel_watch()

    def pytest_unconfigure(self, config):
        self.results.close()

    def _write(self, record: dict) -> None:
        self.results.write(json.dumps(record) + "\n")
        self.results.flush()

    def pytest_collection_finish(self, session):
        self._write({"collected": len(session.items)})

    def pytest_runtest_makereport(self, item, call):
        # Called for setup, call and teardown; record the call, or a setup that failed.
        if call.when == "teardown" or (call.when == "setup" and call.excinfo is None):
            return None
        exc = call.excinfo.value if call.excinfo is not None else None
        outputs = getattr(item, "test_outputs", None) or []
        shown = "".join(str((o.get("data") or {}).get("text/plain", "")) for o in outputs)
        error = next((o for o in outputs if o.get("output_type") == "error"), None)
        record = {
            "cell": getattr(item, "cell_num", None),
            "when": call.when,
            "ok": exc is None,
            "skipped": exc is not None and call.excinfo.typename in ("Skipped", "XFailed"),
            "message": str(exc) if exc is not None else "",
            "exception": call.excinfo.typename if exc is not None else "",
            "ename": error.get("ename", "") if error else "",
            "evalue": error.get("evalue", "") if error else "",
            "traceback": _first_lines("\n".join(error.get("traceback", [])), 40, 4000)
            if error else "",
            "sentinel": self.sentinel in shown,
            "seconds": round(call.duration, 3),
        }
        self._write(record)
        return None


def _patch_nbval_kernel_watch() -> None:
    """Make nbval notice a dead kernel within a second instead of waiting out the cell's
    time limit. nbval polls the shell channel for the whole limit in one call; poll in short
    slices and check the kernel process between them."""
    from queue import Empty

    try:
        from nbval.kernel import RunningKernel
    except ImportError:  # pragma: no cover - nbval missing: the run fails with a clear error
        return

    def await_reply(self, msg_id, timeout=None):
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        while True:
            step = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            try:
                msg = self.get_message(stream="shell", timeout=step)
            except Empty:
                if not self.is_alive():
                    try:  # release its channels, or pytest waits for them at exit
                        self.stop()
                    except Exception:
                        pass
                    raise KernelDied("the kernel died (its process exited) while running this cell")
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                if msg["content"]["status"] == "aborted":
                    raise RuntimeError("Kernel aborted execution request")
                return

    RunningKernel.await_reply = await_reply


def _run_nbval(argv: list[str]) -> int:
    """Entry point of the grading subprocess: RESULTS SENTINEL -- PYTEST ARGS."""
    import pytest

    results, sentinel, separator, *pytest_args = argv
    assert separator == "--"
    return int(pytest.main(pytest_args, plugins=[_Recorder(results, sentinel)]))


def _kill_tree(process: subprocess.Popen) -> None:
    """Kill the pytest process and everything it started (the kernel has its own session)."""
    try:
        import psutil

        try:
            children = psutil.Process(process.pid).children(recursive=True)
        except psutil.Error:
            children = []
        for child in children:
            try:
                child.kill()
            except psutil.Error:
                pass
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        pass
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()
    process.wait()


def _run_notebook(nb: nbformat.NotebookNode, work: Path, sentinel: str, cell_timeout: float,
                  timeout: float) -> tuple[list[dict], bool, str]:
    """Run nb under nbval in ``work``; return (records, hit the time limit, log tail)."""
    nb_path = work / "graded.ipynb"
    nb_path.write_text(notebook_text(nb), encoding="utf-8")
    (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    results = work / "results.jsonl"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "JPY_PARENT_PID")}
    env.update(
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
        IPYTHONDIR=str(work / "ipython"), JUPYTER_RUNTIME_DIR=str(work / "runtime"),
        MPLCONFIGDIR=str(work.parent / "matplotlib"), PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    # nbformat -> jsonschema imports rfc3987_syntax if it is installed, which builds a parser
    # for seconds at import time; nbformat's schema has no IRI formats, so skip it here.
    bootstrap = ("import sys; sys.modules['rfc3987_syntax'] = None; "
                 "from utils.grading.running import _run_nbval; sys.exit(_run_nbval(sys.argv[1:]))")
    command = [sys.executable, "-c", bootstrap, str(results), sentinel, "--",
               str(nb_path), "-c", str(work / "pytest.ini"), "--rootdir", str(work),
               "-p", "nbval.plugin", "-p", "no:cacheprovider", "-p", "no:stepwise",
               "--nbval-lax", "--nbval-current-env", f"--nbval-cell-timeout={cell_timeout:g}",
               "-q", "--no-header", "-rN", "--color=no"]
    log_path = work / "pytest.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=work, env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            process.wait(timeout=timeout)
            limit_hit = False
        except subprocess.TimeoutExpired:
            _kill_tree(process)
            limit_hit = True
    records = []
    if results.exists():
        for line in results.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                pass
    log_tail = _first_lines("\n".join(log_path.read_text(errors="replace").splitlines()[-20:]),
                            n=20, width=2000)
    return records, limit_hit, log_tail

