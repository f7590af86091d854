"""Co-occurrence counting (window-based and word–document) and the count transforms of lecture 2.

Everything here is vectorised: counting loops over the window offsets d = 1..window_size,
never over tokens, and processes the corpus in chunks of tokens so memory stays bounded
(each chunk's pairs become a small sparse matrix that is added to the running total).

Matrices are `scipy.sparse.csr_matrix`. Rows and columns are word ids of the corpus'
vocabulary, which is frequency ordered (id 0 the most frequent word), so "the k most
frequent words" are simply ids 0..k-1: `top_rows=k` keeps rows 0..k-1, `top_contexts=k`
keeps columns 0..k-1 (the GloVe paper's X_trunc keeps the 10,000 most frequent contexts).

Window-based co-occurrence ("word space", CS224N homework 1, GloVe, COALS):

    X[a, b] = Σ over token pairs (i, j) with ids[i] = a, ids[j] = b, 1 <= |i - j| <= m
              of weight(|i - j|)

with m = `window_size` and the window symmetric, so X = X^T when neither rows nor
contexts are truncated. Pairs stay inside one sentence unless `across_sentences=True`.
Weights: none (plain counts), "harmonic" 1/d (GloVe), "ramped" m + 1 - d (COALS: a
window of 4 weighs distances 1..4 as 4, 3, 2, 1), or any sequence of m numbers.

Word–document co-occurrence ("document space", LSA): X[w, doc] = count of w in doc.

Transforms, each keeping the sparsity of X wherever the formula allows:
`log_counts` (SVD-L), `sqrt_counts` (SVD-S), `clip_counts` (min(X, t)), `ppmi` and
`coals`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.sparse as sp

__all__ = [
    "distance_weights",
    "cooccurrence_matrix",
    "word_document_matrix",
    "log_counts",
    "sqrt_counts",
    "clip_counts",
    "ppmi",
    "coals",
    "cooccurrence_table",
    "CooccurrenceTable",
]

# How many (row, column) pairs one chunk may produce before it is reduced to a sparse matrix:
# 4M pairs are about 64 MB of int32 rows/columns and float64 weights.
DEFAULT_CHUNK_PAIRS = 4_000_000
CONTEXTS = ("symmetric", "left", "right")  # which side of a word its window covers

_INT32_MAX = np.iinfo(np.int32).max


# --------------------------------------------------------------------------------------
# Inputs


def _corpus_arrays(corpus, ids, offsets, vocab_size) -> tuple[np.ndarray, np.ndarray, int]:
    """Resolve (ids int32 (N,), offsets int64 (S+1,), vocab_size) from either calling style."""
    if corpus is not None:
        if ids is not None:
            raise TypeError("pass either a corpus or ids=..., not both")
        if isinstance(corpus, np.ndarray) or isinstance(corpus, (list, tuple)):
            ids = corpus  # cooccurrence_matrix(ids_array, ...)
        else:  # an EncodedCorpus-like object: .ids, .offsets and .vocab (or .vocab_size)
            ids = corpus.ids
            if offsets is None:
                offsets = getattr(corpus, "offsets", None)
            if vocab_size is None:
                if hasattr(corpus, "vocab_size"):
                    vocab_size = corpus.vocab_size
                elif hasattr(corpus, "vocab"):
                    vocab_size = len(corpus.vocab)
    if ids is None:
        raise TypeError("no corpus: pass an EncodedCorpus, or ids=, offsets= and vocab_size=")
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be one-dimensional, got shape {ids.shape}")
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"ids must be integers, got dtype {ids.dtype}")
    ids = ids.astype(np.int32, copy=False)
    n = ids.shape[0]
    if vocab_size is None:
        vocab_size = int(ids.max()) + 1 if n else 0
    vocab_size = int(vocab_size)
    if n and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"ids must lie in [0, vocab_size={vocab_size}); found {int(ids.min())}..{int(ids.max())}"
        )
    if offsets is None:
        offsets = np.array([0, n], dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or offsets[-1] != n:
        raise ValueError(
            f"offsets must be a 1-d array starting at 0 and ending at len(ids)={n}; "
            f"got {offsets[:3]}...{offsets[-3:]}"
        )
    if np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must be non-decreasing")
    return ids, offsets, vocab_size


def distance_weights(window_size: int, weighting=None) -> np.ndarray:
    """The weight given to a pair at distance d = 1..window_size, as an array (window_size,).

    weighting:
        None or "count"  1 for every d (plain counts, CS224N homework 1)
        "harmonic"       1 / d (GloVe: "word pairs that are d words apart contribute 1/d")
        "ramped"         window_size + 1 - d (COALS: window 4 gives 4, 3, 2, 1)
        a sequence       its window_size numbers, weights[d - 1] for distance d
    Integer weights come back as int64, others as float64.
    """
    if int(window_size) != window_size or window_size < 1:
        raise ValueError(f"window_size must be a positive integer, got {window_size!r}")
    window_size = int(window_size)
    d = np.arange(1, window_size + 1)
    if weighting is None or (isinstance(weighting, str) and weighting in ("count", "none", "flat")):
        return np.ones(window_size, dtype=np.int64)
    if isinstance(weighting, str):
        if weighting == "harmonic":
            return 1.0 / d
        if weighting == "ramped":
            return (window_size + 1 - d).astype(np.int64)
        raise ValueError(
            f"unknown weighting {weighting!r}: use None, 'harmonic', 'ramped' or a sequence of "
            f"{window_size} weights"
        )
    weights = np.asarray(weighting)
    if weights.shape != (window_size,):
        raise ValueError(f"weights must have window_size={window_size} entries, got shape {weights.shape}")
    if np.any(weights < 0):
        raise ValueError("weights must be non-negative")
    if np.issubdtype(weights.dtype, np.integer) or np.all(weights == np.round(weights)):
        return weights.astype(np.int64)
    return weights.astype(np.float64)


def _count_dtype(weights: np.ndarray, num_tokens: int, dtype) -> tuple[np.dtype, np.dtype]:
    """(dtype to accumulate in, dtype to return) for these weights."""
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind != "f" and not np.issubdtype(weights.dtype, np.integer):
            raise ValueError(f"fractional weights need a float dtype, not {dtype}")
        accumulate = np.dtype(np.float64) if dtype.kind == "f" else np.dtype(np.int64)
        return accumulate, dtype
    if np.issubdtype(weights.dtype, np.integer):
        # No entry can exceed the total weight of all pairs, 2 * N * Σ_d w_d.
        bound = 2 * int(num_tokens) * int(weights.sum())
        out = np.dtype(np.int32) if bound <= _INT32_MAX else np.dtype(np.int64)
        return out, out
    # Weighted counts: sum in float64 (many small terms), return float32.
    return np.dtype(np.float64), np.dtype(np.float32)


# --------------------------------------------------------------------------------------
# Counting


def cooccurrence_matrix(
    corpus=None,
    window_size: int = 4,
    *,
    ids=None,
    offsets=None,
    vocab_size: int | None = None,
    weighting=None,
    across_sentences: bool = False,
    top_rows: int | None = None,
    top_contexts: int | None = None,
    dtype=None,
    chunk_pairs: int = DEFAULT_CHUNK_PAIRS,
    context: str = "symmetric",
) -> sp.csr_matrix:
    """Window co-occurrence counts as a CSR matrix (rows: words, columns: contexts).

        X[a, b] = Σ_{i, j: ids[i]=a, ids[j]=b, 1 <= |i-j| <= window_size} weight(|i - j|)

    corpus:           an `EncodedCorpus` (uses .ids, .offsets, len(.vocab)), or the ids array;
                      or pass ids=, offsets=, vocab_size= instead.
    window_size:      m, the number of words on each side (CS224N homework 1 uses 4, GloVe 10).
    weighting:        None (counts), "harmonic" (1/d), "ramped" (m + 1 - d), or m weights;
                      see `distance_weights`.
    across_sentences: False (default): a window never crosses a sentence boundary (offsets).
                      True: the corpus is one token stream (word2vec/GloVe over text8).
    top_rows:         keep only rows 0..top_rows-1 (the most frequent words).
    top_contexts:     keep only columns 0..top_contexts-1 (GloVe paper's X_trunc: 10,000).
    dtype:            default int32 (int64 if a count could overflow) for integer weights,
                      float32 for fractional weights (summed in float64 first).
    chunk_pairs:      memory bound: about this many pairs are materialised at a time.
    context:          "symmetric" (default): contexts on both sides, X is symmetric.
                      "left": only the words before the row word (j < i above; the GloVe
                      paper's asymmetric window); "right": only the words after it (j > i).
                      X_left is the transpose of X_right, and X_left + X_right = X_symmetric.

    Returns a (top_rows or V) x (top_contexts or V) `csr_matrix` with sorted indices and no
    explicit zeros. Cost: O(N * window_size) time; memory O(chunk_pairs + nnz(X)).
    """
    if context not in CONTEXTS:
        raise ValueError(f"context must be one of {CONTEXTS} (both sides, before or after the word), not {context!r}")
    ids, offsets, vocab_size = _corpus_arrays(corpus, ids, offsets, vocab_size)
    weights = distance_weights(window_size, weighting)
    window_size = weights.shape[0]
    accumulate, out_dtype = _count_dtype(weights, ids.shape[0], dtype)
    n_rows = vocab_size if top_rows is None else min(int(top_rows), vocab_size)
    n_cols = vocab_size if top_contexts is None else min(int(top_contexts), vocab_size)
    if n_rows < 0 or n_cols < 0:
        raise ValueError("top_rows and top_contexts must be non-negative")
    # Count each pair once, left word -> right word, into a square m x m matrix A over the
    # ids both truncations can see; then X = A + A^T (the symmetric window) and slice.
    m = max(n_rows, n_cols)
    n = ids.shape[0]
    chunk = max(1, int(chunk_pairs) // window_size)
    total = sp.csr_matrix((m, m), dtype=accumulate)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        if across_sentences:
            ends = None
        else:
            # The end (exclusive) of the sentence each centre token belongs to.
            positions = np.arange(start, stop, dtype=np.int64)
            ends = offsets[np.searchsorted(offsets, positions, side="right")]
        rows, cols, vals = [], [], []
        for d in range(1, window_size + 1):
            last = min(stop, n - d)  # centre tokens start..last-1 have a right neighbour at d
            if last <= start:
                break
            left = ids[start:last]
            right = ids[start + d:last + d]
            keep = None
            if ends is not None:
                keep = positions[: last - start] + d < ends[: last - start]
            if m < vocab_size:
                inside = (left < m) & (right < m)
                keep = inside if keep is None else keep & inside
            if keep is not None:
                left, right = left[keep], right[keep]
            if left.size:
                rows.append(left)
                cols.append(right)
                vals.append(np.full(left.shape[0], weights[d - 1], dtype=accumulate))
        if rows:
            part = sp.csr_matrix(
                (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                shape=(m, m),
                dtype=accumulate,
            )
            total = total + part
    # total[left word, right word]: the row word's context is on its right
    matrix = {"symmetric": total + total.T, "left": total.T, "right": total}[context].tocsr()
    if n_rows < m:
        matrix = matrix[:n_rows]
    if n_cols < m:
        matrix = matrix[:, :n_cols]
    matrix = sp.csr_matrix(matrix, dtype=out_dtype)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix


def word_document_matrix(
    corpus=None,
    *,
    ids=None,
    offsets=None,
    vocab_size: int | None = None,
    document_offsets=None,
    top_rows: int | None = None,
    dtype=np.int32,
    chunk_pairs: int = DEFAULT_CHUNK_PAIRS,
) -> sp.csr_matrix:
    """Word–document counts (LSA's "document space"): X[w, k] = occurrences of word w in document k.

    Documents are the corpus' sentences (its offsets) unless `document_offsets` (int (D+1,),
    token positions starting at 0 and ending at N) gives other boundaries, e.g. one per
    Reuters article. `top_rows=k` keeps the k most frequent words only. Returns a
    (top_rows or V) x D `csr_matrix` of int32 counts (pass dtype= for another type).
    """
    ids, offsets, vocab_size = _corpus_arrays(corpus, ids, offsets, vocab_size)
    if document_offsets is not None:
        _, offsets, _ = _corpus_arrays(None, ids, document_offsets, vocab_size)
    n_docs = offsets.shape[0] - 1
    n_rows = vocab_size if top_rows is None else min(int(top_rows), vocab_size)
    n = ids.shape[0]
    total = sp.csr_matrix((n_rows, n_docs), dtype=np.int64)
    for start in range(0, n, max(1, int(chunk_pairs))):
        stop = min(n, start + max(1, int(chunk_pairs)))
        positions = np.arange(start, stop, dtype=np.int64)
        docs = np.searchsorted(offsets, positions, side="right") - 1
        words = ids[start:stop]
        keep = words < n_rows
        part = sp.csr_matrix(
            (np.ones(int(keep.sum()), dtype=np.int64), (words[keep], docs[keep])),
            shape=(n_rows, n_docs),
        )
        total = total + part
    matrix = sp.csr_matrix(total, dtype=dtype)
    matrix.sort_indices()
    return matrix


# --------------------------------------------------------------------------------------
# Transforms


def _float_dtype(X) -> np.dtype:
    return np.dtype(np.float64) if X.dtype == np.float64 else np.dtype(np.float32)


def _map_nonzeros(X, fn):
    """Apply an elementwise fn with fn(0) = 0 to X, sparse (CSR out) or dense (ndarray out)."""
    out_dtype = _float_dtype(X)
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        out = sp.csr_matrix(
            (fn(X.data.astype(np.float64)).astype(out_dtype), X.indices.copy(), X.indptr.copy()),
            shape=X.shape,
        )
        out.eliminate_zeros()
        return out
    return fn(np.asarray(X, dtype=np.float64)).astype(out_dtype)


def _check_nonnegative(X) -> None:
    data = X.data if sp.issparse(X) else np.asarray(X)
    if data.size and data.min() < 0:
        raise ValueError("co-occurrence counts must be non-negative")


def log_counts(X):
    """SVD-L's transform (GloVe paper): X' = log(1 + X), elementwise; zeros stay zeros."""
    _check_nonnegative(X)
    return _map_nonzeros(X, np.log1p)


def sqrt_counts(X):
    """SVD-S's transform (GloVe paper): X' = sqrt(X), elementwise; zeros stay zeros."""
    _check_nonnegative(X)
    return _map_nonzeros(X, np.sqrt)


def clip_counts(X, t: float = 100.0):
    """Cap very frequent co-occurrences (Rohde et al. 2005): X' = min(X, t), elementwise, t >= 0.

    Function words ("the", "he", "has") otherwise dominate the counts; t ≈ 100 is the
    lecture's suggestion.
    """
    if t < 0:
        raise ValueError(f"t must be non-negative (min(0, t) must stay 0), got {t}")
    _check_nonnegative(X)
    return _map_nonzeros(X, lambda values: np.minimum(values, t))


def _marginals(X) -> tuple[np.ndarray, np.ndarray, float]:
    rowsum = np.asarray(X.sum(axis=1), dtype=np.float64).ravel()
    colsum = np.asarray(X.sum(axis=0), dtype=np.float64).ravel()
    return rowsum, colsum, float(rowsum.sum())


def _map_with_marginals(X, fn):
    """out_ij = fn(x_ij, rowsum_i, colsum_j) on the nonzeros of X (fn must vanish where x = 0)."""
    _check_nonnegative(X)
    out_dtype = _float_dtype(X)
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        rowsum, colsum, total = _marginals(X)
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        values = fn(X.data.astype(np.float64), rowsum[rows], colsum[X.indices], total)
        out = sp.csr_matrix(
            (values.astype(out_dtype), X.indices.copy(), X.indptr.copy()), shape=X.shape
        )
        out.eliminate_zeros()
        return out
    dense = np.asarray(X, dtype=np.float64)
    rowsum, colsum, total = _marginals(dense)
    values = fn(dense, rowsum[:, None], colsum[None, :], total)
    values[dense == 0] = 0.0
    return values.astype(out_dtype)


def ppmi(X, alpha: float | None = None):
    """Positive pointwise mutual information, with optional context-distribution smoothing.

        PMI(w, c)  = log [ P(w, c) / (P(w) P_alpha(c)) ]
                   = log [ X_wc * T / (rowsum_w * colsum_c) ]            (alpha = None or 1)
        P(w, c) = X_wc / T,   P(w) = rowsum_w / T,   T = Σ X,
        P_alpha(c) = colsum_c^alpha / Σ_c' colsum_c'^alpha               (Levy et al. 2015: 0.75)
        PPMI(w, c) = max(PMI(w, c), 0)

    Where X_wc = 0 the PMI is -inf and the PPMI 0, so only nonzeros of X can be nonzero:
    the result keeps X's sparsity. Marginals come from X as given (a truncated matrix uses
    its own row and column sums).
    """
    if alpha is not None and alpha <= 0:
        raise ValueError(f"alpha must be positive, got {alpha}")

    smooth = alpha is not None and alpha != 1
    if smooth:
        context_counts = np.asarray(X.sum(axis=0), dtype=np.float64).ravel()
        smoothed_total = float(np.sum(context_counts**alpha))

    def fn(x, rowsum, colsum, total):
        with np.errstate(divide="ignore", invalid="ignore"):
            if smooth:
                pmi = np.log((x / total) / ((rowsum / total) * (colsum**alpha / smoothed_total)))
            else:
                pmi = np.log(x * total / (rowsum * colsum))
        return np.where(np.isfinite(pmi) & (pmi > 0), pmi, 0.0)

    return _map_with_marginals(X, fn)


def coals(X):
    """COALS's correlation normalisation (Rohde, Gonnerman & Plaut 2005).

        corr_ij = (T X_ij - r_i c_j) / sqrt( r_i (T - r_i) c_j (T - c_j) )
        COALS_ij = sqrt(corr_ij) if corr_ij > 0 else 0

    with r_i = Σ_j X_ij, c_j = Σ_i X_ij and T = Σ_ij X_ij. The correlation matrix is dense
    (most entries are negative), but negatives become 0 and r_i c_j >= 0, so corr_ij > 0
    needs X_ij > 0: computing it on the nonzeros of X alone is exact and keeps sparsity.
    Rows or columns holding all of T (zero variance) get 0.
    """

    def fn(x, rowsum, colsum, total):
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = (total * x - rowsum * colsum) / np.sqrt(
                rowsum * (total - rowsum) * colsum * (total - colsum)
            )
        return np.where(np.isfinite(corr) & (corr > 0), np.sqrt(np.where(corr > 0, corr, 0.0)), 0.0)

    return _map_with_marginals(X, fn)


# --------------------------------------------------------------------------------------
# Display


@dataclass
class CooccurrenceTable:
    """A small labelled matrix that a notebook shows as an HTML table (plain text elsewhere).

    row_keys, column_keys: the labels; values: the dense (rows, columns) array shown.
    `rows()` gives [label, v1, v2, ...] lists, e.g. to compare with a slide's table.
    """

    row_keys: list[str]
    column_keys: list[str]
    values: np.ndarray
    precision: int = 2

    def _cell(self, value) -> str:
        if np.issubdtype(self.values.dtype, np.integer) or np.issubdtype(self.values.dtype, np.bool_):
            return str(int(value))
        if value == 0:
            return "0"
        return f"{float(value):.{self.precision}f}"

    def rows(self) -> list[list]:
        return [[key, *row.tolist()] for key, row in zip(self.row_keys, self.values)]

    def __str__(self) -> str:
        cells = [[""] + list(self.column_keys)]
        cells += [[key] + [self._cell(v) for v in row] for key, row in zip(self.row_keys, self.values)]
        widths = [max(len(line[j]) for line in cells) for j in range(len(cells[0]))]
        lines = []
        for i, line in enumerate(cells):
            first = line[0].ljust(widths[0])
            rest = [cell.rjust(width) for cell, width in zip(line[1:], widths[1:])]
            lines.append("  ".join([first, *rest]).rstrip())
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th>{esc(k)}</th>" for k in self.column_keys)
        body = "".join(
            f"<tr><th>{esc(key)}</th>" + "".join(f"<td>{self._cell(v)}</td>" for v in row) + "</tr>"
            for key, row in zip(self.row_keys, self.values)
        )
        return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"


def cooccurrence_table(
    matrix,
    index_to_key: Sequence[str],
    column_keys: Sequence[str] | None = None,
    *,
    order: Sequence[str] | None = None,
    max_rows: int = 20,
    max_cols: int = 20,
    precision: int = 2,
) -> CooccurrenceTable:
    """A displayable table of (the top-left corner of) a co-occurrence matrix.

    index_to_key labels the rows; column_keys the columns (default: index_to_key too).
    `order` lists words to show, in that order, for rows and columns alike (a square
    matrix), e.g. the lecture's I, like, enjoy, deep, learning, NLP, flying, ".".
    Otherwise the first max_rows x max_cols entries are shown.
    """
    column_keys = list(index_to_key if column_keys is None else column_keys)
    row_keys = list(index_to_key)
    if matrix.shape[0] > len(row_keys) or matrix.shape[1] > len(column_keys):
        raise ValueError(
            f"matrix is {matrix.shape[0]} x {matrix.shape[1]} but there are {len(row_keys)} row "
            f"and {len(column_keys)} column labels"
        )
    if order is not None:
        row_index = {k: i for i, k in enumerate(row_keys)}
        col_index = {k: i for i, k in enumerate(column_keys)}
        missing = [w for w in order if w not in row_index or w not in col_index]
        if missing:
            raise KeyError(f"not in the vocabulary: {missing}")
        rows = [row_index[w] for w in order]
        cols = [col_index[w] for w in order]
        row_keys, column_keys = list(order), list(order)
    else:
        rows = list(range(min(max_rows, matrix.shape[0])))
        cols = list(range(min(max_cols, matrix.shape[1])))
        row_keys, column_keys = row_keys[: len(rows)], column_keys[: len(cols)]
    sub = matrix[rows][:, cols]
    values = sub.toarray() if sp.issparse(sub) else np.asarray(sub)
    return CooccurrenceTable(row_keys, column_keys, values, precision)
