#!/usr/bin/python3
"""Maps at scale: vector tiles and viewport clusters of a running `rgis serve`.

    tools/bench maps --url http://127.0.0.1:PORT [--tiles 30] [--database DB.sqlite] [--screenshots DIR --token T]

For each layer and zoom, random tiles inside the listings' extent are asked twice (cold, then kept);
then three map views of clusters at the map's default filter (status=active). Before the timings
count, a few listing tiles are decoded by GDAL and must hold what a bbox query over their bounds
matches (bounds from pyproj), and a view's clusters must sum to its numberMatched.

With --database (the file the server serves), each view's total is also counted by raw SQL on the
file (SpatiaLite's X/Y of every active listing, no RGIS code). With --screenshots, headless Chromium
draws the four views of /map (the agent and regulator views with --token, an admin's) into DIR, and
the number the page states in view must equal that raw count for the page's own box.
"""
import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def fetch(url):
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url) as r:
            body, status = r.read(), r.status
    except urllib.error.HTTPError as error:
        body, status = b"", error.code
    return (time.perf_counter() - start) * 1000, status, body


def tile_of(lon, lat, z):
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)


def check_tile(url, z, x, y):
    from pyproj import Transformer
    to_degrees = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    origin = 20037508.342789244
    side = 2 * origin / 2 ** z
    west, north = to_degrees.transform(-origin + x * side, origin - y * side)
    east, south = to_degrees.transform(-origin + (x + 1) * side, origin - (y + 1) * side)
    _, status, body = fetch(f"{url}/collections/listings/tiles/WebMercatorQuad/{z}/{y}/{x}")
    held = 0
    if status == 200:
        with tempfile.NamedTemporaryFile(suffix=".mvt") as f:
            f.write(body)
            f.flush()
            out = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", f.name, "-oo", f"X={x}", "-oo", f"Y={y}", "-oo", f"Z={z}"],
                                 capture_output=True, text=True).stdout
        held = sum(ft["properties"].get("count", 1) for ft in json.loads(out)["features"])
    _, _, items = fetch(f"{url}/collections/listings/items?bbox={west},{south},{east},{north}&limit=1")
    matched = json.loads(items).get("numberMatched")
    return held, matched


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--tiles", type=int, default=30, help="tiles per layer and zoom (fewer where the extent holds fewer)")
    ap.add_argument("--database", help="the served file, for raw SQL counts of the views")
    ap.add_argument("--screenshots", help="a directory for screenshots of the map's views (needs --database)")
    ap.add_argument("--token", help="an admin's bearer token, for the agent and regulator views")
    ap.add_argument("--checks-only", action="store_true", help="the checks without the tile timings (a test's run)")
    args = ap.parse_args()
    if args.screenshots and not args.database:
        ap.error("--screenshots needs --database (the page's total is checked against raw SQL on it)")
    url = args.url.rstrip("/")
    _, _, body = fetch(f"{url}/collections/listings")
    ext = json.loads(body)["extent"]["spatial"]["bbox"][0]
    random.seed(7)
    cx, cy = (ext[0] + ext[2]) / 2, (ext[1] + ext[3]) / 2
    for z in (11, 13, 16):
        held, matched = check_tile(url, z, *tile_of(cx, cy, z))
        if held != matched:
            print(f"FAIL listings tile z{z} at the centre holds {held}, a bbox query matches {matched}")
            return 1
        print(f"ok   listings tile z{z} at the centre holds {held} listings = a bbox query over its bounds")
    if not args.checks_only:
        tile_timings(url, ext, args.tiles)
    return views(url, cx, cy, args)


def tile_timings(url, ext, count):
    print("| tiles | cold p50 | cold p99 | again p50 | again p99 | largest | empty |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for layer, zooms in [("listings", [9, 11, 13, 15, 16]), ("districts", [9, 12]), ("parcels", [13, 15]), ("buildings", [14, 16])]:
        for z in zooms:
            tiles = set()
            for _ in range(20 * count):
                if len(tiles) >= count:
                    break
                tiles.add(tile_of(random.uniform(ext[0], ext[2]), random.uniform(ext[1], ext[3]), z))
            paths = [f"{url}/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}" for x, y in tiles]
            cold = [fetch(p) for p in paths]
            again = [fetch(p) for p in paths]
            c = sorted(r[0] for r in cold)
            a = sorted(r[0] for r in again)
            print(f"| {layer} z{z} ({len(paths)}) | {statistics.median(c):.1f} ms | {c[-1]:.1f} ms | {statistics.median(a):.1f} ms | {a[-1]:.1f} ms | "
                  f"{max(len(r[2]) for r in cold) / 1000:.0f} kB | {sum(1 for r in cold if r[1] == 204)} |")


def views(url, cx, cy, args):
    print("| clusters view (status=active) | in view | run 1 | run 2 | run 3 |")
    print("|---|---:|---:|---:|---:|")
    for z in (9, 11, 13):
        half = 360 / 2 ** z * 2.3
        box = f"{cx - half:.5f},{cy - half * 0.6:.5f},{cx + half:.5f},{cy + half * 0.6:.5f}"
        runs = [fetch(f"{url}/search/clusters?bbox={box}&zoom={z}&status=active") for _ in range(3)]
        view = json.loads(runs[0][2])
        total = sum(f["properties"]["count"] for f in view["features"])
        if total != view["numberMatched"]:
            print(f"FAIL clusters z{z}: cells sum to {total}, numberMatched {view['numberMatched']}")
            return 1
        if args.database and raw_active(args.database, box) != total:
            print(f"FAIL clusters z{z}: {total} in view, raw SQL on the file counts {raw_active(args.database, box)}")
            return 1
        print(f"| z{z} {box} | {total:,} | " + " | ".join(f"{r[0]:.0f} ms" for r in runs) + " |")
    if args.database:
        print("ok   each view's total equals raw SQL on the file (active listings by their X and Y)")
    return screenshots(url, args.database, args.screenshots, args.token) if args.screenshots else 0


def raw_active(database, box):
    """Active listings in a box, by SQLite and SpatiaLite alone on the file."""
    w, s, e, n = (float(v) for v in box.split(","))
    sql = (".load mod_spatialite\n"
           f"SELECT count(*) FROM listings WHERE status = 'active' AND X(geom) BETWEEN {w!r} AND {e!r} AND Y(geom) BETWEEN {s!r} AND {n!r};\n")
    out = subprocess.run(["sqlite3", "-readonly", database], input=sql, capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[-1])


def screenshots(url, database, directory, token):
    """The four views in headless Chromium: each drawn, no script error, and the page's total in view
    equal to raw SQL over the page's own box."""
    import re
    os.makedirs(directory, exist_ok=True)
    # The figures the views ask for, computed once before the browser opens (kept while the market
    # stays the same): the page is timed, not the first computation of a level's series.
    for path in ["/indicators?level=district", "/indicators/series?level=district", "/collections/alerts/items?level=district"]:
        with urllib.request.urlopen(url + path, timeout=900) as r:
            r.read()
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,800", "--virtual-time-budget=15000"]
    failed = 0
    for view in ["agent", "planner", "regulator", "unmet"] if token else ["agent", "planner"]:
        # unmet: the planner view on unmet demand (a planner's figure: it needs the token).
        page = (f"{url}/map?figure=unmet_share#planner" if view == "unmet" else f"{url}/map#{view}") + (f"&token={token}" if token else "")
        png = os.path.join(directory, f"{view}.png")
        subprocess.run(base + [f"--screenshot={png}", page], capture_output=True, text=True, timeout=600)
        dom = subprocess.run(base + ["--dump-dom", page], capture_output=True, text=True, timeout=600).stdout
        body = dom.split("<body", 1)[1].split(">", 1)[0] if "<body" in dom else ""
        found = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body))
        ok = found.get("ready") == "true" and "errors" not in found and os.path.exists(png)
        if ok and view == "agent" and found.get("view-filters") == "status=active":
            raw = raw_active(database, found["view-box"])
            ok = int(found["in-view"]) == raw
            detail = (f"{int(found['in-view']):,} listings in view of {int(found.get('total', 0)):,} (raw SQL over its box: {raw:,}), "
                      f"first paint at {found.get('first-paint-ms')} ms of the page's clock")
        elif ok and view == "planner":
            ok = found.get("planner-ready") == "true"
            detail = f"{found.get('planner-figure')} of {found.get('planner-month')} in {found.get('planner-classes')} classes, breaks {found.get('planner-breaks')}"
        elif ok and view == "unmet":
            ok = found.get("planner-ready") == "true" and found.get("planner-figure") == "unmet_share" and found.get("planner-month") == "now" \
                and int(found.get("planner-classes", "0")) >= 2
            detail = f"unmet_share now in {found.get('planner-classes')} classes, breaks {found.get('planner-breaks')}"
        elif ok and view == "regulator":
            ok = found.get("regulator-ready") == "true"
            detail = f"{found.get('archive-parcels')} archive parcels drawn for {found.get('archive-query', '').replace('&amp;', '&')}"
        else:
            ok = False
            detail = f"page data {found}"
        print(f"{'ok  ' if ok else 'FAIL'} {view} view: {detail}; {png}")
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
