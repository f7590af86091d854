"""word2vec (Mikolov et al. 2013): skip-gram and CBOW, trained with SGD on sparse rows.

Notation follows the lecture. Every word w has two vectors:
    v_w  its *center* vector  (row w of `center_vectors`,  V x d)
    u_w  its *outside* vector (row w of `outside_vectors`, V x d)
Skip-gram models P(o | c) for each outside word o in a window around the center word c;
CBOW models P(c | window) from the mean of the window's center vectors.

Three ways to turn scores into a trainable loss:
- naive softmax:   J = -log softmax(U v_c)_o                      (costs O(V): teaching only)
- negative sampling: J = -log σ(u_o·v_c) - Σ_k log σ(-u_k·v_c),  k ~ P_n(w) ∝ count(w)^0.75
- hierarchical softmax: J = -Σ_n log σ(±u_n·v_c) over the inner nodes n on the path to o
  in a Huffman tree built from the counts (u_n: one vector per inner node).
Negative sampling and hierarchical softmax are both sums of binary logistic losses, so one
function (`binary_logistic_loss_and_grads`) computes both.

Training is plain SGD on the rows that occur, exactly as the original C code and gensim do:
only the rows of the words in a batch are read and written, never a dense V x d gradient.
Two backends run the same algorithm:
- "torch": vectorised mini-batches of (center, outside) pairs, `index_select` to gather the
  rows and `index_add_` to scatter the updates. Runs on any torch device (GPU included);
  deterministic on the CPU, not bit-for-bit on CUDA (its index_add_ adds atomically).
- "numba": a compiled per-pair loop (one pair at a time, as word2vec.c) over the same torch
  tensors, seen as NumPy arrays that share their memory. With `workers > 1` the workers are
  threads updating the shared matrices without locks ("Hogwild", as word2vec.c and gensim).
  The fast path on the CPU; `workers=1` makes it deterministic for a given seed.
  Two faster kernels depart from word2vec.c's order of updates (benchmarks/README.md):
  `shared_negatives=True` draws skip-gram's K noise words once per window (Ji et al. 2016),
  `cbow_batch=16` trains CBOW windows in batches that write each context vector once.

Quick start:
    from utils.word2vec import Word2Vec
    wv = Word2Vec(vector_size=50, min_count=5, epochs=5).fit(sentences)   # a WordVectors
"""

from __future__ import annotations

import heapq
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from utils import checkpoint
from utils.corpus import EncodedCorpus, Vocabulary, keep_probabilities
from utils.device import resolve_device

try:  # numba is the CPU fast path; without it everything runs on the torch backend.
    import numba
except ImportError:  # pragma: no cover - numba is a dependency, but keep the module importable
    numba = None

ARCHITECTURES = ("skipgram", "cbow")
LOSSES = ("negative", "hierarchical", "softmax")
BACKENDS = ("auto", "torch", "numba")
MIN_STEPS_PER_EPOCH = 32  # torch backend: the default batch leaves at least this many steps
CHECKPOINT_VERSION = 1


class TrainingDivergedError(FloatingPointError):
    """The loss or the vectors became NaN/inf or blew up; the message suggests a fix."""


# ======================================================================================
# 1. Losses and their gradients for one batch (pure functions: a lecture can call them,
#    a test can compare them with autograd).  σ(x) = 1 / (1 + e^{-x}).


def binary_logistic_loss_and_grads(
    center_vecs: torch.Tensor,
    target_vecs: torch.Tensor,
    labels: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sum of binary logistic losses of T targets per example, and its gradients.

    center_vecs: (B, d)     v_c, the input vector of each example
    target_vecs: (B, T, d)  u_t, the output vectors it is scored against
    labels:      (B, T) or (T,)  y_t in {0, 1}: 1 = "should score high", 0 = "should score low"
    mask:        (B, T) or None  1 for real targets, 0 for padding

    J = Σ_t m_t [ -y_t log σ(u_t·v_c) - (1 - y_t) log σ(-u_t·v_c) ]
    ∂J/∂(u_t·v_c) = m_t (σ(u_t·v_c) - y_t) =: g_t
    ∂J/∂v_c = Σ_t g_t u_t        ∂J/∂u_t = g_t v_c

    Returns loss (B,), grad_center (B, d), grad_targets (B, T, d).
    """
    scores = torch.bmm(target_vecs, center_vecs.unsqueeze(2)).squeeze(2)  # (B, T): u_t·v_c
    labels = labels.to(scores.dtype).expand_as(scores)
    # -log σ(x) = softplus(-x), -log σ(-x) = softplus(x): stable for large |x|.
    losses = labels * torch.nn.functional.softplus(-scores) + (1 - labels) * torch.nn.functional.softplus(scores)
    g = torch.sigmoid(scores) - labels
    if mask is not None:
        mask = mask.to(scores.dtype).expand_as(scores)
        losses = losses * mask
        g = g * mask
    grad_center = torch.bmm(g.unsqueeze(1), target_vecs).squeeze(1)  # Σ_t g_t u_t
    grad_targets = g.unsqueeze(2) * center_vecs.unsqueeze(1)  # g_t v_c
    return losses.sum(1), grad_center, grad_targets


def neg_sampling_loss_and_grads(
    center_vecs: torch.Tensor, outside_vecs: torch.Tensor, negative_vecs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Negative-sampling loss of a batch of (center, outside) pairs, and its gradients.

    center_vecs:   (B, d)     v_c
    outside_vecs:  (B, d)     u_o, the true outside word
    negative_vecs: (B, K, d)  u_k, K words drawn from the noise distribution

    J = -log σ(u_o·v_c) - Σ_k log σ(-u_k·v_c)
    ∂J/∂v_c = (σ(u_o·v_c) - 1) u_o + Σ_k σ(u_k·v_c) u_k
    ∂J/∂u_o = (σ(u_o·v_c) - 1) v_c      ∂J/∂u_k = σ(u_k·v_c) v_c

    Returns loss (B,), grad_center (B, d), grad_outside (B, d), grad_negative (B, K, d).
    """
    targets = torch.cat([outside_vecs.unsqueeze(1), negative_vecs], dim=1)  # (B, 1+K, d)
    labels = torch.zeros(targets.shape[1], dtype=targets.dtype, device=targets.device)
    labels[0] = 1
    loss, grad_center, grad_targets = binary_logistic_loss_and_grads(center_vecs, targets, labels)
    return loss, grad_center, grad_targets[:, 0], grad_targets[:, 1:]


def hierarchical_softmax_loss_and_grads(
    center_vecs: torch.Tensor, node_vecs: torch.Tensor, codes: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hierarchical-softmax loss of a batch of (center, outside) pairs, and its gradients.

    center_vecs: (B, d)     v_c
    node_vecs:   (B, L, d)  u_n for the inner nodes n on the root-to-o path (padded to L)
    codes:       (B, L)     the branch taken at each node: 0 = left, 1 = right (Huffman code of o)
    mask:        (B, L)     1 on the path, 0 on padding

    P(o | c) = Π_n σ(±u_n·v_c), "+" where the code is 0 (word2vec's convention), so
    J = -Σ_n log σ(±u_n·v_c): binary logistic losses with labels 1 - code.
    Returns loss (B,), grad_center (B, d), grad_nodes (B, L, d).
    """
    return binary_logistic_loss_and_grads(center_vecs, node_vecs, 1 - codes.to(node_vecs.dtype), mask)


def naive_softmax_loss_and_grads(
    center_vecs: torch.Tensor, outside_ids: torch.Tensor, outside_matrix: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Naive-softmax loss of a batch of (center, outside) pairs, and its gradients.

    center_vecs:    (B, d)  v_c
    outside_ids:    (B,)    o, the index of the true outside word
    outside_matrix: (V, d)  U, every outside vector (the softmax runs over the whole vocabulary)

    ŷ = softmax(U v_c), J = -log ŷ_o
    ∂J/∂v_c = Uᵀ(ŷ - y)     ∂J/∂U = (ŷ - y) v_cᵀ   (y the one-hot of o; summed over the batch)

    Returns loss (B,), grad_center (B, d), grad_outside_matrix (V, d): dense, O(V d) per
    batch, which is why real vocabularies use negative sampling or hierarchical softmax.
    """
    scores = center_vecs @ outside_matrix.T  # (B, V)
    log_probs = torch.log_softmax(scores, dim=1)
    rows = torch.arange(len(outside_ids), device=scores.device)
    loss = -log_probs[rows, outside_ids]
    delta = log_probs.exp()  # ŷ
    delta[rows, outside_ids] -= 1  # ŷ - y
    return loss, delta @ outside_matrix, delta.T @ center_vecs


# ======================================================================================
# 2. The noise distribution (negative sampling) and the Huffman tree (hierarchical softmax)


def noise_distribution(counts: np.ndarray, exponent: float = 0.75) -> np.ndarray:
    """P_n(w) ∝ count(w)^exponent, float64 (V,). 0.75 flattens Zipf: rare words drawn more."""
    weights = np.asarray(counts, dtype=np.float64) ** exponent
    return weights / weights.sum()


def alias_table(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table: O(1) draws from a discrete distribution over V outcomes.

    Draw i uniformly in [0, V) and x uniformly in [0, 1): the sample is i if x < accept[i],
    else alias[i]. Returns accept float32 (V,), alias int32 (V,).
    """
    n = len(probs)
    scaled = np.asarray(probs, dtype=np.float64) * n
    accept = np.ones(n, dtype=np.float64)
    alias = np.arange(n, dtype=np.int32)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, l = small.pop(), large.pop()
        accept[s], alias[s] = scaled[s], l
        scaled[l] -= 1.0 - scaled[s]
        (small if scaled[l] < 1.0 else large).append(l)
    return accept.astype(np.float32), alias


@dataclass
class HuffmanTree:
    """A binary Huffman tree over the vocabulary; frequent words get short codes.

    codes:   uint8 (V, L)  the branch (0/1) taken at each inner node on the path to each word
    points:  int32 (V, L)  the inner-node ids on that path, root first (rows of the node matrix)
    lengths: int32 (V,)    the path length of each word (codes/points are zero-padded to L)
    There are V - 1 inner nodes, numbered 0 .. V-2 with the root last.
    """

    codes: np.ndarray
    points: np.ndarray
    lengths: np.ndarray

    @property
    def num_inner_nodes(self) -> int:
        return len(self.lengths) - 1


def huffman_tree(counts: np.ndarray) -> HuffmanTree:
    """Build the Huffman tree of the word counts (as word2vec.c: merge the two rarest nodes)."""
    counts = np.asarray(counts, dtype=np.int64)
    vocab_size = len(counts)
    if vocab_size < 2:
        raise ValueError("hierarchical softmax needs at least two words in the vocabulary")
    # Heap entries (count, tiebreak, node): leaves are 0..V-1, inner nodes V..2V-2.
    heap = [(int(c), i, i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    parent = np.zeros(2 * vocab_size - 1, dtype=np.int64)
    branch = np.zeros(2 * vocab_size - 1, dtype=np.uint8)
    next_node = vocab_size
    while len(heap) > 1:
        count_a, _, a = heapq.heappop(heap)
        count_b, _, b = heapq.heappop(heap)
        parent[a], parent[b] = next_node, next_node
        branch[b] = 1  # the more frequent child is the "1" branch, as in word2vec.c
        heapq.heappush(heap, (count_a + count_b, next_node, next_node))
        next_node += 1
    root = 2 * vocab_size - 2
    paths = []
    for word in range(vocab_size):
        codes, points, node = [], [], word
        while node != root:
            codes.append(branch[node])
            points.append(parent[node] - vocab_size)
            node = parent[node]
        paths.append((codes[::-1], points[::-1]))
    depth = max(len(c) for c, _ in paths)
    tree = HuffmanTree(
        codes=np.zeros((vocab_size, depth), dtype=np.uint8),
        points=np.zeros((vocab_size, depth), dtype=np.int32),
        lengths=np.array([len(c) for c, _ in paths], dtype=np.int32),
    )
    for word, (codes, points) in enumerate(paths):
        tree.codes[word, : len(codes)] = codes
        tree.points[word, : len(points)] = points
    return tree


# ======================================================================================
# 3. Windows and training examples (torch backend)


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


# ======================================================================================
# 4. The numba backend: one pair at a time, as word2vec.c, on NumPy views of the tensors

if numba is not None:
    # Every fast-math flag except "no NaNs / no infs": a diverging run must still show NaN.
    _FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
    _jit = numba.njit(nogil=True, cache=True, fastmath=_FASTMATH)
    _inline = numba.njit(nogil=True, cache=True, fastmath=_FASTMATH, inline="always")

    @_inline
    def _random_u64(state):
        """splitmix64: the next 64 random bits; `state` is a uint64 array of length 1."""
        state[0] += np.uint64(0x9E3779B97F4A7C15)
        z = state[0]
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))

    @_inline
    def _random_below(state, n):
        """A uniform integer in [0, n) (n < 2**32), by multiply-shift of 32 random bits."""
        return np.int64(((_random_u64(state) >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))

    @_inline
    def _draw_negative(state, accept, alias):
        """One word from the noise distribution, via the alias table."""
        bits = _random_u64(state)
        slot = np.int64(((bits >> np.uint64(32)) * np.uint64(accept.shape[0])) >> np.uint64(32))
        coin = np.float32(bits & np.uint64(0xFFFFFFFF)) * np.float32(2.3283064365386963e-10)
        return slot if coin < accept[slot] else np.int64(alias[slot])

    @_inline
    def _sigmoid_and_loss(f, label, measure):
        """(σ(f), -log σ(±f)): the logistic term of score f for label 1 or 0, computed stably
        from e = exp(-|f|). The loss is 0.0 unless `measure` (the log costs as much as a step)."""
        e = math.exp(-abs(f))  # σ(|f|) = 1 / (1 + e)
        sig = 1.0 / (1.0 + e) if f >= 0 else e / (1.0 + e)
        loss = 0.0
        if measure:
            margin = f if label == 1 else -f
            loss = math.log1p(e) + max(-margin, 0.0)
        return sig, loss

    @_inline
    def _reduced_window(state, i, window, n_tokens):
        """word2vec's dynamic window around position i: b ~ U{1..window} words each side, so
        near words are seen more often than far ones. Returns the positions lo..hi-1."""
        b = 1 + _random_below(state, window)
        return max(0, i - b), min(n_tokens, i + b + 1)

    @_inline
    def _logistic_step(x, outside, t, label, alpha, grad_x, measure):
        """One binary logistic term for input x (v_c or the CBOW mean) and target row u_t.

        g = α (y - σ(u_t·x)); u_t += g x; grad_x += g u_t (x is updated by the caller, once
        all targets of the example are done, as word2vec.c does). Returns the term's loss
        -log σ(±u_t·x) when `measure`, else 0 (the log costs as much as the update).
        """
        d = x.shape[0]
        f = np.float32(0.0)
        for k in range(d):
            f += x[k] * outside[t, k]
        sig, loss = _sigmoid_and_loss(f, label, measure)
        g = np.float32(alpha * (label - sig))
        for k in range(d):
            u = outside[t, k]
            grad_x[k] += g * u
            outside[t, k] = u + g * x[k]
        return loss

    @_inline
    def _example_loss(x, outside, target, use_hs, negative, accept, alias, points, codes, lengths,
                      alpha, grad_x, state, measure):
        """All logistic terms of one example (input x predicting word `target`).

        Returns (loss, terms): the summed loss and how many terms it sums (0, 0 unless `measure`).
        """
        loss = 0.0
        if use_hs:
            for n in range(lengths[target]):
                loss += _logistic_step(x, outside, points[target, n], 1 - codes[target, n], alpha, grad_x, measure)
            return loss, np.int64(lengths[target]) if measure else np.int64(0)
        loss += _logistic_step(x, outside, target, 1, alpha, grad_x, measure)
        for _ in range(negative):
            noise = _draw_negative(state, accept, alias)
            if noise != target:  # word2vec.c skips a draw of the true word
                loss += _logistic_step(x, outside, noise, 0, alpha, grad_x, measure)
        return loss, np.int64(1 + negative) if measure else np.int64(0)

    @_jit
    def _train_chunk_numba(
        cbow, use_hs, ids, sentence_ids, start, stop, window, negative, center, outside,
        accept, alias, points, codes, lengths, alpha, seed, loss_every,
    ):
        """Train on the centers at positions start..stop-1.

        Returns (loss sum, logistic terms) over the centers at every loss_every-th position:
        an estimate of the loss per term at a fraction of the cost.
        """
        n_tokens = ids.shape[0]
        d = center.shape[1]
        grad_x = np.zeros(d, dtype=np.float32)
        mean = np.zeros(d, dtype=np.float32)
        state = np.full(1, seed, dtype=np.uint64)
        loss, terms = 0.0, 0
        for i in range(start, stop):
            lo, hi = _reduced_window(state, i, window, n_tokens)
            c = ids[i]
            measure = i % loss_every == 0
            if not cbow:  # skip-gram: v_c predicts each outside word u_o in turn
                for j in range(lo, hi):
                    if j == i or sentence_ids[j] != sentence_ids[i]:
                        continue
                    grad_x[:] = 0
                    l, t = _example_loss(center[c], outside, ids[j], use_hs, negative, accept, alias,
                                         points, codes, lengths, alpha, grad_x, state, measure)
                    loss += l
                    terms += t
                    for k in range(d):
                        center[c, k] += grad_x[k]
            else:  # CBOW: the mean of the window's v's predicts u_c
                mean[:] = 0
                count = 0
                for j in range(lo, hi):
                    if j != i and sentence_ids[j] == sentence_ids[i]:
                        for k in range(d):
                            mean[k] += center[ids[j], k]
                        count += 1
                if count == 0:
                    continue
                for k in range(d):
                    mean[k] /= count
                grad_x[:] = 0
                l, t = _example_loss(mean, outside, c, use_hs, negative, accept, alias,
                                     points, codes, lengths, alpha, grad_x, state, measure)
                loss += l
                terms += t
                # word2vec.c and gensim add the whole gradient of the mean to every context
                # vector (not 1/count of it): a larger step for the context words.
                for j in range(lo, hi):
                    if j != i and sentence_ids[j] == sentence_ids[i]:
                        for k in range(d):
                            center[ids[j], k] += grad_x[k]
        return loss, terms


    _SIGMOID_LIMIT = 6.0  # word2vec.c's MAX_EXP: beyond it σ is taken as 0 or 1
    _SIGMOID_TABLE = (1.0 / (1.0 + np.exp(-np.linspace(-6.0, 6.0, 1001)))).astype(np.float32)

    @_inline
    def _table_sigmoid(f):
        """σ(f) from a 1001-entry table on [-6, 6] (word2vec.c's expTable), 0 or 1 outside."""
        if f >= _SIGMOID_LIMIT:
            return np.float32(1.0)
        if f <= -_SIGMOID_LIMIT:
            return np.float32(0.0)
        return _SIGMOID_TABLE[int((f + _SIGMOID_LIMIT) * (1000.0 / (2 * _SIGMOID_LIMIT)) + 0.5)]

    @_inline
    def _shared_sigmoid(f, label, measure):
        """The shared-negatives kernels' σ: exact, with the loss, on measured centers; from the
        table (and loss 0.0) on the others."""
        if measure:
            return _sigmoid_and_loss(f, label, True)
        return _table_sigmoid(f), 0.0

    @_inline
    def _window_terms(x, outside, targets, n_targets, scores, alpha, grad_x, measure):
        """The K+1 logistic terms of one window: input x (the CBOW mean h) against the rows
        u_t of `targets` (the center first, label 1; then the noise words, label 0).

        All scores u_t·x are taken before any row moves: K+1 independent dot products that
        the CPU overlaps, where a step-by-step loop waits for each σ before the next product.
        This is word2vec.c's result unless a noise word is drawn twice in one window (then both
        terms see its starting value). grad_x += Σ g_t u_t, u_t += g_t x. `scores` is scratch
        of length ≥ n_targets. Returns the summed loss (0.0 unless `measure`)."""
        d = x.shape[0]
        for t in range(n_targets):
            u = outside[targets[t]]
            f = np.float32(0.0)
            for k in range(d):
                f += x[k] * u[k]
            scores[t] = f
        loss = 0.0
        for t in range(n_targets):
            label = 1.0 if t == 0 else 0.0
            sig, term_loss = _shared_sigmoid(scores[t], label, measure)
            loss += term_loss
            scores[t] = np.float32(alpha * (label - sig))  # g_t
        for t in range(n_targets):
            u = outside[targets[t]]
            g = scores[t]
            for k in range(d):
                u_k = u[k]
                grad_x[k] += g * u_k
                u[k] = u_k + g * x[k]
        return loss

    @_jit
    def _train_chunk_shared_negatives(ids, sentence_ids, start, stop, window, negative, center, outside,
                                      accept, alias, alpha, seed, loss_every):
        """Skip-gram with negative sampling, K noise words shared by a whole window (Ji et al.
        2016, pWord2Vec). Same contract as `_train_chunk_numba`.

        For the window around center c with context words o_1..o_n, the n input rows v_o (as in
        word2vec.c's skip-gram, the context word is the input) meet K+1 output rows: u_c
        (label 1) and the K noise words u_k (label 0), drawn once for the window instead of
        once per pair. That is the product of an (n, d) and a (d, K+1) matrix: each output row
        is read once per window and stays in cache for all n inputs, where the per-pair loop
        fetches n(K+1) rows from all over U. Gradients are taken at the window's starting
        values and added once (a minibatch of n pairs).
        """
        n_tokens = ids.shape[0]
        d = center.shape[1]
        inputs = np.zeros((2 * window, d), dtype=np.float32)  # v_o of the window's context words
        grad_inputs = np.zeros((2 * window, d), dtype=np.float32)
        grad_output = np.zeros(d, dtype=np.float32)
        context = np.zeros(2 * window, dtype=np.int64)
        targets = np.zeros(negative + 1, dtype=np.int64)
        state = np.full(1, seed, dtype=np.uint64)
        loss, terms = 0.0, 0
        for i in range(start, stop):
            lo, hi = _reduced_window(state, i, window, n_tokens)
            c = ids[i]
            n = 0
            for j in range(lo, hi):
                if j != i and sentence_ids[j] == sentence_ids[i]:
                    context[n] = ids[j]
                    for k in range(d):
                        inputs[n, k] = center[ids[j], k]
                        grad_inputs[n, k] = 0.0
                    n += 1
            if n == 0:
                continue
            targets[0] = c
            n_targets = 1
            for _ in range(negative):
                noise = _draw_negative(state, accept, alias)
                if noise != c:  # as word2vec.c, a draw of the true word is skipped
                    targets[n_targets] = noise
                    n_targets += 1
            measure = i % loss_every == 0
            for t in range(n_targets):
                row = targets[t]
                label = 1.0 if t == 0 else 0.0
                grad_output[:] = 0.0
                for r in range(n):
                    f = np.float32(0.0)
                    for k in range(d):
                        f += inputs[r, k] * outside[row, k]
                    sig, l = _shared_sigmoid(f, label, measure)
                    loss += l
                    terms += measure
                    g = np.float32(alpha * (label - sig))
                    for k in range(d):
                        grad_inputs[r, k] += g * outside[row, k]
                        grad_output[k] += g * inputs[r, k]
                for k in range(d):
                    outside[row, k] += grad_output[k]
            for r in range(n):
                for k in range(d):
                    center[context[r], k] += grad_inputs[r, k]
        return loss, terms

    @_jit
    def _train_chunk_cbow_batched(cbow_batch, ids, sentence_ids, start, stop, window, negative, center, outside,
                                  accept, alias, alpha, seed, loss_every, share_negatives=False):
        """CBOW with negative sampling, `cbow_batch` consecutive windows at a time. Same
        contract as `_train_chunk_numba`.

        Window b of a batch takes the mean h_b of its context vectors v_o, read at the batch's
        start, and predicts its center u_c (label 1) and K noise words (label 0), with σ from
        word2vec.c's table except on the centers where the loss is measured. Consecutive
        windows share most of their context words, so each position's gradient is summed over
        the batch's windows and added to its v once: one write per position instead of one per
        window it falls in (a minibatch of windows for V).

        share_negatives=False: each window draws its own K noise words, and the output rows u
        are updated window by window, as word2vec.c does (a window's K+1 scores are all taken
        before its rows move: `_window_terms`). True: K noise words are drawn once
        per batch and shared by its windows (pWord2Vec's idea, Ji et al. 2016, applied to
        CBOW): each noise row u_k meets every h_b of the batch while it is in cache, and gets
        its summed gradient once. A window whose center is one of the draws skips that term.
        """
        n_tokens = ids.shape[0]
        d = center.shape[1]
        span = cbow_batch + 2 * window  # the positions a batch's windows can reach
        hidden = np.zeros((cbow_batch, d), dtype=np.float32)  # h_b
        grad_hidden = np.zeros((cbow_batch, d), dtype=np.float32)  # dL/dh_b times -alpha
        grad_noise = np.zeros(d, dtype=np.float32)  # a shared noise row's summed step
        # A window's context is a run of positions minus its center (clipped to its sentence),
        # so sums over it come from prefix sums over the batch's span: O(d) per window, not
        # O(window d). prefix[s] = Σ v at positions base..base+s-1; `delta` and `cover` are
        # difference arrays of the context gradient and of how many windows cover a position.
        prefix = np.zeros((span + 1, d), dtype=np.float32)
        delta = np.zeros((span + 1, d), dtype=np.float32)
        cover = np.zeros(span + 1, dtype=np.int64)
        running = np.zeros(d, dtype=np.float32)
        lows = np.zeros(cbow_batch, dtype=np.int64)
        highs = np.zeros(cbow_batch, dtype=np.int64)
        noise = np.zeros(negative, dtype=np.int64)
        targets = np.zeros(negative + 1, dtype=np.int64)  # one window's u_c and u_k
        scores = np.zeros(negative + 1, dtype=np.float32)
        state = np.full(1, seed, dtype=np.uint64)
        loss, terms = 0.0, 0
        for first in range(start, stop, cbow_batch):
            size = min(cbow_batch, stop - first)
            base = first - window
            s_lo, s_hi = max(0, base) - base, min(n_tokens, first + size + window) - base
            prefix[s_lo, :] = 0.0
            for slot in range(s_lo, s_hi):  # every v read at the batch's start
                v, below, above = center[ids[base + slot]], prefix[slot], prefix[slot + 1]
                for k in range(d):
                    above[k] = below[k] + v[k]
            for b in range(size):  # h_b = the mean of window b's context vectors
                i = first + b
                lo, hi = _reduced_window(state, i, window, n_tokens)
                while sentence_ids[lo] != sentence_ids[i]:
                    lo += 1
                while sentence_ids[hi - 1] != sentence_ids[i]:
                    hi -= 1
                lows[b], highs[b] = lo, hi
                grad_hidden[b, :] = 0.0
                count = hi - lo - 1
                if count == 0:
                    highs[b] = lows[b]  # nothing to predict from
                    continue
                h, v, top, bottom = hidden[b], center[ids[i]], prefix[hi - base], prefix[lo - base]
                inverse = np.float32(1.0 / count)
                for k in range(d):
                    h[k] = (top[k] - bottom[k] - v[k]) * inverse
            for b in range(size):  # each window's center and (unshared) its own K noise words
                i = first + b
                if highs[b] == lows[b]:
                    continue
                targets[0] = ids[i]
                n_targets = 1
                if not share_negatives:
                    for _ in range(negative):
                        row = _draw_negative(state, accept, alias)
                        if row != ids[i]:  # as word2vec.c, a draw of the true word is skipped
                            targets[n_targets] = row
                            n_targets += 1
                measure = i % loss_every == 0
                loss += _window_terms(hidden[b], outside, targets, n_targets, scores, alpha, grad_hidden[b], measure)
                terms += n_targets if measure else 0
            if share_negatives:
                for n in range(negative):
                    noise[n] = _draw_negative(state, accept, alias)
                for n in range(negative):
                    row = noise[n]
                    grad_noise[:] = 0.0
                    for b in range(size):
                        i = first + b
                        if highs[b] == lows[b] or row == ids[i]:
                            continue
                        f = np.float32(0.0)
                        for k in range(d):
                            f += hidden[b, k] * outside[row, k]
                        measure = i % loss_every == 0
                        sig, l = _shared_sigmoid(f, 0.0, measure)
                        loss += l
                        terms += measure
                        g = np.float32(-alpha * sig)
                        for k in range(d):
                            grad_hidden[b, k] += g * outside[row, k]
                            grad_noise[k] += g * hidden[b, k]
                    for k in range(d):
                        outside[row, k] += grad_noise[k]
            # As word2vec.c and gensim, every context vector gets the whole gradient of the mean:
            # position j gets the sum of grad_hidden[b] over the windows b it is in.
            delta[s_lo:s_hi + 1, :] = 0.0
            cover[s_lo:s_hi + 1] = 0
            for b in range(size):
                if highs[b] == lows[b]:
                    continue
                a, z, c = lows[b] - base, highs[b] - base, first + b - base
                cover[a] += 1
                cover[z] -= 1
                cover[c] -= 1
                cover[c + 1] += 1
                g, at_a, at_z, at_c, after_c = grad_hidden[b], delta[a], delta[z], delta[c], delta[c + 1]
                for k in range(d):
                    at_a[k] += g[k]
                    at_z[k] -= g[k]
                    at_c[k] -= g[k]
                    after_c[k] += g[k]
            running[:] = 0.0
            covered = 0
            for slot in range(s_lo, s_hi):
                covered += cover[slot]
                step = delta[slot]
                for k in range(d):
                    running[k] += step[k]
                if covered > 0:
                    v = center[ids[base + slot]]
                    for k in range(d):
                        v[k] += running[k]
        return loss, terms


def numba_available() -> bool:
    return numba is not None


# ======================================================================================
# 5. The trainer


@dataclass
class Word2VecConfig:
    """Every setting of a run (saved in checkpoints). Defaults are gensim's / word2vec.c's.

    vector_size: d, the dimension of the vectors
    window:      the maximum window; each center uses b ~ Uniform{1..window}
    architecture: "skipgram" (v_c predicts each u_o) or "cbow" (mean of the window predicts u_c)
    loss:        "negative", "hierarchical" or "softmax" (naive; small vocabularies only)
    negative:    K, noise words per positive pair; ns_exponent: P_n ∝ count^ns_exponent
    sample:      subsampling threshold for frequent words (0 keeps every token)
    min_count, max_vocab_size: vocabulary cut-offs
    alpha, min_alpha: the learning rate decays linearly from alpha to min_alpha over training
    epochs:      passes over the corpus
    vectors:     what `word_vectors()` returns: "center" (v) or "average" ((v + u) / 2)
    backend:     "numba" (CPU, per pair), "torch" (batched, any device) or "auto"
    device:      torch device for the torch backend ("auto": CUDA when available)
    batch_size:  pairs (skip-gram) or centers (CBOW) per step of the torch backend
                 (None: 1024 on CPU, 4096 on GPU, at most 1/32 of an epoch's examples)
    max_row_repeats: torch backend: a row that occurs n times in a batch gets its summed
                 update scaled by max_row_repeats / n when n is larger (see `scatter_rows`)
    workers:     Hogwild threads of the numba backend (1: deterministic)
    shared_negatives: numba backend, negative sampling: draw the K noise words once and share
                 them (pWord2Vec, Ji et al. 2016: each noise row is used many times while in
                 cache, faster). Skip-gram: across a window's context words (equal quality);
                 CBOW: across the cbow_batch windows of a batch (faster still, but it measured
                 0.06 lower analogy accuracy at K = 5: benchmarks/README.md). False (default):
                 K fresh draws for every pair or window, word2vec.c's algorithm as lecture 03
                 and homework 2 teach it
    cbow_batch:  numba backend, CBOW with negative sampling: windows trained at a time. 1
                 (default): one window at a time, word2vec.c's algorithm. n > 1: n consecutive
                 windows read their context vectors at the batch's start and each position's
                 summed gradient is written once (faster; 16 is what benchmarks/README.md measured)
    seed:        seeds initialisation, subsampling, windows and negative samples
    """

    vector_size: int = 100
    window: int = 5
    architecture: str = "skipgram"
    loss: str = "negative"
    negative: int = 5
    ns_exponent: float = 0.75
    sample: float = 1e-3
    min_count: int = 5
    max_vocab_size: int | None = None
    alpha: float = 0.025
    min_alpha: float = 0.0001
    epochs: int = 5
    vectors: str = "center"
    backend: str = "auto"
    device: str = "auto"
    batch_size: int | None = None
    max_row_repeats: int | None = 64
    workers: int = 1
    shared_negatives: bool = False
    cbow_batch: int = 1
    seed: int = 0

    def validate(self) -> None:
        def choice(name, allowed):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")

        choice("architecture", ARCHITECTURES)
        choice("loss", LOSSES)
        choice("backend", BACKENDS)
        choice("vectors", ("center", "average"))
        for name in ("vector_size", "window", "epochs", "workers", "min_count"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.loss == "negative" and self.negative < 1:
            raise ValueError("negative sampling needs negative >= 1 noise words per pair")
        if not (self.alpha > 0 and 0 <= self.min_alpha <= self.alpha):
            raise ValueError(f"need alpha > 0 and 0 <= min_alpha <= alpha (got {self.alpha}, {self.min_alpha})")
        if self.vectors == "average" and self.loss == "hierarchical":
            raise ValueError(
                "vectors='average' needs one outside vector per word; hierarchical softmax has "
                "one per tree node instead. Use vectors='center'."
            )
        if self.backend == "numba" and numba is None:
            raise ValueError("backend='numba' needs the numba package (pip install numba)")
        if self.backend == "numba" and self.loss == "softmax":
            raise ValueError("the naive softmax runs on the torch backend only (backend='torch')")
        if self.shared_negatives and self.loss != "negative":
            raise ValueError(f"shared_negatives shares noise words: it needs loss='negative' (got {self.loss!r})")
        if int(self.cbow_batch) != self.cbow_batch or self.cbow_batch < 1:
            raise ValueError(f"cbow_batch must be a positive integer (1: word2vec.c's algorithm), not {self.cbow_batch!r}")
        if self.cbow_batch > 1 and (self.architecture, self.loss, self.backend) not in (
                ("cbow", "negative", "numba"), ("cbow", "negative", "auto")):
            raise ValueError("cbow_batch > 1 is a numba-backend kernel for CBOW with negative sampling "
                             f"(got architecture={self.architecture!r}, loss={self.loss!r}, backend={self.backend!r})")
        if self.shared_negatives and self.backend == "torch":
            raise ValueError("shared_negatives is a numba-backend kernel: use backend='numba' or 'auto' on the CPU")


@dataclass
class _Epoch:
    """One epoch's training data after subsampling, and its random draws."""

    ids: np.ndarray  # int32 (N',) kept tokens
    sentence_ids: np.ndarray  # int32 (N',)
    seed: int


class _Subsampler:
    """`utils.corpus.subsample`, epoch after epoch, with what the epochs share computed once:
    each token's keep probability and sentence (the same draws, so the same tokens are kept)."""

    def __init__(self, encoded: EncodedCorpus, sample: float):
        self.keep_probability = keep_probabilities(encoded.vocab.counts, sample)[encoded.ids]  # float64 (N,)
        self.ids = encoded.ids.astype(np.int32, copy=False)
        self.sentence_ids = encoded.sentence_ids().astype(np.int32)

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(ids, sentence_ids) of the tokens this draw keeps, int32 (N',) each."""
        keep = rng.random(self.ids.shape[0]) < self.keep_probability
        return self.ids[keep], self.sentence_ids[keep]


class Word2Vec:
    """A word2vec model: its vocabulary, its two matrices and how it is trained.

    Word2Vec(**settings) takes the fields of `Word2VecConfig`. Then
        wv = model.fit(sentences)         # build the vocabulary, train, return WordVectors
    or, step by step,
        model.build_vocab(sentences); model.train(sentences, checkpoint="w2v.pt")
    and after an interruption
        Word2Vec.load_checkpoint("w2v.pt").train(sentences, checkpoint="w2v.pt")
    continues where the checkpoint left off, with the same result as an uninterrupted run.

    center_vectors:  torch (V, d) float32, v_w
    outside_vectors: torch (V, d) float32, u_w (hierarchical softmax: (V-1, d), one per inner node)
    """

    def __init__(self, **settings):
        self.config = Word2VecConfig(**settings)
        self.config.validate()
        self.vocab: Vocabulary | None = None
        self.center_vectors: torch.Tensor | None = None
        self.outside_vectors: torch.Tensor | None = None
        self.epochs_done = 0
        self.history: list[dict] = []  # per epoch: loss per term, seconds, words/s
        self._reset_caches()

    def _reset_caches(self) -> None:
        """Forget everything derived from the vocabulary (tree, noise tables, corpus size)."""
        self._tree = None
        self._alias = None  # numba backend: (accept, alias) of the noise distribution
        self._sampler = None  # torch backend: AliasSampler on the device
        self._tree_tensors = None  # torch backend: (points, codes, lengths) on the device
        self._corpus_tokens = None

    # -- set-up --------------------------------------------------------------------------

    @property
    def backend(self) -> str:
        """The backend that will run: "auto" becomes numba on the CPU when it can."""
        cfg = self.config
        if cfg.backend != "auto":
            return cfg.backend
        if numba is not None and self.device.type == "cpu" and cfg.loss != "softmax":
            return "numba"
        return "torch"

    @property
    def device(self) -> torch.device:
        return torch.device("cpu") if self.config.backend == "numba" else resolve_device(self.config.device)

    def build_vocab(self, corpus: Sequence[Sequence[str]] | EncodedCorpus) -> "Word2Vec":
        """Count the words, keep the vocabulary and initialise the two matrices.

        v ~ Uniform(-0.5/d, 0.5/d) and u = 0, as word2vec.c: the first updates of u are then
        driven by the (random) v's, and no two words start alike.
        """
        cfg = self.config
        if isinstance(corpus, EncodedCorpus):
            self.vocab = corpus.vocab
        else:
            self.vocab = Vocabulary.build(corpus, min_count=cfg.min_count, max_size=cfg.max_vocab_size)
        vocab_size, d = len(self.vocab), cfg.vector_size
        generator = torch.Generator().manual_seed(cfg.seed)
        center = (torch.rand(vocab_size, d, generator=generator) - 0.5) / d
        n_outside = vocab_size - 1 if cfg.loss == "hierarchical" else vocab_size
        self.center_vectors = center.to(self.device)
        self.outside_vectors = torch.zeros(n_outside, d, device=self.device)
        self._reset_caches()
        self.epochs_done = 0
        self.history = []
        return self

    def _encode(self, corpus) -> EncodedCorpus:
        if isinstance(corpus, EncodedCorpus):
            if corpus.vocab is not self.vocab and corpus.vocab.index_to_key != self.vocab.index_to_key:
                raise ValueError("this EncodedCorpus uses a different vocabulary from the model's")
            return corpus
        return self.vocab.encode(corpus)

    @property
    def tree(self) -> HuffmanTree:
        if self._tree is None:
            self._tree = huffman_tree(self.vocab.counts)
        return self._tree

    # -- training ------------------------------------------------------------------------

    def fit(self, corpus, **train_options):
        """build_vocab + train; returns the WordVectors (see `word_vectors`)."""
        self.build_vocab(corpus)
        return self.train(corpus, **train_options)

    def train(
        self,
        corpus,
        *,
        checkpoint: str | Path | None = None,
        progress: bool = True,
        on_epoch_end=None,
    ):
        """Train the remaining epochs (all of them, or those after a checkpoint) on `corpus`.

        corpus:     sentences (lists of words) or an EncodedCorpus over the model's vocabulary
        checkpoint: a file to save the model to after every epoch (atomically)
        progress:   show a progress bar with the loss and words/second
        on_epoch_end: called as on_epoch_end(model) after every epoch (its history entry is
                    written): e.g. to measure the objective on held-out pairs as training goes
        Returns `word_vectors()`. Raises TrainingDivergedError if the loss becomes NaN/inf
        or explodes (almost always a learning rate that is too high).
        """
        if self.vocab is None:
            self.build_vocab(corpus)
        cfg = self.config
        encoded = self._encode(corpus)
        self._check_corpus(encoded)
        total_words = cfg.epochs * encoded.num_tokens
        bar = tqdm(
            total=total_words, initial=self.epochs_done * encoded.num_tokens, unit=" words",
            unit_scale=True, disable=not progress, desc=f"word2vec {cfg.architecture}/{cfg.loss}",
        )
        if (self.config.shared_negatives or self.config.cbow_batch > 1) and self.backend != "numba":
            raise ValueError("shared_negatives and cbow_batch > 1 run on the numba backend, but this run would "
                             f"use torch on {self.device}: pass backend='numba' (CPU), or leave them at their defaults")
        train_epoch = self._train_epoch_numba if self.backend == "numba" else self._train_epoch_torch
        subsampler = _Subsampler(encoded, cfg.sample)
        try:
            while self.epochs_done < cfg.epochs:
                epoch = self.epochs_done
                data = self._epoch_data(subsampler, epoch)
                start = time.perf_counter()
                loss, terms = train_epoch(data, epoch, bar)
                seconds = time.perf_counter() - start
                self.epochs_done += 1
                self.history.append({
                    "epoch": epoch, "loss": loss / max(terms, 1), "seconds": seconds,
                    "words_per_second": encoded.num_tokens / seconds,
                })
                if checkpoint is not None:
                    self.save_checkpoint(checkpoint)
                if on_epoch_end is not None:
                    on_epoch_end(self)
        finally:
            bar.close()
        return self.word_vectors()

    def _check_corpus(self, encoded: EncodedCorpus) -> None:
        expected = self._corpus_tokens
        if expected is not None and expected != encoded.num_tokens:
            raise ValueError(
                f"this model was trained on a corpus of {expected} tokens, not {encoded.num_tokens}: "
                "resume with the same corpus"
            )
        self._corpus_tokens = encoded.num_tokens

    def _epoch_data(self, subsampler: _Subsampler, epoch: int) -> _Epoch:
        """Subsample frequent words with this epoch's own generator (so resuming is exact)."""
        rng = np.random.default_rng([self.config.seed, epoch])
        ids, sentence_ids = subsampler.draw(rng)
        return _Epoch(ids=ids, sentence_ids=sentence_ids, seed=int(rng.integers(2**63)))

    def _alpha(self, epoch: int, fraction: float) -> float:
        """Linear decay from alpha to min_alpha over all epochs; `fraction` of this epoch done."""
        cfg = self.config
        progress = (epoch + fraction) / cfg.epochs
        return cfg.alpha - (cfg.alpha - cfg.min_alpha) * progress

    def _noise_probs(self) -> np.ndarray:
        return noise_distribution(self.vocab.counts, self.config.ns_exponent)

    def _report(self, bar, fraction: float, loss: float, terms: int, epoch: int, alpha: float) -> None:
        """Move the bar to `fraction` of epoch `epoch`; stop with a clear error if training diverged.

        loss, terms: the summed loss and the number of logistic (or softmax) terms since the
        last report.
        """
        per_term = loss / max(terms, 1)
        baseline = math.log(len(self.vocab)) if self.config.loss == "softmax" else math.log(2)
        if not math.isfinite(per_term) or per_term > 4 * baseline:
            raise self._diverged(epoch, per_term)
        bar.set_postfix(loss=f"{per_term:.4f}", lr=f"{alpha:.5f}", refresh=False)
        bar.update(round((epoch + fraction) * self._corpus_tokens) - bar.n)  # the bar shows words/s

    def _diverged(self, epoch: int, per_term: float) -> TrainingDivergedError:
        alpha = self.config.alpha
        return TrainingDivergedError(
            f"word2vec diverged in epoch {epoch + 1}: the loss per term is {per_term} "
            f"(a random model scores about {math.log(2):.3f}). The learning rate alpha={alpha:g} "
            f"is most likely too high; try alpha={alpha / 10:g} (word2vec uses 0.025 for "
            "skip-gram, 0.05 for CBOW)."
        )

    def _check_finite(self, epoch: int) -> None:
        for matrix in (self.center_vectors, self.outside_vectors):
            if not bool(torch.isfinite(matrix).all()):
                raise self._diverged(epoch, float("nan"))

    # -- numba backend -----------------------------------------------------------------

    CHUNK_TOKENS = 10_000  # centers per chunk: one learning rate and one random stream each
    BLOCK_CHUNKS = 48  # chunks between progress reports and divergence checks
    LOSS_EVERY = 8  # the reported loss is measured on every 8th center (1: on all of them)

    def _train_epoch_numba(self, data: _Epoch, epoch: int, bar) -> tuple[float, int]:
        """One epoch in chunks of CHUNK_TOKENS centers, each with its own learning rate and
        random stream, trained in order by one thread or by `workers` Hogwild threads."""
        cfg = self.config
        n = len(data.ids)
        bounds = np.append(np.arange(0, n, self.CHUNK_TOKENS), n).astype(np.int64)
        n_chunks = len(bounds) - 1
        alphas = np.array([self._alpha(epoch, bounds[k] / n) for k in range(n_chunks)], dtype=np.float32)
        seeds = np.random.default_rng(data.seed).integers(1, 2**63, size=n_chunks, dtype=np.int64).astype(np.uint64)
        cbow, use_hs = cfg.architecture == "cbow", cfg.loss == "hierarchical"
        center, outside = self.center_vectors.numpy(), self.outside_vectors.numpy()  # shared memory
        tables = self._numba_tables()

        def work(k):  # chunk k: the centers at positions bounds[k] .. bounds[k+1]-1
            if cbow and (cfg.cbow_batch > 1 or cfg.shared_negatives):
                return _train_chunk_cbow_batched(
                    cfg.cbow_batch, data.ids, data.sentence_ids, bounds[k], bounds[k + 1], cfg.window,
                    cfg.negative, center, outside, *tables[:2], alphas[k], seeds[k], self.LOSS_EVERY,
                    cfg.shared_negatives,
                )
            if cfg.shared_negatives:
                return _train_chunk_shared_negatives(
                    data.ids, data.sentence_ids, bounds[k], bounds[k + 1], cfg.window, cfg.negative,
                    center, outside, *tables[:2], alphas[k], seeds[k], self.LOSS_EVERY,
                )
            return _train_chunk_numba(
                cbow, use_hs, data.ids, data.sentence_ids, bounds[k], bounds[k + 1], cfg.window, cfg.negative,
                center, outside, *tables, alphas[k], seeds[k], self.LOSS_EVERY,
            )

        # Threads take the next chunk as they finish one (a slow thread on a busy machine
        # holds up nobody); results come back in chunk order for the reports.
        pool = ThreadPoolExecutor(cfg.workers) if cfg.workers > 1 else None
        results = pool.map(work, range(n_chunks)) if pool else map(work, range(n_chunks))
        total_loss, total_terms, loss, terms = 0.0, 0, 0.0, 0
        try:
            for k, (chunk_loss, chunk_terms) in enumerate(results):
                loss, terms = loss + chunk_loss, terms + chunk_terms
                if (k + 1) % self.BLOCK_CHUNKS == 0 or k + 1 == n_chunks:
                    self._report(bar, bounds[k + 1] / n, loss, terms, epoch, float(alphas[k]))
                    total_loss, total_terms, loss, terms = total_loss + loss, total_terms + terms, 0.0, 0
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)
        self._check_finite(epoch)
        return total_loss, total_terms

    def _numba_tables(self) -> tuple[np.ndarray, ...]:
        """(accept, alias, points, codes, lengths): the noise distribution's alias table for
        negative sampling, the Huffman tree for hierarchical softmax (the unused ones empty)."""
        if self.config.loss == "hierarchical":
            tree = self.tree
            return np.ones(1, np.float32), np.zeros(1, np.int32), tree.points, tree.codes, tree.lengths
        if self._alias is None:
            self._alias = alias_table(self._noise_probs())
        return (*self._alias, np.zeros((1, 1), np.int32), np.zeros((1, 1), np.uint8), np.zeros(1, np.int32))

    # -- torch backend -----------------------------------------------------------------

    CENTERS_PER_STEP_GROUP = 65_536  # centers whose pairs are generated at once

    def _train_epoch_torch(self, data: _Epoch, epoch: int, bar) -> tuple[float, int]:
        cfg = self.config
        device = self.device
        batch_size = self._torch_batch_size(len(data.ids))
        generator = torch.Generator(device=device).manual_seed(data.seed % 2**63)
        ids = torch.from_numpy(data.ids).long().to(device)
        sentence_ids = torch.from_numpy(data.sentence_ids).to(device)
        windows = torch.randint(1, cfg.window + 1, ids.shape, device=device, generator=generator)
        n = len(ids)
        total_loss, total_terms = 0.0, 0
        report_every = max(n // 20, self.CENTERS_PER_STEP_GROUP)
        pending_loss, pending_terms, pending_start = torch.zeros((), device=device), 0, 0
        for start in range(0, n, self.CENTERS_PER_STEP_GROUP):
            stop = min(start + self.CENTERS_PER_STEP_GROUP, n)
            alpha = self._alpha(epoch, start / n)
            if cfg.architecture == "skipgram":
                centers, outsides = skipgram_pairs(ids, sentence_ids, windows, start, stop, cfg.window)
                examples = (centers, outsides)
            else:
                examples = cbow_examples(ids, sentence_ids, windows, start, stop, cfg.window)
            n_examples = len(examples[0])
            for first in range(0, n_examples, batch_size):
                batch = [x[first : first + batch_size] for x in examples]
                fraction = (start + (stop - start) * first / max(n_examples, 1)) / n
                alpha = self._alpha(epoch, fraction)
                loss, terms = self._torch_step(batch, alpha, generator)
                pending_loss += loss
                pending_terms += terms
            if stop - pending_start >= report_every or stop == n:
                loss, terms = float(pending_loss), int(pending_terms)
                total_loss += loss
                total_terms += terms
                self._report(bar, stop / n, loss, terms, epoch, alpha)
                pending_loss, pending_terms, pending_start = torch.zeros((), device=device), 0, stop
        self._check_finite(epoch)
        return total_loss, total_terms

    def _torch_batch_size(self, n_tokens: int) -> int:
        """The configured batch, else the device's (1024 on CPU, 4096 on CUDA), but at most
        1/MIN_STEPS_PER_EPOCH of an epoch's examples: a small corpus still gets enough SGD steps
        (the 9,600-token planted corpus had 2 CBOW steps per epoch at 4,096 and learned nothing)."""
        cfg = self.config
        if cfg.batch_size:
            return cfg.batch_size
        default = 4096 if self.device.type == "cuda" else 1024
        # skip-gram: a center has 2b pairs, b uniform in 1..window, so window + 1 on average
        examples = n_tokens * (cfg.window + 1) if cfg.architecture == "skipgram" else n_tokens
        return max(1, min(default, examples // MIN_STEPS_PER_EPOCH))

    def _torch_step(self, batch, alpha: float, generator) -> tuple[torch.Tensor, int]:
        """One SGD step on a batch: gather rows, compute gradients, scatter-add -α·grad."""
        cfg = self.config
        V = self.center_vectors
        if cfg.architecture == "skipgram":
            centers, predicted = batch
            x = V.index_select(0, centers)  # v_c (B, d)
        else:
            predicted, contexts, mask = batch
            weights = mask.to(V.dtype)
            count = weights.sum(1, keepdim=True)
            x = (V[contexts] * weights.unsqueeze(2)).sum(1) / count  # mean of the window's v's
        loss, grad_x, terms = self._output_layer(x, predicted, alpha, generator)
        if cfg.architecture == "skipgram":
            scatter_rows(V, centers, grad_x, alpha, cfg.max_row_repeats)
        else:  # as word2vec.c: every context vector gets the whole gradient of the mean
            # padded slots (word 0, weight 0) add zero and are not counted: no boolean
            # indexing, which would sync a GPU on every step to size its result
            grads = grad_x.unsqueeze(1) * weights.unsqueeze(2)  # (B, 2w, d)
            scatter_rows(V, contexts.reshape(-1), grads.reshape(-1, grads.shape[2]), alpha, cfg.max_row_repeats,
                         weights=weights.reshape(-1))
        return loss, terms

    def _output_layer(self, x, predicted, alpha: float, generator):
        """Loss of predicting `predicted` from inputs x (B, d); updates U; returns ∂J/∂x."""
        cfg = self.config
        U = self.outside_vectors
        d = U.shape[1]
        if cfg.loss == "softmax":
            loss, grad_x, grad_U = naive_softmax_loss_and_grads(x, predicted, U)
            U.add_(grad_U, alpha=-alpha)
            return loss.sum(), grad_x, len(predicted)
        if cfg.loss == "negative":
            if self._sampler is None or self._sampler.accept.device != U.device:
                self._sampler = AliasSampler(self._noise_probs(), U.device)
            noise = self._sampler.sample((len(predicted), cfg.negative), generator)
            targets = torch.cat([predicted.unsqueeze(1), noise], dim=1)  # (B, 1+K)
            labels = torch.zeros(targets.shape[1], device=U.device)
            labels[0] = 1
            mask = None
            terms = targets.numel()
        else:
            if self._tree_tensors is None or self._tree_tensors[0].device != U.device:
                tree = self.tree
                self._tree_tensors = tuple(
                    torch.from_numpy(a).long().to(U.device) for a in (tree.points, tree.codes, tree.lengths)
                )
            points, codes, lengths = self._tree_tensors
            targets = points[predicted]
            labels = 1 - codes[predicted]
            mask = torch.arange(points.shape[1], device=U.device) < lengths[predicted].unsqueeze(1)
            terms = lengths[predicted].sum()  # a tensor: no device sync per step
        u = U[targets]  # (B, T, d)
        loss, grad_x, grad_u = binary_logistic_loss_and_grads(x, u, labels, mask)
        scatter_rows(U, targets.reshape(-1), grad_u.reshape(-1, d), alpha, cfg.max_row_repeats)
        return loss.sum(), grad_x, terms

    # -- results and checkpoints ---------------------------------------------------------

    def word_vectors(self):
        """The trained vectors as a utils.vectors.WordVectors (center, or (v + u) / 2)."""
        from utils.vectors import WordVectors

        vectors = self.center_vectors
        if self.config.vectors == "average":
            vectors = (vectors + self.outside_vectors) / 2
        return WordVectors(
            vectors.detach().cpu().numpy().astype(np.float32, copy=True),
            list(self.vocab.index_to_key),
            counts=self.vocab.counts.copy(),
        )

    def save_checkpoint(self, path: str | Path) -> None:
        """Save everything needed to continue training (written atomically)."""
        checkpoint.save_checkpoint(
            path, kind="word2vec", version=CHECKPOINT_VERSION, config=self.config, vocab=self.vocab,
            tensors={"center_vectors": self.center_vectors, "outside_vectors": self.outside_vectors},
            epochs_done=self.epochs_done, corpus_tokens=self._corpus_tokens, history=self.history)

    @classmethod
    def load_checkpoint(cls, path: str | Path, **overrides) -> "Word2Vec":
        """A model as saved by `save_checkpoint`; `overrides` may change e.g. device or workers."""
        state, vocab = checkpoint.load_checkpoint(path, kind="word2vec", version=CHECKPOINT_VERSION)
        model = cls(**{**state["config"], **overrides})
        model.vocab = vocab
        model.center_vectors = state["tensors"]["center_vectors"].to(model.device)
        model.outside_vectors = state["tensors"]["outside_vectors"].to(model.device)
        model.epochs_done = state["epochs_done"]
        model._corpus_tokens = state["corpus_tokens"]
        model.history = list(state["history"])
        return model


def train_word2vec(corpus, **settings):
    """Train word2vec on `corpus` (sentences or an EncodedCorpus); returns WordVectors.

    Settings are those of `Word2VecConfig`, plus `progress`/`checkpoint` for `Word2Vec.train`.
    """
    train_options = {k: settings.pop(k) for k in ("progress", "checkpoint") if k in settings}
    return Word2Vec(**settings).fit(corpus, **train_options)
