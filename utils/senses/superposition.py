"""Superposition, measured: the pseudo-word experiment of Arora, Li, Liang, Ma, Risteski (2018).

Replace every occurrence of two unrelated words w₁, w₂ by one new token w, retrain, and ask
whether v_w lies close to the span of v_w₁ and v_w₂ (from a model of the original corpus),
    v_w ≈ α₁ v_w₁ + α₂ v_w₂,
with weights that grow with each word's share of the occurrences. The two models are
trained separately, so their coordinates differ by a rotation: `procrustes` finds it from
the words the two corpora share, and the fit happens in the original model's space.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np


def merge_words(sentences: Iterable[Sequence[str]], pairs: Sequence[tuple[str, str]],
                token: str = "{}_{}") -> list[list[str]]:
    """A copy of `sentences` with both words of each pair replaced by one pseudo-word,
    named token.format(w1, w2) (default "w1_w2", which no alphabetic corpus token can be)."""
    replace = {}
    for w1, w2 in pairs:
        if w1 == w2:
            raise ValueError(f"a pseudo-word needs two different words, got ({w1!r}, {w2!r})")
        for w in (w1, w2):
            if w in replace:
                raise ValueError(f"{w!r} is in two pairs; each word may be merged only once")
            replace[w] = token.format(w1, w2)
    get = replace.get
    return [[get(w, w) for w in sentence] for sentence in sentences]


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation R (d, d) minimising ||source R - target||_F (orthogonal Procrustes).

    source, target: (n, d), row i of both the same word in two models. R = U Vᵀ from the
    SVD sourceᵀ target = U Σ Vᵀ (Schönemann 1966)."""
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.shape != target.shape or source.ndim != 2:
        raise ValueError(f"source and target must be matching (n, d) matrices, got {source.shape} and {target.shape}")
    u, _, vt = np.linalg.svd(source.T @ target)
    return u @ vt


def fit_superposition(v: np.ndarray, basis: np.ndarray) -> tuple[np.ndarray, float]:
    """Least squares v ≈ Σ_i α_i basis_i.

    v: (d,), basis: (k, d). Returns (α (k,), cosine between v and its projection onto the
    span of the basis): 1 means v lies in the span, about sqrt(k/d) for a random direction.
    """
    basis = np.asarray(basis, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    alpha, *_ = np.linalg.lstsq(basis.T, v, rcond=None)
    projection = alpha @ basis
    cosine = float(projection @ v / max(np.linalg.norm(projection) * np.linalg.norm(v), 1e-12))
    return alpha, cosine
