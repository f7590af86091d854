"""word2vec: loss gradients (autograd and finite differences), samplers, windows, training.

Training tests use a planted corpus: words come in groups and every sentence draws its
words from one group, so after training a word's nearest neighbours are its group.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from utils import word2vec as w2v
from utils.word2vec import TrainingDivergedError, Word2Vec, kernels

BACKENDS = ["torch"] + (["numba"] if w2v.numba_available() else [])
GROUPS = [[f"g{g}w{i}" for i in range(6)] for g in range(5)]


def planted_corpus(n_sentences=1200, length=8, seed=0):
    rng = np.random.default_rng(seed)
    sentences = []
    for _ in range(n_sentences):
        group = GROUPS[rng.integers(len(GROUPS))]
        sentences.append([group[i] for i in rng.integers(len(group), size=length)])
    return sentences


def planted_gap(vectors: np.ndarray, index_to_key) -> float:
    """Mean cosine within a group minus mean cosine across groups."""
    index = {w: i for i, w in enumerate(index_to_key)}
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ unit.T
    label = np.array([int(w[1]) for w in index_to_key])
    same = label[:, None] == label[None, :]
    off_diagonal = ~np.eye(len(label), dtype=bool)
    assert len(index) == len(label)
    return float(sims[same & off_diagonal].mean() - sims[~same].mean())


@pytest.fixture(scope="module")
def corpus():
    return planted_corpus()


def assert_neighbours_are_their_groups(wv):
    """The 5 nearest neighbours of the first two words of each group are the rest of the group."""
    for group in GROUPS:
        for word in group[:2]:
            neighbours = {w for w, _ in wv.most_similar(word, topn=5)}
            assert neighbours == set(group) - {word}, (word, neighbours)


def small_model(**settings):
    base = dict(vector_size=16, window=3, min_count=1, sample=0, epochs=3, seed=3, device="cpu")
    return Word2Vec(**{**base, **settings})


# --------------------------------------------------------------------------------------
# Gradients: the hand-written ones equal autograd's and finite differences


def numeric_grad(f, x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Central differences of the scalar f() with respect to every entry of x (float64)."""
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def _inputs(seed=0, B=3, d=4, K=2, L=3, V=7):
    g = torch.Generator().manual_seed(seed)
    return dict(
        center=torch.randn(B, d, generator=g, dtype=torch.float64),
        outside=torch.randn(B, d, generator=g, dtype=torch.float64),
        negative=torch.randn(B, K, d, generator=g, dtype=torch.float64),
        nodes=torch.randn(B, L, d, generator=g, dtype=torch.float64),
        codes=torch.randint(0, 2, (B, L), generator=g),
        mask=torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0]], dtype=torch.float64),
        matrix=torch.randn(V, d, generator=g, dtype=torch.float64),
        outside_ids=torch.tensor([0, 3, 6]),
    )


def _losses():
    """(name, function of the differentiable inputs -> (loss, [analytic grads]), input names)."""

    def neg(center, outside, negative):
        loss, gc, go, gn = w2v.neg_sampling_loss_and_grads(center, outside, negative)
        return loss, [gc, go, gn]

    def hs(center, nodes, codes, mask):
        loss, gc, gn = w2v.hierarchical_softmax_loss_and_grads(center, nodes, codes, mask)
        return loss, [gc, gn]

    def softmax(center, matrix, outside_ids):
        loss, gc, gm = w2v.naive_softmax_loss_and_grads(center, outside_ids, matrix)
        return loss, [gc, gm]

    return [
        ("negative", neg, ["center", "outside", "negative"], []),
        ("hierarchical", hs, ["center", "nodes"], ["codes", "mask"]),
        ("softmax", softmax, ["center", "matrix"], ["outside_ids"]),
    ]


@pytest.mark.parametrize("name,fn,wrt,fixed", _losses(), ids=lambda x: x if isinstance(x, str) else "")
def test_gradients_match_autograd(name, fn, wrt, fixed):
    inputs = _inputs()
    args = {k: inputs[k].clone().requires_grad_(True) for k in wrt}
    args.update({k: inputs[k] for k in fixed})
    loss, grads = fn(**args)
    assert loss.shape == (3,)
    loss.sum().backward()
    for key, grad in zip(wrt, grads):
        torch.testing.assert_close(grad, args[key].grad, msg=f"{name}: d loss / d {key}")


@pytest.mark.parametrize("name,fn,wrt,fixed", _losses(), ids=lambda x: x if isinstance(x, str) else "")
def test_gradients_match_finite_differences(name, fn, wrt, fixed):
    inputs = _inputs(seed=1)
    args = {k: inputs[k] for k in wrt + fixed}
    _, grads = fn(**args)
    for key, grad in zip(wrt, grads):
        numeric = numeric_grad(lambda: float(fn(**args)[0].sum()), args[key])
        torch.testing.assert_close(grad, numeric, rtol=1e-5, atol=1e-7, msg=f"{name}: d loss / d {key}")


def test_negative_sampling_loss_at_zero_is_log2_per_term():
    d, B, K = 5, 4, 3
    loss, *_ = w2v.neg_sampling_loss_and_grads(torch.zeros(B, d), torch.randn(B, d), torch.randn(B, K, d))
    torch.testing.assert_close(loss, torch.full((B,), (1 + K) * np.log(2), dtype=torch.float32))


# --------------------------------------------------------------------------------------
# Noise distribution, alias sampling, Huffman tree, windows


def test_alias_sampler_reproduces_the_noise_distribution():
    counts = np.array([1000, 300, 100, 30, 10, 3, 1])
    probs = w2v.noise_distribution(counts, 0.75)
    np.testing.assert_allclose(probs, counts**0.75 / (counts**0.75).sum())
    sampler = w2v.AliasSampler(probs, torch.device("cpu"))
    draws = sampler.sample((200_000,), torch.Generator().manual_seed(0))
    freq = np.bincount(draws.numpy(), minlength=len(counts)) / draws.numel()
    np.testing.assert_allclose(freq, probs, atol=0.005)


def test_huffman_tree_is_a_prefix_code_with_short_codes_for_frequent_words():
    counts = np.array([50, 20, 20, 5, 3, 1, 1])
    tree = w2v.huffman_tree(counts)
    codes = ["".join(map(str, tree.codes[w, : tree.lengths[w]])) for w in range(len(counts))]
    assert len(set(codes)) == len(codes)
    assert not any(a != b and b.startswith(a) for a, b in itertools.permutations(codes, 2))
    assert tree.lengths[0] == tree.lengths.min() and tree.lengths[-1] == tree.lengths.max()
    # optimal: Σ count·length equals the sum of the merged weights 2 + 5 + 10 + 30 + 50 + 100
    assert (counts * tree.lengths).sum() == 197
    assert tree.points.max() == tree.num_inner_nodes - 1


def test_hierarchical_softmax_probabilities_sum_to_one():
    counts = np.array([40, 12, 9, 9, 4, 2, 1, 1])
    tree = w2v.huffman_tree(counts)
    g = torch.Generator().manual_seed(0)
    nodes = torch.randn(tree.num_inner_nodes, 6, generator=g, dtype=torch.float64)
    center = torch.randn(1, 6, generator=g, dtype=torch.float64)
    total = 0.0
    for word in range(len(counts)):
        L = tree.lengths[word]
        loss, *_ = w2v.hierarchical_softmax_loss_and_grads(
            center, nodes[torch.from_numpy(tree.points[word, :L]).long()].unsqueeze(0),
            torch.from_numpy(tree.codes[word, :L]).unsqueeze(0), torch.ones(1, L),
        )
        total += float(torch.exp(-loss))
    assert total == pytest.approx(1.0, abs=1e-9)


def test_skipgram_pairs_match_a_loop():
    ids = torch.tensor([5, 6, 7, 8, 9, 1, 2, 3])
    sentence_ids = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1])
    windows = torch.tensor([1, 2, 3, 1, 2, 2, 1, 3])
    centers, outsides = w2v.skipgram_pairs(ids, sentence_ids, windows, 0, 8, window=3)
    expected = [
        (int(ids[i]), int(ids[j]))
        for i in range(8)
        for j in range(8)
        if i != j and abs(i - j) <= windows[i] and sentence_ids[i] == sentence_ids[j]
    ]
    assert list(zip(centers.tolist(), outsides.tolist())) == expected
    ctr, contexts, mask = w2v.cbow_examples(ids, sentence_ids, windows, 2, 6, window=3)
    assert ctr.tolist() == [7, 8, 9, 1]
    assert sorted(contexts[0][mask[0]].tolist()) == [5, 6, 8, 9]
    assert contexts[3][mask[3]].tolist() == [2, 3]


# --------------------------------------------------------------------------------------
# Training


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("architecture", ["skipgram", "cbow"])
@pytest.mark.parametrize("loss", ["negative", "hierarchical"])
def test_every_variant_learns(corpus, backend, architecture, loss):
    model = small_model(backend=backend, architecture=architecture, loss=loss)
    model.build_vocab(corpus)
    before = planted_gap(model.center_vectors.numpy(), model.vocab.index_to_key)
    wv = model.train(corpus, progress=False)
    losses = [h["loss"] for h in model.history]
    assert losses[-1] < losses[0] < np.log(2)
    gap = planted_gap(wv.vectors, wv.index_to_key)
    assert gap > 0.5 and gap > before + 0.4


def test_naive_softmax_learns(corpus):
    model = small_model(loss="softmax", epochs=2, batch_size=256)
    wv = model.fit(corpus, progress=False)
    assert model.history[-1]["loss"] < model.history[0]["loss"] < np.log(len(model.vocab))
    assert planted_gap(wv.vectors, wv.index_to_key) > 0.5


@pytest.mark.parametrize("backend", BACKENDS)
def test_nearest_neighbours_are_the_planted_group(corpus, backend):
    wv = small_model(backend=backend, vectors="average").fit(corpus, progress=False)
    assert_neighbours_are_their_groups(wv)


def test_on_epoch_end_sees_each_finished_epoch(corpus):
    model = small_model(epochs=3)
    seen = []
    model.fit(corpus, progress=False, on_epoch_end=lambda m: seen.append((m.epochs_done, len(m.history),
                                                                          m.center_vectors.clone())))
    assert [(done, entries) for done, entries, _ in seen] == [(1, 1), (2, 2), (3, 3)]
    assert not torch.equal(seen[0][2], seen[1][2])  # called between epochs, not at the end only
    plain = small_model(epochs=3).fit(corpus, progress=False)
    np.testing.assert_array_equal(seen[-1][2].numpy(), plain.vectors)  # observing changes nothing


@pytest.mark.parametrize("backend", BACKENDS)
def test_training_is_deterministic_for_a_seed(corpus, backend):
    a = small_model(backend=backend, epochs=1).fit(corpus, progress=False)
    b = small_model(backend=backend, epochs=1).fit(corpus, progress=False)
    c = small_model(backend=backend, epochs=1, seed=4).fit(corpus, progress=False)
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert not np.array_equal(a.vectors, c.vectors)


@pytest.mark.parametrize("backend", BACKENDS)
def test_resuming_from_a_checkpoint_gives_the_same_vectors(corpus, backend, tmp_path, monkeypatch):
    straight = small_model(backend=backend)
    expected = straight.fit(corpus, progress=False)

    path = tmp_path / "w2v.pt"
    save = Word2Vec.save_checkpoint

    def save_then_die(model, where):  # killed right after the first epoch's checkpoint
        save(model, where)
        raise KeyboardInterrupt

    monkeypatch.setattr(Word2Vec, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        small_model(backend=backend).fit(corpus, checkpoint=path, progress=False)
    monkeypatch.undo()
    assert path.exists() and not list(tmp_path.glob(".*.tmp"))

    resumed = Word2Vec.load_checkpoint(path)
    assert resumed.epochs_done == 1
    got = resumed.train(corpus, checkpoint=path, progress=False)
    np.testing.assert_array_equal(got.vectors, expected.vectors)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in straight.history]
    with pytest.raises(ValueError, match="same corpus"):
        Word2Vec.load_checkpoint(path).train(corpus[:-10], progress=False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_absurd_learning_rate_stops_with_a_helpful_error(corpus, backend):
    model = small_model(backend=backend, alpha=1e4, min_alpha=0.0)
    with pytest.raises(TrainingDivergedError, match=r"learning rate alpha=10000 .*try alpha=1000"):
        model.fit(corpus, progress=False)


@pytest.mark.skipif(not w2v.numba_available(), reason="numba not installed")
def test_hogwild_workers_learn(corpus):
    model = small_model(backend="numba", workers=2)
    model.CHUNK_TOKENS = 500  # several chunks per worker on this small corpus
    wv = model.fit(corpus, progress=False)
    assert planted_gap(wv.vectors, wv.index_to_key) > 0.5


def test_settings_are_validated():
    with pytest.raises(ValueError, match="architecture"):
        Word2Vec(architecture="glove")
    with pytest.raises(ValueError, match="vectors='average'"):
        Word2Vec(loss="hierarchical", vectors="average")
    with pytest.raises(ValueError, match="torch backend"):
        Word2Vec(loss="softmax", backend="numba")


def test_word_vectors_average_center_and_outside(corpus):
    model = small_model(epochs=1, vectors="average")
    wv = model.fit(corpus, progress=False)
    expected = (model.center_vectors + model.outside_vectors).numpy() / 2
    np.testing.assert_allclose(wv.vectors, expected)
    assert wv.index_to_key == model.vocab.index_to_key


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("architecture", ["skipgram", "cbow"])
def test_training_on_cuda_matches_cpu_quality(corpus, architecture):
    cpu = small_model(backend="torch", architecture=architecture).fit(corpus, progress=False)
    model = small_model(backend="torch", architecture=architecture, device="cuda")
    gpu = model.fit(corpus, progress=False)
    assert model.center_vectors.device.type == "cuda"
    cpu_gap, gpu_gap = planted_gap(cpu.vectors, cpu.index_to_key), planted_gap(gpu.vectors, gpu.index_to_key)
    assert gpu_gap > 0.5 and abs(gpu_gap - cpu_gap) < 0.15


def test_default_torch_batch_leaves_enough_steps_on_a_small_corpus():
    # the planted corpus has 9,600 tokens: CBOW at the GPU's 4,096 centers per step took 2
    # steps an epoch and learned nothing (planted gap 0.006, measured on an H200)
    cbow, skipgram = small_model(architecture="cbow", backend="torch"), small_model(backend="torch")
    assert cbow._torch_batch_size(9600) == 9600 // w2v.MIN_STEPS_PER_EPOCH
    assert skipgram._torch_batch_size(9600) == 1024  # 9,600 x 4 pairs / 32 = 1,200 > the CPU's 1,024
    assert skipgram._torch_batch_size(10**7) == 1024
    assert small_model(backend="torch", batch_size=77)._torch_batch_size(10) == 77


@pytest.mark.parametrize("dense_counts", [False, True])
def test_scatter_rows_caps_a_row_repeated_in_the_batch(dense_counts):
    matrix = torch.zeros(4, 2)
    rows = torch.tensor([0, 1, 1, 1, 1, 3])
    w2v.scatter_rows(matrix, rows, torch.ones(6, 2), lr=0.5, max_repeats=2, dense_counts=dense_counts)
    # row 1 occurs 4 times: its summed step (4 x 0.5) is scaled by 2/4; row 2 is untouched
    expected = torch.tensor([[-0.5, -0.5], [-1.0, -1.0], [0.0, 0.0], [-0.5, -0.5]])
    torch.testing.assert_close(matrix, expected)


@pytest.mark.parametrize("dense_counts", [False, True])
def test_scatter_rows_does_not_count_padding_as_repeats(dense_counts):
    matrix = torch.zeros(3, 1)
    rows = torch.tensor([0, 0, 0, 2])  # the last two 0s are CBOW padding: weight 0, gradient 0
    grads, weights = torch.tensor([[1.0], [0.0], [0.0], [1.0]]), torch.tensor([1.0, 0.0, 0.0, 1.0])
    w2v.scatter_rows(matrix, rows, grads, lr=1.0, max_repeats=1, weights=weights, dense_counts=dense_counts)
    torch.testing.assert_close(matrix, torch.tensor([[-1.0], [0.0], [-1.0]]))  # not scaled by 1/3


def test_dense_and_sorted_repeat_counts_give_the_same_update():
    generator = torch.Generator().manual_seed(0)
    rows = torch.randint(0, 40, (500,), generator=generator)
    weights = (torch.rand(500, generator=generator) < 0.8).float()
    grads = torch.randn(500, 3, generator=generator) * weights.unsqueeze(1)
    start = torch.randn(50, 3, generator=generator)
    results = []
    for dense in (False, True):
        matrix = start.clone()
        w2v.scatter_rows(matrix, rows, grads, lr=0.1, max_repeats=5, weights=weights, dense_counts=dense)
        results.append(matrix)
    torch.testing.assert_close(results[0], results[1], rtol=0, atol=0)
    assert torch.equal(results[0][40:], start[40:])  # rows that do not occur are untouched


def test_train_word2vec_takes_sentences_or_an_encoded_corpus(corpus):
    from utils.corpus import Vocabulary
    from utils.vectors import WordVectors

    wv = w2v.train_word2vec(corpus, vector_size=8, min_count=1, epochs=1, progress=False)
    assert isinstance(wv, WordVectors) and wv.vectors.shape == (30, 8) and wv.vectors.dtype == np.float32
    encoded = Vocabulary.build(corpus).encode(corpus)
    model = Word2Vec(vector_size=8, epochs=1)
    again = model.fit(encoded, progress=False)
    assert model.vocab is encoded.vocab and again.index_to_key == encoded.vocab.index_to_key


# --------------------------------------------------------------------------------------
# Shared negatives (pWord2Vec): one set of K noise words per window, on the numba backend

needs_numba = pytest.mark.skipif(not w2v.numba_available(), reason="the shared-negatives kernel is numba code")


@needs_numba
def test_shared_negatives_window_update_is_minus_alpha_times_the_gradient():
    """One window (center 2, context 1 and 3) with one noise word: every row moves by
    -alpha times the gradient of the window's loss at its starting values."""
    rng = np.random.default_rng(0)
    V, d, alpha = 5, 4, 0.1
    center = rng.normal(size=(V, d)).astype(np.float32)
    outside = rng.normal(size=(V, d)).astype(np.float32)
    ids = np.array([1, 2, 3], dtype=np.int32)
    sentence_ids = np.zeros(3, dtype=np.int32)
    accept, alias = np.ones(1, np.float32), np.zeros(1, np.int32)  # the noise word is always word 0
    v = torch.tensor(center, dtype=torch.float64, requires_grad=True)
    u = torch.tensor(outside, dtype=torch.float64, requires_grad=True)
    inputs = v[[1, 3]]  # the context words are the inputs, as in word2vec.c's skip-gram
    loss = -(torch.nn.functional.logsigmoid(inputs @ u[2]).sum()
             + torch.nn.functional.logsigmoid(-(inputs @ u[0])).sum())
    loss.backward()
    expected_center = (v - alpha * v.grad).detach().numpy()
    expected_outside = (u - alpha * u.grad).detach().numpy()
    # Measured centers (loss_every=1) use the exact sigmoid: the update is exact.
    exact_center, exact_outside = center.copy(), outside.copy()
    total, terms = kernels._train_chunk_shared_negatives(ids, sentence_ids, 1, 2, 1, 1, exact_center, exact_outside,
                                                     accept, alias, np.float32(alpha), np.uint64(7), 1)
    assert terms == 4 and total == pytest.approx(loss.item(), rel=1e-5)
    np.testing.assert_allclose(exact_center, expected_center, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(exact_outside, expected_outside, rtol=1e-5, atol=1e-6)
    # The others take σ from word2vec.c's table (steps of 0.012 in the score): within 1e-3 of it.
    total, terms = kernels._train_chunk_shared_negatives(ids, sentence_ids, 1, 2, 1, 1, center, outside,
                                                     accept, alias, np.float32(alpha), np.uint64(7), 10)
    assert terms == 0
    np.testing.assert_allclose(center, expected_center, atol=1e-3)
    np.testing.assert_allclose(outside, expected_outside, atol=1e-3)
    assert not np.allclose(center, expected_center, atol=1e-7)  # ...and it is the table, not exp


@needs_numba
def test_cbow_batch_update_reads_v_at_the_batch_start_and_u_window_by_window():
    """Two CBOW windows in one batch (centers 2 and 3, contexts {1, 3} and {2, 1}, one noise
    word u_0 each): u moves window by window as in word2vec.c; every h_b is the mean of the
    v's at the batch's start, and each v_o gets -alpha times the summed gradients of the
    means it is in (word2vec.c's step for a mean, whole to every context word)."""
    rng = np.random.default_rng(1)
    V, d, alpha = 5, 4, 0.1
    center = rng.normal(size=(V, d)).astype(np.float32)
    outside = rng.normal(size=(V, d)).astype(np.float32)
    ids = np.array([1, 2, 3, 1], dtype=np.int32)
    sentence_ids = np.zeros(4, dtype=np.int32)
    accept, alias = np.ones(1, np.float32), np.zeros(1, np.int32)  # the noise word is always word 0
    logsigmoid = torch.nn.functional.logsigmoid
    v0 = torch.tensor(center, dtype=torch.float64)
    u = torch.tensor(outside, dtype=torch.float64)
    v_step, total = torch.zeros_like(v0), 0.0
    for context, c in (([1, 3], 2), ([2, 1], 3)):  # one word each side of positions 1 and 2
        v = v0.clone().requires_grad_(True)
        u = u.detach().requires_grad_(True)
        h = v[context].mean(0)
        loss = -logsigmoid(u[c] @ h) - logsigmoid(-(u[0] @ h))
        loss.backward()
        total += loss.item()
        v_step -= alpha * len(context) * v.grad  # d/dh = 2 d/dv_o for a mean of 2
        u = u - alpha * u.grad
    batched_center, batched_outside = center.copy(), outside.copy()
    got, terms = kernels._train_chunk_cbow_batched(2, ids, sentence_ids, 1, 3, 1, 1, batched_center, batched_outside,
                                               accept, alias, np.float32(alpha), np.uint64(7), 1)
    assert terms == 4 and got == pytest.approx(total, rel=1e-5)
    np.testing.assert_allclose(batched_center, (v0 + v_step).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batched_outside, u.detach().numpy(), rtol=1e-5, atol=1e-6)
    # One window at a time (word2vec.c), window 2's mean already sees window 1's step on v_1.
    sequential_center, sequential_outside = center.copy(), outside.copy()
    kernels._train_chunk_cbow_batched(1, ids, sentence_ids, 1, 3, 1, 1, sequential_center, sequential_outside,
                                  accept, alias, np.float32(alpha), np.uint64(7), 1)
    assert not np.allclose(sequential_center, batched_center, atol=1e-6)


@needs_numba
def test_cbow_batch_keeps_each_window_inside_its_sentence():
    """A batch of four windows across a sentence boundary (window 1, so b = 1 always):
    positions 1..4 of sentences [0 1 2 | 3 4 5] have contexts {0, 2}, {1}, {4}, {3, 5}. The
    batched kernel sums contexts and spreads gradients with prefix sums over the batch's
    positions; it must give what the windows give one by one from the batch-start v's."""
    rng = np.random.default_rng(3)
    V, d, alpha = 7, 5, 0.1
    center = rng.normal(size=(V, d)).astype(np.float32)
    outside = rng.normal(size=(V, d)).astype(np.float32)
    ids = np.array([1, 2, 3, 4, 5, 6], dtype=np.int32)
    sentence_ids = np.array([0, 0, 0, 1, 1, 1], dtype=np.int32)
    accept, alias = np.ones(1, np.float32), np.zeros(1, np.int32)  # the noise word is always word 0
    logsigmoid = torch.nn.functional.logsigmoid
    v0 = torch.tensor(center, dtype=torch.float64)
    u = torch.tensor(outside, dtype=torch.float64)
    v_step, total = torch.zeros_like(v0), 0.0
    for positions, i in (([0, 2], 1), ([1], 2), ([4], 3), ([3, 5], 4)):
        v = v0.clone().requires_grad_(True)
        u = u.detach().requires_grad_(True)
        h = v[ids[positions]].mean(0)
        loss = -logsigmoid(u[ids[i]] @ h) - logsigmoid(-(u[0] @ h))
        loss.backward()
        total += loss.item()
        v_step -= alpha * len(positions) * v.grad  # the whole gradient of the mean to each v_o
        u = u - alpha * u.grad
    got, terms = kernels._train_chunk_cbow_batched(4, ids, sentence_ids, 1, 5, 1, 1, center, outside,
                                               accept, alias, np.float32(alpha), np.uint64(7), 1)
    assert terms == 8 and got == pytest.approx(total, rel=1e-5)
    np.testing.assert_allclose(center, (v0 + v_step).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outside, u.detach().numpy(), rtol=1e-5, atol=1e-6)


@needs_numba
def test_cbow_shared_negatives_are_one_gradient_step_on_the_batch():
    """CBOW with the noise words shared by a batch: windows at centers 2 and 3 (contexts {1, 3}
    and {2, 1}) share one noise word, u_0. Every term is taken at the batch's starting values,
    so the whole batch is one step of -alpha times the gradient of the summed loss (v_o: the
    whole gradient of each mean it is in, as word2vec.c). A window whose center is the noise
    word skips that term (centers 0 and 3: three terms, not four)."""
    rng = np.random.default_rng(2)
    V, d, alpha = 5, 4, 0.1
    center = rng.normal(size=(V, d)).astype(np.float32)
    outside = rng.normal(size=(V, d)).astype(np.float32)
    sentence_ids = np.zeros(4, dtype=np.int32)
    accept, alias = np.ones(1, np.float32), np.zeros(1, np.int32)  # the noise word is always word 0
    logsigmoid = torch.nn.functional.logsigmoid
    v = torch.tensor(center, dtype=torch.float64, requires_grad=True)
    u = torch.tensor(outside, dtype=torch.float64, requires_grad=True)
    means = [(v[[1, 3]].mean(0), 2), (v[[2, 1]].mean(0), 3)]
    loss = sum(-logsigmoid(u[c] @ h) - logsigmoid(-(u[0] @ h)) for h, c in means)
    loss.backward()
    got_center, got_outside = center.copy(), outside.copy()
    got, terms = kernels._train_chunk_cbow_batched(2, np.array([1, 2, 3, 1], np.int32), sentence_ids, 1, 3, 1, 1,
                                               got_center, got_outside, accept, alias, np.float32(alpha),
                                               np.uint64(7), 1, True)
    assert terms == 4 and got == pytest.approx(loss.item(), rel=1e-5)
    np.testing.assert_allclose(got_center, (v - alpha * 2 * v.grad).detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_outside, (u - alpha * u.grad).detach().numpy(), rtol=1e-5, atol=1e-6)
    _, terms = kernels._train_chunk_cbow_batched(2, np.array([1, 0, 3, 1], np.int32), sentence_ids, 1, 3, 1, 1,
                                             center.copy(), outside.copy(), accept, alias, np.float32(alpha),
                                             np.uint64(7), 1, True)
    assert terms == 3


@needs_numba
def test_cbow_batches_learn_the_planted_groups_deterministically(corpus):
    settings = dict(backend="numba", architecture="cbow", cbow_batch=16, vectors="average")
    model = small_model(**settings)
    wv = model.fit(corpus, progress=False)
    losses = [h["loss"] for h in model.history]
    assert losses[-1] < losses[0] < np.log(2)
    assert_neighbours_are_their_groups(wv)
    np.testing.assert_array_equal(wv.vectors, small_model(**settings).fit(corpus, progress=False).vectors)
    plain = small_model(backend="numba", architecture="cbow", vectors="average").fit(corpus, progress=False)
    assert not np.array_equal(wv.vectors, plain.vectors)  # it is a different kernel


@needs_numba
def test_cbow_shared_negatives_learn_the_planted_groups_deterministically(corpus):
    settings = dict(backend="numba", architecture="cbow", cbow_batch=16, shared_negatives=True, vectors="average")
    model = small_model(**settings)
    wv = model.fit(corpus, progress=False)
    losses = [h["loss"] for h in model.history]
    assert losses[-1] < losses[0] < np.log(2)
    assert_neighbours_are_their_groups(wv)
    np.testing.assert_array_equal(wv.vectors, small_model(**settings).fit(corpus, progress=False).vectors)
    unshared = small_model(**{**settings, "shared_negatives": False}).fit(corpus, progress=False)
    assert not np.array_equal(wv.vectors, unshared.vectors)  # it is a different kernel


@needs_numba
def test_shared_negatives_learn_the_planted_groups_deterministically(corpus):
    settings = dict(backend="numba", shared_negatives=True, vectors="average")
    model = small_model(**settings)
    wv = model.fit(corpus, progress=False)
    losses = [h["loss"] for h in model.history]
    assert losses[-1] < losses[0] < np.log(2)
    assert_neighbours_are_their_groups(wv)
    again = small_model(**settings).fit(corpus, progress=False)
    np.testing.assert_array_equal(wv.vectors, again.vectors)  # one thread: the same run twice
    plain = small_model(backend="numba", vectors="average").fit(corpus, progress=False)
    assert not np.array_equal(wv.vectors, plain.vectors)  # it is a different kernel


@pytest.mark.parametrize("settings, message", [
    (dict(shared_negatives=True, loss="hierarchical"), "needs loss='negative'"),
    (dict(shared_negatives=True, backend="torch"), "numba-backend kernel"),
    (dict(cbow_batch=16), "numba-backend kernel for CBOW"),  # skip-gram
    (dict(cbow_batch=16, architecture="cbow", backend="torch"), "numba-backend kernel for CBOW"),
    (dict(cbow_batch=0, architecture="cbow"), "positive integer"),
])
def test_fast_kernels_refuse_what_they_do_not_implement(settings, message):
    with pytest.raises(ValueError, match=message):
        small_model(**settings)
