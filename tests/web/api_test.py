#!/usr/bin/python3
"""The web API through real HTTP against a running anwangd (issue 21, item 5).

Every endpoint on the happy path, then the hostile and careless inputs listed in HOSTILE below: each
is refused with the stated status and error code, the node stays up, and nothing is written (the
store's op count, read with the CLI, is unchanged). Usage: api_test.py BUILD_DIR
"""
import hashlib
import json
import os
import socket
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from county import Client, PASSPHRASE, TINY_JPEG, one_village_node  # noqa: E402

failures = []


def check(condition, what):
    if condition:
        print("  ok   " + what)
    else:
        print("  FAIL " + what)
        failures.append(what)


SAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs", "map",
                      "sample-regions.geojson")
TINY_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478da63f8cfc000"
                         "0003010100c9fe92ef0000000049454e44ae426082")


def make_mbtiles(path):
    """A tiny basemap: a PNG at zoom 1 column 1 XYZ row 0 (TMS row 1), a JPEG at XYZ row 1, and a
    vector tile (gzip bytes) the map cannot draw at zoom 2."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    db.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", "test"), ("format", "png"), ("minzoom", "0"), ("maxzoom", "2")])
    db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                   [(1, 1, 1, TINY_PNG), (1, 1, 0, TINY_JPEG), (2, 0, 3, b"\x1f\x8b\x08\x00 vector tile")])
    db.commit()
    db.close()


def main(build):
    tmp = tempfile.mkdtemp(prefix="anwang-web-api-")
    node = one_village_node(os.path.abspath(build), tmp)
    # People (人员信息): the grid member's profile with a phone, and a member of a sibling grid.
    node.new_key("sib")
    node.cli("--as", "head", "delegate", "--to", "sib", "--role", "grid_member", "--scope", "150430100201-04")
    member_key = [k["public_key"] for k in node.cli_json("key", "list") if k["name"] == "member"][0]
    node.cli("--as", "head", "person", "add", "--scope", "150430100201-03", "--name", "张三", "--phone", "13800000001",
             "--office", "网格员", "--key", member_key)
    make_mbtiles(os.path.join(tmp, "county.mbtiles"))
    with open(os.path.join(node.home, "anwang.toml"), "a") as f:  # [web] is the file's last section
        f.write('\nmbtiles = "%s"\n' % os.path.join(tmp, "county.mbtiles"))
    node.start()
    try:
        run(node)
    finally:
        node.stop()
    if failures:
        print("%d check(s) failed:\n  %s" % (len(failures), "\n  ".join(failures)))
        sys.exit(1)
    print("all checks passed")


def run(node):
    print("happy path:")
    anon = Client(node)
    status, info, _ = anon.request("GET", "/api/v1/node")
    check(status == 200 and info["scope"] == "150430100201" and info["scope_name"] == "一村", "GET node names the node's scope 一村")
    names = {k["name"]: k for k in info["keys"]}
    check(names["head"]["protected"] and not names["plain"]["protected"], "GET node lists keys and whether each is protected")
    status, page, r = anon.request("GET", "/")
    check(status == 200 and b"<html" in page.lower() and "default-src 'self'" in r.getheader("Content-Security-Policy"),
          "GET / serves the UI with a strict Content-Security-Policy")

    # What a phone downloads: the style sheet and every script of node/web/js/, as served.
    web = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "node", "web")
    served = 0
    for path in ["app.css"] + ["js/" + f for f in sorted(os.listdir(os.path.join(web, "js"))) if f.endswith(".js")]:
        s2, body, _ = anon.request("GET", "/" + path)
        served += len(body) if s2 == 200 else 10 ** 9
    print("    JS and CSS served: %d bytes" % served)
    check(0 < served <= 150 * 1024, "the page's JS and CSS as served total at most 150 KiB (%d bytes)" % served)

    member = Client(node)
    status, me = member.sign_in("member")
    check(status == 200 and me["key"] == "member" and member.cookie, "a grid member signs in with the passphrase")
    check(any(r["role"] == "grid_member" for r in me["roles"]) and me["can"]["hazard.report"], "GET me: role grid_member, may report")
    status, blob, _ = member.request("POST", "/api/v1/blobs", TINY_JPEG, {"Content-Type": "image/jpeg"}, raw=True)
    check(status == 201 and len(blob["hash"]) == 64, "POST blobs stores a photo")
    status, again, _ = member.request("POST", "/api/v1/blobs", TINY_JPEG, {"Content-Type": "image/jpeg"}, raw=True)
    check(status == 201 and again["hash"] == blob["hash"], "the same photo again gives the same hash")
    report = {"grid": "150430100201-03", "category": "fire", "severity": "general", "text": "加油站消防通道堵塞",
              "photos": [{"hash": blob["hash"], "media_type": "image/jpeg"}], "captured_at": "2026-12-07 09:30"}
    status, created, _ = member.request("POST", "/api/v1/hazards", report, {"Idempotency-Key": "draft-1"})
    check(status == 201 and len(created["id"]) == 64, "POST hazards reports a hazard")
    ops = node.ops()
    status, repeated, _ = member.request("POST", "/api/v1/hazards", report, {"Idempotency-Key": "draft-1"})
    check(status == 200 and repeated["id"] == created["id"] and repeated.get("repeated"), "the same draft again: the first answer, repeated")
    check(node.ops() == ops, "…and nothing written the second time")
    hazard = created["id"]
    status, shown, _ = member.request("GET", "/api/v1/hazards/" + hazard)
    check(status == 200 and shown["state"] == "reported" and shown["synced"] is False, "GET hazards/ID: reported, 待同步")
    check(shown["history"][0]["author_name"] == "张三" and "手机记录于 2026-12-07 09:30" in shown["history"][0]["text"],
          "the timeline names the author by their profile (张三) and keeps the phone's capture time")
    check("escalate" not in shown["actions"], "a grid member is offered no escalate (the village head's step)")
    status, listed, _ = member.request("GET", "/api/v1/hazards?state=reported")
    check(status == 200 and listed["total"] == 1 and listed["items"][0]["id"] == hazard, "GET hazards filters by state")

    head = Client(node)
    status, _ = head.sign_in("head")
    check(status == 200, "the village head signs in")
    status, inbox, _ = head.request("GET", "/api/v1/inbox")
    check(status == 200 and [i["action"] for i in inbox["items"]] == ["escalate"], "the head's inbox: escalate the new hazard")
    status, shown, _ = head.request("GET", "/api/v1/hazards/" + hazard)
    check("escalate" in shown["actions"] and "notice" in shown["actions"], "the head is offered escalate and notice")
    status, step, _ = head.request("POST", "/api/v1/hazards/%s/notice" % hazard,
                                   {"days": 7, "responsible": "张三", "measures": "清理通道", "text": "限期整改"})
    check(status == 201, "the head issues a rectification notice 整改通知书")
    status, shown, _ = head.request("GET", "/api/v1/hazards/" + hazard)
    check(shown["state"] == "noticed" and shown["responsible"] == "张三" and shown.get("deadline_ms", 0) > 0, "state noticed, with deadline and 责任人")
    notice = shown["history"][-1]
    check(notice["action"] == "notice" and notice["responsible"] == "张三" and notice["measures"] == "清理通道" and
          notice["deadline"] == shown["deadline"] and notice["office"]["role"] == "village_head" and
          notice["office"]["scope"] == "150430100201", "the timeline's notice step says its deadline, 责任人, measures and the signer's office")
    check(shown["history"][0]["office"]["role"] == "grid_member", "    …and the report step its reporter's office (网格员)")
    status, regions, _ = head.request("GET", "/api/v1/regions")
    check(status == 200 and {"code": "150430100201", "name": "一村", "level": "village", "parent": "150430100"} in regions["items"], "GET regions")
    node.cli("--as", "root", "region", "add", "150430100202", "--name", "二村")  # written beside the running node
    status, regions, _ = head.request("GET", "/api/v1/regions")
    check(any(r["code"] == "150430100202" and r["name"] == "二村" for r in regions["items"]),
          "    …and a region added since is named at once (the names are walked again when ops arrive)")
    status, units, _ = head.request("GET", "/api/v1/units")
    check(status == 200 and units["items"] == [], "GET units (none yet)")
    status, panel, _ = head.request("GET", "/api/v1/sync")
    check(status == 200 and panel["waiting"]["hazards"] == 1 and panel["waiting"]["photos"] == 1, "GET sync: 1 hazard, 1 photo 待同步")
    status, photo, r = head.request("GET", "/api/v1/blobs/" + blob["hash"])
    check(status == 200 and photo == TINY_JPEG and r.getheader("Content-Type") == "image/jpeg", "GET blobs/HASH gives the photo back")

    # The inbox a page at a time, the newest first, with every step's count.
    made = []
    for i in range(3):
        status, c, _ = member.request("POST", "/api/v1/hazards", dict(report, photos=[], text="第 %d 处" % (i + 1)))
        made.append(c["id"])
    status, first, _ = head.request("GET", "/api/v1/inbox?action=escalate&page=0&page_size=2")
    status2, second, _ = head.request("GET", "/api/v1/inbox?action=escalate&page=1&page_size=2")
    status3, whole, _ = head.request("GET", "/api/v1/inbox")
    counts = {"escalate": 3, "handled": 1}  # and the first hazard's notice waits to be handled
    check(status == 200 and first["total"] == 3 and first["counts"] == counts and whole["total"] == 4 and
          [i["id"] for i in first["items"]] == made[::-1][:2] and [i["id"] for i in second["items"]] == made[:1],
          "GET inbox pages the 3 waiting hazards newest first, with the count of each step")
    status, only, _ = head.request("GET", "/api/v1/inbox?action=verify")
    check(status == 200 and only["total"] == 0 and only["counts"] == counts, "GET inbox?action=verify: none, the counts still whole")
    # 双签: a head who signed a major hazard off waits for the other signer; it leaves the head's inbox.
    status, major, _ = member.request("POST", "/api/v1/hazards", dict(report, photos=[], severity="major", text="边坡裂缝"))
    status, before, _ = head.request("GET", "/api/v1/inbox?action=signoff")
    status, _, _ = head.request("POST", "/api/v1/hazards/%s/signoff" % major["id"], {"text": "属实"})
    status2, after, _ = head.request("GET", "/api/v1/inbox?action=signoff")
    check(before["total"] == 1 and status == 201 and after["total"] == 0 and "signoff" not in after["counts"],
          "a major hazard waits for the head's 双签, and not after the head has signed it")

    print("a photo in pieces, resumed after a cut:")
    big = bytes(range(256)) * 1200  # 307,200 bytes
    status, opened, _ = member.request("POST", "/api/v1/uploads", {"size": len(big), "media_type": "image/jpeg"})
    up = opened.get("upload", "")
    check(status == 201 and opened["offset"] == 0, "POST uploads opens one")
    status, piece, _ = member.request("PUT", "/api/v1/uploads/%s?offset=0" % up, big[:100000], {"Content-Type": "application/octet-stream"}, raw=True)
    check(status == 200 and piece["offset"] == 100000 and not piece["complete"], "the first 100,000 bytes, then the link drops")
    status, state, _ = member.request("GET", "/api/v1/uploads/" + up)
    check(status == 200 and state["offset"] == 100000, "GET uploads/ID: the node holds 100,000 bytes")
    status, wrong, _ = member.request("PUT", "/api/v1/uploads/%s?offset=50000" % up, big[50000:], {"Content-Type": "application/octet-stream"}, raw=True)
    check(status == 409 and wrong["offset"] == 100000, "a piece from the wrong place is refused with the offset to go on from")
    status, other, _ = head.request("PUT", "/api/v1/uploads/%s?offset=100000" % up, big[100000:], {"Content-Type": "application/octet-stream"}, raw=True)
    check(status == 404, "another person cannot add to it")
    status, done, _ = member.request("PUT", "/api/v1/uploads/%s?offset=100000" % up, big[100000:], {"Content-Type": "application/octet-stream"}, raw=True)
    check(status == 201 and done["complete"] and done["hash"] == hashlib.blake2b(big, digest_size=32).hexdigest() and done["size"] == len(big),
          "the rest: the photo whole, stored under its hash")
    status, back, _ = member.request("GET", "/api/v1/blobs/" + done["hash"])
    check(status == 200 and back == big, "    …and read back byte for byte")
    status, gone, _ = member.request("GET", "/api/v1/uploads/" + up)
    check(status == 404, "    …and the upload is closed")

    print("records: the ledger, a patrol, a tip, an incident, a notice; who is who:")
    status, unit, _ = head.request("POST", "/api/v1/records", {"kind": "unit", "scope": "150430100201-03",
                                                                "fields": {"name": "红砖厂", "key_supervision": "true"}})
    check(status == 201, "the head adds a unit to the ledger")
    status, due, _ = member.request("GET", "/api/v1/patrols/due?scope=150430100201")
    check(status == 200 and [d["unit"] for d in due["items"]] == [unit["id"]] and due["items"][0]["last"] is None,
          "GET patrols/due: the new unit is due, never patrolled")
    patrol = {"kind": "inspection", "unit": unit["id"], "fields": {"items": ["灭火器:pass", "疏散通道:fail:堆放杂物"], "text": "例行巡查"},
              "hazards": [hazard]}
    status, inspected, _ = member.request("POST", "/api/v1/records", patrol, {"Idempotency-Key": "patrol-1"})
    check(status == 201, "the grid member records a patrol with a checklist")
    status, again, _ = member.request("POST", "/api/v1/records", patrol, {"Idempotency-Key": "patrol-1"})
    check(status == 200 and again.get("repeated") and again["id"] == inspected["id"], "    …sent again with its key: the first answer, nothing new")
    status, shown, _ = member.request("GET", "/api/v1/records/" + inspected["id"])
    check(status == 200 and shown["scope"] == "150430100201-03" and shown["fields"]["items"]["value"] == "灭火器:pass\n疏散通道:fail:堆放杂物" and
          shown["refs"] == [unit["id"], hazard] and shown["history"][0]["office"]["role"] == "grid_member",
          "GET records/ID: the patrol at its unit's place, its checklist, unit and hazard, the patrolling office")
    status, tip, _ = head.request("POST", "/api/v1/records", {"kind": "tip", "scope": "150430100201", "fields": {"text": "有人反映砖厂夜间生产", "source": "电话"}})
    status2, shown, _ = head.request("GET", "/api/v1/records/" + tip["id"])
    check(status == 201 and shown["actions"] == ["verify"], "a tip entered by the head, who may verify it")
    status, _, _ = head.request("POST", "/api/v1/records/%s/verify" % tip["id"], {"fields": {"outcome": "dismissed", "reason": "现场核实：夜间未生产"}})
    status2, shown, _ = head.request("GET", "/api/v1/records/" + tip["id"])
    check(status == 201 and shown["fields"]["outcome"]["value"] == "dismissed" and shown["actions"] == [], "    …dismissed with a reason, and not offered again")
    status, incident, _ = head.request("POST", "/api/v1/records", {"kind": "incident", "scope": "150430100201", "fields": {"text": "砖厂一名工人摔伤", "injuries": "1"}})
    status2, _, _ = head.request("POST", "/api/v1/records/%s/update" % incident["id"], {"fields": {"status": "controlled"}})
    status3, listed, _ = head.request("GET", "/api/v1/records?kind=incident")
    check(status == 201 and status2 == 201 and listed["total"] == 1 and listed["items"][0]["fields"]["status"]["value"] == "controlled",
          "an incident reported and updated; GET records?kind=incident lists it")
    root = Client(node)
    root.sign_in("root")
    status, notice, _ = root.request("POST", "/api/v1/records", {"kind": "notice", "scope": "150430", "fields": {"title": "关于开展汛前检查的通知", "recipients": "150430100201"}})
    status2, shown, _ = head.request("GET", "/api/v1/records/" + notice["id"])
    check(status == 201 and shown["actions"] == ["acknowledge"] and shown["acknowledge_for"] == ["150430100201"],
          "the county sends a notice; the village head is asked to sign for the village (签收)")
    status, _, _ = head.request("POST", "/api/v1/records/%s/acknowledge" % notice["id"], {"fields": {"recipient": "150430100201"}})
    status2, shown, _ = head.request("GET", "/api/v1/records/" + notice["id"])
    check(status == 201 and shown["acknowledged"] == ["150430100201"] and shown["actions"] == [], "    …signed for, and not asked again")
    status, folks, _ = head.request("GET", "/api/v1/people?scope=150430100201")
    roles = {(p["name"], p["role"]) for p in folks["items"]}
    check(status == 200 and ("head", "village_head") in roles and ("张三", "grid_member") in roles,
          "GET people: who is who in the village, the member named by their profile")
    zhang = [p for p in folks["profiles"] if p["name"] == "张三"][0]
    check(zhang["phone"] == "13800000001" and folks["may_edit"], "    …the head sees the member's phone and may add people")
    status, me_now = member.request("GET", "/api/v1/me")[:2]
    check(me_now["name"] == "张三" and me_now["person"] == zhang["id"], "GET me names the member by their profile")
    sib = Client(node)
    sib.sign_in("sib")
    _, theirs, _ = sib.request("GET", "/api/v1/people")
    seen = [p for p in theirs["profiles"] if p["name"] == "张三"]
    check(not seen or (seen[0]["phone"] is None and seen[0]["phone_hidden"]) and not theirs["may_edit"],
          "a member of a sibling grid does not see the phone (GET people)")
    _, listed, _ = sib.request("GET", "/api/v1/records?kind=person")
    _, one, _ = sib.request("GET", "/api/v1/records/" + zhang["id"])
    check(all(r["fields"]["phone"]["value"] is None for r in listed["items"]) and one["fields"]["phone"]["value"] is None and
          all((st.get("fields") or {}).get("phone") is None for st in one["history"]) and "13800000001" not in json.dumps(one),
          "    …nor through GET records?kind=person or GET records/ID (field and history)")
    status, kept, _ = head.request("POST", "/api/v1/records", {"kind": "person", "scope": "150430100201", "fields": {
        "name": "钱七", "phone": "13800000007", "grid": "150430100201-03", "office": "网格员"}})
    _, at_village, _ = sib.request("GET", "/api/v1/records/" + kept.get("id", ""))
    _, folks_now, _ = sib.request("GET", "/api/v1/people")
    check(status == 201 and "13800000007" not in json.dumps(at_village) and "13800000007" not in json.dumps(folks_now),
          "    …nor the phone of a grid member whose profile is kept at the village (its grid is the place)")
    status, _, _ = member.request("POST", "/api/v1/records/%s/edit" % zhang["id"], {"fields": {"phone": "13900000002"}})
    _, mine, _ = member.request("GET", "/api/v1/records/" + zhang["id"])
    check(status == 201 and mine["fields"]["phone"]["value"] == "13900000002" and mine["actions"] == ["edit_self"],
          "the member changes their own phone (edit_self)")
    status, training, _ = head.request("POST", "/api/v1/records", {"kind": "training", "scope": "150430100201", "fields": {
        "date": "2026-12-01", "topic": "冬季防火", "hours": "2", "attendees": zhang["id"] + ",李四"}})
    check(status == 201, "the head records a training with its attendees")

    print("the map: located hazards and units, boundaries, the basemap's tiles:")
    status, located, _ = member.request("POST", "/api/v1/hazards", dict(report, photos=[], text="变压器围栏倒塌", location="119.9665,42.2441"))
    check(status == 201, "a hazard reported with a location")
    status, shown, _ = member.request("GET", "/api/v1/hazards/" + located["id"])
    check(shown.get("location") == "119.9665,42.2441", "    …which it carries")
    status, _, _ = head.request("POST", "/api/v1/records/%s/edit" % unit["id"], {"fields": {"location": "119.9338,42.2452"}})
    check(status == 201, "the head locates the unit in the ledger")
    status, m, _ = member.request("GET", "/api/v1/map")
    check(status == 200 and m["scope"] == "150430100201" and [h["id"] for h in m["hazards"]] == [located["id"]] and
          m["hazards"][0]["location"] == "119.9665,42.2441" and m["hazards"][0]["state_zh"] == "已上报" and
          [u["name"] for u in m["units"]] == ["红砖厂"] and m["points_total"] == 2 and not m["points_capped"] and
          m["points_max"] == 1000, "GET map: the node's village, its located hazard and unit, nothing cut")
    check(all(r["boundary"] is None for r in m["regions"]), "    …and its regions, without boundaries yet")
    node.cli("--as", "root", "region", "import", SAMPLE)  # written beside the running node
    status, m, _ = member.request("GET", "/api/v1/map")
    check(sorted(r["code"] for r in m["regions"] if r["boundary"] and r["boundary"]["type"] == "Polygon") ==
          ["150430100201", "150430100201-01", "150430100201-02", "150430100201-03"] and not m["regions_capped"],
          "after region import: the village and its three grids with their boundaries")
    status, m, _ = member.request("GET", "/api/v1/map?scope=150430100")
    check(status == 200 and len([r for r in m["regions"] if r["boundary"]]) == 6 and m["regions"][0]["code"] == "150430100",
          "GET map?scope= the township: six outlines, the township's first")
    check(m["basemap"] and m["basemap"]["maxzoom"] == 2, "GET map names the basemap ([web] mbtiles)")
    status, tile, r = member.request("GET", "/api/v1/tiles/1/1/0")
    check(status == 200 and tile == TINY_PNG and r.getheader("Content-Type") == "image/png", "GET tiles/1/1/0: the PNG at TMS row 1")
    status, tile, r = member.request("GET", "/api/v1/tiles/1/1/1")
    check(status == 200 and tile == TINY_JPEG and r.getheader("Content-Type") == "image/jpeg", "GET tiles/1/1/1: the JPEG at TMS row 0")
    status, _, _ = member.request("GET", "/api/v1/tiles/1/0/0")
    check(status == 404, "a tile the file does not have: 404")
    status, _, _ = member.request("GET", "/api/v1/tiles/2/0/0")
    check(status == 404, "a vector tile, which the map cannot draw: 404")
    status, _, _ = Client(node).request("GET", "/api/v1/tiles/1/1/0")
    check(status == 401, "tiles need a session, as the rest of the API")
    status, _, _ = member.request("POST", "/api/v1/hazards/%s/comment" % located["id"], {"location": "119.9670,42.2445", "text": "位置更正"})
    status2, shown, _ = member.request("GET", "/api/v1/hazards/" + located["id"])
    check(status == 201 and shown["location"] == "119.9670,42.2445" and shown["history"][-1]["location"] == "119.9670,42.2445" and
          shown["state"] == "reported", "a comment corrects the location; its step says so, and the state is as it was")

    print("hostile and careless inputs (each refused, the node up, nothing written):")
    ops = node.ops()
    n = [0]

    def refused(what, status, body, want_status, want_code=None):
        n[0] += 1
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        alive = Client(node).request("GET", "/api/v1/node")[0] == 200
        check(status == want_status and (want_code is None or code == want_code) and alive and node.alive() and node.ops() == ops,
              "%2d. %s → %d %s" % (n[0], what, status, code or ""))

    s, b, _ = member.request("POST", "/api/v1/hazards", b"{not json", {"Content-Type": "application/json"}, raw=True)
    refused("a body that is not JSON", s, b, 400, "invalid_json")
    s, b, _ = member.request("POST", "/api/v1/hazards", [1, 2, 3])
    refused("a JSON array instead of an object", s, b, 400, "invalid_json")
    s, b, _ = member.request("POST", "/api/v1/hazards", b"{" + b" " * (300 * 1024) + b"}", {"Content-Type": "application/json"}, raw=True)
    refused("a 300 KiB JSON body", s, b, 413, "body_too_large")
    s, b, _ = member.request("POST", "/api/v1/blobs", b"\xff" * (9 * 1024 * 1024), {"Content-Type": "image/jpeg"}, raw=True)
    refused("a 9 MiB photo", s, b, 413, "body_too_large")
    s, b, _ = member.request("POST", "/api/v1/blobs", b"<script>alert(1)</script>", {"Content-Type": "text/html"}, raw=True)
    refused("an upload that is not a photo (text/html)", s, b, 415, "invalid")
    s, b, _ = member.request("POST", "/api/v1/records/%s/edit" % zhang["id"], {"fields": {"office": "村长"}})
    refused("a grid member makes themselves 村长 on their profile", s, b, 403, "refused")
    s, b, _ = sib.request("POST", "/api/v1/records/%s/edit" % zhang["id"], {"fields": {"phone": "110"}})
    refused("a member of another grid changes someone's phone", s, b, 403, "refused")
    s, b, _ = member.request("POST", "/api/v1/records", {"kind": "person", "scope": "150430100201-03", "fields": {"name": "假人"}})
    refused("a grid member adds a profile", s, b, 403, "refused")
    s, b, _ = head.request("POST", "/api/v1/records", {"kind": "person", "scope": "150430100201", "fields": {"name": "王五", "phone": "call me"}})
    refused("a phone number that is not digits", s, b, 403, "refused")
    s, b, _ = head.request("POST", "/api/v1/records", {"kind": "person", "scope": "150430100201", "fields": {"name": "王五", "holder": "zz"}})
    refused("a profile bound to something that is not a key", s, b, 422, "invalid")
    s, b, _ = head.request("POST", "/api/v1/records", {"kind": "training", "scope": "150430100201", "fields": {
        "date": "2026-02-30", "topic": "t", "hours": "2", "attendees": "张三"}})
    refused("a training on 2026-02-30", s, b, 403, "refused")
    s, b, _ = member.request("POST", "/api/v1/records", {"kind": "training", "scope": "150430100201-03", "fields": {
        "date": "2026-12-01", "topic": "t", "hours": "2", "attendees": "张三"}})
    refused("a grid member records a training", s, b, 403, "refused")
    s, b, _ = member.request("POST", "/api/v1/records", {"kind": "notebook", "scope": "150430100201-03", "fields": {"date": "2026-12-01", "mood": "good"}})
    refused("a notebook entry with a field it has not", s, b, 422, "invalid")
    for bad in ("119.9", "200,42", "119.9665, 42.2441", "119.9665,42.2441\n", "1" * 40, "一一九,四二"):
        s, b, _ = member.request("POST", "/api/v1/hazards", dict(report, location=bad))
        refused("a hazard location %r" % bad, s, b, 422, "invalid")
        check(b["error"].get("field") == "location", "    …naming the field location")
    s, b, _ = member.request("POST", "/api/v1/hazards", dict(report, location=119.9))
    refused("a hazard location that is a number", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/hazards/%s/comment" % hazard, {"location": "119.9,-91"})
    refused("a comment correcting the location to latitude -91", s, b, 422, "invalid")
    s, b, _ = head.request("POST", "/api/v1/hazards/%s/escalate" % hazard, {"location": "119.9,42.2"})
    refused("a location on an escalation (only a report or a comment carries one)", s, b, 422, "invalid")
    s, b, _ = head.request("POST", "/api/v1/records/%s/edit" % unit["id"], {"fields": {"location": "东井村"}})
    refused("a unit location that is a name", s, b, 422, "invalid")
    for path in ("23/0/0", "3/8/0", "3/0/8", "-1/0/0", "a/0/0", "1/99999999999/0", "1/1/0.png", "1/1/0/9"):
        s, b, _ = member.request("GET", "/api/v1/tiles/" + path)
        refused("a tile at %s" % path, s, b, 404 if path.count("/") != 2 else 422, None)
    s, b, _ = member.request("GET", "/api/v1/map?scope=../../etc")
    refused("a map of a scope that is a path", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/hazards", dict(report, severity="huge"))
    refused("severity 'huge'", s, b, 422, "invalid")
    check(b["error"].get("field") == "severity" and b["error"]["message_zh"], "    …naming the field severity, with a Chinese sentence")
    s, b, _ = member.request("POST", "/api/v1/hazards", dict(report, photos=[{"hash": "ab" * 32}]))
    refused("a photo never uploaded", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/hazards", dict(report, grid="../../etc"))
    refused("a grid code that is a path", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/hazards", report, {"Idempotency-Key": "x/../y"})
    refused("an Idempotency-Key with a slash", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/hazards/%s/escalate" % hazard, {})
    refused("a grid member escalates (the head's step)", s, b, 403, "refused")
    check("网格员" in b["error"]["message_zh"] and "上报上级" in b["error"]["message_zh"],
          "    …saying in Chinese which rule: %s" % b["error"]["message_zh"])
    s, b, _ = member.request("POST", "/api/v1/hazards/%s/close" % hazard, {"text": "不管了"})
    refused("a grid member closes the hazard", s, b, 403, "refused")
    s, b, _ = member.request("POST", "/api/v1/hazards", dict(report, grid="150430100202"))
    refused("a grid member reports in another village", s, b, 403, "refused")
    s, b, _ = head.request("POST", "/api/v1/hazards/%s/notice" % hazard, {"deadline": "2020-01-01", "responsible": "李四"})
    refused("a notice whose deadline is already past", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/hazards/%s/explode" % hazard, {})
    refused("an action that does not exist", s, b, 404, "not_found")
    s, b, _ = member.request("GET", "/api/v1/hazards/" + "0" * 64)
    refused("a hazard id that does not exist", s, b, 404, "not_found")
    s, b, _ = member.request("POST", "/api/v1/hazards", report, {"X-CSRF-Token": ""}, csrf=False)
    refused("a POST without the CSRF token", s, b, 403, "csrf")
    s, b, _ = member.request("POST", "/api/v1/hazards", report, {"X-CSRF-Token": "0" * 64})
    refused("a POST with another CSRF token", s, b, 403, "csrf")
    s, b, _ = member.request("POST", "/api/v1/hazards", report, {"X-CSRF-Token": head.csrf})
    refused("a POST with the head's CSRF token on the member's session", s, b, 403, "csrf")
    s, b, _ = Client(node).request("POST", "/api/v1/hazards", report)
    refused("a POST with no session", s, b, 401, "not_signed_in")
    forged = Client(node)
    forged.cookie, forged.csrf = "f" * 64, "f" * 64
    s, b, _ = forged.request("POST", "/api/v1/hazards", report)
    refused("a forged session cookie", s, b, 401, "session_expired")
    s, b, _ = member.request("POST", "/api/v1/hazards", dict(report, author=names["head"]["public_key"], key="head"))
    check(s == 201, "a report naming another author in its body is taken…")
    status, shown, _ = head.request("GET", "/api/v1/hazards/" + b["id"])
    check(shown["reporter"] == names["member"]["public_key"], "    …as the session's own key: the body cannot choose who signs")
    ops = node.ops()
    s, b = Client(node).sign_in("head", "wrong passphrase")
    refused("a wrong passphrase", s, b, 401, "wrong_passphrase")
    for _ in range(4):
        Client(node).sign_in("head", "wrong passphrase")
    s, b = Client(node).sign_in("head", PASSPHRASE)
    refused("the right passphrase after 5 wrong ones (rate limit)", s, b, 429, "too_many_attempts")
    s, b = Client(node).sign_in("plain", "anything")
    refused("signing in with a key that has no passphrase", s, b, 403, "key_not_protected")
    s, b = Client(node).sign_in("nobody", "anything")
    refused("signing in with a key this node does not hold", s, b, 404, "unknown_key")
    s, b, _ = anon.request("GET", "/../../../etc/passwd")
    refused("path traversal /../../../etc/passwd", s, b, 404, "not_found")
    s, b, _ = anon.request("GET", "/%2e%2e/%2e%2e/anwang.toml")
    refused("path traversal with %2e%2e", s, b, 404, "not_found")
    s, b, _ = anon.request("GET", "/js/..%2f..%2fnode.key")
    refused("path traversal with %2f", s, b, 404, "not_found")
    s, b, _ = anon.request("GET", "/%00")
    refused("a NUL in the path", s, b, 400, "bad_path")
    s, b, _ = member.request("PATCH", "/api/v1/hazards", {})
    refused("PATCH, a method the API does not use", s, b, 405, "method_not_allowed")
    s, b, _ = anon.request("POST", "/index.html", {})
    refused("POST to a UI file", s, b, 405, "method_not_allowed")
    s, b, _ = anon.request("GET", "/api/v1/me", headers={"X-Filler": "a" * (20 * 1024)})
    refused("a 20 KiB header", s, b, 431, "head_too_large")
    s, b, _ = head.request("GET", "/api/v1/hazards?page_size=100000")
    refused("page_size 100000", s, b, 422, "invalid")
    s, b, _ = head.request("GET", "/api/v1/hazards?page=-1")
    refused("page -1", s, b, 422, "invalid")
    s, b, _ = head.request("GET", "/api/v1/inbox?page=99999999999999999999")
    refused("an inbox page of 20 digits", s, b, 422, "invalid")
    s, b, _ = head.request("GET", "/api/v1/inbox?action=delete")
    refused("an inbox step that does not exist", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/records", {"kind": "vault", "scope": "150430100201"})
    refused("a record of a kind that does not exist", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/records", {"kind": "tip", "scope": "150430100201", "fields": {"text": "x", "owner": "me"}})
    refused("a tip with a field tips do not have", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/records", dict(patrol, fields={"items": ["灭火器:maybe"]}))
    refused("a patrol checklist line that is not pass, fail or na", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/records", {"kind": "inspection", "fields": {"items": ["灭火器:pass"]}})
    refused("a patrol naming no unit", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/records", dict(patrol, unit=hazard))
    refused("a patrol of a hazard id instead of a unit", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/records/%s/delete" % tip["id"], {})
    refused("a step tips do not have", s, b, 404, "not_found")
    s, b, _ = member.request("POST", "/api/v1/records/%s/enter" % tip["id"], {"fields": {"text": "again"}})
    refused("creating a tip as a step on an existing one", s, b, 404, "not_found")
    s, b, _ = member.request("POST", "/api/v1/records/%s/verify" % ("ab" * 32), {"fields": {"outcome": "dismissed", "reason": "x"}})
    refused("a step on a record that does not exist", s, b, 404, "not_found")
    s, b, _ = member.request("POST", "/api/v1/records/%s/acknowledge" % notice["id"], {"fields": {"recipient": "150430100202"}})
    refused("signing for a notice for a village it was not sent to", s, b, 422, "invalid")
    check(b["error"]["field"] == "recipient" and "not sent to 150430100202" in b["error"]["message"], "    …saying so, naming the field recipient")
    s, b, _ = member.request("POST", "/api/v1/records", {"kind": "notice", "scope": "150430", "fields": {"title": "假通知", "recipients": "150430100201"}})
    refused("a grid member sends a county notice", s, b, 403, "refused")
    s, b, _ = member.request("POST", "/api/v1/records", {"kind": "tip", "scope": "150430100201", "fields": {"text": 5}})
    refused("a field that is a number, not text", s, b, 422, "invalid")
    s, b, _ = head.request("GET", "/api/v1/records?kind=../../etc")
    refused("a list of a kind that is a path", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/uploads", {"size": 9 * 1024 * 1024, "media_type": "image/jpeg"})
    refused("an upload of 9 MiB", s, b, 422, "invalid")
    s, b, _ = member.request("POST", "/api/v1/uploads", {"size": 1000, "media_type": "text/html"})
    refused("an upload that is not a photo", s, b, 415, "invalid")
    s, opened, _ = member.request("POST", "/api/v1/uploads", {"size": 10, "media_type": "image/png"})
    s, b, _ = member.request("PUT", "/api/v1/uploads/%s?offset=0" % opened["upload"], b"x" * 11, {"Content-Type": "application/octet-stream"}, raw=True)
    refused("pieces longer than the size given", s, b, 422, "invalid")
    s, b, _ = member.request("PUT", "/api/v1/uploads/%s?offset=-1" % opened["upload"], b"x", {"Content-Type": "application/octet-stream"}, raw=True)
    refused("a piece at offset -1", s, b, 422, "invalid")
    s, b, _ = member.request("PUT", "/api/v1/uploads/%s?offset=0" % ("0" * 32), b"x", {"Content-Type": "application/octet-stream"}, raw=True)
    refused("a piece of an upload never opened", s, b, 404, "not_found")
    opened = [member.request("POST", "/api/v1/uploads", {"size": 8 * 1024 * 1024, "media_type": "image/jpeg"})[1]["upload"] for _ in range(9)]
    alive = [member.request("GET", "/api/v1/uploads/" + u)[0] for u in opened]
    n[0] += 1
    check(alive == [404] * 7 + [200, 200] and node.alive(),
          "%2d. one person opening 9 uploads of 8 MiB keeps only the last 2 (each new one drops their oldest) %s" % (n[0], alive))
    other = Client(node)
    other.sign_in("root")  # (the head is locked out by the wrong passphrases above)
    others = [other.request("POST", "/api/v1/uploads", {"size": 8 * 1024 * 1024, "media_type": "image/jpeg"})[0] for _ in range(2)]
    n[0] += 1
    check(others == [201] * 2, "%2d. …so another person can still send theirs %s" % (n[0], others))

    # Too many connections from one address: the 13th is closed at once; the node serves again
    # when they go.
    held = []
    for _ in range(12):
        c = socket.create_connection(("127.0.0.1", node.port))
        held.append(c)
    time.sleep(0.3)
    extra = socket.create_connection(("127.0.0.1", node.port))
    extra.settimeout(5)
    try:
        extra.sendall(b"GET /api/v1/node HTTP/1.1\r\nHost: x\r\n\r\n")
        closed = extra.recv(100) == b""
    except OSError:
        closed = True
    extra.close()
    for c in held:
        c.close()
    time.sleep(0.3)
    n[0] += 1
    check(closed and Client(node).request("GET", "/api/v1/node")[0] == 200,
          "%2d. a 13th connection from one address is closed at once; served again after" % n[0])

    # Slowloris: a head trickled byte by byte is cut off at the head deadline (10 s), and honest
    # requests are served meanwhile.
    slow = socket.create_connection(("127.0.0.1", node.port))
    slow.settimeout(2)
    started = time.time()
    cut = False
    served = True
    head_bytes = b"GET /api/v1/node HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    for i in range(len(head_bytes)):
        try:
            slow.sendall(head_bytes[i:i + 1])
            served = served and Client(node).request("GET", "/api/v1/node")[0] == 200 if i % 10 == 0 else served
            time.sleep(0.5)
            if time.time() - started > 14:
                break
        except OSError:
            cut = True
            break
        try:
            slow.setblocking(False)
            if slow.recv(1) == b"":
                cut = True
                break
        except BlockingIOError:
            pass
        finally:
            slow.setblocking(True)
            slow.settimeout(2)
    slow.close()
    n[0] += 1
    check(cut and time.time() - started < 13 and served, "%2d. a head trickled for %.1f s is cut off; others served meanwhile" % (n[0], time.time() - started))

    print("sign-out and expiry:")
    s, b, _ = member.request("DELETE", "/api/v1/session")
    check(s == 200, "DELETE session signs out")
    s, b, _ = member.request("GET", "/api/v1/me")
    check(s == 401, "the old cookie is refused after sign-out")
    check(node.ops() == ops, "nothing was written by any refused request (ops %d)" % ops)

    # An expired session: a second daemon on the same home whose sessions end after 1.5 s idle.
    node.stop()
    node.start(env={"ANWANG_TEST_WEB_SESSION_IDLE_MS": "1500"})
    late = Client(node)
    s, _ = late.sign_in("member")
    time.sleep(2.5)
    s, b, _ = late.request("POST", "/api/v1/hazards", report)
    n[0] += 1
    check(s == 401 and b["error"]["code"] == "session_expired" and node.ops() == ops,
          "%2d. an expired session is refused, nothing written" % n[0])
    s, b = Client(node).sign_in("member")
    check(s == 200, "a restart ends every session; signing in again works")
    print("%d hostile inputs refused" % n[0])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build")
