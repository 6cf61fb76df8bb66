#!/usr/bin/python3
"""`anwang import units|people FILE` as a county IT officer runs it (issue 22, item 4).

Each case builds a county on a fresh node home with the real `anwang`, writes a file as Excel
would (GBK CSV, UTF-8 CSV with and without a byte-order mark, XLSX through python3-openpyxl) and
checks what a person would: which rows are refused and why, with their lines; that a dry run and a
refused file write nothing (the store's op count); what lands in the ledger; that importing again
writes nothing, and a changed row one edit with only its changed fields.

Usage: import_test.py BUILD_DIR CASE   (CASE: one of CASES below, or "all")
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ledger  # noqa: E402

failures = []
passed = [0]
skipped = []


class Skip(Exception):
    """A case this build cannot run (CTest reports it as skipped: exit 77)."""


def check(condition, what):
    if condition:
        passed[0] += 1
        print("  ok   " + what)
    else:
        print("  FAIL " + what)
        failures.append(what)


class Node:
    """A node home driven through the anwang command line."""

    def __init__(self, build, tmp):
        self.cli = os.path.join(build, "cli", "anwang")
        self.home = os.path.join(tmp, "home")
        self.tmp = tmp

    def run(self, *args, who=None):
        command = [self.cli, "--home", self.home] + (["--as", who] if who else []) + list(args)
        return subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)

    def ok(self, *args, who=None):
        r = self.run(*args, who=who)
        if r.returncode != 0:
            raise RuntimeError("anwang %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        return r

    def json(self, *args, who=None):
        return json.loads(self.ok(*args, "--json", who=who).stdout)

    def ops(self):
        return self.json("status")["ops"]

    def units(self):
        return self.json("unit", "list")

    def import_json(self, kind, path, *extra, who="town"):
        r = self.run("import", kind, path, "--json", *extra, who=who)
        try:
            out = json.loads(r.stdout)
        except ValueError:
            out = {}
        return r.returncode, out, r.stderr

    def file(self, name):
        return os.path.join(self.tmp, name)


def make_county(build, tmp, villages=ledger.VILLAGES, grids=ledger.GRIDS):
    """The county of ledger.py: 敖汉旗, township 新惠镇 (key 'town'), villages 1村..N村 each with
    grids 第1网格..第G网格, a village head of 1村 (key 'head'), and township 150430200 with one
    village, out of town's reach."""
    node = Node(build, tmp)
    node.ok("init")
    for name in ("root", "town", "head"):
        node.ok("key", "new", name, "--no-passphrase")
    node.ok("genesis", "--county", "150430", "--name", "敖汉旗", "--root", "root", who="root")
    node.ok("region", "add", ledger.TOWNSHIP, "--name", "新惠镇", who="root")
    node.ok("region", "add", "150430200", "--name", "贝子府镇", who="root")
    node.ok("region", "add", ledger.OTHER_VILLAGE, "--name", "贝子府村", who="root")
    node.ok("delegate", "--to", "town", "--role", "township_station", "--scope", ledger.TOWNSHIP, who="root")
    for v in range(1, villages + 1):
        node.ok("region", "add", ledger.village(v), "--name", "{}村".format(v), who="town")
        for g in range(1, grids + 1):
            node.ok("region", "add", ledger.grid(v, g), "--name", "第{}网格".format(g), who="town")
    node.ok("delegate", "--to", "head", "--role", "village_head", "--scope", ledger.village(1), who="town")
    return node


def refused_lines(out):
    return {r["line"]: r["reason"] for r in out.get("refused", [])}


# ---- the cases ----

def case_big(build, tmp):
    """50,000 GBK rows with 200 bad ones: the dry run names exactly those, the import writes the
    rest, importing again writes nothing; timed."""
    rows = int(os.environ.get("ANWANG_IMPORT_ROWS", "50000"))
    node = make_county(build, tmp)
    # Two units of each name in TWICE_HELD at one grid, with different licences.
    for n, offset in ((0, 900000), (1, 950000)):
        path = node.file("held%d.csv" % n)
        ledger.write_csv(path, ["单位名称", "统一社会信用代码", "所属网格"],
                         [[name, ledger.licence(offset + k), ledger.TWICE_HELD_GRID] for k, name in enumerate(ledger.TWICE_HELD)],
                         "gbk")
        code, out, err = node.import_json("units", path)
        check(code == 0 and out.get("added") == len(ledger.TWICE_HELD), "the ledger holds %s twice (import %d: %s)" % ("重名…号商店", n, err.strip()))
    path = node.file("ledger.csv")
    t = time.time()
    kinds = ledger.big_ledger(path, rows)
    print("    wrote %s: %d rows, %d bytes of GBK, in %.1f s" % (path, rows, os.path.getsize(path), time.time() - t))
    ops = node.ops()
    mapping = ["--map", "成立日期=scale"]

    t = time.time()
    code, out, err = node.import_json("units", path, "--dry-run", *mapping)
    print("    dry run: %.1f s" % (time.time() - t))
    refused = refused_lines(out)
    check(code == 1, "the dry run exits 1: some rows would be refused (%d; %s)" % (code, err.strip()[:200]))
    check(out.get("encoding") == "GBK/GB18030", "the file is read as GBK (%s)" % out.get("encoding"))
    check(set(refused) == set(kinds), "the dry run lists exactly the %d bad lines (%d listed; missing %s; extra %s)" % (
        len(kinds), len(refused), sorted(set(kinds) - set(refused))[:5], sorted(set(refused) - set(kinds))[:5]))
    wrong = [(line, kinds[line], refused.get(line, "")[:120]) for line in kinds
             if ledger.REASON_WORD[kinds[line]] not in refused.get(line, "")]
    check(not wrong, "each bad line's reason names its fault (%d wrong, e.g. %s)" % (len(wrong), wrong[:3]))
    for kind in ledger.KINDS:
        example = next(line for line in sorted(kinds) if kinds[line] == kind)
        print("    line %d (%s): %s" % (example, kind, refused.get(example, "")[:150]))
    check(out.get("added") == rows - len(kinds), "the dry run would add the other %d (%s)" % (rows - len(kinds), out.get("added")))
    check(node.ops() == ops, "the dry run writes nothing (op count %d)" % ops)

    t = time.time()
    code, out, err = node.import_json("units", path, *mapping)
    elapsed = time.time() - t
    print("    IMPORT: %d rows, %d units signed and ingested in %.1f s (%.0f rows/s) — %s" % (
        rows, out.get("added", 0), elapsed, out.get("added", 0) / max(elapsed, 1e-3), err.strip().splitlines()[-1] if err.strip() else ""))
    check(code == 1 and set(refused_lines(out)) == set(kinds), "the import exits 1 and lists the same %d refused lines" % len(kinds))
    check(out.get("added") == rows - len(kinds), "the import adds %d units (%s)" % (rows - len(kinds), out.get("added")))
    check(node.ops() == ops + rows - len(kinds), "one op per unit added (%d ops, was %d)" % (node.ops(), ops))
    held = node.units()
    check(len(held) == rows - len(kinds) + 2 * len(ledger.TWICE_HELD),
          "the ledger holds %d units: the %d imported and the %d held before" % (len(held), rows - len(kinds), 2 * len(ledger.TWICE_HELD)))
    limit = float(os.environ.get("ANWANG_IMPORT_SECONDS_MAX", "0"))
    if limit:
        check(elapsed <= limit, "the import took %.1f s, at most %.0f" % (elapsed, limit))

    ops = node.ops()
    t = time.time()
    code, out, err = node.import_json("units", path, *mapping)
    print("    re-import: %.1f s" % (time.time() - t))
    check(out.get("added") == 0 and out.get("changed") == 0 and out.get("unchanged") == rows - len(kinds),
          "importing again: %d unchanged, nothing added or changed (%s added, %s changed)" % (
              rows - len(kinds), out.get("added"), out.get("changed")))
    check(node.ops() == ops, "importing again writes nothing (op count %d)" % node.ops())
    node.ok("verify")


def small_units(node):
    """Five rows of a ledger, as a header and rows."""
    header = ["单位名称", "统一社会信用代码", "地址", "行业", "负责人", "联系电话", "是否重点监管", "三小场所", "监管部门", "网格", "备注"]
    rows = [
        ["红砖厂", "91150430MA0N00001A", "1村北沟", "建材", "张三", "13800000001", "是", "否", "应急管理局、消防救援大队", ledger.grid(1, 1), "新建"],
        ["东风超市", "", "1村村口", "零售", "李四", "13800000002", "否", "小商铺", "市场监管局", ledger.grid(1, 2), ""],
        ["顺达加油站", "91150430MA0N00003C", "1村公路边", "危化", "王五", "13800000003", "是", "否", "应急管理局", "第3网格", ""],
        ["老刘饭店", "", "1村中街", "餐饮", "刘六", "13800000004", "否", "否", "市场监管局", ledger.grid(1, 1), ""],
        ["宏达机械厂", "91150430MA0N00005E", "1村工业园", "制造", "赵七", "13800000005", "否", "否", "应急管理局", ledger.grid(1, 2), ""],
    ]
    return header, rows


def check_small_import(node, path, label, *extra):
    ops = node.ops()
    code, out, err = node.import_json("units", path, "--scope", ledger.village(1), *extra)
    check(code == 0 and out.get("added") == 5, "%s: five units added, exit 0 (%d, %s)" % (label, code, err.strip()[:300]))
    check(node.ops() == ops + 5, "%s: five ops written" % label)
    by_name = {u["fields"]["name"]["value"]: u for u in node.units()}
    brick = by_name.get("红砖厂", {})
    fields = {k: v["value"] for k, v in brick.get("fields", {}).items()}
    check(fields.get("departments") == "应急管理局,消防救援大队" and fields.get("key_supervision") == "true" and
          fields.get("contacts") == "张三, 13800000001" and brick.get("scope") == ledger.grid(1, 1),
          "%s: 红砖厂's fields as the sheet gives them (%s)" % (label, fields))
    station = by_name.get("顺达加油站", {})
    check(station.get("scope") == ledger.grid(1, 3), "%s: a grid named 第3网格 is found within --scope's village (%s)" % (label, station.get("scope")))
    check(by_name.get("东风超市", {}).get("fields", {}).get("three_small", {}).get("value") == "true",
          "%s: 三小场所 '小商铺' is a three-small place" % label)
    return out


def case_encodings(build, tmp):
    """The same ledger as UTF-8 with a BOM, UTF-8 without, and GBK: each read alike; a file that is
    neither is refused with nothing written."""
    header, rows = small_units(None)
    for encoding, bom, label in (("utf-8", True, "UTF-8 with BOM"), ("utf-8", False, "UTF-8"), ("gbk", False, "GBK/GB18030")):
        node = make_county(build, os.path.join(tmp, label.replace(" ", "_").replace("/", "_")), villages=1, grids=3)
        path = node.file("units.csv")
        ledger.write_csv(path, header, rows, encoding, bom)
        out = check_small_import(node, path, label)
        check(out.get("encoding") == label, "%s: read as %s" % (label, out.get("encoding")))
        columns = {c["column"]: c["field"] for c in out.get("columns", [])}
        check(columns.get("备注") is None and columns.get("联系电话") == "contacts", "%s: 备注 listed as ignored, 联系电话 as contacts" % label)
    node = make_county(build, os.path.join(tmp, "neither"), villages=1, grids=1)
    path = node.file("neither.csv")
    with open(path, "wb") as f:
        f.write("单位名称,地址\r\n红砖厂,".encode("gbk") + b"\xff\xfe\x80\x81\r\n")
    ops = node.ops()
    code, out, err = node.import_json("units", path, "--scope", ledger.village(1))
    check(code == 3 and "neither UTF-8 nor GBK" in err, "a file that is neither UTF-8 nor GBK is refused, exit 3 (%d: %s)" % (code, err.strip()))
    check(node.ops() == ops, "…and nothing is written")


def write_xlsx(path, header, rows, dates=None, formula=None):
    import datetime
    import openpyxl
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append(["新惠镇1村生产经营单位台账"])  # a title row above the header, as ledgers have
    sheet.append(header + ["成立日期", "从业人数"])
    for k, row in enumerate(rows):
        sheet.append(row + [datetime.date(2015 + k, 3, 1 + k), 10 + k])
        sheet.cell(row=sheet.max_row, column=len(header) + 1).number_format = "yyyy\"年\"m\"月\"d\"日\""
    if formula:
        sheet.cell(row=3, column=len(header) + 2).value = "=1+1"
    book.save(path)


def case_xlsx(build, tmp):
    """An XLSX with a title row, shared strings, numbers and a date column; a formula refused."""
    header, rows = small_units(None)
    node = make_county(build, tmp, villages=1, grids=3)
    path = node.file("units.xlsx")
    write_xlsx(path, header, rows)
    out = check_small_import(node, path, "XLSX", "--map", "成立日期=scale", "--map", "从业人数=scale")
    check(out.get("header_line") == 2 and out.get("format") == "XLSX", "XLSX: the header is found on row 2, under the title")
    by_name = {u["fields"]["name"]["value"]: u for u in node.units()}
    scale = by_name.get("东风超市", {}).get("fields", {}).get("scale", {}).get("value")
    check(scale == "2016-03-02, 11", "XLSX: a date cell reads as 2016-03-02 and a number as 11 (%s)" % scale)
    phone = by_name.get("红砖厂", {}).get("fields", {}).get("contacts", {}).get("value")
    check(phone == "张三, 13800000001", "XLSX: text cells as typed (%s)" % phone)
    # Numbers typed as numbers: a phone number is written without an exponent.
    import openpyxl
    book = openpyxl.Workbook()
    book.active.append(["单位名称", "联系电话", "网格"])
    book.active.append(["数字电话商店", 13800138000, ledger.grid(1, 1)])
    numbers = node.file("numbers.xlsx")
    book.save(numbers)
    code, out, err = node.import_json("units", numbers)
    shop = [u for u in node.units() if u["fields"]["name"]["value"] == "数字电话商店"]
    check(code == 0 and shop and shop[0]["fields"]["contacts"]["value"] == "13800138000",
          "XLSX: a phone number kept as a number reads 13800138000 (%s)" % (shop[0]["fields"] if shop else err))
    formula = node.file("formula.xlsx")
    write_xlsx(formula, header, rows, formula=True)
    ops = node.ops()
    code, out, err = node.import_json("units", formula, "--scope", ledger.village(1))
    check(code == 3 and "formula" in err, "XLSX: a formula cell is refused, exit 3 (%d: %s)" % (code, err.strip()))
    check(node.ops() == ops, "…and nothing is written")


def case_map_and_edit(build, tmp):
    """Unknown columns with --map; a re-import with one changed cell writes one edit with only
    that field; the same file again writes nothing; a dry run names a key out of scope."""
    node = make_county(build, tmp, villages=2, grids=2)
    path = node.file("custom.csv")
    header = ["企业", "位置", "社会统一码", "管理网格"]
    rows = [["南山石料厂", "1村南山", "91150430MA0N00011K", ledger.grid(1, 1)],
            ["北坡养殖场", "2村北坡", "", ledger.grid(2, 2)]]
    ledger.write_csv(path, header, rows, "gbk")
    code, out, err = node.import_json("units", path)
    check(code == 3 and "--map" in err, "no column for the name: refused with how to map one, exit 3 (%s)" % err.strip())
    bad = node.run("import", "units", path, "--map", "企业=nothing", who="town")
    check(bad.returncode == 3 and "no field 'nothing'" in bad.stderr, "--map to a field that does not exist is refused (%s)" % bad.stderr.strip())
    mapping = ["--map", "企业=name", "--map", "位置=address", "--map", "社会统一码=licence", "--map", "管理网格=grid"]
    code, out, err = node.import_json("units", path, *mapping)
    check(code == 0 and out.get("added") == 2, "--map names the columns: two units added (%s)" % err.strip())
    text = node.run("import", "units", path, "--dry-run", *mapping, who="town").stdout
    check("企业 → name 单位名称  [--map]" in text, "the recognised columns are printed with their Chinese field names")
    ops = node.ops()
    rows[0][1] = "1村南山脚下"
    ledger.write_csv(path, header, rows, "gbk")
    code, out, err = node.import_json("units", path, *mapping)
    check(code == 0 and out.get("changed") == 1 and out.get("unchanged") == 1 and out.get("added") == 0,
          "a changed address: one changed, one unchanged (%s)" % {k: out.get(k) for k in ("added", "changed", "unchanged")})
    check(node.ops() == ops + 1, "…one op written")
    last = node.json("log")[-1]
    check(last["payload"].get("action") == "edit" and last["payload"].get("fields") == {"address": "1村南山脚下"},
          "…an edit carrying only the address (%s)" % last["payload"])
    ops = node.ops()
    code, out, err = node.import_json("units", path, *mapping)
    check(code == 0 and out.get("unchanged") == 2 and node.ops() == ops, "the same file again: nothing written")
    # The head of 1村 may not write at 2村: that row is refused with the rules' reason.
    rows.append(["西沟砂场", "2村西沟", "", ledger.grid(2, 1)])
    ledger.write_csv(path, header, rows, "gbk")
    code, out, err = node.import_json("units", path, "--dry-run", *mapping, who="head")
    reasons = refused_lines(out)
    check(code == 1 and list(reasons) == [4] and "out of scope" in reasons[4],
          "the head of 1村 importing a 2村 row: line 4 refused as out of scope (%s)" % reasons)
    # A unit entered at its village, listed later with its grid: the same unit, given its grid.
    path = node.file("village.csv")
    ledger.write_csv(path, ["单位名称", "村"], [["石桥小卖部", "1村"]], "gbk")
    code, out, err = node.import_json("units", path)
    check(code == 0 and out.get("added") == 1, "a unit entered at its village 1村 (%s)" % err.strip()[:200])
    ledger.write_csv(path, ["单位名称", "村", "网格"], [["石桥小卖部", "1村", "第1网格"]], "gbk")
    code, out, err = node.import_json("units", path)
    shop = [u for u in node.units() if u["fields"]["name"]["value"] == "石桥小卖部"]
    check(code == 0 and out.get("changed") == 1 and out.get("added") == 0 and len(shop) == 1 and
          shop[0]["fields"].get("grid", {}).get("value") == ledger.grid(1, 1) and shop[0]["scope"] == ledger.village(1),
          "listed again with its grid: one edit giving it the grid, no second unit (%s)" % {k: out.get(k) for k in ("added", "changed")})


def claim_size(path, name, size):
    """Rewrites the zip's headers of entry `name` to claim `size` bytes uncompressed."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    claim = size.to_bytes(4, "little")
    at = 0
    while (at := data.find(b"PK\x03\x04", at)) >= 0:  # local headers: size at 22, name at 30
        if data[at + 30:at + 30 + len(name)] == name:
            data[at + 22:at + 26] = claim
        at += 4
    at = 0
    while (at := data.find(b"PK\x01\x02", at)) >= 0:  # central directory: size at 24, name at 46
        if data[at + 46:at + 46 + len(name)] == name:
            data[at + 24:at + 28] = claim
        at += 4
    with open(path, "wb") as f:
        f.write(data)


def case_hostile(build, tmp):
    """Careless and hostile files: each refused with one clear sentence, exit 3, nothing written."""
    node = make_county(build, tmp, villages=1, grids=1)
    ops = node.ops()
    header = "单位名称,地址,网格\r\n"
    grid = ledger.grid(1, 1)
    cases = [
        ("f1.csv", b"", "is empty"),
        ("f2.csv", header.encode("gbk"), "no rows"),
        ("f3.csv", (header + '红砖厂,"北沟,%s\r\n超市,村口,%s\r\n' % (grid, grid)).encode("gbk"), "never closed"),
        ("f4.csv", (header + "红砖厂,北沟,%s,多出来的\r\n" % grid).encode("gbk"), "past the header"),
        ("f5.csv", (header + "红砖厂,北\x00沟,%s\r\n" % grid).encode("gbk"), "NUL"),
        ("f6.csv", (header + "红砖厂,=SUM(A1:A3),%s\r\n" % grid).encode("gbk"), "holds a formula"),
        ("f7.csv", (header + "红砖厂,北沟,%s\r\n" % grid).encode("utf-16"), "UTF-16"),
        ("f8.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, ".xls"),
        ("f9.csv", (header + '红砖厂,北"沟,%s\r\n' % grid).encode("gbk"), "quoting rules"),
    ]
    for name, data, word in cases:
        path = node.file(name)
        with open(path, "wb") as f:
            f.write(data)
        code, out, err = node.import_json("units", path)
        check(code == 3 and word in err and err.count("\n") == 1,
              "%s: refused, exit 3, one sentence saying '%s' (%d: %s)" % (name, word, code, err.strip()[:200]))
    # Zip bombs: an entry whose header claims 2 GiB once uncompressed (refused unread), and one that
    # truly inflates to 300 MiB from about 300 KiB (zeros compress 1,000:1).
    bomb = node.file("claim.xlsx")
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", '<workbook><sheets><sheet name="a" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet><sheetData/></worksheet>")
    claim_size(bomb, b"xl/worksheets/sheet1.xml", 2 ** 31)
    code, out, err = node.import_json("units", bomb)
    check(code == 3 and "claims 2,147,483,648 bytes" in err, "an entry claiming 2 GiB is refused unread, exit 3 (%s)" % err.strip()[:200])
    bomb = node.file("inflates.xlsx")
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", '<workbook><sheets><sheet name="a" r:id="rId1"/></sheets></workbook>')
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            chunk = b"<!-- " + b"0" * (1 << 20) + b" -->"
            f.write(b"<worksheet><sheetData>")
            for _ in range(300):
                f.write(chunk)
            f.write(b"</sheetData></worksheet>")
    for claimed, word in ((None, "more than an import reads"), (1000, "refused")):
        if claimed:
            claim_size(bomb, b"xl/worksheets/sheet1.xml", claimed)
        code, out, err = node.import_json("units", bomb)
        check(code == 3 and word in err, "300 MiB inflated from %d KiB, its entry claiming %s, is refused, exit 3 (%s)" % (
            os.path.getsize(bomb) // 1024, claimed or "so", err.strip()[:250]))
    # Too many rows: past the cap of 200,000.
    many = node.file("many.csv")
    with open(many, "wb") as f:
        f.write(header.encode("gbk"))
        f.write(("甲,乙,%s\r\n" % grid).encode("gbk") * 200100)
    code, out, err = node.import_json("units", many)
    check(code == 3 and "200,000 rows" in err, "a file of 200,100 rows is refused, exit 3 (%s)" % err.strip()[:200])
    check(node.ops() == ops, "none of them wrote anything (op count %d)" % node.ops())


def case_people(build, tmp):
    """A list of grid members: added at their grids, deduplicated by place, name and phone."""
    node = make_county(build, tmp, villages=2, grids=2)
    path = node.file("people.csv")
    header = ["姓名", "手机号码", "职务", "所属网格", "村"]
    rows = [["张伟", "13900000001", "网格员", "第1网格", "1村"],
            ["李娜", "13900000002", "网格员", ledger.grid(1, 2), ""],
            ["王强", "13900000003", "村安全员", "", "1村"],
            ["刘洋", "13900000004", "网格员", "第2网格", "2村"],
            ["张伟", "13900000001", "网格员", "第1网格", "1村"],
            ["", "13900000006", "网格员", "", "1村"]]
    ledger.write_csv(path, header, rows, "gbk")
    ops = node.ops()
    code, out, err = node.import_json("people", path)
    if code == 3 and "has no 'person' records yet" in err:
        raise Skip("this build has no person records yet (the record kind comes from main): " + err.strip())
    reasons = refused_lines(out)
    check(code == 1 and set(reasons) == {6, 7} and "duplicate" in reasons.get(6, "") and "missing name" in reasons.get(7, ""),
          "people: the repeated 张伟 (line 6) and the nameless row (line 7) refused (%s %s)" % (reasons, err.strip()[:300]))
    check(out.get("added") == 4 and node.ops() == ops + 4, "people: four people added (%s)" % out.get("added"))
    people = {p["name"]: p for p in node.json("person", "list")} if out.get("added") else {}
    check(people.get("张伟", {}).get("scope") == ledger.grid(1, 1) and people.get("王强", {}).get("scope") == ledger.village(1),
          "people: each at their grid, or their village when no grid is given")
    check(people.get("李娜", {}).get("grid") == ledger.grid(1, 2) and people.get("李娜", {}).get("office") == "网格员",
          "people: a profile carries its grid and office (%s)" % people.get("李娜"))
    # The rules' own checks of a profile, judged for every row by a dry run: a phone that is no number.
    odd = node.file("odd.csv")
    ledger.write_csv(odd, header, [["赵敏", "13900000009（微信同号）", "网格员", "第2网格", "1村"]], "gbk")
    code, out, err = node.import_json("people", odd, "--dry-run")
    reasons = refused_lines(out)
    check(code == 1 and "refused by the rules" in reasons.get(2, "") and "phone" in reasons.get(2, ""),
          "people: a dry run lists a phone the rules refuse, with their reason (%s)" % reasons)
    ops = node.ops()
    code, out, err = node.import_json("people", odd)
    check(code == 1 and "refused by the rules" in refused_lines(out).get(2, "") and node.ops() == ops,
          "people: the import refuses it too, writing nothing (%s)" % refused_lines(out))
    rows[1][2] = "网格长"
    ledger.write_csv(path, header, rows[:4], "gbk")
    ops = node.ops()
    code, out, err = node.import_json("people", path)
    check(code == 0 and out.get("changed") == 1 and out.get("unchanged") == 3 and node.ops() == ops + 1,
          "people: a changed office is one edit, the others unchanged (%s)" % {k: out.get(k) for k in ("added", "changed", "unchanged")})


def case_samples(build, tmp):
    """docs/import's samples import as the README says: every row, nothing refused."""
    node = Node(build, tmp)
    node.ok("init")
    for name in ("root", "town"):
        node.ok("key", "new", name, "--no-passphrase")
    node.ok("genesis", "--county", "150430", "--name", "敖汉旗", "--root", "root", who="root")
    node.ok("region", "add", "150430100", "--name", "新惠镇", who="root")
    node.ok("delegate", "--to", "town", "--role", "township_station", "--scope", "150430100", who="root")
    for code, village in (("150430100201", "东井村"), ("150430100202", "西井村")):
        node.ok("region", "add", code, "--name", village, who="town")
        node.ok("region", "add", code + "-01", "--name", "第一网格", who="town")
        node.ok("region", "add", code + "-02", "--name", "第二网格", who="town")
    docs = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs", "import")
    code, out, err = node.import_json("units", os.path.join(docs, "units-sample.csv"))
    check(code == 0 and out.get("added") == 10 and out.get("encoding") == "GBK/GB18030",
          "units-sample.csv (GBK): ten units added, none refused (%s)" % err.strip()[:300])
    code, out, err = node.import_json("people", os.path.join(docs, "people-sample.csv"))
    if code == 3 and "has no 'person' records yet" in err:
        raise Skip("people-sample.csv: this build has no person records yet: " + err.strip())
    check(code == 0 and out.get("added") == 6, "people-sample.csv (GBK): six people added, none refused (%s)" % err.strip()[:300])


CASES = {"big": case_big, "encodings": case_encodings, "xlsx": case_xlsx, "map_and_edit": case_map_and_edit,
         "hostile": case_hostile, "people": case_people,
         "samples": case_samples}


def main():
    build, which = os.path.abspath(sys.argv[1]), sys.argv[2]
    for name, case in CASES.items():
        if which not in ("all", name):
            continue
        print("%s: %s" % (name, case.__doc__.splitlines()[0]))
        tmp = tempfile.mkdtemp(prefix="anwang-import-%s-" % name)
        try:
            case(build, tmp)
        except Skip as e:
            print("  SKIP " + str(e))
            skipped.append(name)
        except Exception as e:  # a failed command: reported as a failure, with what it said
            check(False, "%s raised %s" % (name, e))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed, %d skipped" % (passed[0], len(failures), len(skipped)))
    sys.exit(1 if failures else 77 if skipped else 0)


if __name__ == "__main__":
    main()
