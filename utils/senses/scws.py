"""SCWS, the Stanford Contextual Word Similarity set (Huang et al. 2012), scored in context.

2,003 pairs of words, each shown in a sentence-sized context, rated 0-10 by ten people.
With prototypes μ_1(w) .. μ_K(w) of each word and p(i | c, w) the weight of prototype i in
context c (`SenseClusters.responsibilities`), Huang et al.'s two scores of a pair are

    AvgSim(w, w')      = 1/(K K') Σ_i Σ_j cos(μ_i(w), μ_j(w'))
    AvgSimC(w, c, w', c') =        Σ_i Σ_j p(i | c, w) p(j | c', w') cos(μ_i(w), μ_j(w'))

and the benchmark is Spearman's ρ (x 100) between the scores and the mean human rating.
A single-prototype model has K = 1, so both reduce to cos(v_w, v_w').
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.stats import spearmanr

from utils import data
from utils.corpus import tokenize


@dataclass(frozen=True)
class ScwsPair:
    """One SCWS item: two words, each in its tokenised context (tokens[position] is the word)."""

    word1: str
    tokens1: tuple[str, ...]
    position1: int
    word2: str
    tokens2: tuple[str, ...]
    position2: int
    rating: float


def _context(text: str) -> tuple[tuple[str, ...], int]:
    left, rest = text.split("<b>", 1)
    target, right = rest.split("</b>", 1)
    before = tokenize(left)
    return tuple(before + [target.strip().lower()] + tokenize(right)), len(before)


def read_scws(path: str | Path | None = None) -> list[ScwsPair]:
    """The SCWS pairs (default: the registered "scws" file), lower-cased like `utils.corpus.tokenize`."""
    path = data.fetch("scws", quiet=True) if path is None else Path(path)
    pairs = []
    for number, line in enumerate(Path(path).read_text(encoding="utf8").splitlines(), 1):
        fields = line.split("\t")
        if len(fields) < 8:
            continue
        try:
            tokens1, position1 = _context(fields[5])
            tokens2, position2 = _context(fields[6])
        except ValueError:
            raise ValueError(f"{path}:{number}: a context lacks its <b> ... </b> target mark") from None
        pairs.append(ScwsPair(fields[1].lower(), tokens1, position1, fields[3].lower(), tokens2, position2,
                              float(fields[7])))
    if not pairs:
        raise ValueError(f"{path} holds no SCWS pairs (expected tab-separated lines of at least 8 fields)")
    return pairs


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def scws_scores(pairs: Sequence[ScwsPair], kv, prototypes=None) -> dict:
    """Spearman x 100 of AvgSim and AvgSimC on `pairs`, with the coverage.

    kv:         the (retrained) vectors: the words themselves, and the prototype tokens
                word_1 .. word_k for the words `prototypes` clustered
    prototypes: a `MultiPrototype` (its embedder gives the contexts' embeddings), or None
                for a single-prototype model (then AvgSim = AvgSimC = cosine)
    Pairs with a word that has no vector are skipped. Returns {"AvgSim", "AvgSimC",
    "pairs": scored, "skipped": skipped, "total"} and "scored_ids", the indices of the pairs scored.
    """
    avg_sim, avg_sim_c, ratings, scored = [], [], [], []
    for index, pair in enumerate(pairs):
        sides = []
        for word, tokens, position in ((pair.word1, pair.tokens1, pair.position1),
                                       (pair.word2, pair.tokens2, pair.position2)):
            sides.append(_side(word, tokens, position, kv, prototypes))
        if sides[0] is None or sides[1] is None:
            continue
        (vectors1, p1), (vectors2, p2) = sides
        if pair.word1 == pair.word2 and len(vectors1) == 1:
            # one vector on both sides: cosine exactly 1, tied with the other such pairs (computed,
            # it is 1 up to a rounding that differs between CPUs, and Spearman would rank by it)
            cosines = np.ones((1, 1))
        else:
            cosines = _unit(vectors1) @ _unit(vectors2).T  # (K, K')
        avg_sim.append(float(cosines.mean()))
        avg_sim_c.append(float(p1 @ cosines @ p2))
        ratings.append(pair.rating)
        scored.append(index)
    if len(scored) < 3:
        raise ValueError(f"only {len(scored)} of {len(pairs)} SCWS pairs have vectors: too few to rank")
    return {
        "AvgSim": 100 * float(spearmanr(avg_sim, ratings).statistic),
        "AvgSimC": 100 * float(spearmanr(avg_sim_c, ratings).statistic),
        "pairs": len(scored), "skipped": len(pairs) - len(scored), "total": len(pairs),
        "scored_ids": scored,
    }


def _side(word, tokens, position, kv, prototypes):
    """(prototype vectors (K, d), p(i | context) (K,)) of one side of a pair, or None."""
    if prototypes is not None and word in prototypes.clusters:
        found = prototypes.prototype_vectors(word, kv)
        if found is None:
            return None
        vectors, names = found
        clusters = prototypes.clusters[word]
        weights = clusters.responsibilities(prototypes.embedder.embed_one(tokens, position))
        keep = [clusters.names.index(n) for n in names]  # prototypes too rare to get a vector are dropped
        weights = weights[keep]
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(keep), 1 / len(keep))
        return vectors, weights
    if word not in kv:
        return None
    return kv[word][None, :], np.ones(1)
