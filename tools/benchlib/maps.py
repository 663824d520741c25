#!/usr/bin/python3
"""Maps at scale: vector tiles and viewport clusters of a running `rgis serve`.

    tools/bench maps --url http://127.0.0.1:PORT [--tiles 30]

For each layer and zoom, random tiles inside the listings' extent are asked twice (cold, then kept);
then three map views of clusters at the map's default filter (status=active). Before the timings
count, a few listing tiles are decoded by GDAL and must hold what a bbox query over their bounds
matches (bounds from pyproj), and a view's clusters must sum to its numberMatched.
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
    args = ap.parse_args()
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
    print("| tiles | cold p50 | cold p99 | again p50 | again p99 | largest | empty |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for layer, zooms in [("listings", [9, 11, 13, 15, 16]), ("districts", [9, 12]), ("parcels", [13, 15]), ("buildings", [14, 16])]:
        for z in zooms:
            tiles = set()
            for _ in range(20 * args.tiles):
                if len(tiles) >= args.tiles:
                    break
                tiles.add(tile_of(random.uniform(ext[0], ext[2]), random.uniform(ext[1], ext[3]), z))
            paths = [f"{url}/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}" for x, y in tiles]
            cold = [fetch(p) for p in paths]
            again = [fetch(p) for p in paths]
            c = sorted(r[0] for r in cold)
            a = sorted(r[0] for r in again)
            print(f"| {layer} z{z} ({len(paths)}) | {statistics.median(c):.1f} ms | {c[-1]:.1f} ms | {statistics.median(a):.1f} ms | {a[-1]:.1f} ms | "
                  f"{max(len(r[2]) for r in cold) / 1000:.0f} kB | {sum(1 for r in cold if r[1] == 204)} |")
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
        print(f"| z{z} {box} | {total:,} | " + " | ".join(f"{r[0]:.0f} ms" for r in runs) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
