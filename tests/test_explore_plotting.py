"""The widget explorer's text fallback, and the plotting helpers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from utils.explore import analogy_text, neighbours_text, word_explorer
from utils.plotting import pca_2d, plot_embeddings, plot_matrix, plot_word_groups
from utils.vectors import WordVectors


@pytest.fixture
def toy_vectors():
    words = ["king", "queen", "man", "woman", "apple"]
    vectors = np.array([[1, 1, 0], [1, -1, 0], [0, 1, 0.1], [0, -1, 0.1], [0, 0, 1]], dtype=np.float32)
    return WordVectors(vectors, words)


def test_neighbours_and_analogy_text(toy_vectors):
    assert neighbours_text(toy_vectors, "King", topn=2).splitlines()[1].split()[0] == "man"
    assert analogy_text(toy_vectors, "man woman king").splitlines()[1].split()[0] == "queen"
    assert "three words" in analogy_text(toy_vectors, "man woman")
    assert "not in the vocabulary: pear" in analogy_text(toy_vectors, "man pear king")
    assert "kinng" in neighbours_text(toy_vectors, "kinng")  # the KeyError message, not a crash


def test_explorer_prints_without_a_kernel(toy_vectors, capsys):
    word_explorer(toy_vectors, word="king", analogy="man woman king", topn=2)
    printed = capsys.readouterr().out
    assert "nearest to 'king'" in printed and "queen" in printed


def test_pca_2d_is_centred_and_sign_stable():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(20, 5)) * np.array([5, 3, 1, 1, 1])
    projected = pca_2d(points)
    assert projected.shape == (20, 2)
    assert np.allclose(projected.mean(axis=0), 0)
    assert np.allclose(projected, pca_2d(points[:, ::1].copy()))
    assert projected[:, 0].var() > projected[:, 1].var()


def test_plots_draw_and_check_shapes(toy_vectors):
    ax = plot_word_groups(toy_vectors, {"royal": ["king", "queen"], "people": ["man", "woman"]})
    assert [t.get_text() for t in ax.texts] == ["king", "queen", "man", "woman"]
    with pytest.raises(ValueError, match="one 2-D point per word"):
        plot_embeddings(np.zeros((3, 2)), ["a", "b"])
    ax = plot_matrix(np.eye(2), ["a", "b"])
    assert len(ax.texts) == 4


def test_overlapping_labels_are_moved_apart_and_axes_can_be_equal():
    import matplotlib.pyplot as plt

    points = np.array([[0.0, 0.0], [0.001, 0.0], [0.002, 0.001], [1.0, 1.0]])
    fig, ax = plt.subplots(figsize=(4, 4))
    plot_embeddings(points, ["china", "japan", "korea", "far"], ax=ax, equal_axes=True)
    assert ax.get_aspect() == 1.0
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert not any(boxes[i].overlaps(boxes[j]) for i in range(4) for j in range(i + 1, 4))
    assert [t.xy for t in ax.texts] == [tuple(p) for p in points]   # each label still points at its word
    plt.close(fig)


def test_no_label_hides_the_dot_of_another_word():
    import matplotlib.pyplot as plt

    # china's dot just right of japan's, where japan's label starts (as in lecture 01's picture).
    points = np.array([[0.0, 0.0], [0.03, 0.005], [0.0, -0.05], [1.0, 1.0]])
    fig, ax = plt.subplots(figsize=(4, 4))
    plot_embeddings(points, ["japan", "china", "korea", "far"], ax=ax, equal_axes=True)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    dots = ax.transData.transform(points)
    radius = 2.5 * fig.dpi / 72  # the dots are 5 points across
    for i, text in enumerate(ax.texts):
        box = text.get_window_extent(renderer)
        covered = [ax.texts[j].get_text() for j, (x, y) in enumerate(dots) if j != i
                   and box.x0 - radius <= x <= box.x1 + radius and box.y0 - radius <= y <= box.y1 + radius]
        assert not covered, f"the label {text.get_text()!r} hides the dot of {covered}"
    plt.close(fig)
