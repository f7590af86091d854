"""The triton backend (utils.word2vec.fused): its kernels are sequential SGD when one program
runs at a time, and the model trains, checkpoints and refuses through them.

Without CUDA the kernels run in Triton's interpreter (about 10 ms per pair), so the CPU tests use
corpora of a few hundred tokens, and Triton's compiler checks the GPU code without a GPU; the
learning test on the planted corpus runs on CUDA only.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from utils.word2vec import Word2Vec

fused = pytest.importorskip("utils.word2vec.fused")  # sets up the interpreter before triton loads
if not fused.triton_available():
    pytest.skip("triton is not installed", allow_module_level=True)

from test_word2vec import planted_corpus, planted_gap, small_model  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
pytestmark = pytest.mark.filterwarnings("ignore:backend='triton' on the CPU runs Triton's interpreter")


def sequential_sgd(architecture, ids, sentence_ids, windows, noise, center, outside, start, stop, alpha, window,
                   negative):
    """word2vec's SGD written plainly: centers in order, contexts left to right; each example's
    K + 1 terms are scored from the rows before it, and a noise draw of the true word is skipped."""
    center, outside = center.copy(), outside.copy()
    loss, terms = 0.0, 0

    def example(x, true_word, noise_words):  # returns Σ_t g_t u_t and updates the u_t
        nonlocal loss, terms
        targets = [true_word] + [t for t in noise_words if t != true_word]
        labels = np.array([1.0] + [0.0] * (len(targets) - 1))
        u = outside[targets].copy()
        scores = u @ x
        g = alpha * (labels - 1 / (1 + np.exp(-scores)))
        np.add.at(outside, targets, g[:, None] * x[None, :])
        loss += np.logaddexp(0, -np.where(labels == 1, scores, -scores)).sum()
        terms += len(targets)
        return g @ u

    for i in range(start, stop):
        contexts = [j for j in range(max(0, i - windows[i]), min(len(ids), i + windows[i] + 1))
                    if j != i and sentence_ids[j] == sentence_ids[i]]
        if architecture == "skipgram":
            for j in contexts:
                slot = j - i + window - (j > i)  # the 2*window context slots, left to right
                words = noise[i - start, slot * negative:(slot + 1) * negative]
                center[ids[i]] += example(center[ids[i]].copy(), ids[j], words)
        elif contexts:
            grad = example(center[ids[contexts]].mean(0), ids[i], noise[i - start])
            for j in contexts:
                center[ids[j]] += grad
    return center, outside, loss, terms


@pytest.mark.parametrize("architecture", ["skipgram", "cbow"])
def test_a_kernel_is_word2vec_sgd_one_example_at_a_time(architecture):
    rng = np.random.default_rng(0)
    n, vocab_size, d, window, negative = 60, 12, 10, 3, 4
    ids = rng.integers(0, vocab_size, n).astype(np.int32)
    sentence_ids = np.repeat(np.arange(6), 10).astype(np.int32)
    windows = rng.integers(1, window + 1, n).astype(np.int32)
    center = rng.normal(0, 0.5, (vocab_size, d)).astype(np.float32)
    outside = rng.normal(0, 0.5, (vocab_size, d)).astype(np.float32)
    start, stop = 5, 50  # a group inside the epoch: contexts reach outside it
    noise = rng.integers(0, vocab_size, (stop - start, fused.noise_per_center(architecture, window, negative)))
    noise[:, 0] = ids[start:stop]  # some draws are the true word (CBOW) or a context word (skip-gram)
    expected = sequential_sgd(architecture, ids, sentence_ids, windows, noise, center, outside, start, stop, 0.1,
                              window, negative)

    on = dict(device=DEVICE)
    got_center, got_outside = torch.tensor(center, **on), torch.tensor(outside, **on)
    # the interpreter runs programs one after another, so several are still sequential there;
    # on a GPU one program walks all the centers in order
    per_program = 3 if DEVICE == "cpu" else stop - start
    loss, terms = fused.train_group(
        architecture, torch.tensor(ids, **on), torch.tensor(sentence_ids, **on), torch.tensor(windows, **on),
        torch.tensor(noise, **on), got_center, got_outside, start, stop, 0.1, window, negative,
        centers_per_program=per_program)
    np.testing.assert_allclose(got_center.cpu().numpy(), expected[0], atol=2e-6)
    np.testing.assert_allclose(got_outside.cpu().numpy(), expected[1], atol=2e-6)
    assert float(loss) == pytest.approx(expected[2], rel=1e-5)
    assert int(terms) == expected[3] > 0


def test_noise_of_the_wrong_shape_is_refused():
    vectors = torch.zeros(4, 2)
    ids = torch.zeros(10, dtype=torch.int32)
    with pytest.raises(ValueError, match=r"noise must be \(10, 20\)"):
        fused.train_group("skipgram", ids, ids, ids + 1, torch.zeros(10, 5, dtype=torch.long), vectors, vectors,
                          0, 10, 0.1, window=2, negative=5)


def test_the_model_trains_and_resumes_through_the_kernels(tmp_path, monkeypatch):
    corpus = planted_corpus(n_sentences=16)  # 128 tokens: the interpreter is slow
    settings = dict(backend="triton", device=DEVICE, architecture="cbow", alpha=0.05, epochs=2)
    straight = small_model(**settings)
    expected = straight.fit(corpus, progress=False)
    assert straight.backend == "triton" and straight.center_vectors.device.type == DEVICE
    losses = [h["loss"] for h in straight.history]
    assert losses[1] < losses[0] < np.log(2)

    path = tmp_path / "w2v.pt"
    save = Word2Vec.save_checkpoint

    def save_then_die(model, where):
        save(model, where)
        raise KeyboardInterrupt

    monkeypatch.setattr(Word2Vec, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        small_model(**settings).fit(corpus, checkpoint=path, progress=False)
    monkeypatch.undo()
    resumed = Word2Vec.load_checkpoint(path)
    got = resumed.train(corpus, progress=False)
    if DEVICE == "cpu":  # sequential: bit for bit; on a GPU the atomics' order varies
        np.testing.assert_array_equal(got.vectors, expected.vectors)
    assert [h["loss"] for h in resumed.history][0] == losses[0]


@pytest.mark.parametrize("settings, message", [
    (dict(loss="hierarchical"), "negative sampling only"),
    (dict(batch_size=1024), "leave batch_size=None"),
    (dict(shared_negatives=True), "numba-backend kernel"),
])
def test_the_triton_backend_refuses_what_it_does_not_implement(settings, message):
    with pytest.raises(ValueError, match=message):
        small_model(backend="triton", **settings)


@pytest.mark.skipif(DEVICE != "cpu", reason="with CUDA, triton is compiled, not interpreted")
def test_the_interpreter_on_the_cpu_warns_that_it_is_for_tests():
    with pytest.warns(UserWarning, match="for tests. Train on the CPU with backend='numba'"):
        fused.require_triton(torch.device("cpu"))


def test_a_missing_triton_gets_a_clear_error(monkeypatch):
    monkeypatch.setattr(fused, "triton", None)
    with pytest.raises(ValueError, match="needs the triton package"):
        small_model(backend="triton").fit(planted_corpus(n_sentences=2), progress=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("architecture", ["skipgram", "cbow"])
def test_on_cuda_the_kernels_learn_the_planted_groups(architecture):
    corpus = planted_corpus()
    numba = small_model(architecture=architecture).fit(corpus, progress=False)
    model = small_model(backend="triton", device="cuda", architecture=architecture)
    model.build_vocab(corpus)
    before = planted_gap(model.center_vectors.cpu().numpy(), model.vocab.index_to_key)
    gpu = model.train(corpus, progress=False)
    gap, reference = planted_gap(gpu.vectors, gpu.index_to_key), planted_gap(numba.vectors, numba.index_to_key)
    assert gap > 0.5 and gap > before + 0.4 and abs(gap - reference) < 0.15


COMPILE_FOR_H100 = """
import os, sys
os.environ["TRITON_INTERPRET"] = "0"  # compile, do not interpret
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from utils.word2vec import fused
signature = dict(ids="*i64", sentence_ids="*i32", windows="*i64", noise="*i64", center="*fp32", outside="*fp32",
                 loss_out="*fp32", terms_out="*i32", n_tokens="i32", start="i32", stop="i32", alpha="fp32")
constants = dict(WINDOW=5, K=5, D=100, BLOCK_T=8, BLOCK_D=128, CENTERS=fused.CENTERS_PER_PROGRAM)
for kernel in (fused._skipgram_kernel, fused._cbow_kernel):
    source = ASTSource(fn=kernel, signature={**signature, **dict.fromkeys(constants, "constexpr")}, constexprs=constants)
    compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32), options={"num_warps": 1})
    assert "red.global" in compiled.asm["ptx"]  # the Hogwild updates are atomic adds
print("compiled")
"""


def test_the_kernels_compile_for_a_gpu_without_one():
    # the interpreter runs the kernels' Python; only Triton's compiler checks what a GPU will
    # run (constexpr rules, types carried through loops): compile both to sm_90 machine code
    env = {**os.environ, "TRITON_DEFAULT_FP_FUSION": "1"}
    result = subprocess.run([sys.executable, "-c", COMPILE_FOR_H100], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0 and "compiled" in result.stdout, result.stderr[-3000:]
