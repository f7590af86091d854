"""Pictures of word vectors: 2-D projections, labelled scatter plots, heat maps (matplotlib)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def pca_2d(points: np.ndarray) -> np.ndarray:
    """Project rows of `points` (n, d) onto their first two principal components -> (n, 2).

    Centred SVD; each component's sign is fixed so its largest-magnitude loading is
    positive, which makes the picture the same on every run and machine.
    """
    points = np.asarray(points, dtype=np.float64)
    centred = points - points.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    components = components[:2]
    signs = np.sign(components[np.arange(2), np.abs(components).argmax(axis=1)])
    return centred @ (components * signs[:, None]).T


def plot_embeddings(points_2d: np.ndarray, words: Sequence[str], ax=None, title: str | None = None,
                    colors: Sequence[str] | None = None, equal_axes: bool = False):
    """Scatter (n, 2) points and label each with its word (labels moved apart where they would
    overlap). `equal_axes=True` gives both axes the same scale, as a picture of angles or
    directions needs. Returns the matplotlib Axes."""
    points_2d = np.asarray(points_2d)
    if points_2d.shape != (len(words), 2):
        raise ValueError(f"need one 2-D point per word: got {points_2d.shape} points for {len(words)} words")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    ax.scatter(points_2d[:, 0], points_2d[:, 1], c=colors if colors is not None else "tab:blue", s=25)
    labels = [ax.annotate(word, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=9)
              for (x, y), word in zip(points_2d, words)]
    if title:
        ax.set_title(title)
    ax.axhline(0, color="0.85", lw=0.8, zorder=0)
    ax.axvline(0, color="0.85", lw=0.8, zorder=0)
    if equal_axes:
        ax.set_aspect("equal", adjustable="datalim")
    separate_labels(ax, labels)
    return ax


def keep_labels_inside(ax, labels, pad: float = 4.0, max_rounds: int = 100) -> None:
    """Widen the axes' view until every text label lies inside the axes, `pad` points clear of the
    frame (a label sits right of its point, so the right-most word would run off the picture).

    The data limits become what the artists drew plus every label's box, and the view is
    autoscaled to them (so equal axes stay equal: fixed limits would be overridden there).
    A wider view shrinks the scale, so a label covers more data units: this repeats until the
    view stops changing. The result depends only on what is drawn, not on what the axes showed
    before, so the same projection always gives the same picture.
    """
    if not labels:
        return
    figure = ax.figure
    # A layout engine places the axes starting from where they are, and the limits and the layout
    # settle together: start from the place a fresh figure starts from, not the last picture's.
    if figure.get_layout_engine() is not None and ax.get_subplotspec() is not None:
        ax._set_position(ax.get_subplotspec().get_position(figure))
    margin = pad * figure.dpi / 72
    drawn = ax.dataLim.frozen()
    span = max(drawn.width, drawn.height, 1e-12)
    grid = 10.0 ** (np.floor(np.log10(span)) - 6)
    for _ in range(3):  # new limits can change the tick labels, hence the layout: measure again
        figure.draw_without_rendering()
        renderer = figure.canvas.get_renderer()
        frame = ax.get_window_extent(renderer).frozen()
        for round_ in range(max_rounds + 1):
            view = ax.viewLim.get_points().copy()
            boxes = [label.get_window_extent(renderer).padded(margin) for label in labels]
            low = ax.transData.inverted().transform([[b.x0, b.y0] for b in boxes])
            high = ax.transData.inverted().transform([[b.x1, b.y1] for b in boxes])
            converged = round_ > 0 and np.abs(view - last_view).max() <= 1e-13 * span
            if converged or round_ == max_rounds:
                # The last step from grid-rounded corners: an iteration stops within rounding
                # error of its fixed point, and a last-bit difference in the limits would still
                # shift anti-aliased lines by a pixel from one drawing of the same words to the next.
                low, high = np.floor(low / grid) * grid, np.ceil(high / grid) * grid
            ax.dataLim.set(drawn)
            ax.update_datalim(np.vstack([low, high]))
            ax.autoscale_view()
            ax.apply_aspect()
            if converged:
                break
            last_view = view
        figure.draw_without_rendering()
        if np.allclose(ax.get_window_extent(renderer).get_points(), frame.get_points(), rtol=0, atol=1e-9):
            break
    # Equal axes take one limit from the axes' box, whose last bits depend on the layouts drawn
    # before (a different picture came before it): a last-bit change in a limit moves the dashes
    # of a line. Snap the view to the grid; the 1e-6 relative change is far inside the aspect
    # tolerance (0.5 %), so drawing keeps these limits.
    for get_limits, set_limits in ((ax.get_xlim, ax.set_xlim), (ax.get_ylim, ax.set_ylim)):
        set_limits(*(np.round(np.asarray(get_limits()) / grid) * grid))


def separate_labels(ax, labels, max_rounds: int = 200, step: float = 1.0) -> None:
    """Move text labels apart, vertically in steps of `step` points, until none covers another
    label or another label's point (or `max_rounds` passes). Each label keeps its anchor point;
    only its text offset changes. Measures the real text sizes, so call it once the axes'
    limits are final.
    """
    if len(labels) < 2:
        return
    figure = ax.figure
    # Lay the figure out without rendering it: a live (widget) canvas would send that frame.
    figure.draw_without_rendering()
    renderer = figure.canvas.get_renderer()
    boxes = [label.get_window_extent(renderer).expanded(1.04, 1.1) for label in labels]
    # Each label's anchor in display units: a label must not hide the dot of another word.
    anchors = ax.transData.transform(np.array([label.xy for label in labels], dtype=float))
    radius = 3 * figure.dpi / 72
    pixels = step * figure.dpi / 72  # the same step in display units

    def move(k: int, sign: int) -> None:
        x, y = labels[k].xyann
        labels[k].xyann = (x, y + sign * step)
        boxes[k] = boxes[k].translated(0, sign * pixels)

    for _ in range(max_rounds):
        moved = False
        for i in range(len(labels)):
            for j in range(i + 1, len(labels)):
                if boxes[i].overlaps(boxes[j]):
                    lower, upper = (i, j) if boxes[i].y0 <= boxes[j].y0 else (j, i)
                    move(lower, -1)
                    move(upper, 1)
                    moved = True
            for j, (px, py) in enumerate(anchors):
                box = boxes[i]
                if j != i and box.x0 - radius <= px <= box.x1 + radius and box.y0 - radius <= py <= box.y1 + radius:
                    move(i, 1 if (box.y0 + box.y1) / 2 >= py else -1)  # away from the dot it covers
                    moved = True
        if not moved:
            return


def plot_word_groups(word_vectors, groups: Mapping[str, Sequence[str]], ax=None, title: str | None = None,
                     equal_axes: bool = False):
    """PCA picture of several named groups of words, one colour per group. Returns the Axes.

    `word_vectors` is anything indexable by a list of words returning (n, d) vectors
    (a `utils.vectors.WordVectors`).
    """
    words = [w for group in groups.values() for w in group]
    palette = plt.get_cmap("tab10")
    colors = [palette(i % 10) for i, group in enumerate(groups.values()) for _ in group]
    ax = plot_embeddings(pca_2d(word_vectors[words]), words, ax=ax, title=title, colors=colors,
                         equal_axes=equal_axes)
    for i, name in enumerate(groups):
        ax.scatter([], [], color=palette(i % 10), label=name)
    ax.legend(loc="best", fontsize=8, frameon=False)
    return ax


def plot_matrix(matrix: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str] | None = None,
                ax=None, title: str | None = None, fmt: str = "{:g}", cmap: str = "Blues"):
    """Heat map of a small matrix with its numbers written in the cells. Returns the Axes."""
    matrix = np.asarray(matrix)
    col_labels = row_labels if col_labels is None else col_labels
    if ax is None:
        _, ax = plt.subplots(figsize=(0.6 * len(col_labels) + 2, 0.5 * len(row_labels) + 1))
    ax.imshow(matrix, cmap=cmap)
    ax.set_xticks(range(len(col_labels)), col_labels, rotation=45, ha="right")
    ax.set_yticks(range(len(row_labels)), row_labels)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, fmt.format(value), ha="center", va="center",
                color="white" if value > threshold else "black", fontsize=8)
    if title:
        ax.set_title(title)
    return ax
