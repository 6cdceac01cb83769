"""The web chatbot in headless Chromium (Debian ``chromium`` + ``chromium-driver``, driven by selenium):
type a question, see the answer stream in with a citation, click it, see the quoted span highlighted.

Without the browser the test skips on a developer machine and FAILS in CI (``CI=true``): ``.ci/run`` and
``make test`` install it. ``RAGKIT_SCREENSHOT=docs/web-chatbot.png`` also saves a screenshot there.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.server.live import LiveServer

CHROMIUM = "/usr/bin/chromium"
QUESTION = "What is the rate limit for API tokens?"


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    message = "headless Chromium missing: apt-get install -y chromium chromium-driver"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def browser():
    chromium, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,760", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def example_kit(tmp_path_factory: pytest.TempPathFactory):
    """examples/docs indexed with the default embedder (MiniLM), as `make demo` does."""
    import ragkit

    kit = ragkit.open(tmp_path_factory.mktemp("web") / "store")
    kit.index([REPO / "examples" / "docs"])
    yield kit
    kit.close()


# Records what the answer bubble showed while it was still streaming.
WATCH = """
window.streamed = [];
new MutationObserver(() => {
  for (const el of document.querySelectorAll('.answer.streaming')) {
    if (el.textContent) window.streamed.push(el.textContent);
  }
}).observe(document.getElementById('messages'), {subtree: true, childList: true, characterData: true});
"""


def test_ask_stream_click_citation_see_highlight(browser, example_kit):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from ragkit.server.app import create_app

    with LiveServer(create_app(example_kit)) as server:
        browser.get(server.url + "/")
        browser.execute_script(WATCH)
        box = browser.find_element(By.ID, "question")
        box.send_keys(QUESTION, Keys.ENTER)
        wait = WebDriverWait(browser, 120)
        citation = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".turn.assistant .answer button.citation")))
        answer = browser.find_element(By.CSS_SELECTOR, ".turn.assistant .answer").text
        assert "600 requests per minute" in answer
        streamed = browser.execute_script("return window.streamed")
        assert streamed and "600 requests per minute" in streamed[-1]  # tokens shown before the final render
        sources = browser.find_element(By.CSS_SELECTOR, ".turn.assistant .sources").text
        assert "api.html" in sources
        citation.click()
        mark = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#passage-text mark#highlight")))
        assert "600 requests per minute" in mark.text
        assert "api.html" in browser.find_element(By.ID, "passage-title").text
        full = browser.find_element(By.ID, "passage-text").text
        assert len(full) > len(mark.text)  # the whole document, with the quoted span marked
        shot = os.environ.get("RAGKIT_SCREENSHOT")
        if shot:
            browser.save_screenshot(shot)
