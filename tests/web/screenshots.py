#!/usr/bin/python3
"""Screenshots of the web UI as people see it, in headless Chromium at phone (360×740) and PC
(1280×800) sizes, with checks a person would make: no sideways scrolling, no error in the browser
console, no message key or English word leaking into the Chinese pages, photos shrunk to at most
1,600 px, and a report made offline kept as a draft (待提交) and submitted once when the node is
back.

Usage: tests/web/screenshots.py OUTDIR [--build BUILD_DIR] [--url URL]
Without --url it makes a demo node (tests/web/make_demo_node.sh) in a temporary directory and starts
anwangd on a loopback port. It writes OUTDIR/phone-*.png and OUTDIR/pc-*.png (the first screen) and
*-full.png (the whole page), and exits 1 when a check fails.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from browser import Browser as BaseBrowser, big_png, check, failures

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# The demo's key names (people's names on a real node) are data, not UI text.
KEY_NAMES = ["root", "station", "head", "officer", "member", "fire"]


def Browser(url, width, height, outdir, prefix):
    return BaseBrowser(url, width, height, outdir, prefix, KEY_NAMES)


class Demo:
    def __init__(self, build):
        self.tmp = tempfile.mkdtemp(prefix="anwang-web-shots-")
        subprocess.run([os.path.join(HERE, "make_demo_node.sh"), self.tmp], check=True, cwd=ROOT,
                       env=dict(os.environ, BUILD_DIR=build), stdout=subprocess.DEVNULL)
        self.log_path = os.path.join(self.tmp, "anwangd.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([os.path.join(build, "node", "anwangd"), "--home", os.path.join(self.tmp, "village"),
                                      "--web-listen", "127.0.0.1:0"], stderr=self.log)
        deadline = time.time() + 20
        self.url = None
        while time.time() < deadline and not self.url:
            m = re.search(r"web UI 网页 at (http://127\.0\.0\.1:\d+/)", open(self.log_path).read())
            if m:
                self.url = m.group(1)
            time.sleep(0.05)
        if not self.url:
            raise RuntimeError("anwangd did not start: " + open(self.log_path).read())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)
        shutil.rmtree(self.tmp, ignore_errors=True)


def hazard_in(b, state):
    items = b.api("hazards?page_size=100")["items"]
    return [h["id"] for h in items if h["state"] == state][0]


def run_phone(url, outdir, photo):
    print("phone, 360×740, the grid member:")
    b = Browser(url, 360, 740, outdir, "phone")
    try:
        b.go("#/signin")
        b.wait_for(".choices-names .choice")
        b.settle()
        b.shot("signin")
        b.sign_in("member", "wrong-passphrase")
        b.wait_for(".form-error .msg-error")
        check(b.driver.find_element(By.CSS_SELECTOR, ".form-error").text == "口令不正确。",
              "a wrong passphrase is refused in one Chinese sentence")
        b.shot("signin-wrong")
        b.sign_in("member")
        b.go("#/")
        b.wait_for(".rows, .card .msg")
        b.settle()
        b.shot("home")

        # The report form, filled in: a category, the text, a large photo shrunk to 1,600 px.
        b.go("#/report")
        b.wait_for(".cats .cat")
        b.driver.find_elements(By.CSS_SELECTOR, ".cats .cat")[0].click()
        b.driver.find_element(By.ID, "f-text").send_keys("加油站后院堆放废旧轮胎，靠近油罐")
        gallery = b.driver.find_elements(By.CSS_SELECTOR, ".picker input[type=file]:not([capture])")[0]
        gallery.send_keys(photo)
        b.wait_for(".thumbs .thumb img")
        size = b.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const img = document.querySelector('.thumbs .thumb img');
            const probe = new Image();
            probe.onload = () => done([probe.naturalWidth, probe.naturalHeight]);
            probe.onerror = () => done([0, 0]);
            probe.src = img.src;""")
        check(max(size) == 1600 and min(size) == 1200, "a 2400×1800 photo is shrunk to 1600×1200 in the browser (%s)" % size)
        b.settle()
        b.shot("report")

        # Offline: the report is kept on the phone as a draft, then submitted once.
        before = b.api("hazards?page_size=1")["total"]
        b.driver.execute_cdp_cmd("Network.enable", {})
        b.driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                                 {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        b.driver.find_element(By.CSS_SELECTOR, "form.report .actionbar button[type=submit]").click()
        b.wait_for(".card.saved", 30)
        b.settle()
        b.shot("report-offline-saved")
        b.driver.execute_script("location.hash = '#/sync'")
        b.wait_for(".row-draft")
        time.sleep(0.3)
        b.shot("sync-draft-offline")
        b.driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                                 {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        # The `online` event submits it; the button would too.
        deadline = time.time() + 30
        while time.time() < deadline and b.driver.find_elements(By.CSS_SELECTOR, ".card-drafts .row-draft"):
            time.sleep(0.3)
        check(not b.driver.find_elements(By.CSS_SELECTOR, ".card-drafts .row-draft"), "the draft is submitted when the node is back")
        after = b.api("hazards?page_size=1")["total"]
        check(after == before + 1, "it arrived exactly once (%d → %d hazards)" % (before, after))
        newest = b.api("hazards?page_size=1")["items"][0]
        check("手机记录于" in newest["description"] and len(newest["photos"]) == 1,
              "with its photo and the phone's capture time")
        b.driver.execute_script("document.querySelector('.card-drafts .actionbar button') && document.querySelector('.card-drafts .actionbar button').click()")
        time.sleep(1)
        check(b.api("hazards?page_size=1")["total"] == after, "pressing 'submit now' afterwards sends nothing again")

        b.go("#/sync")
        b.wait_for(".peer, .card .msg")
        b.settle()
        b.shot("sync")

        b.go("#/hazard/" + hazard_in(b, "handled"))
        b.wait_for(".timeline li")
        b.settle()
        b.shot("hazard")
        b.driver.find_elements(By.CSS_SELECTOR, ".action-buttons .btn")[0].click()
        b.wait_for(".action-form")
        time.sleep(0.2)
        b.shot("hazard-verify-form")
        handled_id = b.driver.current_url.rsplit("/", 1)[1]
        b.click(b.driver.find_element(By.CSS_SELECTOR, ".action-form .btn-main"))
        WebDriverWait(b.driver, 10).until(lambda d: b.api("hazards/" + handled_id)["state"] == "archived")
        b.wait_for(".badge.st-archived")
        check(b.api("hazards/" + handled_id)["state"] == "archived", "re-inspection 销号 from the phone archives the hazard")

        # Fixed on the spot, with an after-photo, online.
        b.go("#/report")
        b.wait_for(".cats .cat")
        b.click(b.driver.find_elements(By.CSS_SELECTOR, ".cats .cat")[4])
        b.driver.find_element(By.ID, "f-text").send_keys("小卖部插线板串接使用")
        b.click(b.driver.find_elements(By.CSS_SELECTOR, "form.report .field")[6].find_elements(By.CSS_SELECTOR, ".choice")[1])
        b.driver.find_element(By.CSS_SELECTOR, ".fixbox input[type=file]:not([capture])").send_keys(photo)
        b.wait_for(".fixbox .thumbs .thumb img")
        b.driver.find_element(By.ID, "f-fix-text").send_keys("已拆除串接插线板")
        b.shot("report-fix")
        b.driver.find_element(By.CSS_SELECTOR, "form.report .actionbar button[type=submit]").click()
        b.wait_for(".timeline li", 30)
        fixed = b.api("hazards/" + b.driver.current_url.rsplit("/", 1)[1])
        check(fixed["state"] == "fixed_on_site" and [s["action"] for s in fixed["history"]] == ["report", "fix"],
              "a report fixed on the spot arrives as 现场整改 with its after-photo step")

        b.go("#/hazards")
        b.wait_for(".rows .row")
        b.settle()
        b.shot("list")
        b.go("#/units")
        b.wait_for(".rows .row")
        b.settle()
        b.shot("units")
        errors = b.console_errors()
        # Expected: the requests refused while offline, and the wrong passphrase's 401.
        expected = ("ERR_INTERNET_DISCONNECTED", "/api/v1/session - Failed to load resource: the server responded with a status of 401")
        unexpected = [e for e in errors if not any(x in e for x in expected)]
        check(not unexpected, "no unexpected errors in the browser console %s" % unexpected[:5])
        return b.shots
    finally:
        b.quit()


def run_pc(url, outdir):
    print("PC, 1280×800, the village head:")
    b = Browser(url, 1280, 800, outdir, "pc")
    try:
        b.go("#/signin")
        b.wait_for(".choices-names .choice")
        b.settle()
        b.shot("signin")
        b.sign_in("head")
        b.go("#/")
        b.wait_for(".rows, .card .msg")
        b.settle()
        b.shot("home")
        b.go("#/report")
        b.wait_for(".cats .cat")
        b.settle()
        b.shot("report")
        b.go("#/hazard/" + hazard_in(b, "awaiting_signoff"))
        b.wait_for(".timeline li")
        b.settle()
        b.shot("hazard-signoff")
        b.go("#/hazard/" + hazard_in(b, "reported"))
        b.wait_for(".timeline li")
        b.settle()
        b.shot("hazard")
        # The notice form (限期整改): days, responsible, measures.
        for button in b.driver.find_elements(By.CSS_SELECTOR, ".action-buttons .btn"):
            if button.text == "限期整改":
                button.click()
                break
        b.wait_for(".action-form")
        time.sleep(0.2)
        b.shot("hazard-notice-form")
        notice_id = b.driver.current_url.rsplit("/", 1)[1]
        b.driver.find_element(By.CSS_SELECTOR, ".action-form input[type=text]").send_keys("加油站 李站长")
        b.driver.find_element(By.CSS_SELECTOR, ".action-form textarea").send_keys("清理消防通道，更换灭火器")
        b.click(b.driver.find_element(By.CSS_SELECTOR, ".action-form .btn-main"))
        WebDriverWait(b.driver, 10).until(lambda d: b.api("hazards/" + notice_id)["state"] == "noticed")
        b.wait_for(".badge.st-noticed")
        b.settle()
        b.shot("hazard-noticed")
        noticed = b.api("hazards/" + notice_id)
        check(noticed["state"] == "noticed" and noticed["responsible"] == "加油站 李站长",
              "a rectification notice from the PC: 限期整改 with the responsible person")
        b.go("#/hazards")
        b.wait_for(".rows .row")
        b.settle()
        b.shot("list")
        b.go("#/sync")
        b.wait_for(".peer, .card .msg")
        b.settle()
        b.shot("sync")
        b.go("#/units")
        b.wait_for(".rows .row")
        b.settle()
        b.shot("units")
        # English, once.
        b.driver.find_element(By.XPATH, "//button[text()='English']").click()
        b.wait_for(".tabs .tab")
        b.go("#/")
        b.settle()
        b.shot("home-english")
        b.driver.find_element(By.XPATH, "//button[text()='中文']").click()
        errors = b.console_errors()
        check(not errors, "no errors in the browser console %s" % errors[:5])
        return b.shots
    finally:
        b.quit()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--url")
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    demo = None
    url = args.url
    if not url:
        demo = Demo(os.path.abspath(args.build))
        url = demo.url
    photo = os.path.join(tempfile.mkdtemp(prefix="anwang-photo-"), "big.png")
    big_png(photo)
    shots = []
    try:
        shots += run_phone(url, args.outdir, photo)
        shots += run_pc(url, args.outdir)
    finally:
        if demo:
            demo.stop()
    print("screenshots:\n  " + "\n  ".join(shots))
    if failures:
        print("%d check(s) failed:\n  %s" % (len(failures), "\n  ".join(failures)))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
