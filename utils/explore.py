"""Interactive explorers (ipywidgets) that fall back to printed output without a widget frontend.

In JupyterLab the widgets are live: type a word, see its neighbours; type an analogy,
see its answer. Where no frontend renders widgets (nbconvert, nbval, a terminal), the
same answers are printed for the initial values, so the cell still shows something real.
"""

from __future__ import annotations


def neighbours_text(word_vectors, word: str, topn: int = 8) -> str:
    """The nearest neighbours of `word` by cosine similarity, one per line."""
    word = word.strip().lower()
    if not word:
        return "type a word"
    if word not in word_vectors:
        try:
            word_vectors[word]
        except KeyError as error:
            return error.args[0]
    lines = [f"nearest to {word!r}:"]
    lines += [f"  {other:<15} {score:.3f}" for other, score in word_vectors.most_similar(word, topn=topn)]
    return "\n".join(lines)


def analogy_text(word_vectors, query: str, topn: int = 5) -> str:
    """Answer "a b c" as a : b :: c : ? with 3CosAdd (x_b - x_a + x_c), input words excluded."""
    words = query.strip().lower().split()
    if len(words) != 3:
        return "type three words: a b c  (a is to b as c is to ?)"
    missing = [w for w in words if w not in word_vectors]
    if missing:
        return f"not in the vocabulary: {', '.join(missing)}"
    a, b, c = words
    answers = word_vectors.most_similar(positive=[b, c], negative=[a], topn=topn)
    lines = [f"{a} : {b} :: {c} : ?"]
    lines += [f"  {other:<15} {score:.3f}" for other, score in answers]
    return "\n".join(lines)


def _widget_frontend_present() -> bool:
    """True inside a live Jupyter kernel (a frontend may render widgets); False under plain Python."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def word_explorer(word_vectors, word: str = "king", analogy: str = "man woman king", topn: int = 8) -> None:
    """Show a neighbours box and an analogy box for `word_vectors`.

    Prints the answers for the initial `word` and `analogy` first (what a reader of a static
    copy sees), then displays the live widgets when a kernel is present. Returns nothing:
    a returned widget would be displayed a second time by some front ends.
    """
    print(neighbours_text(word_vectors, word, topn))
    print()
    print(analogy_text(word_vectors, analogy))
    if not _widget_frontend_present():
        return
    try:
        import ipywidgets as widgets
        from IPython.display import display
    except ImportError:
        return

    import html

    def as_html(text: str) -> str:
        return f"<pre>{html.escape(text)}</pre>"

    # HTML widgets hold their text as a value: no prints, so a kernel without a frontend
    # (nbclient, nbval) records the same output every time.
    word_box = widgets.Text(value=word, description="word")
    analogy_box = widgets.Text(value=analogy, description="a b c")
    neighbours_view = widgets.HTML(as_html(neighbours_text(word_vectors, word, topn)))
    analogy_view = widgets.HTML(as_html(analogy_text(word_vectors, analogy)))
    word_box.observe(lambda change: setattr(neighbours_view, "value", as_html(
        neighbours_text(word_vectors, change["new"], topn))), names="value")
    analogy_box.observe(lambda change: setattr(analogy_view, "value", as_html(
        analogy_text(word_vectors, change["new"]))), names="value")
    container = widgets.HBox([widgets.VBox([word_box, neighbours_view]), widgets.VBox([analogy_box, analogy_view])])
    display(container)
