#!/usr/bin/env python3
"""Walks every endpoint of a running RGIS server with out-of-range numbers: no 5xx, and the process lives.

    tools/hostile_numbers.py --url http://127.0.0.1:PORT --token ADMIN_TOKEN [--agent-token T] [--planner-token T]
        [--regulator-token T] [--pid SERVER_PID] [--server-log FILE]

    # or let it start (and after a crash restart) the server itself, each time on a fresh copy of a database:
    tools/hostile_numbers.py --token ADMIN_TOKEN --agent-token T --planner-token T --regulator-token T \\
        --db-template city.sqlite --serve 'rgis serve {db} --port 0 --rate-limit 0 --smtp {smtp} --smtp-starttls never'

Standard library only (/usr/bin/python3 or .venv/bin/python). Exits 0 when every request was answered below 500
and the server lived throughout, 1 otherwise, 2 when it could not start.

What it sends
- It reads the OpenAPI document at /api and walks every operation in it. Each operation is first called once with
  sane values (the baseline), then:
- every query or path parameter whose schema is integer or number gets, one at a time with the others sane, each of
  QUERY_EXTREMES (1e300, -1e300, 9223372036854775807, 9223372036854775808, -9223372036854775809, 1e-320, 0, -1, NaN,
  Infinity, -Infinity, 1.5, 99999999999999999999999, 1e309 and a few more Int64/Int32 edges);
- parameters that carry numbers inside text get the same numbers in place: each of the four numbers of `bbox`, the
  code of `crs`/`bbox-crs` (EPSG:N), the row id and distance inside a search `cursor`; min/max pairs get both ends
  at once; `/collections/{id}/items` also gets the equality filters the README promises on every numeric field
  (found from the collection's own features, since /api does not list them);
- every request body starts from a valid example (Walker.examples: taken from the README and the server tests, as
  /api has no examples and, for demands and listing properties, no schema) and every numeric member, recursively
  (GeoJSON coordinates included), gets each of BODY_EXTREMES: the raw JSON tokens, the non-JSON tokens NaN/Infinity,
  and the same numbers as strings ("1e309"...), since RGIS reads numeric text as numbers. Known numeric members the
  example lacks (KNOWN_NUMERIC, plus every number/integer in the /api body schema and every numeric property the
  demo features carry) are added one at a time. min/max pairs get both ends. Text members get a few numbers too
  (type confusion). Archive changes get hostile fractions in `share` ("1/9223372036854775807"...).
- Tokens: the role named in the operation's description ("Needs a token of role agent or admin."); the agent's token
  for agent-owned records (an admin token otherwise). Before the walk it creates, as the agent, a client, a demand
  with saved searches (instant e-mail, daily digest, webhook to a receiver this script runs), a listing, a planner's
  alert receiver, and reads an archive parcel, so that every `{clientId}`, `{demandId}`, `{subscriptionId}`...
  exists. PUT/PATCH/DELETE go to scratch records made for them, never to the demo data.
- Stored hostile values are read back: after a body with a hostile number is accepted (2xx) it reads the record, its
  events, the match endpoints both ways, /indicators (json, csv, fgb), the series, segments, alerts, tiles at
  cluster and single zooms, clusters, radius and polygon search, district listings, items as html/csv/fgb; a
  hostile demand also gets a saved search (with backfill) and, at the end of the operation, a fitting new listing,
  and the script waits --settle seconds so that the notifier running inside the server matches and sends them.
  If the server dies then, each kept record is replayed alone to find which one did it (needs --serve).

A failure is any answer >= 500 (a 503 with Retry-After is asked again once, and only counts if it stays), no answer
(connection refused/reset, timeout), or the process gone: `--pid` checked with os.kill(pid, 0) (zombies count as
gone) or the child it started, and /health. With --serve the server is restarted after a crash (on a fresh copy of
--db-template when given, and the fixtures are made again) and the walk goes on; without it the walk stops at the
first crash. The crash's `Fatal error` line and the first project source frame of the backtrace are read from the
server's standard error (its log when the script started it, else --server-log).

`{smtp}` in --serve is replaced by an SMTP sink this script runs (so that e-mail notifications are composed and
sent); `{db}` by the copy of --db-template (or --db).
"""
import argparse
import base64
import collections
import copy
import http.client
import http.server
import json
import math
import os
import re
import shlex
import shutil
import signal
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

# ----------------------------------------------------------------------------------------------------------- values

QUERY_EXTREMES = ["1e300", "-1e300", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
                  "-9223372036854775809", "2147483648", "4294967296", "1e-320", "0", "-1", "NaN", "Infinity",
                  "-Infinity", "1.5", "99999999999999999999999", "1e309"]
QUICK_QUERY_EXTREMES = ["1e300", "-1e300", "9223372036854775808", "1e-320", "-1", "NaN", "1.5", "1e309"]
# Raw JSON text: numbers as tokens (NaN and Infinity are not JSON: a parser must refuse them), then as strings.
STRING_EXTREMES = ['"1e309"', '"1e300"', '"-1e300"', '"NaN"', '"Infinity"', '"9223372036854775808"']
BODY_EXTREMES = QUERY_EXTREMES + STRING_EXTREMES
QUICK_BODY_EXTREMES = QUICK_QUERY_EXTREMES + ['"1e309"', '"1e300"']
CONFUSION = ["1e300", "9223372036854775808", "1e309", "-1"]   # numbers put into text members
INTISH = ["9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
          "2147483648", "4294967296", "0", "-1", "99999999999999999999999", "1e300", "1.5", "NaN"]

# Numeric members the server reads though /api does not document them (Sources/RGISCore/Layer/Layer.swift).
LISTING_NUMERIC = ["list_price", "living_area_m2", "bedrooms", "bathrooms", "year_built", "close_price"]
DEMAND_NUMERIC = ["budget_min", "budget_max", "bedrooms_min", "area_min_m2", "area_max_m2", "radius_m"]
KNOWN_NUMERIC = {
    "listing": [("properties", m) for m in LISTING_NUMERIC] + [("properties", "hn_extra_number")],
    "demand": [("properties", m) for m in DEMAND_NUMERIC],
    "subscription": [("digest_hour",)],
}
PAIRS = [("budget_min", "budget_max"), ("area_min_m2", "area_max_m2"), ("price_min", "price_max"),
         ("area_min", "area_max"), ("year_min", "year_max")]

LON, LAT = 9.05, 48.03                 # inside the demo city (and the test fixtures)
LISTING_AT = (9.0612, 48.0333)         # about 900 m from the demand's centre
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def box(lon, lat, d=0.005):
    return [lon - d, lat - d, lon + d, lat + d]


def bbox_text(b):
    return ",".join("%.6f" % v for v in b)


def square(lon, lat, d=0.01):
    return [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]]


def tile_of(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    r = math.radians(lat)
    y = int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
    return z, y, x


def listing_body(lon=LISTING_AT[0], lat=LISTING_AT[1], price=310000):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"list_price": price, "property_type": "apartment", "bedrooms": 2, "bathrooms": 1,
                           "living_area_m2": 64, "year_built": 1994, "status": "active"}}


def demand_body():
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [LON, LAT]},
            "properties": {"radius_m": 1500, "budget_min": 100000, "budget_max": 600000, "bedrooms_min": 1,
                           "area_min_m2": 30, "area_max_m2": 120, "property_types": "apartment"}}


def demand_polygon_body():
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square(LON, LAT)},
            "properties": {"budget_max": 600000, "area_max_m2": 120}}


def client_body():
    return {"household": "couple", "lifecycle_stage": "viewing", "age_band": "30-44", "income_band": "middle",
            "contact": {"name": "Hostile Numbers", "email": "hn@example.test", "phone": "+420 777 000 111"}}


# ----------------------------------------------------------------------------------------------------- JSON helpers

class Raw(str):
    """JSON text put into a body as it is (a number token, NaN...)."""


def dumps(v):
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dumps(x) for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(dumps(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def leaves(v, want, path=()):
    """Paths of the numeric (want='num') or text (want='str') leaves."""
    if isinstance(v, bool) or v is None:
        return
    if isinstance(v, dict):
        for k, x in v.items():
            yield from leaves(x, want, path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from leaves(x, want, path + (i,))
    elif want == "num" and isinstance(v, (int, float)):
        yield path
    elif want == "str" and isinstance(v, str):
        yield path


def with_value(body, path, value):
    out = copy.deepcopy(body)
    node = out
    for k in path[:-1]:
        if isinstance(node, dict) and k not in node:
            node[k] = {}
        node = node[k]
    node[path[-1]] = value
    return out


def has_path(body, path):
    node = body
    for k in path:
        try:
            node = node[k]
        except (KeyError, IndexError, TypeError):
            return False
    return True


def label(path):
    out = ""
    for k in path:
        out += "[%d]" % k if isinstance(k, int) else ("." if out else "") + str(k)
    return out


def schema_numeric_paths(schema, path=()):
    """Paths of number/integer members an /api body schema declares (array items as index 0 and 1)."""
    if not isinstance(schema, dict):
        return
    t = schema.get("type")
    if t in ("number", "integer"):
        yield path
    elif t == "array":
        n = max(1, min(schema.get("maxItems", 1), 2))
        for i in range(n):
            yield from schema_numeric_paths(schema.get("items", {}), path + (i,))
    for k, sub in (schema.get("properties") or {}).items():
        yield from schema_numeric_paths(sub, path + (k,))


def cursor(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def double_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


# --------------------------------------------------------------------------------------------------------------- HTTP

class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def detail(self):
        j = self.json()
        if isinstance(j, dict) and "detail" in j:
            return str(j["detail"])[:200]
        return self.body[:200].decode("utf-8", "replace").replace("\n", " ")


def encode_query(query):
    if not query:
        return ""
    return "?" + "&".join(urllib.parse.quote(str(k), safe="-_.") + "=" + urllib.parse.quote(str(v), safe="-_.,:")
                          for k, v in query)


def http_call(base, method, target, body=None, token=None, timeout=30.0):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    headers = {"Accept": "application/json, */*;q=0.5", "Connection": "close"}
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = body.encode("utf-8") if isinstance(body, str) else body
    try:
        conn.request(method, target, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------------- the peers

class _Hooks(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        self.server.count += 1
        self.server.bodies.append((self.server.count, body))
        del self.server.bodies[:-5000]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_POST

    def log_message(self, *a):
        pass


class _SMTP(socketserver.StreamRequestHandler):
    def handle(self):
        def say(line):
            self.wfile.write((line + "\r\n").encode())
            self.wfile.flush()
        say("220 hostile-numbers sink")
        data = False
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if data:
                if line in (b".\r\n", b".\n"):
                    data = False
                    self.server.count += 1
                    say("250 2.0.0 kept")
                continue
            verb = line.strip().split(b" ")[0].upper()
            if verb in (b"EHLO", b"HELO"):
                say("250 hostile-numbers")
            elif verb == b"DATA":
                data = True
                say("354 go on")
            elif verb == b"QUIT":
                say("221 bye")
                return
            else:
                say("250 ok")


class Peers:
    """A webhook receiver (every POST is 200) and an SMTP sink, on 127.0.0.1, in threads of this process."""

    def __init__(self):
        self.hooks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
        self.hooks.count = 0
        self.hooks.bodies = []
        self.hooks.daemon_threads = True
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTP)
        self.smtp.daemon_threads = True
        self.smtp.count = 0
        for s in (self.hooks, self.smtp):
            threading.Thread(target=s.serve_forever, daemon=True).start()
        self.hook_url = "http://127.0.0.1:%d/hook" % self.hooks.server_address[1]
        self.smtp_url = "smtp://127.0.0.1:%d" % self.smtp.server_address[1]

    def delivered(self, listing_id, since):
        """Whether a webhook received after the `since`-th named this listing (ids repeat on a fresh database)."""
        needle = json.dumps(listing_id)
        return any(n > since and needle in b for n, b in list(self.hooks.bodies))

    def close(self):
        for s in (self.hooks, self.smtp):
            s.shutdown()
            s.server_close()


# -------------------------------------------------------------------------------------------------------- the server

class Gone(Exception):
    """The server cannot be reached any more and cannot be restarted."""


class Server:
    def __init__(self, args, peers):
        self.args, self.peers = args, peers
        self.url = args.url.rstrip("/") if args.url else None
        self.pid = args.pid
        self.proc = None
        self.log_path = args.server_log
        self.log_offset = self._log_size()
        self.starts = 0
        self.workdir = None
        self.fresh = bool(args.db_template)
        self.background = None

    def restartable(self):
        return bool(self.args.serve)

    def _log_size(self):
        try:
            return os.path.getsize(self.log_path) if self.log_path else 0
        except OSError:
            return 0

    def start(self):
        a = self.args
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="hostile-numbers-")
        self.starts += 1
        db = a.db or ""
        if a.db_template:
            db = os.path.join(self.workdir, "db-%d.sqlite" % self.starts)
            shutil.copyfile(a.db_template, db)
            if os.path.exists(a.db_template + "-wal"):
                shutil.copyfile(a.db_template + "-wal", db + "-wal")
            old = os.path.join(self.workdir, "db-%d.sqlite" % (self.starts - 1))
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(old + suffix):
                    os.remove(old + suffix)
        cmd = a.serve.replace("{db}", shlex.quote(db)).replace("{smtp}", self.peers.smtp_url)
        self.log_path = os.path.join(self.workdir, "server-%d.log" % self.starts)
        self.log_offset = 0
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(shlex.split(cmd), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.pid = self.proc.pid
        deadline = time.time() + a.start_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Gone("the server exited at start (%s): %s" % (self.proc.returncode, self._tail()))
            m = re.search(r"serving .*? at (https?://[^\s/]+)", self._read_log())
            if m:
                self.url = m.group(1)
                try:
                    if http_call(self.url, "GET", "/health", timeout=10).status == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.2)
        raise Gone("the server printed no URL within %d s: %s" % (a.start_timeout, self._tail()))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.workdir and not self.args.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _read_log(self):
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _tail(self):
        return " | ".join(self._read_log().strip().splitlines()[-5:])

    def alive(self):
        if self.proc is not None:
            return self.proc.poll() is None
        if self.pid:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                pass
            try:
                with open("/proc/%d/stat" % self.pid) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                        return False
            except (OSError, IndexError):
                pass
            return True
        return self.healthy()

    def healthy(self):
        try:
            return http_call(self.url, "GET", "/health", timeout=10).status < 500
        except OSError:
            return False

    def wait_dead(self, seconds):
        """After a request without an answer: a trapping Swift process may take a while (its backtrace) to go.
        True when it went; False as soon as it answers /health again, or after `seconds`."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            if not self.alive():
                return True
            if self.proc is None and not self.pid:
                return False
            if self.healthy():
                return not self.alive()
            time.sleep(0.25)
        return not self.alive()

    def death(self):
        """How it died: the exit, the Swift fatal error, and the project frames of the thread that crashed (from the
        backtrace Swift writes on standard error). Sets self.background: the crashed thread was not serving a
        request (the notifier, the series keeper...)."""
        parts = []
        self.background = None
        if self.proc is not None and self.proc.returncode is not None:
            rc = self.proc.returncode
            parts.append("killed by %s" % signal.Signals(-rc).name if rc < 0 else "exit %d" % rc)
        text = self._read_log() if (self.proc is not None or self.args.server_log) else ""
        fatal = [l.strip() for l in text.splitlines() if re.search(r"Fatal error|fatal error|"
                                                                  r"Swift runtime failure|Illegal instruction", l)]
        if fatal:
            first = next((l for l in fatal if "Fatal error" in l or "runtime failure" in l), fatal[0])
            parts.append(re.sub(r"^.*?(Fatal error)", r"\1", first)[:220])
        m = re.search(r"^Thread \d+.*crashed:\s*$(.*?)(?:^Thread \d+|^Registers:|\Z)", text, re.S | re.M)
        crashed = m.group(1) if m else text
        frames = []
        for line in crashed.splitlines():
            f = re.search(r"\d+ \[[^\]]*\](?: \[[^\]]*\])*\s+0x[0-9a-f]+ (.*?) \+ \d+ in rgis at (/\S*?/Sources/(?:RGIS|rgis)\S*)", line)
            if not f:
                f = re.search(r"0x[0-9a-f]+ (.*?)(?: \+ \d+)? in rgis at (/\S*?/Sources/(?:RGIS|rgis)\S*)", line)
            if f:
                where = re.sub(r"^.*?/Sources/", "Sources/", f.group(2))
                where = re.sub(r"(\.swift:\d+):\d+$", r"\1", where)
                frames.append((re.sub(r"\(.*", "", f.group(1)).split(" in ")[-1].strip(), where))
        if frames:
            parts.append("at " + frames[0][1])
            chain = " <- ".join("%s" % fn for fn, _ in frames[:4])
            parts.append("via " + chain)
            in_request = any("Controllers/" in w or "Application+build" in w or "RequestLimits" in w for _, w in frames)
            if not in_request:      # (a database writer's thread serves a request too: only these are background)
                self.background = next((w.rsplit("/", 1)[-1].split(".swift")[0] for _, w in frames
                                        if re.search(r"RGISNotify/|SeriesKeeper|AlertWatch", w)), None)
        if not parts:
            parts.append("process gone")
        return "; ".join(parts)


# --------------------------------------------------------------------------------------------------------- the walk

class Op:
    def __init__(self, path, method, spec):
        self.path, self.method, self.spec = path, method.upper(), spec
        self.id = spec.get("operationId") or (method + " " + path)
        self.params = [p for p in spec.get("parameters", []) if "$ref" not in p]
        m = re.search(r"Needs a token of role ([a-z ,]+?)\.", spec.get("description", ""))
        self.roles = re.split(r",\s*|\s+or\s+", m.group(1)) if m else []
        body = spec.get("requestBody") or {}
        content = body.get("content") or {}
        self.body_schema = (content.get("application/json") or next(iter(content.values()), {})).get("schema")
        self.has_body = bool(body)

    def name(self):
        return "%s %s" % (self.method, self.path)


class Scratch:
    """A path value taken from a scratch record of a kind when the request is sent."""

    def __init__(self, kind):
        self.kind = kind


class Walker:
    def __init__(self, args, server, peers):
        self.args, self.server, self.peers = args, server, peers
        self.tokens = {"admin": args.token, "agent": args.agent_token, "planner": args.planner_token,
                       "regulator": args.regulator_token}
        self.q_extremes = QUICK_QUERY_EXTREMES if args.quick else QUERY_EXTREMES
        self.b_extremes = QUICK_BODY_EXTREMES if args.quick else BODY_EXTREMES
        self.requests = 0
        self.statuses = collections.Counter()
        self.op_statuses = collections.defaultdict(collections.Counter)
        self.failures = []
        self.warnings = []
        self.walked = []
        self.restarts = 0
        self.current_op = None
        self.last_hostile = None      # the last hostile write the server accepted (for crash context)
        self.pending = []             # hostile records kept until the operation ends (the notifier's turn)
        self.crashed_reads = {}       # member -> read-backs that killed the server for one of its values
        self.died_in_background = None
        self.fx = {}

    # ------------------------------------------------------------------------------------------------ sending

    def token(self, role):
        return self.tokens.get(role) or self.tokens["admin"]

    def owner(self):
        return self.token("agent")

    def token_for(self, op):
        for role in ("agent", "planner", "regulator"):
            if role in op.roles and self.tokens.get(role):
                return self.tokens[role]
        return self.tokens["admin"]

    def send(self, method, path, query=None, body=None, token=None, where=None, value=None, template=None,
             context=None, count=True, quiet=False):
        """One request, checked. Returns the Answer, or None when there was none (the failure is recorded and,
        if the server died, it is restarted or Gone is raised)."""
        target = path + encode_query(query)
        template = template or path
        if count:
            self.requests += 1
        answer, error = None, None
        for attempt in (0, 1):
            try:
                answer = http_call(self.server.url, method, target, body, token, timeout=self.args.timeout)
            except (OSError, http.client.HTTPException) as e:
                answer, error = None, e
            if answer is not None and answer.status == 503 and "retry-after" in answer.headers and attempt == 0:
                try:
                    pause = min(5.0, float(answer.headers["retry-after"]))
                except ValueError:
                    pause = 2.0
                time.sleep(pause)
                self.warnings.append("503 (deadline, asked again) on %s %s" % (method, target[:160]))
                continue
            break
        status = answer.status if answer is not None else "no answer"
        if count:
            self.statuses[status] += 1
            if self.current_op:
                self.op_statuses[self.current_op][status] += 1
        dead = not self.server.alive() if answer is not None else self.server.wait_dead(self.args.death_wait)
        if dead:
            how = self.server.death()
            if self.server.background:
                how = "server died in the background (%s), while this request was in flight: %s" % (self.server.background, how)
            else:
                how = "server died: " + how
            self.fail(method, template, where, value, how, target, context)
            self.died_in_background = self.server.background
            self.recover()
            return None
        if answer is None:
            health = "/health %s" % ("ok" if self.server.healthy() else "failing")
            self.fail(method, template, where, value, "no answer (%s); process alive, %s" % (
                type(error).__name__ + (": " + str(error) if str(error) else ""), health), target, context)
            return None
        if answer.status >= 500:
            self.fail(method, template, where, value, "%d %s" % (answer.status, answer.detail()), target, context)
        elif not self.server.pid and not self.server.proc and not self.server.healthy():
            self.fail(method, template, where, value, "/health failing after the request", target, context)
        return answer

    def fail(self, method, template, where, value, symptom, target, context):
        f = {"method": method, "path": template, "where": where or "-", "value": value if value is not None else "-",
             "symptom": symptom, "request": "%s %s" % (method, target[:300]), "context": context}
        if "server died" in symptom and self.last_hostile and not context and not str(where).startswith("read-back"):
            f["last_accepted_hostile"] = self.last_hostile
        self.failures.append(f)
        ctx = ("  [%s]" % context) if context else ""
        print("FAIL %s %s  %s = %s -> %s%s" % (method, template, f["where"], f["value"], symptom, ctx), flush=True)

    def recover(self):
        """After a crash: restart (fresh database and fixtures when there is a template) or give up."""
        if not self.server.restartable():
            raise Gone("the server died and there is no --serve command to restart it")
        self.restarts += 1
        if self.restarts > self.args.max_restarts:
            raise Gone("more than %d restarts" % self.args.max_restarts)
        old_pending = self.pending
        self.pending = []
        self.server.start()
        print("     restarted the server at %s (restart %d)" % (self.server.url, self.restarts), flush=True)
        if self.server.fresh:
            self.setup()
        else:
            self.scratch_ids = {}
            for item in old_pending:           # leftovers of the dead process would crash the next one too
                self.cleanup(item)

    # --------------------------------------------------------------------------------------------------- fixtures

    def setup(self):
        """Records the walk needs, owned by the agent (or the admin when no agent token was given)."""
        fx = self.fx = {}
        self.scratch_ids = {}
        self.used_parcels = set()
        self.archive_n = getattr(self, "archive_n", 0)
        admin = self.tokens["admin"]
        a = self.send("GET", "/collections/listings/items", [("limit", "1"), ("bbox", bbox_text(box(LON, LAT, 0.02)))],
                      token=admin, where="setup", count=False)
        feats = (a.json() or {}).get("features", []) if a else []
        fx["sample_listing"] = feats[0]["id"] if feats else "L00001"
        fx["samples"] = {"listings": fx["sample_listing"]}
        fx["numeric_fields"] = {}
        for coll in ("listings", "parcels", "buildings", "districts"):
            a = self.send("GET", "/collections/%s/items" % coll, [("limit", "5")], token=admin, where="setup", count=False)
            feats = (a.json() or {}).get("features", []) if a else []
            if feats:
                fx["samples"].setdefault(coll, feats[0]["id"])
            names = set()
            for f in feats:
                for k, v in (f.get("properties") or {}).items():
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        names.add(k)
            fx["numeric_fields"][coll] = sorted(names)
        client = client_body()
        if not self.tokens.get("agent"):
            client["agent"] = "agent-01"
        a = self.send("POST", "/clients", body=dumps(client), token=self.owner(), where="setup", count=False)
        fx["client"] = (a.json() or {}).get("id") if a and a.status == 201 else None
        fx["agent_id"] = (a.json() or {}).get("agent") if a and a.status == 201 else "agent-01"
        fx["demand"] = self.create("demand") if fx["client"] else None
        fx["listing"] = self.create("listing")
        fx["district"] = "D1"
        if fx["listing"]:
            a = self.send("GET", "/collections/listings/items/" + fx["listing"], token=admin, count=False)
            d = ((a.json() or {}).get("properties") or {}).get("district") if a else None
            fx["district"] = d or "D1"
        fx["subscriptions"] = []
        if fx["demand"]:
            hour = time.gmtime().tm_hour
            for body in ({"email": "instant@example.test"},
                         {"email": "digest@example.test", "schedule": "daily", "digest_hour": hour},
                         {"webhook": self.peers.hook_url, "secret": SECRET}):
                a = self.send("POST", "/demands/%s/subscriptions" % fx["demand"], body=dumps(body), token=self.owner(),
                              where="setup", count=False)
                if a and a.status == 201:
                    fx["subscriptions"].append((a.json() or {}).get("id"))
        # Saved searches every nearby listing fits ("missing facts do not exclude"), so that the notifier matches and
        # sends each hostile listing, and the reverse match scores it: one with no criteria, one with minimums only.
        fx["open_demands"] = []
        for props in ({"radius_m": 3000}, {"radius_m": 3000, "area_min_m2": 10, "budget_min": 1, "bedrooms_min": 0}):
            if not fx["client"]:
                break
            body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [LON, LAT]}, "properties": props}
            a = self.send("POST", "/clients/%s/demands" % fx["client"], body=dumps(body), token=self.owner(),
                          where="setup", count=False)
            did = (a.json() or {}).get("id") if a and a.status == 201 else None
            if did:
                fx["open_demands"].append(did)
                for sub in ({"email": "open@example.test"}, {"webhook": self.peers.hook_url, "secret": SECRET}):
                    a = self.send("POST", "/demands/%s/subscriptions" % did, body=dumps(sub), token=self.owner(),
                                  where="setup", count=False)
                    if a is not None and a.status != 201 and "webhook" in sub:
                        self.warnings.append("a webhook to %s was refused (%d: %s): each stored listing then waits the "
                                             "whole --settle for the notifier (give the server --allow-webhook-network "
                                             "127.0.0.0/8)" % (self.peers.hook_url, a.status, a.detail()))
        a = self.send("POST", "/alerts/hooks", body=dumps({"url": self.peers.hook_url, "secret": SECRET, "level": "district"}),
                      token=self.token("planner"), where="setup", count=False)
        fx["hook"] = (a.json() or {}).get("id") if a and a.status == 201 else 1
        a = self.send("GET", "/collections/alerts/items", [("level", "district"), ("limit", "1")], token=admin, count=False)
        feats = (a.json() or {}).get("features", []) if a else []
        fx["alert"] = feats[0]["id"] if feats else "none"
        # The archive: parcels in force now, to change one per hostile change.
        a = self.send("GET", "/collections/archive-parcels/items", [("limit", "1000")], token=self.token("regulator"),
                      count=False)
        fx["parcels"], fx["archive_fid"] = [], "1"
        for f in ((a.json() or {}).get("features", []) if a else []):
            p = f.get("properties") or {}
            if p.get("superseded_at") is None and p.get("valid_to") is None and f.get("geometry"):
                xs, ys = [], []
                for poly in f["geometry"]["coordinates"]:
                    for x, y in poly[0]:
                        xs.append(x)
                        ys.append(y)
                fx["parcels"].append((p.get("parcel_id"), (min(xs), min(ys), max(xs), max(ys))))
                fx["archive_fid"] = str(f.get("id"))
        missing = [k for k in ("client", "demand", "listing") if not fx.get(k)]
        if missing:
            self.warnings.append("setup could not create: " + ", ".join(missing))
        if not fx["parcels"]:
            self.warnings.append("the archive holds no parcels: archive changes are refused before their numbers "
                                 "are read (register one with `rgis archive register` to walk them)")

    def create(self, kind):
        """A sane record of a kind, for PUT/PATCH/DELETE to work on. Returns its id."""
        if kind == "listing":
            a = self.send("POST", "/collections/listings/items", body=dumps(listing_body()), token=self.owner(), count=False)
        elif kind == "demand":
            a = self.send("POST", "/clients/%s/demands" % self.fx.get("client"), body=dumps(demand_body()),
                          token=self.owner(), count=False)
        elif kind == "client":
            body = client_body()
            if not self.tokens.get("agent"):
                body["agent"] = "agent-01"
            a = self.send("POST", "/clients", body=dumps(body), token=self.owner(), count=False)
        elif kind == "subscription":
            a = self.send("POST", "/demands/%s/subscriptions" % self.fx.get("demand"),
                          body=dumps({"email": "scratch@example.test", "schedule": "daily", "digest_hour": 8}),
                          token=self.owner(), count=False)
        elif kind == "hook":
            a = self.send("POST", "/alerts/hooks", body=dumps({"url": self.peers.hook_url, "secret": SECRET}),
                          token=self.token("planner"), count=False)
        else:
            return None
        if a is None or a.status // 100 != 2:
            return None
        return str((a.json() or {}).get("id"))

    def scratch(self, kind):
        if not self.scratch_ids.get(kind):
            self.scratch_ids[kind] = self.create(kind) or "missing-" + kind
        return self.scratch_ids[kind]

    def consume(self, kind):
        """The scratch record now holds a hostile value: it is kept (pending), the next request gets a new one."""
        return self.scratch_ids.pop(kind, None)

    # ---------------------------------------------------------------------------------------------- parameters

    SANE = {"lon": str(LON), "lat": str(LAT), "radius_m": "1500", "bbox": bbox_text(box(LON, LAT, 0.01)),
            "zoom": "14", "cell": "64", "limit": "10", "price_min": "100000", "price_max": "900000", "bedrooms": "2",
            "area_min": "30", "area_max": "200", "year_min": "1900", "year_max": "2030", "after": "1",
            "before": "100", "by": "household", "date": "2020-01-01", "level": "district", "token": "x",
            "within": "true", "layer": "listings", "as_of": "2026-11-30", "since": "2025-11-30", "from": "2025-01",
            "to": "2026-11", "district": "D1", "crs": "EPSG:3857", "bbox-crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            "known_at": "2026-01-01", "listed_since": "2020-01-01", "type": "apartment", "status": "active",
            "f": "json", "datetime": "2020-01-01/..", "cursor": cursor("f1")}

    def path_variants(self, op):
        names = re.findall(r"\{([^}]+)\}", op.path)
        specs = {p["name"]: p for p in op.params if p.get("in") == "path"}
        variants = [{}]
        for name in names:
            out = []
            for v in variants:
                for x in self.path_values(op, name, specs.get(name, {}).get("schema", {}), v):
                    out.append(dict(v, **{name: x}))
            variants = out
        return variants

    def path_values(self, op, name, schema, chosen):
        fx, write = self.fx, op.method in ("PUT", "PATCH", "DELETE")
        if name == "collectionId":
            return schema.get("enum") or ["listings", "parcels", "buildings", "districts"]
        if name == "featureId":
            if "archive-parcels" in op.path:
                return [fx.get("archive_fid", "1")]
            if "/alerts/" in op.path:
                return [fx.get("alert", "none")]
            if write:
                return [Scratch("listing")]
            if op.path.endswith("/events"):
                return [fx.get("listing") or fx["sample_listing"]]
            return [fx["samples"].get(chosen.get("collectionId"), "x")]
        if name == "tileMatrixSetId":
            return ["WebMercatorQuad"]
        z, y, x = tile_of(LON, LAT, 14)
        if name in ("tileMatrix", "tileRow", "tileCol"):
            return [str({"tileMatrix": z, "tileRow": y, "tileCol": x}[name])]
        if name == "clientId":
            return [Scratch("client")] if write else [fx.get("client") or "C0001"]
        if name == "demandId":
            return [Scratch("demand")] if write else [fx.get("demand") or "R00001"]
        if name == "listingId":
            return [fx.get("listing") or fx["sample_listing"]]
        if name == "subscriptionId":
            return [Scratch("subscription")]
        if name == "hookId":
            return [str(fx.get("hook", 1))]
        if name == "parcelId":
            return [fx["parcels"][0][0] if fx.get("parcels") else "760"]
        if name == "districtId":
            return [fx.get("district", "D1")]
        if name == "file":
            return ["marker-icon.png" if "images" in op.path else "leaflet.js"]
        return ["x"]

    def fill(self, op, values):
        path = op.path
        for k, v in values.items():
            if isinstance(v, Scratch):
                v = self.scratch(v.kind)
            path = path.replace("{%s}" % k, urllib.parse.quote(str(v), safe=""))
        return path

    def baseline_query(self, op):
        q = []
        for p in op.params:
            if p.get("in") == "query" and (p.get("required") or (op.path == "/search/radius" and p["name"] in ("lon", "lat", "radius_m"))):
                q.append((p["name"], self.SANE.get(p["name"], "1")))
        return q

    def param_attacks(self, op, pvals):
        """(where, value, path values, query) for every numeric parameter and every number inside a text one."""
        base_q = self.baseline_query(op)

        def q_with(**changes):
            q = [(k, v) for k, v in base_q if k not in changes]
            return q + list(changes.items())

        for p in op.params:
            name, where, schema = p["name"], p.get("in"), p.get("schema") or {}
            kind = schema.get("type")
            if where == "path" and (kind in ("integer", "number") or name in ("featureId", "clientId", "demandId",
                                                                               "listingId", "parcelId")):
                for v in self.q_extremes:
                    yield "path " + name, v, dict(pvals, **{name: v}), base_q
            elif where == "query" and kind in ("integer", "number"):
                for v in self.q_extremes:
                    yield "query " + name, v, pvals, q_with(**{name: v})
            elif where == "query" and name == "bbox":
                sane = [float(x) for x in self.SANE["bbox"].split(",")]
                for i in range(4):
                    for v in self.q_extremes:
                        b = ["%.6f" % x for x in sane]
                        b[i] = v
                        yield "query bbox[%d]" % i, v, pvals, q_with(bbox=",".join(b))
                for b in ("-1e300,-1e300,1e300,1e300", "1e300,1e300,-1e300,-1e300", "-180,-90,180,90",
                          "179.9,-90,-179.9,90", "9.04,48.02,9.04,48.02", "1e-320,1e-320,2e-320,2e-320"):
                    yield "query bbox", b, pvals, q_with(bbox=b)
            elif where == "query" and name in ("crs", "bbox-crs"):
                for v in INTISH:
                    yield "query " + name, "EPSG:" + v, pvals, q_with(**{name: "EPSG:" + v})
                yield "query " + name, "EPSG/0/1e300", pvals, q_with(**{name: "http://www.opengis.net/def/crs/EPSG/0/1e300"})
            elif where == "query" and name == "cursor":
                for v in INTISH:
                    yield "query cursor", "f" + v, pvals, q_with(cursor=cursor("f" + v))
                    yield "query cursor", "d<1.0>:" + v, pvals, q_with(cursor=cursor("d%d:%s" % (double_bits(1.0), v)))
                for d in (1e300, 1.7976931348623157e308, 5e-324, 0.0):
                    yield "query cursor", "d<%r>:1" % d, pvals, q_with(cursor=cursor("d%d:1" % double_bits(d)))
        names = {p["name"] for p in op.params if p.get("in") == "query"}
        for lo, hi in PAIRS:
            if lo in names and hi in names:
                for v in self.q_extremes:
                    yield "query %s+%s" % (lo, hi), v, pvals, q_with(**{lo: v, hi: v})
        if op.method == "GET" and op.path == "/collections/{collectionId}/items":
            for field in self.fx["numeric_fields"].get(pvals.get("collectionId"), []):
                for v in self.q_extremes:
                    yield "query %s (equality filter)" % field, v, pvals, q_with(**{field: v})

    # ---------------------------------------------------------------------------------------------------- bodies

    def examples(self, op):
        """(label, body) examples of an operation's body, as the README and the server tests write them."""
        fx = self.fx
        oid = op.id
        if oid in ("createListing", "replaceListing"):
            return [("listing", listing_body())]
        if oid == "updateListing":
            return [("patch", {"properties": listing_body()["properties"]}),
                    ("patch geometry", {"geometry": listing_body()["geometry"]})]
        if oid == "matchNewListing":
            return [("listing", listing_body(LON, LAT + 0.001))]
        if oid in ("createDemand", "replaceDemand"):
            return [("point+radius", demand_body()), ("polygon", demand_polygon_body())]
        if oid == "updateDemand":
            return [("patch", {"properties": {k: v for k, v in demand_body()["properties"].items()
                                              if k != "property_types"}}),
                    ("patch geometry", {"geometry": {"type": "Polygon", "coordinates": square(LON, LAT)}})]
        if oid in ("createClient", "replaceClient", "updateClient"):
            body = client_body()
            if not self.tokens.get("agent") and oid == "createClient":
                body["agent"] = "agent-01"
            return [("client", body)]
        if oid == "createSubscription":
            return [("email digest", {"email": "c@example.com", "schedule": "daily", "digest_hour": 7,
                                      "timezone": "Europe/Prague", "quiet_hours": "22:00-07:00"}),
                    ("webhook", {"webhook": self.peers.hook_url, "secret": SECRET})]
        if oid == "updateSubscription":
            return [("patch", {"active": True})]
        if oid == "createAlertHook":
            return [("hook", {"url": self.peers.hook_url, "secret": SECRET, "level": "district"})]
        if oid == "updateAlertHook":
            return [("patch", {"active": True})]
        if oid == "searchPolygon":
            return [("polygon", {"type": "Polygon", "coordinates": square(LON, LAT)}),
                    ("feature", {"type": "Feature", "properties": {},
                                 "geometry": {"type": "MultiPolygon", "coordinates": [square(LON, LAT)]}})]
        if oid == "recordArchiveEvent":
            return [("transfer", {"kind": "transfer", "parcel": "@parcel", "to": "HN-P", "share": "1/3",
                                  "date": "2017-01-01", "document": "HN-1"}),
                    ("split", {"kind": "split", "parcel": "@parcel", "line": "@line", "date": "2018-01-01"}),
                    ("correction", {"kind": "correction", "event": "@event", "to": "HN-Q"}),
                    ("correction geometry", {"kind": "correction", "parcel": "@parcel", "geometry": "@polygon"}),
                    ("new_building", {"kind": "new_building", "building": "@building", "parcel": "@parcel",
                                      "geometry": "@inner", "date": "2019-01-01"}),
                    ("merge", {"kind": "merge", "parcels": ["@parcel", "@parcel2"], "date": "2019-06-01",
                               "allow_disjoint": True})]
        if op.body_schema and op.body_schema.get("properties"):
            return [("from /api schema", {k: 1 for k, s in op.body_schema["properties"].items()
                                          if s.get("type") in ("number", "integer")})]
        return [("empty object", {})]

    def mutations(self, op, kind, body):
        """(where, value text, body) for every hostile version of an example body."""
        paths = list(leaves(body, "num"))
        known = [p for p in KNOWN_NUMERIC.get("listing" if kind == "match" else kind, []) if not has_path(body, p)]
        if kind in ("listing", "match"):
            known += [("properties", f) for f in self.fx["numeric_fields"].get("listings", [])
                      if not has_path(body, ("properties", f)) and ("properties", f) not in known]
        if op.body_schema:
            known += [p for p in schema_numeric_paths(op.body_schema) if not has_path(body, p) and p not in known
                      and p[:1] != ("geometry",)]
        if kind in ("listing", "demand", "match") and "properties" not in body:
            known = []          # a patch of the geometry alone
        for path in paths + known:
            added = " (added)" if path in known else ""
            for v in self.b_extremes:
                yield label(path) + added, v, with_value(body, path, Raw(v))
        props = body.get("properties") if isinstance(body.get("properties"), dict) else body
        for lo, hi in PAIRS:
            if lo in props or hi in props:
                for v in self.b_extremes:
                    both = copy.deepcopy(body)
                    target = both.get("properties") if isinstance(both.get("properties"), dict) else both
                    target[lo], target[hi] = Raw(v), Raw(v)
                    yield "%s+%s" % (lo, hi), v, both
        for path in leaves(body, "str"):
            if path[-1] in ("type", "kind") or str(path[-1]).startswith("@"):
                continue
            for v in CONFUSION:
                yield label(path) + " (text)", v, with_value(body, path, Raw(v))

    def archive_body(self, body):
        """Puts a fresh parcel (and what hangs on it) into an archive change; None when the archive has none."""
        parcels = [p for p in self.fx.get("parcels", []) if p[0] not in self.used_parcels]
        if len(parcels) < 2:
            return None
        (pid, (x0, y0, x1, y1)), (pid2, _) = parcels[0], parcels[1]
        self.used_parcels.add(pid)
        text = dumps(body)
        if '"@event"' in text or '"@parcel"' in text and '"share"' in text:
            # An existing right (1/3) on the parcel, so that a hostile share is added to one.
            a = self.send("POST", "/archive/events", body=dumps({"kind": "transfer", "parcel": pid, "to": "HN-0",
                                                                 "share": "1/3", "date": "2016-01-01"}),
                          token=self.token("regulator"), count=False)
            event = (a.json() or {}).get("event", 1) if a else 1
            text = text.replace('"@event"', str(event))
        if '"@parcel2"' in text:
            self.used_parcels.add(pid2)
        self.archive_n += 1
        mx, my, dx, dy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 4, (y1 - y0) / 4
        line = {"type": "LineString", "coordinates": [[mx, y0 - 0.0005], [mx, y1 + 0.0005]]}
        poly = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}
        inner = {"type": "Polygon", "coordinates": [[[mx - dx, my - dy], [mx + dx, my - dy], [mx + dx, my + dy],
                                                     [mx - dx, my + dy], [mx - dx, my - dy]]]}
        for k, v in (("@line", line), ("@polygon", poly), ("@inner", inner)):
            text = text.replace(json.dumps(k), json.dumps(v))
        return (text.replace('"@parcel"', json.dumps(pid)).replace('"@parcel2"', json.dumps(pid2))
                .replace('"@building"', json.dumps("HNB-%d" % self.archive_n)))

    def archive_mutations(self, label_, body):
        """The share fraction carries numbers inside text; the geometry members are filled in at send time, so
        their coordinates are attacked here by position."""
        if label_ == "transfer":
            for v in INTISH:
                for s in ("1/" + v, v + "/" + v, v, v + "/1"):
                    yield "share", s, with_value(body, ("share",), s)
            for s in ("4611686018427387904/9223372036854775807", "1/3037000500", "3037000499/3037000500",
                      "1/9223372036854775807"):
                yield "share", s, with_value(body, ("share",), s)
        geometry = {"split": "line", "correction geometry": "geometry", "new_building": "geometry"}.get(label_)
        if geometry:
            n = 2 if label_ == "split" else 5
            for i in range(n):
                for j in (0, 1):
                    for v in self.b_extremes:
                        yield "%s.coordinates[%d][%d]" % (geometry, i, j), v, ("geometry", geometry, i, j, v)
        for path in leaves(body, "num"):
            for v in self.b_extremes:
                yield label(path), v, with_value(body, path, Raw(v))
        if label_ == "correction":
            for v in self.b_extremes:
                yield "event", v, with_value(body, ("event",), Raw(v))

    # -------------------------------------------------------------------------------------------- the read-backs

    def readbacks(self, kind, rid):
        """Requests that use a stored hostile value: (method, path, query, body, token)."""
        fx, admin, agent, planner = self.fx, self.tokens["admin"], self.owner(), self.token("planner")
        reads = []
        common = [("GET", "/indicators", [("level", "district")], None, admin),
                  ("GET", "/indicators", [("level", "subdistrict"), ("f", "csv")], None, admin),
                  ("GET", "/indicators", [("level", "city"), ("f", "fgb")], None, admin),
                  ("GET", "/indicators/series", [("level", "district")], None, admin),
                  ("GET", "/indicators/series", [("level", "subdistrict"), ("f", "csv")], None, admin),
                  ("GET", "/collections/alerts/items", [("level", "district")], None, admin),
                  ("GET", "/alerts.atom", None, None, admin)]
        if kind == "listing":
            lon, lat = self.listing_point(rid)
            b = bbox_text(box(lon, lat))
            reads += [("GET", "/collections/listings/items/" + rid, None, None, admin),
                      ("GET", "/collections/listings/items/" + rid, [("f", "html")], None, admin),
                      ("GET", "/collections/listings/items/" + rid, [("crs", "EPSG:3857")], None, None),
                      ("GET", "/collections/listings/items/%s/events" % rid, None, None, admin),
                      ("GET", "/collections/listings/items", [("bbox", b), ("limit", "1000")], None, admin),
                      ("GET", "/collections/listings/items", [("bbox", b), ("f", "html")], None, admin),
                      ("GET", "/collections/listings/items", [("bbox", b), ("f", "csv")], None, admin),
                      ("GET", "/collections/listings/items", [("bbox", b), ("f", "fgb")], None, admin),
                      ("GET", "/search/radius", [("lon", lon), ("lat", lat), ("radius_m", "1000"), ("limit", "1000")], None, admin),
                      ("GET", "/search/clusters", [("bbox", b), ("zoom", "12")], None, admin),
                      ("GET", "/search/clusters", [("bbox", b), ("zoom", "17")], None, admin),
                      ("POST", "/search/polygon", [("limit", "1000")],
                       dumps({"type": "Polygon", "coordinates": square(lon, lat)}), admin),
                      ("GET", "/match/listings/%s/demands" % rid, None, None, agent),
                      ("GET", "/match/listings/%s/demands" % rid, None, None, admin)]
            for z in (8, 12, 14, 16, 18):
                reads.append(("GET", "/collections/listings/tiles/WebMercatorQuad/%d/%d/%d" % tile_of(lon, lat, z),
                              None, None, admin))
            for d in self.listing_districts(rid):
                reads.append(("GET", "/districts/%s/listings" % d, [("limit", "10000")], None, admin))
            if fx.get("demand"):
                reads.append(("GET", "/match/demands/%s/listings" % fx["demand"], [("limit", "10000")], None, agent))
            reads += common + [("GET", "/notifications", None, None, agent), ("GET", "/map", None, None, None)]
        elif kind == "demand":
            reads += [("GET", "/demands/" + rid, None, None, agent),
                      ("GET", "/demands/%s/events" % rid, None, None, agent),
                      ("GET", "/clients/%s/demands" % fx.get("client"), None, None, agent),
                      ("GET", "/match/demands/%s/listings" % rid, [("limit", "10000")], None, agent),
                      ("GET", "/match/demands/%s/listings" % rid, None, None, admin),
                      ("POST", "/match/listing", [("limit", "1000")], dumps(listing_body(LON, LAT + 0.001)), agent),
                      ("POST", "/match/listing", None, dumps(listing_body(*LISTING_AT)), admin),
                      ("POST", "/demands/%s/subscriptions" % rid, None,
                       dumps({"email": "hostile@example.test", "backfill": True, "price_updates": True}), agent),
                      ("GET", "/demands/%s/subscriptions" % rid, None, None, agent),
                      ("GET", "/indicators/segments", [("by", "household"), ("level", "district")], None, planner)]
            if fx.get("listing"):
                reads += [("GET", "/match/listings/%s/demands" % fx["listing"], None, None, agent),
                          ("GET", "/match/listings/%s/demands" % fx["listing"], None, None, admin)]
            reads += common
        elif kind == "client":
            reads += [("GET", "/clients/" + rid, None, None, agent), ("GET", "/clients", [("limit", "1000")], None, agent),
                      ("GET", "/clients/%s/ledger" % rid, None, None, agent),
                      ("GET", "/clients/%s/demands" % rid, None, None, agent),
                      ("GET", "/indicators/segments", [("by", "age_band")], None, planner),
                      ("GET", "/indicators/segments", [("by", "income_band"), ("f", "csv")], None, planner)]
        elif kind == "subscription":
            reads += [("GET", "/subscriptions", None, None, agent), ("GET", "/notifications", None, None, agent),
                      ("GET", "/webhooks", None, None, agent)]
            if fx.get("demand"):
                reads.append(("GET", "/demands/%s/subscriptions" % fx["demand"], None, None, agent))
            if fx.get("client"):
                reads.append(("GET", "/clients/%s/ledger" % fx["client"], None, None, agent))
        elif kind == "hook":
            reads += [("GET", "/alerts/hooks", None, None, planner)]
        elif kind == "archive" and rid:
            reg = self.token("regulator")
            reads += [("GET", "/archive/parcels/%s/lineage" % rid, None, None, reg),
                      ("GET", "/archive/parcels/%s/lineage" % rid, [("f", "geojson")], None, reg),
                      ("GET", "/archive/parcels/%s/rights" % rid, [("date", "2020-01-01")], None, reg),
                      ("GET", "/collections/archive-parcels/items", [("limit", "1000")], None, reg),
                      ("GET", "/collections/archive-parcels/items", [("datetime", "2018-06-01"), ("limit", "1000")], None, reg),
                      ("POST", "/archive/events", None, dumps({"kind": "transfer", "parcel": rid, "to": "HN-R",
                                                               "share": "1/7", "date": "2021-01-01"}), reg)]
        keyed = []
        names = {rid: "{id}", fx.get("demand"): "{demandId}", fx.get("client"): "{clientId}",
                 fx.get("listing"): "{listingId}"}
        for method, path, query, body, token in reads:
            template = "/".join(names.get(part, part) if part else part for part in path.split("/"))
            if kind == "listing" and "/tiles/" in path:
                template = re.sub(r"/\d+/\d+/\d+$", "/{z}/{y}/{x}", template) + " z=" + path.split("/")[-3]
            keyed.append((method, path, query, body, token, (method, template, encode_query(query))))
        return keyed

    def listing_point(self, rid):
        a = self.send("GET", "/collections/listings/items/" + rid, token=self.tokens["admin"], count=False, quiet=True)
        try:
            lon, lat = (a.json() or {})["geometry"]["coordinates"][:2]
            if -180 <= lon <= 180 and -85 <= lat <= 85:
                self._districts = ((a.json() or {}).get("properties") or {}).get("district")
                return lon, lat
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
        self._districts = None
        return LISTING_AT

    def listing_districts(self, rid):
        d = getattr(self, "_districts", None)
        out = [d] if isinstance(d, str) else []
        if out and "-" in d:
            out.append(d.split("-")[0])
        return out or [self.fx.get("district", "D1")]

    def read_back(self, kind, item):
        """Runs the read-backs of a stored hostile record. When one kills the server, the record is written again
        (on the restarted server) and the others still run. A read-back that already killed the server for another
        value of this member is asked again only once (the first of them), to tell whether this value kills it too.
        A record that killed the server is removed at the end, so that it does not spoil later read-backs."""
        member = "%s %s" % (item["template"], item["where"])
        crashed = self.crashed_reads.setdefault(member, [])
        done, retried, died = set(), False, False
        where = "read-back after %s %s %s" % (item["method"], item["template"], item["where"])
        while item.get("id"):
            todo = []
            for r in self.readbacks(kind, str(item["id"])):
                endpoint = r[5][:2]
                if r[5] in done:
                    continue
                if endpoint in crashed:
                    if retried or endpoint != crashed[0]:
                        continue
                todo.append(r)
            if not todo:
                break
            for method, path, query, body, token, key in todo:
                done.add(key)
                if key[:2] in crashed:
                    retried = True
                restarts = self.restarts
                self.send(method, path, query, body, token, where=where, value=item["value"], template=key[1])
                if self.restarts != restarts:
                    died = True
                    if self.died_in_background:
                        self.blame_background(item)
                        return
                    if key[:2] not in crashed:
                        crashed.append(key[:2])
                    if kind == "archive":
                        return
                    a = self.replay(item)          # the record went with the process (or was cleaned up)
                    if a is None or a.status // 100 != 2:
                        return
                    item["id"] = self.created_id(a, item)
                    if item not in self.pending:
                        self.pending.append(item)
                    break
            else:
                break
        item["killed"] = died

    # -------------------------------------------------------------------------------------------------- state

    KIND = {"createListing": "listing", "replaceListing": "listing", "updateListing": "listing",
            "createDemand": "demand", "replaceDemand": "demand", "updateDemand": "demand",
            "createClient": "client", "replaceClient": "client", "updateClient": "client",
            "createSubscription": "subscription", "updateSubscription": "subscription",
            "createAlertHook": "hook", "updateAlertHook": "hook", "recordArchiveEvent": "archive",
            "matchNewListing": "match"}

    def blame_background(self, item):
        """The server died in a background task while a read-back ran: the stored record is to blame."""
        f = self.failures[-1]
        f["read_in_flight"] = f["request"]
        f["method"], f["path"] = item["method"], item["template"]
        f["where"] = item["where"] + " (stored, then the server died in %s)" % self.died_in_background
        f["symptom"] = re.sub(r", while this request was in flight", "", f["symptom"])
        if item in self.pending:
            self.pending.remove(item)
        self.cleanup(item)

    def wait_notifier(self, item):
        """A stored hostile listing: wait until the notifier has sent it to the open saved searches (their webhook
        names it), so that a crash composing its messages is the listing's, then check the process."""
        deadline = time.time() + self.args.settle
        while time.time() < deadline and not self.peers.delivered(str(item["id"]), item["hooks_before"]):
            if not self.server.alive():
                break
            time.sleep(0.1)
        time.sleep(0.3)
        if not self.server.alive() or (not self.server.healthy() and self.server.wait_dead(self.args.death_wait)):
            how = self.server.death()
            self.fail(item["method"], item["template"], item["where"] + " (stored, then the server died in %s)" % (
                self.server.background or "a background task"), item["value"], "server died in the background: " + how,
                "(no request in flight)", None)
            if item in self.pending:
                self.pending.remove(item)
            self.recover()
            return False
        return True

    def cleanup(self, item):
        kind, rid = item["kind"], item["id"]
        if not rid:
            return
        owner = self.owner()
        if kind == "listing":
            self.send("DELETE", "/collections/listings/items/" + rid, token=owner, count=False)
        elif kind == "demand":
            self.send("DELETE", "/demands/" + rid, token=owner, count=False)
        elif kind == "client":
            self.send("DELETE", "/clients/" + rid, token=owner, count=False)
        elif kind == "subscription":
            self.send("PATCH", "/subscriptions/" + rid, body='{"active":false}', token=owner, count=False)
        elif kind == "hook":
            self.send("PATCH", "/alerts/hooks/" + rid, body='{"active":false}', token=self.token("planner"), count=False)

    def settle(self, op):
        """The notifier's turn: kept hostile records stay while it matches and sends; then they go."""
        if not self.pending:
            return
        items, self.pending = self.pending, []
        background = [i for i in items if i["kind"] in ("listing", "demand", "subscription")]
        trigger = None
        if background and self.args.settle > 0:
            if any(i["kind"] in ("demand", "subscription") for i in background):
                trigger = self.create("listing")      # a new listing that fits the kept searches
            time.sleep(self.args.settle)
            if not self.server.alive():
                self.fail(op.method, op.path, "background (notifier) after %d kept hostile record(s)" % len(background),
                          ", ".join("%s=%s" % (i["where"], i["value"]) for i in background[:12]),
                          "server died: " + self.server.death(), "(no request in flight)", None)
                self.recover()
                if self.args.bisect:
                    self.bisect(op, background)
                return
        for i in items + ([{"kind": "listing", "id": trigger}] if trigger else []):
            self.cleanup(i)

    def bisect(self, op, items):
        """Replays each kept hostile write alone, with the notifier's turn after it, to name the one that kills."""
        print("     replaying %d kept hostile write(s) one by one to find the one the notifier dies of" % len(items),
              flush=True)
        for item in items:
            a = self.replay(item)
            if a is None or a.status // 100 != 2:
                continue
            rid = self.created_id(a, item)
            if item["kind"] == "demand":
                self.send("POST", "/demands/%s/subscriptions" % rid, body=dumps({"email": "hostile@example.test"}),
                          token=self.owner(), count=False)
            trigger = self.create("listing") if item["kind"] in ("demand", "subscription") else None
            time.sleep(self.args.settle)
            if not self.server.alive():
                self.fail(item["method"], item["template"], item["where"] + " (then the notifier)", item["value"],
                          "server died in the background: " + self.server.death(), "(replayed alone)", None)
                self.recover()
                continue
            self.cleanup({"kind": item["kind"], "id": rid})
            if trigger:
                self.cleanup({"kind": "listing", "id": trigger})

    def replay(self, item):
        path = item["path_template"]
        for kind in ("listing", "demand", "client", "subscription"):
            path = path.replace("{scratch:%s}" % kind, self.scratch(kind))
        path = path.replace("{fixture:demand}", str(self.fx.get("demand"))).replace("{fixture:client}", str(self.fx.get("client")))
        item["hooks_before"] = self.peers.hooks.count
        a = self.send(item["method"], path, item["query"], item["body"], item["token"], where=item["where"],
                      value=item["value"], template=item["template"], context="replayed alone")
        if a is not None and a.status // 100 == 2 and item["scratch"]:
            self.consume(item["scratch"])
        return a

    def created_id(self, answer, item):
        j = answer.json()
        if isinstance(j, dict) and j.get("id") is not None:
            return str(j["id"])
        loc = answer.headers.get("location", "")
        return loc.rstrip("/").rsplit("/", 1)[-1] if loc else item.get("target_id")

    # ---------------------------------------------------------------------------------------------- operations

    def walk(self, ops):
        for op in ops:
            self.current_op = op.name()
            self.walked.append(op.name())
            n0, f0 = self.requests, len(self.failures)
            try:
                self.walk_op(op)
                self.settle(op)
            except Gone:
                raise
            st = self.op_statuses[op.name()]
            print("  %-72s %5d requests  %s%s" % (op.name(), self.requests - n0,
                                                  " ".join("%s×%d" % (k, v) for k, v in sorted(st.items(), key=str)),
                                                  "  FAILURES %d" % (len(self.failures) - f0) if len(self.failures) > f0 else ""),
                  flush=True)

    def walk_op(self, op):
        token = self.token_for(op)
        kind = self.KIND.get(op.id)
        for pvals in self.path_variants(op):
            body = None
            if op.has_body:
                ex = self.examples(op)[0][1]
                body = self.archive_body(ex) if op.id == "recordArchiveEvent" else dumps(ex)
                if body is None:
                    body = dumps({"kind": "merge", "parcels": ["none-1", "none-2"], "date": "2019-01-01"})
            # The baseline: everything sane. A DELETE takes its scratch record with it.
            path = self.fill(op, pvals)
            a = self.send(op.method, path, self.baseline_query(op), body, token, where="baseline", value="-", template=op.path)
            if a is not None and a.status // 100 == 2:
                if op.method == "DELETE" or (op.method in ("PUT", "PATCH") and kind in ("listing", "demand", "client")):
                    for v in pvals.values():
                        if isinstance(v, Scratch):
                            self.consume(v.kind)
                elif op.method == "POST" and kind in ("listing", "demand", "client", "subscription", "hook"):
                    self.cleanup({"kind": kind, "id": self.created_id(a, {})})
            elif a is not None and a.status not in (204, 304):
                self.warnings.append("baseline %s %s answered %d: %s" % (op.method, path, a.status, a.detail()))
            for where, value, pv, query in self.param_attacks(op, pvals):
                body = None
                if op.has_body:
                    ex = self.examples(op)[0][1]
                    body = self.archive_body(ex) if op.id == "recordArchiveEvent" else dumps(ex)
                a = self.send(op.method, self.fill(op, pv), query, body, token, where=where, value=value, template=op.path)
                if a is not None and a.status // 100 == 2 and op.method in ("DELETE", "PUT", "PATCH"):
                    for v in pv.values():
                        if isinstance(v, Scratch):
                            self.consume(v.kind)
                if a is not None and a.status // 100 == 2 and op.method == "POST" and kind in ("listing", "demand", "client", "subscription", "hook"):
                    self.cleanup({"kind": kind, "id": self.created_id(a, {})})
            if op.has_body:
                self.walk_bodies(op, pvals, token, kind)

    def walk_bodies(self, op, pvals, token, kind):
        for ex_label, example in self.examples(op):
            if op.id == "recordArchiveEvent":
                muts = self.archive_mutations(ex_label, example)
            else:
                muts = self.mutations(op, kind, example)
            for where, value, body in muts:
                if op.id == "recordArchiveEvent":
                    if isinstance(body, tuple):               # a coordinate of a geometry filled in at send time
                        _, member, i, j, v = body
                        text = self.archive_body(example)
                        if text is None:
                            break
                        obj = json.loads(text)
                        coords = obj[member]["coordinates"]
                        point = coords[i] if member == "line" else coords[0][i]
                        point[j] = Raw(v)
                        text = dumps(obj)
                    else:
                        text = self.archive_body(body)
                        if text is None:
                            break
                else:
                    text = dumps(body)
                self.hostile_write(op, pvals, token, kind, "body %s: %s" % (ex_label, where), value, text)

    def hostile_write(self, op, pvals, token, kind, where, value, text):
        scratch_kind = next((v.kind for v in pvals.values() if isinstance(v, Scratch)), None)
        path = self.fill(op, pvals)
        target_id = self.scratch_ids.get(scratch_kind) if scratch_kind else None
        hooks_before = self.peers.hooks.count
        a = self.send(op.method, path, None, text, token, where=where, value=value, template=op.path)
        if a is None or a.status // 100 != 2:
            return
        origin = "%s %s %s = %s" % (op.method, op.path, where, value)
        if kind in (None, "match") or op.id == "searchPolygon":
            return
        self.last_hostile = origin
        if scratch_kind:
            rid = self.consume(scratch_kind)
        elif kind == "archive":
            j = json.loads(text)
            rid = j.get("parcel") or (j.get("parcels") or [None])[0]
        else:
            rid = self.created_id(a, {})
        template = op.path
        for k, v in pvals.items():
            template = template.replace("{%s}" % k, "{scratch:%s}" % v.kind if isinstance(v, Scratch)
                                        else "{fixture:demand}" if k == "demandId" else
                                        "{fixture:client}" if k == "clientId" else str(v))
        item = {"kind": kind, "id": rid if kind != "archive" else None, "where": where, "value": value,
                "method": op.method, "template": op.path, "path_template": template, "query": None, "body": text,
                "token": token, "scratch": scratch_kind, "target_id": target_id, "hooks_before": hooks_before}
        self.pending.append(item)
        if rid:
            self.died_in_background = None
            self.read_back(kind, item)
            if kind == "listing" and item in self.pending and self.args.settle > 0:
                self.wait_notifier(item)
            if item.get("killed") and item in self.pending:
                # It killed the server: removed now, so that it does not spoil the read-backs of the next ones.
                self.pending.remove(item)
                self.cleanup(item)


# ------------------------------------------------------------------------------------------------------------- main

def load_api(server, token):
    a = http_call(server.url, "GET", "/api?f=json", token=token, timeout=60)
    if a.status != 200:
        raise Gone("/api answered %d" % a.status)
    doc = a.json()
    if not isinstance(doc, dict) or "paths" not in doc:
        raise Gone("/api is not an OpenAPI JSON document")
    ops = []
    for path, item in doc["paths"].items():
        shared = item.get("parameters", [])
        for method, spec in item.items():
            if method.lower() not in ("get", "put", "post", "patch", "delete", "options", "head"):
                continue
            spec = dict(spec)
            spec["parameters"] = shared + spec.get("parameters", [])
            ops.append(Op(path, method, spec))
    return doc, ops


def report_api_gaps(doc, ops):
    """What /api does not say that this walk had to find elsewhere."""
    gaps = []
    for op in ops:
        if not op.has_body:
            continue
        sch = op.body_schema or {}
        props = sch.get("properties") or {}
        if not props:
            gaps.append("%s: the body schema is only {type: object}" % op.name())
        inner = (props.get("properties") or {})
        if "additionalProperties" in inner and not inner.get("properties"):
            gaps.append("%s: Feature properties are free-form (list_price, bedrooms... undeclared, no ranges)" % op.name())
        coords = ((props.get("geometry") or {}).get("properties") or {}).get("coordinates") or {}
        if (coords.get("items") or {}).get("maximum") == 90:
            gaps.append("%s: both coordinates limited to -90..90 (longitude is -180..180)" % op.name())
        if props and list(props) == ["kind"]:
            gaps.append("%s: only `kind` is declared (parcel, share, event, line, geometry, date... are not)" % op.name())
        if props and list(props) == ["type"]:
            gaps.append("%s: only `type` is declared (no coordinates)" % op.name())
    if not any("example" in json.dumps(op.spec.get("requestBody", {})) for op in ops):
        gaps.append("no request body has an example or examples")
    if any(op.roles for op in ops):
        gaps.append("roles appear only in descriptions (\"Needs a token of role ...\"), ownership of records nowhere")
    items = next((op for op in ops if op.method == "GET" and op.path == "/collections/{collectionId}/items"), None)
    if items:
        gaps.append("GET /collections/{collectionId}/items: the equality filters on fields are not declared")
    unbounded = collections.OrderedDict()
    for op in ops:
        for p in op.params:
            sch = p.get("schema") or {}
            if p.get("in") in ("query", "path") and sch.get("type") in ("integer", "number") and "maximum" not in sch:
                unbounded.setdefault(p["name"], set()).add(op.name())
    if unbounded:
        gaps.append("numeric parameters without a maximum: " + ", ".join(
            "%s (%d operation%s)" % (n, len(o), "s" if len(o) > 1 else "") for n, o in unbounded.items()))
    return gaps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the top of this file for what is sent and what counts as a failure.")
    ap.add_argument("--url", help="the server, http://127.0.0.1:PORT (not needed with --serve)")
    ap.add_argument("--token", required=True, help="an admin's token")
    ap.add_argument("--agent-token", help="an agent's token (agent-owned records are made and used as that agent)")
    ap.add_argument("--planner-token")
    ap.add_argument("--regulator-token")
    ap.add_argument("--pid", type=int, help="the server's process id, checked after every request")
    ap.add_argument("--server-log", help="the server's standard error as a file, to quote its fatal errors")
    ap.add_argument("--serve", help="command that starts the server and prints its URL (rgis serve ... --port 0); "
                                    "{db} and {smtp} are filled in. The script starts it, restarts it after a crash "
                                    "and stops it at the end")
    ap.add_argument("--db-template", help="with --serve: each start serves a fresh copy of this database as {db}")
    ap.add_argument("--db", help="with --serve: the database {db} stands for when there is no template")
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds the notifier gets after an operation's accepted hostile writes (0: skip)")
    ap.add_argument("--no-bisect", dest="bisect", action="store_false",
                    help="do not replay kept writes one by one after a background crash")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds a request may take")
    ap.add_argument("--death-wait", type=float, default=60.0,
                    help="seconds to wait for a process that stopped answering to exit (a Swift backtrace takes a while)")
    ap.add_argument("--start-timeout", type=float, default=120.0)
    ap.add_argument("--max-restarts", type=int, default=300)
    ap.add_argument("--only", help="walk only operations whose 'METHOD /path' or operationId contains this text")
    ap.add_argument("--quick", action="store_true", help="fewer values per member (8 numbers, 2 strings)")
    ap.add_argument("--json-report", help="write the failures and counts to this file as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory of --serve (logs, databases)")
    args = ap.parse_args()
    if not args.url and not args.serve:
        ap.error("give --url (a running server) or --serve (a command that starts one)")
    if args.db_template and not os.path.exists(args.db_template):
        ap.error("no such file: " + args.db_template)

    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    peers = Peers()
    server = Server(args, peers)
    walker = Walker(args, server, peers)
    started = time.time()
    aborted = None
    walking = False
    try:
        if args.serve:
            server.start()
            print("started %s (pid %d, log %s)" % (server.url, server.pid, server.log_path), flush=True)
        elif not server.alive():
            raise Gone("the server is not running")
        doc, ops = load_api(server, args.token)
        if args.only:
            ops = [o for o in ops if args.only in o.name() or args.only == o.id]
        print("walking %d operations of %s" % (len(ops), server.url), flush=True)
        walker.setup()
        walking = True
        walker.walk(ops)
    except Gone as e:
        aborted = str(e)
    except KeyboardInterrupt:
        aborted = "interrupted"
    finally:
        server.stop()
        peers.close()

    gaps = report_api_gaps(doc, ops) if "doc" in locals() else []
    print()
    print("operations walked: %d%s" % (len(walker.walked), "" if "ops" not in locals() else " of %d" % len(ops)))
    print("requests sent:     %d (plus set-up and clean-up), in %.0f s" % (walker.requests, time.time() - started))
    print("statuses seen:     " + "  ".join("%s×%d" % (k, v) for k, v in sorted(walker.statuses.items(), key=str)))
    print("server restarts:   %d; webhooks received %d, e-mails received %d" % (walker.restarts, peers.hooks.count,
                                                                             peers.smtp.count))
    if walker.warnings:
        shown = collections.Counter(w if not w.startswith("503") else "503 (deadline) asked again" for w in walker.warnings)
        print("notes:")
        for w, n in shown.items():
            print("  - %s%s" % (w, " (×%d)" % n if n > 1 else ""))
    if aborted:
        print("WALK STOPPED: " + aborted)
    print("failures:          %d" % len(walker.failures))
    groups = collections.OrderedDict()
    for f in walker.failures:
        key = (f["method"], f["path"], f["where"], re.sub(r"\(restart.*", "", f["symptom"]), f["context"] or "")
        groups.setdefault(key, []).append(str(f["value"]))
    for (method, path, where, symptom, context), values in groups.items():
        print("  %s %s  %s = %s\n      -> %s%s" % (method, path, where, ", ".join(dict.fromkeys(values)), symptom,
                                                   "\n      (%s)" % context if context else ""))
    if gaps:
        print("/api lacks (the walk found these elsewhere):")
        for g in gaps:
            print("  - " + g)
    if args.json_report:
        with open(args.json_report, "w") as f:
            json.dump({"operations": walker.walked, "requests": walker.requests,
                       "statuses": {str(k): v for k, v in walker.statuses.items()}, "restarts": walker.restarts,
                       "failures": walker.failures, "warnings": walker.warnings, "aborted": aborted,
                       "api_gaps": gaps}, f, indent=1)
    if aborted and not walking:
        return 2
    return 1 if walker.failures or aborted else 0


if __name__ == "__main__":
    sys.exit(main())
