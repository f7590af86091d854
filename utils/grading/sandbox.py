"""The OS sandbox graded kernels run in, and their CPU-time and memory limits.

On Linux, `bwrap` (Debian/Ubuntu package ``bubblewrap``) gives each graded notebook a view of
the machine with: no network (a private network namespace with only loopback), the system
and the Python environment read-only, the course package (``utils/``) and the declared data
(``$WV_MIRROR``, ``$NLTK_DATA``, the data cache) read-only, a private ``/tmp``, and only the
submission's work folder writable. The rest of the file system — ``solutions/``, the
instructor's home directory, other submissions — is not there at all. Its processes get
their own PID namespace, so they cannot see or signal the grader.

Limits are POSIX rlimits set before the sandbox starts and inherited by the kernel:
``RLIMIT_CPU`` (seconds of CPU time per process; the kernel is killed when it has used them)
and ``RLIMIT_AS`` (address space: an allocation beyond it raises MemoryError).

Where bwrap is missing or cannot create namespaces, grading still works, unsandboxed, and
says so loudly (on the console and in every report); ``--sandbox bwrap`` refuses instead.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CPU_TIME = 900.0          # seconds of CPU per kernel: well above a solution's run
DEFAULT_MEMORY_MB = 8192          # address space per process (torch and numba map a lot)
INSTALL_HINT = "install it with `apt-get install bubblewrap` (Debian/Ubuntu)"
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf",
        "localtime", "fonts", "ssl", "alternatives", "mime.types")
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


class SandboxUnavailable(RuntimeError):
    """``--sandbox bwrap`` was asked for and bwrap cannot run here; the message says why."""


@dataclass(frozen=True)
class Limits:
    cpu_seconds: float = DEFAULT_CPU_TIME
    memory_mb: int = DEFAULT_MEMORY_MB

    def apply(self) -> None:
        """Set the limits on the calling process; the processes it starts inherit them."""
        import resource

        if self.cpu_seconds and self.cpu_seconds > 0:
            soft = int(max(1, self.cpu_seconds))
            resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 5))
        if self.memory_mb and self.memory_mb > 0:
            size = int(self.memory_mb) * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    def describe(self) -> str:
        parts = []
        if self.cpu_seconds and self.cpu_seconds > 0:
            parts.append(f"{self.cpu_seconds:g} s of CPU time")
        if self.memory_mb and self.memory_mb > 0:
            parts.append(f"{self.memory_mb:,} MiB of memory")
        return " and ".join(parts) if parts else "no CPU or memory limit"


@dataclass(frozen=True)
class Sandbox:
    """How graded kernels are isolated: kind "bwrap", or "none" with the reason."""

    kind: str
    detail: str

    @property
    def used(self) -> bool:
        return self.kind == "bwrap"

    def describe(self) -> str:
        if self.used:
            return ("sandboxed with bwrap: no network, read-only system and course files, "
                    "only its own work folder writable, solutions and home directory invisible")
        return f"NOT sandboxed ({self.detail}): student code ran with the grader's permissions"

    def wrap(self, command: list[str], work: Path) -> list[str]:
        """The command that runs ``command`` in this sandbox, with ``work`` writable."""
        if not self.used:
            return list(command)
        return [shutil.which("bwrap") or "bwrap", *_bwrap_arguments(work), "--", *command]


def _readable_paths() -> list[Path]:
    """What a graded kernel must read besides the system: Python, utils/, the data."""
    from utils import data

    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent,
             ROOT / "utils"]
    mirror = data.mirror_dir()
    for value in (mirror, os.environ.get("NLTK_DATA"), data.cache_dir()):
        if value:
            paths.append(Path(value))
    return [p.resolve() for p in paths if p and Path(p).exists()]


def _bwrap_arguments(work: Path) -> list[str]:
    work = Path(work).resolve()
    args = ["--die-with-parent", "--new-session", "--unshare-all", "--cap-drop", "ALL",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in _SYSTEM:
        if Path(path).exists():
            # /bin -> usr/bin on merged-/usr systems: keep the link, not a second copy
            args += (["--symlink", os.readlink(path), path] if Path(path).is_symlink()
                     else ["--ro-bind", path, path])
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    seen = set()
    for path in _readable_paths():
        if str(path) not in seen and not any(str(path).startswith(s + "/") for s in _SYSTEM):
            seen.add(str(path))
            args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(work), str(work), "--chdir", str(work),
             "--setenv", "HOME", str(work / "home"), "--setenv", "TMPDIR", "/tmp"]
    return args


@functools.lru_cache(maxsize=None)
def _bwrap_works() -> str | None:
    """None if bwrap runs here, else why not (one line)."""
    if sys.platform != "linux":
        return f"bwrap is Linux-only; this is {sys.platform}"
    executable = shutil.which("bwrap")
    if executable is None:
        return f"bwrap is not installed: {INSTALL_HINT}"
    probe = Path(os.environ.get("TMPDIR", "/tmp"))
    try:
        result = subprocess.run([executable, *_bwrap_arguments(probe), "--", sys.executable,
                                 "-c", "pass"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not start: {exc}"
    if result.returncode != 0:
        first = (result.stderr or result.stdout).strip().splitlines()[:1]
        return ("bwrap cannot create a sandbox here ("
                f"{first[0] if first else 'exit ' + str(result.returncode)}); "
                "user namespaces may be disabled")
    return None


def find_sandbox(mode: str = "auto") -> Sandbox:
    """``mode``: "auto" (bwrap if it works, else none with a warning), "bwrap" (required:
    raise SandboxUnavailable) or "none" (no sandbox, as the instructor asked)."""
    if mode == "none":
        return Sandbox("none", "--sandbox none was given")
    if mode not in ("auto", "bwrap"):
        raise ValueError(f"--sandbox must be auto, bwrap or none, not {mode!r}")
    problem = _bwrap_works()
    if problem is None:
        return Sandbox("bwrap", "bubblewrap")
    if mode == "bwrap":
        raise SandboxUnavailable(f"--sandbox bwrap: {problem}")
    return Sandbox("none", problem)
