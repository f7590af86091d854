"""Training checkpoints, shared by the trainers (`utils.word2vec`, `utils.glove`).

A checkpoint is one `torch.save` file holding a trainer's settings, its vocabulary, its
tensors (on the CPU) and its progress (epochs done, loss history, a fingerprint of the
corpus). It is written atomically, so an interrupted save never leaves half a file, and it
is checked on load: a file of another kind or version is refused with a message saying so.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from utils.corpus import Vocabulary
from utils.data import atomic_write


def save_checkpoint(path: str | Path, *, kind: str, version: int, config, vocab: Vocabulary,
                    tensors: dict[str, torch.Tensor], **progress) -> None:
    """Write `kind`'s state to `path` atomically.

    config: the trainer's settings dataclass; tensors: name -> tensor (any device, saved on
    the CPU); progress: plain values (epochs done, history, corpus fingerprint, ...).
    """
    state = {
        "kind": kind,
        "version": version,
        "config": dataclasses.asdict(config),
        "index_to_key": list(vocab.index_to_key),
        "counts": torch.from_numpy(vocab.counts),
        "tensors": {name: tensor.detach().cpu() for name, tensor in tensors.items()},
        **progress,
    }
    with atomic_write(Path(path)) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, *, kind: str, version: int) -> tuple[dict, Vocabulary]:
    """The state saved by `save_checkpoint` and its vocabulary; ValueError for another kind or version."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("kind") != kind or state.get("version") != version:
        raise ValueError(f"{path}: not a {kind} checkpoint of version {version} "
                         f"(it says {state.get('kind', 'nothing')!r}, version {state.get('version')}); "
                         "start a new run, or load it with the trainer that wrote it")
    return state, Vocabulary(state["index_to_key"], state["counts"].numpy())
