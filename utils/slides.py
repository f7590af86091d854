"""Lecture notebooks as slides: rule-based slide metadata, and offline reveal.js decks.

    python -m utils.slides tag lectures/*.ipynb            # fill in missing slide types, in place
    python -m utils.slides build lectures/*.ipynb --out build/slides   # what `make slides` runs

**Tagging** gives every cell that has no `metadata.slideshow.slide_type` one, by these
rules (a cell whose type was set by hand, in JupyterLab's property inspector or RISE, is
never changed, so running the tagger again changes nothing):

- markdown with a heading (usually its first line) -> "slide" (one idea per slide);
- other markdown -> "fragment" (it appears on the next key press, below what is there) while
  the slide still has room, else "subslide" (a new slide below, reached with the down arrow);
- the set-up cell (imports, the FULL_RUN switch, seeding) -> "skip";
- a cell that draws a figure -> "subslide": the picture gets a slide of its own;
- long code (more than LONG_CODE lines) that prints nothing -> "notes" (speaker notes, "s");
- other code -> "-" (stays on the current slide) while it fits, else "subslide" (long code
  counts only its output: the deck shows no more of it);
- raw cells -> "skip".

**Building** tags a copy of each notebook (the committed notebook is not touched), hides the
source of long code cells and of figures drawn by more than FIGURE_CODE lines in the deck (the
output stays; the code is in the notebook), scales pictures to fit a slide, and
runs nbconvert's slides exporter with reveal.js, MathJax, require.js and jQuery served from
`vendor/` beside the HTML files, copied from `node_modules/` (`npm ci` installs the versions
pinned in package.json / package-lock.json). Decks work offline, from file:// or any server.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path
from typing import Iterable

import nbformat

from utils.data import atomic_write

ROOT = Path(__file__).resolve().parents[1]
SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
LONG_CODE = 12       # source lines beyond which code goes to the notes or has its source hidden
FIGURE_CODE = 3      # a figure's slide shows its code only if it is this short: the picture comes first
SLIDE_HEIGHT = 16    # estimated lines that fit on one slide at the deck's font size
_IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_SETUP_LINE = re.compile(r"^\s*(import |from \S+ import |[A-Z][A-Z0-9_]* = |seed_everything\(|%matplotlib)")


def _lines(source: str) -> list[str]:
    return [line for line in source.splitlines() if line.strip()]


def _code_lines(source: str) -> list[str]:
    return [line for line in _lines(source) if not line.lstrip().startswith("#")]


def has_figure(cell) -> bool:
    return any(key in output.get("data", {}) for output in cell.get("outputs", []) for key in _IMAGE_TYPES)


def _output_lines(cell) -> int:
    """Estimated height of a code cell's text output, in lines (capped at a slide)."""
    count = 0
    for output in cell.get("outputs", []):
        text = output.get("text") or output.get("data", {}).get("text/plain", "")
        count += len(("".join(text) if isinstance(text, list) else text).splitlines())
    return min(count, SLIDE_HEIGHT)


def is_setup(cell) -> bool:
    """Imports, constants such as FULL_RUN, seeding: mostly set-up lines and no figure."""
    lines = _code_lines(cell.source)
    if not lines or has_figure(cell):
        return False
    setup = sum(bool(_SETUP_LINE.match(line)) for line in lines)
    return setup / len(lines) >= 0.6


def suggest_slide_type(cell, room: int) -> tuple[str, int]:
    """The rule-based slide type of `cell`, given `room` (lines left on the current slide).

    Returns (slide type, lines left on the slide after this cell).
    """
    if cell.cell_type == "raw":
        return "skip", room
    if cell.cell_type == "markdown":
        lines = _lines(cell.source)
        height = len(lines) + 2 * sum("$$" in line for line in lines)  # display maths is tall
        if any(_HEADING.match(line) for line in lines):  # a heading anywhere starts a new idea
            return "slide", SLIDE_HEIGHT - height
        if height <= room:
            return "fragment", room - height
        return "subslide", SLIDE_HEIGHT - height
    if is_setup(cell):
        return "skip", room
    if has_figure(cell):
        return "subslide", 0  # the picture fills its slide: what follows starts a new one
    source_lines = len(_lines(cell.source))
    if source_lines > LONG_CODE and not cell.get("outputs"):
        return "notes", room
    # The deck hides the source of long code (deck_notebook), so only its output takes room.
    height = (0 if source_lines > LONG_CODE else source_lines) + _output_lines(cell)
    if height <= room:
        return "-", room - height
    return "subslide", SLIDE_HEIGHT - height


def _room_after(slide_type: str, cell, room: int) -> int:
    """Lines left after a cell whose type was set by hand (the same estimate as the rules)."""
    if slide_type in ("skip", "notes"):
        return room
    height = len(_lines(cell.source)) + (_output_lines(cell) if cell.cell_type == "code" else 0)
    if has_figure(cell):
        return 0
    return SLIDE_HEIGHT - height if slide_type in ("slide", "subslide") else room - height


def tag_notebook(nb) -> int:
    """Give each cell without a slide type the rule-based one. Returns how many cells changed."""
    room, changed = SLIDE_HEIGHT, 0
    for index, cell in enumerate(nb.cells):
        given = cell.metadata.get("slideshow", {}).get("slide_type")
        if given:
            if given not in SLIDE_TYPES:
                raise ValueError(f"cell {index} has slide_type {given!r}; use one of {', '.join(SLIDE_TYPES)}")
            room = _room_after(given, cell, room)
            continue
        slide_type, room = suggest_slide_type(cell, room)
        if index == 0 and slide_type not in ("skip", "notes"):
            slide_type = "slide"  # a deck starts with a slide
        cell.metadata.setdefault("slideshow", {})["slide_type"] = slide_type
        changed += 1
    return changed


def tag_files(paths: Iterable[Path]) -> dict[Path, int]:
    """Tag notebooks in place (atomic writes; a file is rewritten only if a cell changed)."""
    result = {}
    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        result[path] = tag_notebook(nb)
        if result[path]:
            with atomic_write(path) as tmp:
                nbformat.write(nb, tmp)
    return result


# --- building decks ----------------------------------------------------------------------------

# What each deck loads, as (path under node_modules, path under vendor/). MathJax is version 2:
# nbconvert's reveal template re-renders formulas with MathJax.Hub, which MathJax 3 removed.
_VENDOR_FILES = [
    ("reveal.js/dist/reveal.js", "reveal.js/dist/reveal.js"),
    ("reveal.js/dist/reveal.css", "reveal.js/dist/reveal.css"),
    ("reveal.js/dist/theme", "reveal.js/dist/theme"),
    ("reveal.js/plugin/notes", "reveal.js/plugin/notes"),
    ("mathjax/MathJax.js", "mathjax/MathJax.js"),
    ("mathjax/config/TeX-AMS_CHTML-full.js", "mathjax/config/TeX-AMS_CHTML-full.js"),
    ("mathjax/config/Safe.js", "mathjax/config/Safe.js"),
    ("mathjax/extensions", "mathjax/extensions"),
    ("mathjax/jax/input/TeX", "mathjax/jax/input/TeX"),
    ("mathjax/jax/output/CommonHTML", "mathjax/jax/output/CommonHTML"),
    ("mathjax/jax/element", "mathjax/jax/element"),
    ("mathjax/fonts/HTML-CSS/TeX/woff", "mathjax/fonts/HTML-CSS/TeX/woff"),
    ("mathjax/localization/en", "mathjax/localization/en"),
    ("requirejs/require.js", "require.js"),
    ("jquery/dist/jquery.min.js", "jquery.min.js"),
]


def ensure_node_modules(node_modules: Path = ROOT / "node_modules") -> Path:
    """`node_modules` with reveal.js and MathJax in it, running `npm ci` first if they are missing.

    Raises FileNotFoundError saying what to do when npm is absent or cannot reach its registry.
    """
    if all((node_modules / source).exists() for source, _ in _VENDOR_FILES):
        return node_modules
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("the slides need reveal.js and MathJax from the npm registry, and npm is not "
                                "installed: install Node.js and npm (Debian: apt-get install npm), then `make slides`")
    import subprocess

    result = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=node_modules.parent,
                            capture_output=True, text=True)
    if result.returncode:
        raise FileNotFoundError(f"`npm ci` in {node_modules.parent} failed (is the npm registry reachable?): "
                                f"{result.stderr.strip()[-800:]}")
    return node_modules


def copy_vendor(out_dir: Path, node_modules: Path = ROOT / "node_modules") -> Path:
    """Copy the deck's JavaScript and CSS from `node_modules` into `out_dir`/vendor."""
    missing = [source for source, _ in _VENDOR_FILES if not (node_modules / source).exists()]
    if missing:
        raise FileNotFoundError(
            f"{node_modules} lacks {', '.join(missing)}: run `npm ci` in {ROOT} first "
            "(`make slides` does), which installs the versions pinned in package-lock.json")
    vendor = out_dir / "vendor"
    for source, target in _VENDOR_FILES:
        source, target = node_modules / source, vendor / target
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.map"))
        else:
            shutil.copy2(source, target)
    return vendor


def deck_notebook(nb):
    """The copy that becomes a deck: tagged, long sources and figure code hidden, no saved widget state."""
    nb = nbformat.from_dict(nb)  # a deep copy
    tag_notebook(nb)
    for cell in nb.cells:
        lines = len(_lines(cell.source)) if cell.cell_type == "code" else 0
        if cell.get("outputs") and (lines > LONG_CODE or (has_figure(cell) and lines > FIGURE_CODE)):
            cell.metadata.setdefault("transient", {})["remove_source"] = True
    # Saved widget state would make the deck load the widget manager from a CDN; the explorer
    # cells print their answers, which is what a static deck can show.
    nb.metadata.pop("widgets", None)
    return nb


def build_slides(paths: Iterable[Path], out_dir: Path, node_modules: Path = ROOT / "node_modules") -> list[Path]:
    """Write one reveal.js deck per notebook into `out_dir`, with its vendor/ folder. Returns the decks."""
    from nbconvert import SlidesExporter

    out_dir = Path(out_dir)
    copy_vendor(out_dir, node_modules)
    exporter = SlidesExporter(
        reveal_url_prefix="vendor/reveal.js",
        reveal_theme="white",  # its font ships with reveal.js; the other light themes fetch theirs online
        reveal_scroll=True,  # a tall output scrolls within its slide instead of being cut off
        mathjax_url="vendor/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
        require_js_url="vendor/require.js",
        jquery_url="vendor/jquery.min.js",
        extra_template_basedirs=[str(Path(__file__).with_name("templates"))],
        template_name="reveal_offline",
    )
    decks = []
    for path in map(Path, paths):
        nb = deck_notebook(nbformat.read(path, as_version=4))
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        deck = out_dir / f"{path.stem}.slides.html"
        with atomic_write(deck) as tmp:
            tmp.write_text(body, encoding="utf-8")
        decks.append(deck)
    return decks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.slides", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    tag = commands.add_parser("tag", help="fill in missing slide metadata, in place")
    tag.add_argument("notebooks", nargs="+", type=Path)
    build = commands.add_parser("build", help="write reveal.js decks (tagging a copy)")
    build.add_argument("notebooks", nargs="+", type=Path)
    build.add_argument("--out", type=Path, default=ROOT / "build" / "slides")
    build.add_argument("--node-modules", type=Path, default=ROOT / "node_modules")
    args = parser.parse_args(argv)
    if args.command == "tag":
        for path, changed in tag_files(args.notebooks).items():
            print(f"{path}: {changed} cells tagged" if changed else f"{path}: already tagged")
        return 0
    try:
        decks = build_slides(args.notebooks, args.out, args.node_modules)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    for deck in decks:
        print(deck)
    return 0


if __name__ == "__main__":
    sys.exit(main())
