#!/usr/bin/python3
"""pygeoapi peer for the RGIS benchmark: the listings of an RGIS file served by pygeoapi + gunicorn.

    pygeoapi.py --sqlite DB --port P [--workers N] [--worker-class sync] [--workdir DIR] [--keep-workdir]
    pygeoapi.py --setup-only

Installs (once, idempotently) pygeoapi and gunicorn with pip into <repo>/.venv-pygeoapi (a venv of
/usr/bin/python3, whose sqlite3 can load mod_spatialite), writes a pygeoapi config with one collection
`listings` (provider SQLiteGPKG on the table listings, id_field `id`, so feature ids are RGIS's listing
id strings; `fid` becomes an ordinary property), generates the OpenAPI document it needs
(`pygeoapi openapi generate`), starts `gunicorn pygeoapi.flask_app:APP` on 127.0.0.1:P (P=0: a free
port), waits until /collections/listings/items?limit=1 answers 200, prints the base URL on stdout and
runs in the foreground until Ctrl-C/SIGTERM, then stops gunicorn and removes its temp workdir.
--setup-only just prepares the venv. Limits: default 10, max_items 10000 (as RGIS), pretty_print off,
logging ERROR, no access log.

As a module:  with pygeoapi.Server("db.sqlite", workers=2) as s: s.url  (http://127.0.0.1:PORT)

What pygeoapi 0.21's SQLiteGPKG provider does per /items request: load_plugin() builds a new provider,
i.e. opens a new sqlite3 connection and loads mod_spatialite, reads PRAGMA table_info and
geometry_columns, then runs
    SELECT DISTINCT <all columns>, AsGeoJSON(geom) FROM listings
    WHERE Intersects(geom, BuildMbr(w,s,e,n)) LIMIT ? OFFSET ?
with no ORDER BY and no R*Tree: a table scan testing every row until `limit` rows matched. On a dense
box it stops early; on a sparse box it scans the whole table (expected; that is the comparison).
Rows come in rowid (= fid) order, so a page equals RGIS's first page of the same bbox.

Workers on 2 cores: the work is CPU-bound Python + SQLite under the GIL, so threads (gthread) and more
processes than cores bring nothing; gunicorn's (2 x cores) + 1 = 5 rule is for I/O waits. Measured
here at 100k listings (2 cores shared with wrk -t2 -c32, 10 s runs, req/s dense box / sparse box):
sync 1: 65/14, sync 2: 108/28, sync 3: 106/29, sync 5: 95/16, gthread 2 workers: 63/18. Use 2 sync
workers (the default) for the benchmark, 3 at most. gunicorn sync workers close the connection after
each response (no keep-alive), so wrk reconnects per request; that is pygeoapi's documented deployment.

The venv must stay out of git: `/.venv-pygeoapi/` is in the repository's .gitignore.
gunicorn runs with cwd = its workdir, never this directory: this file is named pygeoapi.py and would
shadow the pygeoapi package on sys.path.

Needs: apt-get install -y python3-venv libsqlite3-mod-spatialite; pip (into the venv, done here):
pygeoapi==0.21.0 gunicorn==27.0.1 (override with PYGEOAPI_PIP_SPEC="pygeoapi==x gunicorn==y").
"""
import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from httpbench import free_port  # one place for the helpers the peers share

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv-pygeoapi"
PIP_SPEC = os.environ.get("PYGEOAPI_PIP_SPEC", "pygeoapi==0.21.0 gunicorn==27.0.1").split()


def _say(msg, log=sys.stderr):
    if log:
        print(f"[pygeoapi] {msg}", file=log, flush=True)


def ensure_venv(venv=VENV, log=sys.stderr):
    """Create the venv and pip-install pygeoapi + gunicorn if needed; check sqlite3 loads mod_spatialite."""
    venv = Path(venv)
    py = venv / "bin" / "python"
    if not py.exists():
        _say(f"creating {venv}", log)
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    probe = "import pygeoapi, gunicorn; print(pygeoapi.__version__, gunicorn.__version__)"
    r = subprocess.run([str(py), "-c", probe], capture_output=True, text=True)
    if r.returncode != 0:
        _say(f"pip install {' '.join(PIP_SPEC)}", log)
        subprocess.run([str(py), "-m", "pip", "install", "-q"] + PIP_SPEC, check=True)
        r = subprocess.run([str(py), "-c", probe], capture_output=True, text=True, check=True)
    spatialite = ("import sqlite3; c = sqlite3.connect(':memory:'); c.enable_load_extension(True); "
                  "c.load_extension('mod_spatialite'); print(c.execute('select spatialite_version()').fetchone()[0])")
    s = subprocess.run([str(py), "-c", spatialite], capture_output=True, text=True)
    if s.returncode != 0:
        raise RuntimeError("the venv's sqlite3 cannot load mod_spatialite (apt-get install -y "
                           f"libsqlite3-mod-spatialite; the venv must come from /usr/bin/python3): {s.stderr.strip()}")
    versions = r.stdout.split()
    return {"pygeoapi": versions[0], "gunicorn": versions[1], "spatialite": s.stdout.strip()}


def listings_extent(sqlite_path):
    """[minx, miny, maxx, maxy] of the listings from the R*Tree (no extension needed)."""
    c = sqlite3.connect(f"file:{os.path.abspath(sqlite_path)}?mode=ro", uri=True)
    try:
        row = c.execute("SELECT min(xmin), min(ymin), max(xmax), max(ymax) FROM idx_listings_geom").fetchone()
    finally:
        c.close()
    return list(row) if row and row[0] is not None else [-180.0, -90.0, 180.0, 90.0]


def write_config(path, sqlite_path, url, port, id_field="id", max_items=10000):
    """Write a pygeoapi config (JSON, which is valid YAML) serving the listings table."""
    config = {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "pretty_print": False,
            "limits": {"default_items": 10, "max_items": max_items},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "attribution": "OpenStreetMap contributors"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {"title": "RGIS benchmark peer", "description": "RGIS listings via pygeoapi",
                               "keywords": ["benchmark"], "keywords_type": "theme",
                               "terms_of_service": "https://example.org", "url": "https://example.org"},
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "RGIS", "url": "https://example.org"},
            "contact": {"name": "RGIS"},
        },
        "resources": {
            "listings": {
                "type": "collection",
                "title": "listings",
                "description": "RGIS listings",
                "keywords": ["listings"],
                "extents": {"spatial": {"bbox": listings_extent(sqlite_path),
                                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
                "providers": [{"type": "feature", "name": "SQLiteGPKG",
                               "data": os.path.abspath(sqlite_path), "id_field": id_field, "table": "listings"}],
            }
        },
    }
    Path(path).write_text(json.dumps(config, indent=1))


class Server:
    """pygeoapi under gunicorn on 127.0.0.1; use as a context manager, `.url` is the base URL."""

    def __init__(self, sqlite_path, port=0, workers=2, worker_class="sync", venv=VENV, workdir=None,
                 keep_workdir=False, id_field="id", log=sys.stderr, timeout=120):
        self.sqlite_path = os.path.abspath(sqlite_path)
        if not os.path.exists(self.sqlite_path):
            raise FileNotFoundError(self.sqlite_path)
        self.port = port or free_port()
        self.workers = workers
        self.worker_class = worker_class
        self.venv = Path(venv)
        self.workdir = workdir
        self.keep_workdir = keep_workdir or workdir is not None
        self.id_field = id_field
        self.log = log
        self.timeout = timeout
        self.proc = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.versions = None

    def start(self, ready_timeout=60):
        self.versions = ensure_venv(self.venv, self.log)
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="rgis-pygeoapi-")
        os.makedirs(self.workdir, exist_ok=True)
        cfg = os.path.join(self.workdir, "pygeoapi-config.yml")
        oapi = os.path.join(self.workdir, "pygeoapi-openapi.yml")
        write_config(cfg, self.sqlite_path, self.url, self.port, self.id_field)
        env = dict(os.environ, PYGEOAPI_CONFIG=cfg, PYGEOAPI_OPENAPI=oapi, SPATIALITE_LIBRARY_PATH="mod_spatialite")
        env.pop("PYTHONPATH", None)
        bin_ = self.venv / "bin"
        subprocess.run([str(bin_ / "pygeoapi"), "openapi", "generate", cfg, "--output-file", oapi],
                       check=True, cwd=self.workdir, env=env, stdout=subprocess.DEVNULL)
        self._errlog = os.path.join(self.workdir, "gunicorn.log")
        self.proc = subprocess.Popen(
            [str(bin_ / "gunicorn"), "pygeoapi.flask_app:APP", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--worker-class", self.worker_class, "--timeout", str(self.timeout),
             "--chdir", self.workdir, "--error-logfile", self._errlog, "--log-level", "warning"],
            cwd=self.workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + ready_timeout
        probe = f"{self.url}/collections/listings/items?limit=1"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}: {self._log_tail()}")
            try:
                with urllib.request.urlopen(probe, timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"pygeoapi did not answer {probe} within {ready_timeout} s: {self._log_tail()}")
            time.sleep(0.2)
        _say(f"pygeoapi {self.versions['pygeoapi']} (gunicorn {self.versions['gunicorn']}, "
             f"{self.workers} {self.worker_class} workers) at {self.url}, workdir {self.workdir}", self.log)
        return self

    def _log_tail(self, n=20):
        try:
            return "\n".join(Path(self._errlog).read_text().splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # gunicorn master: graceful stop of its workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if self.workdir and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
        return False


def _sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sqlite", help="the RGIS SpatiaLite database")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2 on 2 cores)")
    ap.add_argument("--worker-class", default="sync", help="gunicorn worker class (default sync)")
    ap.add_argument("--workdir", help="where config/OpenAPI/log go (kept); default a temp dir, removed")
    ap.add_argument("--keep-workdir", action="store_true")
    ap.add_argument("--setup-only", action="store_true", help="create/update the venv and exit")
    a = ap.parse_args(argv)
    if a.setup_only:
        print(json.dumps(ensure_venv()))
        return 0
    if not a.sqlite:
        ap.error("--sqlite is required")
    signal.signal(signal.SIGTERM, _sigterm)
    with Server(a.sqlite, a.port, a.workers, a.worker_class, workdir=a.workdir, keep_workdir=a.keep_workdir) as s:
        print(s.url, flush=True)
        try:
            while s.proc.poll() is None:
                time.sleep(0.5)
            _say(f"gunicorn exited with {s.proc.returncode}: {s._log_tail()}")
            return 1
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
