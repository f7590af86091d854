"""The widgets and the slides, in a real browser: JupyterLab on localhost, headless Chromium.

Playwright for Python drives Debian's `chromium` (its own browser download is not used:
`executable_path` points at the system browser; set CHROMIUM=/path to choose another).
The test skips, saying why, only when Playwright or a Chromium cannot be found; `.ci/run`
installs Chromium where it can. Screenshots go to the test's tmp folder (printed at the end).

What it proves, as a student or an instructor would see it:
- lecture 01 opens in JupyterLab, runs, and its explorer answers a typed word and analogy;
- lecture 04's projector, on the GloVe vectors the lecture trains, draws its canvas and
  re-projects when a word is typed and when the method changes to t-SNE;
- lecture 08's network explorer retrains and redraws when its slider and its menu move;
- the embedding projector (a small notebook made here, so no lecture is modified) draws an
  ipympl canvas, names the point under the mouse, zooms on the wheel, and re-projects on input;
- the RISE extension is loaded in this JupyterLab and previews lecture 01 as slides;
- the Chinese README renders (with Debian's fonts-noto-cjk; skipped, saying so, without a CJK font);
- a `make slides` deck shows its first slide, moves with the arrow keys, typesets its formulas
  with MathJax and loads its pictures, all from files beside it.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
LECTURE_01 = ROOT / "lectures" / "01_word2vec_review.ipynb"
LECTURE_04 = ROOT / "lectures" / "04_glove.ipynb"
LECTURE_08 = ROOT / "lectures" / "08_neural_networks.ipynb"
TIMEOUT_MS = 300_000  # a lecture may take its full ~3 minutes on a loaded 2-core machine


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                   "(pip install playwright; it is in the dev extra)")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set CHROMIUM=/path/to/chrome); "
                    ".ci/run installs it where it runs as root")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 with a fresh token, serving a tmp folder (copies, never the lectures)."""
    root = tmp_path_factory.mktemp("lab")
    for lecture in (LECTURE_01, LECTURE_04, LECTURE_08):
        shutil.copy(lecture, root / lecture.name)
    shutil.copy(ROOT / "README.zh-CN.md", root / "README.zh-CN.md")
    nbformat.write(new_notebook(cells=[new_code_cell(source) for source in (
        "from utils.pretrained import load_glove_6b\nfrom utils.projector import EmbeddingProjector\n"
        "glove = load_glove_6b(50, max_words=20_000)",
        'projector = EmbeddingProjector(glove, around="frog", topn=15, analogy="man woman king")\nprojector.show()',
        'print("PIXEL %.1f %.1f" % projector.pixel_of("frog"))',
    )], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}),
        root / "projector.ipynb")
    token, port = secrets.token_hex(16), _free_port()
    settings = root / ".lab-settings"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           "JUPYTER_CONFIG_DIR": str(settings / "config"), "JUPYTER_RUNTIME_DIR": str(settings / "runtime")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings / 'user'}",
         f"--LabApp.workspaces_dir={settings / 'workspaces'}", "--LabApp.news_url=",
         "--allow-root"],  # CI runs as root
        env=env, stdout=subprocess.DEVNULL, stderr=open(root / "lab.log", "w"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.terminate()
                pytest.fail(f"JupyterLab did not start: {(root / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield url, token, root
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def _dismiss_news(page) -> None:
    """Close JupyterLab's "news?" notification, which would cover part of the screenshots."""
    news = page.get_by_role("button", name="No", exact=True)
    if news.count():
        news.first.click()


def _open_and_run_all(browser, lab, name: str, timeout_ms: int = TIMEOUT_MS):
    """A page with notebook `name` open in JupyterLab, all cells run (waits for the kernel to finish)."""
    url, token, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(timeout_ms)
    page.goto(f"{url}/lab/tree/{name}?token={token}&reset")
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')")
    page.wait_for_function("""() => {
        const panel = window.jupyterapp.shell.currentWidget;
        return panel && panel.sessionContext && panel.sessionContext.session
            && panel.sessionContext.session.kernel && panel.sessionContext.session.kernel.status === 'idle'; }""")
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # Every code cell has an execution count once the run is over (and none is still '[*]').
    page.wait_for_function("""() => {
        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
        return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)); }""")
    _dismiss_news(page)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                          has_text="Traceback")
    assert errors.count() == 0, errors.first.inner_text()
    return page


# The projector's image canvas: its PNG and the share of its pixels that are not white.
_CANVAS_IMAGE = """(root) => {
    // The last live figure inside `root` (a cell's output; the whole page when not given).
    const figures = (root || document).querySelectorAll('.jupyter-matplotlib-canvas-div');
    const canvas = figures[figures.length - 1].querySelector('canvas');
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let inked = 0;
    // Inked: painted (not transparent, as a canvas is before its first image) and not white.
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] > 0 && pixels[i] + pixels[i + 1] + pixels[i + 2] < 600) inked++;
    return {url: canvas.toDataURL(), inked: inked / (pixels.length / 4)}; }"""


def _wait_for_new_picture(page, before: dict, after_what: str, root=None, timeout_s: float = 120) -> dict:
    """The canvas's image once it differs from `before`, is drawn, and has stayed the same for a
    second (a later frame would replace it); fails saying what did not redraw.

    root: a Locator of the cell output holding the figure (default: the page's last figure). It is
    looked up afresh and scrolled into view on every poll: JupyterLab may re-render a cell's
    output, and ipympl repaints a canvas only while it is on screen.
    """
    deadline = time.monotonic() + timeout_s
    candidate, since = None, 0.0
    while True:
        if root is None:
            now = page.evaluate(_CANVAS_IMAGE)
        else:
            canvas = root.locator(".jupyter-matplotlib-canvas-div").last
            canvas.scroll_into_view_if_needed()
            now = root.evaluate(_CANVAS_IMAGE)
        if now["url"] != before["url"] and now["inked"] > 0.01:
            if candidate is None or now["url"] != candidate["url"]:
                candidate, since = now, time.monotonic()
            elif time.monotonic() - since >= 1.0:
                return now
        else:
            candidate = None
        if time.monotonic() > deadline:
            pytest.fail(f"the projector's figure was not redrawn {timeout_s:.0f} s after {after_what} "
                        f"({now['inked']:.1%} of the canvas drawn, {'unchanged' if now['url'] == before['url'] else 'blank'})")
        page.wait_for_timeout(250)


def _screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=path, full_page=False)
    print(f"screenshot: {path}")
    return path


def test_lecture_01_explorer_answers_in_the_browser(browser, lab, tmp_path):
    page = _open_and_run_all(browser, lab, LECTURE_01.name)
    word_box = page.locator(".widget-text input").nth(0)
    analogy_box = page.locator(".widget-text input").nth(1)
    word_box.scroll_into_view_if_needed()
    assert word_box.input_value() == "bank"
    word_box.fill("frog")
    frog = page.locator(".widget-html pre", has_text="nearest to 'frog'")
    frog.wait_for()
    assert "toad" in frog.inner_text()
    analogy_box.fill("paris france tokyo")
    answer = page.locator(".widget-html pre", has_text="paris : france :: tokyo : ?")
    answer.wait_for()
    assert answer.inner_text().splitlines()[1].split()[0] == "japan"
    _screenshot(page, tmp_path, "lecture01_explorer")
    # Live slides in JupyterLab: the RISE extension loaded beside the pinned JupyterLab.
    assert page.evaluate("window.jupyterapp.commands.hasCommand('RISE:slideshow')"), \
        "jupyterlab-rise is not loaded: live slides would not work"
    # RISE's preview renders the open notebook as reveal.js slides in a panel beside it.
    page.evaluate("window.jupyterapp.commands.execute('RISE:preview')")
    rise = page.frame_locator("iframe").last
    # RISE opens at the selected cell (the last one after run-all), so wait for whichever slide
    # is present rather than the first, which is then hidden as a past slide.
    rise.locator(".reveal .slides section.present").first.wait_for()
    _screenshot(page, tmp_path, "lecture01_rise_preview")
    page.close()


def test_projector_hover_zoom_and_input_in_the_browser(browser, lab, tmp_path):
    page = _open_and_run_all(browser, lab, "projector.ipynb")
    printed = page.locator(".jp-OutputArea-output", has_text="projected with PCA").first.inner_text()
    assert "20 words around 'frog'" in printed  # frog, its 15 neighbours, the analogy's 4 words
    assert "man : woman :: king : queen" in printed
    canvas = page.locator(".jupyter-matplotlib-canvas-div canvas").last
    canvas.scroll_into_view_if_needed()
    canvas.wait_for()
    x, y = map(float, re.search(r"PIXEL ([\d.]+) ([\d.]+)", page.locator(".jp-OutputArea-output",
                                                                       has_text="PIXEL").inner_text()).groups())
    box = page.locator(".jupyter-matplotlib-canvas-div").last.bounding_box()
    _wait_for_new_picture(page, {"url": None}, "the notebook ran")
    page.mouse.move(box["x"] + x + 1, box["y"] + y + 1)
    hover = page.locator(".widget-html pre", has_text="hover: frog")
    hover.wait_for()
    assert "cos with 'frog' = 1.000" in hover.inner_text()
    _screenshot(page, tmp_path, "projector_hover")
    page.mouse.wheel(0, -200)
    page.locator(".widget-html pre", has_text="view: x").wait_for()
    page.wait_for_timeout(500)  # the zoomed image arrives from the kernel
    before = page.evaluate(_CANVAS_IMAGE)
    words = page.locator(".widget-text input").first
    words.fill("paris")
    words.press("Enter")
    page.locator(".widget-html pre", has_text="20 words around 'paris', projected with PCA").wait_for()
    _wait_for_new_picture(page, before, "typing 'paris'")  # redrawn: changed, and not blank
    page.wait_for_timeout(500)
    _screenshot(page, tmp_path, "projector_paris")
    page.close()


def _output_of_cell(page, cell_id: str):
    """The rendered output area of the code cell whose nbformat id is `cell_id`."""
    index = page.evaluate("""id => {
        const cells = window.jupyterapp.shell.currentWidget.content.widgets;
        return cells.findIndex(cell => cell.model.id === id); }""", cell_id)
    assert index >= 0, f"no cell with id {cell_id!r}: was the lecture restructured? update this test"
    # JupyterLab renders only the cells near the view: bring this one there first.
    page.evaluate("""index => {
        const notebook = window.jupyterapp.shell.currentWidget.content;
        notebook.activeCellIndex = index;
        return notebook.scrollToItem(index, 'start'); }""", index)
    output = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-Cell-outputArea")
    output.scroll_into_view_if_needed()
    output.locator(".jp-OutputArea-output").first.wait_for()
    return output


def _cell_id(notebook: Path, needle: str) -> str:
    """The id of the one code cell of `notebook` whose source contains `needle`."""
    ids = [cell.id for cell in nbformat.read(notebook, as_version=4).cells
           if cell.cell_type == "code" and needle in cell.source]
    assert len(ids) == 1, f"{notebook.name}: {len(ids)} code cells contain {needle!r}"
    return ids[0]


def test_lecture_04_projector_on_our_glove_vectors(browser, lab, tmp_path):
    # Lecture 04 trains GloVe before the projector: give the whole run up to 10 minutes.
    page = _open_and_run_all(browser, lab, LECTURE_04.name, timeout_ms=600_000)
    output = _output_of_cell(page, _cell_id(LECTURE_04, "embedding_projector(glove_vectors"))
    assert "17 words, projected with PCA" in output.inner_text()
    canvas = output.locator(".jupyter-matplotlib-canvas-div canvas").last
    canvas.scroll_into_view_if_needed()
    canvas.wait_for()
    # Only this cell's figure: the lecture's later cells draw pictures of their own.
    first_image = _wait_for_new_picture(page, {"url": None}, "the lecture ran", output)
    _screenshot(page, tmp_path, "lecture04_projector")
    # "neighbours of" a typed word: the picture and the status line follow.
    output.get_by_role("button", name="neighbours of").click()  # around the first word, king
    output.locator(".widget-html pre", has_text="words around 'king', projected with PCA").wait_for()
    words = output.locator(".widget-text input").first
    words.fill("woman")
    words.press("Enter")
    output.locator(".widget-html pre", has_text="words around 'woman', projected with PCA").wait_for()
    before_tsne = _wait_for_new_picture(page, first_image, "typing 'woman'", output)
    output.locator(".widget-dropdown select").select_option(label="t-SNE")
    output.locator(".widget-html pre", has_text="words around 'woman', projected with t-SNE").wait_for()
    tsne = _wait_for_new_picture(page, before_tsne, "choosing t-SNE", output)
    # Back to PCA: the same settings draw the same picture, so nothing shown was stale or
    # half-drawn (a frame rendered while the figure changed looked blank or showed the old words).
    output.locator(".widget-dropdown select").select_option(label="PCA")
    output.locator(".widget-html pre", has_text="words around 'woman', projected with PCA").wait_for()
    back_to_pca = _wait_for_new_picture(page, tsne, "choosing PCA again", output)
    assert back_to_pca["url"] == before_tsne["url"], (
        "PCA around 'woman' drew a different picture the second time: one of them was stale or half-drawn")
    # The lecture's other figures stay ordinary pictures: importing the projector's widget
    # backend must not turn them into live canvases.
    assert page.locator(".jupyter-matplotlib-canvas-div").count() == 1
    page.wait_for_timeout(500)
    _screenshot(page, tmp_path, "lecture04_projector_woman_tsne")
    page.close()


# The picture an ipywidgets Output shows (inline matplotlib): its source, and its size.
_OUTPUT_IMAGE = """output => {
    const image = output.querySelector('.widget-output img');
    return image ? {src: image.src, width: image.naturalWidth} : null; }"""


def test_lecture_08_network_explorer_retrains_on_input(browser, lab, tmp_path):
    page = _open_and_run_all(browser, lab, LECTURE_08.name)
    output = _output_of_cell(page, _cell_id(LECTURE_08, "widgets.interactive(explore"))
    output.scroll_into_view_if_needed()
    handle = output.locator(".widget-output img")
    handle.wait_for()
    element = output.element_handle()
    first = page.evaluate(_OUTPUT_IMAGE, element)
    assert first and first["width"] > 200, f"the explorer shows no picture: {first}"
    readout = output.locator(".widget-readout").first
    assert readout.inner_text().strip() == "3"
    _screenshot(page, tmp_path, "lecture08_explorer")
    # The slider, moved with the keyboard as a presenter would: one more hidden unit.
    output.locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("el => el.textContent.trim() === '4'", arg=readout.element_handle())
    page.wait_for_function(f"([output, before]) => {{ const now = ({_OUTPUT_IMAGE})(output); "
                           "return now && now.src !== before.src && now.width > 200; }", arg=[element, first])
    after_slider = page.evaluate(_OUTPUT_IMAGE, element)
    # The nonlinearity menu: another choice redraws again.
    menu = output.locator(".widget-dropdown select")
    other = [o for o in menu.locator("option").all_inner_texts() if o.strip() != menu.input_value()][0]
    menu.select_option(label=other)
    page.wait_for_function(f"([output, before]) => {{ const now = ({_OUTPUT_IMAGE})(output); "
                           "return now && now.src !== before.src && now.width > 200; }", arg=[element, after_slider])
    page.wait_for_timeout(300)
    _screenshot(page, tmp_path, f"lecture08_explorer_4_{other.strip()}")
    page.close()


def test_chinese_readme_renders_in_jupyterlab(browser, lab, tmp_path):
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True) \
        if shutil.which("fc-list") else None
    if not fonts or not fonts.stdout.strip():
        pytest.skip("no Chinese font installed (apt-get install fonts-noto-cjk): the page would show empty boxes")
    url, token, _ = lab
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{url}/lab?token={token}&reset")
    page.wait_for_function("window.jupyterapp && window.jupyterapp.commands.hasCommand('docmanager:open')")
    page.evaluate("window.jupyterapp.commands.execute('docmanager:open', "
                  "{path: 'README.zh-CN.md', factory: 'Markdown Preview'})")
    heading = page.locator(".jp-RenderedMarkdown h1")
    heading.wait_for()
    assert "词向量" in heading.inner_text()
    _dismiss_news(page)
    assert page.locator(".jp-RenderedMarkdown table").count() >= 2  # the course map and the folders
    _screenshot(page, tmp_path, "readme_zh_cn")
    page.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_slide_deck_renders_and_moves_with_the_arrow_keys(browser, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    from utils.slides import build_slides, ensure_node_modules

    try:
        node_modules = ensure_node_modules()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    deck = build_slides([LECTURE_01], tmp_path / "slides", node_modules)[0]
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(deck.parent)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(60_000)
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("response", lambda response: response.status >= 400 and failed.append(response.url))
    try:
        page.goto(f"http://127.0.0.1:{server.server_port}/{deck.name}")
        page.wait_for_selector(".reveal.ready")
        title = nbformat.read(LECTURE_01, as_version=4).cells[0].source.splitlines()[0].lstrip("# ").strip()
        assert page.locator("section.present h1").text_content().rstrip("¶").strip() == title
        _screenshot(page, tmp_path, "slides_title")

        def go_to(h: int, v: int = 0) -> None:
            """Walk to slide (h, v) with the arrow keys, one key at a time, as a presenter would."""
            here = lambda: [int(n) for n in (page.evaluate("location.hash").strip("#/").split("/") if
                                              page.evaluate("location.hash").strip("#/") else ["0"])]
            while here()[0] != h:
                key, target = ("ArrowRight", here()[0] + 1) if here()[0] < h else ("ArrowLeft", here()[0] - 1)
                page.keyboard.press(key)
                page.wait_for_function(f"location.hash === '#/{target}' || (location.hash === '#/' && {target} === 0)")
            for step in range(1, v + 1):
                page.keyboard.press("ArrowDown")
                page.wait_for_function(f"location.hash === '#/{h}/{step}'")

        go_to(1)  # at once, while MathJax is still typesetting: a presenter does not wait for it
        go_to(0)
        # Where the formulas and the first picture are: (top-level slide, sub-slide) of each.
        where = """selector => {
            const el = document.querySelector(selector); if (!el) return null;
            let sub = el.closest('section'); const top = sub.parentElement.closest('section') || sub;
            const tops = [...document.querySelectorAll('.slides > section')];
            return [tops.indexOf(top), top === sub ? 0 : [...top.children].filter(c => c.tagName === 'SECTION').indexOf(sub)]; }"""
        # MathJax has typeset the deck: every formula has its rendered frame and none is still being
        # processed (a busy machine needs well over 20 s for that). A rendered formula is `.mjx-chtml`:
        # the template re-renders each slide it arrives at, and a re-rendered formula loses the
        # `MathJax_CHTML` class that only the first typeset gives (CI once looked for that class on a
        # slide the walk above had re-rendered, and waited for a formula that was there).
        page.wait_for_function("""() => {
            const scripts = [...document.querySelectorAll('.slides script[type^="math/tex"]')];
            return scripts.length > 2 && !document.querySelector('.MJXc-processing')
                && scripts.every(s => document.getElementById(s.id + '-Frame')); }""", timeout=120_000)
        # Once more now that the typeset is done, and wait for MathJax's queue to run dry: the first
        # slides are re-rendered for sure, the way a presenter's deck is after a step back. (CI once
        # saw the first formula's frame absent here, being re-rendered, then waited 20 s on slide 1
        # for a formula it reported hidden: hence the search by TeX source and the wait on boxes.)
        go_to(1)
        go_to(0)
        page.evaluate("new Promise(done => MathJax.Hub.Queue(() => done(true)))")
        # The first formula's slide, found by its TeX source: the script is always in the page,
        # where its rendered frame is briefly absent while the slide it is on is re-rendered.
        formula = page.evaluate(where, '.slides script[type^="math/tex"]')
        assert formula, "the deck has no formula"
        go_to(*formula)
        # The arrival re-renders the slide and the transition takes a moment (both slower on a busy
        # machine): wait until a typeset formula on the present slide has a box on the screen.
        shown = """() => [...document.querySelectorAll('.slides section.present .mjx-chtml')].some(frame => {
            const box = frame.getBoundingClientRect();
            return box.width > 0 && box.height > 0 && !frame.closest('.MJXc-processing, .MJXc-processed'); })"""
        try:
            page.wait_for_function(shown, timeout=90_000)
        except PlaywrightTimeoutError:
            _screenshot(page, tmp_path, "slides_formula_missing")
            state = page.evaluate("""() => ({hash: location.hash,
                present: [...document.querySelectorAll('.slides section.present')].map(s =>
                    [s.className, getComputedStyle(s).display, s.hidden, JSON.stringify(s.getBoundingClientRect())]),
                frames: [...document.querySelectorAll('.slides section.present .mjx-chtml')].slice(0, 5).map(f =>
                    [f.id, f.className, JSON.stringify(f.getBoundingClientRect())]),
                queue: MathJax.Hub.queue.pending, running: MathJax.Hub.queue.running})""")
            pytest.fail(f"no typeset formula became visible on slide {formula} within 90 s: {state}")
        page.wait_for_timeout(1000)  # let the transition finish before the picture is taken
        assert "$$" not in page.locator("section.present").last.inner_text()
        _screenshot(page, tmp_path, "slides_formula")
        # Pictures: every image in the deck has loaded; walk to the first figure with the keys.
        images = page.evaluate("[...document.querySelectorAll('.slides img')].map(i => i.naturalWidth)")
        assert images and all(width > 0 for width in images)
        go_to(0)
        go_to(*page.evaluate(where, ".slides img"))
        page.wait_for_timeout(1000)
        picture = page.locator("section.present img").first.bounding_box()
        assert picture and picture["width"] > 300 and 0 <= picture["y"] < 800, f"the figure is not on screen: {picture}"
        _screenshot(page, tmp_path, "slides_figure")
        assert not failed, f"the deck failed to load {failed}"
    finally:
        page.close()
        server.shutdown()
