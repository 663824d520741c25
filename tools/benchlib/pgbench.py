#!/usr/bin/python3
"""tools/bench postgis: RGIS on PostgreSQL/PostGIS against tipg, raw PostGIS SQL, RGIS on SpatiaLite and ogr2ogr.

One run on a generated metro region (`rgis sample`: N listings and demands, N/5 parcels and buildings):
  1. import: `rgis import` of the listings into PostGIS against `ogr2ogr -f PostgreSQL` (PG_USE_COPY=YES)
     plus the same GiST indexes; then the other layers, and the same region into a SpatiaLite file;
  2. HTTP under wrk, three servers on the same data: RGIS on PostGIS, tipg 1.6 (uvicorn, 2 workers) on
     the same database, RGIS on the SpatiaLite file. Items (limit 100) on the dense and the sparse box,
     the same box each request and a new box each request; listing tiles at z11 and z15 (a new tile of
     the area each request). Both sides' answers are compared before the timing counts (the features a
     box holds; a tile answers 200 with a body);
  3. GeoJSON features from RGIS on PostGIS (HTTP, one keep-alive connection, one request at a time)
     against raw PostGIS SQL that builds the same FeatureCollection (psycopg2): radius 1 and 5 km
     (limit 1,000), polygon (a 1.5 km star), nearest 100; the same ids checked, p50 and p99 compared;
  4. the stall and deadline probes (tools/benchlib/stall.py) against RGIS on PostGIS.
It prints a Markdown table with both sides, the ratio and the target, and writes report.md and
report.json into the work directory.

    tools/bench postgis [--listings N] [--duration S] [--runs K] [--workdir DIR]

Run with Debian's /usr/bin/python3 (psycopg2); tipg is pip-installed into .venv-tipg on first use.
"""
import argparse
import datetime
import http.client
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import httpbench  # noqa: E402
import postgis  # noqa: E402
import stall  # noqa: E402
from run import RGISServer, import_into_postgis, measured, p, say, version  # noqa: E402

TIPG_VENV = os.path.join(ROOT, ".venv-tipg")
TIPG_SPEC = os.environ.get("TIPG_PIP_SPEC", "tipg==1.6.1 uvicorn[standard]").split()
DENSE = (8.99, 47.995, 9.01, 48.005)     # the core: thousands of listings
SPARSE = (8.66, 47.80, 8.67, 47.81)      # the edge: a handful
# Where a new box of the same size is drawn each request.
DENSE_AREA = (8.95, 47.97, 9.05, 48.03)
SPARSE_AREA = (8.62, 47.78, 8.70, 47.84)


class Tipg:
    """tipg under uvicorn with two workers (one a core, as RGIS has), serving every table of the database."""

    def __init__(self, database_url, log):
        if not os.path.exists(os.path.join(TIPG_VENV, "bin", "uvicorn")):
            say(f"installing {' '.join(TIPG_SPEC)} into {TIPG_VENV}")
            subprocess.run(["python3", "-m", "venv", TIPG_VENV], check=True)
            subprocess.run([os.path.join(TIPG_VENV, "bin", "pip"), "install", "-q", *TIPG_SPEC], check=True)
        self.port = httpbench.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")
        env = dict(os.environ, DATABASE_URL=database_url, TIPG_MAX_FEATURES_PER_QUERY="10000", TIPG_DEFAULT_FEATURES_LIMIT="100",
                   TIPG_DB_SCHEMAS='["public"]', TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS='["public"]')
        self.proc = subprocess.Popen([os.path.join(TIPG_VENV, "bin", "uvicorn"), "tipg.main:app", "--host", "127.0.0.1", "--port", str(self.port),
                                      "--workers", "2", "--log-level", "warning"], stdout=self.log, stderr=self.log, env=env, start_new_session=True)
        for _ in range(600):
            try:
                with urllib.request.urlopen(self.url + "/collections/public.listings", timeout=5):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError("tipg did not start (see its log)")
        self.version = version([os.path.join(TIPG_VENV, "bin", "python"), "-c", "import tipg; print(tipg.__version__)"])

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(20)
        self.log.close()


def get_json(url):
    request = urllib.request.Request(url, headers={"Accept": "application/geo+json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, json.loads(response.read())


def box_ids(base, collection, box, id_of):
    _, page = get_json(f"{base}/collections/{collection}/items?bbox={','.join(map(str, box))}&limit=10000")
    return {id_of(f) for f in page["features"]}


def random_box_script(template, area, size):
    """Lua: each request a box of `size` degrees at a random place in `area`, formatted into `template`."""
    x0, y0, x1, y1 = area
    w, h = size
    return f"""
math.randomseed(os.time() + (tonumber(tostring({{}}):sub(8)) or 0))
request = function()
  local x = {x0} + math.random() * {x1 - x0 - w}
  local y = {y0} + math.random() * {y1 - y0 - h}
  return wrk.format(nil, string.format("{template}", x, y, x + {w}, y + {h}))
end
"""


def tile_of(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tiles_script(template, z, area):
    """Lua: each request a random tile at zoom z among those covering `area`."""
    x0, y1 = tile_of(area[0], area[1], z)
    x1, y0 = tile_of(area[2], area[3], z)
    return f"""
math.randomseed(os.time() + (tonumber(tostring({{}}):sub(8)) or 0))
request = function()
  return wrk.format(nil, string.format("{template}", {z}, math.random({x0}, {x1}), math.random({y0}, {y1})))
end
""", (x0, y0)


class RawSQL:
    """The same FeatureCollections as RGIS answers, built by PostGIS alone (psycopg2, one connection)."""

    FEATURE = ("json_build_object('type', 'Feature', 'id', t.id, 'geometry', ST_AsGeoJSON(t.geom)::json, "
               "'properties', to_jsonb(t) - 'geom' - 'fid' - 'extra' - 'map_x' - 'map_y' - 'pt' - 'city_fid' - 'district_fid' - 'subdistrict_fid'")

    def __init__(self, port, database):
        import psycopg2
        self.conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname=database)
        self.conn.autocommit = True

    def radius(self, lon, lat, metres, limit):
        return self._run(f"""
            SELECT json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg(f ORDER BY d, fid), '[]'))::text FROM (
              SELECT t.fid, ST_Distance(t.geom::geography, q.p) AS d,
                     {self.FEATURE} || jsonb_build_object('distance_m', ST_Distance(t.geom::geography, q.p))) AS f
              FROM listings t, (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography AS p) q
              WHERE ST_DWithin(t.geom::geography, q.p, %s) ORDER BY d, t.fid LIMIT %s) s""", (lon, lat, metres, limit))

    def nearest(self, lon, lat, k):
        # KNN by the index (<->), then the exact geodesic order.
        return self._run(f"""
            SELECT json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg(f ORDER BY d, fid), '[]'))::text FROM (
              SELECT t.fid, ST_Distance(t.geom::geography, q.p) AS d,
                     {self.FEATURE} || jsonb_build_object('distance_m', ST_Distance(t.geom::geography, q.p))) AS f
              FROM (SELECT * FROM listings ORDER BY geom::geography <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography LIMIT %s) t,
                   (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography AS p) q) s""", (lon, lat, k * 2, lon, lat), k)

    def polygon(self, geometry, limit):
        return self._run(f"""
            SELECT json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg(f ORDER BY fid), '[]'))::text FROM (
              SELECT t.fid, {self.FEATURE}) AS f FROM listings t
              WHERE ST_Intersects(t.geom, ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)) ORDER BY t.fid LIMIT %s) s""",
                         (json.dumps(geometry), limit))

    def _run(self, sql, args, keep=None):
        with self.conn.cursor() as cur:
            started = time.perf_counter()
            cur.execute(sql, args)
            text = cur.fetchone()[0]
            ms = (time.perf_counter() - started) * 1000
        features = json.loads(text)["features"]
        if keep:
            features = features[:keep]
        return ms, [f["id"] for f in features]


class RGISClient:
    """One keep-alive connection to RGIS, one request at a time."""

    def __init__(self, url):
        host, port = url.split("//")[1].split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)

    def ask(self, method, path, body=None):
        headers = {"Accept": "application/geo+json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        ms = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {data[:300]!r}")
        return ms, [f["id"] for f in json.loads(data)["features"]]

    def page(self, path):
        started = time.perf_counter()
        self.conn.request("GET", path, headers={"Accept": "application/geo+json"})
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {data[:300]!r}")
        return (time.perf_counter() - started) * 1000, json.loads(data)


def star(lon, lat, radius_deg, vertices=9):
    ring = []
    for i in range(vertices * 2):
        r = radius_deg if i % 2 == 0 else radius_deg * 0.45
        a = math.pi * i / vertices
        ring.append([lon + r * math.cos(a) / math.cos(math.radians(lat)), lat + r * math.sin(a)])
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listings", type=int, default=1_000_000, help="listings and demands to generate (default 1,000,000)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    ap.add_argument("--runs", type=int, default=100, help="centres per feature query (default 100)")
    ap.add_argument("--configuration", choices=["release", "debug"], default="release")
    ap.add_argument("--workdir", default=os.path.join(ROOT, "out", "bench-postgis"))
    ap.add_argument("--skip-build", action="store_true", help="time the rgis already built")
    ap.add_argument("--reuse", action="store_true", help="keep the work directory's generated data and SpatiaLite file from an earlier run")
    ap.add_argument("--skip-http", action="store_true", help="leave out the wrk runs against tipg")
    a = ap.parse_args()
    n, duration = a.listings, a.duration
    started = time.time()
    work = os.path.abspath(a.workdir)
    if not a.reuse:
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "data"), exist_ok=True)
    scratch = os.environ.get("RGIS_BUILD_DIR") or os.path.join(ROOT, ".build")
    if not a.skip_build:
        say(f"building rgis ({a.configuration})")
        subprocess.run(["swift", "build", "-c", a.configuration, "--product", "rgis", "--scratch-path", scratch], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    rgis = os.path.join(scratch, a.configuration, "rgis")
    rows, problems, failed = [], [], []
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "rows": n, "wrk_seconds": duration,
              "configuration": a.configuration, "cpus": os.cpu_count(), "results": rows}

    def row(measure, size, ours, theirs, peer, target=None, unit="ms", better="lower"):
        ratio = (theirs / ours if better == "lower" else ours / theirs) if ours and theirs else None
        rows.append({"measure": measure, "rows": size, "rgis": ours, "peer": peer, "peer_value": theirs, "unit": unit, "ratio": ratio,
                     "target": target})
        if target and target.startswith("≥") and ratio is not None:
            wanted = float(target.split()[1].rstrip("×"))
            if ratio < wanted:
                failed.append(f"{measure}: {ratio:.2f}× against {peer}, target {target}")

    data = os.path.join(work, "data")
    layers = ("districts", "parcels", "buildings", "listings", "demands")
    lite = os.path.join(work, "bench.sqlite")
    if not (a.reuse and os.path.exists(lite)):
        say(f"generating {n:,} listings and demands, {n // 5:,} parcels and buildings")
        measured([rgis, "sample", "--out", data, "--listings", str(n), "--demands", str(n), "--parcels", str(n // 5)])
        subprocess.run([rgis, "init", lite], check=True, stdout=subprocess.DEVNULL)
        for layer in layers:
            measured([rgis, "import", lite, "--layer", layer, os.path.join(data, f"{layer}.geojson")])
    say("SpatiaLite file ready")

    with postgis.Cluster(shared_buffers="1GB") as cluster:
        report["postgis"] = cluster.version()
        # Listings first (timed against ogr2ogr into a database of its own), then the other layers.
        report["import"] = import_into_postgis(cluster, rgis, os.path.join(data, "listings.geojson"), n, row, problems)
        location = f"postgresql://postgres@127.0.0.1:{cluster.port}/rgis_pg?sslmode=disable"
        for layer in layers:
            if layer != "listings":
                measured([rgis, "import", location, "--layer", layer, os.path.join(data, f"{layer}.geojson")])
        with cluster.conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS ogr_pg")
        subprocess.run(["psql", location, "-qc", "VACUUM ANALYZE"], check=True)
        say("PostGIS database ready")

        on_pg = RGISServer(rgis, location, os.path.join(work, "rgis-postgis.log"))
        on_lite = RGISServer(rgis, lite, os.path.join(work, "rgis-spatialite.log"))
        tipg = Tipg(f"postgresql://postgres@127.0.0.1:{cluster.port}/rgis_pg", os.path.join(work, "tipg.log"))
        report["tipg"] = tipg.version
        try:
            # Agreement first: the features a box holds, from each server.
            for name, box in (("dense", DENSE), ("sparse", SPARSE)):
                ours = box_ids(on_pg.url, "listings", box, lambda f: f["id"])
                theirs = box_ids(tipg.url, "public.listings", box, lambda f: f["properties"]["id"])
                lites = box_ids(on_lite.url, "listings", box, lambda f: f["id"])
                if not (ours == theirs == lites):
                    problems.append(f"{name} box: RGIS on PostGIS {len(ours)} listings, tipg {len(theirs)}, RGIS on SpatiaLite {len(lites)}")
                say(f"{name} box: {len(ours):,} listings from each server")

            def load(label, paths):
                """paths: per server, a path, or (the path checked first, Lua that makes each request's path)."""
                out = {}
                for server, base in (("postgis", on_pg.url), ("tipg", tipg.url), ("spatialite", on_lite.url)):
                    path, lua = paths[server] if isinstance(paths[server], tuple) else (paths[server], "")
                    r = httpbench.wrk(base + path, duration=duration, script=lua)
                    if r["non_2xx"] or r["errors"]:
                        problems.append(f"{label} on {server}: {r['non_2xx']} non-2xx, {r['errors']} socket errors")
                    out[server] = r
                    say(f"{label}, {server}: {r['requests_per_s']:,.0f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms")
                row(f"HTTP {label}: req/s", None, out["postgis"]["requests_per_s"], out["tipg"]["requests_per_s"], f"tipg {tipg.version} (uvicorn, 2 workers)",
                    "≥ 3×", "req/s", "higher")
                row(f"HTTP {label}: req/s", None, out["postgis"]["requests_per_s"], out["spatialite"]["requests_per_s"], "RGIS on SpatiaLite",
                    None, "req/s", "higher")
                row(f"HTTP {label}: p99", None, out["postgis"]["p99_ms"], out["tipg"]["p99_ms"], f"tipg {tipg.version}")
                return out

            ids = {"postgis": "listings", "tipg": "public.listings", "spatialite": "listings"}
            for name, box, area in [] if a.skip_http else (("dense", DENSE, DENSE_AREA), ("sparse", SPARSE, SPARSE_AREA)):
                bbox = ",".join(map(str, box))
                load(f"items, {name} bbox, limit 100, the same box", {k: f"/collections/{c}/items?bbox={bbox}&limit=100" for k, c in ids.items()})
                size = (box[2] - box[0], box[3] - box[1])
                load(f"items, {name} bbox, limit 100, a new box each request",
                     {k: (f"/collections/{c}/items?bbox={bbox}&limit=100",
                          random_box_script(f"/collections/{c}/items?bbox=%.6f,%.6f,%.6f,%.6f&limit=100", area, size)) for k, c in ids.items()})
            for z in () if a.skip_http else (11, 15):
                paths = {}
                for k, c in ids.items():
                    lua, (x, y) = tiles_script(f"/collections/{c}/tiles/WebMercatorQuad/%d/%d/%d", z, DENSE_AREA if z == 15 else (8.8, 47.9, 9.2, 48.1))
                    paths[k] = (f"/collections/{c}/tiles/WebMercatorQuad/{z}/{x}/{y}", lua)
                load(f"listing tiles z{z}, a new tile of the area each request", paths)

            # GeoJSON features: RGIS on PostGIS over HTTP against raw PostGIS SQL building the same collection.
            raw = RawSQL(cluster.port, "rgis_pg")
            client, lite_client = RGISClient(on_pg.url), RGISClient(on_lite.url)
            rng = random.Random(7)
            centres = [(rng.uniform(8.97, 9.03), rng.uniform(47.985, 48.015)) for _ in range(a.runs)]
            measures = {
                "radius 1 km, limit 1,000": (lambda c: ("GET", f"/search/radius?lon={c[0]}&lat={c[1]}&radius_m=1000&limit=1000", None),
                                             lambda c: raw.radius(c[0], c[1], 1000, 1000)),
                "radius 5 km, limit 1,000": (lambda c: ("GET", f"/search/radius?lon={c[0]}&lat={c[1]}&radius_m=5000&limit=1000", None),
                                             lambda c: raw.radius(c[0], c[1], 5000, 1000)),
                "polygon (1.5 km star), limit 10,000": (lambda c: ("POST", "/search/polygon?limit=10000", star(c[0], c[1], 0.0135)),
                                                        lambda c: raw.polygon(star(c[0], c[1], 0.0135), 10000)),
                "nearest 100": (lambda c: ("GET", f"/search/nearest?lon={c[0]}&lat={c[1]}&k=100", None),
                                lambda c: raw.nearest(c[0], c[1], 100)),
            }
            for name, (ours, theirs) in measures.items():
                mine, peer, lite, count, differ = [], [], [], 0, 0
                for i, c in enumerate(centres):
                    t_ours, ids_ours = client.ask(*ours(c))
                    t_raw, ids_raw = theirs(c)
                    t_lite, ids_lite = lite_client.ask(*ours(c))
                    if set(ids_ours) != set(ids_raw) or ids_ours != ids_lite:
                        differ += 1
                    if i:  # the first of each is a warm-up
                        mine.append(t_ours)
                        peer.append(t_raw)
                        lite.append(t_lite)
                    count += len(ids_ours)
                if differ:
                    problems.append(f"{name}: {differ} of {len(centres)} answers differ from raw PostGIS SQL")
                say(f"{name}: RGIS p50 {p(mine, 0.5):.2f} ms, raw SQL p50 {p(peer, 0.5):.2f} ms, {count // len(centres)} features")
                row(f"{name} (p50)", count // len(centres), p(mine, 0.5), p(peer, 0.5), "raw PostGIS SQL building the GeoJSON", "≥ 0.8×")
                row(f"{name} (p99)", count // len(centres), p(mine, 0.99), p(peer, 0.99), "raw PostGIS SQL building the GeoJSON")
                row(f"{name} (p50)", count // len(centres), p(mine, 0.5), p(lite, 0.5), "RGIS on SpatiaLite (HTTP)")

            # Keyset pages: the 1,000th page of the listings costs what the first does.
            for server, base in (("PostGIS", on_pg.url), ("SpatiaLite", on_lite.url)):
                pager = RGISClient(base)
                path, times, pages = "/collections/listings/items?limit=100", [], 0
                while path and pages < 1000:
                    t, page = pager.page(path)
                    times.append(t)
                    pages += 1
                    path = next((link["href"].split("://", 1)[1].split("/", 1)[1] for link in page.get("links", [])
                                 if link.get("rel") == "next"), None)
                    path = "/" + path if path else None
                first, last = p(times[1:11], 0.5), p(times[-10:], 0.5)
                say(f"keyset pages on {server}: {pages} pages, the first p50 {first:.2f} ms, the last ten p50 {last:.2f} ms")
                row(f"items page {pages} against page 1 (limit 100, following next), RGIS on {server}", 100, last, first,
                    "page 1 (p50 of pages 2–11)", "≥ 0.5× (page 1,000 ≤ 2× page 1)")

            # Stall and deadline on PostgreSQL.
            try:
                st = stall.stall(on_pg.url, stall.DEFAULT_HEAVY, concurrency=8, duration_s=duration)
                report["stall"] = st
                say(stall.describe(st))
                for name, probe in st["under_load"].items():
                    row(f"stall on PostGIS: {probe['path']} under 8 × {st['heavy_path']} (p99)", None, probe["p99_ms"], None,
                        f"idle p99 {st['baseline'][name]['p99_ms']:.1f} ms; {probe['failures']} of {probe['requests']} not 200",
                        f"p99 < {stall.LIMIT_MS:.0f} ms, all 200 ({'met' if st['ok'] else 'FAILED'})")
                if not st["ok"]:
                    failed.extend(f"stall: {x}" for x in st["notes"])
            except Exception as e:  # reported, not fatal
                failed.append(f"stall did not run: {e!r}")
        finally:
            on_pg.stop()
            on_lite.stop()
            tipg.stop()

        short = RGISServer(rgis, location, os.path.join(work, "rgis-postgis-deadline.log"), ["--request-timeout", "0.2", "--heavy-slots", "1"])
        try:
            dl = stall.deadline(short.url, stall.DEFAULT_HEAVY, concurrency=8, timeout_s=0.2)
            # No statement may outlive its request's deadline by more than a second on the server.
            with cluster.conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = 'rgis_pg' AND state = 'active' "
                            "AND now() - query_start > interval '1.2 seconds'")
                dl["statements_past_deadline"] = cur.fetchone()[0]
        except Exception as e:
            dl = {"error": repr(e), "ok": False}
        finally:
            short.stop()
        report["deadline"] = dl
        resp = dl.get("response") or {}
        verdict = "met" if dl.get("ok") and not dl.get("statements_past_deadline") else "FAILED"
        row("deadline on PostGIS: a heavy request past --request-timeout 0.2 s", None, resp.get("ms"), None,
            f"{resp.get('status')}, Retry-After {resp.get('retry_after')}; statements still running 1 s past: {dl.get('statements_past_deadline')}",
            f"503 + Retry-After, then /health 200 ({verdict})")
        if verdict != "met":
            failed.append(f"deadline: {dl}")

    report["problems"], report["failed_targets"] = problems, failed
    report["seconds"] = time.time() - started
    lines = [f"RGIS on PostGIS, {report['date']}, {n:,} listings and demands, wrk {duration} s, {os.cpu_count()} CPUs, "
             f"{a.configuration} build, PostGIS {report.get('postgis')}, tipg {report.get('tipg')}; total {report['seconds'] / 60:.1f} min", "",
             "| measure | rows | RGIS on PostGIS | compared with | their value | ratio (RGIS advantage) | target |",
             "|---|---:|---:|---|---:|---:|---|"]
    for r in rows:
        def fmt(v):
            return "—" if v is None else f"{v:,.1f}" if r["unit"] in ("req/s", "rows/s", "MB") else f"{v:,.2f}"
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}×"
        size = "" if r["rows"] is None else f"{r['rows']:,}"
        lines.append(f"| {r['measure']} | {size} | {fmt(r['rgis'])} {r['unit']} | "
                     f"{r['peer']} | {fmt(r['peer_value'])} | {ratio} | {r['target'] or ''} |")
    lines += ["", "Every compared pair returned the same features." if not problems else "DISAGREEMENTS:"] + [f"- {x}" for x in problems]
    if failed:
        lines += ["", "Targets not met:"] + [f"- {x}" for x in failed]
    text = "\n".join(lines) + "\n"
    open(os.path.join(work, "report.md"), "w").write(text)
    json.dump(report, open(os.path.join(work, "report.json"), "w"), indent=1, default=str)
    print(text)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
