"""The triton backend: one GPU kernel launch trains a whole group of centers, Hogwild-style.

Why a third backend: the torch backend's step is ~40 small kernels launched from Python, and on
an H200 a step of 4,096 pairs cost about 0.8 ms whatever the GPU did in it; the large batches
that would hide that cost quality, because every gradient of a batch is computed from the same
stale rows (benchmarks/README.md, "On a GPU"). Here each program of one kernel walks a few
consecutive centers in corpus order, as one of word2vec.c's threads does. For every
(center, outside) pair it reads v_c and the K + 1 target rows u_t, computes the logistic terms
and adds the updates straight back: u_t += g_t v_c with atomics, then v_c += Σ_t g_t u_t.
Thousands of programs run at once and update the shared matrices without locks (Hogwild, as
word2vec.c and gensim do with CPU threads); a row is at most a few microseconds stale, not a
whole batch. Only the rows that occur are touched, and nothing of size pairs × (1 + K) × d is
ever materialised. Rows are read with ".cg" (from L2, where the atomics land, not from an SM's
L1 that may still hold the row as it was before this program's own last update).

The dynamic windows b_i and the noise words are drawn beforehand with torch, so a kernel is a
pure function of its inputs. On a machine without CUDA, Triton's interpreter runs the programs
one after another: that is sequential SGD, slow (Python per pair: tests only), and lets the
tests compare the kernels with a NumPy loop. Triton ships with PyTorch's CUDA builds on Linux.
"""

from __future__ import annotations

import os
import sys
import warnings

import torch

if not torch.cuda.is_available() and "triton" not in sys.modules:
    # No GPU: run the kernels in Triton's interpreter (it must be chosen before triton is imported).
    os.environ.setdefault("TRITON_INTERPRET", "1")

try:
    import triton
    import triton.language as tl
except ImportError:  # the triton backend is then unavailable; `require_triton` says why
    triton = None

CENTERS_PER_PROGRAM = 4  # consecutive centers one program trains in order (locality, fewer programs)


def triton_available() -> bool:
    return triton is not None


def require_triton(device: torch.device) -> None:
    """Raise a ValueError that says what to install or change if the kernels cannot run on `device`."""
    if triton is None:
        raise ValueError("backend='triton' needs the triton package: it comes with PyTorch's CUDA builds on "
                         "Linux (pip install triton on a CPU-only machine runs its slow interpreter)")
    interpreted = os.environ.get("TRITON_INTERPRET") == "1"
    if device.type == "cuda" and not interpreted:
        return
    if device.type == "cpu" and interpreted:
        warnings.warn("backend='triton' on the CPU runs Triton's interpreter, about 10 ms per (center, outside) "
                      "pair: for tests. Train on the CPU with backend='numba'.", stacklevel=3)
        return
    if device.type == "cpu":
        raise ValueError("backend='triton' on the CPU needs Triton's interpreter, chosen before triton is first "
                         "imported: set TRITON_INTERPRET=1 in the environment, or train on a CUDA device")
    raise ValueError(f"backend='triton' runs on CUDA devices (or, for tests, the CPU interpreter), not on "
                     f"{device} with TRITON_INTERPRET={os.environ.get('TRITON_INTERPRET')!r}")


if triton is not None:

    @triton.jit
    def _logistic_terms(x, positive, noise_row, outside, alpha, K: tl.constexpr, D: tl.constexpr,
                        BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr):
        """The K + 1 terms of one example: input x (BLOCK_D,) predicts word `positive` against the
        K noise words at noise_row[0..K-1]. Adds g_t x to each target row u_t (atomically) and
        returns (Σ_t g_t u_t, the summed loss, the number of terms), g_t = α (y_t − σ(u_t·x)).
        All terms are scored with the rows as they were before this example (as a batch of one);
        a noise draw of the true word is skipped, as word2vec.c does."""
        slots = tl.arange(0, BLOCK_T)  # slot 0: the true word (y = 1); 1..K: noise words (y = 0)
        cols = tl.arange(0, BLOCK_D)
        is_noise = (slots >= 1) & (slots <= K)
        drawn = tl.load(noise_row + slots - 1, mask=is_noise, other=0)
        targets = tl.where(slots == 0, positive, drawn).to(tl.int64)
        used = (slots == 0) | (is_noise & (targets != positive))
        where = targets[:, None] * D + cols[None, :]
        mask = used[:, None] & (cols < D)[None, :]
        u = tl.load(outside + where, mask=mask, other=0.0, cache_modifier=".cg")  # u_t (BLOCK_T, BLOCK_D)
        f = tl.sum(u * x[None, :], axis=1)  # u_t·x
        label = (slots == 0).to(tl.float32)
        g = tl.where(used, alpha * (label - tl.sigmoid(f)), 0.0)
        tl.atomic_add(outside + where, g[:, None] * x[None, :], mask=mask, sem="relaxed")
        margin = tl.where(slots == 0, f, -f)  # -log σ(margin), computed stably
        loss = tl.where(used, tl.maximum(-margin, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(margin))), 0.0)
        return tl.sum(g[:, None] * u, axis=0), tl.sum(loss, axis=0), tl.sum(used.to(tl.int32), axis=0)

    @triton.jit
    def _is_context(sentence_ids, i, offset, b, sentence, n_tokens):
        """Is position i + offset a context of center i: in the corpus, within its window b
        (1 <= |offset| <= b) and in its sentence?"""
        j = i + offset
        inside = (j >= 0) & (j < n_tokens) & (offset <= b) & (-offset <= b)
        return inside & (tl.load(sentence_ids + j, mask=inside, other=-1) == sentence)

    @triton.jit(do_not_specialize=["n_tokens", "start", "stop", "alpha"])
    def _skipgram_kernel(ids, sentence_ids, windows, noise, center, outside, loss_out, terms_out,
                         n_tokens, start, stop, alpha, WINDOW: tl.constexpr, K: tl.constexpr, D: tl.constexpr,
                         BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr, CENTERS: tl.constexpr):
        """Skip-gram: for each center i of this program and each context j in its window (left to
        right), v_c predicts u_o. noise: (stop - start, 2 WINDOW, K) words, one set per (i, slot)."""
        cols = tl.arange(0, BLOCK_D)
        loss = 0.0
        terms = 0
        first = start + tl.program_id(0) * CENTERS
        for i in range(first, tl.minimum(first + CENTERS, stop)):
            c = tl.load(ids + i).to(tl.int64)
            b = tl.load(windows + i)  # this center's window, 1..WINDOW
            sentence = tl.load(sentence_ids + i)
            for s in tl.static_range(2 * WINDOW + 1):
                offset = s - WINDOW
                if offset != 0:
                    slot = s - (offset > 0)  # the 2 WINDOW context slots, left to right
                    if _is_context(sentence_ids, i, offset, b, sentence, n_tokens):
                        o = tl.load(ids + i + offset)
                        v = tl.load(center + c * D + cols, mask=cols < D, other=0.0, cache_modifier=".cg")  # v_c
                        noise_row = noise + ((i - start).to(tl.int64) * (2 * WINDOW) + slot) * K
                        grad, pair_loss, pair_terms = _logistic_terms(v, o, noise_row, outside, alpha,
                                                                      K, D, BLOCK_T, BLOCK_D)
                        tl.atomic_add(center + c * D + cols, grad, mask=cols < D, sem="relaxed")
                        loss += pair_loss
                        terms += pair_terms
        tl.store(loss_out + tl.program_id(0), loss)
        tl.store(terms_out + tl.program_id(0), terms)

    @triton.jit(do_not_specialize=["n_tokens", "start", "stop", "alpha"])
    def _cbow_kernel(ids, sentence_ids, windows, noise, center, outside, loss_out, terms_out,
                     n_tokens, start, stop, alpha, WINDOW: tl.constexpr, K: tl.constexpr, D: tl.constexpr,
                     BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr, CENTERS: tl.constexpr):
        """CBOW: the mean of the window's v's predicts u_c; every context row then gets the whole
        gradient of the mean (word2vec.c and gensim). noise: (stop - start, K) words."""
        cols = tl.arange(0, BLOCK_D)
        loss = 0.0
        terms = 0
        first = start + tl.program_id(0) * CENTERS
        for i in range(first, tl.minimum(first + CENTERS, stop)):
            b = tl.load(windows + i)
            sentence = tl.load(sentence_ids + i)
            mean = tl.zeros((BLOCK_D,), dtype=tl.float32)
            count = 0
            for s in tl.static_range(2 * WINDOW + 1):
                offset = s - WINDOW
                if offset != 0:
                    if _is_context(sentence_ids, i, offset, b, sentence, n_tokens):
                        row = tl.load(ids + i + offset).to(tl.int64)
                        mean += tl.load(center + row * D + cols, mask=cols < D, other=0.0, cache_modifier=".cg")
                        count += 1
            if count > 0:
                noise_row = noise + (i - start).to(tl.int64) * K
                grad, example_loss, example_terms = _logistic_terms(mean / count, tl.load(ids + i), noise_row,
                                                                    outside, alpha, K, D, BLOCK_T, BLOCK_D)
                loss += example_loss
                terms += example_terms
                for s in tl.static_range(2 * WINDOW + 1):
                    offset = s - WINDOW
                    if offset != 0:
                        if _is_context(sentence_ids, i, offset, b, sentence, n_tokens):
                            row = tl.load(ids + i + offset).to(tl.int64)
                            tl.atomic_add(center + row * D + cols, grad, mask=cols < D, sem="relaxed")
        tl.store(loss_out + tl.program_id(0), loss)
        tl.store(terms_out + tl.program_id(0), terms)


def noise_per_center(architecture: str, window: int, negative: int) -> int:
    """How many noise words a center needs: K per context slot (skip-gram) or K (CBOW)."""
    return 2 * window * negative if architecture == "skipgram" else negative


def train_group(architecture: str, ids, sentence_ids, windows, noise, center, outside, start: int, stop: int,
                alpha: float, window: int, negative: int, centers_per_program: int = CENTERS_PER_PROGRAM):
    """Train on the centers at positions start..stop-1 in one kernel launch; returns (loss, terms),
    0-d tensors on the device (no host sync).

    ids, sentence_ids: (N,) integer, the epoch's tokens and their sentences; windows: (N,) b_i
    noise:   (stop - start, noise_per_center(...)) integer noise words, drawn from P_n
    center, outside: (V, d) float32 contiguous, updated in place
    """
    n_centers = stop - start
    if n_centers < 1 or noise.shape != (n_centers, noise_per_center(architecture, window, negative)):
        raise ValueError(f"noise must be ({n_centers}, {noise_per_center(architecture, window, negative)}), "
                         f"not {tuple(noise.shape)}")
    d = center.shape[1]
    programs = triton.cdiv(n_centers, centers_per_program)
    loss = torch.empty(programs, dtype=torch.float32, device=center.device)
    terms = torch.empty(programs, dtype=torch.int32, device=center.device)
    kernel = _skipgram_kernel if architecture == "skipgram" else _cbow_kernel
    kernel[(programs,)](
        ids, sentence_ids, windows, noise, center, outside, loss, terms, len(ids), start, stop, float(alpha),
        WINDOW=window, K=negative, D=d, BLOCK_T=triton.next_power_of_2(negative + 1),
        BLOCK_D=triton.next_power_of_2(d), CENTERS=centers_per_program, num_warps=1,
    )
    return loss.sum(), terms.sum()
