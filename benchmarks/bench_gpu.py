"""The GPU paths measured on one machine: word2vec's and GloVe's torch backends, sparse coding,
k-means and `WordVectors` on CUDA, each beside the CPU kernel on the same machine.

    python benchmarks/bench_gpu.py                                   # benchmark corpus via the data layer
    python benchmarks/bench_gpu.py --corpus-file corpus.txt.gz --out results/   # a machine without NLTK
    python benchmarks/bench_gpu.py --write-corpus corpus.txt.gz      # make that file (here, with the mirror)

What it runs (settings as bench_word2vec.py and bench_glove.py, so the numbers compare):
1. word2vec, skip-gram with negative sampling, d = 100, window 5, K = 5, sample 1e-3, min_count 5,
   5 epochs: the triton backend (fused kernels; skip-gram and CBOW) and the torch backend on
   CUDA at the batch sizes of `--w2v-batches`, the numba CPU
   kernel (per pair; then shared negatives) with `--workers` threads on the same machine, and
   CBOW on CUDA. Each run: wall time of `train()`, words/s (corpus tokens x epochs / time; also
   per epoch, without the subsampling pass), analogy accuracy and Spearman on WS353, SimLex-999
   and MEN (first 30k words answer).
2. `WordVectors` on CUDA against the CPU, on the first vectors trained: the same top-10
   neighbours and the same analogy score.
3. GloVe, d = 50 and 100, window 15, x_max 10: one co-occurrence matrix (CPU) for every run,
   15 epochs of the torch backend on CUDA (training time, median epoch, quality of W + W~), and
   one numba CPU epoch with `--workers` threads for the per-epoch ratio.
4. Sparse coding (OMP, 300 atoms, 5 non-zeros), dictionary learning (10 alternations) and
   spherical k-means (k = 50) of GloVe 6B 50d's 20k most frequent words (`--glove-npy`, or the
   installed package), on CUDA and on the CPU, same run.
word2vec starts no new run after 45 % of `--budget` seconds, GloVe none after 85 %; every result is printed
as it comes and written to `--out`/bench_gpu.json after each run, so a cut-off run keeps what it had.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if "WV_MIRROR" not in os.environ and (ROOT.parent / "shared" / "data").is_dir():
    os.environ["WV_MIRROR"] = str(ROOT.parent / "shared" / "data")
    os.environ.setdefault("NLTK_DATA", str(ROOT.parent / "shared" / "data" / "nltk_data"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from utils.corpus import Vocabulary  # noqa: E402
from utils.evaluate import evaluate_all, evaluate_analogies, evaluate_similarity  # noqa: E402
from utils.vectors import WordVectors  # noqa: E402

W2V_SIMILARITY = ("ws353", "simlex999", "men")
GLOVE_SETS = ("ws353", "simlex999", "men", "rw", "scws")
WORD2VEC_SHARE, GLOVE_SHARE = 0.45, 0.85  # no new run of a section after this share of --budget


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus-file", type=Path, default=None,
                   help="one sentence per line (.txt or .txt.gz); default: utils.corpus.benchmark_corpus()")
    p.add_argument("--write-corpus", type=Path, default=None, help="write the benchmark corpus to this file and stop")
    p.add_argument("--out", type=Path, default=Path("."), help="folder for bench_gpu.json")
    p.add_argument("--sections", default="word2vec,vectors,glove,senses")
    p.add_argument("--budget", type=float, default=480.0, help="seconds after which no new run starts")
    p.add_argument("--workers", type=int, default=os.cpu_count(),
                   help="CPU threads of the numba runs (default: every core of the machine)")
    p.add_argument("--w2v-batches", default="4096,65536,16384", help="torch batch sizes (pairs per step), in order")
    p.add_argument("--glove-dims", default="50,100")
    p.add_argument("--glove-batches", default="65536", help="cells per step of GloVe's torch runs on CUDA")
    p.add_argument("--glove-npy", type=Path, default=None, help="GloVe 6B 50d rows (n, 50) as .npy")
    p.add_argument("--glove-words", type=Path, default=None, help="their words, a JSON list")
    return p.parse_args(argv)


class Report:
    """Prints each result and keeps them all in one JSON file, rewritten after every run."""

    def __init__(self, path: Path, budget: float):
        self.path, self.budget, self.start = path, budget, time.perf_counter()
        self.results: dict = {"machine": machine(), "runs": []}
        self.save()

    def left(self, share: float = 1.0) -> float:
        """Seconds left of the first `share` of the budget (each section has its share)."""
        return share * self.budget - (time.perf_counter() - self.start)

    def add(self, section: str, **run) -> None:
        run = {"section": section, **run}
        self.results["runs"].append(run)
        shown = "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                          for k, v in run.items() if k != "section")
        print(f"[{time.perf_counter() - self.start:6.0f}s] {section}: {shown}", flush=True)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.results, indent=1))
        tmp.replace(self.path)


def machine() -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
            "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info |= {"gpu": props.name, "gpu_memory_gb": round(props.total_memory / 2**30, 1),
                 "multiprocessors": props.multi_processor_count}
    return info


def read_corpus(path: Path | None) -> list[list[str]]:
    if path is None:
        from utils.corpus import benchmark_corpus

        return benchmark_corpus()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.split() for line in f if line.strip()]


def attempt(report, section: str, label: str, call):
    """call(); a failure is recorded (what broke) and the next run goes on."""
    try:
        return call()
    except Exception as error:
        report.add(section, run=label, error=f"{type(error).__name__}: {error}")
        return None


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


# ---------------------------------------------------------------------------------------------
# 1. word2vec


def w2v_quality(kv) -> dict:
    scores = {name: evaluate_similarity(kv, name, restrict_vocab=30000)[0] / 100 for name in W2V_SIMILARITY}
    scores["analogy"] = evaluate_analogies(kv, restrict_vocab=30000)["analogy"] / 100
    return scores


def run_word2vec(report, encoded, n_tokens, label, **settings):
    from utils.word2vec import Word2Vec

    model = Word2Vec(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, alpha=0.025,
                     epochs=5, seed=1, **settings)
    model.build_vocab(encoded)
    sync()
    start = time.perf_counter()
    kv = model.train(encoded, progress=False)
    sync()
    seconds = time.perf_counter() - start
    epoch_s = statistics.median(h["seconds"] for h in model.history)
    report.add("word2vec", run=label, backend=model.backend, device=str(model.device), seconds=seconds,
               words_per_second=n_tokens * model.config.epochs / seconds,
               epoch_words_per_second=n_tokens / epoch_s, **w2v_quality(kv))
    return kv


def section_word2vec(report, sentences, args) -> dict:
    from utils.word2vec import Word2Vec

    n_tokens = sum(map(len, sentences))
    encoded = Vocabulary.build(sentences, min_count=5).encode(sentences)
    tiny = Vocabulary.build([["a", "b", "c"]] * 10, min_count=1).encode([["a", "b", "c"]] * 10)
    for shared in (False, True):  # compile the numba kernels outside the timed runs
        attempt(report, "word2vec", "numba warm-up", lambda: Word2Vec(
            min_count=1, epochs=1, vector_size=8, backend="numba", shared_negatives=shared).fit(tiny, progress=False))
    vectors = {}
    cuda = torch.cuda.is_available()
    triton = []
    if cuda:  # the fused kernels compile for each (architecture, window, K, d): do that untimed
        triton = [("cuda triton", dict(backend="triton", device="cuda")),
                  ("cuda triton cbow", dict(backend="triton", device="cuda", architecture="cbow"))]
        for architecture in ("skipgram", "cbow"):
            attempt(report, "word2vec", "triton warm-up", lambda: Word2Vec(
                min_count=1, epochs=1, vector_size=100, window=5, negative=5, backend="triton", device="cuda",
                architecture=architecture).fit(tiny, progress=False))
    batches = [int(b) for b in args.w2v_batches.split(",")] if cuda else []
    cpu = [("cpu numba per pair", dict(backend="numba", workers=args.workers)),
           ("cpu numba shared negatives", dict(backend="numba", workers=args.workers, shared_negatives=True))]
    gpu = [(f"cuda batch {b}", dict(backend="torch", device="cuda", batch_size=b)) for b in batches]
    cbow = [("cuda cbow batch 4096", dict(backend="torch", device="cuda", architecture="cbow", batch_size=4096))]
    # most wanted first, so that a short budget keeps them: the fused kernels, the torch default,
    # their CPU reference, the rest
    plan = triton + gpu[:1] + cpu[:1] + gpu[1:2] + (cbow if cuda else []) + gpu[2:] + cpu[1:]
    for label, settings in plan:
        if report.left(WORD2VEC_SHARE) < 0:
            report.add("word2vec", run=label, skipped="out of budget")
            continue
        kv = attempt(report, "word2vec", label, lambda: run_word2vec(report, encoded, n_tokens, label, **settings))
        if kv is not None:
            vectors[label] = kv
    return vectors


# ---------------------------------------------------------------------------------------------
# 2. WordVectors on the GPU


def section_vectors(report, kv) -> None:
    on_gpu = WordVectors(kv.vectors, kv.index_to_key, device="cuda")
    queries = [dict(positive=["king", "woman"], negative=["man"]), dict(positive=["france"]),
               dict(positive=["good"]), dict(positive=["london", "germany"], negative=["england"])]
    same = 0
    for query in queries:
        cpu = [w for w, _ in kv.most_similar(**query, topn=10)]
        gpu = [w for w, _ in on_gpu.most_similar(**query, topn=10)]
        same += cpu == gpu
    start = time.perf_counter()
    cpu_score = evaluate_analogies(kv, restrict_vocab=30000)["analogy"]
    cpu_s = time.perf_counter() - start
    start = time.perf_counter()
    gpu_score = evaluate_analogies(on_gpu, restrict_vocab=30000)["analogy"]
    sync()
    gpu_s = time.perf_counter() - start
    report.add("vectors", same_top10=f"{same}/{len(queries)}", analogy_cpu=cpu_score, analogy_gpu=gpu_score,
               analogy_cpu_s=cpu_s, analogy_gpu_s=gpu_s)


# ---------------------------------------------------------------------------------------------
# 3. GloVe


def run_glove(report, encoded, X, d, label, epochs=15, quality=True, **settings):
    from utils.glove import GloVe

    model = GloVe(vector_size=d, window=15, x_max=10.0, alpha=0.75, learning_rate=0.05, epochs=epochs,
                  min_count=5, seed=1, **settings)
    model.build_vocab(encoded)
    model.set_cooccurrence(X)
    sync()
    start = time.perf_counter()
    kv = model.train(progress=False)
    sync()
    train_s = time.perf_counter() - start
    epoch_s = statistics.median(h["seconds"] for h in model.history)
    run = dict(run=label, d=d, backend=model.backend, device=str(model.device), epochs=epochs,
               training_s=train_s, epoch_s=epoch_s)
    if quality:
        scores = evaluate_all(kv, similarity_sets=GLOVE_SETS, restrict_vocab=None)
        run |= {k: scores[k] for k in ("analogy", "semantic", "syntactic", *GLOVE_SETS)}
    report.add("glove", **run)


def section_glove(report, sentences, args) -> None:
    from utils.cooccurrence import cooccurrence_matrix
    from utils.glove import GloVe

    attempt(report, "glove", "numba warm-up", lambda: GloVe(
        vector_size=4, window=2, min_count=1, epochs=1, backend="numba").fit([["a", "b", "c"]] * 5, progress=False))
    start = time.perf_counter()
    encoded = Vocabulary.build(sentences, min_count=5).encode(sentences)
    X = cooccurrence_matrix(encoded, 15, weighting="harmonic")  # what GloVe.build_cooccurrence computes
    report.add("glove", run="co-occurrence (CPU, once for every run)", seconds=time.perf_counter() - start,
               vocab=len(encoded.vocab), cells=X.nnz)
    for d in (int(x) for x in args.glove_dims.split(",")):
        # the CPU side: one epoch is enough for the per-epoch ratio
        runs = [(f"cuda batch {b}", dict(backend="torch", device="cuda", batch_size=int(b)), 15)
                for b in args.glove_batches.split(",")]
        for label, settings, epochs in runs + [("cpu numba", dict(backend="numba", workers=args.workers), 1)]:
            if label.startswith("cuda") and not torch.cuda.is_available():
                continue
            if report.left(GLOVE_SHARE) < 0:
                report.add("glove", run=label, d=d, skipped="out of budget")
                continue
            attempt(report, "glove", label, lambda: run_glove(report, encoded, X, d, label, epochs=epochs,
                                                              quality=label.startswith("cuda"), **settings))


# ---------------------------------------------------------------------------------------------
# 4. Sparse coding and k-means


def glove_rows(args) -> np.ndarray:
    if args.glove_npy is not None:
        x = np.load(args.glove_npy).astype(np.float32)
    else:
        from utils.pretrained import load_glove_6b

        x = load_glove_6b(50, max_words=20000).vectors.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def timed(call):
    sync()
    start = time.perf_counter()
    result = call()
    sync()
    return time.perf_counter() - start, result


def section_senses(report, args) -> None:
    from utils.senses import learn_dictionary, sparse_encode, spherical_kmeans

    x = glove_rows(args)
    atoms = x[np.random.default_rng(0).choice(len(x), 300, replace=False)]
    devices = ["cuda", "cpu"] if torch.cuda.is_available() else ["cpu"]
    for device in devices:
        sparse_encode(x[:256], atoms, 5, device=device)  # warm-up: kernels, allocator
        seconds, codes = timed(lambda: sparse_encode(x, atoms, 5, device=device))
        error = float(np.linalg.norm(x - codes @ atoms) / np.linalg.norm(x))
        report.add("senses", run="omp codes", device=device, words=len(x), seconds=seconds, error=error)
    for device in devices:
        seconds, (_, _, errors) = timed(lambda: learn_dictionary(x, 300, 5, n_iter=10, device=device, progress=False))
        report.add("senses", run="dictionary 10 alternations", device=device, seconds=seconds, error=errors[-1])
    for device in devices:
        seconds, (labels, _) = timed(lambda: spherical_kmeans(x, 50, seed=0, device=device))
        report.add("senses", run="spherical k-means k=50", device=device, seconds=seconds,
                   clusters=int(len(np.unique(labels))))


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.write_corpus is not None:
        sentences = read_corpus(None)
        with gzip.open(args.write_corpus, "wt", encoding="utf-8") as f:
            f.writelines(" ".join(s) + "\n" for s in sentences)
        print(f"wrote {len(sentences):,} sentences to {args.write_corpus}")
        return 0
    report = Report(args.out / "bench_gpu.json", args.budget)
    print(json.dumps(report.results["machine"]), flush=True)
    sections = set(args.sections.split(","))
    sentences = None
    if sections & {"word2vec", "vectors", "glove"}:
        start = time.perf_counter()
        sentences = read_corpus(args.corpus_file)
        report.add("corpus", sentences=len(sentences), tokens=sum(map(len, sentences)),
                   seconds=time.perf_counter() - start)
    steps = {
        "word2vec": lambda: section_word2vec(report, sentences, args),
        "glove": lambda: section_glove(report, sentences, args),
        "senses": lambda: section_senses(report, args),
    }
    trained = {}
    for name in ("word2vec", "glove", "senses"):
        if name not in sections:
            continue
        try:
            result = steps[name]()
            if name == "word2vec":
                trained = result or {}
                if "vectors" in sections and torch.cuda.is_available() and trained:
                    section_vectors(report, next(iter(trained.values())))
        except Exception as error:  # keep the other sections' numbers; say what broke
            report.add(name, error=f"{type(error).__name__}: {error}")
    print(f"done in {time.perf_counter() - report.start:.0f}s; results in {report.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
