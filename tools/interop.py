#!/usr/bin/python3
"""Interop checks of a running RGIS server: GDAL's OAPIF driver, OWSLib, and a real browser.

    tools/interop.py --url http://127.0.0.1:PORT --listings N --workdir DIR

Exits 1 when any check fails; prints what each client reported.
"""
import argparse
import json
import os
import subprocess
import sys

failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message)
    if not condition:
        failures.append(message)


def gdal(url, listings, workdir):
    listing = subprocess.run(["ogrinfo", "-ro", f"OAPIF:{url}/"], capture_output=True, text=True)
    names = [line.split(":", 1)[1].split("(")[0].strip() for line in listing.stdout.splitlines() if line[:1].isdigit()]
    check(names == ["listings", "parcels", "buildings", "districts", "alerts"], f"ogrinfo OAPIF lists the collections: {names}")
    summary = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{url}/", "listings"], capture_output=True, text=True).stdout
    count = next((line.split(":")[1].strip() for line in summary.splitlines() if line.startswith("Feature Count")), None)
    check(count == str(listings), f"ogrinfo -so listings: Feature Count {count} (expected {listings})")
    out = os.path.join(workdir, "oapif-listings.geojson")
    if os.path.exists(out):
        os.remove(out)
    copy = subprocess.run(["ogr2ogr", "-f", "GeoJSON", out, f"OAPIF:{url}/", "listings"], capture_output=True, text=True)
    got = len(json.load(open(out))["features"]) if copy.returncode == 0 and os.path.exists(out) else -1
    ids = {f["properties"].get("id") for f in json.load(open(out))["features"]} if got > 0 else set()
    check(got == listings and len(ids) == listings, f"ogr2ogr OAPIF → GeoJSON walked the next links: {got} features, {len(ids)} distinct ids")


def owslib(url, bbox):
    from owslib.ogcapi.features import Features
    api = Features(url)
    check(bool(api.links), f"OWSLib reads the landing page ({len(api.links)} links)")
    collections = [c["id"] for c in api.collections()["collections"]]
    check(collections == ["listings", "parcels", "buildings", "districts", "alerts"], f"OWSLib collections: {collections}")
    alerts = api.collection_items("alerts")
    check(all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") and f["properties"].get("rule") for f in alerts["features"]),
          f"OWSLib reads the alerts collection: {alerts['numberReturned']} alerts on their districts")
    conformance = api.conformance()["conformsTo"]
    check(any(c.endswith("/conf/core") for c in conformance), f"OWSLib conformance: {len(conformance)} classes")
    items = api.collection_items("listings", bbox=bbox, limit=1000)
    inside = all(bbox[0] <= f["geometry"]["coordinates"][0] <= bbox[2] and bbox[1] <= f["geometry"]["coordinates"][1] <= bbox[3]
                 for f in items["features"])
    check(items["numberReturned"] > 0 and inside, f"OWSLib items with bbox: {items['numberReturned']} features, all inside the box")


def get_json(url):
    import urllib.request
    with urllib.request.urlopen(url) as r:
        return json.load(r)


def polygon_count(url, box, query=""):
    """How many listings a polygon search over a box finds (one page of up to 10,000)."""
    import urllib.request
    w, s, e, n = box
    body = json.dumps({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}).encode()
    request = urllib.request.Request(f"{url}/search/polygon?limit=10000" + (f"&{query}" if query else ""), data=body,
                                     headers={"Content-Type": "application/geo+json"})
    with urllib.request.urlopen(request) as r:
        found = json.load(r)
    return len(found["features"]) if not found.get("next") else None


def tiles(url, workdir, bbox):
    """Vector tiles decoded by GDAL's MVT driver; a tile's bounds from pyproj (EPSG:3857 → 4326)."""
    import math
    import urllib.request
    from pyproj import Transformer
    to_degrees = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    to_metres = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    origin = 20037508.342789244
    lon, lat = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    x, y = to_metres.transform(lon, lat)
    for layer, z in [("listings", 11), ("listings", 13), ("listings", 16), ("districts", 10), ("parcels", 14), ("buildings", 15)]:
        side = 2 * origin / 2 ** z
        col, row = int((x + origin) / side), int((origin - y) / side)
        west, north = to_degrees.transform(-origin + col * side, origin - row * side)
        east, south = to_degrees.transform(-origin + (col + 1) * side, origin - (row + 1) * side)
        path = os.path.join(workdir, f"{layer}-{z}.mvt")
        try:
            with urllib.request.urlopen(f"{url}/collections/{layer}/tiles/WebMercatorQuad/{z}/{row}/{col}") as r:
                status, data = r.status, r.read()
        except Exception as error:
            check(False, f"tile {layer} {z}/{row}/{col}: {error}")
            continue
        if status == 204:
            check(layer != "listings", f"tile {layer} {z}/{row}/{col} is empty (204)")
            continue
        open(path, "wb").write(data)
        decoded = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", path, "-oo", f"X={col}", "-oo", f"Y={row}", "-oo", f"Z={z}"],
                                 capture_output=True, text=True)
        features = json.loads(decoded.stdout)["features"] if decoded.returncode == 0 and decoded.stdout.strip() else []
        check(len(data) <= 500_000 and features, f"GDAL decodes tile {layer} {z}/{row}/{col}: {len(features)} features, {len(data)} bytes")
        if layer == "listings":
            held = sum(f["properties"].get("count", 1) for f in features)
            matched = get_json(f"{url}/collections/listings/items?bbox={west},{south},{east},{north}&limit=1").get("numberMatched")
            check(held == matched, f"tile listings {z}/{row}/{col} holds {held} listings; a bbox query over its bounds matches {matched}")
        else:
            kinds = {f["geometry"]["type"] for f in features if f["geometry"]}
            check(kinds <= {"Polygon", "MultiPolygon"}, f"tile {layer} {z}: polygons ({', '.join(sorted(kinds))})")


def page_data(dom):
    import html
    import re
    return {k: html.unescape(v) for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', dom.split("<body", 1)[1].split(">", 1)[0])} if "<body" in dom else {}


def signed_in_views(url, base, token):
    """The agent and regulator views with a token passed in the page's fragment (never sent to the server)."""
    import urllib.error
    import urllib.request

    def authorised(path):
        try:
            with urllib.request.urlopen(urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})) as r:
                return json.load(r)
        except urllib.error.HTTPError as error:
            check(False, f"GET {path}: {error.code} {error.read()[:300]!r}")
            return {}
    agent = page_data(subprocess.run(base + ["--dump-dom", f"{url}/map#agent&token={token}"], capture_output=True, text=True, timeout=120).stdout)
    clients = len(authorised("/clients?limit=1000").get("clients", []))
    check(agent.get("clients") == str(clients), f"agent view: the token's {agent.get('clients')} clients to choose from (the API lists {clients})")
    regulator = page_data(subprocess.run(base + ["--dump-dom", f"{url}/map#regulator&token={token}"], capture_output=True, text=True, timeout=120).stdout)
    for name, shown in [("agent", agent), ("regulator", regulator)]:
        check("errors" not in shown, f"no script errors in the {name} view" + (f": {shown['errors']!r}" if "errors" in shown else ""))
    if regulator.get("regulator-ready") == "true":
        found = authorised(f"/collections/archive-parcels/items?{regulator['archive-query']}&limit=5000").get("numberReturned")
        check(regulator.get("archive-parcels") == str(found),
              f"regulator view: {regulator.get('archive-parcels')} parcels drawn for {regulator['archive-query']} (the archive returns {found})")
    else:
        check(False, "the regulator view loaded (data-regulator-ready)")


def browser(url, workdir, token=None):
    png = os.path.join(workdir, "map.png")
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,800", "--virtual-time-budget=15000"]
    subprocess.run(base + [f"--screenshot={png}", f"{url}/map"], capture_output=True, text=True, timeout=120)
    dom = subprocess.run(base + ["--dump-dom", f"{url}/map"], capture_output=True, text=True, timeout=120).stdout
    check('data-ready="true"' in dom, "the map page loaded the listings in view (data-ready)")
    check("data-errors" not in dom, "no script errors on the map page")
    import re
    found = {k: v for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', dom.split("<body", 1)[1].split(">", 1)[0])}
    if "in-view" in found and "view-box" in found:
        box = [float(v) for v in found["view-box"].split(",")]
        expected = polygon_count(url, box, found.get("view-filters", ""))
        check(int(found["in-view"]) == expected, f"the page's listings in view ({found['in-view']}, filters {found.get('view-filters')!r}) "
                                                 f"are what a polygon search over its box finds ({expected})")
    else:
        check(False, "the map page states its listings in view and its box")
    from PIL import Image
    image = Image.open(png).convert("RGB")
    # The map area is the left 880 px; its empty background is #eef1f4.
    map_area = image.crop((0, 0, 880, 800))
    drawn = sum(1 for p in map_area.getdata() if abs(p[0] - 0xEE) + abs(p[1] - 0xF1) + abs(p[2] - 0xF4) > 30)
    share = drawn / (880 * 800)
    check(share > 0.2, f"the map area is drawn: {share:.0%} of its pixels differ from the background")
    print(f"screenshot: {png}")
    planner_png = os.path.join(workdir, "planner.png")
    subprocess.run(base + [f"--screenshot={planner_png}", f"{url}/map#planner"], capture_output=True, text=True, timeout=120)
    dom = subprocess.run(base + ["--dump-dom", f"{url}/map#planner"], capture_output=True, text=True, timeout=120).stdout
    shown = {k: v for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', dom.split("<body", 1)[1].split(">", 1)[0])}
    if shown.get("planner-ready") == "true":
        # The legend's breaks are the quantiles of the values the map shows, recomputed from the series.
        series = get_json(f"{url}/indicators/series?level={shown['planner-level']}")
        values = sorted(m[shown["planner-figure"]] for d in series["districts"] for m in d["months"]
                        if m["month"] == shown["planner-month"] and isinstance(m.get(shown["planner-figure"]), (int, float)))
        breaks = sorted({values[min(len(values) - 1, (i * len(values)) // 5)] for i in range(1, 5)}) if values else []
        page_breaks = [float(b) for b in shown.get("planner-breaks", "").split(",") if b]
        check(page_breaks == [float(b) for b in breaks],
              f"planner view: {shown['planner-figure']} in {shown['planner-month']}, legend breaks {page_breaks} are the quantiles of the {len(values)} values")
    else:
        check(False, "the planner view loaded (data-planner-ready)")
    print(f"screenshot: {planner_png}")
    if token:
        signed_in_views(url, base, token)
    page = subprocess.run(base + ["--dump-dom", f"{url}/collections/listings/items?limit=50"], capture_output=True, text=True, timeout=120).stdout
    check("<h1>Items of listings</h1>" in page and 'data-ready="true"' in page and page.count("<tr><td>") == 50,
          "a browser gets the items as an HTML table with its map (Accept: text/html)")


def schemathesis(url, workdir, examples, token):
    """Property-based requests from /api, as an admin (so writes and the archive are reached too):
    no 5xx, and every response matches the document."""
    binary = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".venv", "bin", "schemathesis")
    checks = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"
    run = subprocess.run([binary, "run", f"{url}/api", "--max-examples", str(examples), "-H", f"Authorization: Bearer {token}", "--checks", checks,
                          "--seed", "7"], capture_output=True, text=True, timeout=600, cwd=workdir)
    summary = [line for line in run.stdout.splitlines() if "generated" in line or "passed" in line or "failed" in line]
    check(run.returncode == 0, "schemathesis against /api: " + (summary[-1].strip() if summary else run.stdout[-500:]))
    if run.returncode != 0:
        print(run.stdout[-4000:])


def ogc_conformance(url, workdir):
    """A third-party OGC API – Features conformance suite (PyPI ogctests): every core test, Part 2's
    CRS class among them, passes on every collection."""
    python = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".venv", "bin", "python")
    where = subprocess.run([python, "-c", "import ogctests, os; print(os.path.dirname(ogctests.__file__))"], capture_output=True, text=True)
    check(where.returncode == 0, "ogctests is installed in .venv (tools/setup)")
    if where.returncode != 0:
        return
    # From the package's parent, so that pytest loads the suite's own conftest (its HTTP client).
    run = subprocess.run([python, "-m", "pytest", "ogctests/features/core", "-q", "--no-header", "-p", "no:cacheprovider"],
                         capture_output=True, text=True, timeout=600, cwd=os.path.dirname(where.stdout.strip()), env={**os.environ, "INSTANCE_URL": url})
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-300:]
    check(run.returncode == 0 and " failed" not in summary and "error" not in summary, f"ogctests features/core: {summary}")
    if run.returncode != 0:
        print(run.stdout[-4000:])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--listings", type=int, required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--bbox", default="9.04,48.02,9.06,48.03", help="a box with listings in it, for OWSLib")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--schemathesis-examples", type=int, default=0, help="run schemathesis with this many examples per operation")
    parser.add_argument("--token", help="an admin's bearer token, for schemathesis")
    parser.add_argument("--ogctests", action="store_true", help="run the ogctests conformance suite (it wants every collection non-empty)")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    gdal(args.url, args.listings, args.workdir)
    owslib(args.url, [float(v) for v in args.bbox.split(",")])
    tiles(args.url, args.workdir, [float(v) for v in args.bbox.split(",")])
    if not args.skip_browser:
        browser(args.url, args.workdir, args.token)
    if args.ogctests:
        ogc_conformance(args.url, args.workdir)
    if args.schemathesis_examples:
        schemathesis(args.url, args.workdir, args.schemathesis_examples, args.token)
    print(f"interop: {len(failures)} failed" if failures else "interop: all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
