"""An embedding projector inside the notebook, in the spirit of TensorFlow's Embedding Projector.

    from utils.projector import embedding_projector
    embedding_projector(glove, around="frog", analogy="man woman king")

On any `utils.vectors.WordVectors`: pick a list of words or the neighbourhood of a word,
project them to 2-D with PCA or t-SNE (scikit-learn), and look at a labelled scatter in
which the four words of an analogy a : b :: c : d are joined into their parallelogram
(a -> b and c -> d are the same offset if the analogy is a vector offset).

In JupyterLab the scatter is a live matplotlib figure (ipympl, the widget backend):
hover over a point to read its word and its cosine to the query word, scroll to zoom
around the mouse, drag with the toolbar's pan/zoom tools, and change the words, the
method or the analogy in the boxes above it. Anywhere else (nbconvert, nbval, a static
copy, slides) the same figure appears as a picture and the same facts are printed.

Why ipympl and not plotly or bokeh: it keeps the course on one plotting library
(matplotlib, as `utils.plotting`), its JupyterLab extension ships inside the PyPI wheel
(works offline), and its figure falls back to a PNG wherever no widget frontend runs.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from utils.explore import _widget_frontend_present
from utils.plotting import keep_labels_inside, pca_2d, separate_labels

__all__ = ["project", "select_words", "complete_analogy", "offset_cosine", "Projection", "draw_projection",
           "EmbeddingProjector", "embedding_projector"]

METHODS = ("pca", "tsne")


def project(points: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """Project rows of `points` (n, d) to 2-D -> (n, 2).

    "pca": the first two principal components (`utils.plotting.pca_2d`: sign-stable, so the
    picture is the same on every run). "tsne": scikit-learn's t-SNE on cosine distances,
    initialised from PCA and seeded, so it too is reproducible on one machine; its
    perplexity is lowered for small sets (it must stay below the number of points). Up to
    1,000 points it uses exact gradients: faster than Barnes-Hut at this size, and exact.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or len(points) < 3:
        raise ValueError(f"need at least 3 points as an (n, d) array to project, got shape {points.shape}")
    method = method.lower().replace("-", "")
    if method == "pca":
        return pca_2d(points)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, (len(points) - 1) / 3))
        tsne = TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca",
                    random_state=seed, max_iter=500, method="exact" if len(points) <= 1000 else "barnes_hut")
        return tsne.fit_transform(points)
    raise ValueError(f"unknown projection method {method!r}: use one of {', '.join(METHODS)}")


def _words_of(text: str | Sequence[str]) -> list[str]:
    """"a, b c" or ["a", "b"] -> ["a", "b", "c"] (lower-cased, order kept, duplicates dropped)."""
    items = re.split(r"[\s,;]+", text) if isinstance(text, str) else list(text)
    return list(dict.fromkeys(w.strip().lower() for w in items if w and w.strip()))


def select_words(word_vectors, words: str | Sequence[str] | None = None, around: str | None = None,
                 topn: int = 30) -> tuple[list[str], list[str]]:
    """The words to project: an explicit list, or `around` and its `topn` nearest neighbours.

    Returns (words in the vocabulary, words that are not). `around` wins if both are given.
    """
    if around:
        word = around.strip().lower()
        if word not in word_vectors:
            return [], [word]
        return [word] + [w for w, _ in word_vectors.most_similar(word, topn=topn)], []
    requested = _words_of(words or [])
    return [w for w in requested if w in word_vectors], [w for w in requested if w not in word_vectors]


def complete_analogy(word_vectors, query: str | Sequence[str]) -> tuple[str, str, str, str]:
    """"a b c" -> (a, b, c, d): d is the 3CosAdd answer to a : b :: c : ? (inputs excluded)."""
    words = _words_of(query)
    if len(words) != 3:
        raise ValueError(f"an analogy needs three different words 'a b c' (a is to b as c is to ?), got {query!r}")
    missing = [w for w in words if w not in word_vectors]
    if missing:
        raise KeyError(f"not in the vocabulary: {', '.join(missing)}")
    a, b, c = words
    d = word_vectors.most_similar(positive=[b, c], negative=[a], topn=1)[0][0]
    return a, b, c, d


@dataclass
class Projection:
    """What one picture shows: words (n,), their 2-D points (n, 2), the analogy if any."""

    words: list[str]
    points: np.ndarray
    method: str
    query: str | None = None
    analogy: tuple[str, str, str, str] | None = None
    cosines: np.ndarray | None = None  # cos(query, word) for each word, or None without a query
    missing: tuple[str, ...] = ()  # requested words that are not in the vocabulary
    offset_cosine: float | None = None  # cos(x_b - x_a, x_d - x_c) in the full space
    analogy_problem: str | None = None  # why a requested analogy is not drawn

    def picture_angle(self) -> float | None:
        """Degrees between the arrows a -> b and c -> d as drawn (0 = parallel, as the analogy says)."""
        if not self.analogy:
            return None
        a, b, c, d = (self.point(w) for w in self.analogy)
        u, v = b - a, d - c
        cos = float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-12))
        return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))

    def point(self, word: str) -> np.ndarray:
        return self.points[self.words.index(word)]

    def describe(self) -> str:
        """The facts the picture shows, as text (what a static copy and nbval check)."""
        head = f"{len(self.words)} words"
        if self.query:
            head += f" around {self.query!r}"
        lines = [f"{head}, projected with {'PCA' if self.method == 'pca' else 't-SNE'}"]
        shown = ", ".join(self.words[:12]) + (", ..." if len(self.words) > 12 else "")
        lines.append(f"  {shown}")
        if self.analogy:
            a, b, c, d = self.analogy
            lines.append(f"analogy: {a} : {b} :: {c} : {d}  (d by 3CosAdd: x_b - x_a + x_c)")
            lines.append(f"  offsets {a}->{b} and {c}->{d}: cosine {self.offset_cosine:.2f} in the full space, "
                         f"{self.picture_angle():.0f}° apart in the picture")
        if self.analogy_problem:
            lines.append(f"analogy not drawn: {self.analogy_problem}")
        if self.missing:
            lines.append(f"not in the vocabulary (left out): {', '.join(self.missing)}")
        return "\n".join(lines)


def build_projection(word_vectors, words=None, around: str | None = None, topn: int = 30,
                     analogy: str | None = None, method: str = "pca", seed: int = 0) -> Projection:
    """Select the words, add the analogy's four words, project them all together."""
    selected, missing = select_words(word_vectors, words, around, topn)
    if missing and around:
        raise KeyError(f"{around!r} is not in the vocabulary; try another word or give a list of words")
    quad, analogy_problem = None, None
    if analogy and analogy.strip():
        try:
            quad = complete_analogy(word_vectors, analogy)
        except (KeyError, ValueError) as error:  # draw the words anyway, and say why the analogy is not there
            analogy_problem = error.args[0]
    if quad:
        selected += [w for w in quad if w not in selected]
    if len(selected) < 3:
        raise ValueError(f"need at least 3 known words to project, got {selected}"
                         + (f" (not in the vocabulary: {', '.join(missing)})" if missing else ""))
    method = method.lower().replace("-", "")
    points = project(word_vectors[selected], method=method, seed=seed)
    query = around.strip().lower() if around else None
    cosines = None
    if query:
        cosines = np.array([word_vectors.similarity(query, w) for w in selected])
    return Projection(selected, points, method, query, quad, cosines, tuple(missing),
                      offset_cosine(word_vectors, *quad) if quad else None, analogy_problem)


def offset_cosine(word_vectors, a: str, b: str, c: str, d: str) -> float:
    """cos(x_b - x_a, x_d - x_c) in the full space: how parallel the offsets a -> b and c -> d are."""
    x_a, x_b, x_c, x_d = (np.asarray(word_vectors[w], dtype=np.float64) for w in (a, b, c, d))
    u, v = x_b - x_a, x_d - x_c
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


# Colours: query word, analogy words, everything else.
_QUERY, _ANALOGY, _OTHER = "tab:red", "tab:orange", "tab:blue"
_MAX_LABELS = 40


def draw_projection(projection: Projection, ax) -> None:
    """Draw `projection` on the matplotlib Axes `ax`: labelled points, analogy parallelogram."""
    ax.clear()
    words, points = projection.words, projection.points
    special = set(projection.analogy or ()) | ({projection.query} if projection.query else set())
    colours = [_QUERY if w == projection.query else _ANALOGY if w in special else _OTHER for w in words]
    ax.scatter(points[:, 0], points[:, 1], c=colours, s=28, zorder=3)
    # Beyond _MAX_LABELS points only the query, the analogy and the first neighbours are labelled;
    # hovering names the rest.
    labelled = [i for i, w in enumerate(words) if i < _MAX_LABELS or w in special]
    labels = [ax.annotate(words[i], points[i], xytext=(4, 3), textcoords="offset points", zorder=4,
                          fontsize=10 if words[i] in special else 8,
                          fontweight="bold" if words[i] in special else "normal")
              for i in labelled]
    if projection.analogy:
        a, b, c, d = (projection.point(w) for w in projection.analogy)
        # The two offsets the analogy says are equal (a -> b, c -> d) as arrows; the sides a-c, b-d dashed.
        for start, end in ((a, b), (c, d)):
            ax.annotate("", end, start, arrowprops=dict(arrowstyle="->", color=_ANALOGY, lw=1.8), zorder=2)
        for start, end in ((a, c), (b, d)):
            ax.plot(*np.stack([start, end]).T, ls="--", color=_ANALOGY, lw=1, zorder=2)
    method = "PCA" if projection.method == "pca" else "t-SNE"
    title = f"{len(words)} words" + (f" around '{projection.query}'" if projection.query else "")
    if projection.analogy:
        title += "  ·  {} : {} :: {} : {}".format(*projection.analogy)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(f"{method} 1")
    ax.set_ylabel(f"{method} 2")
    if projection.method == "pca":
        ax.set_aspect("equal", adjustable="datalim")  # equal axes: angles and offsets read true
    ax.grid(color="0.92", zorder=0)
    keep_labels_inside(ax, labels)
    separate_labels(ax, labels)  # last: it measures the labels in the final limits


class EmbeddingProjector:
    """The live projector: controls, an ipympl figure, hover read-out, scroll zoom.

    `EmbeddingProjector(word_vectors, ...).show()` displays it; `embedding_projector(...)`
    does both. The state after each change is in `.projection` (a `Projection`).
    """

    def __init__(self, word_vectors, words=None, around: str | None = "frog", topn: int = 30,
                 analogy: str | None = "man woman king", method: str = "pca", seed: int = 0,
                 figsize=(7.5, 6)):
        self.word_vectors, self.seed, self.figsize = word_vectors, seed, figsize
        self.settings = dict(words=words, around=around, topn=topn, analogy=analogy, method=method)
        self.projection = build_projection(word_vectors, seed=seed, **self.settings)
        self.figure = self.canvas = self.status = self._hover_label = None
        # ipykernel 7 may run two widgets' messages in two threads at once, so a re-projection
        # could clear the axes while the canvas renders its next frame (a blank or stale
        # picture in the browser). Changing the figure and rendering it take this lock.
        self._figure_lock = threading.RLock()

    # --- geometry shared by the hover read-out and the browser test -------------------------
    def pixel_of(self, word: str) -> tuple[float, float]:
        """Where `word`'s point is on the canvas, in CSS pixels from the top-left corner."""
        ax = self.figure.axes[0]
        x, y = ax.transData.transform(self.projection.point(word))
        ratio = getattr(self.figure.canvas, "device_pixel_ratio", 1.0) or 1.0
        height = self.figure.bbox.height
        return float(x / ratio), float((height - y) / ratio)

    def nearest_point(self, x_pixels: float, y_pixels: float, radius: float = 8.0) -> str | None:
        """The word whose point is within `radius` display pixels of (x, y) (matplotlib's origin), or None."""
        ax = self.figure.axes[0]
        screen = ax.transData.transform(self.projection.points)
        distance = np.hypot(screen[:, 0] - x_pixels, screen[:, 1] - y_pixels)
        best = int(distance.argmin())
        return self.projection.words[best] if distance[best] <= radius else None

    def hover_text(self, word: str | None) -> str:
        if word is None:
            return ""
        text = f"hover: {word}"
        p = self.projection
        if p.cosines is not None:
            text += f"  (cos with {p.query!r} = {p.cosines[p.words.index(word)]:.3f})"
        return text

    def zoom(self, x_data: float, y_data: float, factor: float) -> None:
        """Scale the view by `factor` (< 1 zooms in) around the data point (x, y)."""
        ax = self.figure.axes[0]
        for get, set_, centre in ((ax.get_xlim, ax.set_xlim, x_data), (ax.get_ylim, ax.set_ylim, y_data)):
            low, high = get()
            set_(centre - (centre - low) * factor, centre + (high - centre) * factor)

    # --- the widgets ------------------------------------------------------------------------
    def _status_html(self, extra: str = "") -> str:
        import html

        return f"<pre>{html.escape(self.projection.describe() + (chr(10) + extra if extra else ''))}</pre>"

    def _redraw(self, **changes) -> None:
        settings = {**self.settings, **changes}
        try:
            projection = build_projection(self.word_vectors, seed=self.seed, **settings)
        except (KeyError, ValueError) as error:
            self.status.value = f"<pre>{error.args[0]}</pre>"
            return
        with self._figure_lock:
            self.settings, self.projection = settings, projection
            draw_projection(projection, self.figure.axes[0])
            toolbar = getattr(self.figure.canvas, "toolbar", None)
            if toolbar is not None:
                toolbar.update()  # the toolbar's "home" is the new picture, not the old one
            _send_full_frame(self.figure.canvas)
            self.figure.canvas.draw_idle()
        self.status.value = self._status_html()
        self._hover_label.value = "<pre> </pre>"  # an old hover or zoom read-out no longer applies

    def show(self) -> None:
        """Print the facts, then display the controls and the figure (a PNG where no widgets run)."""
        print(self.projection.describe())
        if not _widget_frontend_present():
            return
        import ipywidgets as widgets
        from IPython.display import display
        from matplotlib.figure import Figure

        Canvas, FigureManager = _ipympl_canvas()
        self.figure = Figure(figsize=self.figsize, layout="constrained")
        self.figure.add_subplot()
        # The canvas first: placing the labels measures them with the canvas's renderer.
        if Canvas is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            FigureCanvasAgg(self.figure)
        else:
            canvas = _locked(Canvas)(self.figure, render_lock=self._figure_lock)
            FigureManager(canvas, 0)
        draw_projection(self.projection, self.figure.axes[0])
        s = self.settings
        mode = widgets.ToggleButtons(options=["neighbours of", "these words"],
                                     value="these words" if s["words"] and not s["around"] else "neighbours of")
        text = widgets.Text(value=s["around"] or " ".join(_words_of(s["words"] or [])),
                            description="words", continuous_update=False)
        topn = widgets.IntSlider(value=s["topn"], min=5, max=150, step=5, description="neighbours",
                                 continuous_update=False)
        method = widgets.Dropdown(options=[("PCA", "pca"), ("t-SNE", "tsne")], value=s["method"], description="method")
        analogy = widgets.Text(value=s["analogy"] or "", description="a b c", placeholder="man woman king",
                               continuous_update=False)
        # The facts are printed above; the status line repeats them only once something changes.
        self.status = widgets.HTML("<pre>type a word (or a list of words), hover a point, scroll to zoom</pre>")
        self._hover_label = widgets.HTML("<pre> </pre>")

        def on_words(_change=None):
            if mode.value == "neighbours of":
                self._redraw(around=text.value.split()[0] if text.value.split() else "", words=None,
                             topn=topn.value)
            else:
                self._redraw(around=None, words=text.value)

        for control in (mode, text, topn):
            control.observe(on_words, names="value")
        method.observe(lambda change: self._redraw(method=change["new"]), names="value")
        analogy.observe(lambda change: self._redraw(analogy=change["new"]), names="value")
        controls = widgets.VBox([widgets.HBox([mode, text]), widgets.HBox([topn, method, analogy]),
                                 self.status, self._hover_label])
        display(controls)
        if Canvas is None:
            display(self.figure)
            return
        canvas.header_visible = False
        canvas.toolbar_position = "right"
        canvas.capture_scroll = True  # the wheel zooms the figure instead of scrolling the notebook
        self.canvas = canvas

        def on_move(event):
            word = self.nearest_point(event.x, event.y) if event.inaxes else None
            label = f"<pre>{self.hover_text(word) or ' '}</pre>"
            if self._hover_label.value != label:
                self._hover_label.value = label

        def on_scroll(event):
            if event.inaxes:
                with self._figure_lock:
                    self.zoom(event.xdata, event.ydata, 0.8 if event.button == "up" else 1.25)
                    _send_full_frame(canvas)
                    canvas.draw_idle()
                    (x0, x1), (y0, y1) = self.figure.axes[0].get_xlim(), self.figure.axes[0].get_ylim()
                self._hover_label.value = f"<pre>view: x {x0:.2f} to {x1:.2f}, y {y0:.2f} to {y1:.2f}</pre>"

        canvas.mpl_connect("motion_notify_event", on_move)
        canvas.mpl_connect("scroll_event", on_scroll)
        # Display the canvas on its own with a PNG beside the widget view: JupyterLab shows the
        # live figure, static renderers the picture (and no volatile HTML for nbval to compare).
        bundle = canvas._repr_mimebundle_()
        display({"application/vnd.jupyter.widget-view+json": bundle["application/vnd.jupyter.widget-view+json"],
                 "image/png": bundle["image/png"], "text/plain": "<embedding projector figure>"}, raw=True)


def _send_full_frame(canvas) -> None:
    """Make a live (ipympl) canvas send its next picture whole, not as a diff.

    A diff image only paints the pixels that changed over whatever the browser still shows; if
    the browser cleared the canvas meanwhile (a re-render or a resize), the new picture would
    arrive nearly empty. A re-projection or a zoom changes the whole picture anyway.
    """
    if hasattr(canvas, "_force_full"):  # matplotlib's web canvas (ipympl); others draw whole
        canvas._force_full = True


@functools.cache
def _locked(canvas_class: type) -> type:
    """`canvas_class` (ipympl's Canvas) rendering each frame under a lock given at construction:
    `_locked(Canvas)(figure, render_lock=lock)`. The frame is rendered and sent inside
    `draw()`, so whoever holds the lock sees no half-drawn figure go out."""

    class LockedCanvas(canvas_class):
        def __init__(self, figure, *args, render_lock, **kwargs):
            self._render_lock = render_lock
            super().__init__(figure, *args, **kwargs)

        def draw(self):
            with self._render_lock:
                super().draw()

    return LockedCanvas


def _ipympl_canvas():
    """ipympl's Canvas and FigureManager, or (None, None) where ipympl is not installed.

    Importing ipympl makes it pyplot's backend, so every later `plt.show()` in the notebook
    would become a live widget figure too; the projector needs only its canvas class, so the
    notebook's own backend (inline in Jupyter) is put back at once.
    """
    import matplotlib

    backend = dict.__getitem__(matplotlib.rcParams, "backend")  # read without resolving it
    if backend is matplotlib.rcsetup._auto_backend_sentinel:
        backend = None  # not chosen yet: nothing to restore
    try:
        from ipympl.backend_nbagg import Canvas, FigureManager
    except ImportError:  # no widget backend: a static picture is still right
        return None, None
    if backend is not None and matplotlib.get_backend() != backend:
        import matplotlib.pyplot as plt

        plt.switch_backend(backend)
    return Canvas, FigureManager


def embedding_projector(word_vectors, words=None, around: str | None = "frog", topn: int = 30,
                        analogy: str | None = "man woman king", method: str = "pca", seed: int = 0):
    """Display a live projector of `word_vectors` (see the module docstring). Returns nothing:
    a returned widget would be displayed twice by some front ends; build an
    `EmbeddingProjector` yourself to keep a handle on it."""
    EmbeddingProjector(word_vectors, words=words, around=around, topn=topn, analogy=analogy,
                       method=method, seed=seed).show()
