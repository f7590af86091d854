"""Co-occurrence counts and transforms: the lecture's and homework 1's matrices, a loop reference."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

from utils.cooccurrence import (
    clip_counts,
    coals,
    cooccurrence_matrix,
    cooccurrence_table,
    distance_weights,
    log_counts,
    ppmi,
    sqrt_counts,
    word_document_matrix,
)


def encode(sentences: list[list[str]], order: list[str]):
    """ids and offsets of tokenised sentences, with word ids given by `order`."""
    index = {word: i for i, word in enumerate(order)}
    ids = np.array([index[w] for s in sentences for w in s], dtype=np.int32)
    offsets = np.cumsum([0] + [len(s) for s in sentences]).astype(np.int64)
    return ids, offsets


# --------------------------------------------------------------------------------------
# Known matrices

LECTURE_ORDER = ["I", "like", "enjoy", "deep", "learning", "NLP", "flying", "."]
LECTURE_SENTENCES = [s.split() for s in ["I like deep learning .", "I like NLP .", "I enjoy flying ."]]
LECTURE_MATRIX = np.array(
    [
        # I like enjoy deep learning NLP flying .
        [0, 2, 1, 0, 0, 0, 0, 0],  # I
        [2, 0, 0, 1, 0, 1, 0, 0],  # like
        [1, 0, 0, 0, 0, 0, 1, 0],  # enjoy
        [0, 1, 0, 0, 1, 0, 0, 0],  # deep
        [0, 0, 0, 1, 0, 0, 0, 1],  # learning
        [0, 1, 0, 0, 0, 0, 0, 1],  # NLP
        [0, 0, 1, 0, 0, 0, 0, 1],  # flying
        [0, 0, 0, 0, 1, 1, 1, 0],  # .
    ]
)


def test_lecture_example_window_1():
    ids, offsets = encode(LECTURE_SENTENCES, LECTURE_ORDER)
    X = cooccurrence_matrix(ids=ids, offsets=offsets, vocab_size=8, window_size=1)
    assert sp.isspmatrix_csr(X) and X.dtype == np.int32
    np.testing.assert_array_equal(X.toarray(), LECTURE_MATRIX)


def test_lecture_example_table_shows_the_slide():
    ids, offsets = encode(LECTURE_SENTENCES, LECTURE_ORDER)
    X = cooccurrence_matrix(ids=ids, offsets=offsets, vocab_size=8, window_size=1)
    table = cooccurrence_table(X, LECTURE_ORDER)
    assert table.rows()[0] == ["I", 0, 2, 1, 0, 0, 0, 0, 0]
    assert table.rows()[-1] == [".", 0, 0, 0, 0, 1, 1, 1, 0]
    text = str(table).splitlines()
    assert text[0].split() == LECTURE_ORDER
    assert text[2].split() == ["like", "2", "0", "0", "1", "0", "1", "0", "0"]
    assert "<th>NLP</th>" in table._repr_html_()
    # order= picks and orders words from a differently ordered vocabulary
    shuffled = LECTURE_ORDER[::-1]
    ids2, offsets2 = encode(LECTURE_SENTENCES, shuffled)
    X2 = cooccurrence_matrix(ids=ids2, offsets=offsets2, vocab_size=8, window_size=1)
    np.testing.assert_array_equal(cooccurrence_table(X2, shuffled, order=LECTURE_ORDER).values, LECTURE_MATRIX)


# CS224N homework 1's toy corpus and its vocabulary, sorted as distinct_words() sorts it.
HW1_SENTENCES = [
    "<START> All that glitters isn't gold <END>".split(),
    "<START> All's well that ends well <END>".split(),
]
HW1_WORDS = sorted({w for s in HW1_SENTENCES for w in s})
# Worked out by hand, window 1: e.g. "that" neighbours All, glitters (sentence 1) and well,
# ends (sentence 2); "well" neighbours All's, that, ends and <END>.
HW1_MATRIX = np.array(
    [
        # <END> <START> All All's ends glitters gold isn't that well
        [0, 0, 0, 0, 0, 0, 1, 0, 0, 1],  # <END>
        [0, 0, 1, 1, 0, 0, 0, 0, 0, 0],  # <START>
        [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],  # All
        [0, 1, 0, 0, 0, 0, 0, 0, 0, 1],  # All's
        [0, 0, 0, 0, 0, 0, 0, 0, 1, 1],  # ends
        [0, 0, 0, 0, 0, 0, 0, 1, 1, 0],  # glitters
        [1, 0, 0, 0, 0, 0, 0, 1, 0, 0],  # gold
        [0, 0, 0, 0, 0, 1, 1, 0, 0, 0],  # isn't
        [0, 0, 1, 0, 1, 1, 0, 0, 0, 1],  # that
        [1, 0, 0, 1, 1, 0, 0, 0, 1, 0],  # well
    ]
)


def test_hw1_toy_corpus_window_1():
    assert HW1_WORDS == ["<END>", "<START>", "All", "All's", "ends", "glitters", "gold", "isn't", "that", "well"]
    ids, offsets = encode(HW1_SENTENCES, HW1_WORDS)
    X = cooccurrence_matrix(ids, 1, offsets=offsets, vocab_size=len(HW1_WORDS))
    np.testing.assert_array_equal(X.toarray(), HW1_MATRIX)


def test_encoded_corpus_input():
    from utils.corpus import Vocabulary

    vocab = Vocabulary.build(LECTURE_SENTENCES)
    corpus = vocab.encode(LECTURE_SENTENCES)
    X = cooccurrence_matrix(corpus, window_size=1)
    assert X.shape == (8, 8)
    np.testing.assert_array_equal(cooccurrence_table(X, vocab.index_to_key, order=LECTURE_ORDER).values, LECTURE_MATRIX)


def test_across_sentences_joins_the_stream():
    ids, offsets = encode(LECTURE_SENTENCES, LECTURE_ORDER)
    X = cooccurrence_matrix(ids=ids, offsets=offsets, vocab_size=8, window_size=1, across_sentences=True)
    expected = LECTURE_MATRIX.copy()
    expected[7, 0] += 2  # ". I" twice across the boundaries
    expected[0, 7] += 2
    np.testing.assert_array_equal(X.toarray(), expected)


def test_distance_weights():
    np.testing.assert_array_equal(distance_weights(4, "ramped"), [4, 3, 2, 1])
    np.testing.assert_allclose(distance_weights(3, "harmonic"), [1, 1 / 2, 1 / 3])
    np.testing.assert_array_equal(distance_weights(2), [1, 1])
    with pytest.raises(ValueError):
        distance_weights(2, "gaussian")
    with pytest.raises(ValueError):
        distance_weights(3, [1, 2])


def test_harmonic_is_float32_and_truncation_shapes():
    ids, offsets = encode(LECTURE_SENTENCES, LECTURE_ORDER)
    X = cooccurrence_matrix(ids=ids, offsets=offsets, vocab_size=8, window_size=3, weighting="harmonic")
    assert X.dtype == np.float32
    # "I like deep learning .": I-deep at distance 2, I-learning at 3
    assert X[0, 3] == pytest.approx(0.5) and X[0, 4] == pytest.approx(1 / 3)
    T = cooccurrence_matrix(
        ids=ids, offsets=offsets, vocab_size=8, window_size=3, weighting="harmonic", top_rows=3, top_contexts=5
    )
    assert T.shape == (3, 5)
    np.testing.assert_allclose(T.toarray(), X.toarray()[:3, :5])


def test_word_document_matrix():
    ids, offsets = encode(LECTURE_SENTENCES, LECTURE_ORDER)
    D = word_document_matrix(ids=ids, offsets=offsets, vocab_size=8)
    assert D.shape == (8, 3)
    np.testing.assert_array_equal(D[:, 0].toarray().ravel(), [1, 1, 0, 1, 1, 0, 0, 1])
    np.testing.assert_array_equal(D.sum(axis=0).A.ravel(), np.diff(offsets))
    # two "documents": sentence 1, sentences 2-3; rows truncated to the 2 first words
    D2 = word_document_matrix(ids=ids, vocab_size=8, document_offsets=[0, 5, len(ids)], top_rows=2)
    np.testing.assert_array_equal(D2.toarray(), [[1, 2], [1, 1]])


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match="vocab_size"):
        cooccurrence_matrix(ids=[0, 5], vocab_size=3)
    with pytest.raises(ValueError, match="offsets"):
        cooccurrence_matrix(ids=[0, 1, 2], offsets=[0, 2], vocab_size=3)
    with pytest.raises(TypeError):
        cooccurrence_matrix()
    with pytest.raises(ValueError, match="context must be one of"):
        cooccurrence_matrix(ids=[0, 1], vocab_size=2, context="both")


def test_asymmetric_windows_are_transposes_and_sum_to_the_symmetric_one():
    ids, offsets = encode(LECTURE_SENTENCES, LECTURE_ORDER)
    left, right, both = (cooccurrence_matrix(ids=ids, offsets=offsets, vocab_size=8, window_size=2, context=c)
                         for c in ("left", "right", "symmetric"))
    np.testing.assert_array_equal(left.toarray(), right.toarray().T)
    np.testing.assert_array_equal((left + right).toarray(), both.toarray())
    like, deep, first = (LECTURE_ORDER.index(w) for w in ("like", "deep", "I"))
    assert left[deep, like] == 1 and right[deep, like] == 0   # "like deep": like is left of deep
    assert left[first].nnz == 0                               # "I" starts every sentence


# --------------------------------------------------------------------------------------
# Vectorised counting equals a plain loop


def loop_reference(ids, offsets, vocab_size, window, weights, across, top_rows, top_contexts, context="symmetric"):
    X = np.zeros((vocab_size, vocab_size))
    spans = [(0, len(ids))] if across else list(zip(offsets[:-1], offsets[1:]))
    for a, b in spans:
        for i in range(a, b):
            first = i if context == "right" else max(a, i - window)
            last = i + 1 if context == "left" else min(b, i + window + 1)
            for j in range(first, last):
                if j != i:
                    X[ids[i], ids[j]] += weights[abs(i - j) - 1]
    return X[: (top_rows or vocab_size), : (top_contexts or vocab_size)]


@st.composite
def corpora(draw):
    vocab_size = draw(st.integers(1, 12))
    lengths = draw(st.lists(st.integers(0, 9), min_size=1, max_size=6))
    ids = np.array(draw(st.lists(st.integers(0, vocab_size - 1), min_size=sum(lengths), max_size=sum(lengths))), dtype=np.int32)
    offsets = np.cumsum([0] + lengths)
    return ids, offsets, vocab_size


@settings(max_examples=150, deadline=None)
@given(
    corpus=corpora(),
    window=st.integers(1, 5),
    weighting=st.sampled_from([None, "harmonic", "ramped"]),
    across=st.booleans(),
    top_rows=st.one_of(st.none(), st.integers(1, 12)),
    top_contexts=st.one_of(st.none(), st.integers(1, 12)),
    chunk_pairs=st.integers(1, 40),
    context=st.sampled_from(["symmetric", "left", "right"]),
)
def test_vectorised_counts_equal_loop(corpus, window, weighting, across, top_rows, top_contexts, chunk_pairs, context):
    ids, offsets, vocab_size = corpus
    X = cooccurrence_matrix(
        ids=ids, offsets=offsets, vocab_size=vocab_size, window_size=window, weighting=weighting,
        across_sentences=across, top_rows=top_rows, top_contexts=top_contexts, chunk_pairs=chunk_pairs,
        context=context,
    )
    expected = loop_reference(
        ids, offsets, vocab_size, window, distance_weights(window, weighting), across, top_rows, top_contexts, context
    )
    assert X.shape == expected.shape
    np.testing.assert_allclose(X.toarray(), expected, rtol=1e-6)
    assert not np.any(X.data == 0)


# --------------------------------------------------------------------------------------
# Transforms against dense references


def random_counts(seed=0, shape=(7, 9), density=0.5):
    rng = np.random.default_rng(seed)
    dense = rng.integers(1, 20, size=shape) * (rng.random(shape) < density)
    dense[0, 0] = 50  # make sure something is frequent
    return dense


def dense_coals(X):
    X = X.astype(np.float64)
    T, r, c = X.sum(), X.sum(1, keepdims=True), X.sum(0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # every entry, not just nonzeros
        corr = (T * X - r * c) / np.sqrt(r * (T - r) * c * (T - c))
    return np.where(corr > 0, np.sqrt(np.maximum(corr, 0)), 0.0)


def dense_ppmi(X, alpha=None):
    X = X.astype(np.float64)
    T = X.sum()
    pw = X.sum(1, keepdims=True) / T
    cc = X.sum(0, keepdims=True)
    pc = cc / T if alpha is None else cc**alpha / (cc**alpha).sum()
    with np.errstate(divide="ignore"):
        pmi = np.log((X / T) / (pw * pc))
    return np.maximum(pmi, 0)


@pytest.mark.parametrize("sparse", [True, False])
def test_coals_equals_dense_reference(sparse):
    dense = random_counts()
    X = sp.csr_matrix(dense) if sparse else dense
    out = coals(X)
    assert sp.issparse(out) == sparse
    got = out.toarray() if sparse else out
    np.testing.assert_allclose(got, dense_coals(dense), rtol=1e-5, atol=1e-7)
    if sparse:
        assert out.nnz <= X.nnz


@pytest.mark.parametrize("alpha", [None, 0.75])
@pytest.mark.parametrize("sparse", [True, False])
def test_ppmi_equals_dense_reference(alpha, sparse):
    dense = random_counts(1)
    X = sp.csr_matrix(dense) if sparse else dense
    out = ppmi(X, alpha=alpha)
    got = out.toarray() if sparse else out
    np.testing.assert_allclose(got, dense_ppmi(dense, alpha), rtol=1e-5, atol=1e-7)
    assert np.all(got >= 0)


def test_ppmi_smoothing_lowers_rare_context_pmi():
    dense = random_counts(2)
    plain, smoothed = ppmi(dense), ppmi(dense, alpha=0.75)
    rarest = np.argmin(dense.sum(0))
    assert smoothed[:, rarest].sum() <= plain[:, rarest].sum()


def test_elementwise_transforms():
    dense = random_counts(3)
    X = sp.csr_matrix(dense)
    np.testing.assert_allclose(log_counts(X).toarray(), np.log1p(dense), rtol=1e-6)
    np.testing.assert_allclose(sqrt_counts(X).toarray(), np.sqrt(dense), rtol=1e-6)
    np.testing.assert_array_equal(clip_counts(X, 10).toarray(), np.minimum(dense, 10))
    np.testing.assert_array_equal(clip_counts(dense, 10), np.minimum(dense, 10))
    assert log_counts(X).nnz == X.nnz and log_counts(X).dtype == np.float32
    with pytest.raises(ValueError):
        clip_counts(X, -1)
    with pytest.raises(ValueError):
        log_counts(-X)
