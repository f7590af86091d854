"""The noise distribution P_n(w) ∝ count(w)^0.75 and its alias table (negative sampling), and the
Huffman tree over the counts (hierarchical softmax)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np


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
