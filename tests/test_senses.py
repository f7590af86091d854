"""utils.senses on planted data: senses that clustering must separate, atoms that sparse
coding must recover, SCWS scores that must equal a direct computation."""

import numpy as np
import pytest
from scipy.stats import spearmanr

from utils import data
from utils.senses import (
    ContextEmbedder, MultiPrototype, ScwsPair, cluster_purity, fit_superposition, idf_weights, learn_dictionary,
    lineup_test, merge_words, procrustes, read_scws, scws_scores, sparse_encode, spherical_kmeans,
    wordnet_glosses,
)
from utils.senses.prototypes import SenseClusters
from utils.senses.atoms import centre_vectors, describe_atoms, word_atoms
from utils.vectors import WordVectors


def planted_world(seed=0, n_sentences=400):
    """Vectors for two topics (money words near e0, river words near e1, filler near e2) and
    a corpus where 'bank' occurs among money words in half the sentences, river words in the other."""
    rng = np.random.default_rng(seed)
    d = 16
    money = [f"money{i}" for i in range(10)]
    river = [f"river{i}" for i in range(10)]
    filler = [f"the{i}" for i in range(5)]
    words = ["bank"] + money + river + filler
    vectors = rng.normal(scale=0.1, size=(len(words), d))
    vectors[1:11, 0] += 1
    vectors[11:21, 1] += 1
    vectors[21:, 2] += 1
    vectors[0] = vectors[1:21].mean(0)
    kv = WordVectors(vectors.astype(np.float32), words)
    sentences, gold = [], []
    for s in range(n_sentences):
        topic = money if s % 2 == 0 else river
        context = list(rng.choice(topic, 4)) + list(rng.choice(filler, 2))
        rng.shuffle(context)
        sentences.append(context[:3] + ["bank"] + context[3:])
        gold.append("money" if s % 2 == 0 else "river")
    return kv, sentences, gold


def test_idf_weights_counts_documents():
    kv = WordVectors(np.eye(3, dtype=np.float32), ["a", "b", "c"])
    idf = idf_weights([["a", "b"], ["a", "a"], ["a"], ["b"]], kv)
    np.testing.assert_allclose(idf, [np.log(4 / 3), np.log(4 / 2), np.log(4 / 1)], rtol=1e-6)


def test_context_embedding_is_the_idf_weighted_mean_of_the_window():
    kv = WordVectors(np.array([[1, 0], [0, 2], [3, 4]], dtype=np.float32), ["a", "b", "c"])
    idf = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    embedder = ContextEmbedder(kv, idf, window=1)
    got = embedder.embed_one(["a", "x", "b", "c"], 2)  # window: 'x' (unknown) and 'c'
    np.testing.assert_allclose(got, [0.6, 0.8], rtol=1e-6)
    got = embedder.embed_one(["a", "b", "c"], 1)  # 'a' (idf 1) and 'c' (idf 3), unit vectors
    np.testing.assert_allclose(got, (np.array([1, 0]) + 3 * np.array([0.6, 0.8])) / 4, rtol=1e-6)
    assert embedder.embed_one(["x", "a", "y"], 1) is None
    with pytest.raises(ValueError, match="one weight per word"):
        ContextEmbedder(kv, idf[:2])


def test_context_windows_stop_at_sentence_boundaries():
    kv = WordVectors(np.array([[1, 0], [0, 1]], dtype=np.float32), ["a", "b"])
    embedder = ContextEmbedder(kv, np.ones(2, dtype=np.float32), window=3)
    flat = embedder.flatten([["a", "a"], ["b", "b"]])
    contexts, ok = embedder.embed(flat, np.array([1, 2]))
    np.testing.assert_allclose(contexts, [[1, 0], [0, 1]])
    assert ok.all()


def test_spherical_kmeans_finds_planted_directions_and_is_seeded():
    rng = np.random.default_rng(1)
    centres = np.eye(3)[:, :3] * 5
    x = np.concatenate([c + rng.normal(size=(50, 3)) for c in centres])
    labels, centroids = spherical_kmeans(x, 3, seed=0, device="cpu")
    assert cluster_purity(labels, np.repeat([0, 1, 2], 50)) == 1.0
    np.testing.assert_allclose(np.linalg.norm(centroids, axis=1), 1, rtol=1e-5)
    again, _ = spherical_kmeans(x, 3, seed=0, device="cpu")
    np.testing.assert_array_equal(labels, again)
    with pytest.raises(ValueError, match="k must be between"):
        spherical_kmeans(x, 0)


def test_two_planted_senses_are_separated_and_relabelled():
    kv, sentences, gold = planted_world()
    embedder = ContextEmbedder(kv, idf_weights(sentences, kv), window=5)
    model = MultiPrototype.fit(sentences, embedder, ["bank"], max_prototypes=2, min_occurrences=20, device="cpu")
    assert model.clusters["bank"].names == ["bank_1", "bank_2"]
    relabelled = model.relabel(sentences)
    labels = [next(w for w in s if w.startswith("bank")) for s in relabelled]
    assert cluster_purity(np.array(labels), gold) == 1.0
    assert sorted(set(labels)) == ["bank_1", "bank_2"]
    # everything but the target is unchanged
    assert [[w for w in s if not w.startswith("bank")] for s in relabelled] == \
           [[w for w in s if w != "bank"] for s in sentences]


def test_rare_words_keep_one_prototype():
    kv, sentences, _ = planted_world(n_sentences=30)
    embedder = ContextEmbedder(kv, idf_weights(sentences, kv))
    model = MultiPrototype.fit(sentences, embedder, ["bank", "absent"], max_prototypes=10, min_occurrences=20)
    assert model.clusters == {}
    assert model.relabel(sentences) == sentences


def test_cluster_purity():
    assert cluster_purity(np.array([0, 0, 1, 1]), ["a", "a", "b", "b"]) == 1.0
    assert cluster_purity(np.array([0, 0, 0, 0]), ["a", "a", "a", "b"]) == 0.75
    assert cluster_purity(np.array([0, 1, 0, 1]), ["a", "a", "b", "b"]) == 0.5
    with pytest.raises(ValueError):
        cluster_purity(np.array([0]), ["a", "b"])


def test_scws_scores_equal_a_direct_computation():
    rng = np.random.default_rng(0)
    d = 5
    words = ["bank_1", "bank_2", "money", "river", "shore", "cash", "a", "b"]
    kv = WordVectors(rng.normal(size=(len(words), d)).astype(np.float32), words)
    embedder = ContextEmbedder(kv, np.ones(len(words), dtype=np.float32), window=2)
    centroids = np.stack([kv.get_vector("money", norm=True), kv.get_vector("river", norm=True)])
    model = MultiPrototype(embedder, {"bank": SenseClusters("bank", centroids, np.array([5, 5]))})
    pairs = [
        ScwsPair("bank", ("money", "bank", "cash"), 1, "river", ("a", "river", "b"), 1, 3.0),
        ScwsPair("bank", ("river", "bank", "shore"), 1, "cash", ("cash",), 0, 1.0),
        ScwsPair("money", ("money",), 0, "cash", ("cash",), 0, 8.0),
        ScwsPair("bank", ("a", "bank"), 1, "shore", ("shore",), 0, 5.0),
        ScwsPair("bank", ("bank",), 0, "unknownword", ("unknownword",), 0, 2.0),
    ]
    got = scws_scores(pairs, kv, model)
    assert (got["pairs"], got["skipped"], got["total"]) == (4, 1, 5)

    def unit(v):
        return v / np.linalg.norm(v)

    def responsibilities(tokens, position):
        context = [unit(kv[w]) for i, w in enumerate(tokens) if i != position and abs(i - position) <= 2 and w in kv]
        if not context:
            return np.array([0.5, 0.5])
        c = unit(np.mean(context, 0))
        p = np.clip(centroids @ c, 0, None)
        return p / p.sum() if p.sum() > 0 else np.array([0.5, 0.5])

    avg_sim, avg_sim_c = [], []
    for pair in pairs[:4]:
        sides = []
        for word, tokens, position in ((pair.word1, pair.tokens1, pair.position1),
                                       (pair.word2, pair.tokens2, pair.position2)):
            if word == "bank":
                sides.append(([unit(kv["bank_1"]), unit(kv["bank_2"])], responsibilities(tokens, position)))
            else:
                sides.append(([unit(kv[word])], np.ones(1)))
        (v1, p1), (v2, p2) = sides
        cos = np.array([[a @ b for b in v2] for a in v1])
        avg_sim.append(cos.mean())
        avg_sim_c.append(sum(p1[i] * p2[j] * cos[i, j] for i in range(len(v1)) for j in range(len(v2))))
    ratings = [p.rating for p in pairs[:4]]
    assert got["AvgSim"] == pytest.approx(100 * spearmanr(avg_sim, ratings).statistic)
    assert got["AvgSimC"] == pytest.approx(100 * spearmanr(avg_sim_c, ratings).statistic)
    # a single-prototype model: both scores are the plain cosine's
    single = WordVectors(rng.normal(size=(4, d)).astype(np.float32), ["bank", "river", "cash", "shore"])
    one = scws_scores(pairs, single)
    cosines = [single.similarity(p.word1, p.word2) for p in pairs if p.word2 in single and p.word1 in single]
    expected = 100 * spearmanr(cosines, [p.rating for p in pairs if p.word2 in single and p.word1 in single]).statistic
    assert one["AvgSim"] == pytest.approx(expected) and one["AvgSimC"] == pytest.approx(expected)


def test_read_scws_marks_the_target():
    pairs = read_scws()
    assert len(pairs) == 2003
    for pair in pairs[:50]:
        assert pair.tokens1[pair.position1] == pair.word1
        assert pair.tokens2[pair.position2] == pair.word2
    assert (pairs[0].word1, pairs[0].word2, pairs[0].rating) == ("brazil", "nut", 1.1)


def planted_codes(k, d, s, n, signed=False, seed=0):
    """k random unit atoms (k, d) and n codes (n, k) of s non-zeros each, |coefficient| in [0.5, 1.5]
    (positive, or of random sign when `signed`)."""
    rng = np.random.default_rng(seed)
    atoms = rng.normal(size=(k, d))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    codes = np.zeros((n, k))
    for row in codes:
        signs = rng.choice([-1, 1], s) if signed else 1
        row[rng.choice(k, s, replace=False)] = signs * rng.uniform(0.5, 1.5, s)
    return atoms, codes, rng


def test_sparse_codes_of_known_atoms_are_recovered():
    k, d, s, n = 40, 30, 3, 3000
    atoms, codes, _ = planted_codes(k, d, s, n)
    x = codes @ atoms
    found = sparse_encode(x, atoms, n_nonzero=s, device="cpu").toarray()
    # greedy pursuit is exact only for incoherent atoms: 40 random atoms in 30-d nearly always
    exact = ((found != 0) == (codes != 0)).all(1)
    assert exact.mean() > 0.98, exact.mean()
    np.testing.assert_allclose(found[exact], codes[exact], atol=1e-3)

    learned, learned_codes, errors = learn_dictionary(x, k, s, n_iter=30, seed=0, device="cpu", progress=False)
    match = np.abs(atoms @ learned.T).max(1)  # best |cos| of each true atom with a learned one
    assert np.mean(match > 0.99) >= 0.9, match
    assert errors[-1] < errors[0] / 3  # MOD can stall with a few atoms merged: most, not all, are found
    assert learned_codes.shape == (n, k) and (learned_codes.getnnz(1) <= s).all()


def test_centring_removes_a_shared_direction_that_hides_the_atoms():
    # planted: sparse codes of known atoms (random signs, so they average to about zero) plus one
    # direction every vector shares, as pretrained word vectors have
    k, d, s, n = 40, 30, 3, 3000
    atoms, codes, rng = planted_codes(k, d, s, n, signed=True)
    kv = WordVectors(codes @ atoms + 3 * rng.normal(size=d) / np.sqrt(d), [f"w{i}" for i in range(n)])
    centred = centre_vectors(kv)
    assert centred.index_to_key == kv.index_to_key
    np.testing.assert_allclose(centred.vectors.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(centre_vectors(kv, top=100).vectors[:100].mean(0), 0, atol=1e-5)

    def found(vectors):
        learned, _, _ = learn_dictionary(vectors, k, s, n_iter=30, seed=0, device="cpu", progress=False)
        return np.mean(np.abs(atoms @ learned.T).max(1) > 0.99)  # share of true atoms recovered

    assert found(centred.vectors) >= 0.9
    assert found(kv.vectors) <= 0.5  # the shared direction takes a place in every code
    with pytest.raises(ValueError, match="top must be"):
        centre_vectors(kv, top=0)


def test_sparse_coding_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        sparse_encode(np.array([[np.nan, 1.0]]), np.eye(2), 1)
    with pytest.raises(ValueError, match="n_nonzero"):
        sparse_encode(np.eye(2), np.eye(2), 3)
    with pytest.raises(ValueError, match="atoms must be"):
        sparse_encode(np.eye(3), np.eye(2), 1)


def test_describe_atoms_and_the_lineup_on_planted_senses():
    # atoms: e0 (money), e1 (river), e2 (weather) in 3-d; words built from them
    words = ["bank", "money", "cash", "river", "shore", "rain", "snow", "storm"]
    vectors = np.array([[1, 1, 0], [1, 0.1, 0], [1, -0.1, 0], [0.1, 1, 0], [-0.1, 1, 0],
                        [0, 0.1, 1], [0, -0.1, 1], [0, 0, 1]], dtype=np.float32)
    kv = WordVectors(vectors, words)
    atoms = np.eye(3, dtype=np.float32)
    codes = sparse_encode(vectors, atoms, n_nonzero=2, device="cpu")
    assert sorted(a for a, _ in word_atoms(codes, 0)) == [0, 1]
    assert describe_atoms(kv, atoms, [0], topn=2, restrict_vocab=None)[0] == ["money", "cash"]
    glosses = {
        "bank": [("bank.n.01", "money and cash", 3), ("bank.n.02", "river shore", 2)],
        "storm": [("storm.n.01", "rain", 1), ("storm.n.02", "snow", 1)],
    }
    result = lineup_test(kv, atoms, codes, ["bank", "storm", "nothing"], glosses=lambda w: glosses.get(w, []),
                         skip_top=0)
    assert result.words_tested == ["bank", "storm"] and result.words_skipped == ["nothing"]
    assert [a for a, _ in word_atoms(codes, 7)] == [2]
    assert result.hits == result.trials == 3  # bank: atoms 0 and 1; storm: atom 2
    assert result.word_vector_hits == result.word_trials == 2
    assert result.chance == 0.5


def test_superposition_helpers():
    assert merge_words([["a", "b", "c"]], [("a", "c")]) == [["a_c", "b", "a_c"]]
    with pytest.raises(ValueError, match="two pairs"):
        merge_words([], [("a", "b"), ("b", "c")])
    rng = np.random.default_rng(0)
    source = rng.normal(size=(50, 4))
    rotation, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    np.testing.assert_allclose(procrustes(source, source @ rotation), rotation, atol=1e-8)
    basis = rng.normal(size=(2, 6))
    alpha, cosine = fit_superposition(0.7 * basis[0] + 0.2 * basis[1], basis)
    np.testing.assert_allclose(alpha, [0.7, 0.2], atol=1e-10)
    assert cosine == pytest.approx(1.0)


@pytest.mark.skipif(not data.available("wordnet"), reason="WordNet needs WV_MIRROR or NLTK_DATA (or a download)")
def test_wordnet_glosses_of_pike():
    glosses = wordnet_glosses("pike", pos="n")
    assert any("fish" in text for _, text, _ in glosses)
    assert glosses[0][0] == "expressway.n.01" and glosses[0][2] == 1


def test_scws_same_word_pairs_tie_whatever_the_rounding():
    """bank/bank with one vector scores exactly 1.0: the score must not depend on how a CPU rounds."""
    pairs = read_scws()
    words = sorted({p.word1 for p in pairs} | {p.word2 for p in pairs})
    kv = WordVectors(np.random.default_rng(0).normal(size=(len(words), 20)).astype(np.float32), words)
    jittered = WordVectors(kv.vectors * np.float32(1.0000001), words)  # the same directions, other rounding
    assert scws_scores(pairs, jittered)["AvgSim"] == pytest.approx(scws_scores(pairs, kv)["AvgSim"], abs=1e-9)
