"""Multi-prototype word vectors (Huang, Socher, Manning, Ng 2012, section 3.3).

1. Each occurrence t of a word w is represented by its context embedding: the idf-weighted
   average of the vectors of the words within `window` positions on each side (same sentence),
       c_t = Σ_{0<|j|≤window} idf(w_{t+j}) v_{w_{t+j}} / Σ_{0<|j|≤window} idf(w_{t+j}).
2. The occurrences of w are clustered on the unit sphere (spherical k-means, cosine).
3. Each occurrence is relabelled with its cluster (bank -> bank_1, bank_2, ...) and a
   word2vec (or GloVe) model is retrained on the relabelled corpus: one vector per prototype.

    embedder = ContextEmbedder(kv, idf_weights(sentences, kv), window=5)
    model = MultiPrototype.fit(sentences, embedder, ["bank", "plant"], max_prototypes=10)
    relabelled = model.relabel(sentences)          # then retrain on it
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch

from utils.device import resolve_device


def idf_weights(sentences: Iterable[Sequence[str]], kv) -> np.ndarray:
    """float32 (V,): idf(w) = log(S / df(w)) for each word of `kv`, a sentence being a document.

    Words of `kv` that never occur get the largest idf, log(S). (Huang et al. count documents;
    the course's corpora are sentence-per-line, so a sentence is the document here.)
    """
    df = np.zeros(len(kv), dtype=np.int64)
    lookup = kv.key_to_index.get
    n_sentences = 0
    for sentence in sentences:
        n_sentences += 1
        ids = {i for i in map(lookup, sentence) if i is not None}
        if ids:
            df[np.fromiter(ids, dtype=np.int64, count=len(ids))] += 1
    if n_sentences == 0:
        raise ValueError("idf_weights needs at least one sentence")
    return np.log(n_sentences / np.maximum(df, 1)).astype(np.float32)


@dataclass
class FlatCorpus:
    """A tokenised corpus as one id array, for vectorised context windows.

    ids:          int64 (N,) row of each token in the embedder's vectors, -1 when unknown
    sentence_ids: int64 (N,) the sentence each token is in
    offsets:      int64 (S+1,) sentence s is positions offsets[s]:offsets[s+1]
    """

    ids: np.ndarray
    sentence_ids: np.ndarray
    offsets: np.ndarray


class ContextEmbedder:
    """Context embeddings c_t of word occurrences (see the module docstring).

    kv:     WordVectors whose vectors v_w are averaged (unit-normalised first, so frequent
            words with long vectors do not dominate)
    idf:    float32 (V,) weights aligned with kv's rows (`idf_weights`)
    window: words on each side (Huang et al.: 5)
    """

    def __init__(self, kv, idf: np.ndarray, window: int = 5):
        idf = np.asarray(idf, dtype=np.float32)
        if idf.shape != (len(kv),):
            raise ValueError(f"idf must have one weight per word of kv ({len(kv)}), got shape {idf.shape}")
        if window < 1:
            raise ValueError(f"window must be at least 1, not {window}")
        self.kv = kv
        self.idf = idf
        self.window = window
        self._unit = kv.get_normed_vectors().astype(np.float32)

    def flatten(self, sentences: Sequence[Sequence[str]]) -> FlatCorpus:
        lookup = self.kv.key_to_index.get
        lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
        ids = np.fromiter((lookup(w, -1) for s in sentences for w in s), dtype=np.int64, count=int(lengths.sum()))
        offsets = np.zeros(len(sentences) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return FlatCorpus(ids, np.repeat(np.arange(len(sentences), dtype=np.int64), lengths), offsets)

    def embed(self, flat: FlatCorpus, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Context embeddings of the tokens at flat `positions` (M,).

        Returns (contexts float32 (M, d), has_context bool (M,)); an occurrence with no known
        word in its window gets a zero row and has_context False.
        """
        positions = np.asarray(positions, dtype=np.int64)
        total = np.zeros((len(positions), self._unit.shape[1]), dtype=np.float32)
        weight = np.zeros(len(positions), dtype=np.float32)
        n = len(flat.ids)
        for offset in range(-self.window, self.window + 1):
            if offset == 0:
                continue
            q = positions + offset
            inside = (q >= 0) & (q < n)
            q = np.where(inside, q, 0)
            ok = inside & (flat.sentence_ids[q] == flat.sentence_ids[positions]) & (flat.ids[q] >= 0)
            rows = flat.ids[q[ok]]
            w = self.idf[rows]
            total[ok] += w[:, None] * self._unit[rows]
            weight[ok] += w
        has_context = weight > 0
        total[has_context] /= weight[has_context, None]
        return total, has_context

    def embed_one(self, tokens: Sequence[str], position: int) -> np.ndarray | None:
        """The context embedding (d,) of tokens[position] in one tokenised text; None if no context word is known."""
        if not 0 <= position < len(tokens):
            raise IndexError(f"position {position} is outside a text of {len(tokens)} tokens")
        contexts, ok = self.embed(self.flatten([list(tokens)]), np.array([position]))
        return contexts[0] if ok[0] else None


def spherical_kmeans(x, k: int, *, n_iter: int = 50, n_init: int = 3, seed: int = 0,
                     device: str | torch.device = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Cluster the rows of x (n, d) by cosine: k unit centroids maximising Σ_t cos(x_t, μ_{z_t}).

    k-means++ seeding by cosine distance from a seeded torch generator, Lloyd iterations
    (assign to the most similar centroid; centroid = normalised sum of its members), `n_init`
    restarts, the best objective kept. A cluster that empties is re-seeded with the point
    worst served. Runs on any torch device; the result is returned on the CPU.
    Returns (labels int64 (n,), centroids float32 (k, d) with unit rows).
    """
    device = resolve_device(device)
    x = torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"spherical_kmeans needs a non-empty (n, d) matrix, got shape {tuple(x.shape)}")
    if not 1 <= k <= len(x):
        raise ValueError(f"k must be between 1 and the number of points ({len(x)}), not {k}")
    x = torch.nn.functional.normalize(x, dim=1)
    generator = torch.Generator(device=device).manual_seed(seed)
    best = None
    for _ in range(n_init):
        centroids = _kmeans_pp(x, k, generator)
        for _ in range(n_iter):
            sims = x @ centroids.T
            labels = sims.argmax(1)
            sums = torch.zeros_like(centroids).index_add_(0, labels, x)
            sizes = torch.bincount(labels, minlength=k)
            for empty in torch.nonzero(sizes == 0).flatten().tolist():
                worst = sims.max(1).values.argmin()
                sums[empty] = x[worst]
            new = torch.nn.functional.normalize(sums, dim=1)
            converged = torch.equal(new, centroids)
            centroids = new
            if converged:
                break
        sims = x @ centroids.T
        objective = float(sims.max(1).values.sum())
        if best is None or objective > best[0]:
            best = (objective, sims.argmax(1), centroids)
    return best[1].cpu().numpy(), best[2].cpu().numpy()


def _kmeans_pp(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    first = torch.randint(len(x), (1,), generator=generator, device=x.device)
    chosen = [int(first)]
    distance = 1 - x @ x[chosen[0]]
    for _ in range(1, k):
        p = distance.clamp_min(0)
        if float(p.sum()) <= 0:  # all remaining points coincide with a centroid
            p = torch.ones_like(p)
        nxt = int(torch.multinomial(p, 1, generator=generator))
        chosen.append(nxt)
        distance = torch.minimum(distance, 1 - x @ x[nxt])
    return x[chosen].clone()


@dataclass
class SenseClusters:
    """The prototypes of one word: unit centroids (k, d) of its context embeddings and the
    number of occurrences (k,) assigned to each."""

    word: str
    centroids: np.ndarray
    sizes: np.ndarray

    @property
    def names(self) -> list[str]:
        """Token of each prototype: word_1 ... word_k (just `word` when k is 1)."""
        if len(self.centroids) == 1:
            return [self.word]
        return [f"{self.word}_{i + 1}" for i in range(len(self.centroids))]

    def responsibilities(self, context: np.ndarray | None) -> np.ndarray:
        """p(i | c) for each prototype i: cos(c, μ_i) clipped at 0, normalised (uniform when
        there is no context or every cosine is ≤ 0). Used by AvgSimC."""
        k = len(self.centroids)
        if context is None or not np.any(context):
            return np.full(k, 1 / k)
        sims = np.clip(self.centroids @ (context / np.linalg.norm(context)), 0, None)
        return sims / sims.sum() if sims.sum() > 0 else np.full(k, 1 / k)


class MultiPrototype:
    """Prototypes of a set of target words, found by clustering their context embeddings."""

    def __init__(self, embedder: ContextEmbedder, clusters: dict[str, SenseClusters]):
        self.embedder = embedder
        self.clusters = clusters

    @classmethod
    def fit(cls, sentences: Sequence[Sequence[str]], embedder: ContextEmbedder, targets: Iterable[str], *,
            max_prototypes: int = 10, min_occurrences: int = 50, seed: int = 0, n_init: int = 3,
            device: str | torch.device = "auto", flat: FlatCorpus | None = None) -> "MultiPrototype":
        """Cluster every target word's occurrences in `sentences`.

        A word gets k = min(max_prototypes, occurrences // min_occurrences) prototypes, so every
        prototype keeps enough occurrences to be trained (Huang et al. use k = 10 on 990 million
        tokens; a small corpus cannot feed 10 vectors of a rare word). Words with k < 2 keep one
        vector and are left out of `clusters`.
        """
        flat = embedder.flatten(sentences) if flat is None else flat
        clusters: dict[str, SenseClusters] = {}
        for word, positions in _positions(flat, embedder.kv, targets).items():
            contexts, ok = embedder.embed(flat, positions)
            contexts = contexts[ok]
            k = min(max_prototypes, len(contexts) // min_occurrences)
            if k < 2:
                continue
            labels, centroids = spherical_kmeans(contexts, k, seed=seed, n_init=n_init, device=device)
            clusters[word] = SenseClusters(word, centroids, np.bincount(labels, minlength=k))
        return cls(embedder, clusters)

    def assign(self, flat: FlatCorpus) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """For each clustered word: (flat positions, prototype index) of its occurrences.
        Occurrences with no known context word go to the largest prototype."""
        result = {}
        for word, positions in _positions(flat, self.embedder.kv, self.clusters).items():
            contexts, ok = self.embedder.embed(flat, positions)
            labels = (contexts @ self.clusters[word].centroids.T).argmax(1)
            labels[~ok] = int(self.clusters[word].sizes.argmax())
            result[word] = (positions, labels)
        return result

    def relabel(self, sentences: Sequence[Sequence[str]], flat: FlatCorpus | None = None) -> list[list[str]]:
        """A copy of `sentences` with each clustered word replaced by its prototype's token."""
        flat = self.embedder.flatten(sentences) if flat is None else flat
        tokens = [w for s in sentences for w in s]
        for word, (positions, labels) in self.assign(flat).items():
            names = self.clusters[word].names
            for position, label in zip(positions.tolist(), labels.tolist()):
                tokens[position] = names[label]
        return [tokens[a:b] for a, b in zip(flat.offsets[:-1].tolist(), flat.offsets[1:].tolist())]

    def prototype_vectors(self, word: str, kv) -> tuple[np.ndarray, list[str]] | None:
        """(vectors (k, d), names) of `word`'s prototypes in a retrained `kv`, or of the word
        itself when it has one; None when kv lacks them all."""
        names = self.clusters[word].names if word in self.clusters else [word]
        present = [n for n in names if n in kv]
        if not present:
            return None
        return np.stack([kv[n] for n in present]), present


def _positions(flat: FlatCorpus, kv, words: Iterable[str]) -> dict[str, np.ndarray]:
    rows = {kv.key_to_index[w]: w for w in words if w in kv}
    if not rows:
        return {}
    wanted = np.fromiter(rows, dtype=np.int64)
    hits = np.flatnonzero(np.isin(flat.ids, wanted))
    order = np.argsort(flat.ids[hits], kind="stable")
    hits = hits[order]
    split = np.flatnonzero(np.diff(flat.ids[hits])) + 1
    return {rows[int(flat.ids[group[0]])]: group for group in np.split(hits, split) if len(group)}


def cluster_purity(labels: np.ndarray, gold: Sequence) -> float:
    """Purity: the share of items whose cluster's most common gold label is their own,
    Σ_clusters max_sense |cluster ∩ sense| / n. One cluster scores the majority-sense share."""
    labels = np.asarray(labels)
    gold = np.asarray(gold)
    if labels.shape != gold.shape or labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"labels and gold must be equal-length non-empty 1-d, got {labels.shape} and {gold.shape}")
    _, gold_ids = np.unique(gold, return_inverse=True)
    total = 0
    for cluster in np.unique(labels):
        total += np.bincount(gold_ids[labels == cluster]).max()
    return total / len(labels)
