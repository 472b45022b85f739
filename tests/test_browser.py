"""A rendered dashboard and the index in headless Chromium with the network off.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make browser-deps``) and Selenium 4; skipped
otherwise. The unit shown has an id with quotes and a newline and is named like an HTML injection:
the name must appear as text and no script of it may run.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from helpers import rename_unit

from analysis import charts, reports

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WEIRD_ID = 'thpt"pdg\'\n) #'
XSS = "<img src=x onerror=alert(1)>"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1366,900"]
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:", "chrome-error:")

webdriver = pytest.importorskip("selenium.webdriver")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):  # pragma: no cover - depends on the machine
    pytest.skip("needs /usr/bin/chromium and /usr/bin/chromedriver (make browser-deps)", allow_module_level=True)


@pytest.fixture(scope="module")
def site(sample_processed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The dashboard of the oddly named unit and the index of its batch."""
    base = tmp_path_factory.mktemp("browser")
    data = base / "processed"
    shutil.copytree(sample_processed, data)
    rename_unit(data, "thpt-pdg", WEIRD_ID, XSS)
    summary = reports.render_batch(data, base / "reports", years=(2020, 2020), unit_ids=[WEIRD_ID])
    assert summary["ok"], summary
    return {"dashboard": Path(summary["reports"][0]["path"]), "index": Path(summary["index"])}


@pytest.fixture(scope="module")
def driver():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    drv.execute_cdp_cmd("Network.enable", {})
    drv.execute_cdp_cmd("Network.emulateNetworkConditions",
                        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
    drv.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };")})
    yield drv
    drv.quit()


def _open(driver, path: Path, plots: int = 0) -> dict:
    """Load a page offline; wait for its charts; return what left the page and the console."""
    driver.get_log("performance")
    driver.get_log("browser")
    driver.get(path.as_uri())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready = driver.execute_script("return document.readyState") == "complete"
        drawn = driver.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length")
        if ready and drawn >= plots:
            break
        time.sleep(0.2)
    time.sleep(0.3)
    import json

    requests = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
    urls = [m["params"]["request"]["url"] for m in requests if m.get("method") == "Network.requestWillBeSent"]
    urls += driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return {"urls": urls, "console": driver.get_log("browser")}


def _chart_divs(path: Path) -> int:
    return path.read_text(encoding="utf-8").count('class="plotly-graph-div"')


def test_every_chart_draws_with_the_network_off(driver, site: dict[str, Path]) -> None:
    expected = _chart_divs(site["dashboard"])
    _open(driver, site["dashboard"], expected)
    drawn = driver.execute_script("return document.querySelectorAll('.js-plotly-plot').length")
    widths = driver.execute_script(
        "return Array.from(document.querySelectorAll('.js-plotly-plot .main-svg')).map(s => s.getBoundingClientRect().width)")
    assert expected >= 5 and drawn == expected and all(w > 300 for w in widths)


def test_no_request_leaves_the_page_and_no_console_error(driver, site: dict[str, Path]) -> None:
    seen = _open(driver, site["dashboard"], _chart_divs(site["dashboard"]))
    assert seen["urls"] and all(u.startswith(LOCAL_SCHEMES) for u in seen["urls"]), seen["urls"]
    assert [e for e in seen["console"] if e["level"] == "SEVERE"] == []


def test_injected_name_is_text_in_the_dashboard_and_no_script_runs(driver, site: dict[str, Path]) -> None:
    _open(driver, site["dashboard"], _chart_divs(site["dashboard"]))
    assert driver.execute_script("return document.querySelector('.hoctap h1').textContent") == XSS
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert driver.execute_script("return window.__alerts") == []


def test_injected_name_is_text_in_the_index_and_no_script_runs(driver, site: dict[str, Path]) -> None:
    seen = _open(driver, site["index"])
    assert XSS in driver.execute_script("return document.querySelector('td.unit').textContent")
    assert driver.execute_script("return document.querySelectorAll('img').length") == 0
    assert driver.execute_script("return window.__alerts") == []
    assert all(u.startswith(LOCAL_SCHEMES) for u in seen["urls"])
    href = driver.execute_script("return document.querySelector('td a').getAttribute('href')")
    assert (site["index"].parent / href).resolve() == site["dashboard"].resolve()


def test_charts_fit_an_a4_page_when_printed(driver, site: dict[str, Path]) -> None:
    _open(driver, site["dashboard"], _chart_divs(site["dashboard"]))
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        driver.execute_script("window.dispatchEvent(new Event('beforeprint'))")
        time.sleep(0.8)
        widths = driver.execute_script(
            "return Array.from(document.querySelectorAll('.js-plotly-plot .main-svg'))"
            ".map(s => s.getBoundingClientRect().width)")
        modebars = driver.execute_script(
            "return Array.from(document.querySelectorAll('.modebar-container'))"
            ".filter(m => getComputedStyle(m).display !== 'none').length")
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        driver.execute_script("window.dispatchEvent(new Event('afterprint'))")
    printable_px = (210 - 28) / 25.4 * 96
    assert widths and max(widths) <= min(charts.PRINT_WIDTH_PX, printable_px) + 1 and modebars == 0
