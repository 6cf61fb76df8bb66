#!/usr/bin/python3
"""The map (地图, issue 22) in headless Chromium at phone (360×740) and PC (1280×800) sizes, on the
demo node (tests/web/make_demo_node.sh: the sample boundaries imported, hazards and units located).

Checks what a person would: the SVG has the village's and its grids' outlines and a dot per located
hazard, nothing scrolls sideways, the controls are 44 px targets; tapping a dot shows the hazard's
state in words and leads to its page; a point picked on the map in the report form arrives as the
hazard's location (read back through the API); the unit page sets a unit's location the same way;
and with an MBTiles file named in anwang.toml the basemap's tiles are drawn under the boundaries,
fetched from the node alone. Saves OUTDIR/map-phone.png and OUTDIR/map-pc.png (and the others).

Usage: tests/web/map_test.py OUTDIR [--build BUILD_DIR]
"""
import argparse
import math
import os
import re
import sqlite3
import time

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from browser import check, finish, png
from screenshots import ROOT, Browser, Demo

# The village's outline in the sample (docs/map/sample-regions.geojson), for the picked point.
VILLAGE_BOX = (119.917, 42.236, 119.986, 42.325)


def tile_png(z, x, y):
    """A 256 px tile of a made-up county: fields, a river along 42.262°N and a road along 119.950°E,
    drawn by latitude and longitude so that neighbouring tiles meet."""
    n = 2 ** z
    lng = lambda px: (x + px / 256) / n * 360 - 180
    lat = lambda py: math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + py / 256) / n))))
    road = [abs(lng(px) - 119.950) < 0.0006 for px in range(256)]
    rows = []
    for py in range(256):
        la = lat(py)
        if abs(la - 42.262) < 0.0009:
            rows.append(bytes((120, 170, 215)) * 256)
            continue
        field = (226, 232, 205) if int((la - 42) * 200) % 2 else (236, 230, 210)
        rows.append(b"".join(bytes((200, 190, 160)) if r else bytes(field) for r in road))
    return png(256, 256, rows)


def make_mbtiles(path):
    """Tiles of zoom 11 to 14 around the sample township, in an MBTiles file (TMS rows)."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    for k, v in {"name": "测试底图", "format": "png", "minzoom": "11", "maxzoom": "14", "bounds": "119.80,42.20,120.05,42.36"}.items():
        db.execute("INSERT INTO metadata VALUES (?, ?)", (k, v))
    count = 0
    for z in range(11, 15):
        n = 2 ** z
        tx = lambda lng: int((lng + 180) / 360 * n)
        ty = lambda la: int((1 - math.log(math.tan(math.radians(la)) + 1 / math.cos(math.radians(la))) / math.pi) / 2 * n)
        for x in range(tx(119.84), tx(120.00) + 1):
            for y in range(ty(42.34), ty(42.22) + 1):
                db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, n - 1 - y, tile_png(z, x, y)))
                count += 1
    db.commit()
    db.close()
    return count


def tap_at(b, element):
    """A finger on the element's middle: pointer events, as a phone sends them."""
    ActionChains(b.driver).move_to_element(element).click().perform()


def map_page(b, name):
    b.go("#/map")
    b.wait_for(".mp path.rg")
    b.settle()
    time.sleep(0.3)
    paths = b.driver.find_elements(By.CSS_SELECTOR, ".mp path.rg")
    dots = b.driver.find_elements(By.CSS_SELECTOR, ".mp circle.dot[data-id]")
    located = b.api("map")
    check(len(paths) == 4 and len(located["regions"]) == 4,
          "%s: the village and its three grids are drawn (%d outlines)" % (name, len(paths)))
    check(len(dots) == len(located["hazards"]) + len(located["units"]) and len(located["hazards"]) >= 8,
          "%s: a dot for each of the %d located hazards and %d units" % (name, len(located["hazards"]), len(located["units"])))
    names = [t.text for t in b.driver.find_elements(By.CSS_SELECTOR, ".mp text")]
    check("东井村三组" in names and "东井村" in names, "%s: the regions' names on the map %s" % (name, names))
    legend = b.driver.find_element(By.CSS_SELECTOR, ".map-legend").text
    check("已上报" in legend and "单位" in legend, "%s: the legend says each state in words: %s" % (name, legend.replace("\n", " ")))
    # Every dot within the drawing, none off the screen at the first view.
    box = b.driver.find_element(By.CSS_SELECTOR, ".mp").rect
    inside = all(box["x"] <= d.rect["x"] <= box["x"] + box["width"] and box["y"] <= d.rect["y"] <= box["y"] + box["height"] for d in dots)
    check(inside, "%s: the map is fitted: every dot on the screen" % name)
    return located


def run_phone(url, outdir):
    print("phone, 360×740, the grid member:")
    b = Browser(url, 360, 740, outdir, "map")
    try:
        b.sign_in("member")
        located = map_page(b, "phone")
        b.shot("phone")
        # Tap a hazard's dot: its state in words, and the way to its page.
        hazard = [h for h in located["hazards"] if h["state"] == "rejected"][0]
        tap_at(b, b.driver.find_element(By.CSS_SELECTOR, ".mp circle[data-id='%s']" % hazard["id"]))
        item = b.wait_for(".map-tip .map-item")[0]
        check("已驳回" in item.text and hazard["label"][:6] in item.text, "a tapped dot shows its state and words: %s" % item.text)
        b.shot("phone-tap")
        b.click(item)
        b.wait_for(".timeline li")
        check(b.driver.current_url.endswith("#/hazard/" + hazard["id"]), "…and leads to the hazard's page")
        check("在地图上查看" in b.driver.find_element(By.CSS_SELECTOR, ".facts").text, "the hazard's page links back to the map")
        # Zoom and pan: the buttons and a drag change the view; ⌂ brings the whole back.
        b.go("#/map")
        b.wait_for(".mp path.rg")
        time.sleep(0.3)
        svg = b.driver.find_element(By.CSS_SELECTOR, ".mp")
        whole = svg.get_dom_attribute("viewBox")
        b.click(b.driver.find_element(By.CSS_SELECTOR, ".map-ctl .btn"))
        zoomed = svg.get_dom_attribute("viewBox")
        ActionChains(b.driver).move_to_element(svg).click_and_hold().move_by_offset(60, 40).release().perform()
        panned = svg.get_dom_attribute("viewBox")
        check(float(zoomed.split()[2]) < float(whole.split()[2]) and panned.split()[:2] != zoomed.split()[:2],
              "+ zooms in and a drag pans (%s → %s → %s)" % (whole, zoomed, panned))
        b.click(b.driver.find_elements(By.CSS_SELECTOR, ".map-ctl .btn")[2])
        check(svg.get_dom_attribute("viewBox") == whole, "⌂ shows the whole again")

        # The report form: 用手机定位 says why not over plain http; a point picked on the map.
        b.go("#/report")
        b.wait_for(".cats .cat")
        b.settle()
        b.click(b.driver.find_elements(By.CSS_SELECTOR, ".cats .cat")[0])
        b.driver.find_element(By.ID, "f-text").send_keys("村东路边变压器围栏倒塌")
        # A phone on http://<village PC>:8088 is not in a secure context (127.0.0.1 here is): the
        # browser gives such a page no position, and the form says so and offers the map.
        b.driver.execute_script("Object.defineProperty(window, 'isSecureContext', {value: false})")
        b.click([e for e in b.driver.find_elements(By.CSS_SELECTOR, ".loc .btn") if e.text == "用手机定位"][0])
        note = b.driver.find_element(By.CSS_SELECTOR, ".loc .note").text
        check("不是加密连接" in note and "在地图上选点" in note, "用手机定位 over plain http says why not, and offers the map: %s" % note)
        b.shot("phone-report-insecure")
        b.click([e for e in b.driver.find_elements(By.CSS_SELECTOR, ".loc .btn") if e.text == "在地图上选点"][0])
        b.wait_for(".map-pick .mp path.rg")
        time.sleep(0.4)
        b.shot("phone-pick-open")
        tap_at(b, b.driver.find_element(By.CSS_SELECTOR, ".map-pick .mp"))
        b.wait_for(".map-pick circle.pick:not(.hidden)")
        b.shot("phone-pick")
        b.click([e for e in b.driver.find_elements(By.CSS_SELECTOR, ".map-pick .btn") if e.text == "确定"][0])
        shown = b.driver.find_element(By.CSS_SELECTOR, ".loc-row span").text
        check(re.match(r"^1\d\d\.\d{6}, 4\d\.\d{6}$", shown) is not None, "the picked point is shown in the form: %s" % shown)
        b.shot("phone-report-located")
        b.click(b.driver.find_element(By.CSS_SELECTOR, "form.report .actionbar button[type=submit]"))
        b.wait_for(".timeline li", 30)
        made = b.api("hazards/" + b.driver.current_url.rsplit("/", 1)[1])
        lng, lat = [float(v) for v in made.get("location", "0,0").split(",")]
        check(made.get("location") == shown.replace(", ", ",") and VILLAGE_BOX[0] < lng < VILLAGE_BOX[2] and VILLAGE_BOX[1] < lat < VILLAGE_BOX[3],
              "the hazard arrives with the picked location, inside the village: %s" % made.get("location"))
        b.go("#/map")
        b.wait_for(".mp path.rg")
        check(bool(b.driver.find_elements(By.CSS_SELECTOR, ".mp circle[data-id='%s']" % made["id"])), "…and is on the map")
        errors = b.console_errors()
        check(not errors, "no errors in the browser console %s" % errors[:5])
        return b.shots
    finally:
        b.quit()


def run_pc(url, outdir, name="pc"):
    print("PC, 1280×800, the village head:")
    b = Browser(url, 1280, 800, outdir, "map")
    try:
        b.sign_in("head")
        tab = [t for t in b.driver.find_elements(By.CSS_SELECTOR, ".tabs .tab") if t.text == "地图"]
        check(bool(tab) and tab[0].is_displayed(), "a PC has the map among its tabs")
        map_page(b, name)
        b.shot(name)
        if name != "pc":
            return b.shots
        # A unit located from its page: 标注位置, a point on the map.
        unit = [u for u in b.api("units")["items"] if u["name"] == "幸福超市"][0]
        b.go("#/record/" + unit["id"])
        b.wait_for(".timeline li")
        b.settle()
        b.click([e for e in b.driver.find_elements(By.CSS_SELECTOR, ".btn") if e.text == "标注位置" and e.is_displayed()][0])
        b.click([e for e in b.wait_for(".action-form .btn") if e.text == "在地图上选点"][0])
        b.wait_for(".map-pick .mp path.rg")
        time.sleep(0.4)
        # The picker opens at the unit's place; a tap 80 px to the left and 60 px up moves it.
        ActionChains(b.driver).move_to_element_with_offset(b.driver.find_element(By.CSS_SELECTOR, ".map-pick .mp"), -80, -60).click().perform()
        b.click([e for e in b.driver.find_elements(By.CSS_SELECTOR, ".map-pick .btn") if e.text == "确定"][0])
        b.shot("pc-unit-located")
        b.click(b.driver.find_element(By.CSS_SELECTOR, ".action-form .btn-main"))
        deadline = time.time() + 10
        while time.time() < deadline and b.api("records/" + unit["id"])["fields"]["location"]["value"] == unit["location"]:
            time.sleep(0.2)
        moved = b.api("records/" + unit["id"])["fields"]["location"]["value"]
        (x0, y0), (x1, y1) = [[float(v) for v in p.split(",")] for p in (unit["location"], moved)]
        check(re.match(r"^1\d\d\.\d{6},4\d\.\d{6}$", moved) and x1 < x0 and y1 > y0,
              "a unit's location set on the map from the PC, west and north of where it was: %s → %s" % (unit["location"], moved))
        errors = b.console_errors()
        check(not errors, "no errors in the browser console %s" % errors[:5])
        return b.shots
    finally:
        b.quit()


def restart_with_basemap(demo, mbtiles):
    """anwangd again on the demo's home, with [web] mbtiles named in its anwang.toml (its last section)."""
    with open(os.path.join(demo.tmp, "village", "anwang.toml"), "a") as f:
        f.write('\nmbtiles = "%s"\n' % mbtiles)
    demo.stop(keep=True)
    demo.start()


def run_basemap(url, outdir):
    print("PC with the county's basemap (MBTiles):")
    b = Browser(url, 1280, 800, outdir, "map")
    try:
        b.sign_in("head")
        info = b.api("map")["basemap"]
        check(info is not None and info["maxzoom"] == 14, "GET map names the basemap: %s" % info)
        map_page(b, "pc-basemap")
        WebDriverWait(b.driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".mp image"))
        time.sleep(1)
        loaded = b.driver.execute_script("""
            return performance.getEntriesByType('resource').filter(e => e.name.indexOf('/api/v1/tiles/') >= 0)
              .map(e => [e.name.replace(location.origin, ''), e.responseStatus]);""")
        foreign = b.driver.execute_script("""
            return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.indexOf(location.origin) !== 0);""")
        check(len(loaded) > 0 and all(s == 200 for _, s in loaded), "the map drew %d tiles from the node: %s" % (len(loaded), loaded[:3]))
        check(not foreign, "nothing was fetched from anywhere but the node %s" % foreign[:3])
        b.shot("pc-basemap")
        return b.shots
    finally:
        b.quit()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    build = os.path.abspath(args.build)
    demo = Demo(build)
    shots = []
    try:
        shots += run_phone(demo.url, args.outdir)
        shots += run_pc(demo.url, args.outdir)
        mbtiles = os.path.join(demo.tmp, "county.mbtiles")
        print("  (%d tiles in %s)" % (make_mbtiles(mbtiles), mbtiles))
        restart_with_basemap(demo, mbtiles)
        shots += run_basemap(demo.url, args.outdir)
    finally:
        demo.stop()
    finish(shots)


if __name__ == "__main__":
    main()
