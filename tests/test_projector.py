"""The embedding projector's selection, projections, analogy and picture (the live widget is
checked in a real browser by tests/test_browser.py)."""

from __future__ import annotations

import importlib.util

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from utils.projector import (EmbeddingProjector, build_projection, complete_analogy, draw_projection,
                             embedding_projector, offset_cosine, project, select_words)
from utils.vectors import WordVectors


def _skip_without_ipympl() -> None:
    """Skip where ipympl is missing, without importing it: its import makes it pyplot's backend,
    which would turn every later test's figure into a widget figure."""
    if importlib.util.find_spec("ipympl") is None:
        pytest.skip("ipympl is not installed")


@pytest.fixture
def toy_vectors():
    rng = np.random.default_rng(0)
    words = ["king", "queen", "man", "woman", "prince", "princess", "apple", "pear", "plum", "fig"]
    royal, female = np.eye(8)[0], np.eye(8)[1]
    base = rng.normal(scale=0.1, size=(len(words), 8))
    base[:6] += royal * np.array([1, 1, 0, 0, 1, 1])[:, None] * 2
    base[:6] += female * np.array([0, 1, 0, 1, 0, 1])[:, None] * 2
    base[6:] += np.eye(8)[2] * 2
    return WordVectors(base.astype(np.float32), words)


def test_select_words_by_list_and_by_neighbourhood(toy_vectors):
    assert select_words(toy_vectors, "King, queen  zebra") == (["king", "queen"], ["zebra"])
    around, missing = select_words(toy_vectors, around="Apple", topn=3)
    assert around[0] == "apple" and set(around[1:]) == {"pear", "plum", "fig"} and missing == []
    assert select_words(toy_vectors, around="zebra") == ([], ["zebra"])


def test_complete_analogy_is_3cosadd(toy_vectors):
    assert complete_analogy(toy_vectors, "man woman king") == ("man", "woman", "king", "queen")
    with pytest.raises(ValueError, match="three different words"):
        complete_analogy(toy_vectors, "man woman")
    with pytest.raises(KeyError, match="zebra"):
        complete_analogy(toy_vectors, "man zebra king")


@pytest.mark.parametrize("method", ["pca", "tsne", "t-SNE"])
def test_project_shapes_and_is_reproducible(toy_vectors, method):
    points = project(toy_vectors.vectors, method=method, seed=1)
    assert points.shape == (len(toy_vectors), 2) and np.isfinite(points).all()
    assert np.allclose(points, project(toy_vectors.vectors, method=method, seed=1))


def test_project_rejects_bad_input(toy_vectors):
    with pytest.raises(ValueError, match="unknown projection method 'umap'"):
        project(toy_vectors.vectors, method="umap")
    with pytest.raises(ValueError, match="at least 3 points"):
        project(toy_vectors.vectors[:2])


def test_pca_separates_the_groups(toy_vectors):
    projection = build_projection(toy_vectors, words=toy_vectors.index_to_key, analogy=None)
    fruit = projection.points[6:].mean(axis=0)
    royal = projection.points[:6].mean(axis=0)
    spread = projection.points.std()
    assert np.linalg.norm(fruit - royal) > spread


def test_build_projection_adds_the_analogy_and_cosines(toy_vectors):
    projection = build_projection(toy_vectors, around="apple", topn=2, analogy="man woman king")
    assert projection.words[:3] == ["apple"] + [w for w, _ in toy_vectors.most_similar("apple", topn=2)]
    assert set(projection.analogy) <= set(projection.words) and projection.analogy[3] == "queen"
    assert projection.cosines[0] == pytest.approx(1.0, abs=1e-5)
    text = projection.describe()
    assert "around 'apple'" in text and "man : woman :: king : queen" in text
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        build_projection(toy_vectors, around="zebra")
    with pytest.raises(ValueError, match="at least 3 known words"):
        build_projection(toy_vectors, words="king zebra", analogy=None)
    assert "left out): zebra" in build_projection(toy_vectors, words="king queen man zebra", analogy="").describe()
    no_analogy = build_projection(toy_vectors, words="king queen man", analogy="man zebra king")
    assert no_analogy.analogy is None and "analogy not drawn: not in the vocabulary: zebra" in no_analogy.describe()
    assert "three different words" in build_projection(toy_vectors, words="king queen man", analogy="man").describe()


def test_draw_projection_labels_points_and_draws_the_parallelogram(toy_vectors):
    projection = build_projection(toy_vectors, words="apple pear plum", analogy="man woman king")
    fig, ax = plt.subplots()
    draw_projection(projection, ax)
    labels = [t.get_text() for t in ax.texts if t.get_text()]
    assert labels == projection.words
    arrows = [t for t in ax.texts if not t.get_text()]
    assert len(arrows) == 2 and len(ax.lines) == 2  # a->b, c->d arrows; a-c, b-d dashed sides
    assert "man : woman :: king : queen" in ax.get_title() and ax.get_xlabel() == "PCA 1"
    plt.close(fig)


def test_the_projectors_labels_do_not_overlap(toy_vectors):
    # Two words at almost one point (as aunt and uncle in lecture 04's GloVe picture).
    words = toy_vectors.index_to_key + ["aunt", "uncle"]
    vectors = np.vstack([toy_vectors.vectors, toy_vectors["queen"] + 0.01, toy_vectors["queen"] + 0.012])
    projection = build_projection(WordVectors(vectors, words), words=" ".join(words), analogy="man woman king")
    fig, ax = plt.subplots(figsize=(5, 4))
    draw_projection(projection, ax)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text()]
    overlapping = [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]
    assert not overlapping, [(projection.words[i], projection.words[j]) for i, j in overlapping]
    plt.close(fig)


def test_every_label_stays_inside_the_axes(toy_vectors):
    # The right-most word of lecture 04's picture ('man') ran off the frame: labels sit right of
    # their points, and the default margin had no room for the text.
    words = toy_vectors.index_to_key + ["a_rather_long_word_far_out"]
    far = toy_vectors["apple"] * 3
    projection = build_projection(WordVectors(np.vstack([toy_vectors.vectors, far]), words),
                                  words=" ".join(words), analogy="man woman king")
    for figsize in ((5, 4), (7.5, 6)):
        fig, ax = plt.subplots(figsize=figsize)
        draw_projection(projection, ax)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        frame = ax.get_window_extent(renderer)
        outside = [t.get_text() for t in ax.texts if t.get_text() and not (
            frame.x0 <= t.get_window_extent(renderer).x0 and t.get_window_extent(renderer).x1 <= frame.x1
            and frame.y0 <= t.get_window_extent(renderer).y0 and t.get_window_extent(renderer).y1 <= frame.y1)]
        assert not outside, f"labels run off the axes at figsize {figsize}: {outside}"
        plt.close(fig)


def test_the_same_projection_draws_the_same_picture_whatever_came_before(toy_vectors):
    # In the browser, PCA around 'woman' drawn again after a t-SNE picture differed from the first
    # drawing: the layout started from the last picture's, and equal axes took a limit from the
    # axes' box, so a limit changed in its last bits and the parallelogram's dashes moved.
    pca = build_projection(toy_vectors, around="woman", topn=6, analogy="man woman king")
    tsne = build_projection(toy_vectors, around="apple", topn=6, analogy="man woman king", method="tsne")
    fig = plt.figure(figsize=(7.5, 6), layout="constrained")
    ax = fig.add_subplot()
    drawings = []
    for projection in (pca, tsne, pca, pca):  # the first in a fresh figure, then after others
        draw_projection(projection, ax)
        fig.canvas.draw()
        drawings.append((ax.get_xlim(), ax.get_ylim(), np.asarray(fig.canvas.buffer_rgba()).copy()))
    first = drawings[0]
    for again in drawings[2:]:
        assert again[:2] == first[:2]  # the limits, exactly
        assert np.array_equal(again[2], first[2])
    plt.close(fig)


def test_hover_and_zoom_geometry(toy_vectors):
    projector = EmbeddingProjector(toy_vectors, around="king", topn=4, analogy=None)
    fig, ax = plt.subplots()
    draw_projection(projector.projection, ax)
    fig.canvas.draw()
    projector.figure = fig
    for word in projector.projection.words:
        x, y = ax.transData.transform(projector.projection.point(word))
        assert projector.nearest_point(x, y) == word
        css_x, css_y = projector.pixel_of(word)
        assert css_x == pytest.approx(x) and css_y == pytest.approx(fig.bbox.height - y)
    assert projector.nearest_point(-100, -100) is None
    assert projector.hover_text("king").startswith("hover: king  (cos with 'king' = 1.000)")
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    projector.zoom((x0 + x1) / 2, (y0 + y1) / 2, 0.5)
    assert ax.get_xlim()[1] - ax.get_xlim()[0] == pytest.approx((x1 - x0) / 2)
    plt.close(fig)


def test_projector_prints_without_a_kernel(toy_vectors, capsys):
    embedding_projector(toy_vectors, around="queen", topn=3, analogy="man woman king")
    printed = capsys.readouterr().out
    assert "around 'queen', projected with PCA" in printed and "man : woman :: king : queen" in printed


def test_analogy_offsets_are_compared_in_the_space_and_in_the_picture(toy_vectors):
    projection = build_projection(toy_vectors, words="king queen man woman prince princess",
                                  analogy="man woman king")
    x = {w: toy_vectors[w].astype(np.float64) for w in ("man", "woman", "king", "queen")}
    u, v = x["woman"] - x["man"], x["queen"] - x["king"]
    assert projection.offset_cosine == pytest.approx(u @ v / np.linalg.norm(u) / np.linalg.norm(v))
    assert offset_cosine(toy_vectors, "man", "woman", "king", "queen") == projection.offset_cosine
    assert 0 <= projection.picture_angle() < 30  # the toy's female offset is its second direction
    assert "° apart in the picture" in projection.describe()
    assert build_projection(toy_vectors, words="king queen man", analogy=None).picture_angle() is None


def test_the_projector_leaves_the_notebooks_plots_inline():
    """Importing ipympl makes it pyplot's backend; the projector puts the notebook's back, so the
    plots of later cells stay ordinary pictures instead of turning into live widget figures."""
    _skip_without_ipympl()
    import matplotlib
    import matplotlib.pyplot as plt

    from utils.projector import _ipympl_canvas

    before = matplotlib.get_backend()
    plt.switch_backend("agg")
    try:
        Canvas, FigureManager = _ipympl_canvas()
        assert Canvas is not None and FigureManager is not None
        assert matplotlib.get_backend() == "agg"
    finally:
        plt.switch_backend(before)


def test_a_reprojection_is_sent_to_the_browser_whole():
    """ipympl sends diff images; after a re-projection the next one must be a full frame, so a
    canvas the browser cleared meanwhile shows the whole new picture, not only changed pixels."""
    from matplotlib.backends.backend_webagg_core import FigureCanvasWebAggCore
    from matplotlib.figure import Figure

    from utils.projector import _send_full_frame

    canvas = FigureCanvasWebAggCore(Figure())
    canvas._force_full = False
    _send_full_frame(canvas)
    assert canvas._force_full is True
    _send_full_frame(object())  # a canvas without diff images: nothing to do, no error


@pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")  # ipympl's toolbar
def test_the_live_figure_is_never_rendered_half_changed(toy_vectors, monkeypatch):
    """ipykernel 7 may handle two widgets' messages in two threads: a typed word re-projects
    while the canvas renders a frame. The browser then showed a blank or a stale picture.
    Changing the figure and rendering it now wait for each other."""
    _skip_without_ipympl()
    import threading

    import IPython.display

    import utils.projector as projector_module

    monkeypatch.setattr(projector_module, "_widget_frontend_present", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda *args, **kwargs: None)
    projector = EmbeddingProjector(toy_vectors, around="king", topn=4, analogy=None)
    projector.show()
    rendered, reprojected = threading.Event(), threading.Event()
    with projector._figure_lock:  # as a re-projection in progress holds it
        threading.Thread(target=lambda: (projector.canvas.draw(), rendered.set())).start()
        threading.Thread(target=lambda: (projector._redraw(around="queen"), reprojected.set())).start()
        assert not rendered.wait(0.5), "the canvas rendered a frame while the figure was being changed"
        assert not reprojected.is_set() and projector.projection.query == "king"
    assert rendered.wait(30) and reprojected.wait(30)
    assert projector.projection.query == "queen"
    plt.close(projector.figure)
