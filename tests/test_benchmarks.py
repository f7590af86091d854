"""The benchmark scripts' command lines (the runs themselves are timed by hand: benchmarks/README.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench_word2vec():
    spec = importlib.util.spec_from_file_location("bench_word2vec", ROOT / "benchmarks" / "bench_word2vec.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_word2vec_benchmark_fast_kernel_defaults_and_overrides():
    bench = _bench_word2vec()
    assert bench.parse_args([]).fast == {"shared_negatives": True, "cbow_batch": 1}
    assert bench.parse_args(["--architecture", "cbow"]).fast == {"shared_negatives": False, "cbow_batch": 16}
    args = bench.parse_args(["--architecture", "cbow", "--fast", "cbow_batch=32, shared_negatives=True,negative=10"])
    assert args.fast == {"cbow_batch": 32, "shared_negatives": True, "negative": 10}


@pytest.mark.parametrize("fast", ["window=3", "cbow_batch", "cbow_batch=sixteen", "shared_negatives=yes"])
def test_word2vec_benchmark_refuses_a_bad_fast_setting(fast, capsys):
    bench = _bench_word2vec()
    with pytest.raises(SystemExit):
        bench.parse_args(["--fast", fast])
    assert "--fast" in capsys.readouterr().err


def _bench_gpu():
    spec = importlib.util.spec_from_file_location("bench_gpu", ROOT / "benchmarks" / "bench_gpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_benchmark_runs_its_cpu_side_from_a_corpus_file_and_keeps_every_result(tmp_path, monkeypatch):
    """Without CUDA it runs what the CPU can (the numba runs) and records each one as it ends."""
    import gzip
    import json

    import torch

    from utils.corpus import default_corpus

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    corpus = tmp_path / "corpus.txt.gz"
    with gzip.open(corpus, "wt", encoding="utf-8") as f:
        f.writelines(" ".join(s) + "\n" for s in default_corpus()[:3000])
    bench = _bench_gpu()
    assert bench.main(["--corpus-file", str(corpus), "--out", str(tmp_path), "--sections", "word2vec,glove",
                       "--glove-dims", "10", "--workers", "1"]) == 0
    runs = json.loads((tmp_path / "bench_gpu.json").read_text())["runs"]
    labels = [(r["section"], r.get("run")) for r in runs]
    assert ("word2vec", "cpu numba per pair") in labels and ("glove", "cpu numba") in labels
    assert not any("cuda" in str(label) for _, label in labels)
    assert not [r for r in runs if "error" in r]
    per_pair = next(r for r in runs if r.get("run") == "cpu numba per pair")
    assert per_pair["words_per_second"] > 0 and 0 <= per_pair["analogy"] <= 1
