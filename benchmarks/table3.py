"""The GloVe paper's Table 3 in shape: every model trained by this package on one corpus.

    .venv/bin/python benchmarks/table3.py                      # every row -> benchmarks/results/table3.csv
    .venv/bin/python benchmarks/table3.py --models glove --update   # (re)train some rows, keep the others
    .venv/bin/python benchmarks/table3.py --max-tokens 500000 --out /tmp/t3.csv   # quick look

Rows (Pennington, Socher & Manning 2014, section 4.3), all with the same dimension d:
- SVD, SVD-S, SVD-L: truncated SVD (`utils.svd`, word vectors U_k Σ_k) of X_trunc, the
  window co-occurrence counts of every vocabulary word with the 10,000 most frequent
  context words (`utils.cooccurrence`, symmetric window, weights 1/distance as GloVe's),
  raw, sqrt(X) and log(1 + X);
- CBOW and SG: `utils.word2vec` with negative sampling (numba backend on a CPU);
- GloVe: `utils.glove` (W + W~), same window and weighting, x_max = 10, alpha = 3/4;
- GloVe 6B 50d: the pretrained vectors (`utils.pretrained`), 6 billion tokens, for scale.

Every model is scored by `utils.evaluate` on WS353, MC, RG, SCWS (without context) and RW
(the paper's columns), SimLex-999, MEN, the WS353 similarity/relatedness split, and the
Google analogies (3CosAdd: all, semantic, syntactic; 3CosMul: all), only the first
`--restrict-vocab` words answering, with the % of pairs or questions skipped as
out-of-vocabulary per column. The CSV holds one row per model with the corpus size,
vocabulary, settings, training time, date, machine and load average; the script then
prints our rows beside the paper's.

The corpus is `utils.corpus.benchmark_corpus()` (NLTK corpora, about 6.3M tokens; needs
the data mirror: WV_MIRROR, see README.md).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import platform
import sys
import time
from pathlib import Path
from typing import Mapping

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# As .ci/run: use the offline data mirror beside the checkout when none is configured.
if "WV_MIRROR" not in os.environ and (ROOT.parent / "shared" / "data").is_dir():
    os.environ["WV_MIRROR"] = str(ROOT.parent / "shared" / "data")
    os.environ.setdefault("NLTK_DATA", os.path.join(os.environ["WV_MIRROR"], "nltk_data"))

import torch  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from utils import cooccurrence  # noqa: E402
from utils.corpus import Vocabulary, benchmark_corpus  # noqa: E402
from utils.data import atomic_write  # noqa: E402
from utils.evaluate import PAPER_TABLE3, PAPER_TABLE3_SOURCE, evaluate_all, evaluate_analogies, table  # noqa: E402
from utils.svd import svd_word_vectors  # noqa: E402
from utils.word2vec import Word2Vec  # noqa: E402

TABLE3_SETS = ("ws353", "mc30", "rg65", "scws", "rw")
EXTRA_SETS = ("simlex999", "men", "ws353-sim", "ws353-rel")
ANALOGY_COLUMNS = ("analogy", "semantic", "syntactic", "analogy_3cosmul")
SCORE_COLUMNS = (*TABLE3_SETS, *EXTRA_SETS, *ANALOGY_COLUMNS)
OOV_COLUMNS = tuple(f"oov_{name}" for name in (*TABLE3_SETS, *EXTRA_SETS, "analogy"))
CSV_COLUMNS = ("model", "corpus", "corpus_tokens", "vocab_size", "dim", "settings", "train_seconds",
               *SCORE_COLUMNS, *OOV_COLUMNS, "restrict_vocab", "date", "machine", "load_average")
MODELS = ("svd", "svd-s", "svd-l", "cbow", "sg", "glove", "glove-6b-50d")
NAMES = {"svd": "SVD", "svd-s": "SVD-S", "svd-l": "SVD-L", "cbow": "CBOW", "sg": "SG", "glove": "GloVe",
         "glove-6b-50d": "GloVe 6B 50d (pretrained)"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {', '.join(MODELS)}")
    p.add_argument("--dim", type=int, default=100, help="d of every trained model (default 100)")
    p.add_argument("--window", type=int, default=10, help="words on each side, every model (default 10)")
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--contexts", type=int, default=10_000, help="X_trunc's context words (default 10,000)")
    p.add_argument("--w2v-epochs", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--glove-epochs", type=int, default=15)
    p.add_argument("--x-max", type=float, default=10.0,
                   help="GloVe f(x) cut-off (default 10, the GloVe demo's for small corpora; the paper: 100 on billions)")
    p.add_argument("--workers", type=int, default=2, help="threads of the word2vec and GloVe trainers")
    p.add_argument("--restrict-vocab", type=int, default=30_000, help="only the first N words answer")
    p.add_argument("--max-tokens", type=int, default=None, help="use only the first sentences, this many tokens")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "table3.csv")
    p.add_argument("--update", action="store_true", help="keep the CSV's other rows, replace the ones trained now")
    args = p.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        p.error(f"unknown model(s) {unknown}; choose from {', '.join(MODELS)}")
    return args


def machine() -> str:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, {gpu}, torch {torch.__version__}"


def load_corpus(max_tokens):
    sentences = benchmark_corpus()
    if max_tokens is not None:
        kept, total = [], 0
        for sentence in sentences:
            if total >= max_tokens:
                break
            kept.append(sentence)
            total += len(sentence)
        sentences = kept
    return sentences


def train(model: str, args, sentences, vocab, encoded, cache: dict):
    """(WordVectors, settings string) for one row."""
    d, m = args.dim, args.window
    if model.startswith("svd"):
        if "X" not in cache:
            cache["X"] = cooccurrence.cooccurrence_matrix(encoded, window_size=m, weighting="harmonic",
                                                          top_contexts=args.contexts)
        transform = {"svd": lambda X: X, "svd-s": cooccurrence.sqrt_counts, "svd-l": cooccurrence.log_counts}[model]
        kv = svd_word_vectors(transform(cache["X"]), vocab.index_to_key, k=d, seed=args.seed)
        what = {"svd": "X", "svd-s": "sqrt(X)", "svd-l": "log(1+X)"}[model]
        return kv, (f"SVD of {what}, X: V x {args.contexts} contexts, window {m} each side, 1/d weights; "
                    f"vectors U_k S_k, k={d}")
    if model in ("cbow", "sg"):
        alpha = 0.05 if model == "cbow" else 0.025  # word2vec.c's defaults for each
        w2v = Word2Vec(vector_size=d, window=m, architecture="cbow" if model == "cbow" else "skipgram",
                       negative=args.negative, sample=1e-3, min_count=args.min_count, alpha=alpha,
                       epochs=args.w2v_epochs, workers=args.workers, seed=args.seed)
        w2v.build_vocab(encoded)
        kv = w2v.train(encoded)
        return kv, (f"word2vec {model}, negative {args.negative}, window {m} (sampled 1..{m}), sample 1e-3, "
                    f"alpha {alpha}, {args.w2v_epochs} epochs, d={d}, center vectors")
    if model == "glove":
        try:
            from utils.glove import train_glove
        except ImportError as error:
            raise SystemExit(f"the GloVe row needs utils.glove ({error}); run the others with --models") from None
        kv = train_glove(sentences, vector_size=d, window=m, x_max=args.x_max, alpha=0.75,
                         epochs=args.glove_epochs, min_count=args.min_count, workers=args.workers,
                         seed=args.seed, vectors="sum")
        return kv, (f"GloVe, window {m} each side, 1/d weights, x_max {args.x_max:g}, alpha 3/4, "
                    f"{args.glove_epochs} epochs, d={d}, vectors W + W~")
    from utils.pretrained import load_glove_6b
    return load_glove_6b(50), "pretrained GloVe 6B 50d (Wikipedia 2014 + Gigaword 5, 6B tokens, 400k words)"


def score(kv, restrict_vocab: int) -> dict:
    results = evaluate_all(kv, similarity_sets=(*TABLE3_SETS, *EXTRA_SETS), restrict_vocab=restrict_vocab)
    results["analogy_3cosmul"] = evaluate_analogies(kv, restrict_vocab=restrict_vocab, method="3cosmul")["analogy"]
    return results


def label(row: Mapping[str, str]) -> str:
    """How a CSV row is named beside the paper's rows."""
    if row["model"].endswith("(pretrained)"):
        return "pretrained: GloVe 6B 50d"
    return f"ours: {row['model']} {int(row['dim'])}d"


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    sentences = load_corpus(args.max_tokens)
    vocab = Vocabulary.build(sentences, min_count=args.min_count)
    encoded = vocab.encode(sentences)
    tokens = encoded.num_tokens
    print(f"corpus: {tokens:,} tokens in {encoded.num_sentences:,} sentences, V = {len(vocab):,} "
          f"(min_count {args.min_count}); loaded in {time.perf_counter() - start:.0f} s")
    today = datetime.date.today().isoformat()
    rows, cache = [], {}
    for model in tqdm(args.models, desc="Table 3 rows"):
        began = time.perf_counter()
        kv, settings = train(model, args, sentences, vocab, encoded, cache)
        seconds = time.perf_counter() - began
        results = score(kv, args.restrict_vocab)
        pretrained = model == "glove-6b-50d"
        row = {
            "model": NAMES[model],
            "corpus": "GloVe 6B (Wikipedia + Gigaword)" if pretrained else "benchmark_corpus (NLTK)",
            "corpus_tokens": 6_000_000_000 if pretrained else tokens,
            "vocab_size": len(kv), "dim": kv.vector_size, "settings": settings,
            "train_seconds": "" if pretrained else f"{seconds:.1f}",
            **{c: f"{results[c]:.2f}" for c in SCORE_COLUMNS},
            **{f"oov_{name}": f"{value:.2f}" for name, value in results["oov"].items()},
            "restrict_vocab": args.restrict_vocab, "date": today, "machine": machine(),
            "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        }
        rows.append(row)
        tqdm.write(f"{row['model']}: trained in {seconds:.0f} s, WS353 {row['ws353']}, analogy {row['analogy']}")
    if args.update and args.out.exists():
        with open(args.out, newline="", encoding="utf8") as f:
            kept = [r for r in csv.DictReader(f) if r["model"] not in {row["model"] for row in rows}]
        order = {NAMES[m]: i for i, m in enumerate(MODELS)}
        rows = sorted(kept + rows, key=lambda r: order.get(r["model"], len(order)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as tmp, open(tmp, "w", newline="", encoding="utf8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out} ({len(rows)} rows) in {time.perf_counter() - start:.0f} s\n")
    ours = {label(r): {c: float(r[c]) for c in SCORE_COLUMNS} for r in rows}
    print(PAPER_TABLE3_SOURCE + "; ours: Spearman x 100 / accuracy %, " + f"{tokens:,}-token corpus\n")
    print(table({**PAPER_TABLE3, **ours}, columns=[*TABLE3_SETS, "simlex999", "men", "analogy"]))
    print("\n% of pairs / questions skipped as out-of-vocabulary")
    oov = {name: {c[4:]: float(r[c]) for c in OOV_COLUMNS} for name, r in zip(ours, rows)}
    print(table(oov, columns=[*TABLE3_SETS, "simlex999", "men", "analogy"]))


if __name__ == "__main__":
    main()
