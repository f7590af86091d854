"""The torch backend's mini-batches: windows, (center, outside) pairs and CBOW examples, negative
samples drawn on the device, and SGD on the rows that occur (`scatter_rows`)."""

from __future__ import annotations

import numpy as np
import torch

from utils.word2vec.sampling import alias_table


def window_offsets(window: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The 2*window relative positions -window..-1, 1..window, int64."""
    return torch.cat([torch.arange(-window, 0), torch.arange(1, window + 1)]).to(device)


def window_candidates(
    sentence_ids: torch.Tensor, reduced_windows: torch.Tensor, start: int, stop: int, window: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The context positions of the centers at positions start..stop-1.

    sentence_ids:    (N,) the sentence each token belongs to
    reduced_windows: (N,) b_i in 1..window, drawn per center (word2vec's dynamic window:
                     nearer words are used more often)
    Returns positions (P, 2w) int64 (clamped into range) and valid (P, 2w) bool: j is a
    context of i when 1 <= |j - i| <= b_i and j is in i's sentence.
    """
    n = sentence_ids.shape[0]
    device = sentence_ids.device
    centers = torch.arange(start, stop, device=device)
    offsets = window_offsets(window, device)
    positions = centers.unsqueeze(1) + offsets  # (P, 2w)
    inside = (positions >= 0) & (positions < n)
    positions = positions.clamp_(0, n - 1)
    valid = inside & (offsets.abs() <= reduced_windows[start:stop].unsqueeze(1))
    valid &= sentence_ids[positions] == sentence_ids[start:stop].unsqueeze(1)
    return positions, valid


def skipgram_pairs(
    ids: torch.Tensor, sentence_ids: torch.Tensor, reduced_windows: torch.Tensor, start: int, stop: int, window: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(center, outside) word-id pairs for centers start..stop-1, in corpus order. Each (P',)."""
    positions, valid = window_candidates(sentence_ids, reduced_windows, start, stop, window)
    rows, cols = valid.nonzero(as_tuple=True)
    return ids[rows + start], ids[positions[rows, cols]]


def cbow_examples(
    ids: torch.Tensor, sentence_ids: torch.Tensor, reduced_windows: torch.Tensor, start: int, stop: int, window: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CBOW examples for centers start..stop-1 that have at least one context word.

    Returns centers (P',), contexts (P', 2w) word ids (padding: 0) and mask (P', 2w) bool.
    """
    positions, valid = window_candidates(sentence_ids, reduced_windows, start, stop, window)
    keep = valid.any(1)
    return ids[start:stop][keep], ids[positions[keep]], valid[keep]


def scatter_rows(
    matrix: torch.Tensor, rows: torch.Tensor, grads: torch.Tensor, lr: float, max_repeats: int | None = None,
    weights: torch.Tensor | None = None, dense_counts: bool | None = None,
) -> None:
    """SGD on the rows that occur: matrix[rows] -= lr * grads, repeated rows summed (index_add_).

    rows: (M,) int64, grads: (M, d). A batch computes all its gradients from the same (stale)
    matrix, so a row that occurs n times takes n steps' worth of update at once; for the most
    frequent words that overshoots and can diverge (sequential SGD would have seen the loss
    flatten after a few steps). With `max_repeats`, a row that occurs n > max_repeats times
    has its summed update scaled by max_repeats / n.
    weights: (M,) 1 for real entries, 0 for padding (whose grads must be 0): padding is not
    counted as a repeat. dense_counts: count repeats in a vocabulary-sized vector (no host
    sync, what a GPU needs) instead of sorting the batch's rows (torch.unique, which must sync
    to size its output; faster on the CPU). None: dense on CUDA. Both give the same counts.
    """
    if max_repeats is not None:
        mass = torch.ones_like(rows, dtype=grads.dtype) if weights is None else weights.to(grads.dtype)
        if dense_counts if dense_counts is not None else matrix.device.type == "cuda":
            counts = torch.zeros(len(matrix), dtype=grads.dtype, device=matrix.device)
            repeats = counts.index_add_(0, rows, mass)[rows]
        else:
            unique, where = torch.unique(rows, return_inverse=True)
            counts = torch.zeros(len(unique), dtype=grads.dtype, device=grads.device)
            repeats = counts.index_add_(0, where, mass)[where]
        scale = max_repeats / repeats.clamp(min=max_repeats)
        grads = grads * scale.unsqueeze(1)
    matrix.index_add_(0, rows, grads, alpha=-lr)


class AliasSampler:
    """Draws negative samples on a torch device from an alias table (see `alias_table`)."""

    def __init__(self, probs: np.ndarray, device: torch.device):
        accept, alias = alias_table(probs)
        self.accept = torch.from_numpy(accept).to(device)
        self.alias = torch.from_numpy(alias).long().to(device)

    def sample(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        device = self.accept.device
        slots = torch.randint(len(self.accept), shape, device=device, generator=generator)
        coin = torch.rand(shape, device=device, generator=generator)
        return torch.where(coin < self.accept[slots], slots, self.alias[slots])
