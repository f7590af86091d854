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
Three backends run the same algorithm:
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
- "triton" (negative sampling, for CUDA): one fused kernel launch per group of centers; each
  of its thousands of programs trains a few centers pair by pair, as a word2vec.c thread, and
  all of them update the shared matrices with atomics (Hogwild). No per-step launches from
  Python and no batch of stale rows. Without CUDA, Triton's interpreter runs it (tests only).

The package, one idea per module (everything public is imported here):
    losses     the losses and their gradients for a batch (pure functions)
    sampling   the noise distribution, its alias table, the Huffman tree
    batches    the torch backend's windows, examples, device sampler and sparse row update
    kernels    the numba backend's compiled loops
    fused      the triton backend's kernels (imported only when that backend runs)
    model      Word2VecConfig, Word2Vec (training, checkpoints), train_word2vec

Quick start:
    from utils.word2vec import Word2Vec
    wv = Word2Vec(vector_size=50, min_count=5, epochs=5).fit(sentences)   # a WordVectors
"""

from utils.word2vec.batches import (AliasSampler, cbow_examples, scatter_rows, skipgram_pairs, window_candidates,
                                    window_offsets)
from utils.word2vec.kernels import numba_available
from utils.word2vec.losses import (binary_logistic_loss_and_grads, hierarchical_softmax_loss_and_grads,
                                   naive_softmax_loss_and_grads, neg_sampling_loss_and_grads)
from utils.word2vec.model import (ARCHITECTURES, BACKENDS, LOSSES, MIN_STEPS_PER_EPOCH, TrainingDivergedError,
                                  Word2Vec, Word2VecConfig, train_word2vec)
from utils.word2vec.sampling import HuffmanTree, alias_table, huffman_tree, noise_distribution

__all__ = ["Word2Vec", "Word2VecConfig", "train_word2vec", "TrainingDivergedError",
           "ARCHITECTURES", "LOSSES", "BACKENDS", "MIN_STEPS_PER_EPOCH",
           "binary_logistic_loss_and_grads", "neg_sampling_loss_and_grads", "hierarchical_softmax_loss_and_grads",
           "naive_softmax_loss_and_grads", "noise_distribution", "alias_table", "HuffmanTree", "huffman_tree",
           "window_offsets", "window_candidates", "skipgram_pairs", "cbow_examples", "scatter_rows",
           "AliasSampler", "numba_available"]
