#!/usr/bin/python3
"""Ledgers (台账) and lists of people as a county keeps them in Excel, for the import tests.

big_ledger() writes a GBK CSV of N units, as Excel on a Chinese Windows PC saves one, with exactly
200 bad rows of eight kinds (25 each) at places drawn from a seed, and returns, for each bad row's
line, a word its refusal must contain. The county it assumes is made by county.py.

Usage as a program: ledger.py FILE [ROWS] writes a big ledger (50,000 rows by default) and prints
its bad lines.
"""
import random
import sys

HEADER = ["序号", "单位名称", "统一社会信用代码", "经营地址", "行业类别", "规模", "成立日期", "负责人", "联系电话",
          "是否重点监管", "三小场所", "行业主管部门", "所属网格", "所属村(社区)", "备注"]

# The county of county.py: township 新惠镇 150430100 with villages 01..VILLAGES, each with GRIDS
# grids; another township 150430200 with one village, out of the importing key's reach.
TOWNSHIP = "150430100"
VILLAGES = 20
GRIDS = 5
OTHER_VILLAGE = "150430200201"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
TRADES = [("建材", "砖厂"), ("危化", "加油站"), ("零售", "超市"), ("餐饮", "饭店"), ("制造", "机械厂"),
          ("仓储", "仓库"), ("住宿", "宾馆"), ("娱乐", "网吧"), ("建筑", "工地"), ("农业", "养殖场")]
DEPARTMENTS = ["应急管理局", "市场监管局", "消防救援大队", "住建局", "交通运输局"]

KINDS = ["missing_name", "unknown_grid", "duplicate_in_file", "duplicate_in_store", "bad_date", "bad_boolean",
         "too_long", "out_of_scope"]
# A word each kind's refusal must contain.
REASON_WORD = {"missing_name": "missing name", "unknown_grid": "unknown grid", "duplicate_in_file": "duplicate",
               "duplicate_in_store": "duplicate", "bad_date": "no date", "bad_boolean": "yes/no",
               "too_long": "too long", "out_of_scope": "out of scope"}
# Names that the test puts in the ledger twice before the import (two units of one name at one
# grid, with different licences): a row naming one of them without a licence cannot say which.
TWICE_HELD = ["重名{}号商店".format(i) for i in range(25)]
TWICE_HELD_GRID = "150430100201-01"


def village(v):
    return "%s%03d" % (TOWNSHIP, 200 + v)


def grid(v, g):
    return "%s-%02d" % (village(v), g)


def licence(i):
    return "91150430MA%08dX" % i


def good_row(rng, i):
    v = 1 + i % VILLAGES
    g = 1 + (i // VILLAGES) % GRIDS
    trade, suffix = TRADES[i % len(TRADES)]
    name = "{}{}{}号{}".format(SURNAMES[i % len(SURNAMES)], "氏", i, suffix)
    founded = ["2015-03-01", "2016/7/12", "2018年5月20日", "20190102", "", "2020.11.3"][i % 6]
    # The place by grid code, or by grid and village name (as the county's regions name them).
    if i % 7 == 0:
        place_grid, place_village = "第{}网格".format(g), "{}村".format(v)
    else:
        place_grid, place_village = grid(v, g), ""
    return ["", name, licence(i) if i % 5 else "", "新惠镇{}村{}组{}号".format(v, g, i), trade,
            ["小型", "微型", "中型", "规上"][i % 4], founded, SURNAMES[(i * 7) % len(SURNAMES)] + "经理",
            "138%08d" % i, "是" if i % 9 == 0 else "否", "小商铺" if trade == "零售" and i % 2 else "否",
            "、".join(DEPARTMENTS[: 1 + i % 3]), place_grid, place_village, ""]


def bad_row(rng, kind, i, good_rows):
    row = good_row(rng, i)
    if kind == "missing_name":
        row[1] = ""
    elif kind == "unknown_grid":
        row[12], row[13] = ("不存在的网格{}".format(i), "") if i % 2 else (grid(1, 9), "")
    elif kind == "duplicate_in_file":
        row = list(rng.choice(good_rows))
        row[3] = row[3] + "（重复录入）"
    elif kind == "duplicate_in_store":
        row[1], row[2], row[12], row[13] = TWICE_HELD[i % len(TWICE_HELD)], "", TWICE_HELD_GRID, ""
    elif kind == "bad_date":
        row[6] = ["2021-13-45", "去年", "2021-02-30", "三月"][i % 4]
    elif kind == "bad_boolean":
        row[9] = ["也许", "待定", "?", "重点"][i % 4]
    elif kind == "too_long":
        row[3] = "很长的地址" * 1200  # 6,000 characters: 18,000 bytes of UTF-8, past a field's 16,384
    elif kind == "out_of_scope":
        row[12], row[13] = "", OTHER_VILLAGE
    return row


def big_ledger(path, rows=50000, bad=200, seed=22):
    """Writes the ledger; returns {line: kind} of its bad rows."""
    rng = random.Random(seed)
    bad_lines = sorted(rng.sample(range(3, rows + 2), bad))  # line 1 is the header; line 2 stays good
    kinds = {line: KINDS[k % len(KINDS)] for k, line in enumerate(bad_lines)}
    good_rows = []
    lines = []
    for line in range(2, rows + 2):
        i = line - 2
        if line in kinds:
            row = bad_row(rng, kinds[line], i, good_rows)
        else:
            row = good_row(rng, i)
            good_rows.append(row)
        row[0] = str(i + 1)
        lines.append(row)
    write_csv(path, HEADER, lines, "gbk")
    return kinds


def csv_cell(value):
    if any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_csv(path, header, rows, encoding, bom=False):
    text = "\r\n".join(",".join(csv_cell(c) for c in row) for row in [header] + rows) + "\r\n"
    with open(path, "wb") as f:
        if bom:
            f.write(b"\xef\xbb\xbf")
        f.write(text.encode(encoding))


if __name__ == "__main__":
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    for line, kind in sorted(big_ledger(out, n).items()):
        print(line, kind)
