"""The numba backend: compiled loops over NumPy views of the model's tensors, one pair at a time
as word2vec.c (`_train_chunk_numba`), or with the faster shared-negative and batched-CBOW orders
of updates (`_train_chunk_shared_negatives`, `_train_chunk_cbow_batched`)."""

from __future__ import annotations

import math

import numpy as np

try:  # numba is the CPU fast path; without it everything runs on the torch backend.
    import numba
except ImportError:  # pragma: no cover - numba is a dependency, but keep the package importable
    numba = None

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
