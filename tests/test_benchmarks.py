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
