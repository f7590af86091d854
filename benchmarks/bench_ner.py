"""The window NER tagger on CoNLL-2003, initialised with each of the course's vector sets.

    .venv/bin/python benchmarks/bench_ner.py                       # every vector set, defaults below
    .venv/bin/python benchmarks/bench_ner.py --vectors glove-6b random --epochs 5
    .venv/bin/python benchmarks/bench_ner.py --corpus benchmark    # train the course's vectors on 6.3M tokens

Trains `utils.ner.WindowTagger` on CoNLL-2003 English train (eng.train) and reports entity
F1 (CoNLL measure) on dev (testa) at the best epoch and on test (testb) with that epoch's
model, for: random init, SVD and SVD-L (utils.cooccurrence + utils.svd), CBOW and skip-gram
(utils.word2vec), GloVe trained on the same corpus (utils.glove) and
pretrained GloVe 6B 50d. Each row also gives the vectors' coverage of the dev and test tokens
and the time to train the vectors and the tagger. CoNLL-2003 is research-only: it comes from
$WV_MIRROR (set to ../shared/data when that exists and nothing is set) or the cache.
Reference points (published, not computed here): CS224N's 2017 window-NER assignment (window 1,
50-d vectors, hidden 200) asked for dev F1 >= 81; Collobert et al. (2011) report test F1 88.67
for their network with language-model embeddings and sentence-level training.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if "WV_MIRROR" not in os.environ and (ROOT.parent / "shared" / "data").is_dir():
    os.environ["WV_MIRROR"] = str(ROOT.parent / "shared" / "data")
    os.environ.setdefault("NLTK_DATA", os.path.join(os.environ["WV_MIRROR"], "nltk_data"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from utils import corpus as corpora  # noqa: E402
from utils.device import resolve_device  # noqa: E402
from utils.ner import WindowTagger, coverage, load_conll2003  # noqa: E402

VECTOR_SETS = ("random", "svd", "svd-l", "cbow", "skipgram", "glove", "glove-6b")
LABELS = {"random": "random init", "svd": "SVD", "svd-l": "SVD-L", "cbow": "CBOW", "skipgram": "skip-gram",
          "glove": "GloVe (trained here)", "glove-6b": "GloVe 6B 50d (pretrained)"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vectors", nargs="+", choices=VECTOR_SETS, default=list(VECTOR_SETS))
    p.add_argument("--corpus", choices=("default", "benchmark"), default="default",
                   help="corpus for the course's vectors: the embedded 2.8M tokens or the 6.3M-token benchmark corpus")
    p.add_argument("--dim", type=int, default=50)
    p.add_argument("--vector-epochs", type=int, default=5, help="epochs of CBOW, skip-gram and GloVe")
    p.add_argument("--window", type=int, default=2, help="m, words each side of the tagger's window")
    p.add_argument("--hidden", type=int, default=200)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--learning-rate", type=float, default=3e-3)
    p.add_argument("--freeze", action="store_true", help="keep the vectors fixed (default: fine-tune them)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (small matrices: 1 is fastest on a shared machine)")
    p.add_argument("--json", type=Path, default=None, help="also write the settings and results here")
    return p.parse_args(argv)


def train_vectors(name: str, sentences, args):
    """The course's vectors of kind `name`, trained on `sentences` (None for random init)."""
    if name == "random":
        return None
    if name == "glove-6b":
        from utils.pretrained import load_glove_6b
        return load_glove_6b(args.dim)
    if name in ("svd", "svd-l"):
        from utils.cooccurrence import cooccurrence_matrix, log_counts
        from utils.svd import svd_word_vectors
        vocab = corpora.Vocabulary.build(sentences, min_count=5)
        X = cooccurrence_matrix(vocab.encode(sentences), window_size=5, top_contexts=10_000)
        X = log_counts(X) if name == "svd-l" else X.astype(np.float32)
        return svd_word_vectors(X, vocab.index_to_key, k=args.dim, seed=args.seed, device=args.device)
    if name in ("cbow", "skipgram"):
        from utils.word2vec import Word2Vec
        return Word2Vec(architecture=name, vector_size=args.dim, window=5, min_count=5, epochs=args.vector_epochs,
                        workers=max(1, args.threads), seed=args.seed, device=args.device).fit(sentences)
    if name == "glove":
        from utils.glove import train_glove
        return train_glove(sentences, vector_size=args.dim, window=10, min_count=5, epochs=args.vector_epochs,
                           seed=args.seed, device=args.device)
    raise ValueError(name)


def machine() -> str:
    device = resolve_device("auto")
    gpu = torch.cuda.get_device_name(0) if device.type == "cuda" else "no GPU"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.node()}: {os.cpu_count()} CPUs, {gpu}; Python {platform.python_version()}, torch {torch.__version__}; "
            f"load average {load}")


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    print(machine())
    start = time.perf_counter()
    train, dev, test = (load_conll2003(s) for s in ("train", "dev", "test"))
    print(f"CoNLL-2003: train {sum(map(len, train)):,} tokens, dev {sum(map(len, dev)):,}, test {sum(map(len, test)):,} "
          f"(read in {time.perf_counter() - start:.1f}s)", flush=True)
    needs_corpus = set(args.vectors) & {"svd", "svd-l", "cbow", "skipgram", "glove"}
    sentences = None
    if needs_corpus:
        start = time.perf_counter()
        sentences = corpora.benchmark_corpus() if args.corpus == "benchmark" else corpora.default_corpus()
        print(f"{args.corpus} corpus: {sum(map(len, sentences)):,} tokens (loaded in {time.perf_counter() - start:.1f}s)",
              flush=True)
    settings = dict(window=args.window, hidden=args.hidden, dropout=args.dropout, epochs=args.epochs,
                    batch_size=args.batch_size, learning_rate=args.learning_rate, freeze=args.freeze, dim=args.dim,
                    seed=args.seed, device=args.device)
    print("tagger settings:", settings, flush=True)
    results = []
    for name in args.vectors:
        start = time.perf_counter()
        vectors = train_vectors(name, sentences, args)
        vector_seconds = time.perf_counter() - start
        start = time.perf_counter()
        tagger = WindowTagger(**settings).fit(train, vectors, dev=dev, other=test, progress=sys.stderr.isatty())
        tagger_seconds = time.perf_counter() - start
        row = {
            "vectors": LABELS[name],
            "dev_f1": 100 * tagger.history[tagger.best_epoch - 1]["dev_f1"],
            "test_f1": 100 * tagger.evaluate(test).f1,
            "best_epoch": tagger.best_epoch,
            "dev_f1_by_epoch": [round(100 * h["dev_f1"], 2) for h in tagger.history],
            "dev_tokens_covered": 100 * coverage(vectors, [s.tokens for s in dev])[0] if vectors is not None else None,
            "test_tokens_covered": 100 * coverage(vectors, [s.tokens for s in test])[0] if vectors is not None else None,
            "vector_seconds": vector_seconds,
            "tagger_seconds": tagger_seconds,
        }
        results.append(row)
        covered = f"{row['test_tokens_covered']:.1f}%" if vectors is not None else "-"
        print(f"{row['vectors']:<28} dev F1 {row['dev_f1']:5.2f} (epoch {row['best_epoch']})  test F1 {row['test_f1']:5.2f}  "
              f"test tokens covered {covered:>6}  vectors {vector_seconds:6.1f}s  tagger {tagger_seconds:6.1f}s", flush=True)

    print("\n| vectors | dev F1 | test F1 | best epoch | dev / test tokens covered | vectors s | tagger s |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        cov = (f"{r['dev_tokens_covered']:.1f} % / {r['test_tokens_covered']:.1f} %" if r["dev_tokens_covered"] is not None
               else "-")
        print(f"| {r['vectors']} | {r['dev_f1']:.2f} | {r['test_f1']:.2f} | {r['best_epoch']} | {cov} | "
              f"{r['vector_seconds']:.0f} | {r['tagger_seconds']:.0f} |")
    print("\n" + machine())
    if args.json:
        args.json.write_text(json.dumps({"settings": settings, "corpus": args.corpus, "machine": machine(),
                                         "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
