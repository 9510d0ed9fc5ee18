"""The page in a real browser: `streamlit run` on localhost, a photo uploaded through the page with
Selenium and Debian's headless Chromium, the colorized result waited for and screenshotted."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from test_app import BW_PHOTO, ROOT, tiny_weights

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


@pytest.fixture
def server(tmp_path):
    """The app on a free localhost port, with tiny weights; always stopped at the end."""
    weights = tmp_path / "weights"
    weights.mkdir()
    tiny_weights(weights)
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


def test_upload_in_browser_shows_result(browser, server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, log = server
    browser.get(url)
    upload = WebDriverWait(browser, 60).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, 'input[type="file"]')))
    upload.send_keys(str(BW_PHOTO))
    try:
        size = WebDriverWait(browser, 90, poll_frequency=0.5).until(lambda d: d.execute_script(RESULT_IMAGE_JS))
    finally:
        shot = tmp_path / "page.png"
        browser.save_screenshot(str(shot))
    assert tuple(size) == (618, 409), size  # the photo's own size and aspect ratio
    assert shot.is_file() and shot.stat().st_size > 10_000
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "618×409 px" in page and "Download PNG" in page
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="stDownloadButton"] button')
    assert "Traceback" not in log.read_text()
