#!/usr/bin/python3
"""tools/bench: RGIS side by side with raw SpatiaLite SQL, PostGIS, ogr2ogr and pygeoapi on the same data.

One run: generate a synthetic metro region (`rgis sample`: N listings, N demands, N/5 parcels and
buildings, 109 districts), import it with `rgis import` (and the listings with `ogr2ogr` for
comparison), time in-process queries against raw SpatiaLite SQL (`rgis-bench queries`), ask PostGIS
the same radius and polygon questions, and load `rgis serve` and pygeoapi (its SQLite provider on the
same file, under gunicorn) with `wrk`. Then the stall test (`stall.py`): cheap requests timed while
8 loops of heavy queries saturate the server, and a server with a short --request-timeout checked to
answer 503 with Retry-After and keep serving. Every compared pair must return the same features, checked
before its timing counts; the run fails otherwise. It prints a Markdown table with both sides, the
ratio and the product's target, and writes the run as JSON (machine, date, versions, figures).

    tools/bench                  full run: 1,000,000 listings and demands (about 20 minutes on 2 cores)
    tools/bench --quick          10,000 rows, no PostGIS or pygeoapi, short wrk and stall runs (the CI smoke test)
    tools/bench --quick --peers  the same with PostGIS and pygeoapi

Run with Debian's /usr/bin/python3 (psycopg2, pyproj come from apt; pygeoapi from pip into .venv-pygeoapi).
"""
import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import httpbench  # noqa: E402
import stall  # noqa: E402
from httpbench import free_port  # noqa: E402


STALL_CONCURRENCY = 8      # heavy request loops in the stall test
DEADLINE_TIMEOUT_S = 0.2   # --request-timeout of the server the deadline check runs against


def say(text):
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def measured(cmd, **kw):
    """Runs a command in a fresh interpreter so that its peak RSS is its own; returns (seconds, MB, stdout)."""
    probe = ("import resource,subprocess,sys,time,json;t=time.perf_counter();"
             "r=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
             "print(json.dumps({'s':time.perf_counter()-t,'rss':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
             "'rc':r.returncode,'out':r.stdout[-2000:],'err':r.stderr[-2000:]}))")
    p = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, **kw)
    result = json.loads(p.stdout)
    if result["rc"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result['err'].strip()}")
    return result["s"], result["rss"] / 1024, result["out"]


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
    except Exception as e:  # a missing tool is reported, not fatal
        return f"unavailable ({e})"


class RGISServer:
    def __init__(self, binary, database, log, extra_args=()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")
        # No rate limits: the load and stall runs send thousands of requests a second from one
        # address, which the anonymous per-address limit would answer with 429.
        self.proc = subprocess.Popen([binary, "serve", database, "--host", "127.0.0.1", "--port", str(self.port),
                                      "--rate-limit", "0", *extra_args], stdout=self.log, stderr=self.log, start_new_session=True)
        for _ in range(300):
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("rgis serve did not start")

    def rss_mb(self):
        status = open(f"/proc/{self.proc.pid}/status").read()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        self.log.close()


def ms(v):
    return "—" if v is None else f"{v:,.2f} ms"


def p(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int((len(s) - 1) * q))] if s else float("nan")


def import_into_postgis(cluster, rgis, listings, n, row, problems):
    """`rgis import` into a PostGIS database against `ogr2ogr -f PostgreSQL` with COPY, given the same
    GiST indexes (on the geometry and on its geography) afterwards; both into databases of one cluster."""
    import psycopg2
    base = f"postgresql://postgres@127.0.0.1:{cluster.port}"
    location = f"{base}/rgis_pg?sslmode=disable"
    subprocess.run([rgis, "init", location], check=True, stdout=subprocess.DEVNULL)
    t_rgis, rss_rgis, _ = measured([rgis, "import", location, "--layer", "listings", listings])
    with cluster.conn.cursor() as cur:
        cur.execute("CREATE DATABASE ogr_pg")
    conn = psycopg2.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="ogr_pg")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION postgis")
    env = dict(os.environ, PG_USE_COPY="YES")
    t_ogr, rss_ogr, _ = measured(["ogr2ogr", "-f", "PostgreSQL", f"PG:host=127.0.0.1 port={cluster.port} user=postgres dbname=ogr_pg",
                                  listings, "-nln", "listings", "-lco", "SPATIAL_INDEX=NONE", "-lco", "GEOMETRY_NAME=geom"], env=env)
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("CREATE INDEX ON listings USING gist (geom)")
        cur.execute("CREATE INDEX ON listings USING gist ((geom::geography))")
        cur.execute("ANALYZE listings")
        cur.execute("SELECT count(*) FROM listings")
        ogr_count = cur.fetchone()[0]
    t_ogr += time.perf_counter() - started
    # The same work as rgis import does beyond the copy: each listing placed in the districts of the three
    # levels (as RGIS's placement keeps them: the lowest fid whose polygon contains it), with their index.
    districts = os.path.join(os.path.dirname(listings), "districts.geojson")
    t_placed, _, _ = measured(["ogr2ogr", "-f", "PostgreSQL", f"PG:host=127.0.0.1 port={cluster.port} user=postgres dbname=ogr_pg",
                               districts, "-nln", "districts", "-nlt", "PROMOTE_TO_MULTI", "-lco", "GEOMETRY_NAME=geom"], env=env)
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("""
            CREATE TABLE placed AS SELECT l.ogc_fid,
              (SELECT min(d.ogc_fid) FROM districts d WHERE d.level = 'city' AND ST_Covers(d.geom, l.geom)) AS city_fid,
              (SELECT min(d.ogc_fid) FROM districts d WHERE d.level = 'district' AND ST_Covers(d.geom, l.geom)) AS district_fid,
              (SELECT min(d.ogc_fid) FROM districts d WHERE d.level = 'subdistrict' AND ST_Covers(d.geom, l.geom)) AS subdistrict_fid
            FROM listings l""")
        cur.execute("CREATE INDEX ON placed (district_fid)")
        cur.execute("SELECT count(*) FILTER (WHERE district_fid IS NOT NULL) FROM placed")
        ogr_placed = cur.fetchone()[0]
    t_placed += t_ogr + time.perf_counter() - started
    conn.close()
    if ogr_count != n:
        problems.append(f"ogr2ogr -f PostgreSQL imported {ogr_count} listings, RGIS {n}")
    say(f"PostGIS import: rgis {n / t_rgis:,.0f} rows/s ({t_rgis:.1f} s, peak RSS {rss_rgis:.0f} MB), "
        f"ogr2ogr COPY + indexes {ogr_count / t_ogr:,.0f} rows/s ({t_ogr:.1f} s), "
        f"and placed in the districts {ogr_count / t_placed:,.0f} rows/s ({t_placed:.1f} s, {ogr_placed:,} in a district)")
    row(f"import {n:,} listings into PostGIS, rows/s", n, n / t_rgis, ogr_count / t_ogr, "ogr2ogr -f PostgreSQL (COPY) + the same GiST indexes",
        "≥ 1×", "rows/s", "higher")
    row(f"import {n:,} listings into PostGIS, rows/s", n, n / t_rgis, ogr_count / t_placed,
        "the same, then each listing placed in its city, district and subdistrict (ST_Covers, the lowest fid of a level, as RGIS places them)", None, "rows/s", "higher")
    row("import listings into PostGIS, peak RSS", n, rss_rgis, rss_ogr, "ogr2ogr -f PostgreSQL", None, "MB")
    return {"rgis_seconds": t_rgis, "ogr2ogr_seconds": t_ogr, "ogr2ogr_placed_seconds": t_placed, "rgis_peak_rss_mb": rss_rgis}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10,000 rows, short HTTP runs, no peers unless --peers")
    ap.add_argument("--peers", action="store_true", help="with --quick: also run PostGIS and pygeoapi")
    ap.add_argument("--listings", type=int, help="listings and demands to generate (default 1,000,000; 10,000 with --quick)")
    ap.add_argument("--runs", type=int, help="query centres (default 200)")
    ap.add_argument("--duration", type=int, help="seconds per wrk run and of the stall load (default 20; 5 with --quick)")
    ap.add_argument("--configuration", choices=["release", "debug"], default="release",
                    help="build to time (debug only checks that everything runs and agrees)")
    ap.add_argument("--workdir", default=os.path.join(ROOT, "out", "bench"))
    a = ap.parse_args()
    n = a.listings or (10_000 if a.quick else 1_000_000)
    runs = a.runs or 200
    duration = a.duration or (5 if a.quick else 20)
    peers = a.peers or not a.quick
    started = time.time()
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    try:
        os.makedirs(os.path.join(work, "data"))
    except OSError as e:
        sys.exit(f"tools/bench: cannot make the work directory {work}: {e}")

    say(f"building rgis and rgis-bench ({a.configuration})")
    # tools/test builds in RGIS_BUILD_DIR (one build directory per machine); otherwise the usual .build.
    scratch = os.environ.get("RGIS_BUILD_DIR") or os.path.join(ROOT, ".build")
    for product in ("rgis", "rgis-bench"):
        subprocess.run(["swift", "build", "-c", a.configuration, "--product", product, "--scratch-path", scratch], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    bin_dir = os.path.join(scratch, a.configuration)
    rgis, bench = os.path.join(bin_dir, "rgis"), os.path.join(bin_dir, "rgis-bench")
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "cpu": platform.processor() or platform.machine()},
              "configuration": a.configuration, "rows": n, "runs": runs, "wrk_seconds": duration, "results": []}
    rows = report["results"]
    problems = []
    failed_targets = []  # reported under the table; they do not fail the run

    def row(measure, size, ours, theirs, peer, target=None, unit="ms", better="lower"):
        ratio = None
        if ours and theirs:
            ratio = theirs / ours if better == "lower" else ours / theirs
        rows.append({"measure": measure, "rows": size, "rgis": ours, "peer": peer, "peer_value": theirs, "unit": unit,
                     "ratio": ratio, "target": target})

    # 1. Data.
    data = os.path.join(work, "data")
    say(f"generating {n:,} listings and demands, {n // 5:,} parcels and buildings")
    t, _, _ = measured([rgis, "sample", "--out", data, "--listings", str(n), "--demands", str(n), "--parcels", str(n // 5)])
    say(f"generated in {t:.1f} s")

    # 2. Import, against ogr2ogr on the listings.
    db = os.path.join(work, "bench.sqlite")
    subprocess.run([rgis, "init", db], check=True, stdout=subprocess.DEVNULL)
    imports = {}
    for layer in ("districts", "parcels", "buildings", "listings", "demands"):
        t, rss, out = measured([rgis, "import", db, "--layer", layer, os.path.join(data, f"{layer}.geojson")])
        count = n if layer in ("listings", "demands") else n // 5 if layer in ("parcels", "buildings") else 109
        imports[layer] = {"seconds": t, "rows_per_s": count / t, "peak_rss_mb": rss}
        say(f"import {layer}: {count:,} rows in {t:.1f} s ({count / t:,.0f} rows/s), peak RSS {rss:.0f} MB")
    ogr_db = os.path.join(work, "ogr.sqlite")
    t, rss, _ = measured(["ogr2ogr", "-f", "SQLite", "-dsco", "SPATIALITE=YES", "-nln", "listings", ogr_db,
                          os.path.join(data, "listings.geojson")])
    ogr_count = int(subprocess.run(["spatialite", ogr_db, "SELECT count(*) FROM listings"], capture_output=True, text=True)
                    .stdout.strip().splitlines()[-1])
    if ogr_count != n:
        problems.append(f"ogr2ogr imported {ogr_count} listings, RGIS {n}")
    say(f"ogr2ogr listings: {ogr_count:,} rows in {t:.1f} s ({ogr_count / t:,.0f} rows/s), peak RSS {rss:.0f} MB")
    li = imports["listings"]
    row(f"import {n:,} listings (GeoJSON), rows/s", n, li["rows_per_s"], ogr_count / t, "ogr2ogr", "≥ 3× ogr2ogr", "rows/s", "higher")
    row("import listings, peak RSS", n, li["peak_rss_mb"], rss, "ogr2ogr", "< 256 MB", "MB")
    report["imports"] = imports
    report["ogr2ogr"] = {"seconds": t, "rows_per_s": ogr_count / t, "peak_rss_mb": rss}

    # 3. In-process queries against raw SpatiaLite SQL.
    say(f"in-process queries, {runs} centres each")
    qout, peer_file = os.path.join(work, "queries.json"), os.path.join(work, "peer-queries.json")
    q = subprocess.run([bench, "queries", db, "--runs", str(runs), "--out", qout, "--peer-queries", peer_file],
                       capture_output=True, text=True)
    print(q.stdout, file=sys.stderr)
    if not os.path.exists(qout):
        raise RuntimeError(f"rgis-bench failed: {q.stderr}")
    targets = {"radius": "≥ 3× raw SQL", "nearest": "≥ 10× raw SQL", "district": "< 100 ms", "reverse": "p99 < 10 ms"}
    for m in json.load(open(qout))["measures"]:
        if not m["agree"]:
            problems.append(f"{m['name']}: {m['disagreements']}")
        target = next((v for k, v in targets.items() if m["name"].startswith(k)), None)
        row(m["name"] + " (p50)", m["rows_mean"], m["rgis_p50_ms"], m["raw_p50_ms"], "raw SpatiaLite SQL", target)
        row(m["name"] + " (p99)", m["rows_mean"], m["rgis_p99_ms"], m["raw_p99_ms"], "raw SpatiaLite SQL", target)

    # 3b. Notifications: every demand a saved search, N/10 new listings bulk-imported, matched into the outbox.
    new_listings = max(1000, n // 10)
    say(f"notifications: {new_listings:,} new listings against {n:,} demands, each demand a saved search")
    nout = os.path.join(work, "notify.json")
    nq = subprocess.run([bench, "notify", db, "--listings", str(new_listings), "--out", nout], capture_output=True, text=True)
    print(nq.stdout, file=sys.stderr)
    if not os.path.exists(nout):
        raise RuntimeError(f"rgis-bench notify failed: {nq.stderr}")
    nr = json.load(open(nout))
    row(f"notifications: {new_listings:,} new listings → outbox (each to its best 50 demands), notifications/s", nr["queued"],
        nr["notifications_per_s"], None, "—", None, "/s", "higher")
    row(f"notifications: {new_listings:,} new listings matched, events/s", nr["events"], nr["events_per_s"], None, "—", None, "/s", "higher")
    report["notify"] = nr

    # 4. PostGIS on the same listings and questions.
    peer_queries = json.load(open(peer_file))
    if peers:
        import postgis
        say("PostGIS: throwaway cluster, loading the listings")
        with postgis.Cluster() as cluster:
            load = cluster.load_listings(db)
            report["postgis"] = {"version": cluster.version(), "load": load}
            results = cluster.run(peer_queries)
            report["postgis_import"] = import_into_postgis(cluster, rgis, os.path.join(data, "listings.geojson"), n, row, problems)
        by_measure = {}
        for query, result in zip(peer_queries, results):
            ours = query["rgis_ids"]
            if set(ours) != set(result["ids"]) and not (len(ours) == query.get("limit") and set(ours[:-10]) <= set(result["ids"])):
                problems.append(f"PostGIS {query['measure']}: {len(result['ids'])} ids, RGIS {len(ours)}, "
                                f"{len(set(ours) ^ set(result['ids']))} differ")
            entry = by_measure.setdefault(query["measure"], {"rgis": [], "pg": [], "rows": 0})
            entry["rgis"].append(query["rgis_ms"])
            entry["pg"].append(result["ms"])
            entry["rows"] += len(ours)
        for name, e in by_measure.items():
            k = len(e["rgis"])
            target = "at least as fast as PostGIS" if name.startswith("radius") else None
            row(f"{name} (p50, {k} queries)", e["rows"] // k, p(e["rgis"], 0.5), p(e["pg"], 0.5), "PostGIS (serial)", target)
            row(f"{name} (p99, {k} queries)", e["rows"] // k, p(e["rgis"], 0.99), p(e["pg"], 0.99), "PostGIS (serial)", target)

    # 5. HTTP under wrk, against pygeoapi on the same file.
    dense = "8.99,47.995,9.01,48.005"   # the core: thousands of listings
    sparse = "8.66,47.80,8.67,47.81"    # the edge: a handful
    server = RGISServer(rgis, db, os.path.join(work, "rgis-serve.log"))
    pyg = None
    try:
        if peers:
            import pygeoapi
            pyg = pygeoapi.Server(db).start()
            report["pygeoapi"] = pyg.versions
        endpoints = [("dense", f"/collections/listings/items?bbox={dense}&limit=100"),
                     ("sparse", f"/collections/listings/items?bbox={sparse}&limit=100")]
        for name, path in endpoints:
            if pyg:
                same = httpbench.same_features(server.url + path, pyg.url + path)
                if not same.get("same_set"):
                    problems.append(f"pygeoapi {name} box: {same}")
            ours = httpbench.wrk(server.url + path, duration=duration)
            say(f"rgis {name} box: {ours['requests_per_s']:.0f} req/s, p99 {ours['p99_ms']:.1f} ms, non-2xx {ours['non_2xx']}")
            theirs = httpbench.wrk(pyg.url + path, duration=duration, timeout="60s") if pyg else None
            if theirs:
                say(f"pygeoapi {name} box: {theirs['requests_per_s']:.1f} req/s, p99 {theirs['p99_ms']:.1f} ms")
            for r in (ours, theirs):
                if r and (r["non_2xx"] or r["errors"]):
                    problems.append(f"{r['url']}: {r['non_2xx']} non-2xx, {r['errors']} socket errors")
            target = "≥ 50× pygeoapi" if name == "dense" else "≥ 1000× pygeoapi"
            row(f"HTTP items, {name} bbox, limit 100: req/s", 100, ours["requests_per_s"], theirs and theirs["requests_per_s"],
                "pygeoapi + gunicorn (2 workers)", target, "req/s", "higher")
            row(f"HTTP items, {name} bbox, limit 100: p99", 100, ours["p99_ms"], theirs and theirs["p99_ms"], "pygeoapi + gunicorn (2 workers)")
        radius = httpbench.wrk(server.url + "/search/radius?lon=9.0&lat=48.0&radius_m=1000&limit=100", duration=duration)
        say(f"rgis radius: {radius['requests_per_s']:.0f} req/s, p99 {radius['p99_ms']:.1f} ms")
        row("HTTP /search/radius 1 km in the core, limit 100: req/s", 100, radius["requests_per_s"], None, "—", None, "req/s", "higher")
        rss, hwm = server.rss_mb()
        row("server RSS after the HTTP runs (peak)", None, rss, None, f"peak {hwm:.0f} MB", "< 250 MB", "MB")

        # 6. Stall: cheap requests while heavy queries saturate the server.
        say(f"stall: {STALL_CONCURRENCY} loops of {stall.DEFAULT_HEAVY} for {duration} s, probing /health and items")
        try:
            st = stall.stall(server.url, stall.DEFAULT_HEAVY, concurrency=STALL_CONCURRENCY, duration_s=duration)
        except Exception as e:  # reported, not fatal
            st = {"error": repr(e), "ok": False}
        report["stall"] = st
        if "error" in st:
            failed_targets.append(f"stall test did not run: {st['error']}")
            row("stall: probes under heavy load", None, None, None, "—", f"p99 < {stall.LIMIT_MS:.0f} ms — NOT RUN")
        else:
            say(stall.describe(st))
            verdict = "met" if st["ok"] else "FAILED"
            heavy = st["heavy"]
            load = f"{STALL_CONCURRENCY} × {st['heavy_path']}"
            for name, probe in st["under_load"].items():
                base = st["baseline"][name]
                row(f"stall: {probe['path']} under {load} (p50)", None, probe["p50_ms"], None,
                    f"idle p50 {ms(base['p50_ms'])}")
                row(f"stall: {probe['path']} under {load} (p99)", None, probe["p99_ms"], None,
                    f"idle p99 {ms(base['p99_ms'])}; max under load {ms(probe['max_ms'])}, "
                    f"{probe['failures']} of {probe['requests']} not 200",
                    f"p99 < {stall.LIMIT_MS:.0f} ms, all 200 ({verdict})")
            row(f"stall: heavy requests completed in {duration} s ({st['probe_requests']} probes alongside)", None,
                heavy["completed"], None,
                f"{heavy['200']} × 200, {heavy['503']} × 503, {heavy['other']} other, {heavy['errors']} socket errors",
                None, "requests", "higher")
            if not st["ok"]:
                failed_targets += [f"stall: {x}" for x in st["notes"]] or ["stall: not ok"]
        rss, hwm = server.rss_mb()
        row("server RSS after the stall test (peak)", None, rss, None, f"peak {hwm:.0f} MB", "< 250 MB", "MB")
    finally:
        server.stop()
        if pyg:
            pyg.stop()

    # 7. Deadline: a heavy request past a short --request-timeout gets 503 + Retry-After; the server goes on.
    say(f"deadline: rgis serve --request-timeout {DEADLINE_TIMEOUT_S} --heavy-slots 1, one {stall.DEFAULT_HEAVY}")
    try:
        short = RGISServer(rgis, db, os.path.join(work, "rgis-serve-deadline.log"),
                           ["--request-timeout", str(DEADLINE_TIMEOUT_S), "--heavy-slots", "1"])
        try:
            dl = stall.deadline(short.url, stall.DEFAULT_HEAVY, concurrency=STALL_CONCURRENCY, timeout_s=DEADLINE_TIMEOUT_S)
        finally:
            short.stop()
    except Exception as e:  # reported, not fatal
        dl = {"error": repr(e), "ok": False}
    report["deadline"] = dl
    verdict = "met" if dl["ok"] else "FAILED"
    resp = dl.get("response") or {}
    health = dl.get("health_after") or {}
    seen = (f"error: {dl['error']}" if "error" in dl else
            f"{resp.get('status')}, Retry-After {resp.get('retry_after')}, body status {resp.get('body_status')}; "
            f"then /health {health.get('status')}" + (" (queued behind others)" if dl.get("mode") == "queued" else ""))
    say(f"deadline: {seen}: {verdict}")
    row(f"deadline: {stall.DEFAULT_HEAVY} past --request-timeout {DEADLINE_TIMEOUT_S} s", None, resp.get("ms"), None,
        seen, f"503 + Retry-After + problem JSON, then /health 200 ({verdict})")
    if not dl["ok"]:
        failed_targets.append(f"deadline: {seen}")

    report["versions"] = {
        "swift": version(["swift", "--version"]), "sqlite": version(["sqlite3", "--version"]),
        "spatialite": version(["spatialite", "-version"]) if shutil.which("spatialite") else "unavailable",
        "gdal": version(["ogr2ogr", "--version"]), "wrk": version(["wrk", "--version"]),
    }
    report["problems"] = problems
    report["failed_targets"] = failed_targets
    report["seconds"] = time.time() - started

    lines = [f"RGIS benchmark, {report['date']}, {n:,} listings and demands, {runs} centres, wrk {duration} s, "
             f"{report['machine']['cpus']} CPUs, {a.configuration} build; total {report['seconds'] / 60:.1f} min", "",
             "| measure | rows | RGIS | compared with | their value | ratio (RGIS advantage) | target |", "|---|---:|---:|---|---:|---:|---|"]
    for r in rows:
        def fmt(v, unit=r["unit"]):
            return ("—" if v is None else f"{v:,.0f}" if unit == "requests" else
                    f"{v:,.1f}" if unit in ("req/s", "rows/s", "MB") else f"{v:,.2f}")
        size = "" if r["rows"] is None else f"{r['rows']:,}"
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}×"
        lines.append(f"| {r['measure']} | {size} | {fmt(r['rgis'])} {r['unit']} | {r['peer']} | {fmt(r['peer_value'])} | {ratio} | {r['target'] or ''} |")
    lines += ["", "Every compared pair returned the same features." if not problems else "DISAGREEMENTS:"] + [f"- {x}" for x in problems]
    if failed_targets:
        lines += ["", "Stall and deadline checks that failed (not fatal):"] + [f"- {x}" for x in failed_targets]
    text = "\n".join(lines) + "\n"
    open(os.path.join(work, "report.md"), "w").write(text)
    json.dump(report, open(os.path.join(work, "report.json"), "w"), indent=1)
    print(text)
    say(f"wrote {work}/report.md and report.json in {report['seconds'] / 60:.1f} min")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
