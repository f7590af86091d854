"""GloVe (Pennington, Socher & Manning 2014): weighted least squares on log co-occurrence counts.

Notation follows the lecture and the paper. Every word i has two vectors and two biases:
    w_i   its word vector     (row i of `W`,       V x d),  b_i  (`b`,       V)
    w̃_j   its context vector  (row j of `W_tilde`, V x d),  b̃_j  (`b_tilde`, V)
and the model asks w_i·w̃_j + b_i + b̃_j ≈ log X_ij for every non-zero co-occurrence count:

    J = Σ_{i,j: X_ij > 0} f(X_ij) (w_i·w̃_j + b_i + b̃_j − log X_ij)²

    f(x) = (x / x_max)^α  if x < x_max,  else 1        (α = 3/4; f(0) = 0)

f keeps rare, noisy counts from dominating and caps frequent ones ("the", "of"), so no
single pair decides the fit. Only the non-zero cells are ever visited (never a dense V x V
matrix), in a fresh random order each epoch, and only the rows of the cells in hand are
updated.

The counts X come from `utils.cooccurrence.cooccurrence_matrix`: a symmetric window of
`window` words, pairs at distance d weighted 1/d, pairs inside sentences only (as the
reference code, which never crosses a line).

Optimiser: AdaGrad as the reference implementation (glove.c) has it. Per parameter θ with
gradient g of ½ J's term (g = f(X_ij) · diff · w̃_j for w_i, diff = w_i·w̃_j + b_i + b̃_j − log X_ij):
    s = η · clip(g, ±grad_clip)          (biases: s = η_b · g, not clipped; η_b = 1 as glove.c)
    θ -= s / sqrt(G);  G += s²           (G starts at 1)
so the first step is exactly η g and later ones shrink as sqrt(1 + Σ (η g)²) grows; in the
usual AdaGrad notation that is a step of g / sqrt(1/η² + Σ g²). Stepping on ½ J rather than J
keeps η = 0.05 meaning what it means for the reference code.

Two backends run the same algorithm:
- "numba": a compiled loop over the shuffled non-zero cells, one cell at a time, as glove.c.
  With `workers > 1`, threads update the shared matrices without locks ("Hogwild", as
  glove.c); `workers=1` is deterministic for a given seed. The fast path on the CPU.
- "torch": batches of cells, `glove_loss_and_grads` on the gathered rows, gradients summed
  per row (`index_add_`) and AdaGrad applied to the rows that occur. Runs on any torch
  device (GPU included); deterministic on the CPU.

Quick start:
    from utils.glove import GloVe
    wv = GloVe(vector_size=50, window=10, epochs=15).fit(sentences)     # a WordVectors
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

from utils import checkpoint
from utils.cooccurrence import cooccurrence_matrix
from utils.corpus import EncodedCorpus, Vocabulary
from utils.device import resolve_device

try:  # numba is the CPU fast path; without it everything runs on the torch backend.
    import numba
except ImportError:  # pragma: no cover - numba is a dependency, but keep the module importable
    numba = None

__all__ = [
    "GloVeConfig", "GloVe", "train_glove", "weighting_function", "glove_loss_and_grads",
    "TrainingDivergedError", "numba_available",
]

BACKENDS = ("auto", "torch", "numba")
VECTORS = ("sum", "w", "w_tilde")
CHECKPOINT_VERSION = 1


class TrainingDivergedError(FloatingPointError):
    """The loss or the parameters became NaN/inf or blew up; the message suggests a fix."""


# ======================================================================================
# 1. The weighting function and the loss of a batch of cells (pure functions: a lecture
#    can plot and call them, a test can compare the gradients with autograd)


def weighting_function(x, x_max: float = 100.0, alpha: float = 0.75):
    """f(x) = (x / x_max)^alpha for x < x_max, else 1; f(0) = 0.

    x: a number, a NumPy array or a torch tensor of co-occurrence counts (>= 0); returns the
    same kind. The paper's choice is x_max = 100, alpha = 3/4.
    """
    if isinstance(x, torch.Tensor):
        return torch.where(x < x_max, (x / x_max).clamp(min=0) ** alpha, torch.ones_like(x))
    values = np.asarray(x, dtype=np.float64)
    out = np.where(values < x_max, np.clip(values / x_max, 0, None) ** alpha, 1.0)
    return float(out) if out.ndim == 0 else out


def glove_loss_and_grads(
    w: torch.Tensor,
    w_tilde: torch.Tensor,
    b: torch.Tensor,
    b_tilde: torch.Tensor,
    x: torch.Tensor,
    x_max: float = 100.0,
    alpha: float = 0.75,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """GloVe's loss on a batch of B non-zero cells (i, j), and its gradients.

    w:       (B, d)  w_i, the word vector of each cell's row
    w_tilde: (B, d)  w̃_j, the context vector of each cell's column
    b:       (B,)    b_i;   b_tilde: (B,)  b̃_j
    x:       (B,)    X_ij > 0

    J_ij = f(X_ij) diff²,  diff = w_i·w̃_j + b_i + b̃_j − log X_ij
    ∂J_ij/∂w_i = 2 f diff w̃_j    ∂J_ij/∂w̃_j = 2 f diff w_i    ∂J_ij/∂b_i = ∂J_ij/∂b̃_j = 2 f diff

    Returns loss (B,), grad_w (B, d), grad_w_tilde (B, d), grad_b (B,), grad_b_tilde (B,).
    """
    diff = (w * w_tilde).sum(1) + b + b_tilde - torch.log(x)
    weighted = weighting_function(x, x_max, alpha).to(diff.dtype) * diff  # f diff
    loss = weighted * diff
    g = 2 * weighted
    return loss, g.unsqueeze(1) * w_tilde, g.unsqueeze(1) * w, g, g


# ======================================================================================
# 2. The numba backend: one cell at a time, as glove.c, on NumPy views of the tensors

if numba is not None:
    # Every fast-math flag except "no NaNs / no infs": a diverging run must still show NaN.
    _FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
    _jit = numba.njit(nogil=True, cache=True, fastmath=_FASTMATH)

    @_jit
    def _shuffle_numba(order, seed):
        """Fisher–Yates shuffle of `order` in place, with splitmix64 random numbers from `seed`."""
        state = np.uint64(seed)
        for k in range(order.shape[0] - 1, 0, -1):
            state += np.uint64(0x9E3779B97F4A7C15)
            z = state
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
            j = np.int64(((z >> np.uint64(32)) * np.uint64(k + 1)) >> np.uint64(32))
            order[k], order[j] = order[j], order[k]

    @_jit
    def _train_cells_numba(order, start, stop, rows, cols, log_x, f_x, W, W_tilde, b, b_tilde,
                           G, G_tilde, Gb, Gb_tilde, eta, eta_bias, grad_clip):
        """AdaGrad steps on the cells order[start:stop], in that order.

        rows, cols, log_x, f_x: (nnz,) the cells' i, j, log X_ij and f(X_ij).
        G, G_tilde (V, d) and Gb, Gb_tilde (V,): the AdaGrad accumulators.
        Returns the summed loss Σ f diff² of the cells (measured before each cell's step).
        """
        d = W.shape[1]
        loss = 0.0
        for k in range(start, stop):
            c = order[k]
            i = rows[c]
            j = cols[c]
            dot = np.float32(0.0)
            for t in range(d):
                dot += W[i, t] * W_tilde[j, t]
            diff = dot + b[i] + b_tilde[j] - log_x[c]
            fdiff = f_x[c] * diff  # ∂(½ J_ij)/∂b_i
            loss += fdiff * diff
            for t in range(d):
                s = min(max(fdiff * W_tilde[j, t], -grad_clip), grad_clip) * eta
                s_tilde = min(max(fdiff * W[i, t], -grad_clip), grad_clip) * eta
                W[i, t] -= s / math.sqrt(G[i, t])
                W_tilde[j, t] -= s_tilde / math.sqrt(G_tilde[j, t])
                G[i, t] += s * s
                G_tilde[j, t] += s_tilde * s_tilde
            s = fdiff * eta_bias
            b[i] -= s / math.sqrt(Gb[i])
            b_tilde[j] -= s / math.sqrt(Gb_tilde[j])
            Gb[i] += s * s
            Gb_tilde[j] += s * s
        return loss


def numba_available() -> bool:
    return numba is not None


# ======================================================================================
# 3. The trainer


@dataclass
class GloVeConfig:
    """Every setting of a run (saved in checkpoints). Defaults are the reference code's demo.

    vector_size: d, the dimension of the vectors (the demo: 50; the paper: up to 300)
    window:      words on each side; a pair at distance d counts 1/d (the paper: 10; the demo: 15)
    x_max, alpha: the weighting function f (see `weighting_function`). x_max defaults to 10,
                 as the reference demo on text8 (17M tokens): on corpora of a few million
                 tokens, like this course's, few counts reach the paper's 100 (chosen for
                 billions of tokens), and f would then down-weight almost every cell.
    learning_rate: η of AdaGrad for the vectors (0.05, as the paper and glove.c)
    bias_learning_rate: η_b of AdaGrad for the biases b, b̃. 1.0 (default): as glove.c, whose
                 bias step is f·diff / sqrt(G_b) with no η; a rare word's bias then reaches
                 its value in a few steps instead of twenty times as many
    epochs:      passes over the non-zero cells (the demo: 15; glove.c's default 25)
    min_count, max_vocab_size: vocabulary cut-offs
    vectors:     what `word_vectors()` returns: "sum" W + W̃ (the paper's choice), "w" or "w_tilde"
    grad_clip:   each component of a vector's gradient is clipped to ±grad_clip (glove.c: 100)
    backend:     "numba" (CPU, per cell), "torch" (batched, any device) or "auto"
    device:      torch device for the torch backend ("auto": CUDA when available)
    batch_size:  cells per step of the torch backend (None: 4096 on CPU, 65536 on GPU, at most
                 1/32 of the non-zero cells)
    workers:     Hogwild threads of the numba backend (1: deterministic)
    seed:        seeds the initialisation and the order of the cells in every epoch
    """

    vector_size: int = 50
    window: int = 15
    x_max: float = 10.0
    alpha: float = 0.75
    learning_rate: float = 0.05
    bias_learning_rate: float = 1.0
    epochs: int = 15
    min_count: int = 5
    max_vocab_size: int | None = None
    vectors: str = "sum"
    grad_clip: float = 100.0
    backend: str = "auto"
    device: str = "auto"
    batch_size: int | None = None
    workers: int = 1
    seed: int = 0

    def validate(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {self.backend!r}")
        if self.vectors not in VECTORS:
            raise ValueError(
                f"vectors must be one of {VECTORS} (W + W̃, W alone, W̃ alone), not {self.vectors!r}"
            )
        for name in ("vector_size", "window", "epochs", "workers", "min_count"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        for name in ("x_max", "alpha", "learning_rate", "bias_learning_rate", "grad_clip"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(
                    f"{name} must be a positive finite number, not {value!r} "
                    "(defaults: x_max 10 (paper 100), alpha 0.75, learning_rate 0.05, "
                    "bias_learning_rate 1, grad_clip 100)"
                )
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1 (or None), not {self.batch_size}")
        if self.backend == "numba" and numba is None:
            raise ValueError("backend='numba' needs the numba package (pip install numba)")


@dataclass
class _Cells:
    """The non-zero cells of X as flat arrays, and f and log of their counts."""

    rows: np.ndarray  # int32 (nnz,) i
    cols: np.ndarray  # int32 (nnz,) j
    counts: np.ndarray  # float32 (nnz,) X_ij
    log_x: np.ndarray  # float32 (nnz,) log X_ij
    f_x: np.ndarray  # float32 (nnz,) f(X_ij)
    loss_limit: float  # a loss per cell above this is divergence (see set_cooccurrence)

    @property
    def nnz(self) -> int:
        return int(self.rows.shape[0])


class GloVe:
    """A GloVe model: its vocabulary, co-occurrence counts, parameters and how it is trained.

    GloVe(**settings) takes the fields of `GloVeConfig`. Then
        wv = model.fit(sentences)        # vocabulary, co-occurrence counts, training -> WordVectors
    or, step by step,
        model.build_vocab(sentences)
        X = model.build_cooccurrence(sentences)    # scipy.sparse CSR (V, V), also model.cooccurrence
        model.train(sentences, checkpoint="glove.pt")
    and after an interruption
        GloVe.load_checkpoint("glove.pt").train(sentences, checkpoint="glove.pt")
    continues where the checkpoint left off, with the same result as an uninterrupted run
    (with workers=1).

    W, W_tilde: torch (V, d) float32, w_i and w̃_j;  b, b_tilde: torch (V,) float32
    history:    per epoch: mean loss per non-zero cell (Σ f diff² / nnz), seconds, cells/s
    timings:    seconds spent counting co-occurrences ("cooccurrence") and training ("training")
    """

    def __init__(self, **settings):
        self.config = GloVeConfig(**settings)
        self.config.validate()
        self.vocab: Vocabulary | None = None
        self.cooccurrence: sp.csr_matrix | None = None
        self.W = self.W_tilde = self.b = self.b_tilde = None
        self._accumulators: tuple[torch.Tensor, ...] | None = None  # G, G_tilde, Gb, Gb_tilde
        self.epochs_done = 0
        self.history: list[dict] = []
        self.timings: dict[str, float] = {}
        self._cells: _Cells | None = None
        self._device_cells: tuple[torch.Tensor, ...] | None = None  # torch backend: (i, j, X_ij) on the device
        self._fingerprint: list | None = None  # [nnz, Σ X_ij] of the counts trained on

    # -- set-up --------------------------------------------------------------------------

    @property
    def backend(self) -> str:
        """The backend that will run: "auto" becomes numba on the CPU when it can."""
        cfg = self.config
        if cfg.backend != "auto":
            return cfg.backend
        return "numba" if numba is not None and self.device.type == "cpu" else "torch"

    @property
    def device(self) -> torch.device:
        return torch.device("cpu") if self.config.backend == "numba" else resolve_device(self.config.device)

    def build_vocab(self, corpus: Sequence[Sequence[str]] | EncodedCorpus) -> "GloVe":
        """Count the words, keep the vocabulary and initialise the parameters.

        W, W̃, b, b̃ ~ Uniform(-0.5/d, 0.5/d) and every AdaGrad accumulator 1, as glove.c.
        """
        cfg = self.config
        self.vocab = Vocabulary.of(corpus, min_count=cfg.min_count, max_size=cfg.max_vocab_size)
        vocab_size, d = len(self.vocab), cfg.vector_size
        generator = torch.Generator().manual_seed(cfg.seed)

        def uniform(*shape):
            return ((torch.rand(*shape, generator=generator) - 0.5) / d).to(self.device)

        self.W, self.W_tilde = uniform(vocab_size, d), uniform(vocab_size, d)
        self.b, self.b_tilde = uniform(vocab_size), uniform(vocab_size)
        self._accumulators = tuple(torch.ones_like(p) for p in (self.W, self.W_tilde, self.b, self.b_tilde))
        self.cooccurrence, self._cells, self._fingerprint = None, None, None
        self.epochs_done = 0
        self.history = []
        return self

    def build_cooccurrence(self, corpus) -> sp.csr_matrix:
        """X (V, V) float32 CSR: 1/d-weighted counts in a symmetric window, inside sentences.

        Stored as `self.cooccurrence`; its time in `self.timings["cooccurrence"]`.
        """
        if self.vocab is None:
            self.build_vocab(corpus)
        start = time.perf_counter()
        X = cooccurrence_matrix(self.vocab.encode(corpus), self.config.window, weighting="harmonic")
        self.timings["cooccurrence"] = time.perf_counter() - start
        self.set_cooccurrence(X)
        return X

    def set_cooccurrence(self, X) -> None:
        """Train on a given co-occurrence matrix X (V, V) over the model's vocabulary."""
        X = sp.csr_matrix(X, dtype=np.float32)
        V = len(self.vocab)
        if X.shape != (V, V):
            raise ValueError(f"X must be {V} x {V} (the vocabulary's size), not {X.shape[0]} x {X.shape[1]}")
        X.eliminate_zeros()
        if X.nnz == 0:
            raise ValueError(
                "the co-occurrence matrix has no non-zero cell: no two words share a window. "
                "Check the corpus (sentences of at least two in-vocabulary words) and min_count."
            )
        if X.data.min() < 0 or not np.isfinite(X.data).all():
            raise ValueError("co-occurrence counts must be finite and non-negative")
        fingerprint = [X.nnz, float(X.data.sum(dtype=np.float64))]  # cells and total count
        expected = self._fingerprint
        if expected is not None and (expected[0] != fingerprint[0] or not math.isclose(expected[1], fingerprint[1])):
            raise ValueError(
                f"this model was trained on {expected[0]} non-zero cells summing to {expected[1]:.6g}, "
                f"not {fingerprint[0]} summing to {fingerprint[1]:.6g}: resume with the same corpus and window"
            )
        self.cooccurrence = X
        self._fingerprint = fingerprint
        self._device_cells = None
        rows = np.repeat(np.arange(V, dtype=np.int32), np.diff(X.indptr))
        counts = X.data.astype(np.float32)
        log_x = np.log(counts.astype(np.float64))
        f_x = weighting_function(counts, self.config.x_max, self.config.alpha)
        self._cells = _Cells(
            rows=rows, cols=X.indices.astype(np.int32), counts=counts,
            log_x=log_x.astype(np.float32), f_x=f_x.astype(np.float32),
            # a loss per cell no sane run reaches: 100x that of the all-zero model, f (log X)²;
            # computed once here (a pass over every cell; per report it cost 2 s a GPU epoch)
            loss_limit=100.0 * float(np.mean(f_x * log_x**2)) + 100.0,
        )

    # -- training ------------------------------------------------------------------------

    def fit(self, corpus, **train_options):
        """build_vocab + build_cooccurrence + train; returns the WordVectors (see `word_vectors`)."""
        self.build_vocab(corpus)
        self.build_cooccurrence(corpus)
        return self.train(corpus, **train_options)

    def train(self, corpus=None, *, checkpoint: str | Path | None = None, progress: bool = True):
        """Train the remaining epochs (all of them, or those after a checkpoint).

        corpus:     sentences or an EncodedCorpus (needed unless the co-occurrence matrix
                    is already built or set)
        checkpoint: a file to save the model to after every epoch (atomically)
        progress:   show a progress bar with the loss and cells/second
        Returns `word_vectors()`. Raises TrainingDivergedError if the loss becomes NaN/inf
        or explodes (almost always a learning rate that is too high).
        """
        if self._cells is None:
            if corpus is None:
                raise ValueError("no co-occurrence counts yet: pass the corpus (or call set_cooccurrence)")
            self.build_cooccurrence(corpus)
        cfg = self.config
        cells = self._cells
        bar = tqdm(
            total=cfg.epochs * cells.nnz, initial=self.epochs_done * cells.nnz, unit=" cells",
            unit_scale=True, disable=not progress, desc=f"GloVe d={cfg.vector_size}",
        )
        train_epoch = self._train_epoch_numba if self.backend == "numba" else self._train_epoch_torch
        start_training = time.perf_counter()
        try:
            while self.epochs_done < cfg.epochs:
                epoch = self.epochs_done
                start = time.perf_counter()
                loss = train_epoch(epoch, bar)
                seconds = time.perf_counter() - start
                self.epochs_done += 1
                self.history.append({
                    "epoch": epoch, "loss": loss / cells.nnz, "seconds": seconds,
                    "cells_per_second": cells.nnz / seconds,
                })
                if checkpoint is not None:
                    self.save_checkpoint(checkpoint)
        finally:
            bar.close()
        self.timings["training"] = self.timings.get("training", 0.0) + time.perf_counter() - start_training
        return self.word_vectors()

    def _epoch_seed(self, epoch: int) -> int:
        """This epoch's own random stream (so resuming from a checkpoint is exact)."""
        return int(np.random.default_rng([self.config.seed, epoch]).integers(1, 2**63))

    def _report(self, bar, epoch: int, done: int, loss: float, cells: int) -> None:
        """Move the bar to `done` cells of epoch `epoch`; stop with a clear error on divergence."""
        per_cell = loss / max(cells, 1)
        if not math.isfinite(per_cell) or per_cell > self._cells.loss_limit:
            raise self._diverged(epoch, per_cell)
        bar.set_postfix(loss=f"{per_cell:.4f}", refresh=False)
        bar.update(epoch * self._cells.nnz + done - bar.n)


    def _diverged(self, epoch: int, per_cell: float) -> TrainingDivergedError:
        eta = self.config.learning_rate
        return TrainingDivergedError(
            f"GloVe diverged in epoch {epoch + 1}: the loss per non-zero cell is {per_cell}. "
            f"The learning rate learning_rate={eta:g} is most likely too high; try "
            f"learning_rate={eta / 10:g} (the paper and glove.c use 0.05)."
        )

    def _check_finite(self, epoch: int) -> None:
        for p in (self.W, self.W_tilde, self.b, self.b_tilde):
            if not bool(torch.isfinite(p).all()):
                raise self._diverged(epoch, float("nan"))

    # -- numba backend -----------------------------------------------------------------

    CHUNK_CELLS = 1 << 20  # cells per unit of work: threads take the next chunk as they free up

    def _train_epoch_numba(self, epoch: int, bar) -> float:
        cfg = self.config
        cells = self._cells
        order = np.arange(cells.nnz, dtype=np.int32 if cells.nnz < 2**31 else np.int64)
        _shuffle_numba(order, np.uint64(self._epoch_seed(epoch)))
        params = [p.numpy() for p in (self.W, self.W_tilde, self.b, self.b_tilde)]  # shared memory
        accumulators = [g.numpy() for g in self._accumulators]
        bounds = np.append(np.arange(0, cells.nnz, self.CHUNK_CELLS), cells.nnz)
        eta, eta_bias, clip = (np.float32(x) for x in (cfg.learning_rate, cfg.bias_learning_rate, cfg.grad_clip))

        def work(k):
            return _train_cells_numba(order, bounds[k], bounds[k + 1], cells.rows, cells.cols, cells.log_x,
                                      cells.f_x, *params, *accumulators, eta, eta_bias, clip)

        pool = ThreadPoolExecutor(cfg.workers) if cfg.workers > 1 else None
        results = pool.map(work, range(len(bounds) - 1)) if pool else map(work, range(len(bounds) - 1))
        total = 0.0
        try:
            for k, loss in enumerate(results):
                total += loss
                self._report(bar, epoch, int(bounds[k + 1]), loss, int(bounds[k + 1] - bounds[k]))
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)
        self._check_finite(epoch)
        return total

    # -- torch backend -----------------------------------------------------------------

    def _train_epoch_torch(self, epoch: int, bar) -> float:
        cfg = self.config
        device = self.device
        cells = self._cells
        # the device's batch, but at most 1/32 of the cells: a small matrix still gets 32 steps
        batch_size = cfg.batch_size or max(1, min(65536 if device.type == "cuda" else 4096, cells.nnz // 32))
        if self._device_cells is None or self._device_cells[0].device != device:
            self._device_cells = tuple(
                torch.from_numpy(a).to(device) for a in (cells.rows.astype(np.int64), cells.cols.astype(np.int64),
                                                         cells.counts)
            )
        rows, cols, counts = self._device_cells
        generator = torch.Generator(device=device).manual_seed(self._epoch_seed(epoch) % 2**63)
        order = torch.randperm(cells.nnz, device=device, generator=generator)
        report_every = max(cells.nnz // 20, batch_size)
        total, pending, pending_cells, last = 0.0, torch.zeros((), device=device, dtype=torch.float64), 0, 0
        for first in range(0, cells.nnz, batch_size):
            batch = order[first:first + batch_size]
            pending += self._torch_step(rows[batch], cols[batch], counts[batch])
            pending_cells += len(batch)
            done = first + len(batch)
            if done - last >= report_every or done == cells.nnz:
                loss = float(pending)
                total += loss
                self._report(bar, epoch, done, loss, pending_cells)
                pending.zero_()
                pending_cells, last = 0, done
        self._check_finite(epoch)
        return total

    def _torch_step(self, i: torch.Tensor, j: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """One AdaGrad step on a batch of cells (i, j, X_ij); returns the batch's summed loss."""
        cfg = self.config
        loss, grad_w, grad_w_tilde, grad_b, grad_b_tilde = glove_loss_and_grads(
            self.W[i], self.W_tilde[j], self.b[i], self.b_tilde[j], x, cfg.x_max, cfg.alpha
        )
        G, G_tilde, Gb, Gb_tilde = self._accumulators
        clip = cfg.grad_clip
        # ½ J's gradients, as glove.c (see the module docstring); vectors' components clipped
        _adagrad_rows(self.W, G, i, (grad_w / 2).clamp_(-clip, clip), cfg.learning_rate)
        _adagrad_rows(self.W_tilde, G_tilde, j, (grad_w_tilde / 2).clamp_(-clip, clip), cfg.learning_rate)
        _adagrad_rows(self.b, Gb, i, grad_b / 2, cfg.bias_learning_rate)
        _adagrad_rows(self.b_tilde, Gb_tilde, j, grad_b_tilde / 2, cfg.bias_learning_rate)
        return loss.sum(dtype=torch.float64)

    # -- results and checkpoints ---------------------------------------------------------

    def word_vectors(self, vectors: str | None = None):
        """The trained vectors as a utils.vectors.WordVectors: W + W̃ ("sum"), W ("w") or W̃ ("w_tilde").

        `vectors` overrides the configured choice for this call.
        """
        from utils.vectors import WordVectors

        choice = self.config.vectors if vectors is None else vectors
        if choice not in VECTORS:
            raise ValueError(f"vectors must be one of {VECTORS}, not {choice!r}")
        matrix = {"sum": lambda: self.W + self.W_tilde, "w": lambda: self.W, "w_tilde": lambda: self.W_tilde}[choice]()
        return WordVectors(
            matrix.detach().cpu().numpy().astype(np.float32, copy=True),
            list(self.vocab.index_to_key),
            counts=self.vocab.counts.copy(),
        )

    def save_checkpoint(self, path: str | Path) -> None:
        """Save everything needed to continue training (written atomically).

        The co-occurrence counts are not saved (they are rebuilt from the corpus on resume);
        their number of non-zero cells and their sum are, to check that the corpus is the same.
        """
        G, G_tilde, Gb, Gb_tilde = self._accumulators
        checkpoint.save_checkpoint(
            path, kind="GloVe", version=CHECKPOINT_VERSION, config=self.config, vocab=self.vocab,
            tensors={"W": self.W, "W_tilde": self.W_tilde, "b": self.b, "b_tilde": self.b_tilde,
                     "G": G, "G_tilde": G_tilde, "Gb": Gb, "Gb_tilde": Gb_tilde},
            epochs_done=self.epochs_done, nnz=self._fingerprint, history=self.history)

    @classmethod
    def load_checkpoint(cls, path: str | Path, **overrides) -> "GloVe":
        """A model as saved by `save_checkpoint`; `overrides` may change e.g. device or workers."""
        state, vocab = checkpoint.load_checkpoint(path, kind="GloVe", version=CHECKPOINT_VERSION)
        model = cls(**{**state["config"], **overrides})
        model.vocab = vocab
        tensors = {name: tensor.to(model.device) for name, tensor in state["tensors"].items()}
        model.W, model.W_tilde, model.b, model.b_tilde = (tensors[k] for k in ("W", "W_tilde", "b", "b_tilde"))
        model._accumulators = tuple(tensors[k] for k in ("G", "G_tilde", "Gb", "Gb_tilde"))
        model.epochs_done = state["epochs_done"]
        model._fingerprint = list(state["nnz"])
        model.history = list(state["history"])
        return model


def _adagrad_rows(param: torch.Tensor, accumulator: torch.Tensor, rows: torch.Tensor, grads: torch.Tensor,
                  eta: float, dense: bool | None = None) -> None:
    """AdaGrad on the rows that occur, for a batch of cells; s = η g per cell.

    rows: (B,) int64, grads: (B, d) or (B,). A row that n cells of the batch share takes one
    step, the sum of their n steps, divided by the root of the accumulator that n steps one
    cell at a time would have seen on average, G + (n-1)/(2n) Σ s²; then G += Σ s², as n
    such steps add. With n = 1 this is glove.c's per-cell rule, θ -= s / √G. Dividing the sum
    by the old G alone would let a frequent row jump n raw steps at once on the first batch
    (G = 1): with the biases' η_b = 1 that diverges.

    dense: sum the steps in vocabulary-sized buffers (rows that do not occur get a zero step
    and stay bit-for-bit as they were) instead of over the batch's distinct rows found by
    torch.unique, which must sync a GPU on every call to size its output. None: dense on CUDA
    while the vocabulary is at most 8 batches long (beyond that the buffers cost more than
    the sync). Both compute the same update.
    """
    if dense is None:
        dense = param.device.type == "cuda" and len(param) <= 8 * len(rows)
    if dense:
        unique, where = None, rows
        n = torch.zeros(len(param), dtype=grads.dtype, device=grads.device).index_add_(
            0, rows, torch.ones_like(rows, dtype=grads.dtype))
        buffer_rows = len(param)
    else:
        unique, where, n = torch.unique(rows, return_inverse=True, return_counts=True)
        buffer_rows = len(unique)
    step = torch.zeros((buffer_rows, *grads.shape[1:]), dtype=grads.dtype, device=grads.device)
    step.index_add_(0, where, grads, alpha=eta)
    squares = torch.zeros_like(step)
    squares.index_add_(0, where, grads * grads, alpha=eta * eta)
    seen = (n - 1).clamp(min=0) / (2 * n.clamp(min=1))  # 0 for rows that do not occur
    seen = seen.to(grads.dtype).reshape(-1, *([1] * (grads.dim() - 1)))
    if dense:
        param -= step / (accumulator + seen * squares).sqrt()
        accumulator += squares
    else:
        param[unique] -= step / (accumulator[unique] + seen * squares).sqrt()
        accumulator[unique] += squares


def train_glove(corpus, **settings):
    """Train GloVe on `corpus` (sentences or an EncodedCorpus); returns WordVectors.

    Settings are those of `GloVeConfig`, plus `progress`/`checkpoint` for `GloVe.train`.
    """
    train_options = {k: settings.pop(k) for k in ("progress", "checkpoint") if k in settings}
    return GloVe(**settings).fit(corpus, **train_options)
