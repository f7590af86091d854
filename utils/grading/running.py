"""Running a graded notebook: nbval in a subprocess, one fresh kernel, time limits, a
record per cell written as soon as the cell finishes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat

from .release import notebook_text
from .reports import _first_lines
from .sandbox import Limits, Sandbox


ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CELL_TIMEOUT = 300.0
DEFAULT_TIMEOUT = 1800.0
DEFAULT_AFTER_TIMEOUT = 20.0


class KernelDied(RuntimeError):
    """The kernel process exited while a cell was running."""


class _Recorder:
    """pytest plugin for the grading subprocess: one JSON line per notebook cell, written
    as soon as the cell finishes (so a run killed at the time limit keeps what it had).

    The lines go to a pipe inherited from the grader, not to a file: the kernel, which runs
    the student's code, neither inherits the pipe nor can open it through /proc (this process
    makes itself non-dumpable), so it cannot forge results. Once nbval has read the graded
    notebook, the file is deleted, so the kernel cannot read the hidden tests from disk."""

    def __init__(self, results_fd: int, sentinel: str, notebook: str, after_timeout: float):
        self.results = os.fdopen(results_fd, "w", encoding="utf-8")
        self.sentinel = sentinel
        self.notebook = notebook
        self.after_timeout = after_timeout

    def pytest_configure(self, config):
        _patch_nbval_kernel_watch(self.after_timeout)

    def pytest_unconfigure(self, config):
        self.results.close()

    def _write(self, record: dict) -> None:
        self.results.write(json.dumps(record) + "\n")
        self.results.flush()

    def pytest_collection_finish(self, session):
        self._write({"collected": len(session.items)})
        for path in (self.notebook, os.path.join(os.path.dirname(self.notebook), "pytest.ini")):
            try:
                os.remove(path)
            except OSError:
                pass

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
            "fast_fail": _STATE["shortened"] and "Timeout" in (str(exc) if exc else ""),
        }
        self._write(record)
        return None


# Shared between the patched nbval and the recorder: has a cell run past its limit yet?
_STATE = {"timed_out": False, "shortened": False}


def _kernel_exit(kernel) -> str:
    """Why the kernel process ended, when its exit status says (a signal from a limit)."""
    import signal

    process = getattr(getattr(getattr(kernel, "km", None), "provisioner", None), "process", None)
    code = process.poll() if process is not None else None
    if code == -signal.SIGXCPU or code == -signal.SIGKILL:
        return " (it used up its CPU-time limit, or was killed)"
    if code is not None and code < 0:
        return f" (signal {-code})"
    return ""


def _patch_nbval_kernel_watch(after_timeout: float = 0.0) -> None:
    """Make nbval notice a dead kernel within a second instead of waiting out the cell's
    time limit. nbval polls the shell channel for the whole limit in one call; poll in short
    slices and check the kernel process between them.

    Bound the cost of a looping function: once one cell has run past its limit, every later
    cell gets only ``after_timeout`` seconds (when > 0), since the cells that call the looping
    function would each wait out the full limit."""
    from queue import Empty

    try:
        from nbval.kernel import RunningKernel
    except ImportError:  # pragma: no cover - nbval missing: the run fails with a clear error
        return

    def await_reply(self, msg_id, timeout=None):
        _STATE["shortened"] = _STATE["timed_out"] and after_timeout > 0
        if _STATE["shortened"]:
            timeout = after_timeout if timeout is None else min(float(timeout), after_timeout)
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        while True:
            step = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            try:
                msg = self.get_message(stream="shell", timeout=step)
            except Empty:
                if not self.is_alive():
                    why = _kernel_exit(self)
                    try:  # release its channels, or pytest waits for them at exit
                        self.stop()
                    except Exception:
                        pass
                    raise KernelDied("the kernel died (its process exited) while running "
                                     "this cell" + why)
                if deadline is not None and time.monotonic() >= deadline:
                    _STATE["timed_out"] = True
                    raise
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                if msg["content"]["status"] == "aborted":
                    raise RuntimeError("Kernel aborted execution request")
                return

    RunningKernel.await_reply = await_reply


def _make_undumpable() -> None:
    """PR_SET_DUMPABLE 0: processes of the same user (the kernel) can no longer open this
    one's /proc entries (file descriptors, memory, environment)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)   # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _run_nbval(argv: list[str]) -> int:
    """Entry point of the grading subprocess:
    RESULTS_FD NOTEBOOK AFTER_TIMEOUT CPU_SECONDS MEMORY_MB -- PYTEST ARGS.
    The sentinel arrives on stdin (a command line is readable by every process). The limits
    are set here, before nbval starts the kernel, which inherits them."""
    import pytest

    _make_undumpable()
    sentinel = sys.stdin.readline().strip()
    results_fd, notebook, after_timeout, cpu, memory, separator, *pytest_args = argv
    assert separator == "--"
    Limits(float(cpu), int(memory)).apply()
    recorder = _Recorder(int(results_fd), sentinel, notebook, float(after_timeout))
    return int(pytest.main(pytest_args, plugins=[recorder]))


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
                  timeout: float, sandbox: Sandbox | None = None, limits: Limits | None = None,
                  after_timeout: float = 0.0) -> tuple[list[dict], bool, str]:
    """Run nb under nbval in ``work``, in ``sandbox`` with ``limits``; return (records, hit the
    notebook time limit, log tail)."""
    sandbox = sandbox or Sandbox("none", "no sandbox requested")
    limits = limits or Limits(0, 0)
    work = Path(work).resolve()
    nb_path = work / "graded.ipynb"
    nb_path.write_text(notebook_text(nb), encoding="utf-8")
    (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (work / "home").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "JPY_PARENT_PID")}
    env.update(
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
        IPYTHONDIR=str(work / "ipython"), JUPYTER_RUNTIME_DIR=str(work / "runtime"),
        MPLCONFIGDIR=str(work / "matplotlib"), PYDEVD_DISABLE_FILE_VALIDATION="1",
        NUMBA_CACHE_DIR=str(work / "numba"),
    )
    # nbformat -> jsonschema imports rfc3987_syntax if it is installed, which builds a parser
    # for seconds at import time; nbformat's schema has no IRI formats, so skip it here.
    bootstrap = ("import sys; sys.modules['rfc3987_syntax'] = None; "
                 "from utils.grading.running import _run_nbval; sys.exit(_run_nbval(sys.argv[1:]))")
    read_end, write_end = os.pipe()
    command = [sys.executable, "-c", bootstrap, str(write_end), str(nb_path), f"{after_timeout:g}",
               f"{limits.cpu_seconds:g}", str(int(limits.memory_mb)), "--", str(nb_path), "-c", str(work / "pytest.ini"), "--rootdir", str(work),
               "-p", "nbval.plugin", "-p", "no:cacheprovider", "-p", "no:stepwise",
               "--nbval-lax", "--nbval-current-env", f"--nbval-cell-timeout={cell_timeout:g}",
               "-q", "--no-header", "-rN", "--color=no"]
    lines: list[str] = []
    log_path = work.parent / f"{work.name}.log"   # outside the work folder: not the kernel's
    with open(log_path, "wb") as log:
        try:
            process = subprocess.Popen(sandbox.wrap(command, work), cwd=work, env=env,
                                       stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True, pass_fds=(write_end,))
        finally:
            os.close(write_end)
        reader = threading.Thread(target=_read_lines, args=(read_end, lines), daemon=True)
        reader.start()
        try:
            process.stdin.write((sentinel + "\n").encode())
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=timeout)
            limit_hit = False
        except subprocess.TimeoutExpired:
            _kill_tree(process)
            limit_hit = True
        reader.join(timeout=5)
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pass
    log_tail = _first_lines("\n".join(log_path.read_text(errors="replace").splitlines()[-20:]),
                            n=20, width=2000)
    return records, limit_hit, log_tail


def _read_lines(fd: int, into: list[str]) -> None:
    with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as pipe:
        for line in pipe:
            into.append(line)
