"""The built site in a real browser: headless Chromium, driven by selenium, as a reader sees it.

Serves ``_build/html`` on localhost and opens the home page and every page of the table of
contents. Needs Debian's ``chromium`` and ``chromium-driver``; ``make test`` installs them
where it can (``make browser``), and these tests skip, saying so, where it could not.
The browser can reach nothing but the local server, as a reader offline or behind a
firewall: the site must serve everything a page loads (MathJax too), and every page is
checked to request nothing from another origin and to show its formulas typeset.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from booktools.checks import toc_files
from booktools.execution import notebook_chapters

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
PAGES = ["index"] + [TOC["root"]] + sorted(toc_files(ROOT / "_toc.yml") - {TOC["root"]})
WAIT_SECONDS = 30
#: The math nodes Sphinx writes (inline ``span.math``, display and amsmath ``div.math``),
#: each typeset by MathJax 3 into one ``mjx-container``
MATH_NODES = "span.math, div.math"
#: TeX delimiters that MathJax removes when it typesets: visible ones mean raw TeX
TEX_DELIMITERS = ("\\(", "\\)", "\\[", "\\]")
#: pages screenshot with their formulas in view, for a person to look at
MATH_SCREENSHOTS = ("chapters/power-laws", "chapters/compute-optimal",
                    "chapters/what-is-emergence")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Base URL of ``directory``, served from a thread on a free localhost port."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.skip(f"Chromium is not installed ({', '.join(missing)} missing): run "
                    "'make browser' as root on Debian, or install the packages 'chromium' and "
                    "'chromium-driver', to run the browser tests")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1600",
                     # every host but the local server is refused, as offline
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(argument)
    # performance: every request the page makes, including those refused
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # an explicit driver keeps selenium from looking for one on the network
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    yield driver
    driver.quit()


def site_errors(entries: list[dict], base_url: str) -> list[str]:
    """Severe console entries, except failures to fetch resources from other hosts.

    The browser refuses those requests, and the page's test of requests that leave the
    site names them. The browser's own request for /favicon.ico is ignored too: the book is
    published below the root of its host, so that address is not the book's.
    """
    local = urlsplit(base_url).netloc
    errors = []
    for entry in entries:
        if entry.get("level") != "SEVERE":
            continue
        words = entry.get("message", "").split()
        url = urlsplit(words[0]) if words else None
        if entry.get("source") == "network" and url is not None and (
                url.netloc != local or url.path == "/favicon.ico"):
            continue
        errors.append(entry["message"])
    return errors


def test_site_errors_keep_local_failures_and_drop_unreachable_cdns():
    base = "http://127.0.0.1:8000/"
    entries = [
        {"level": "SEVERE", "source": "network",
         "message": "https://cdn.jsdelivr.net/npm/mathjax@3/tex-chtml.js - Failed to load"},
        {"level": "SEVERE", "source": "network",
         "message": "http://127.0.0.1:8000/_static/missing.js - Failed to load: 404"},
        {"level": "SEVERE", "source": "javascript",
         "message": "http://127.0.0.1:8000/_static/a.js 3:7 Uncaught TypeError: x is null"},
        {"level": "SEVERE", "source": "network",
         "message": "http://127.0.0.1:8000/favicon.ico - Failed to load resource: 404"},
        {"level": "WARNING", "source": "console-api", "message": "deprecated"},
    ]
    assert site_errors(entries, base) == [entries[1]["message"], entries[2]["message"]]


def requests_leaving(entries: list[dict], base_url: str) -> list[str]:
    """URLs of the requests, in chromedriver's performance log, to anywhere but the site.

    Inline data (``data:``, ``blob:``) and ``about:`` pages stay in the browser.
    """
    local = urlsplit(base_url)
    leaving = []
    for entry in entries:
        event = json.loads(entry["message"])["message"]
        if event.get("method") != "Network.requestWillBeSent":
            continue
        url = urlsplit(event["params"]["request"]["url"])
        if url.scheme in ("data", "blob", "about"):
            continue
        if (url.scheme, url.netloc) != (local.scheme, local.netloc):
            leaving.append(url.geturl())
    return leaving


def _request(url: str) -> dict:
    return {"message": json.dumps({"message": {"method": "Network.requestWillBeSent",
                                               "params": {"request": {"url": url}}}})}


def test_requests_leaving_keeps_only_other_origins():
    base = "http://127.0.0.1:8000/"
    entries = [
        _request("http://127.0.0.1:8000/chapters/power-laws.html"),
        _request("http://127.0.0.1:8000/_static/mathjax/tex-mml-chtml.js"),
        _request("https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"),
        _request("http://127.0.0.1:9999/elsewhere.js"),
        _request("data:image/png;base64,iVBORw0KGgo="),
        {"message": json.dumps({"message": {"method": "Network.dataReceived", "params": {}}})},
    ]
    assert requests_leaving(entries, base) == [
        "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js",
        "http://127.0.0.1:9999/elsewhere.js"]


def _open(browser, url: str) -> list[str]:
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get_log("performance")
    browser.get(url)
    return site_errors(browser.get_log("browser"), url)


_BROKEN_IMAGES = """
const base = arguments[0];
return Array.from(document.images)
  .filter(img => img.src.startsWith(base))
  .filter(img => !(img.complete && img.naturalWidth > 0))
  .map(img => img.getAttribute('src'));
"""


def test_the_checks_catch_a_script_error_and_a_missing_image(browser, tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><body><main><img src='missing.png'></main>"
        "<script>const twice = 1;</script><script>const twice = 2;</script></body></html>")
    with serve(tmp_path) as url:
        errors = _open(browser, f"{url}page.html")
        broken = browser.execute_script(_BROKEN_IMAGES, url)
    assert any("missing.png" in error for error in errors), errors
    assert any("already been declared" in error for error in errors), errors
    assert broken == ["missing.png"]


_TYPESET = """
const done = arguments[arguments.length - 1];
if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
  done('MathJax did not start');
} else {
  MathJax.startup.promise.then(() => done(null), error => done(String(error)));
}
"""


def math_nodes(html_file: Path) -> int:
    """How many formulas the built page ``html_file`` holds for MathJax to typeset."""
    soup = BeautifulSoup(html_file.read_text(encoding="utf-8"), "html.parser")
    return len(soup.select(MATH_NODES))


def test_math_nodes_counts_inline_display_and_amsmath(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        '<p>A <span class="math notranslate nohighlight">\\(x\\)</span> and '
        '<span class="math notranslate nohighlight">\\(y\\)</span></p>'
        '<div class="math notranslate nohighlight">\\[L(N)\\]</div>'
        '<div class="math notranslate nohighlight">\\begin{align}a&=b\\end{align}</div>'
        '<span class="mathematics">not math</span>')
    assert math_nodes(page) == 4


def test_math_pages_are_all_visited(site):
    """Every page of the site with a formula is one the browser tests open."""
    with_math = {path.relative_to(site).with_suffix("").as_posix()
                 for path in site.rglob("*.html")
                 if "_static" not in path.relative_to(site).parts and math_nodes(path)}
    assert with_math, "no page of the site has math: the math checks would check nothing"
    assert with_math <= set(PAGES), f"pages with math the browser skips: {with_math - set(PAGES)}"


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_cleanly_typesets_its_math_and_requests_nothing_from_elsewhere(
        browser, server, site, page):
    """One visit per page (page loads are most of this module's time): no console error,
    content shown, every image loaded, every formula typeset, no request leaving the site."""
    url = f"{server}{page}.html"
    errors = _open(browser, url)
    if page == "index":
        # the home page forwards the reader to the root page of the book
        WebDriverWait(browser, WAIT_SECONDS).until(
            lambda d: d.current_url.endswith(f"{TOC['root']}.html")
            and d.execute_script("return document.readyState;") == "complete")
        errors += site_errors(browser.get_log("browser"), url)
    assert errors == [], f"{page}: console errors:\n" + "\n".join(errors)
    assert browser.find_elements("css selector", "article, main"), f"{page} shows no content"
    # lazy images load when scrolled into view: make them all load now
    browser.execute_script(
        "document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager');")
    WebDriverWait(browser, WAIT_SECONDS).until(lambda d: d.execute_script(
        "return Array.from(document.images).every(i => i.complete);"))
    broken = browser.execute_script(_BROKEN_IMAGES, server)
    assert broken == [], f"{page}: images that did not load: {broken}"
    expected = math_nodes(site / f"{page}.html")
    if expected:
        browser.set_script_timeout(WAIT_SECONDS)
        assert browser.execute_async_script(_TYPESET) is None, f"{page}: MathJax failed"
    typeset = browser.execute_script("return document.querySelectorAll('mjx-container').length;")
    tex_errors = browser.execute_script("return document.querySelectorAll('mjx-merror').length;")
    text = browser.execute_script("return document.body.innerText;")
    leaving = requests_leaving(browser.get_log("performance"), url)
    assert typeset >= expected, f"{page}: {typeset} formulas typeset of {expected}"
    assert tex_errors == 0, f"{page}: {tex_errors} formulas typeset as TeX errors"
    raw = [delimiter for delimiter in TEX_DELIMITERS if delimiter in text]
    assert raw == [], f"{page}: raw TeX {raw} in the visible text"
    assert leaving == [], f"{page}: requests that leave the site: {leaving}"
    if page in MATH_SCREENSHOTS:
        assert expected, f"{page} has no formula to show"
        browser.execute_script("document.querySelector('mjx-container').scrollIntoView("
                               "{block: 'center'});")
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"math-{page.rsplit('/', 1)[-1]}.png"
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000, shot


def test_search_finds_scaling(browser, server):
    errors = _open(browser, f"{server}search.html?q=scaling")
    results = WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: d.find_elements("css selector", "#search-results ul.search li"))
    assert results, "no search result for 'scaling'"
    assert errors == [], "\n".join(errors)


def _toc_order(entries: set[str]) -> list[str]:
    listed = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return sorted(entries, key=lambda entry: listed.index(f"file: {entry}"))


#: the first executable chapter in reading order: code, outputs and figures
CHAPTER = _toc_order({p.relative_to(ROOT).with_suffix("").as_posix()
                      for p in notebook_chapters(ROOT)} - {TOC["root"]})[0]


def test_screenshot_of_a_chapter(browser, server):
    _open(browser, f"{server}{CHAPTER}.html")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{CHAPTER.rsplit('/', 1)[-1]}.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000, shot


def test_chapter_shows_citation_and_switches_theme(browser, server):
    _open(browser, f"{server}{CHAPTER}.html")
    block = browser.find_element("id", "cite-this-page")
    assert "@misc" in block.text and block.is_displayed()
    state = "return [document.documentElement.dataset.mode, document.documentElement.dataset.theme];"
    before = browser.execute_script(state)
    browser.execute_script("document.querySelector('.theme-switch-button').click();")
    after = browser.execute_script(state)
    assert before != after and after[1] in ("light", "dark"), (before, after)



def test_one_click_from_a_named_function_to_its_source(browser, server):
    """The reader clicks a library function named in the prose and lands on its ``def``."""
    _open(browser, f"{server}chapters/library-reference.html")
    link = browser.find_element("xpath", "//article//p//a[contains(@class, 'source-link')]"
                                         "[code[normalize-space()='emergence.lm.load_lm']]")
    link.click()
    WebDriverWait(browser, WAIT_SECONDS).until(lambda d: "/_modules/" in d.current_url)
    assert browser.current_url.endswith("#load_lm"), browser.current_url
    block = browser.find_element("id", "load_lm")
    assert "def load_lm(" in block.text and block.is_displayed()
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "source-of-load_lm.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000, shot


def test_screenshot_of_a_chapter_s_numbered_exercises(browser, server):
    _open(browser, f"{server}{CHAPTER}.html")
    title = browser.find_element("css selector", "div.exercise p.admonition-title")
    assert title.text.startswith("Exercise ") and "." in title.text.split()[1], title.text
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", title)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"exercises-{CHAPTER.rsplit('/', 1)[-1]}.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000, shot
