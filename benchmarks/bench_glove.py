"""Benchmark: `utils.glove` against the reference GloVe C code on the benchmark corpus.

    WV_MIRROR=../shared/data NLTK_DATA=../shared/data/nltk_data python benchmarks/bench_glove.py
    python benchmarks/bench_glove.py --dims 50 --pairs 1          # what fits a busy hour

The reference (stanfordnlp/GloVe, kept in ../shared/anchors/glove-c; never copied into the
project) is copied into a temporary folder and built there with its own Makefile. Both sides
get the same settings (the reference demo's: window 15, 1/d weighting, x_max 10, alpha 0.75,
eta 0.05, 15 iterations, min_count 5, 2 threads) and the same sentences: the corpus is written
one sentence per line, and the reference's cooccur never looks across a line, as ours never
crosses a sentence.

Runs are interleaved (reference first in odd pairs, ours first in even ones) so a change in the
machine's load hits both. For each run it prints the load average (os.getloadavg) before and
after, the co-occurrence time (reference: vocab_count + cooccur + shuffle, reading the text
file; ours: vocabulary + encoding + `cooccurrence_matrix`, from the sentences in memory), the
training time, the total and their ratios ours / reference, and the quality of the W + W̃
vectors of both: Google analogies (overall, semantic, syntactic) and Spearman x 100 on WS353,
SimLex-999, MEN, RW and SCWS, every word of the (shared) vocabulary answering
(`utils.evaluate.evaluate_all`).
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if "WV_MIRROR" not in os.environ and (ROOT.parent / "shared" / "data").is_dir():
    os.environ["WV_MIRROR"] = str(ROOT.parent / "shared" / "data")
    os.environ.setdefault("NLTK_DATA", str(ROOT.parent / "shared" / "data" / "nltk_data"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from utils.corpus import benchmark_corpus  # noqa: E402
from utils.evaluate import evaluate_all, table  # noqa: E402
from utils.glove import GloVe  # noqa: E402
from utils.vectors import WordVectors  # noqa: E402

QUALITY_SETS = ("ws353", "simlex999", "men", "rw", "scws")
COLUMNS = ("analogy", "semantic", "syntactic", *QUALITY_SETS)


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def build_reference(source: Path, workdir: Path) -> Path:
    """Copy the reference tree into workdir and build it there; returns its build/ folder."""
    if not (source / "src" / "glove.c").is_file():
        raise SystemExit(f"no reference GloVe code at {source} (pass --glove-c)")
    tree = workdir / "glove-c"
    shutil.copytree(source, tree)
    subprocess.run(["make", "-C", str(tree)], check=True, capture_output=True)
    return tree / "build"


def timed(command: list[str], stdin: Path | None, stdout: Path | None) -> float:
    start = time.perf_counter()
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as fin, \
            open(stdout, "wb") if stdout else open(os.devnull, "wb") as fout:
        subprocess.run(command, stdin=fin, stdout=fout, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def run_reference(build: Path, text: Path, workdir: Path, args, d: int) -> dict:
    vocab, cooc, shuf, vectors = (workdir / n for n in ("vocab.txt", "cooc.bin", "cooc.shuf.bin", "vectors"))
    count_s = timed([str(build / "vocab_count"), "-min-count", str(args.min_count), "-verbose", "0"], text, vocab)
    cooccur_s = timed([str(build / "cooccur"), "-memory", str(args.memory), "-vocab-file", str(vocab),
                       "-verbose", "0", "-window-size", str(args.window)], text, cooc)
    # shuffle writes its temporary files into the current folder: run it inside workdir
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        shuffle_s = timed([str(build / "shuffle"), "-memory", str(args.memory), "-verbose", "0"], cooc, shuf)
        train_s = timed([str(build / "glove"), "-save-file", str(vectors), "-threads", str(args.threads),
                         "-input-file", str(shuf), "-x-max", str(args.x_max), "-iter", str(args.epochs),
                         "-vector-size", str(d), "-binary", "0", "-vocab-file", str(vocab), "-verbose", "0",
                         "-alpha", "0.75", "-eta", "0.05", "-model", "2"], None, None)
    finally:
        os.chdir(cwd)
    kv = WordVectors.load_word2vec_format(vectors.with_suffix(".txt"), no_header=True)
    cells = cooc.stat().st_size // 16  # two int32 word ids and a double per record
    for path in (cooc, shuf):
        path.unlink()
    return {"cooccurrence": count_s + cooccur_s + shuffle_s, "cooccur_only": cooccur_s, "shuffle": shuffle_s,
            "training": train_s, "kv": kv, "cells": cells}


def run_ours(sentences, args, d: int, seed: int) -> dict:
    model = GloVe(vector_size=d, window=args.window, x_max=args.x_max, alpha=0.75, learning_rate=0.05,
                  epochs=args.epochs, min_count=args.min_count, workers=args.threads, seed=seed,
                  device=args.device)
    start = time.perf_counter()
    model.build_vocab(sentences)
    model.build_cooccurrence(sentences)
    prepare_s = time.perf_counter() - start
    start = time.perf_counter()
    kv = model.train(progress=False)
    train_s = time.perf_counter() - start
    per_epoch = [h["seconds"] for h in model.history]
    return {"cooccurrence": prepare_s, "training": train_s, "kv": kv, "cells": model.cooccurrence.nnz,
            "backend": model.backend, "device": str(model.device), "epoch_s": statistics.median(per_epoch)}


def quality(kv) -> dict:
    # Every word answers (restrict_vocab=None): both sides have the same vocabulary, but they
    # order words of equal count differently, so "the first 30k words" would be two different
    # sets and score different SCWS and RW pairs (224 of the first 30,000 words differed).
    scores = evaluate_all(kv, similarity_sets=QUALITY_SETS, restrict_vocab=None)
    return {key: scores[key] for key in COLUMNS} | {"oov": scores["oov"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dims", default="50,100", help="vector sizes to run, comma separated")
    parser.add_argument("--pairs", type=int, default=2, help="interleaved reference/ours pairs per size")
    parser.add_argument("--window", type=int, default=15)
    parser.add_argument("--x-max", type=float, default=10.0)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory", type=float, default=4.0, help="GB the reference's cooccur/shuffle may use")
    parser.add_argument("--seed", type=int, default=0,
                        help="ours: seed of the first pair, +1 for each next pair (the reference seeds itself "
                             "from the clock, so every pair is a fresh draw on both sides)")
    parser.add_argument("--device", default="auto", help="ours: auto (CUDA if there is one), cpu, cuda")
    parser.add_argument("--max-sentences", type=int, default=None, help="a quick look on part of the corpus")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--glove-c", type=Path, default=ROOT.parent / "shared" / "anchors" / "glove-c")
    args = parser.parse_args()

    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"torch {torch.__version__}, CUDA: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}")
    start = time.perf_counter()
    sentences = benchmark_corpus()[: args.max_sentences]
    print(f"corpus: {sum(map(len, sentences)):,} tokens, {len(sentences):,} sentences "
          f"(loaded in {time.perf_counter() - start:.0f} s)")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-glove-") as tmp:
        workdir = Path(tmp)
        build = build_reference(args.glove_c, workdir)
        text = workdir / "corpus.txt"
        with open(text, "w", encoding="utf-8") as f:
            for sentence in sentences:
                f.write(" ".join(sentence) + "\n")
        for d in map(int, args.dims.split(",")):
            for pair in range(args.pairs):
                order = ["reference", "ours"] if pair % 2 == 0 else ["ours", "reference"]
                row = {"d": d, "pair": pair + 1}
                for who in order:
                    before = load()
                    r = (run_reference(build, text, workdir, args, d) if who == "reference"
                         else run_ours(sentences, args, d, seed=args.seed + pair))
                    r["load"] = f"{before} -> {load()}"
                    if not args.no_quality:
                        r["quality"] = quality(r["kv"])
                    del r["kv"]
                    row[who] = r
                    print(f"d={d} pair {pair + 1} {who}: co-occurrence {r['cooccurrence']:.1f} s, training "
                          f"{r['training']:.1f} s, {r['cells']:,} cells, load average {r['load']}", flush=True)
                ref, ours = row["reference"], row["ours"]
                for step in ("cooccurrence", "training"):
                    row[f"{step}_ratio"] = ours[step] / ref[step]
                row["total_ratio"] = (ours["cooccurrence"] + ours["training"]) / (ref["cooccurrence"] + ref["training"])
                print(f"  ratios ours/reference: co-occurrence {row['cooccurrence_ratio']:.2f}, training "
                      f"{row['training_ratio']:.2f}, total {row['total_ratio']:.2f}; reference cooccur "
                      f"{ref['cooccur_only']:.1f} s + shuffle {ref['shuffle']:.1f} s; ours {ours['backend']} on "
                      f"{ours['device']}, {ours['epoch_s']:.2f} s per epoch", flush=True)
                if not args.no_quality:
                    print(table({f"reference d={d}": ref["quality"], f"ours d={d}": ours["quality"]},
                                columns=COLUMNS, digits=1))
                    print(table({f"% skipped (OOV), d={d}": ours["quality"]["oov"]}, digits=1))
                results.append(row)
    print("\nsummary (medians over pairs)")
    for d in sorted({r["d"] for r in results}):
        rows = [r for r in results if r["d"] == d]
        line = [f"d={d}: {len(rows)} pair(s)"]
        for who in ("reference", "ours"):
            total = [r[who]["cooccurrence"] + r[who]["training"] for r in rows]
            line.append(f"{who} total {statistics.median(total):.1f} s (training "
                        f"{statistics.median(r[who]['training'] for r in rows):.1f} s)")
        line.append("ratio total " + "/".join(f"{r['total_ratio']:.2f}" for r in rows))
        line.append("training " + "/".join(f"{r['training_ratio']:.2f}" for r in rows))
        print(", ".join(line))
        if not args.no_quality:
            mean = {who: {k: float(np.mean([r[who]["quality"][k] for r in rows])) for k in COLUMNS}
                    for who in ("reference", "ours")}
            spread = {who: {k: float(np.ptp([r[who]["quality"][k] for r in rows])) for k in COLUMNS}
                      for who in ("reference", "ours")}
            print(table({f"reference d={d} (mean)": mean["reference"], f"ours d={d} (mean)": mean["ours"],
                         "ours - reference": {k: mean["ours"][k] - mean["reference"][k] for k in COLUMNS},
                         "reference max - min": spread["reference"], "ours max - min": spread["ours"]},
                        columns=COLUMNS, digits=1))


if __name__ == "__main__":
    main()
