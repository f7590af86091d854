"""GloVe: the weighting function, the loss gradients (autograd), training, checkpoints, errors.

Training tests use a planted corpus: words come in groups and every sentence draws its
words from one group, so after training a word's nearest neighbours are its group.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from utils import glove
from utils.cooccurrence import cooccurrence_matrix
from utils.glove import GloVe, TrainingDivergedError, glove_loss_and_grads, train_glove, weighting_function
from utils.vectors import WordVectors

BACKENDS = ["torch"] + (["numba"] if glove.numba_available() else [])
GROUPS = [[f"g{g}w{i}" for i in range(6)] for g in range(5)]


def planted_corpus(n_sentences=600, length=8, seed=0, stray=0.1):
    """Sentences of one group's words, each word replaced by a random word of any group with
    probability `stray`. GloVe fits only the non-zero cells: without words across groups it
    would never see a cross-group pair, and biases alone could fit the in-group counts."""
    rng = np.random.default_rng(seed)
    words = [w for group in GROUPS for w in group]
    sentences = []
    for _ in range(n_sentences):
        group = GROUPS[rng.integers(len(GROUPS))]
        sentence = [group[i] for i in rng.integers(len(group), size=length)]
        for k in np.flatnonzero(rng.random(length) < stray):
            sentence[k] = words[rng.integers(len(words))]
        sentences.append(sentence)
    return sentences


def planted_gap(kv: WordVectors) -> float:
    """Mean cosine within a group minus mean cosine across groups."""
    vectors = kv.vectors / np.linalg.norm(kv.vectors, axis=1, keepdims=True)
    sims = vectors @ vectors.T
    label = np.array([int(w[1]) for w in kv.index_to_key])
    same = label[:, None] == label[None, :]
    off_diagonal = ~np.eye(len(label), dtype=bool)
    return float(sims[same & off_diagonal].mean() - sims[~same].mean())


@pytest.fixture(scope="module")
def corpus():
    return planted_corpus()


def small_model(**settings):
    base = dict(vector_size=10, window=3, min_count=1, epochs=20, seed=3, device="cpu", x_max=10.0)
    return GloVe(**{**base, **settings})


# --------------------------------------------------------------------------------------
# f(x) and the loss


def test_weighting_function_values():
    x_max = 100.0
    assert weighting_function(0.0, x_max) == 0.0
    assert weighting_function(x_max / 2, x_max) == pytest.approx(0.5**0.75)
    assert weighting_function(x_max, x_max) == 1.0
    assert weighting_function(2 * x_max, x_max) == 1.0
    assert weighting_function(x_max / 2, x_max, alpha=1.0) == pytest.approx(0.5)
    values = np.array([0.0, 50.0, 100.0, 200.0])
    as_tensor = weighting_function(torch.tensor(values), x_max).numpy()
    np.testing.assert_allclose(as_tensor, weighting_function(values, x_max))
    np.testing.assert_allclose(as_tensor, [0.0, 0.5**0.75, 1.0, 1.0])


def test_loss_and_grads_match_autograd():
    torch.manual_seed(0)
    B, d = 7, 5
    w = torch.randn(B, d, dtype=torch.float64, requires_grad=True)
    w_tilde = torch.randn(B, d, dtype=torch.float64, requires_grad=True)
    b = torch.randn(B, dtype=torch.float64, requires_grad=True)
    b_tilde = torch.randn(B, dtype=torch.float64, requires_grad=True)
    x = torch.tensor([0.2, 1.0, 3.0, 9.9, 10.0, 55.0, 400.0], dtype=torch.float64)
    loss, gw, gwt, gb, gbt = glove_loss_and_grads(w, w_tilde, b, b_tilde, x, x_max=10.0, alpha=0.75)
    f = torch.clamp(x / 10.0, max=1.0) ** 0.75
    expected = f * ((w * w_tilde).sum(1) + b + b_tilde - torch.log(x)) ** 2
    torch.testing.assert_close(loss, expected)
    expected.sum().backward()
    torch.testing.assert_close(gw, w.grad)
    torch.testing.assert_close(gwt, w_tilde.grad)
    torch.testing.assert_close(gb, b.grad)
    torch.testing.assert_close(gbt, b_tilde.grad)


# --------------------------------------------------------------------------------------
# Training


@pytest.mark.parametrize("backend", BACKENDS)
def test_planted_words_are_nearest_neighbours(corpus, backend):
    model = small_model(backend=backend)
    kv = model.fit(corpus, progress=False)
    losses = [h["loss"] for h in model.history]
    assert losses[-1] < 0.5 * losses[0]
    for word in ["g0w0", "g2w3", "g4w5"]:
        neighbours = [w for w, _ in kv.most_similar(word, topn=5)]
        assert all(n[:2] == word[:2] for n in neighbours), (word, neighbours)
    assert planted_gap(kv) > 0.5


@pytest.mark.skipif(not glove.numba_available(), reason="numba is not installed")
def test_one_cell_takes_glove_c_step():
    """The first step on one cell, as glove.c: with diff = w_i·w̃_j + b_i + b̃_j - log X_ij,
    w_i moves by -η f diff w̃_j (and w̃_j likewise), each bias by -η_b f diff, η_b = 1."""
    rng = np.random.default_rng(0)
    W, W_tilde = rng.normal(size=(2, 2, 4)).astype(np.float32)
    b, b_tilde = rng.normal(size=(2, 2)).astype(np.float32)
    x, eta = 3.0, 0.05
    f = (x / 10.0) ** 0.75
    diff = W[0] @ W_tilde[1] + b[0] + b_tilde[1] - math.log(x)
    expected = (W[0] - eta * f * diff * W_tilde[1], W_tilde[1] - eta * f * diff * W[0],
                b[0] - f * diff, b_tilde[1] - f * diff)
    accumulators = [np.ones_like(W), np.ones_like(W), np.ones_like(b), np.ones_like(b)]
    loss = glove._train_cells_numba(np.zeros(1, np.int32), 0, 1, np.array([0], np.int32), np.array([1], np.int32),
                                    np.array([math.log(x)], np.float32), np.array([f], np.float32),
                                    W, W_tilde, b, b_tilde, *accumulators, np.float32(eta), np.float32(1.0),
                                    np.float32(100.0))
    assert loss == pytest.approx(f * diff**2, rel=1e-5)
    for got, want in zip((W[0], W_tilde[1], b[0], b_tilde[1]), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("dense", [False, True])
def test_batched_adagrad_is_the_per_cell_step_for_a_row_seen_once(dense):
    """torch backend: a row seen once takes glove.c's step s / sqrt(G); a row seen n times the
    sum of its n steps over sqrt(G + (n-1)/(2n) Σ s²), never n raw steps at once."""
    param, accumulator = torch.zeros(2, 3), torch.ones(2, 3)
    grads = torch.tensor([[1.0, -2.0, 4.0], [3.0, 3.0, 3.0], [3.0, 3.0, 3.0]])
    glove._adagrad_rows(param, accumulator, torch.tensor([0, 1, 1]), grads, eta=0.5, dense=dense)
    torch.testing.assert_close(param[0], -0.5 * grads[0])  # G = 1: the step is η g
    torch.testing.assert_close(accumulator[0], 1 + 0.25 * grads[0] ** 2)
    steps = torch.full((3,), 1.5)  # η g for each of row 1's two cells
    torch.testing.assert_close(param[1], -2 * steps / torch.sqrt(1 + 0.25 * 2 * steps**2))
    torch.testing.assert_close(accumulator[1], 1 + 2 * steps**2)


@pytest.mark.parametrize("shape", [(60, 4), (60,)])
def test_dense_adagrad_equals_the_update_over_distinct_rows(shape):
    """The GPU's sync-free path (vocabulary-sized buffers) computes the same step, and rows
    that do not occur stay bit-for-bit as they were."""
    generator = torch.Generator().manual_seed(0)
    rows = torch.randint(0, 50, (300,), generator=generator)  # rows 50..59 never occur
    grads = torch.randn(300, *shape[1:], generator=generator)
    start = torch.randn(*shape, generator=generator)
    start_g = 1 + torch.rand(*shape, generator=generator)
    results = []
    for dense in (False, True):
        param, accumulator = start.clone(), start_g.clone()
        glove._adagrad_rows(param, accumulator, rows, grads, eta=0.05, dense=dense)
        results.append((param, accumulator))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=1e-6, atol=1e-7)
    for param, accumulator in results:
        assert torch.equal(param[50:], start[50:]) and torch.equal(accumulator[50:], start_g[50:])


def test_cells_are_the_harmonic_cooccurrence_counts(corpus):
    model = small_model()
    model.build_vocab(corpus)
    X = model.build_cooccurrence(corpus)
    expected = cooccurrence_matrix(model.vocab.encode(corpus), 3, weighting="harmonic")
    assert (abs(X - expected) > 1e-5).nnz == 0
    assert (abs(X - X.T) > 1e-5).nnz == 0  # symmetric window
    assert model.timings["cooccurrence"] >= 0


def test_backends_agree(corpus):
    if "numba" not in BACKENDS:
        pytest.skip("numba is not installed")
    # Different cell orders, the same algorithm: with small batches (few cells of a batch
    # share a row) the losses per epoch agree closely.
    numba_model = small_model(backend="numba", epochs=5)
    torch_model = small_model(backend="torch", epochs=5, batch_size=8)
    numba_model.fit(corpus, progress=False)
    torch_model.fit(corpus, progress=False)
    for a, b in zip(numba_model.history, torch_model.history):
        assert a["loss"] == pytest.approx(b["loss"], rel=0.15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_deterministic_with_one_worker(corpus, backend):
    a = small_model(backend=backend, epochs=3).fit(corpus, progress=False)
    b = small_model(backend=backend, epochs=3).fit(corpus, progress=False)
    np.testing.assert_array_equal(a.vectors, b.vectors)


@pytest.mark.skipif(not glove.numba_available(), reason="numba is not installed")
def test_hogwild_workers_train(corpus):
    model = small_model(backend="numba", workers=2)
    model.CHUNK_CELLS = 64  # several chunks, so both threads work
    kv = model.fit(corpus, progress=False)
    assert planted_gap(kv) > 0.5


def test_sum_of_both_vectors_beats_either_alone(corpus):
    # W and W̃ are fitted from the same symmetric X but from different random starts and
    # orders of updates; their sum averages out part of that noise (the paper's argument).
    model = small_model(epochs=6, vector_size=8)
    model.fit(corpus, progress=False)
    gaps = {v: planted_gap(model.word_vectors(v)) for v in ("sum", "w", "w_tilde")}
    assert gaps["sum"] > gaps["w"] and gaps["sum"] > gaps["w_tilde"], gaps


def test_vectors_setting_chooses_the_matrix(corpus):
    model = small_model(epochs=1, vectors="w_tilde")
    kv = model.fit(corpus, progress=False)
    np.testing.assert_array_equal(kv.vectors, model.W_tilde.numpy())
    np.testing.assert_allclose(model.word_vectors("sum").vectors, (model.W + model.W_tilde).numpy())
    assert isinstance(kv, WordVectors) and kv.index_to_key == model.vocab.index_to_key


def test_train_glove_returns_word_vectors(corpus):
    kv = train_glove(corpus, vector_size=6, window=2, min_count=1, epochs=2, progress=False)
    assert kv.vectors.shape == (30, 6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_checkpoint_resume_equals_uninterrupted_run(corpus, tmp_path, backend):
    full = small_model(backend=backend, epochs=4).fit(corpus, progress=False)
    path = tmp_path / "glove.pt"
    first = small_model(backend=backend, epochs=2)
    first.fit(corpus, progress=False, checkpoint=path)
    resumed = GloVe.load_checkpoint(path, epochs=4)
    assert resumed.epochs_done == 2
    kv = resumed.train(corpus, progress=False, checkpoint=path)
    np.testing.assert_array_equal(kv.vectors, full.vectors)
    assert len(resumed.history) == 4


def test_resume_with_another_corpus_is_refused(corpus, tmp_path):
    path = tmp_path / "glove.pt"
    small_model(epochs=1).fit(corpus, progress=False, checkpoint=path)
    resumed = GloVe.load_checkpoint(path, epochs=2)
    with pytest.raises(ValueError, match="same corpus"):
        resumed.train(corpus[:100], progress=False)


def test_nan_stops_training_with_a_clear_error(corpus):
    for backend in BACKENDS:
        model = small_model(backend=backend)
        model.build_vocab(corpus)
        model.W[0, 0] = math.nan
        with pytest.raises(TrainingDivergedError, match="learning_rate"):
            model.train(corpus, progress=False)


def test_a_far_too_high_learning_rate_stops_with_a_clear_error(corpus):
    # the limit is 100x the all-zero model's loss per cell, computed once with the cells
    for backend in BACKENDS:
        model = small_model(backend=backend, learning_rate=1e4, epochs=3)
        model.build_vocab(corpus)
        model.build_cooccurrence(corpus)
        cells = model._cells
        zero_model = np.mean(cells.f_x.astype(np.float64) * cells.log_x.astype(np.float64) ** 2)
        assert cells.loss_limit == pytest.approx(100 * zero_model + 100)
        with pytest.raises(TrainingDivergedError, match="learning_rate"):
            model.train(progress=False)


# --------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(window=0), "window"),
        (dict(x_max=0), "x_max"),
        (dict(x_max=-5.0), "x_max"),
        (dict(learning_rate=math.nan), "learning_rate"),
        (dict(bias_learning_rate=0), "bias_learning_rate"),
        (dict(alpha=0), "alpha"),
        (dict(vectors="average"), "vectors"),
        (dict(backend="cuda"), "backend"),
    ],
)
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        GloVe(**settings)


def test_empty_corpus_is_refused():
    with pytest.raises(ValueError, match="empty"):
        GloVe(min_count=1).fit([])
    with pytest.raises(ValueError, match="empty"):
        GloVe(min_count=1).fit([[], []])


def test_corpus_without_pairs_is_refused():
    with pytest.raises(ValueError, match="no non-zero cell"):
        GloVe(min_count=1).fit([["alone"], ["again"]])


def test_wrong_matrix_shape_is_refused(corpus):
    model = small_model()
    model.build_vocab(corpus)
    with pytest.raises(ValueError, match="30 x 30"):
        model.set_cooccurrence(np.ones((3, 3)))
