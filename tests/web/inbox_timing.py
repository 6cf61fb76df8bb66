#!/usr/bin/python3
"""The phone's home page (首页, 待我办理) with 1,000 hazards waiting: how long it takes to open.

A village node holds N hazards (default 1,000) reported by a grid member through the API, all
waiting for the village head (待上报). The head's phone (360×740) opens the page from scratch, as
after unlocking the phone, and the time is taken in the page itself from the start of navigation to
the moment the inbox's first rows are drawn (a MutationObserver installed before the page's own
scripts). Measured five times with the CPU at full speed and five times slowed 4× (as Lighthouse
emulates a mid-range phone); the median of each is printed. The test fails when the median at full
speed is 1 s or more (the issue's bound, for the phone's view on this machine); the figure on the
slowed CPU is printed for the README, not asserted, because it swings with the machine's load. The
API's own answer time for GET inbox is printed beside it.

Usage: tests/web/inbox_timing.py BUILD_DIR [N] [--screenshots OUTDIR]
Only 127.0.0.1 is listened on, dialled or opened.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

from selenium.webdriver.common.by import By

from browser import Browser, check, failures
from county import Client, one_village_node

LIMIT_MS = 1000
RUNS = 5

# Installed before the page's scripts: notes when the inbox card first holds a row.
OBSERVER = """
window.__inboxDrawnMs = null;
new MutationObserver((changes, observer) => {
  const card = document.querySelector('.columns .card');
  if (card && card.querySelector('.rows a.row')) {
    window.__inboxDrawnMs = performance.now();
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


def fill(node, n):
    member = Client(node)
    status, _ = member.sign_in("member")
    if status != 200:
        raise RuntimeError("the member could not sign in")
    categories = ["fire", "traffic", "construction", "chemicals", "electrical", "food"]
    start = time.time()
    for i in range(n):
        body = {"grid": "150430100201-03", "category": categories[i % len(categories)], "severity": "general",
                "text": "第 %d 处隐患：消防通道堵塞，灭火器过期，需要尽快处理" % (i + 1)}
        status, answer, _ = member.request("POST", "/api/v1/hazards", body)
        if status != 201:
            raise RuntimeError("report %d refused: %s" % (i, answer))
        if (i + 1) % 250 == 0:
            print("  %d hazards reported (%.0f /s)" % (i + 1, (i + 1) / (time.time() - start)), flush=True)
    return time.time() - start


def api_inbox_ms(node):
    head = Client(node)
    head.sign_in("head")
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        status, inbox, _ = head.request("GET", "/api/v1/inbox")
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), inbox["total"] if status == 200 else -1


def page_ms(b, throttle):
    b.driver.execute_cdp_cmd("Emulation.setCPUThrottlingRate", {"rate": throttle})
    times = []
    for _ in range(RUNS):
        b.driver.get("about:blank")
        b.driver.get(b.url + "#/")
        deadline = time.time() + 30
        drawn = None
        while time.time() < deadline and drawn is None:
            drawn = b.driver.execute_script("return window.__inboxDrawnMs")
            time.sleep(0.02)
        if drawn is None:
            check(False, "the inbox was drawn within 30 s")
            return None
        times.append(drawn)
    b.driver.execute_cdp_cmd("Emulation.setCPUThrottlingRate", {"rate": 1})
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("n", type=int, nargs="?", default=1000)
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="anwang-web-inbox-")
    node = one_village_node(os.path.abspath(args.build), tmp)
    node.start()
    try:
        print("reporting %d hazards through the API:" % args.n)
        took = fill(node, args.n)
        print("  %d reports in %.1f s" % (args.n, took))
        api_ms, count = api_inbox_ms(node)
        check(count == args.n, "the head's inbox holds the %d hazards (%d)" % (args.n, count))
        print("  GET inbox: median %.0f ms over %d requests" % (api_ms, RUNS))
        outdir = args.screenshots or tmp
        os.makedirs(outdir, exist_ok=True)
        b = Browser(node.web_url, 360, 740, outdir, "inbox", ["head", "member", "root", "plain"])
        try:
            b.sign_in("head")
            b.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVER})
            fast = page_ms(b, 1)
            slow = page_ms(b, 4)
            rows = len(b.driver.find_elements(By.CSS_SELECTOR, ".columns .card .rows a.row"))
            check(rows == 50, "the inbox draws its first 50 rows, with a button for the rest (%d)" % rows)
            if args.screenshots:
                b.settle()
                b.shot("home-%d" % args.n)
        finally:
            b.quit()
        if fast and slow:
            print("  the phone's home page with %d hazards in its inbox, from navigation to the first rows drawn:" % args.n)
            print("    CPU at full speed: median %.0f ms (%s)" % (statistics.median(fast), ", ".join("%.0f" % t for t in fast)))
            print("    CPU slowed 4×:     median %.0f ms (%s)" % (statistics.median(slow), ", ".join("%.0f" % t for t in slow)))
            check(statistics.median(fast) < LIMIT_MS, "it opens in under %d ms (median %.0f ms)"
                  % (LIMIT_MS, statistics.median(fast)))
    finally:
        node.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed:\n  %s" % (len(failures), "\n  ".join(failures)))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
