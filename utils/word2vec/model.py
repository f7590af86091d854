"""The trainer: `Word2VecConfig` (every setting), `Word2Vec` (vocabulary, the two matrices,
training on either backend, checkpoints) and `train_word2vec`."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from utils import checkpoint
from utils.corpus import EncodedCorpus, Vocabulary, keep_probabilities
from utils.device import resolve_device
from utils.word2vec.batches import AliasSampler, cbow_examples, scatter_rows, skipgram_pairs
from utils.word2vec.kernels import (_train_chunk_cbow_batched, _train_chunk_numba, _train_chunk_shared_negatives,
                                    numba)
from utils.word2vec.losses import binary_logistic_loss_and_grads, naive_softmax_loss_and_grads
from utils.word2vec.sampling import HuffmanTree, alias_table, huffman_tree, noise_distribution

ARCHITECTURES = ("skipgram", "cbow")
LOSSES = ("negative", "hierarchical", "softmax")
BACKENDS = ("auto", "torch", "numba", "triton")
MIN_STEPS_PER_EPOCH = 32  # torch backend: the default batch leaves at least this many steps
CHECKPOINT_VERSION = 1


class TrainingDivergedError(FloatingPointError):
    """The loss or the vectors became NaN/inf or blew up; the message suggests a fix."""


@dataclass
class Word2VecConfig:
    """Every setting of a run (saved in checkpoints). Defaults are gensim's / word2vec.c's.

    vector_size: d, the dimension of the vectors
    window:      the maximum window; each center uses b ~ Uniform{1..window}
    architecture: "skipgram" (v_c predicts each u_o) or "cbow" (mean of the window predicts u_c)
    loss:        "negative", "hierarchical" or "softmax" (naive; small vocabularies only)
    negative:    K, noise words per positive pair; ns_exponent: P_n ∝ count^ns_exponent
    sample:      subsampling threshold for frequent words (0 keeps every token)
    min_count, max_vocab_size: vocabulary cut-offs
    alpha, min_alpha: the learning rate decays linearly from alpha to min_alpha over training
    epochs:      passes over the corpus
    vectors:     what `word_vectors()` returns: "center" (v) or "average" ((v + u) / 2)
    backend:     "numba" (CPU, per pair), "torch" (batched, any device), "triton" (negative sampling
                 on CUDA: one fused kernel per group of centers, Hogwild; on the CPU Triton's
                 interpreter, for tests only: see `fused`) or "auto" (numba on the CPU, else torch)
    device:      torch device for the torch and triton backends ("auto": CUDA when available)
    batch_size:  pairs (skip-gram) or centers (CBOW) per step of the torch backend
                 (None: 1024 on CPU, 4096 on GPU, at most 1/32 of an epoch's examples)
    max_row_repeats: torch backend: a row that occurs n times in a batch gets its summed
                 update scaled by max_row_repeats / n when n is larger (see `scatter_rows`)
    workers:     Hogwild threads of the numba backend (1: deterministic)
    shared_negatives: numba backend, negative sampling: draw the K noise words once and share
                 them (pWord2Vec, Ji et al. 2016: each noise row is used many times while in
                 cache, faster). Skip-gram: across a window's context words (equal quality);
                 CBOW: across the cbow_batch windows of a batch (faster still, but it measured
                 0.06 lower analogy accuracy at K = 5: benchmarks/README.md). False (default):
                 K fresh draws for every pair or window, word2vec.c's algorithm as lecture 03
                 and homework 2 teach it
    cbow_batch:  numba backend, CBOW with negative sampling: windows trained at a time. 1
                 (default): one window at a time, word2vec.c's algorithm. n > 1: n consecutive
                 windows read their context vectors at the batch's start and each position's
                 summed gradient is written once (faster; 16 is what benchmarks/README.md measured)
    seed:        seeds initialisation, subsampling, windows and negative samples
    """

    vector_size: int = 100
    window: int = 5
    architecture: str = "skipgram"
    loss: str = "negative"
    negative: int = 5
    ns_exponent: float = 0.75
    sample: float = 1e-3
    min_count: int = 5
    max_vocab_size: int | None = None
    alpha: float = 0.025
    min_alpha: float = 0.0001
    epochs: int = 5
    vectors: str = "center"
    backend: str = "auto"
    device: str = "auto"
    batch_size: int | None = None
    max_row_repeats: int | None = 64
    workers: int = 1
    shared_negatives: bool = False
    cbow_batch: int = 1
    seed: int = 0

    def validate(self) -> None:
        def choice(name, allowed):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")

        choice("architecture", ARCHITECTURES)
        choice("loss", LOSSES)
        choice("backend", BACKENDS)
        choice("vectors", ("center", "average"))
        for name in ("vector_size", "window", "epochs", "workers", "min_count"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.loss == "negative" and self.negative < 1:
            raise ValueError("negative sampling needs negative >= 1 noise words per pair")
        if not (self.alpha > 0 and 0 <= self.min_alpha <= self.alpha):
            raise ValueError(f"need alpha > 0 and 0 <= min_alpha <= alpha (got {self.alpha}, {self.min_alpha})")
        if self.vectors == "average" and self.loss == "hierarchical":
            raise ValueError(
                "vectors='average' needs one outside vector per word; hierarchical softmax has "
                "one per tree node instead. Use vectors='center'."
            )
        if self.backend == "numba" and numba is None:
            raise ValueError("backend='numba' needs the numba package (pip install numba)")
        if self.backend == "numba" and self.loss == "softmax":
            raise ValueError("the naive softmax runs on the torch backend only (backend='torch')")
        if self.shared_negatives and self.loss != "negative":
            raise ValueError(f"shared_negatives shares noise words: it needs loss='negative' (got {self.loss!r})")
        if int(self.cbow_batch) != self.cbow_batch or self.cbow_batch < 1:
            raise ValueError(f"cbow_batch must be a positive integer (1: word2vec.c's algorithm), not {self.cbow_batch!r}")
        if self.cbow_batch > 1 and (self.architecture, self.loss, self.backend) not in (
                ("cbow", "negative", "numba"), ("cbow", "negative", "auto")):
            raise ValueError("cbow_batch > 1 is a numba-backend kernel for CBOW with negative sampling "
                             f"(got architecture={self.architecture!r}, loss={self.loss!r}, backend={self.backend!r})")
        if self.shared_negatives and self.backend in ("torch", "triton"):
            raise ValueError("shared_negatives is a numba-backend kernel: use backend='numba' or 'auto' on the CPU")
        if self.backend == "triton" and self.loss != "negative":
            raise ValueError(f"backend='triton' has kernels for negative sampling only (got loss={self.loss!r}): "
                             "use backend='torch' or 'numba'")
        if self.backend == "triton" and self.batch_size is not None:
            raise ValueError("batch_size is the torch backend's step; backend='triton' trains each group of "
                             "centers in one kernel launch: leave batch_size=None")


@dataclass
class _Epoch:
    """One epoch's training data after subsampling, and its random draws."""

    ids: np.ndarray  # int32 (N',) kept tokens
    sentence_ids: np.ndarray  # int32 (N',)
    seed: int


class _Subsampler:
    """`utils.corpus.subsample`, epoch after epoch, with what the epochs share computed once:
    each token's keep probability and sentence (the same draws, so the same tokens are kept)."""

    def __init__(self, encoded: EncodedCorpus, sample: float):
        self.keep_probability = keep_probabilities(encoded.vocab.counts, sample)[encoded.ids]  # float64 (N,)
        self.ids = encoded.ids.astype(np.int32, copy=False)
        self.sentence_ids = encoded.sentence_ids().astype(np.int32)

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(ids, sentence_ids) of the tokens this draw keeps, int32 (N',) each."""
        keep = rng.random(self.ids.shape[0]) < self.keep_probability
        return self.ids[keep], self.sentence_ids[keep]


class Word2Vec:
    """A word2vec model: its vocabulary, its two matrices and how it is trained.

    Word2Vec(**settings) takes the fields of `Word2VecConfig`. Then
        wv = model.fit(sentences)         # build the vocabulary, train, return WordVectors
    or, step by step,
        model.build_vocab(sentences); model.train(sentences, checkpoint="w2v.pt")
    and after an interruption
        Word2Vec.load_checkpoint("w2v.pt").train(sentences, checkpoint="w2v.pt")
    continues where the checkpoint left off, with the same result as an uninterrupted run.

    center_vectors:  torch (V, d) float32, v_w
    outside_vectors: torch (V, d) float32, u_w (hierarchical softmax: (V-1, d), one per inner node)
    """

    def __init__(self, **settings):
        self.config = Word2VecConfig(**settings)
        self.config.validate()
        self.vocab: Vocabulary | None = None
        self.center_vectors: torch.Tensor | None = None
        self.outside_vectors: torch.Tensor | None = None
        self.epochs_done = 0
        self.history: list[dict] = []  # per epoch: loss per term, seconds, words/s
        self._reset_caches()

    def _reset_caches(self) -> None:
        """Forget everything derived from the vocabulary (tree, noise tables, corpus size)."""
        self._tree = None
        self._alias = None  # numba backend: (accept, alias) of the noise distribution
        self._sampler = None  # torch backend: AliasSampler on the device
        self._tree_tensors = None  # torch backend: (points, codes, lengths) on the device
        self._corpus_tokens = None

    # -- set-up --------------------------------------------------------------------------

    @property
    def backend(self) -> str:
        """The backend that will run: "auto" becomes numba on the CPU when it can."""
        cfg = self.config
        if cfg.backend != "auto":
            return cfg.backend
        if numba is not None and self.device.type == "cpu" and cfg.loss != "softmax":
            return "numba"
        return "torch"

    @property
    def device(self) -> torch.device:
        return torch.device("cpu") if self.config.backend == "numba" else resolve_device(self.config.device)

    def build_vocab(self, corpus: Sequence[Sequence[str]] | EncodedCorpus) -> "Word2Vec":
        """Count the words, keep the vocabulary and initialise the two matrices.

        v ~ Uniform(-0.5/d, 0.5/d) and u = 0, as word2vec.c: the first updates of u are then
        driven by the (random) v's, and no two words start alike.
        """
        cfg = self.config
        self.vocab = Vocabulary.of(corpus, min_count=cfg.min_count, max_size=cfg.max_vocab_size)
        vocab_size, d = len(self.vocab), cfg.vector_size
        generator = torch.Generator().manual_seed(cfg.seed)
        center = (torch.rand(vocab_size, d, generator=generator) - 0.5) / d
        n_outside = vocab_size - 1 if cfg.loss == "hierarchical" else vocab_size
        self.center_vectors = center.to(self.device)
        self.outside_vectors = torch.zeros(n_outside, d, device=self.device)
        self._reset_caches()
        self.epochs_done = 0
        self.history = []
        return self

    @property
    def tree(self) -> HuffmanTree:
        if self._tree is None:
            self._tree = huffman_tree(self.vocab.counts)
        return self._tree

    # -- training ------------------------------------------------------------------------

    def fit(self, corpus, **train_options):
        """build_vocab + train; returns the WordVectors (see `word_vectors`)."""
        self.build_vocab(corpus)
        return self.train(corpus, **train_options)

    def train(
        self,
        corpus,
        *,
        checkpoint: str | Path | None = None,
        progress: bool = True,
        on_epoch_end=None,
    ):
        """Train the remaining epochs (all of them, or those after a checkpoint) on `corpus`.

        corpus:     sentences (lists of words) or an EncodedCorpus over the model's vocabulary
        checkpoint: a file to save the model to after every epoch (atomically)
        progress:   show a progress bar with the loss and words/second
        on_epoch_end: called as on_epoch_end(model) after every epoch (its history entry is
                    written): e.g. to measure the objective on held-out pairs as training goes
        Returns `word_vectors()`. Raises TrainingDivergedError if the loss becomes NaN/inf
        or explodes (almost always a learning rate that is too high).
        """
        if self.vocab is None:
            self.build_vocab(corpus)
        cfg = self.config
        encoded = self.vocab.encode(corpus)
        self._check_corpus(encoded)
        total_words = cfg.epochs * encoded.num_tokens
        bar = tqdm(
            total=total_words, initial=self.epochs_done * encoded.num_tokens, unit=" words",
            unit_scale=True, disable=not progress, desc=f"word2vec {cfg.architecture}/{cfg.loss}",
        )
        if (self.config.shared_negatives or self.config.cbow_batch > 1) and self.backend != "numba":
            raise ValueError("shared_negatives and cbow_batch > 1 run on the numba backend, but this run would "
                             f"use torch on {self.device}: pass backend='numba' (CPU), or leave them at their defaults")
        if self.backend == "triton":
            from utils.word2vec import fused  # imports triton: only when asked for

            fused.require_triton(self.device)
        train_epoch = self._train_epoch_numba if self.backend == "numba" else self._train_epoch_groups
        subsampler = _Subsampler(encoded, cfg.sample)
        try:
            while self.epochs_done < cfg.epochs:
                epoch = self.epochs_done
                data = self._epoch_data(subsampler, epoch)
                start = time.perf_counter()
                loss, terms = train_epoch(data, epoch, bar)
                seconds = time.perf_counter() - start
                self.epochs_done += 1
                self.history.append({
                    "epoch": epoch, "loss": loss / max(terms, 1), "seconds": seconds,
                    "words_per_second": encoded.num_tokens / seconds,
                })
                if checkpoint is not None:
                    self.save_checkpoint(checkpoint)
                if on_epoch_end is not None:
                    on_epoch_end(self)
        finally:
            bar.close()
        return self.word_vectors()

    def _check_corpus(self, encoded: EncodedCorpus) -> None:
        expected = self._corpus_tokens
        if expected is not None and expected != encoded.num_tokens:
            raise ValueError(
                f"this model was trained on a corpus of {expected} tokens, not {encoded.num_tokens}: "
                "resume with the same corpus"
            )
        self._corpus_tokens = encoded.num_tokens

    def _epoch_data(self, subsampler: _Subsampler, epoch: int) -> _Epoch:
        """Subsample frequent words with this epoch's own generator (so resuming is exact)."""
        rng = np.random.default_rng([self.config.seed, epoch])
        ids, sentence_ids = subsampler.draw(rng)
        return _Epoch(ids=ids, sentence_ids=sentence_ids, seed=int(rng.integers(2**63)))

    def _alpha(self, epoch: int, fraction: float) -> float:
        """Linear decay from alpha to min_alpha over all epochs; `fraction` of this epoch done."""
        cfg = self.config
        progress = (epoch + fraction) / cfg.epochs
        return cfg.alpha - (cfg.alpha - cfg.min_alpha) * progress

    def _noise_probs(self) -> np.ndarray:
        return noise_distribution(self.vocab.counts, self.config.ns_exponent)

    def _report(self, bar, fraction: float, loss: float, terms: int, epoch: int, alpha: float) -> None:
        """Move the bar to `fraction` of epoch `epoch`; stop with a clear error if training diverged.

        loss, terms: the summed loss and the number of logistic (or softmax) terms since the
        last report.
        """
        per_term = loss / max(terms, 1)
        baseline = math.log(len(self.vocab)) if self.config.loss == "softmax" else math.log(2)
        if not math.isfinite(per_term) or per_term > 4 * baseline:
            raise self._diverged(epoch, per_term)
        bar.set_postfix(loss=f"{per_term:.4f}", lr=f"{alpha:.5f}", refresh=False)
        bar.update(round((epoch + fraction) * self._corpus_tokens) - bar.n)  # the bar shows words/s

    def _diverged(self, epoch: int, per_term: float) -> TrainingDivergedError:
        alpha = self.config.alpha
        return TrainingDivergedError(
            f"word2vec diverged in epoch {epoch + 1}: the loss per term is {per_term} "
            f"(a random model scores about {math.log(2):.3f}). The learning rate alpha={alpha:g} "
            f"is most likely too high; try alpha={alpha / 10:g} (word2vec uses 0.025 for "
            "skip-gram, 0.05 for CBOW)."
        )

    def _check_finite(self, epoch: int) -> None:
        for matrix in (self.center_vectors, self.outside_vectors):
            if not bool(torch.isfinite(matrix).all()):
                raise self._diverged(epoch, float("nan"))

    # -- numba backend -----------------------------------------------------------------

    CHUNK_TOKENS = 10_000  # centers per chunk: one learning rate and one random stream each
    BLOCK_CHUNKS = 48  # chunks between progress reports and divergence checks
    LOSS_EVERY = 8  # the reported loss is measured on every 8th center (1: on all of them)

    def _train_epoch_numba(self, data: _Epoch, epoch: int, bar) -> tuple[float, int]:
        """One epoch in chunks of CHUNK_TOKENS centers, each with its own learning rate and
        random stream, trained in order by one thread or by `workers` Hogwild threads."""
        cfg = self.config
        n = len(data.ids)
        bounds = np.append(np.arange(0, n, self.CHUNK_TOKENS), n).astype(np.int64)
        n_chunks = len(bounds) - 1
        alphas = np.array([self._alpha(epoch, bounds[k] / n) for k in range(n_chunks)], dtype=np.float32)
        seeds = np.random.default_rng(data.seed).integers(1, 2**63, size=n_chunks, dtype=np.int64).astype(np.uint64)
        cbow, use_hs = cfg.architecture == "cbow", cfg.loss == "hierarchical"
        center, outside = self.center_vectors.numpy(), self.outside_vectors.numpy()  # shared memory
        tables = self._numba_tables()

        def work(k):  # chunk k: the centers at positions bounds[k] .. bounds[k+1]-1
            if cbow and (cfg.cbow_batch > 1 or cfg.shared_negatives):
                return _train_chunk_cbow_batched(
                    cfg.cbow_batch, data.ids, data.sentence_ids, bounds[k], bounds[k + 1], cfg.window,
                    cfg.negative, center, outside, *tables[:2], alphas[k], seeds[k], self.LOSS_EVERY,
                    cfg.shared_negatives,
                )
            if cfg.shared_negatives:
                return _train_chunk_shared_negatives(
                    data.ids, data.sentence_ids, bounds[k], bounds[k + 1], cfg.window, cfg.negative,
                    center, outside, *tables[:2], alphas[k], seeds[k], self.LOSS_EVERY,
                )
            return _train_chunk_numba(
                cbow, use_hs, data.ids, data.sentence_ids, bounds[k], bounds[k + 1], cfg.window, cfg.negative,
                center, outside, *tables, alphas[k], seeds[k], self.LOSS_EVERY,
            )

        # Threads take the next chunk as they finish one (a slow thread on a busy machine
        # holds up nobody); results come back in chunk order for the reports.
        pool = ThreadPoolExecutor(cfg.workers) if cfg.workers > 1 else None
        results = pool.map(work, range(n_chunks)) if pool else map(work, range(n_chunks))
        total_loss, total_terms, loss, terms = 0.0, 0, 0.0, 0
        try:
            for k, (chunk_loss, chunk_terms) in enumerate(results):
                loss, terms = loss + chunk_loss, terms + chunk_terms
                if (k + 1) % self.BLOCK_CHUNKS == 0 or k + 1 == n_chunks:
                    self._report(bar, bounds[k + 1] / n, loss, terms, epoch, float(alphas[k]))
                    total_loss, total_terms, loss, terms = total_loss + loss, total_terms + terms, 0.0, 0
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)
        self._check_finite(epoch)
        return total_loss, total_terms

    def _numba_tables(self) -> tuple[np.ndarray, ...]:
        """(accept, alias, points, codes, lengths): the noise distribution's alias table for
        negative sampling, the Huffman tree for hierarchical softmax (the unused ones empty)."""
        if self.config.loss == "hierarchical":
            tree = self.tree
            return np.ones(1, np.float32), np.zeros(1, np.int32), tree.points, tree.codes, tree.lengths
        if self._alias is None:
            self._alias = alias_table(self._noise_probs())
        return (*self._alias, np.zeros((1, 1), np.int32), np.zeros((1, 1), np.uint8), np.zeros(1, np.int32))

    # -- torch and triton backends ------------------------------------------------------

    CENTERS_PER_STEP_GROUP = 65_536  # centers whose examples (and noise words) are drawn at once

    def _train_epoch_groups(self, data: _Epoch, epoch: int, bar) -> tuple[float, int]:
        """One epoch in groups of CENTERS_PER_STEP_GROUP centers: batched SGD steps (torch) or
        one fused kernel launch per group (triton). The loss stays on the device between reports."""
        cfg = self.config
        device = self.device
        generator = torch.Generator(device=device).manual_seed(data.seed % 2**63)
        ids = torch.from_numpy(data.ids).long().to(device)
        sentence_ids = torch.from_numpy(data.sentence_ids).to(device)
        windows = torch.randint(1, cfg.window + 1, ids.shape, device=device, generator=generator)  # b_i
        train_group = self._torch_group if self.backend == "torch" else self._triton_group
        n = len(ids)
        total_loss, total_terms = 0.0, 0
        report_every = max(n // 20, self.CENTERS_PER_STEP_GROUP)
        pending_loss, pending_terms, pending_start = torch.zeros((), device=device), 0, 0
        for start in range(0, n, self.CENTERS_PER_STEP_GROUP):
            stop = min(start + self.CENTERS_PER_STEP_GROUP, n)
            loss, terms, alpha = train_group(ids, sentence_ids, windows, start, stop, epoch, generator)
            pending_loss += loss
            pending_terms += terms
            if stop - pending_start >= report_every or stop == n:
                loss, terms = float(pending_loss), int(pending_terms)
                total_loss += loss
                total_terms += terms
                self._report(bar, stop / n, loss, terms, epoch, alpha)
                pending_loss, pending_terms, pending_start = torch.zeros((), device=device), 0, stop
        self._check_finite(epoch)
        return total_loss, total_terms

    def _torch_group(self, ids, sentence_ids, windows, start: int, stop: int, epoch: int, generator):
        """The group's (center, outside) pairs or CBOW examples in batches of SGD steps.
        Returns (loss, terms, the last step's learning rate)."""
        cfg = self.config
        n = len(ids)
        batch_size = self._torch_batch_size(n)
        if cfg.architecture == "skipgram":
            examples = skipgram_pairs(ids, sentence_ids, windows, start, stop, cfg.window)
        else:
            examples = cbow_examples(ids, sentence_ids, windows, start, stop, cfg.window)
        n_examples = len(examples[0])
        loss, terms, alpha = 0.0, 0, self._alpha(epoch, start / n)
        for first in range(0, n_examples, batch_size):
            batch = [x[first : first + batch_size] for x in examples]
            alpha = self._alpha(epoch, (start + (stop - start) * first / max(n_examples, 1)) / n)
            step_loss, step_terms = self._torch_step(batch, alpha, generator)
            loss, terms = loss + step_loss, terms + step_terms
        return loss, terms, alpha

    def _triton_group(self, ids, sentence_ids, windows, start: int, stop: int, epoch: int, generator):
        """The group in one kernel launch (`fused`), its noise words drawn first. Returns
        (loss, terms, learning rate)."""
        from utils.word2vec import fused

        cfg = self.config
        alpha = self._alpha(epoch, start / len(ids))
        per_center = fused.noise_per_center(cfg.architecture, cfg.window, cfg.negative)
        noise = self._noise_sampler().sample((stop - start, per_center), generator)
        loss, terms = fused.train_group(cfg.architecture, ids, sentence_ids, windows, noise, self.center_vectors,
                                        self.outside_vectors, start, stop, alpha, cfg.window, cfg.negative)
        return loss, terms, alpha

    def _noise_sampler(self) -> AliasSampler:
        """P_n(w) ∝ count(w)^ns_exponent as an alias table on the model's device."""
        if self._sampler is None or self._sampler.accept.device != self.outside_vectors.device:
            self._sampler = AliasSampler(self._noise_probs(), self.outside_vectors.device)
        return self._sampler

    def _torch_batch_size(self, n_tokens: int) -> int:
        """The configured batch, else the device's (1024 on CPU, 4096 on CUDA), but at most
        1/MIN_STEPS_PER_EPOCH of an epoch's examples: a small corpus still gets enough SGD steps
        (the 9,600-token planted corpus had 2 CBOW steps per epoch at 4,096 and learned nothing)."""
        cfg = self.config
        if cfg.batch_size:
            return cfg.batch_size
        default = 4096 if self.device.type == "cuda" else 1024
        # skip-gram: a center has 2b pairs, b uniform in 1..window, so window + 1 on average
        examples = n_tokens * (cfg.window + 1) if cfg.architecture == "skipgram" else n_tokens
        return max(1, min(default, examples // MIN_STEPS_PER_EPOCH))

    def _torch_step(self, batch, alpha: float, generator) -> tuple[torch.Tensor, int]:
        """One SGD step on a batch: gather rows, compute gradients, scatter-add -α·grad."""
        cfg = self.config
        V = self.center_vectors
        if cfg.architecture == "skipgram":
            centers, predicted = batch
            x = V.index_select(0, centers)  # v_c (B, d)
        else:
            predicted, contexts, mask = batch
            weights = mask.to(V.dtype)
            count = weights.sum(1, keepdim=True)
            x = (V[contexts] * weights.unsqueeze(2)).sum(1) / count  # mean of the window's v's
        loss, grad_x, terms = self._output_layer(x, predicted, alpha, generator)
        if cfg.architecture == "skipgram":
            scatter_rows(V, centers, grad_x, alpha, cfg.max_row_repeats)
        else:  # as word2vec.c: every context vector gets the whole gradient of the mean
            # padded slots (word 0, weight 0) add zero and are not counted: no boolean
            # indexing, which would sync a GPU on every step to size its result
            grads = grad_x.unsqueeze(1) * weights.unsqueeze(2)  # (B, 2w, d)
            scatter_rows(V, contexts.reshape(-1), grads.reshape(-1, grads.shape[2]), alpha, cfg.max_row_repeats,
                         weights=weights.reshape(-1))
        return loss, terms

    def _output_layer(self, x, predicted, alpha: float, generator):
        """Loss of predicting `predicted` from inputs x (B, d); updates U; returns ∂J/∂x."""
        cfg = self.config
        U = self.outside_vectors
        d = U.shape[1]
        if cfg.loss == "softmax":
            loss, grad_x, grad_U = naive_softmax_loss_and_grads(x, predicted, U)
            U.add_(grad_U, alpha=-alpha)
            return loss.sum(), grad_x, len(predicted)
        if cfg.loss == "negative":
            noise = self._noise_sampler().sample((len(predicted), cfg.negative), generator)
            targets = torch.cat([predicted.unsqueeze(1), noise], dim=1)  # (B, 1+K)
            labels = torch.zeros(targets.shape[1], device=U.device)
            labels[0] = 1
            mask = None
            terms = targets.numel()
        else:
            if self._tree_tensors is None or self._tree_tensors[0].device != U.device:
                tree = self.tree
                self._tree_tensors = tuple(
                    torch.from_numpy(a).long().to(U.device) for a in (tree.points, tree.codes, tree.lengths)
                )
            points, codes, lengths = self._tree_tensors
            targets = points[predicted]
            labels = 1 - codes[predicted]
            mask = torch.arange(points.shape[1], device=U.device) < lengths[predicted].unsqueeze(1)
            terms = lengths[predicted].sum()  # a tensor: no device sync per step
        u = U[targets]  # (B, T, d)
        loss, grad_x, grad_u = binary_logistic_loss_and_grads(x, u, labels, mask)
        scatter_rows(U, targets.reshape(-1), grad_u.reshape(-1, d), alpha, cfg.max_row_repeats)
        return loss.sum(), grad_x, terms

    # -- results and checkpoints ---------------------------------------------------------

    def word_vectors(self):
        """The trained vectors as a utils.vectors.WordVectors (center, or (v + u) / 2)."""
        from utils.vectors import WordVectors

        vectors = self.center_vectors
        if self.config.vectors == "average":
            vectors = (vectors + self.outside_vectors) / 2
        return WordVectors(
            vectors.detach().cpu().numpy().astype(np.float32, copy=True),
            list(self.vocab.index_to_key),
            counts=self.vocab.counts.copy(),
        )

    def save_checkpoint(self, path: str | Path) -> None:
        """Save everything needed to continue training (written atomically)."""
        checkpoint.save_checkpoint(
            path, kind="word2vec", version=CHECKPOINT_VERSION, config=self.config, vocab=self.vocab,
            tensors={"center_vectors": self.center_vectors, "outside_vectors": self.outside_vectors},
            epochs_done=self.epochs_done, corpus_tokens=self._corpus_tokens, history=self.history)

    @classmethod
    def load_checkpoint(cls, path: str | Path, **overrides) -> "Word2Vec":
        """A model as saved by `save_checkpoint`; `overrides` may change e.g. device or workers."""
        state, vocab = checkpoint.load_checkpoint(path, kind="word2vec", version=CHECKPOINT_VERSION)
        model = cls(**{**state["config"], **overrides})
        model.vocab = vocab
        model.center_vectors = state["tensors"]["center_vectors"].to(model.device)
        model.outside_vectors = state["tensors"]["outside_vectors"].to(model.device)
        model.epochs_done = state["epochs_done"]
        model._corpus_tokens = state["corpus_tokens"]
        model.history = list(state["history"])
        return model


def train_word2vec(corpus, **settings):
    """Train word2vec on `corpus` (sentences or an EncodedCorpus); returns WordVectors.

    Settings are those of `Word2VecConfig`, plus `progress`/`checkpoint` for `Word2Vec.train`.
    """
    train_options = {k: settings.pop(k) for k in ("progress", "checkpoint") if k in settings}
    return Word2Vec(**settings).fit(corpus, **train_options)
