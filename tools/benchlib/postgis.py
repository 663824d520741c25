#!/usr/bin/python3
"""PostGIS peer for the RGIS benchmark: the same listings, the same queries, timed client-side.

    postgis.py --sqlite DB --queries Q.json --out R.json [--repeat N] [--keep]

Starts a throwaway PostgreSQL 15 cluster (initdb in a temp dir, 127.0.0.1, a free port, trust auth,
fsync off), loads the listings of the RGIS SpatiaLite file DB with COPY into
    listings(fid bigint PRIMARY KEY, id text, geog geography(Point,4326), geom geometry(Point,4326))
with GiST indexes on geog and geom, ANALYZE, then runs the queries of Q.json serially on one
connection (max_parallel_workers_per_gather=0, jit=off, plan_cache_mode=force_custom_plan), as
prepared statements, each once to warm up, then timed (N times, median; default 1) with
time.perf_counter around execute + fetchall. The cluster is stopped and its
directory removed at exit, also on an error, Ctrl-C or SIGTERM (--keep leaves it running and prints
how to reach and stop it).

Q.json is a list of queries:
    {"kind": "radius",  "lon": .., "lat": .., "radius_m": ..}          ids by geodesic distance
    {"kind": "nearest", "lon": .., "lat": .., "radius_m": .., "k": 100}  the k nearest within radius
    {"kind": "polygon", "wkt": "POLYGON((...))"}                        intersecting, by fid
radius/nearest: ST_DWithin(geog, pt, r) (use_spheroid default true: WGS84 geodesic), ordered by
ST_Distance(geog, pt) (spheroid), ties by fid. nearest first takes k candidates with the index KNN
operator (geog <-> pt, sphere distance), then re-selects exactly within their largest spheroid distance. polygon: ST_Intersects(geom, ST_GeomFromText(wkt, 4326))
on the planar lon/lat geometry (as SpatiaLite's Intersects), ordered by fid.

R.json: {"version": "PostgreSQL 15.x / PostGIS 3.3.x", "load_seconds": .., "load": {...},
         "results": [{"ms": .., "ids": [...], "dist_m": [...] (radius/nearest only)}, ...]}

As a module:  with postgis.Cluster() as c: c.load_listings(path); results = c.run(queries)

Needs: apt-get install -y postgresql-15 postgresql-15-postgis-3 python3-psycopg2 libsqlite3-mod-spatialite
Run as root (initdb/pg_ctl then run as the postgres user through runuser) or as any non-root user.
"""
import argparse
import atexit
import io
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

import psycopg2

from httpbench import free_port  # one place for the helpers the peers share

PG_BIN_CANDIDATES = ["/usr/lib/postgresql/15/bin"]


def _pg_bin(name):
    for d in PG_BIN_CANDIDATES:
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    p = shutil.which(name)
    if not p:
        raise RuntimeError(f"{name} not found: apt-get install -y postgresql-15 postgresql-15-postgis-3")
    return p


def open_spatialite(path):
    """A read-only sqlite3 connection to an RGIS/SpatiaLite file with mod_spatialite loaded."""
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    conn = sqlite3.connect(f"file:{os.path.abspath(path)}?mode=ro", uri=True)
    conn.enable_load_extension(True)
    conn.load_extension("mod_spatialite")
    return conn


class _RowStream(io.RawIOBase):
    """A file-like object COPY can read: tab-separated text lines from an iterator of tuples."""

    def __init__(self, rows):
        self._rows = rows
        self._buf = b""

    def readable(self):
        return True

    def readinto(self, b):
        while len(self._buf) < len(b):
            chunk = []
            for _ in range(2000):
                r = next(self._rows, None)
                if r is None:
                    break
                chunk.append(r)
            if not chunk:
                break
            self._buf += "".join(f"{fid}\t{_copy_text(lid)}\t{lon!r}\t{lat!r}\n" for fid, lid, lon, lat in chunk).encode()
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _copy_text(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class Cluster:
    """A throwaway PostgreSQL/PostGIS cluster. Use as a context manager; always stopped and removed."""

    def __init__(self, keep=False, log=sys.stderr, shared_buffers="256MB"):
        self.keep = keep
        self.log = log
        self.shared_buffers = shared_buffers
        self.dir = None
        self.port = None
        self.conn = None
        self._started = False
        self._as_postgres = os.geteuid() == 0

    # -- lifecycle ---------------------------------------------------------------------------
    def _sudo(self, argv):
        return (["runuser", "-u", "postgres", "--"] + argv) if self._as_postgres else argv

    def _say(self, msg):
        if self.log:
            print(f"[postgis] {msg}", file=self.log, flush=True)

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="rgis-pg-")
        atexit.register(self.stop)
        if self._as_postgres:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = os.path.join(self.dir, "data")
        subprocess.run(self._sudo([_pg_bin("initdb"), "-D", data, "-U", "postgres", "-A", "trust",
                                   "-E", "UTF8", "--locale=C", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.port = free_port()
        opts = " ".join([
            f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={self.dir}",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
            f"-c shared_buffers={self.shared_buffers}", "-c max_wal_size=4GB", "-c maintenance_work_mem=512MB",
        ])
        self._started = True  # from here on, stop() must try pg_ctl stop
        subprocess.run(self._sudo([_pg_bin("pg_ctl"), "-D", data, "-l", os.path.join(self.dir, "log"),
                                   "-o", opts, "-w", "-t", "60", "start"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("CREATE EXTENSION postgis")
        self._say(f"cluster up on 127.0.0.1:{self.port} in {self.dir}: {self.version()}")
        return self

    def stop(self):
        if self.keep:
            return
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None
        if self.dir and self._started:
            subprocess.run(self._sudo([_pg_bin("pg_ctl"), "-D", os.path.join(self.dir, "data"),
                                       "-m", "immediate", "-w", "stop"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._started = False
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        if self.keep and self.dir:
            self._say(f"kept: psql -h 127.0.0.1 -p {self.port} -U postgres   stop: "
                      f"runuser -u postgres -- {_pg_bin('pg_ctl')} -D {self.dir}/data stop && rm -rf {self.dir}")
        self.stop()
        return False

    # -- data --------------------------------------------------------------------------------
    def version(self):
        with self.conn.cursor() as cur:
            cur.execute("SELECT current_setting('server_version'), postgis_lib_version()")
            pg, postgis = cur.fetchone()
        return f"PostgreSQL {pg.split()[0]} / PostGIS {postgis}"

    def load_listings(self, sqlite_path):
        """Load fid, id, lon, lat of every listing; returns the timings in seconds (key 'total')."""
        t0 = time.perf_counter()
        lite = open_spatialite(sqlite_path)
        rows = lite.execute("SELECT fid, id, ST_X(geom), ST_Y(geom) FROM listings WHERE geom IS NOT NULL ORDER BY fid")
        with self.conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS listings; DROP TABLE IF EXISTS listings_in")
            cur.execute("CREATE UNLOGGED TABLE listings_in (fid bigint, id text, lon float8, lat float8)")
            cur.copy_expert("COPY listings_in FROM STDIN", io.BufferedReader(_RowStream(iter(rows)), 1 << 20))
            lite.close()
            t1 = time.perf_counter()
            cur.execute("""CREATE TABLE listings AS
                SELECT fid, id,
                       ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography(Point, 4326) AS geog,
                       ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326) AS geom
                FROM listings_in ORDER BY fid""")
            cur.execute("DROP TABLE listings_in")
            cur.execute("ALTER TABLE listings ADD PRIMARY KEY (fid)")
            cur.execute("CREATE INDEX listings_geog ON listings USING gist (geog)")
            cur.execute("CREATE INDEX listings_geom ON listings USING gist (geom)")
            cur.execute("VACUUM ANALYZE listings")
            cur.execute("SELECT count(*) FROM listings")
            n = cur.fetchone()[0]
        t2 = time.perf_counter()
        self._say(f"loaded {n} listings in {t2 - t0:.2f} s (read+COPY {t1 - t0:.2f} s, build+index+analyze {t2 - t1:.2f} s)")
        return {"total": t2 - t0, "read_copy": t1 - t0, "build_index_analyze": t2 - t1, "rows": n}

    # -- queries -----------------------------------------------------------------------------
    _PREPARE = [
        "PREPARE q_radius(float8, float8, float8, bigint) AS "
        "SELECT id, ST_Distance(geog, p) AS d FROM listings, "
        "(SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography AS p) q "
        "WHERE ST_DWithin(geog, p, $3) ORDER BY d, fid LIMIT $4",
        # k nearest, exact on the spheroid: the index KNN (<->, sphere distance) finds k candidates
        # within the radius; the largest spheroid distance among them bounds the true k nearest, so a
        # second ST_DWithin with that bound (+1 mm against rounding) sorted by ST_Distance is exact.
        "PREPARE q_nearest(float8, float8, float8, int) AS "
        "WITH knn AS (SELECT ST_Distance(geog, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography) AS d "
        "    FROM listings WHERE ST_DWithin(geog, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3) "
        "    ORDER BY geog <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography LIMIT $4), "
        "b AS (SELECT least(max(d) + 0.001, $3) AS r FROM knn) "
        "SELECT l.id, ST_Distance(l.geog, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography) AS d "
        "FROM listings l, b WHERE ST_DWithin(l.geog, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, b.r) "
        "ORDER BY d, l.fid LIMIT $4",
        "PREPARE q_polygon(text) AS "
        "SELECT id FROM listings WHERE ST_Intersects(geom, ST_GeomFromText($1, 4326)) ORDER BY fid",
    ]

    def _session(self):
        with self.conn.cursor() as cur:
            # force_custom_plan: a generic plan (chosen by default from the 6th EXECUTE on) evaluates
            # ST_GeomFromText per row and switches bitmap to plain index scans: 2-3x slower, and the
            # switch would land in the middle of a series. Custom plans cost ~0.5 ms of planning each.
            cur.execute("SET max_parallel_workers_per_gather = 0; SET jit = off; SET plan_cache_mode = force_custom_plan")
            cur.execute("DEALLOCATE ALL")
            for sql in self._PREPARE:
                cur.execute(sql)

    @staticmethod
    def _statement(q):
        kind = q.get("kind")
        if kind == "radius":
            limit = q.get("limit")
            return "EXECUTE q_radius(%s, %s, %s, %s)", (float(q["lon"]), float(q["lat"]), float(q["radius_m"]),
                                                        None if limit is None else int(limit)), True
        if kind == "nearest":
            return ("EXECUTE q_nearest(%s, %s, %s, %s)",
                    (float(q["lon"]), float(q["lat"]), float(q["radius_m"]), int(q.get("k", 100))), True)
        if kind == "polygon":
            return "EXECUTE q_polygon(%s)", (q["wkt"],), False
        raise ValueError(f"unknown query kind {kind!r} in {q!r}")

    def run(self, queries, repeat=1, warmup=True):
        """Run each query serially: warm-up once, then `repeat` timed runs (median ms).
        Returns [{"ms", "ids", "dist_m"?, "runs_ms"?}] in query order."""
        self._session()
        out = []
        with self.conn.cursor() as cur:
            for q in queries:
                sql, args, has_dist = self._statement(q)
                if warmup:
                    cur.execute(sql, args)
                    cur.fetchall()
                times = []
                for _ in range(max(1, repeat)):
                    t0 = time.perf_counter()
                    cur.execute(sql, args)
                    rows = cur.fetchall()
                    times.append((time.perf_counter() - t0) * 1000.0)
                r = {"ms": statistics.median(times), "ids": [row[0] for row in rows]}
                if has_dist:
                    r["dist_m"] = [row[1] for row in rows]
                if repeat > 1:
                    r["runs_ms"] = times
                out.append(r)
        return out


def _sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sqlite", required=True, help="the RGIS SpatiaLite database")
    ap.add_argument("--queries", required=True, help="JSON list of queries")
    ap.add_argument("--out", required=True, help="where to write the results JSON")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per query, median reported (default 1)")
    ap.add_argument("--keep", action="store_true", help="leave the cluster running at exit")
    a = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    with open(a.queries) as f:
        queries = json.load(f)
    with Cluster(keep=a.keep) as c:
        load = c.load_listings(a.sqlite)
        results = c.run(queries, repeat=a.repeat)
        doc = {"version": c.version(), "load_seconds": round(load["total"], 3), "load": load, "results": results}
    with open(a.out, "w") as f:
        json.dump(doc, f)
    for q, r in zip(queries, results):
        print(f"{q.get('kind'):8} {len(r['ids']):7d} ids {r['ms']:9.2f} ms", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
