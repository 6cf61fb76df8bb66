#!/usr/bin/python3
"""Screenshots of the web UI as people see it, in headless Chromium at phone (360×740) and PC
(1280×800) sizes, with checks a person would make: no sideways scrolling, no error in the browser
console, no message key or English word leaking into the Chinese pages, photos shrunk to at most
1,600 px, and a report made offline kept as a draft (待提交) and submitted once when the node is
back. Then the other records, by clicking, each checked through the API: a patrol against the
checklist from home's 本周应巡查, a tip dismissed on the phone and one that became a hazard on
the PC, an incident reported and updated, a notice signed for (签收) and one sent, a unit
confirmed; and every screen of them at both sizes.

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
import tempfile
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from browser import Browser as BaseBrowser, big_png, check, finish

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# The demo's key names (people's names on a real node) are data, not UI text.
KEY_NAMES = ["root", "station", "head", "officer", "member", "fire"]


def Browser(url, width, height, outdir, prefix):
    return BaseBrowser(url, width, height, outdir, prefix, KEY_NAMES)


class Demo:
    def __init__(self, build):
        self.tmp = tempfile.mkdtemp(prefix="anwang-web-shots-")
        self.started = 0
        subprocess.run([os.path.join(HERE, "make_demo_node.sh"), self.tmp], check=True, cwd=ROOT,
                       env=dict(os.environ, BUILD_DIR=build), stdout=subprocess.DEVNULL)
        self.anwangd = os.path.join(build, "node", "anwangd")
        self.start()

    def start(self):
        """anwangd on the demo's village home, serving the web UI on a loopback port."""
        self.log_path = os.path.join(self.tmp, "anwangd.log")
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen([self.anwangd, "--home", os.path.join(self.tmp, "village"),
                                      "--web-listen", "127.0.0.1:0"], stderr=self.log)
        deadline = time.time() + 20
        self.url = None
        while time.time() < deadline and not self.url:
            found = re.findall(r"web UI 网页 at (http://127\.0\.0\.1:\d+/)", open(self.log_path).read())
            if len(found) > self.started:  # the log is appended to: this start's line
                self.url = found[-1]
            time.sleep(0.05)
        self.started += 1
        if not self.url:
            raise RuntimeError("anwangd did not start: " + open(self.log_path).read())

    def stop(self, keep=False):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)
        if not keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def hazard_in(b, state):
    items = b.api("hazards?page_size=100")["items"]
    return [h["id"] for h in items if h["state"] == state][0]


def shoot(b, hash_, name, wait=".card"):
    b.go(hash_)
    b.wait_for(wait)
    b.settle()
    b.shot(name)


def tap(b, text, css=".btn, .choice"):
    """The visible button (or link, or choice) that reads TEXT."""
    found = [e for e in b.driver.find_elements(By.CSS_SELECTOR, css) if e.text.strip() == text and e.is_displayed()]
    check(bool(found), "the page offers %s" % text.replace("\n", " "))
    b.click(found[0])


def field(record, name):
    return record["fields"].get(name, {}).get("value", "")


def here(b):
    """The record or hazard id of the page shown."""
    return b.driver.current_url.split("?")[0].rsplit("/", 1)[1]


def wait_api(b, what, predicate):
    try:
        WebDriverWait(b.driver, 10).until(lambda d: predicate())
    except Exception:
        pass
    check(predicate(), what)


def records_phone(b, photo):
    d = b.driver
    # A patrol (巡查) of an overdue unit, opened from home's 本周应巡查, against the checklist.
    b.go("#/")
    rows = b.wait_for(".columns .card a.row[href^='#/patrol/']")
    check("逾期" in rows[0].text, "home lists a unit overdue for patrol first, marked 逾期: %s" % rows[0].text.split("\n")[:2])
    unit = rows[0].get_attribute("href").rsplit("/", 1)[1]
    before = b.api("records?kind=inspection&page_size=1")["total"]
    b.click(rows[0])
    b.wait_for("fieldset.check")
    b.settle()
    b.shot("patrol")
    for i, box in enumerate(d.find_elements(By.CSS_SELECTOR, "fieldset.check")):
        b.click(box.find_elements(By.CSS_SELECTOR, ".choice")[{1: 1, 3: 2}.get(i, 0)])
    d.find_elements(By.CSS_SELECTOR, "fieldset.check")[1].find_element(By.CSS_SELECTOR, "input").send_keys("砖垛堆在疏散通道上")
    d.find_element(By.ID, "i-text").send_keys("砖厂停工整顿中，现场巡查")
    d.find_element(By.CSS_SELECTOR, ".picker input[type=file]:not([capture])").send_keys(photo)
    b.wait_for(".thumbs .thumb img")
    b.shot("patrol-filled")
    b.click(d.find_element(By.CSS_SELECTOR, "form.report .actionbar button[type=submit]"))
    b.wait_for(".checks li", 30)
    b.settle()
    b.shot("inspection")
    done = b.api("records/" + here(b))
    check(done["kind"] == "inspection" and done["refs"][0] == unit and len(done["photos"]) == 1 and
          field(done, "items").split("\n") == ["消防器材:pass", "安全出口/疏散通道:fail:砖垛堆在疏散通道上", "用电线路:pass",
                                                "危化品存放:na", "安全制度/台账:pass"],
          "a patrol with its checklist (one item failed, with its note) and a photo: %s" % field(done, "items").split("\n"))
    check(b.api("records?kind=inspection&page_size=1")["total"] == before + 1, "the patrol was written once")
    due = [u for u in b.api("patrols/due")["items"] if u["unit"] == unit]
    check(due and not due[0]["overdue"] and due[0]["last"], "the unit is no longer overdue for patrol")
    # The failed item, reported as a hazard: the form opens with the unit and the item's words.
    tap(b, "上报隐患")
    b.wait_for(".cats .cat")
    b.settle()
    name = [u["name"] for u in b.api("units")["items"] if u["id"] == unit][0]
    check("疏散通道" in d.find_element(By.ID, "f-text").get_attribute("value") and
          name in d.find_element(By.CSS_SELECTOR, ".unit-chosen").text,
          "a failed item opens the report form with its unit and its words")
    b.shot("report-from-patrol")

    # A tip (群众举报) verified on site and dismissed with a reason.
    shoot(b, "#/more", "more")
    shoot(b, "#/tips", "tips", ".rows a.row")
    b.click([r for r in d.find_elements(By.CSS_SELECTOR, ".rows a.row") if "待核查" in r.text][0])
    b.wait_for(".timeline li")
    b.settle()
    b.shot("tip")
    tip = here(b)
    tap(b, "核查", ".action-buttons .btn")
    b.wait_for(".action-form")
    d.find_element(By.ID, "i-reason").send_keys("夜间到现场查看，砖厂已停工，无人生产")
    b.shot("tip-verify")
    b.click(d.find_element(By.CSS_SELECTOR, ".action-form .btn-main"))
    wait_api(b, "a tip dismissed on the phone: 已排除, with the reason",
             lambda: field(b.api("records/" + tip), "outcome") == "dismissed" and "已停工" in field(b.api("records/" + tip), "reason"))
    b.wait_for(".badge.st-archived")
    b.settle()
    b.shot("tip-dismissed")

    shoot(b, "#/incidents", "incidents", ".rows a.row")
    b.click(d.find_element(By.CSS_SELECTOR, ".rows a.row"))
    b.wait_for(".timeline li")
    b.settle()
    b.shot("incident")
    shoot(b, "#/notices", "notices", ".rows a.row")
    b.click(d.find_element(By.CSS_SELECTOR, ".rows a.row"))
    b.wait_for(".timeline li")
    b.settle()
    b.shot("notice")
    shoot(b, "#/inspections", "inspections", ".rows a.row")
    people_phone(b)
    b.go("#/units")
    b.click(b.wait_for(".rows a.row")[0])
    b.wait_for(".timeline li")
    b.settle()
    b.shot("unit")


def people_phone(b):
    """The grid member: who is who, their own profile, their phone number changed, a notebook entry."""
    d = b.driver
    shoot(b, "#/people", "people", ".rows .row")
    text = d.find_element(By.CSS_SELECTOR, ".rows").text
    check("张晓梅" in text and "王建国" in text and "赵志强" in text and "13947100302" in text,
          "人员 names the people of the village and the township with their phones")
    check("孙大山" in text and "未绑定账号" in text, "a profile with no key yet is listed and marked 未绑定账号")
    b.click([r for r in d.find_elements(By.CSS_SELECTOR, ".rows a.row") if "张晓梅" in r.text][0])
    b.wait_for(".timeline li")
    b.settle()
    b.shot("person")
    me = here(b)
    tap(b, "修改", ".action-buttons .btn")
    b.wait_for(".action-form #i-phone")
    check(not d.find_elements(By.CSS_SELECTOR, ".action-form #i-office"), "the person may change their name and phone, not their office")
    phone = d.find_element(By.ID, "i-phone")
    phone.clear()
    phone.send_keys("13947100999")
    b.shot("person-edit")
    b.click(d.find_element(By.CSS_SELECTOR, ".action-form .btn-main"))
    wait_api(b, "the grid member changed their own phone number", lambda: field(b.api("records/" + me), "phone") == "13947100999")
    # The hazard's history names the reporter by the profile, not a key.
    hz = b.api("hazards/" + hazard_in(b, "reported"))
    check(hz["history"][0]["author_name"] == "张晓梅", "a hazard's history names its reporter: %s" % hz["history"][0]["author_name"])
    # A work-notebook entry (工作记录).
    shoot(b, "#/notebooks", "notebooks", ".rows a.row")
    before = b.api("records?kind=notebook")["total"]
    tap(b, "写工作记录")
    b.wait_for("#i-text")
    d.find_element(By.ID, "i-text").send_keys("下午回访幸福超市，电动车已移至室外充电棚。")
    b.settle()
    b.shot("notebook-new")
    b.click(d.find_element(By.CSS_SELECTOR, "form.report .actionbar button[type=submit]"))
    b.wait_for(".timeline li")
    entry = b.api("records/" + here(b))
    check(entry["kind"] == "notebook" and "幸福超市" in field(entry, "text") and len(field(entry, "date")) == 10 and
          b.api("records?kind=notebook")["total"] == before + 1, "a notebook entry written once, dated today")
    b.settle()
    b.shot("notebook")


def people_pc(b):
    """The village head: the people with their phones, a person added, a training and a meeting."""
    d = b.driver
    shoot(b, "#/people", "people", ".rows .row")
    tap(b, "添加人员")
    b.wait_for("#i-name")
    d.find_element(By.ID, "i-name").send_keys("周红")
    d.find_element(By.ID, "i-phone").send_keys("13947100306")
    d.find_element(By.ID, "i-office").send_keys("组级安全联络员")
    b.settle()
    b.shot("person-new")
    b.click(d.find_element(By.CSS_SELECTOR, "form.report .actionbar button[type=submit]"))
    b.wait_for(".timeline li")
    added = b.api("records/" + here(b))
    check(added["kind"] == "person" and field(added, "name") == "周红" and field(added, "phone") == "13947100306",
          "the head added a person's profile")
    b.settle()
    b.shot("person")
    # A training (培训): the attendees tapped from the village's people, and one more by name.
    shoot(b, "#/trainings", "trainings", ".rows a.row")
    tap(b, "登记培训")
    b.wait_for("#i-topic")
    d.find_element(By.ID, "i-topic").send_keys("安全生产法与隐患排查")
    d.find_element(By.ID, "i-hours").send_keys("1.5")
    b.wait_for(".choices .choice")
    for name in ("张晓梅", "周红"):
        b.click([c for c in d.find_elements(By.CSS_SELECTOR, ".choices .choice") if c.text.split("\n")[0] == name][0])
    d.find_element(By.ID, "i-others").send_keys("加油站站长 陈某")
    b.settle()
    b.shot("training-new")
    b.click(d.find_element(By.CSS_SELECTOR, "form.report .actionbar button[type=submit]"))
    b.wait_for(".timeline li")
    training = b.api("records/" + here(b))
    names = {p["id"]: p["name"] for p in b.api("people")["profiles"]}
    attendees = [names.get(a, a) for a in field(training, "attendees").split(",")]
    check(field(training, "hours") == "1.5" and attendees == ["张晓梅", "周红", "加油站站长", "陈某"],
          "a training with its hours and attendees (two tapped, by profile; two by name): %s" % attendees)
    b.settle()
    b.shot("training")
    shoot(b, "#/meetings", "meetings", ".rows a.row")
    b.click(d.find_element(By.CSS_SELECTOR, ".rows a.row"))
    b.wait_for(".timeline li")
    check("张晓梅" in d.find_element(By.CSS_SELECTOR, ".facts").text, "a meeting's page names its attendees")
    b.settle()
    b.shot("meeting")


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
        b.click(b.driver.find_element(By.ID, "l-how").find_element(By.XPATH, "..").find_elements(By.CSS_SELECTOR, ".choice")[1])
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
        records_phone(b, photo)
        errors = b.console_errors()
        # Expected: the requests refused while offline, and the wrong passphrase's 401.
        expected = ("ERR_INTERNET_DISCONNECTED", "/api/v1/session - Failed to load resource: the server responded with a status of 401")
        unexpected = [e for e in errors if not any(x in e for x in expected)]
        check(not unexpected, "no unexpected errors in the browser console %s" % unexpected[:5])
        return b.shots
    finally:
        b.quit()


def records_pc(b):
    d = b.driver
    from selenium.webdriver.support.ui import Select
    shoot(b, "#/more", "more")
    # A tip entered at the committee PC, found true: the hazard reported from it, then linked.
    shoot(b, "#/tips", "tips", ".rows a.row")
    tap(b, "登记举报")
    b.wait_for("#i-text")
    d.find_element(By.ID, "i-text").send_keys("有村民反映幸福超市门口私拉电线给电动车充电")
    d.find_element(By.ID, "i-source").send_keys("来访，村民王某")
    b.settle()
    b.shot("tip-new")
    b.click(d.find_element(By.CSS_SELECTOR, "form.report .actionbar button[type=submit]"))
    b.wait_for(".timeline li")
    tip = here(b)
    check(field(b.api("records/" + tip), "source") == "来访，村民王某", "a tip entered on the PC, with its source")
    tap(b, "核查", ".action-buttons .btn")
    b.wait_for(".action-form")
    tap(b, "属实，已上报隐患", ".action-form .choice")
    b.shot("tip-verify")
    tap(b, "先上报隐患", ".action-form .btn")
    b.wait_for(".cats .cat")
    check("私拉电线" in d.find_element(By.ID, "f-text").get_attribute("value"), "the report form opens with the tip's words")
    b.click([c for c in d.find_elements(By.CSS_SELECTOR, ".cats .cat") if c.text.strip() == "用电"][0])
    b.click(d.find_element(By.CSS_SELECTOR, "form.report .actionbar button[type=submit]"))
    b.wait_for(".action-form select option", 30)
    hazard = d.current_url.split("hazard=")[1]
    WebDriverWait(d, 10).until(lambda x: Select(x.find_element(By.ID, "i-hazard")).first_selected_option.get_attribute("value") == hazard)
    b.settle()
    b.shot("tip-verify-hazard")
    b.click(d.find_element(By.CSS_SELECTOR, ".action-form .btn-main"))
    wait_api(b, "the tip became that hazard (已转为隐患, linked to it)",
             lambda: field(b.api("records/" + tip), "outcome") == "hazard" and b.api("records/" + tip)["refs"] == [hazard])
    b.wait_for(".badge.st-handled")
    b.settle()
    b.shot("tip")

    # An incident reported, then updated (续报).
    shoot(b, "#/incidents", "incidents", ".rows a.row")
    tap(b, "报告事故")
    b.wait_for("#i-text")
    d.find_element(By.ID, "i-text").send_keys("村道上农用三轮车侧翻，驾驶员受伤")
    d.find_element(By.ID, "i-deaths").send_keys("0")
    d.find_element(By.ID, "i-injuries").send_keys("1")
    b.settle()
    b.shot("incident-new")
    b.click(d.find_element(By.CSS_SELECTOR, "form.report .actionbar button[type=submit]"))
    b.wait_for(".timeline li")
    incident = here(b)
    tap(b, "续报", ".action-buttons .btn")
    b.wait_for(".action-form")
    Select(d.find_element(By.ID, "i-status")).select_by_visible_text("已控制")
    d.find_element(By.ID, "i-text").send_keys("伤者已送医，车辆已拖离")
    b.shot("incident-update")
    b.click(d.find_element(By.CSS_SELECTOR, ".action-form .btn-main"))
    wait_api(b, "an incident reported and updated: 已控制, one injured",
             lambda: field(b.api("records/" + incident), "status") == "controlled" and field(b.api("records/" + incident), "injuries") == "1")
    b.wait_for(".timeline li + li")
    b.settle()
    b.shot("incident")

    # A notice signed for (签收) on behalf of the village; not for the other village.
    shoot(b, "#/notices", "notices", ".rows a.row")
    b.click([r for r in d.find_elements(By.CSS_SELECTOR, ".rows a.row") if "冬季防火" in r.text][0])
    b.wait_for(".timeline li")
    b.settle()
    b.shot("notice")
    notice = here(b)
    check(not [e for e in d.find_elements(By.CSS_SELECTOR, ".btn") if "西井村" in e.text], "no 签收 button for a place the head does not serve")
    tap(b, "签收：东井村", ".action-buttons .btn")
    wait_api(b, "the notice is signed for by 东井村, and only by it",
             lambda: b.api("records/" + notice)["acknowledged"] == ["150430100201"])
    b.wait_for(".timeline li + li")
    b.settle()
    b.shot("notice-signed")

    # A unit's page: reviewed by the grid leader (网格长审核).
    b.go("#/units")
    b.click([r for r in b.wait_for(".rows a.row") if "幸福超市" in r.text][0])
    b.wait_for(".timeline li")
    b.settle()
    b.shot("unit")
    unit = here(b)
    tap(b, "网格长审核", ".action-buttons .btn")
    wait_api(b, "a unit reviewed by the grid leader from its page", lambda: b.api("records/" + unit)["confirmed_by_grid_leader"])
    b.go("#/inspections")
    b.click(b.wait_for(".rows a.row")[0])
    b.wait_for(".checks li")
    b.settle()
    b.shot("inspection")
    people_pc(b)


def run_station(url, outdir):
    print("PC, 1280×800, the township station sends a notice:")
    b = Browser(url, 1280, 800, outdir, "pc")
    try:
        b.sign_in("station")
        d = b.driver
        b.go("#/new/notice")
        b.wait_for("#i-title")
        d.find_element(By.ID, "i-title").send_keys("关于做好春节期间安全防范工作的通知")
        d.find_element(By.ID, "i-text").send_keys("各村于节前完成一次全面巡查。")
        tap(b, "东井村\n150430100201", ".choice")
        tap(b, "西井村\n150430100202", ".choice")
        b.settle()
        b.shot("notice-new")
        b.click(d.find_element(By.CSS_SELECTOR, "form.report .actionbar button[type=submit]"))
        b.wait_for(".timeline li")
        sent = b.api("records/" + here(b))
        check(sent["scope"] == "150430100" and field(sent, "recipients") == "150430100201,150430100202",
              "a notice sent from the township to two villages")
        errors = b.console_errors()
        check(not errors, "no errors in the browser console %s" % errors[:5])
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
        b.wait_for(".tabs .tab")
        records_pc(b)
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
        shots += run_station(url, args.outdir)
    finally:
        if demo:
            demo.stop()
    finish(shots)


if __name__ == "__main__":
    main()
