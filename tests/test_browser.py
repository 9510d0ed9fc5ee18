"""The page in a real browser: `streamlit run` on localhost, a photo uploaded through the page with
Selenium and Debian's headless Chromium, the before/after slider waited for, moved and screenshotted,
then the side-by-side view.

With COLORIZER_SCREENSHOT=PATH the screenshot of the slider is also written there, and with
COLORIZER_BROWSER_WEIGHTS=DIR the page uses that weights folder instead of tiny random weights: the
README's screenshot is `COLORIZER_BROWSER_WEIGHTS=weights COLORIZER_SCREENSHOT=docs/page_slider.jpg
.venv/bin/python -m pytest tests/test_browser.py`."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers import BW_PHOTO, ROOT, make_weights

pytestmark = pytest.mark.slow  # a real browser against a real server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _need_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if not missing:
        return
    msg = (f"{' and '.join(missing)} not installed (apt-get install -y chromium chromium-driver); "
           "the browser test needs Debian's Chromium")
    if os.environ.get("CI"):
        pytest.fail(msg + " - on CI it must run")
    pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"streamlit not healthy after {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def _serve(weights: Path, tmp_path: Path):
    """The app on a free localhost port with that weights folder: (url, log); always stopped at the end."""
    port = _free_port()
    log = tmp_path / "streamlit.log"
    env = dict(os.environ, COLORIZER_WEIGHTS_DIR=str(weights), PYTHONPATH=str(ROOT))
    env.pop("COLORIZER_WEIGHTS", None)  # it would win over the folder (infer.resolve_weights)
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
             "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc, log)
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def server(tmp_path):
    """The app with tiny weights (or $COLORIZER_BROWSER_WEIGHTS)."""
    if os.environ.get("COLORIZER_BROWSER_WEIGHTS"):
        weights = ROOT / os.environ["COLORIZER_BROWSER_WEIGHTS"]  # relative to the repo (tests run in tmp)
    else:
        weights = tmp_path / "weights"
        weights.mkdir()
        make_weights(weights)
    with _serve(weights, tmp_path) as served:
        yield served


@pytest.fixture
def browser(tmp_path):
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)


RESULT_IMAGE_JS = """
for (const box of document.querySelectorAll('[data-testid="stImage"]')) {
  if (box.textContent.includes('Colorized')) {
    const img = box.querySelector('img');
    if (img && img.complete && img.naturalWidth > 0) return [img.naturalWidth, img.naturalHeight];
  }
}
return null;
"""

# Inside the slider's frame: the two images loaded, the handle's position and the clip of the input.
SLIDER_JS = """
const box = document.querySelector('[data-testid="compare"]');
if (!box) return null;
const imgs = [...box.querySelectorAll('img')];
if (imgs.length != 2 || !imgs.every(i => i.complete && i.naturalWidth > 0)) return null;
const r = box.getBoundingClientRect();
return {position: Number(box.dataset.position), clip: box.querySelector('.before').style.clipPath,
        sizes: imgs.map(i => [i.naturalWidth, i.naturalHeight]), alts: imgs.map(i => i.alt),
        width: r.width, height: r.height};
"""


def _slider_frame(browser, timeout: float = 240):
    """The slider's iframe, once the page shows one (the frame is not entered)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def frame(d):
        for f in d.find_elements(By.CSS_SELECTOR, "iframe"):
            if "compare" in (f.get_attribute("srcdoc") or ""):
                return f
        return None

    return WebDriverWait(browser, timeout, poll_frequency=0.5).until(frame)


def test_upload_in_browser_shows_slider_and_side_by_side(browser, server, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    url, log = server
    browser.get(url)
    def photos_uploader(d):  # the Photos tab's (the Sketch tab, laid out first, has its own with shipped weights)
        return next((u.find_element(By.CSS_SELECTOR, 'input[type="file"]')
                     for u in d.find_elements(By.CSS_SELECTOR, '[data-testid="stFileUploader"]')
                     if (u.get_attribute("textContent") or "").startswith("Photos (")), None)

    try:
        upload = WebDriverWait(browser, 240).until(photos_uploader)  # real weights load before the uploader shows
    except Exception as err:
        raise AssertionError(f"no uploader on the page: {browser.find_element(By.TAG_NAME, 'body').text[-1500:]}\n"
                             f"{log.read_text()[-1500:]}") from err
    upload.send_keys(str(BW_PHOTO))

    # the slider: both images at the photo's size, the handle in the middle, the input uncovered left of it
    frame = _slider_frame(browser)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", frame)
    browser.switch_to.frame(frame)
    state = WebDriverWait(browser, 30, poll_frequency=0.3).until(lambda d: d.execute_script(SLIDER_JS))
    assert state["sizes"] == [[618, 409], [618, 409]], state  # the photo's own size and aspect ratio
    assert state["alts"] == ["Colorized", "Input"]
    assert state["position"] == 50 and state["clip"] == "inset(0px 50% 0px 0px)", state
    assert abs(state["width"] / state["height"] - 618 / 409) < 0.02, state  # not squashed
    browser.switch_to.default_content()
    assert frame.size["height"] >= state["height"] - 2, (frame.size, state)  # the frame shows all of it

    # it moves: a click at a quarter of the width, then the arrow keys
    browser.switch_to.frame(frame)
    handle = browser.find_element(By.CSS_SELECTOR, '[data-testid="compare"] input[type="range"]')
    ActionChains(browser).move_to_element_with_offset(handle, -round(state["width"] / 4), 0).click().perform()
    moved = browser.execute_script(SLIDER_JS)
    assert 20 <= moved["position"] <= 30, moved
    assert moved["clip"] == f"inset(0px {100 - moved['position']:g}% 0px 0px)", moved
    handle.send_keys(Keys.ARROW_RIGHT * 4)
    assert browser.execute_script(SLIDER_JS)["position"] == moved["position"] + 2
    browser.switch_to.default_content()
    shot = tmp_path / "page.png"
    browser.save_screenshot(str(shot))
    assert shot.is_file() and shot.stat().st_size > 10_000
    if os.environ.get("COLORIZER_SCREENSHOT"):
        from PIL import Image  # the format by the name's suffix (the README's is a JPEG)
        Image.open(shot).convert("RGB").save(ROOT / os.environ["COLORIZER_SCREENSHOT"], quality=85)
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "618×409 px" in page and "Download PNG" in page
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="stDownloadButton"] button')

    # side by side: the result as a plain image, at the photo's size
    option = next(lab for lab in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stRadio"] label')
                  if lab.text.strip() == "Side by side")
    option.click()
    size = WebDriverWait(browser, 60, poll_frequency=0.5).until(lambda d: d.execute_script(RESULT_IMAGE_JS))
    assert tuple(size) == (618, 409), size
    assert "Traceback" not in log.read_text()


# ---- color hints: a click on the photo, a strong red from the palette, the region turns red -------

def _shipped_hints_weights() -> Path | None:
    """The hints weights in the repo's weights/ (task "hints"), or $COLORIZER_BROWSER_HINTS."""
    if os.environ.get("COLORIZER_BROWSER_HINTS"):
        return ROOT / os.environ["COLORIZER_BROWSER_HINTS"]
    from colorizer.checkpoint import HINTS, find_weights

    found = find_weights(ROOT / "weights", HINTS)
    return found[0] if found else None


IMAGE_JS = """
const img = document.getElementById('image');
if (!img || !img.complete || img.naturalWidth == 0) return null;
const r = img.getBoundingClientRect();
return {src: img.src, width: r.width, height: r.height, natural: [img.naturalWidth, img.naturalHeight]};
"""

RED = (192, 57, 43)  # app_hints.COMMON_COLORS[0]: a strong red


def _decode(src: str):
    import base64
    import io

    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB")


def _ring_ab(image, x: float, y: float, inner: float, outer: float):
    """The mean CIELAB (a, b) of image's pixels between radii inner and outer around (x, y)."""
    import numpy as np

    from colorizer.metrics import lab_ab

    ab = lab_ab(np.asarray(image))
    yy, xx = np.mgrid[:ab.shape[0], :ab.shape[1]]
    d = np.hypot(xx - x, yy - y)
    ring = (d >= inner) & (d <= outer)
    return ab[ring].mean(0)


def test_a_hint_clicked_in_the_browser_turns_its_region_red(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    import numpy as np

    from colorizer.hints import page as app_hints
    from colorizer.metrics import lab_ab

    hinted = _shipped_hints_weights()
    if hinted is None:
        pytest.skip("no hints weights in weights/ yet (python pretrain.py --task hints ...)")
    weights = tmp_path / "weights"
    weights.mkdir()
    make_weights(weights)  # the automatic default; the hints weights beside it are found by their metadata
    shutil.copy(hinted, weights / hinted.name)
    with _serve(weights, tmp_path) as (url, log):
        browser.get(url)
        upload = WebDriverWait(browser, 240).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, 'input[type="file"]')))
        upload.send_keys(str(BW_PHOTO))
        toggle = WebDriverWait(browser, 240, poll_frequency=0.5).until(lambda d: next(
            (lab for lab in d.find_elements(By.CSS_SELECTOR, '[data-testid="stCheckbox"] label, label')
             if "Color hints" in lab.text), None))
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", toggle)
        toggle.click()

        def frames(d):
            found = [f for f in d.find_elements(By.CSS_SELECTOR, "iframe")
                     if "streamlit_image_coordinates" in (f.get_attribute("src") or "")]
            return found if len(found) >= 2 else None

        def shown(frame, accept=lambda s: True, timeout=240):
            def look(d):
                d.switch_to.frame(frame)
                try:
                    state = d.execute_script(IMAGE_JS)
                finally:
                    d.switch_to.default_content()
                return state if state and accept(state) else None
            return WebDriverWait(browser, timeout, poll_frequency=0.5).until(look)

        photo, swatches = WebDriverWait(browser, 240, poll_frequency=0.5).until(frames)[:2]
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", photo)
        before = shown(photo)
        assert before["natural"] == [618, 409], before
        auto = _decode(before["src"])
        px, py = 0.5 * 618, 0.3 * 409  # a point of the photo (in its pixels), then where it is on screen
        browser.switch_to.frame(photo)
        img = browser.find_element(By.ID, "image")
        ActionChains(browser).move_to_element_with_offset(
            img, round((px / 618 - 0.5) * before["width"]), round((py / 409 - 0.5) * before["height"])).click().perform()
        browser.switch_to.default_content()
        WebDriverWait(browser, 240, poll_frequency=0.5).until(
            lambda d: "1 hint(s)" in d.find_element(By.TAG_NAME, "body").text)

        # the palette: once it holds the model's colors near the click (before them it is COMMON_COLORS alone,
        # and a click there would land on another square), find the strong red's square and click its centre
        common = len(app_hints.COMMON_COLORS)
        strip = shown(swatches, lambda s: s["natural"][0] * s["natural"][1] > common * app_hints.SWATCH ** 2)
        colors = _decode(strip["src"])
        columns, rows = colors.width // app_hints.SWATCH, colors.height // app_hints.SWATCH
        squares = [((i % columns + 0.5) * app_hints.SWATCH, (i // columns + 0.5) * app_hints.SWATCH)
                   for i in range(columns * rows)]
        centres = [colors.getpixel((int(x), int(y))) for x, y in squares]
        red = min(range(len(squares)), key=lambda i: sum((a - b) ** 2 for a, b in zip(centres[i], RED)))
        assert centres[red] == RED, centres
        browser.switch_to.frame(swatches)
        img = browser.find_element(By.ID, "image")
        scale = strip["width"] / colors.width
        (sx, sy) = squares[red]
        ActionChains(browser).move_to_element_with_offset(
            img, round((sx - colors.width / 2) * scale), round((sy - colors.height / 2) * scale)).click().perform()
        browser.switch_to.default_content()

        # the result shown: redder around the point (outside the hint's own dot) than before, the color moved
        # toward the hint's hue. Not "a* > b*": on a light photo the model's red comes out warm (b* rises too)
        dot = max(4, round(app_hints.DOT * 409))
        a0, b0 = _ring_ab(auto, px, py, dot + 3, dot + 12)
        ha, hb = lab_ab(np.array([[RED]], np.uint8))[0, 0]

        def red_now(state):
            a, b = _ring_ab(_decode(state["src"]), px, py, dot + 3, dot + 12)
            da, db = a - a0, b - b0
            return da > 15 and (da * ha + db * hb) > 0.7 * np.hypot(da, db) * np.hypot(ha, hb)
        after = shown(photo, red_now, timeout=120)
        a1, b1 = _ring_ab(_decode(after["src"]), px, py, dot + 3, dot + 12)
        assert a1 > a0 + 15, (a0, a1, b1)
        shot = tmp_path / "hints.png"
        browser.save_screenshot(str(shot))
        if os.environ.get("COLORIZER_HINTS_SCREENSHOT"):
            from PIL import Image
            Image.open(shot).convert("RGB").save(ROOT / os.environ["COLORIZER_HINTS_SCREENSHOT"], quality=85)
        assert "Traceback" not in log.read_text()
