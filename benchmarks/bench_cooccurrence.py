"""Benchmark: window-10 harmonic co-occurrence counts on the benchmark corpus, then a k=100 SVD.

    WV_MIRROR=../shared/data NLTK_DATA=../shared/data/nltk_data python benchmarks/bench_cooccurrence.py

Prints the corpus size, the build time, nnz and the peak memory the build allocated
(tracemalloc, which sees NumPy's and SciPy's arrays), then the time of a k=100 truncated
SVD of the 10,000 most frequent words' rows (all contexts), raw and log(1 + X) (SVD-L),
with each back end. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.cooccurrence import DEFAULT_CHUNK_PAIRS, cooccurrence_matrix, log_counts  # noqa: E402
from utils.corpus import Vocabulary, benchmark_corpus  # noqa: E402
from utils.svd import reconstruction_error, truncated_svd  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--weighting", default="harmonic")
    parser.add_argument("--min-count", type=int, default=5, help="vocabulary: words seen at least this often")
    parser.add_argument("--rows", type=int, default=10_000, help="SVD of the top-ROWS rows")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--chunk-pairs", type=int, default=DEFAULT_CHUNK_PAIRS)
    parser.add_argument("--methods", default="torch,scipy,sklearn")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    import torch

    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads")

    t0 = time.perf_counter()
    sentences = benchmark_corpus()
    vocab = Vocabulary.build(sentences, min_count=args.min_count)
    corpus = vocab.encode(sentences)
    del sentences
    print(f"corpus: {corpus.num_tokens:,} tokens in vocabulary (min_count={args.min_count}), "
          f"{corpus.num_sentences:,} sentences, V = {len(vocab):,}; loaded in {time.perf_counter() - t0:.1f} s")

    tracemalloc.start()
    t0 = time.perf_counter()
    X = cooccurrence_matrix(corpus, args.window, weighting=args.weighting, chunk_pairs=args.chunk_pairs)
    build = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20
    print(f"co-occurrence (window {args.window}, {args.weighting}, within sentences): {build:.1f} s, "
          f"{X.shape[0]:,} x {X.shape[1]:,}, nnz {X.nnz:,} ({X.nnz / X.shape[0] / X.shape[1]:.2%} dense), "
          f"{X.dtype}, {size:.0f} MiB as CSR; peak allocated during the build {peak / 2**20:.0f} MiB")

    rows = X[: args.rows]
    print(f"SVD input: top {rows.shape[0]:,} rows x {rows.shape[1]:,} contexts, nnz {rows.nnz:,}")
    for name, matrix in [("raw", rows), ("log1p", log_counts(rows))]:
        for method in args.methods.split(","):
            t0 = time.perf_counter()
            U, S, Vt = truncated_svd(matrix, args.k, method=method, device=args.device, seed=0, full=False)
            elapsed = time.perf_counter() - t0
            error = reconstruction_error(matrix, U, S, Vt)
            total = float(matrix.multiply(matrix).sum())
            print(f"  SVD k={args.k} {name:5s} {method:7s}: {elapsed:6.1f} s, s_1 = {S[0]:.4g}, s_k = {S[-1]:.4g}, "
                  f"relative error ||X - X_k||^2 / ||X||^2 = {error / total:.4f}")

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB on Linux
    print(f"process peak resident memory: {maxrss:.0f} MiB")


if __name__ == "__main__":
    main()
