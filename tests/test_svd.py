"""Truncated SVD: Eckart–Young error, agreement between back ends, determinism, word vectors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from utils.svd import fix_signs, reconstruction_error, svd_word_vectors, truncated_svd


def matrix_with_spectrum(m=60, n=40, seed=0, decay=0.8):
    """A dense m x n matrix with well-separated singular values s_i = 10 * decay^i."""
    rng = np.random.default_rng(seed)
    P, _ = np.linalg.qr(rng.standard_normal((m, m)))
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = 10 * decay ** np.arange(min(m, n))
    return (P[:, : len(s)] * s) @ Q[:, : len(s)].T, s


def sparse_counts(m=300, n=200, seed=0, density=0.05):
    rng = np.random.default_rng(seed)
    X = sp.random(m, n, density=density, random_state=rng, format="csr", dtype=np.float64)
    X.data = np.floor(X.data * 20) + 1
    # plus a rank-3 part (singular values 3000, 1500, 700) that stands well apart from the
    # noise (top singular value about 80), so randomized methods converge in a few iterations
    P, _ = np.linalg.qr(rng.standard_normal((m, 3)))
    Q, _ = np.linalg.qr(rng.standard_normal((n, 3)))
    return sp.csr_matrix(X.toarray() + (P * [3000.0, 1500.0, 700.0]) @ Q.T)


@pytest.mark.parametrize("method", ["torch", "scipy", "sklearn"])
@pytest.mark.parametrize("k", [1, 5, 12])
def test_error_is_the_discarded_singular_values(method, k):
    X, s = matrix_with_spectrum()
    U, S, Vt = truncated_svd(X, k, method=method, device="cpu", seed=0, niter=8)
    np.testing.assert_allclose(S, s[:k], rtol=1e-6)
    np.testing.assert_allclose(reconstruction_error(X, U, S, Vt), np.sum(s[k:] ** 2), rtol=1e-6)


def test_sparse_reconstruction_error_formula_matches_dense():
    X = sparse_counts()
    U, S, Vt = truncated_svd(X, 10, method="scipy", seed=0)
    dense = X.toarray()
    direct = np.sum((dense - (U * S) @ Vt) ** 2)
    s = np.linalg.svd(dense, compute_uv=False)
    np.testing.assert_allclose(direct, np.sum(s[10:] ** 2), rtol=1e-8)
    # the sparse formula (no densifying) used for large X
    import utils.svd as svd_module

    small = svd_module.FULL_SVD_MAX_ENTRIES
    try:
        svd_module.FULL_SVD_MAX_ENTRIES = 0
        np.testing.assert_allclose(reconstruction_error(X, U, S, Vt), direct, rtol=1e-8)
        # also for factors that are not orthonormal
        rng = np.random.default_rng(1)
        A, B, c = rng.standard_normal((300, 4)), rng.standard_normal((4, 200)), rng.random(4)
        np.testing.assert_allclose(
            reconstruction_error(X, A, c, B), np.sum((dense - (A * c) @ B) ** 2), rtol=1e-8
        )
    finally:
        svd_module.FULL_SVD_MAX_ENTRIES = small


@pytest.mark.parametrize("full", [True, False])
def test_torch_and_scipy_agree_up_to_sign(full):
    X = sparse_counts()
    k = 3
    ref = truncated_svd(X, k, method="scipy", seed=0, full=False)
    got = truncated_svd(X, k, method="torch", device="cpu", seed=0, full=full, dtype=np.float64)
    np.testing.assert_allclose(got.S, ref.S, rtol=1e-6)
    # fix_signs makes the signs agree, so the vectors match outright
    np.testing.assert_allclose(got.U, ref.U, atol=1e-8)
    np.testing.assert_allclose(got.Vt, ref.Vt, atol=1e-8)
    skl = truncated_svd(X, k, method="sklearn", seed=0)
    np.testing.assert_allclose(skl.U, ref.U, atol=1e-8)


def test_same_seed_same_result_and_global_rng_untouched():
    X = sparse_counts(seed=2)
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = truncated_svd(X, 5, method="torch", device="cpu", seed=7, full=False)
    after = torch.rand(3)
    b = truncated_svd(X, 5, method="torch", device="cpu", seed=7, full=False)
    assert torch.equal(before, after)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_default_dtype_follows_input():
    X, _ = matrix_with_spectrum(20, 10)
    assert truncated_svd(X, 2).S.dtype == np.float64
    assert truncated_svd(X.astype(np.float32), 2).S.dtype == np.float32
    assert truncated_svd(sp.csr_matrix(np.eye(5, dtype=np.int32)), 2).S.dtype == np.float32


def test_fix_signs_largest_entry_positive():
    U = np.array([[0.1, -0.9], [-0.8, 0.2]])
    Vt = np.array([[1.0, 2.0], [3.0, 4.0]])
    U2, Vt2 = fix_signs(U, Vt)
    np.testing.assert_array_equal(U2, [[-0.1, 0.9], [0.8, -0.2]])
    np.testing.assert_array_equal(Vt2, [[-1.0, -2.0], [-3.0, -4.0]])
    np.testing.assert_allclose((U2 * [2, 3]) @ Vt2, (U * [2, 3]) @ Vt)


def test_bad_k_and_method():
    X, _ = matrix_with_spectrum(10, 6)
    with pytest.raises(ValueError, match="k must"):
        truncated_svd(X, 7)
    with pytest.raises(ValueError, match="method"):
        truncated_svd(X, 2, method="lapack")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    X = sparse_counts()
    cpu = truncated_svd(X, 3, method="torch", device="cpu", seed=0, full=False, niter=10, dtype=np.float64)
    gpu = truncated_svd(X, 3, method="torch", device="cuda", seed=0, full=False, niter=10, dtype=np.float64)
    np.testing.assert_allclose(gpu.S, cpu.S, rtol=1e-6)
    np.testing.assert_allclose(gpu.U, cpu.U, atol=1e-5)


def test_word_vectors_are_u_times_sigma_to_the_power():
    X = sparse_counts(m=50, n=40)
    words = [f"w{i}" for i in range(60)]  # longer than X: a row-truncated matrix
    U, S, _ = truncated_svd(X, 4, method="torch", device="cpu")
    for power in (1.0, 0.5, 0.0):
        wv = svd_word_vectors(X, words, 4, power=power, device="cpu")
        np.testing.assert_allclose(np.asarray(wv.vectors), U * S**power, rtol=1e-5, atol=1e-6)
        assert list(wv.index_to_key) == words[:50]
    with pytest.raises(ValueError):
        svd_word_vectors(X, words[:10], 4)


def test_randomized_torch_svd_handles_rank_below_sketch_size():
    """Rank 3 with a sketch of 15 columns: the Gram-matrix shortcuts must fall back, not divide by 0."""
    rng = np.random.default_rng(0)
    low_rank = rng.normal(size=(600, 3)) @ rng.normal(size=(3, 400))
    X = sp.csr_matrix(low_rank)
    U, S, Vt = truncated_svd(X, 5, method="torch", full=False, dtype=np.float64, device="cpu")
    exact = np.linalg.svd(low_rank, compute_uv=False)
    assert np.all(np.isfinite(U)) and np.all(np.isfinite(Vt))
    assert np.allclose(S[:3], exact[:3], rtol=1e-6)
    assert np.allclose(S[3:], 0, atol=1e-6 * exact[0])
