"""The widgets and the slides, in a real browser: JupyterLab on localhost, headless Chromium.

Playwright for Python drives Debian's `chromium` (its own browser download is not used:
`executable_path` points at the system browser; set CHROMIUM=/path to choose another).
The test skips, saying why, only when Playwright or a Chromium cannot be found; `.ci/run`
installs Chromium where it can. Screenshots go to the test's tmp folder (printed at the end).

What it proves, as a student or an instructor would see it:
- lecture 01 opens in JupyterLab, runs, and its explorer answers a typed word and analogy;
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
    shutil.copy(LECTURE_01, root / LECTURE_01.name)
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


def _open_and_run_all(browser, lab, name: str):
    """A page with notebook `name` open in JupyterLab, all cells run (waits for the kernel to finish)."""
    url, token, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
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
_CANVAS_IMAGE = """() => {
    const canvas = document.querySelectorAll('.jupyter-matplotlib-canvas-div canvas')[0];
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let inked = 0;
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i] + pixels[i + 1] + pixels[i + 2] < 600) inked++;
    return {url: canvas.toDataURL(), inked: inked / (pixels.length / 4)}; }"""


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
    first_image = page.evaluate(_CANVAS_IMAGE)
    assert first_image["inked"] > 0.01, f"the projector's canvas is blank: {first_image['inked']:.1%} of it drawn"
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
    # The figure is redrawn: the canvas's image has changed and is not blank.
    page.wait_for_function(f"before => {{ const now = ({_CANVAS_IMAGE})(); "
                           "return now.url !== before.url && now.inked > 0.01; }", arg=before)
    page.wait_for_timeout(500)
    _screenshot(page, tmp_path, "projector_paris")
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

        go_to(1)
        go_to(0)
        # Where the formulas and the first picture are: (top-level slide, sub-slide) of each.
        where = """selector => {
            const el = document.querySelector(selector); if (!el) return null;
            let sub = el.closest('section'); const top = sub.parentElement.closest('section') || sub;
            const tops = [...document.querySelectorAll('.slides > section')];
            return [tops.indexOf(top), top === sub ? 0 : [...top.children].filter(c => c.tagName === 'SECTION').indexOf(sub)]; }"""
        page.wait_for_function("document.querySelectorAll('.MathJax_CHTML').length > 2")  # MathJax has typeset
        formula = page.evaluate(where, ".slides .MathJax_CHTML")
        assert formula, "no formula in the deck was typeset by MathJax"
        go_to(*formula)
        # The slide transition takes a moment (longer on a busy machine): wait for the typeset
        # formula to become visible (this fails the test if it never does).
        page.locator("section.present .MathJax_CHTML").first.wait_for(state="visible", timeout=20_000)
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
