#!/usr/bin/python3
"""Seed 000's closed loop in headless Chromium, across two nodes, as its people do it:

  a grid member (网格员) on a phone reports a hazard with a photo at the village node; the village
  head (网格长) at the committee PC escalates it (上报上级); the village node syncs with the
  township's node by itself; the township station (乡镇安监站) at its PC receives it (签收) and
  assigns it (交办) to 消防; the fire department marks it handled (已办理) with a photo; the
  reporter re-inspects on the phone with an after-photo and archives it (销号).

Then the outbox (待提交): the village node is stopped, the grid member reports two hazards with
photos on the phone, the node is started again on the same address, and each report arrives
exactly once, at the village and then at the township.

Every step is done by clicking, from the person's own inbox (待我办理), never by URL; the checks
read the nodes through the CLI. Screenshots of each step go to OUTDIR (default
BUILD/web-screenshots/loop).

Usage: tests/web/browser_test.py BUILD_DIR [OUTDIR]
Only 127.0.0.1 is listened on, dialled or opened.
"""
import os
import shutil
import sys
import tempfile
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from browser import Browser, big_png, check, failures
from county import Node, free_port

KEY_NAMES = ["root", "head", "member", "station", "fire"]
PHONE = (360, 740)
PC = (1280, 800)


def wait_until(what, predicate, timeout=30, every=0.25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(every)
    check(False, "waited %d s for %s" % (timeout, what))
    raise SystemExit(report())


def report():
    if failures:
        print("%d check(s) failed:\n  %s" % (len(failures), "\n  ".join(failures)))
        return 1
    print("all checks passed")
    return 0


def hazard(node, hid):
    """The hazard as the node's CLI sees it, or None while the node does not hold it."""
    r = node.cli("hazard", "show", hid, "--json", check=False)
    return __import__("json").loads(r.stdout) if r.returncode == 0 else None


def hazards(node):
    return node.cli_json("hazard", "list")


def edit_config(node, replacements, append=""):
    path = os.path.join(node.home, "anwang.toml")
    with open(path) as f:
        text = f.read()
    for old, new in replacements:
        if old not in text:
            raise RuntimeError("%s has no line %r" % (path, old))
        text = text.replace(old, new, 1)
    with open(path, "w") as f:
        f.write(text + append)


def make_county(build, tmp):
    """Village node 东井村 and township node 新惠镇. The village dials the township every 2 s (and at
    once after a local write), pinned to its node key. Keys: root, head, member at the village;
    station, fire at the township; all with passphrases."""
    village = Node(build, os.path.join(tmp, "village"))
    township = Node(build, os.path.join(tmp, "township"))
    for name in ("root", "head", "member"):
        village.new_key(name)
    station = township.new_key("station")
    fire = township.new_key("fire")
    v = village.cli
    v("--as", "root", "genesis", "--county", "150430", "--name", "敖汉旗", "--root", "root")
    v("--as", "root", "region", "add", "150430100", "--name", "新惠镇")
    v("--as", "root", "region", "add", "150430100201", "--name", "东井村")
    v("--as", "root", "region", "add", "150430100201-03", "--name", "东井村三组")
    v("--as", "root", "delegate", "--to", station, "--role", "township_station", "--scope", "150430100")
    v("--as", "root", "delegate", "--to", fire, "--role", "department", "--scope", "150430", "--category", "fire")
    v("--as", "root", "delegate", "--to", "head", "--role", "village_head", "--scope", "150430100201")
    v("--as", "head", "delegate", "--to", "member", "--role", "grid_member", "--scope", "150430100201-03")
    v("--as", "head", "unit", "add", "--grid", "150430100201-03", "--name", "中石化东井加油站", "--key", "true")
    v("--as", "root", "node", "enroll", village.node_key(), "--scope", "150430100201")
    v("--as", "root", "node", "enroll", township.node_key(), "--scope", "150430100")
    # The township joins from a bundle the village writes for it, as a USB stick would carry it.
    bundle = os.path.join(tmp, "township.bundle")
    township_key = township.node_key()
    v("bundle", "export", bundle, "--for", township_key)
    township.cli("bundle", "import", bundle)
    sync_port = free_port()
    edit_config(township, [('listen = ""', 'listen = "127.0.0.1:%d"' % sync_port)])
    edit_config(village, [("interval_s = 60", "interval_s = 2")],
                '\n[[neighbour]]\naddress = "127.0.0.1:%d"\nkey = "%s"\n' % (sync_port, township_key))
    return village, township


def sign_in(b, key):
    b.sign_in(key)
    check(b.driver.find_elements(By.CSS_SELECTOR, ".tabs .tab"), "%s signs in with a passphrase" % key)


def open_from_inbox(b, text, waiting):
    """Home → the inbox row with TEXT, tagged with what it waits for (e.g. 待签收) → its page."""
    b.go("#/")

    def row():
        for r in b.driver.find_elements(By.CSS_SELECTOR, ".card .rows a.row"):
            if text in r.text:
                return r
        return None
    wait_until("'%s' in the inbox" % text, lambda: row() is not None, timeout=15)
    r = row()
    check(waiting in r.text, "the inbox shows '%s' as %s" % (text, waiting))
    b.click(r)
    b.wait_for(".timeline li")
    b.settle()


def step(b, label, fill=None, submit=None):
    """Taps the step's button (behind 更多操作 on a phone if need be), fills its form, confirms."""
    d = b.driver
    buttons = [x for x in d.find_elements(By.CSS_SELECTOR, ".action-buttons .btn") if x.text == label]
    if not buttons or not buttons[0].is_displayed():
        for more in d.find_elements(By.CSS_SELECTOR, ".action-buttons .btn-quiet"):
            b.click(more)
        buttons = [x for x in d.find_elements(By.CSS_SELECTOR, ".action-buttons .btn") if x.text == label]
    check(bool(buttons), "the page offers %s" % label)
    if not buttons:
        raise SystemExit(report())
    b.click(buttons[0])
    b.wait_for(".action-form")
    if fill:
        fill(d.find_element(By.CSS_SELECTOR, ".action-form"))
    if submit is None:
        b.click(d.find_element(By.CSS_SELECTOR, ".action-form .btn-main"))
    else:
        b.click([x for x in d.find_elements(By.CSS_SELECTOR, ".action-form button") if x.text == submit][0])


def report_on_phone(b, text, photo, category="消防", another=False):
    d = b.driver
    if another:  # from the page that says the last one was kept: 再报一条
        b.click(d.find_element(By.CSS_SELECTOR, ".card.saved .button-row button"))
    else:
        b.go("#/report")
    b.wait_for(".cats .cat")
    b.click([c for c in d.find_elements(By.CSS_SELECTOR, ".cats .cat") if c.text.strip() == category][0])
    d.find_element(By.ID, "f-text").send_keys(text)
    d.find_elements(By.CSS_SELECTOR, ".picker input[type=file]:not([capture])")[0].send_keys(photo)
    b.wait_for(".thumbs .thumb img")
    b.click(d.find_element(By.CSS_SELECTOR, "form.report .actionbar button[type=submit]"))


def loop(village, township, outdir, photo):
    township.start()
    village.start()
    print("the loop, village %s and township %s:" % (village.web_url, township.web_url))
    wait_until("the township to hold the county's roles", lambda: township.ops() >= village.ops())
    text = "加油站消防通道被货车堵塞，两具灭火器过期"

    # 1. The grid member reports on the phone, with a photo.
    member = Browser(village.web_url, *PHONE, outdir, "1-member", KEY_NAMES)
    try:
        sign_in(member, "member")
        report_on_phone(member, text, photo)
        member.wait_for(".timeline li", 30)
        member.settle()
        member.shot("reported")
        hid = member.driver.current_url.rsplit("/", 1)[1]
        hz = hazard(village, hid)
        check(hz is not None and hz["state"] == "reported" and len(hz["photos"]) == 1 and hz["category"] == "fire",
              "the phone's report is at the village node: 已上报, 消防, one photo")
    finally:
        member.quit()

    # 2. The village head escalates from the committee PC.
    head = Browser(village.web_url, *PC, outdir, "2-head", KEY_NAMES)
    try:
        sign_in(head, "head")
        open_from_inbox(head, text, "待上报")
        head.shot("before-escalate")
        step(head, "上报上级", lambda f: f.find_element(By.CSS_SELECTOR, "textarea").send_keys("村级无法处理，请乡镇签收"))
        wait_until("the escalation", lambda: hazard(village, hid)["state"] == "escalated")
        head.wait_for(".badge.st-escalated")
        head.settle()
        head.shot("escalated")
    finally:
        head.quit()

    # 3. The village node syncs with the township by itself; the station receives and assigns.
    t0 = time.time()
    wait_until("the hazard to reach the township", lambda: (hazard(township, hid) or {}).get("state") == "escalated", timeout=30)
    print("  the escalated hazard was at the township %.1f s after the village showed the step" % (time.time() - t0))
    check(len(hazard(township, hid)["photos"]) == 1, "with its photo")
    station = Browser(township.web_url, *PC, outdir, "3-station", KEY_NAMES)
    try:
        sign_in(station, "station")
        open_from_inbox(station, text, "待签收")
        hint = station.driver.find_element(By.CSS_SELECTOR, ".sync-hint").text
        check(hint.startswith("与下级"), "the township's header says when it last synced with a village below it (%s)" % hint)
        station.shot("to-receive")
        step(station, "签收")
        wait_until("the receipt", lambda: hazard(township, hid)["state"] == "received")
        station.wait_for(".badge.st-received")
        station.settle()

        def department(form):
            from selenium.webdriver.support.ui import Select
            Select(form.find_element(By.CSS_SELECTOR, "select")).select_by_visible_text("消防")
        step(station, "交办", department)
        wait_until("the assignment", lambda: hazard(township, hid)["state"] == "assigned")
        station.wait_for(".badge.st-assigned")
        station.settle()
        station.shot("assigned")
    finally:
        station.quit()

    # 4. The fire department handles it, with a photo of the cleared passage.
    fire = Browser(township.web_url, *PC, outdir, "4-fire", KEY_NAMES)
    try:
        sign_in(fire, "fire")
        open_from_inbox(fire, text, "待办理")

        def handled(form):
            form.find_element(By.CSS_SELECTOR, "textarea").send_keys("已清理消防通道，更换两具灭火器")
            form.find_element(By.CSS_SELECTOR, "input[type=file]:not([capture])").send_keys(photo)
            fire.wait_for(".action-form .thumbs .thumb img")
        step(fire, "已办理", handled)
        wait_until("已办理", lambda: hazard(township, hid)["state"] == "handled")
        fire.wait_for(".badge.st-handled")
        fire.settle()
        fire.shot("handled")
    finally:
        fire.quit()

    # 5. Back at the village: the reporter re-inspects with an after-photo and archives it.
    t0 = time.time()
    wait_until("已办理 to reach the village", lambda: hazard(village, hid)["state"] == "handled", timeout=30)
    print("  已办理 was at the village %.1f s after the township showed the step" % (time.time() - t0))
    member = Browser(village.web_url, *PHONE, outdir, "5-member", KEY_NAMES)
    try:
        sign_in(member, "member")
        open_from_inbox(member, text, "待复查")
        member.shot("to-verify")

        def after_photo(form):
            form.find_element(By.CSS_SELECTOR, "textarea").send_keys("复查：通道已畅通，灭火器在有效期内")
            form.find_element(By.CSS_SELECTOR, "input[type=file]:not([capture])").send_keys(photo)
            member.wait_for(".action-form .thumbs .thumb img")
        step(member, "复查", after_photo, submit="销号（复查通过）")
        wait_until("销号", lambda: hazard(village, hid)["state"] == "archived")
        member.wait_for(".badge.st-archived")
        member.settle()
        member.shot("archived")
        errors = member.console_errors()
        check(not errors, "no errors in the phone's browser console %s" % errors[:3])
    finally:
        member.quit()
    wait_until("销号 to reach the township", lambda: hazard(township, hid)["state"] == "archived", timeout=30)
    final = hazard(township, hid)
    actions = [s["action"] for s in final["history"] if s.get("effective", True)]
    check(actions == ["report", "escalate", "receive", "assign", "handled", "verify"],
          "the township holds the whole loop, each step once: %s" % actions)
    signers = {s["action"]: s.get("author") for s in final["history"]}
    keys = {name: (village if name in ("root", "head", "member") else township).key(name) for name in KEY_NAMES}
    check(signers.get("report") == keys["member"] and signers.get("escalate") == keys["head"] and
          signers.get("receive") == keys["station"] and signers.get("assign") == keys["station"] and
          signers.get("handled") == keys["fire"] and signers.get("verify") == keys["member"],
          "each step signed by the person who clicked it")
    check(len(final["photos"]) >= 3, "the photos before and after travelled with it (%d)" % len(final["photos"]))


def outbox(village, township, outdir, photo):
    """The village node stopped: two reports kept on the phone, sent once when it is back."""
    print("the outbox, node stopped and started again:")
    member = Browser(village.web_url, *PHONE, outdir, "6-outbox", KEY_NAMES)
    try:
        sign_in(member, "member")
        unit = member.api("units")["items"][0]["id"]
        member.go("#/patrol/" + unit)  # the ledger read once while the node is up, as a person would have
        member.wait_for("fieldset.check")
        member.go("#/report")
        member.wait_for(".cats .cat")
        before_v = len(hazards(village))
        port = village.port
        village.stop()
        # A patrol in the field, out of range: kept on the phone as 待提交.
        member.go("#/patrol/" + unit)
        member.wait_for("fieldset.check")
        for i, check_set in enumerate(member.driver.find_elements(By.CSS_SELECTOR, "fieldset.check")):
            member.click(check_set.find_elements(By.CSS_SELECTOR, "button.choice")[1 if i == 1 else 0])
        member.driver.find_elements(By.CSS_SELECTOR, "fieldset.check input")[1].send_keys("油罐区通道堆放杂物")
        member.click(member.driver.find_element(By.CSS_SELECTOR, "form.report .actionbar button[type=submit]"))
        member.wait_for(".card-drafts .row-draft", 30)
        check("巡查" in member.driver.find_element(By.CSS_SELECTOR, ".card-drafts .row-draft").text,
              "a patrol made while the node is down is kept on the phone as 待提交")
        member.go("#/report")
        member.wait_for(".cats .cat")
        texts = ["村东桥头护栏断裂，夜间无照明", "超市后门堆放纸箱，堵住安全出口"]
        for i, text in enumerate(texts):
            report_on_phone(member, text, photo, "交通" if i == 0 else "消防", another=i > 0)
            member.wait_for(".card.saved", 30)
            check("待提交" in member.driver.find_element(By.CSS_SELECTOR, ".card.saved").text,
                  "report %d is kept on the phone as 待提交 while the node is down" % (i + 1))
        member.go("#/sync")
        member.wait_for(".row-draft")
        time.sleep(0.3)
        member.shot("drafts")
        check(len(member.driver.find_elements(By.CSS_SELECTOR, ".card-drafts .row-draft")) == 3, "three drafts wait on the phone (a patrol, two hazards)")
        # The node comes back on the same address (its sessions are gone with the restart).
        village.start(web_listen="127.0.0.1:%d" % port)
        sign_in(member, "member")
        wait_until("the drafts to be sent",
                   lambda: not member.driver.find_elements(By.CSS_SELECTOR, ".card-drafts .row-draft") and
                   len(hazards(village)) >= before_v + 2, timeout=90)
        member.go("#/sync")
        member.wait_for(".peer, .card .msg")
        member.settle()
        member.shot("sent")
        peers = [e.text for e in member.driver.find_elements(By.CSS_SELECTOR, ".peer-name")]
        check(any("新惠镇" in p for p in peers), "the sync panel names the neighbour by the place it serves (新惠镇) %s" % peers)
        after = hazards(village)
        for text in texts:
            found = [h for h in after if text in h["description"]]
            check(len(found) == 1, "'%s' arrived at the village exactly once (%d)" % (text, len(found)))
            if found:
                full = hazard(village, found[0]["id"])
                check(len(full["photos"]) == 1 and "手机记录于" in full["description"],
                      "    with its photo and the phone's capture time")
        check(len(after) == before_v + 2, "nothing else was written (%d → %d)" % (before_v, len(after)))
        patrols = member.api("records?kind=inspection")["items"]
        check(len(patrols) == 1 and "疏散通道:fail:油罐区通道堆放杂物" in patrols[0]["fields"]["items"]["value"].replace("安全出口/", "")
              and "手机记录于" in patrols[0]["fields"]["text"]["value"],
              "the patrol arrived once, with its checklist and the phone's time (%d)" % len(patrols))
        # Pressing 提交 again sends nothing.
        member.driver.execute_script("const b = document.querySelector('.card-drafts .actionbar button'); if (b) b.click();")
        time.sleep(1)
        check(len(hazards(village)) == before_v + 2, "submitting again afterwards writes nothing")
        wait_until("both to reach the township",
                   lambda: sum(1 for h in hazards(township) for t in texts if t in h["description"]) >= 2, timeout=30)
        at_township = [h for h in hazards(township) for t in texts if t in h["description"]]
        check(len(at_township) == 2, "each arrived at the township exactly once (%d)" % len(at_township))
        errors = [e for e in member.console_errors() if "ERR_CONNECTION_REFUSED" not in e]
        check(not errors, "no unexpected errors in the console %s" % errors[:3])
    finally:
        member.quit()


def noisy_png(path, w=1600, h=1200):
    """A photo that stays large as a JPEG (noise): several 128 KiB pieces."""
    import random
    import struct
    import zlib
    rng = random.Random(7)
    rows = b"".join(b"\0" + rng.randbytes(w * 3) for _ in range(h))

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))


# In the page: every upload request noted, and the first piece after the first cut as if the
# Wi-Fi dropped (fetch fails, as it does when the link goes).
CUT_SECOND_PIECE = """
window.__uploads = [];
const realFetch = window.fetch;
let cut = false;
window.fetch = function (url, init) {
  if (/uploads/.test(url)) window.__uploads.push((init && init.method || 'GET') + ' ' + url);
  if (!cut && /uploads\/[0-9a-f]+\?offset=[1-9]/.test(url)) {
    cut = true;
    return Promise.reject(new TypeError('Failed to fetch'));
  }
  return realFetch.apply(this, arguments);
};
"""


def cut_photo(village, outdir, tmp):
    """A photo cut mid-way: the report is kept, then goes on from the node's bytes, sent once."""
    print("a photo cut mid-way, resumed from where the node's bytes end:")
    photo = os.path.join(tmp, "noisy.png")
    noisy_png(photo)
    member = Browser(village.web_url, *PHONE, outdir, "7-cut", KEY_NAMES)
    try:
        sign_in(member, "member")
        before = len(hazards(village))
        member.driver.execute_script(CUT_SECOND_PIECE)
        text = "加油站罩棚下堆放废旧轮胎"
        report_on_phone(member, text, photo)
        wait_until("the report to be sent after the cut", lambda: any(text in h["description"] for h in hazards(village)), timeout=60)
        calls = member.driver.execute_script("return window.__uploads")
        firsts = [c for c in calls if c.startswith("PUT") and c.endswith("offset=0")]
        resumed = [c for c in calls if c.startswith("GET")]
        check(len(firsts) == 1 and len(resumed) >= 1,
              "the photo's first piece went once; after the cut the page asked the node how far it got (%d PUT, %d GET)"
              % (sum(1 for c in calls if c.startswith("PUT")), len(resumed)))
        found = [h for h in hazards(village) if text in h["description"]]
        check(len(found) == 1 and len(hazards(village)) == before + 1, "the report arrived once")
        if found:
            full = hazard(village, found[0]["id"])
            check(len(full["photos"]) == 1 and full["photos"][0]["size"] > 128 * 1024,
                  "    with its photo whole (%d bytes, more than one piece)" % (full["photos"][0]["size"] if full["photos"] else 0))
        member.go("#/sync")
        member.wait_for(".peer, .card .msg")
        member.settle()
        check(not member.driver.find_elements(By.CSS_SELECTOR, ".card-drafts .row-draft"), "no draft is left on the phone")
    finally:
        member.quit()


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    outdir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(build, "web-screenshots", "loop")
    os.makedirs(outdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="anwang-web-loop-")
    photo = os.path.join(tmp, "photo.png")
    big_png(photo, 1200, 900)
    start = time.time()
    village, township = make_county(build, tmp)
    try:
        loop(village, township, outdir, photo)
        outbox(village, township, outdir, photo)
        cut_photo(village, outdir, tmp)
    finally:
        village.stop()
        township.stop()
        if not failures:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("node homes and logs kept in " + tmp)
    print("screenshots in %s; %.0f s" % (outdir, time.time() - start))
    return report()


if __name__ == "__main__":
    sys.exit(main())
