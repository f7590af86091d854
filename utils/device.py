"""Pick the torch device a trainer runs on, and seed every random generator we use."""

from __future__ import annotations

import random

import numpy as np
import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Return a torch.device; "auto" picks CUDA when it is available, else the CPU.

    Asking for CUDA on a machine without it raises a RuntimeError that says so,
    rather than failing later inside a kernel.
    """
    if isinstance(device, torch.device):
        resolved = device
    elif device == "auto":
        resolved = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device={device!r} asks for CUDA, but torch sees no CUDA device here "
            f"(torch {torch.__version__}). Use device='cpu' or device='auto'."
        )
    return resolved


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's, NumPy's and torch's generators; return a fresh NumPy Generator."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
