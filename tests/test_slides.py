"""Slide metadata rules (utils.slides tag) and the offline reveal.js build (make slides)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from utils.slides import ROOT, build_slides, deck_notebook, ensure_node_modules, main, tag_files, tag_notebook

LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))


def slide_types(nb):
    return [cell.metadata["slideshow"]["slide_type"] for cell in nb.cells]


def figure_output():
    return new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})


def toy_lecture():
    return new_notebook(cells=[
        new_markdown_cell("# Title\n\nWhat this lecture teaches."),
        new_code_cell("FULL_RUN = False\nimport numpy as np\nfrom utils import plotting"),
        new_markdown_cell("## 1. An idea\n\nIts intuition."),
        new_markdown_cell("One more sentence about it."),
        new_code_cell("print(1 + 1)", outputs=[new_output("stream", name="stdout", text="2\n")]),
        new_code_cell("plot()", outputs=[figure_output()]),
        new_markdown_cell("What the picture shows."),
        new_code_cell("\n".join(f"x{i} = {i}" for i in range(20))),
        new_markdown_cell("A long paragraph.\n" * 20),
        new_markdown_cell("The end of one idea.\n\n## 2. The next idea\n\nIts first words."),
        new_markdown_cell("#hashtag is not a heading"),
    ])


def test_rules():
    nb = toy_lecture()
    assert tag_notebook(nb) == len(nb.cells)
    assert slide_types(nb) == ["slide", "skip", "slide", "fragment", "-", "subslide", "subslide", "notes",
                               "subslide", "slide", "fragment"]


def test_long_code_with_a_short_output_joins_the_slide():
    nb = new_notebook(cells=[
        new_markdown_cell("## An idea"),
        new_code_cell("\n".join(f"check_{i}()" for i in range(20)),
                      outputs=[new_output("stream", name="stdout", text="all checks pass\n")]),
    ])
    tag_notebook(nb)
    assert slide_types(nb) == ["slide", "-"]
    assert deck_notebook(nb).cells[1].metadata["transient"] == {"remove_source": True}


def test_tagging_is_idempotent_and_keeps_hand_set_types():
    nb = toy_lecture()
    nb.cells[3].metadata["slideshow"] = {"slide_type": "subslide"}   # set by hand
    nb.cells[7].metadata["slideshow"] = {"slide_type": "skip"}
    tag_notebook(nb)
    first = slide_types(nb)
    assert first[3] == "subslide" and first[7] == "skip"
    assert tag_notebook(nb) == 0 and slide_types(nb) == first
    nb.cells[0].metadata["slideshow"] = {"slide_type": "sldie"}
    with pytest.raises(ValueError, match="cell 0 has slide_type 'sldie'"):
        tag_notebook(nb)


def test_tag_files_rewrites_only_what_changed(tmp_path, capsys):
    path = tmp_path / "lecture.ipynb"
    nbformat.write(toy_lecture(), path)
    assert main(["tag", str(path)]) == 0
    stamp = path.stat().st_mtime_ns
    assert tag_files([path]) == {path: 0} and path.stat().st_mtime_ns == stamp
    assert "already tagged" not in capsys.readouterr().out
    assert slide_types(nbformat.read(path, as_version=4))[0] == "slide"


def test_deck_copy_hides_long_sources_and_widget_state():
    nb = toy_lecture()
    nb.cells[7].outputs = [new_output("stream", name="stdout", text="done\n")]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    deck = deck_notebook(nb)
    assert deck.cells[7].metadata["transient"] == {"remove_source": True}
    assert "transient" not in deck.cells[5].metadata  # a one-line figure keeps its code
    nb.cells[5].source = "fig, ax = subplots()\nax.plot(x)\nax.set_title('t')\nshow()"
    assert deck_notebook(nb).cells[5].metadata["transient"] == {"remove_source": True}
    assert "widgets" not in deck.metadata and "widgets" in nb.metadata  # the original is untouched
    assert "slideshow" not in nb.cells[0].metadata


def node_modules() -> Path:
    """The reveal.js and MathJax files `make slides` uses (`npm ci` installs them if missing)."""
    try:
        return ensure_node_modules()
    except FileNotFoundError as error:
        pytest.skip(str(error))


def test_build_offline_decks(tmp_path):
    decks = build_slides(LECTURES, tmp_path, node_modules())
    assert [d.name for d in decks] == [f"{p.stem}.slides.html" for p in LECTURES]
    for deck in decks:
        html = deck.read_text()
        assert html.count("<section") > 5, f"{deck.name} has too few slides"
        # Every script and style sheet the deck loads is in vendor/, beside it: offline.
        for url in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html):
            assert not re.match(r"(https?:)?//", url), f"{deck.name} loads {url} from the network"
            assert (tmp_path / url.split("?")[0]).exists(), f"{deck.name} needs {url}, missing from vendor/"
        assert "data:image/png;base64" in html, f"{deck.name} lost its figures"
