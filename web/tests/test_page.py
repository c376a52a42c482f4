"""The verification page in a real headless Chromium (Debian's chromium and chromium-driver,
driven over WebDriver by selenium with the driver path given explicitly), served at / by the
attestation server (snp-vtpm-server --web) on 127.0.0.1, under its content-security policy:
each real evidence verifies and the page shows its facts; tampered evidence and a wrong nonce
show the failed check; the policy download works; the browser reports no policy violation.
Screenshots go to SNP_VTPM_SCREENSHOTS. Run by `cargo xtask web --test`."""

import json
import os
import pathlib
import subprocess
import tempfile
import threading
import time


import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

WEB = pathlib.Path(os.environ["SNP_VTPM_WEB"])
VECTORS = pathlib.Path(os.environ["SNP_VTPM_VECTORS"]).resolve()
GENERATED = pathlib.Path(os.environ["SNP_VTPM_JS_EVIDENCE"])
SHOTS = pathlib.Path(os.environ["SNP_VTPM_SCREENSHOTS"])
DOWNLOADS = SHOTS / "downloads"

MILAN_V3_USERDATA_NONCE = "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef"
GENOA_NONCE = "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f"


@pytest.fixture(scope="module")
def site():
    """The page at / of snp-vtpm-server (SNP_VTPM_SERVER_BIN) on a free loopback port."""
    with tempfile.TemporaryDirectory() as cache:
        server = subprocess.Popen(
            [os.environ["SNP_VTPM_SERVER_BIN"], "--listen", "127.0.0.1:0", "--offline", "--no-crl-fetch",
             "--cache-dir", cache, "--web", str(WEB)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        said = []
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = server.stderr.readline()
            if not line:
                break
            said.append(line.strip())
            if line.startswith("snp-vtpm-server: listening on "):
                url = line.split("listening on ", 1)[1].split()[0]
        assert url, f"snp-vtpm-server did not start: {said}"
        assert any("the verification page at / from" in line for line in said), said
        # Keep draining its log so that it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        yield url + "/"
        server.terminate()
        server.wait(timeout=10)



@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,2400"]:
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(DOWNLOADS)})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def load(browser, site):
    browser.get(site)
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "ready")
    assert_console_clean(browser)


def assert_console_clean(browser):
    """No content-security-policy violation, failed load or wasm MIME fallback since the last
    look at the console (the server's policy must let the page do all it does)."""
    problems = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] in ("SEVERE", "WARNING")
        or "Content Security Policy" in entry["message"]
        or "application/wasm" in entry["message"]
    ]
    assert not problems, problems



def fill(browser, evidence, nonce, hex_nonce=False, chain=None, collateral=None, at=None):
    browser.execute_script("document.getElementById('evidence').value = arguments[0];", evidence)
    browser.find_element(By.ID, "nonce").send_keys(nonce)
    if hex_nonce:
        browser.find_element(By.ID, "nonce-hex").click()
    if chain:
        browser.find_element(By.ID, "chain").send_keys(str(chain))
    if collateral:
        browser.find_element(By.ID, "collateral").send_keys(str(collateral))
    if at:
        browser.execute_script("document.getElementById('at').value = arguments[0];", at)
    # The file inputs are read asynchronously.
    time.sleep(0.3)


def verify(browser, name):
    browser.find_element(By.ID, "verify").click()
    WebDriverWait(browser, 60).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") in ("verified", "failed")
    )
    browser.save_screenshot(str(SHOTS / f"{name}.png"))
    return browser.find_element(By.ID, "headline").text


def claims(browser):
    rows = browser.find_elements(By.CSS_SELECTOR, "#claims tr")
    return {r.find_element(By.TAG_NAME, "th").text: r.find_element(By.TAG_NAME, "td").text for r in rows}


def stages(browser):
    return [(li.text, li.get_attribute("data-state")) for li in browser.find_elements(By.CSS_SELECTOR, "#chain-of-trust li")]


def test_each_real_evidence_verifies_and_shows_its_facts(browser, site):
    cases = [
        ("milan-v3", (VECTORS / "azure/milan-v3/evidence-v0.json").read_text(), "challenge", False, None, "Milan", "942fd93ebde6ea7a"),
        ("milan-v2", (GENERATED / "milan-v2.json").read_text(), "challenge", False, None, "Milan", "0356215882a8"),
        ("milan-v3-userdata", (VECTORS / "azure/milan-v3-userdata/evidence-v2.json").read_text(), MILAN_V3_USERDATA_NONCE, True, None, "Milan", "942fd93ebde6ea7a"),
        ("genoa-v3", (VECTORS / "azure/genoa-v3/evidence-genoa.json").read_text(), GENOA_NONCE, True, VECTORS / "azure/genoa-v3/vcek-genoa.pem", "Genoa", None),
    ]
    timings = {}
    for name, evidence, nonce, hex_nonce, chain, product, id_key in cases:
        load(browser, site)
        fill(browser, evidence, nonce, hex_nonce, chain, at="2026-01-01T00:00:00")
        assert verify(browser, name) == "VERIFIED", browser.find_element(By.ID, "failure").text
        assert_console_clean(browser)
        shown = claims(browser)
        assert shown["product"] == product, shown
        if id_key:
            assert shown["ID-key digest"].startswith(id_key), shown
        assert "azure-snp-paravisor" in shown["firmware"], shown
        assert all(state in ("passed", "skipped") for _, state in stages(browser)), stages(browser)
        assert browser.find_elements(By.CSS_SELECTOR, "#pcrs tr[data-pcr='7'] td")[0].text.startswith("Secure Boot")
        timings[name] = float(browser.find_element(By.ID, "status").get_attribute("data-milliseconds"))
    (SHOTS / "timings.json").write_text(json.dumps(timings, indent=2))
    print("in-browser verification (ms):", timings)


def test_tdx_evidence_verifies_under_intels_root(browser, site):
    load(browser, site)
    fill(
        browser,
        (GENERATED / "tdx-vm1.json").read_text(),
        "00" * 32,
        hex_nonce=True,
        collateral=VECTORS / "azure/tdx-vm1/intel-collateral.json",
        at="2026-02-18T14:04:40",
    )
    assert verify(browser, "tdx-vm1") == "VERIFIED", browser.find_element(By.ID, "failure").text
    labels = [label for label, _ in stages(browser)]
    assert labels[1].startswith("Intel SGX root"), labels
    assert "mr_td" in browser.find_element(By.ID, "json").get_attribute("textContent")


def test_tampered_evidence_and_a_wrong_nonce_name_the_failed_check(browser, site):
    evidence = json.loads((VECTORS / "azure/milan-v3/evidence-v0.json").read_text())
    evidence["quote"]["signature"][40] ^= 1
    load(browser, site)
    fill(browser, json.dumps(evidence), "challenge", at="2026-01-01T00:00:00")
    assert verify(browser, "tampered") == "NOT VERIFIED: quote_signature"
    states = dict(stages(browser))
    assert states["TPM quote (signature, nonce, PCRs)"] == "failed", states
    assert states["SNP report signed by the VCEK"] == "passed", states
    assert states["policy (firmware, TCB, PCRs, freshness)"] == "idle", states

    load(browser, site)
    fill(browser, (VECTORS / "azure/milan-v3/evidence-v0.json").read_text(), "not the nonce", at="2026-01-01T00:00:00")
    assert verify(browser, "wrong-nonce") == "NOT VERIFIED: nonce"
    assert "expected" in browser.find_element(By.ID, "failure").text


def test_the_policy_download_is_a_policy_for_this_vm(browser, site):
    for old in DOWNLOADS.glob("*"):
        old.unlink()
    load(browser, site)
    fill(browser, (VECTORS / "azure/milan-v3/evidence-v0.json").read_text(), "challenge", at="2026-01-01T00:00:00")
    assert verify(browser, "before-download") == "VERIFIED"
    browser.find_element(By.ID, "download-policy").click()
    target = DOWNLOADS / "policy.toml"
    for _ in range(100):
        if target.exists() and target.stat().st_size > 0:
            break
        time.sleep(0.1)
    text = target.read_text()
    assert "[report]" in text and "942fd93ebde6ea7a" in text, text
    assert_console_clean(browser)
