"""Headless Chromium for the web tests: a browser at a phone's or a PC's size that signs in, takes
screenshots and checks each page as a person would look at it (nothing scrolls sideways, no English
or message key in the Chinese pages, tap targets of at least 44 px, no text under 14 px).

Used by tests/web/screenshots.py, tests/web/browser_test.py and tests/web/inbox_timing.py. The
browser only ever opens http://127.0.0.1 addresses.
"""
import base64
import os
import re
import struct
import sys
import time
import zlib

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

PASSPHRASE = "passphrase-1"
failures = []


def check(ok, what):
    print(("  ok   " if ok else "  FAIL ") + what)
    if not ok:
        failures.append(what)


def finish(shots):
    """The screenshots saved, then every failed check; exits 1 when one failed."""
    print("screenshots:\n  " + "\n  ".join(shots))
    if failures:
        print("%d check(s) failed:\n  %s" % (len(failures), "\n  ".join(failures)))
        sys.exit(1)
    print("all checks passed")


def png(w, h, rows):
    """PNG bytes of RGB rows (w × 3 bytes each), drawn without any image library."""
    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"".join(b"\0" + r for r in rows), 6)) + chunk(b"IEND", b""))


def big_png(path, w=2400, h=1800):
    """A photo larger than the 1,600 px the browser shrinks to."""
    rows = [bytes((200, 60 + y % 120, 40)) * (w // 2) + bytes((40, 90, 160)) * (w - w // 2) for y in range(h)]
    with open(path, "wb") as f:
        f.write(png(w, h, rows))


class Browser:
    def __init__(self, url, width, height, outdir, prefix, key_names=()):
        options = Options()
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=%d,%d" % (width, height),
                    "--lang=zh-CN", "--hide-scrollbars"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.url = url.rstrip("/") + "/"
        self.width, self.height = width, height
        self.outdir, self.prefix = outdir, prefix
        self.shots = []
        self.key_names = list(key_names)
        self.metrics()

    def metrics(self, height=None):
        """The page's viewport exactly WIDTH×HEIGHT (a headless window keeps some of its size for
        browser chrome it does not draw), as a phone when narrow."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": self.width, "height": height or self.height, "deviceScaleFactor": 1, "mobile": self.width < 600})

    def go(self, hash_):
        self.driver.get(self.url + hash_)

    def wait_for(self, css, timeout=10):
        WebDriverWait(self.driver, timeout).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def settle(self):
        """Until no "loading" message is left (the page may redraw while it is read)."""
        time.sleep(0.4)
        loading = "return [...document.querySelectorAll('.msg')].some(e => e.textContent === '正在加载…' || e.textContent === 'Loading…')"
        WebDriverWait(self.driver, 10).until(lambda d: not d.execute_script(loading))
        time.sleep(0.2)

    def shot(self, name):
        """The first screen as a person sees it, and the whole page; then the checks."""
        d = self.driver
        d.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.1)
        path = os.path.join(self.outdir, "%s-%s.png" % (self.prefix, name))
        d.save_screenshot(path)
        # The whole page: the viewport made as tall as the page, so a bar kept at the bottom of
        # the screen sits where it would after scrolling to the end.
        height = d.execute_script("return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)")
        self.metrics(min(max(height, self.height), 8000))
        time.sleep(0.2)
        shot = d.execute_cdp_cmd("Page.captureScreenshot", {})
        self.metrics()
        time.sleep(0.1)
        full = os.path.join(self.outdir, "%s-%s-full.png" % (self.prefix, name))
        with open(full, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        self.shots.append(path)
        self.shots.append(full)
        sideways = d.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        check(sideways <= 0, "%s %s: nothing scrolls sideways (%d px too wide)" % (self.prefix, name, sideways))
        text = d.find_element(By.TAG_NAME, "body").text
        if d.execute_script("return document.documentElement.lang") == "zh-CN":
            leaks = [w for w in re.findall(r"[A-Za-z][A-Za-z_.]{3,}", text)
                     if w not in ["English"] + self.key_names and not re.match(r"^[0-9a-f]+$", w)]
            check(not leaks, "%s %s: no English or message keys in the Chinese page %s" % (self.prefix, name, leaks[:5]))
        small = d.execute_script("""
            const out = [];
            for (const el of document.querySelectorAll('button, a.btn, a.tab, .choice, .cat, .chip, label.btn, input, select, textarea')) {
              const r = el.getBoundingClientRect();
              if (r.width === 0 || el.closest('.visually-hidden') || el.type === 'file' || el.type === 'checkbox') continue;
              if (r.height < 44 || r.width < 44) out.push((el.textContent || el.name || el.tagName).trim().slice(0, 20) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
            }
            return out;""")
        check(not small, "%s %s: every tap target at least 44 px %s" % (self.prefix, name, small[:5]))
        tiny = d.execute_script("""
            const out = [];
            const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            while (walk.nextNode()) {
              const el = walk.currentNode.parentElement;
              if (!walk.currentNode.textContent.trim() || !el.offsetParent) continue;
              const size = parseFloat(getComputedStyle(el).fontSize);
              if (size < 14) out.push(walk.currentNode.textContent.trim().slice(0, 12) + ' ' + size);
            }
            return out;""")
        check(not tiny, "%s %s: no text under 14 px %s" % (self.prefix, name, tiny[:5]))

    def console_errors(self):
        logs = self.driver.get_log("browser")
        return [entry["message"] for entry in logs if entry["level"] in ("SEVERE", "WARNING")]

    def sign_in(self, key, passphrase=PASSPHRASE):
        self.go("#/signin")
        names = self.wait_for(".choices-names .choice")
        for b in names:
            if b.text.split("\n")[0] == key:
                b.click()
                break
        self.driver.find_element(By.ID, "passphrase").send_keys(passphrase)
        self.driver.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").click()
        if passphrase == PASSPHRASE:
            self.wait_for(".tabs .tab")
            self.settle()

    def api(self, path):
        return self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch('/api/v1/' + arguments[0]).then(r => r.json()).then(done, e => done({error: String(e)}));", path)

    def click(self, element):
        """As a thumb would: scrolled into the middle of the screen, clear of the bottom bar."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)

    def quit(self):
        self.driver.quit()
