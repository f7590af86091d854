"""Truncated SVD of co-occurrence matrices, and word vectors from it (lecture 2, homework 1).

    X ≈ X_k = U_k Σ_k V_k^T

U_k (rows x k) and V_k (columns x k) hold the top k left and right singular vectors,
Σ_k = diag(s_1 >= ... >= s_k) the top k singular values. By the Eckart–Young theorem X_k
is the best rank-k approximation of X in least squares (Frobenius norm), and the error is
what the discarded singular values carry:

    ||X - X_k||_F^2 = Σ_{i > k} s_i^2.

Word vectors are the rows of U_k Σ_k^p, one per row (word) of X:
- p = 1 (default): U_k Σ_k = X V_k, the projection of each word's count row onto the top
  k right singular vectors. CS224N homework 1 (sklearn's TruncatedSVD.fit_transform) and
  the GloVe paper's SVD baselines use these.
- p = 0.5 or p = 0: Levy, Goldberg & Dagan (2015, "Improving distributional similarity
  with lessons learned from word embeddings") find that weighting the singular values
  less (the "eigenvalue weighting" p) often helps on similarity tasks.
The right singular vectors V_k (one per context column) are not used.

Three interchangeable back ends (`method=`), made comparable by fixing signs the same way:
- "torch": randomized SVD (Halko, Martinsson & Tropp 2011: the algorithm of
  `torch.svd_lowrank`, written out so that sparse input stays CSR, which is several times
  faster, and so that the random sketch comes from its own seeded generator) on `device`,
  or a full `torch.linalg.svd` for small matrices;
- "scipy": `scipy.sparse.linalg.svds` (ARPACK; seeded start vector), or `scipy.linalg.svd`;
- "sklearn": `sklearn.decomposition.TruncatedSVD` (randomized), as in homework 1.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple, Sequence

import numpy as np
import scipy.sparse as sp
import torch

from utils.device import resolve_device

__all__ = ["SVD", "truncated_svd", "fix_signs", "svd_word_vectors", "reconstruction_error"]

# Below this many entries (e.g. 2000 x 2000) a full, exact SVD of the dense matrix is cheap.
FULL_SVD_MAX_ENTRIES = 4_000_000


class SVD(NamedTuple):
    """U (m, k), S (k,) in descending order, Vt (k, n): X ≈ U @ diag(S) @ Vt. NumPy arrays."""

    U: np.ndarray
    S: np.ndarray
    Vt: np.ndarray


def fix_signs(U: np.ndarray, Vt: np.ndarray, rtol: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Make each singular vector pair's sign deterministic, whichever algorithm produced it.

    u_i and v_i can both be negated without changing u_i s_i v_i^T; we negate them so that the
    largest-magnitude entry of each column of U is positive (ties within a relative `rtol`:
    the first such entry, so rounding differences between back ends pick the same entry).
    Returns new arrays.
    """
    U, Vt = np.array(U, copy=True), np.array(Vt, copy=True)
    if U.size == 0:
        return U, Vt
    magnitude = np.abs(U)
    top = magnitude.max(axis=0)
    pivot = np.argmax(magnitude >= top * (1 - rtol), axis=0)  # first near-maximal entry
    signs = np.sign(U[pivot, np.arange(U.shape[1])])
    signs[signs == 0] = 1
    U *= signs
    Vt *= signs[:, None]
    return U, Vt


def _float_dtype(X, dtype) -> np.dtype:
    if dtype is not None:
        return np.dtype(dtype)
    return np.dtype(np.float64) if X.dtype == np.float64 else np.dtype(np.float32)


def _as_input(X):
    if sp.issparse(X):
        return sp.csr_matrix(X)
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d matrix, got shape {X.shape}")
    return X


def truncated_svd(
    X,
    k: int,
    *,
    method: str = "torch",
    device: str | torch.device = "auto",
    seed: int = 0,
    niter: int = 4,
    oversample: int = 10,
    full: bool | None = None,
    dtype=None,
) -> SVD:
    """Top-k singular triplets of X (dense array or scipy sparse), signs fixed by `fix_signs`.

    method:     "torch" (default), "scipy" or "sklearn"; see the module docstring.
    device:     where the torch method runs ("auto": CUDA if available; see utils.device).
    seed:       the random start (randomized sketch, ARPACK start vector): same seed, same result.
    niter:      power iterations of the randomized methods (more: more accurate, slower).
    oversample: extra sketch columns of the randomized methods (q = k + oversample).
    full:       True: exact SVD of the densified matrix; False: randomized/iterative; None
                (default): exact when X has at most FULL_SVD_MAX_ENTRIES entries or k is close
                to min(X.shape).
    dtype:      float32 or float64; default float64 if X is float64, else float32.

    Returns SVD(U (m, k), S (k,), Vt (k, n)) as NumPy arrays of `dtype`, S descending.
    """
    X = _as_input(X)
    m, n = X.shape
    if not 1 <= k <= min(m, n):
        raise ValueError(f"k must be between 1 and min(X.shape) = {min(m, n)}, got {k}")
    dtype = _float_dtype(X, dtype)
    if full is None:
        full = m * n <= FULL_SVD_MAX_ENTRIES or k + oversample >= min(m, n)
    if method == "torch":
        U, S, Vt = _torch_svd(X, k, device, seed, niter, oversample, full, dtype)
    elif method == "scipy":
        U, S, Vt = _scipy_svd(X, k, seed, full, dtype)
    elif method == "sklearn":
        U, S, Vt = _sklearn_svd(X, k, seed, niter, oversample, dtype)
    else:
        raise ValueError(f"method must be 'torch', 'scipy' or 'sklearn', not {method!r}")
    order = np.argsort(-S, kind="stable")
    U, S, Vt = U[:, order], S[order], Vt[order]
    U, Vt = fix_signs(U, Vt)
    return SVD(U.astype(dtype, copy=False), S.astype(dtype, copy=False), Vt.astype(dtype, copy=False))


def _torch_dtype(dtype: np.dtype) -> torch.dtype:
    return torch.float64 if dtype == np.float64 else torch.float32


def _to_torch_csr(X: sp.csr_matrix, device: torch.device, dtype: np.dtype) -> torch.Tensor:
    X = sp.csr_matrix(X)
    if not X.has_canonical_format:  # sorted indices, no duplicates: what torch's CSR expects
        X = X.copy()
        X.sum_duplicates()
    return torch.sparse_csr_tensor(
        torch.from_numpy(X.indptr.astype(np.int64)),
        torch.from_numpy(X.indices.astype(np.int64)),
        torch.from_numpy(X.data.astype(dtype, copy=False)),
        size=X.shape,
        dtype=_torch_dtype(dtype),
        device=device,
        check_invariants=False,  # scipy's canonical CSR (sorted, no duplicates) satisfies them
    )


def _to_torch_dense(X, device: torch.device, dtype: np.dtype) -> torch.Tensor:
    dense = X.toarray() if sp.issparse(X) else X
    return torch.from_numpy(np.ascontiguousarray(dense, dtype=dtype)).to(device)


def _torch_svd(X, k, device, seed, niter, oversample, full, dtype):
    device = resolve_device(device)
    if full:
        A = _to_torch_dense(X, device, dtype)
        U, S, Vh = torch.linalg.svd(A, full_matrices=False)
        return U[:, :k].cpu().numpy(), S[:k].cpu().numpy(), Vh[:k].cpu().numpy()
    if sp.issparse(X):
        # CSR for both A and A^T: sparse-times-dense products are several times faster
        # than with the COO tensors torch.svd_lowrank works on.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            A = _to_torch_csr(X, device, dtype)
            At = _to_torch_csr(X.T, device, dtype)
    else:
        A = _to_torch_dense(X, device, dtype)
        At = A.T
    q = min(k + oversample, min(X.shape))
    # The random test matrix is drawn on the CPU from its own generator: the same seed gives
    # the same sketch on every device, and torch's global random state is left alone.
    generator = torch.Generator().manual_seed(int(seed))
    omega = torch.randn(X.shape[1], q, generator=generator, dtype=_torch_dtype(dtype)).to(device)
    U, S, Vt = _randomized_svd(A, At, omega, niter)
    return U[:, :k].cpu().numpy(), S[:k].cpu().numpy(), Vt[:k].cpu().numpy()


def _randomized_svd(A, At, omega: torch.Tensor, niter: int):
    """Halko, Martinsson & Tropp (2011), Algorithms 4.4 and 5.1, as in torch.svd_lowrank.

    Range finder with `niter` power iterations, re-orthonormalised at every step:
        Q = orth(A Ω);  repeat niter times: Q = orth(A orth(A^T Q))
    then B = Q^T A (small, q x n), B = Ũ Σ V^T exactly, and U = Q Ũ.
    Both small factorisations go through q x q Gram matrices in float64 (`_orthonormalize`,
    `_small_svd`): on a CPU they are several times faster than LAPACK's tall QR and wide SVD.
    """
    Q = _orthonormalize(A @ omega)
    for _ in range(niter):
        Q = _orthonormalize(At @ Q)
        Q = _orthonormalize(A @ Q)
    Ub, S, Vt = _small_svd((At @ Q).T)
    return Q @ Ub, S, Vt


def _orthonormalize(Y: torch.Tensor) -> torch.Tensor:
    """An orthonormal basis of Y's columns (m x q, m >> q): Cholesky QR, twice (CholeskyQR2).

    Y = Q R with R^T R = Y^T Y, so Q = Y R^{-1}; the second pass restores orthogonality lost
    to rounding. Falls back to Householder QR when Y^T Y is not positive definite (Y has
    dependent columns, e.g. when X's rank is below q).
    """
    try:
        for _ in range(2):
            gram = (Y.T @ Y).double()
            L = torch.linalg.cholesky(gram)  # gram = L L^T, so R = L^T
            Y = torch.linalg.solve_triangular(L, Y.T.double(), upper=False).T.to(Y.dtype)
        return Y
    except RuntimeError:  # torch.linalg.LinAlgError: not positive definite
        return torch.linalg.qr(Y).Q


def _small_svd(B: torch.Tensor):
    """SVD of a wide q x n matrix (q small) from the eigendecomposition of B B^T (q x q).

    B B^T = Ũ Σ² Ũ^T, so Σ = sqrt(eigenvalues) and V^T = Σ^{-1} Ũ^T B. Falls back to
    torch.linalg.svd when a singular value is too small to divide by accurately.
    """
    evals, evecs = torch.linalg.eigh((B @ B.T).double())
    order = torch.argsort(evals, descending=True)
    S = evals[order].clamp_min(0).sqrt()
    if S[-1] <= 1e-6 * S[0]:
        U, S, Vt = torch.linalg.svd(B, full_matrices=False)
        return U, S, Vt
    Ub = evecs[:, order]
    Vt = (Ub.T @ B.double()) / S[:, None]
    return Ub.to(B.dtype), S.to(B.dtype), Vt.to(B.dtype)


def _scipy_svd(X, k, seed, full, dtype):
    if full or k >= min(X.shape):
        import scipy.linalg

        dense = X.toarray() if sp.issparse(X) else X
        U, S, Vt = scipy.linalg.svd(np.asarray(dense, dtype=dtype), full_matrices=False)
        return U[:, :k], S[:k], Vt[:k]
    from scipy.sparse.linalg import svds

    A = X.astype(dtype) if sp.issparse(X) else np.asarray(X, dtype=dtype)
    v0 = np.random.default_rng(seed).standard_normal(min(X.shape)).astype(dtype)
    U, S, Vt = svds(A, k=k, v0=v0, solver="arpack")
    return U, S, Vt


def _sklearn_svd(X, k, seed, niter, oversample, dtype):
    from sklearn.decomposition import TruncatedSVD

    if k >= X.shape[1]:
        raise ValueError(f"sklearn's TruncatedSVD needs k < number of columns ({X.shape[1]}); use method='torch'")
    A = X.astype(dtype) if sp.issparse(X) else np.asarray(X, dtype=dtype)
    svd = TruncatedSVD(
        n_components=k, algorithm="randomized", n_iter=niter, n_oversamples=oversample, random_state=seed
    )
    US = svd.fit_transform(A)  # = U Σ (homework 1's word vectors)
    S = svd.singular_values_
    with np.errstate(divide="ignore", invalid="ignore"):
        U = np.where(S > 0, US / S, 0.0)
    return U, S, svd.components_


def svd_word_vectors(
    X,
    index_to_key: Sequence[str],
    k: int = 100,
    *,
    power: float = 1.0,
    method: str = "torch",
    device: str | torch.device = "auto",
    seed: int = 0,
    **svd_options,
):
    """Word vectors from a truncated SVD of X: row i of U_k Σ_k^power is word index_to_key[i].

    power = 1 (default) gives U_k Σ_k = X V_k, as CS224N homework 1 (TruncatedSVD.fit_transform)
    and the GloVe paper's SVD, SVD-S, SVD-L baselines; Levy et al. (2015) discuss power 0.5
    and 0 (unweighted U_k). Pass a transformed X (log_counts, sqrt_counts, ppmi, coals from
    utils.cooccurrence) for those variants. X's rows are words 0..X.shape[0]-1, so a
    row-truncated matrix (top_rows=r) takes the first r entries of a longer index_to_key.
    Other keyword arguments go to `truncated_svd`. Returns a `utils.vectors.WordVectors`.
    """
    from utils.vectors import WordVectors

    if len(index_to_key) < X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but index_to_key only {len(index_to_key)} words")
    U, S, _ = truncated_svd(X, k, method=method, device=device, seed=seed, **svd_options)
    vectors = (U * S.astype(np.float64) ** power).astype(np.float32)
    return WordVectors(vectors, list(index_to_key[: X.shape[0]]))


def reconstruction_error(X, U: np.ndarray, S: np.ndarray, Vt: np.ndarray) -> float:
    """||X - U diag(S) Vt||_F^2 (squared Frobenius norm), in float64, without densifying X.

    For the exact top-k SVD this equals Σ_{i>k} s_i^2 (Eckart–Young). For a sparse X it uses
        ||X||^2 - 2 Σ_i s_i u_i^T X v_i + Σ_ij s_i s_j (U^T U)_ij (V^T V)_ij,
    which is exact for any factors (orthonormal or not).
    """
    U = np.asarray(U, dtype=np.float64)
    S = np.asarray(S, dtype=np.float64)
    Vt = np.asarray(Vt, dtype=np.float64)
    if not sp.issparse(X) and np.size(X) <= FULL_SVD_MAX_ENTRIES:
        residual = np.asarray(X, dtype=np.float64) - (U * S) @ Vt
        return float(np.sum(residual**2))
    Xs = sp.csr_matrix(X, dtype=np.float64)
    x_norm2 = float(Xs.multiply(Xs).sum())
    XV = Xs @ Vt.T  # (m, k)
    cross = float(np.sum(S * np.einsum("ik,ik->k", U, XV)))
    approx_norm2 = float(S @ ((U.T @ U) * (Vt @ Vt.T)) @ S)
    return max(x_norm2 - 2 * cross + approx_norm2, 0.0)
