#!/usr/bin/python3
"""Stall test for `rgis serve`: do cheap requests stay fast while heavy queries saturate the server?

    stall.py --url http://127.0.0.1:PORT [--heavy-path '/indicators?level=subdistrict&as_of={day}']
             [--concurrency 8] [--duration 20] [--json]
    stall.py --url http://127.0.0.1:PORT --deadline [--heavy-path ...] [--json]

Without --deadline it
  1. measures the baseline: 200 sequential requests each to /health and to
     /collections/listings/items?limit=100 on an idle server (p50 / p99 in ms);
  2. runs --concurrency threads that issue the heavy request back to back for --duration seconds,
     while one probe thread asks /health and the items page alternately, one request every ~20 ms,
     and records every latency and status; heavy responses are counted by status (200, 503, other,
     plus socket errors);
  3. prints {"baseline": {probe: {p50_ms, p99_ms, ...}}, "under_load": {probe: {p50_ms, p99_ms,
     max_ms, requests, failures, ...}}, "probe_requests", "heavy": {"200", "503", "other", "errors",
     "completed", ...}, "ok", ...}.
     `ok` = under load, the p99 of both probes is below 50 ms and every probe answered 200.

--deadline (for a server started with a short --request-timeout, e.g. 0.2) sends one heavy request
and checks that it gets 503 with a Retry-After header and a problem+json body with "status": 503,
then that /health answers 200 right after. If the single request finishes inside the deadline (a
fast build on a small database), it sends --concurrency heavy requests at once instead: they queue
for the heavy slots (start the server with --heavy-slots 1), and the ones still waiting when their
deadline passes must get that 503.

As a module:  stall.stall(base_url, heavy_url, concurrency=8, duration_s=20) -> dict
              stall.deadline(base_url, heavy_path) -> dict

Only 127.0.0.1 is targeted (a URL naming another host is refused); every loop ends by itself after
the duration plus at most one client timeout. Standard library only (threads and http.client, one
keep-alive connection per thread). The heavy endpoints under /match/... need --api-key; a POST
(e.g. /search/polygon) takes --heavy-method POST and --heavy-body (a JSON string, or @file).
"""
import argparse
import http.client
import json
import math
import sys
import datetime
import itertools
import threading
import time
import urllib.parse

# A different day on each request ({day}): the server keeps figures per market version and day, and a
# load test of the heavy path must make it compute them.
DEFAULT_HEAVY = "/indicators?level=subdistrict&as_of={day}"
_days = itertools.count()
_days_lock = threading.Lock()


def _fresh(path):
    """The path with {day} replaced by the next of 3,650 days from 2017-01-01."""
    if "{day}" not in path:
        return path
    with _days_lock:
        n = next(_days) % 3650
    return path.replace("{day}", (datetime.date(2017, 1, 1) + datetime.timedelta(days=n)).isoformat())
PROBES = (("health", "/health"), ("items", "/collections/listings/items?limit=100"))
LIMIT_MS = 50.0
BASELINE_REQUESTS = 200
PROBE_INTERVAL_S = 0.02
PROBE_TIMEOUT_S = 10.0
HEAVY_TIMEOUT_S = 60.0
_LOCAL = ("127.0.0.1", "localhost")


def _port(base_url):
    """The port of a http://127.0.0.1:PORT URL; anything not on 127.0.0.1 is refused."""
    u = urllib.parse.urlsplit(base_url)
    if u.scheme != "http" or u.hostname not in _LOCAL:
        raise ValueError(f"only http://127.0.0.1 is targeted, not {base_url!r}")
    return u.port or 80


def _path(base_url, url):
    """A path (with query) for `url`, given as a path or as a full URL on the same server."""
    if url.startswith("/"):
        return url
    u = urllib.parse.urlsplit(url)
    if _port(url) != _port(base_url):
        raise ValueError(f"{url!r} is not on the server {base_url!r}")
    return (u.path or "/") + (f"?{u.query}" if u.query else "")


class Client:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1:port, reopened after an error."""

    def __init__(self, port, timeout):
        self.port, self.timeout, self.conn = port, timeout, None

    def request(self, path, method="GET", body=None, headers=None):
        """Returns (status, headers as a dict with lower-case names, body, seconds); raises OSError or
        http.client.HTTPException after closing the connection, so that the next call reconnects."""
        hdrs = {"Accept": "application/geo+json, application/json"}
        hdrs.update(headers or {})
        if body is not None:
            hdrs.setdefault("Content-Type", "application/json")
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        t = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=hdrs)
            r = self.conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        elapsed = time.perf_counter() - t
        if r.will_close:
            self.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data, elapsed

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _q(values, q):
    """Nearest-rank percentile (q in 0..1) of a list; None when empty."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(q * len(s)) - 1))]


def _summary(samples):
    """samples: list of (ms, status or None for a socket error)."""
    ms = [m for m, _ in samples]
    statuses = {}
    for _, st in samples:
        key = "error" if st is None else str(st)
        statuses[key] = statuses.get(key, 0) + 1
    return {"requests": len(samples), "p50_ms": _q(ms, 0.50), "p99_ms": _q(ms, 0.99),
            "max_ms": max(ms) if ms else None, "mean_ms": sum(ms) / len(ms) if ms else None,
            "failures": sum(1 for _, st in samples if st != 200), "statuses": statuses}


def _timed(client, path, **kw):
    """(ms, status); a socket error gives (ms until it, None)."""
    t = time.perf_counter()
    try:
        status, _, _, seconds = client.request(path, **kw)
        return seconds * 1e3, status
    except (OSError, http.client.HTTPException):
        return (time.perf_counter() - t) * 1e3, None


def baseline(base_url, requests=BASELINE_REQUESTS, warmup=5):
    """Sequential latency of each probe on an otherwise idle server."""
    client = Client(_port(base_url), PROBE_TIMEOUT_S)
    out = {}
    try:
        for name, path in PROBES:
            for _ in range(warmup):
                _timed(client, path)
            s = _summary([_timed(client, path) for _ in range(requests)])
            out[name] = {"path": path, **s}
    finally:
        client.close()
    return out


def stall(base_url, heavy_url=DEFAULT_HEAVY, concurrency=8, duration_s=20, heavy_method="GET", heavy_body=None,
          api_key=None, baseline_requests=BASELINE_REQUESTS):
    """Baseline, then `concurrency` heavy loops for `duration_s` seconds with a probe thread alongside."""
    port = _port(base_url)
    heavy_path = _path(base_url, heavy_url)
    body = heavy_body.encode() if isinstance(heavy_body, str) else heavy_body
    headers = {"X-API-Key": api_key} if api_key else {}

    base = baseline(base_url, baseline_requests)

    lock = threading.Lock()
    heavy_counts = {"200": 0, "503": 0, "other": 0, "errors": 0}
    heavy_other = {}
    heavy_ms = []
    retry_after = set()
    started = time.monotonic()
    end = started + duration_s

    def heavy_loop():
        client = Client(port, HEAVY_TIMEOUT_S)
        try:
            while time.monotonic() < end:
                try:
                    status, hdrs, _, seconds = client.request(_fresh(heavy_path), method=heavy_method, body=body, headers=headers)
                except (OSError, http.client.HTTPException):
                    with lock:
                        heavy_counts["errors"] += 1
                    # A refused or reset connection would otherwise spin; back off briefly.
                    time.sleep(min(0.05, max(0.0, end - time.monotonic())))
                    continue
                with lock:
                    heavy_ms.append(seconds * 1e3)
                    if status in (200, 503):
                        heavy_counts[str(status)] += 1
                    else:
                        heavy_counts["other"] += 1
                        heavy_other[str(status)] = heavy_other.get(str(status), 0) + 1
                    if status == 503 and "retry-after" in hdrs:
                        retry_after.add(hdrs["retry-after"])
        finally:
            client.close()

    samples = {name: [] for name, _ in PROBES}

    def probe_loop():
        client = Client(port, PROBE_TIMEOUT_S)
        try:
            i = 0
            nxt = time.monotonic()
            while time.monotonic() < end:
                name, path = PROBES[i % len(PROBES)]
                samples[name].append(_timed(client, path))
                i += 1
                nxt += PROBE_INTERVAL_S
                now = time.monotonic()
                if nxt > now:
                    time.sleep(min(nxt - now, max(0.0, end - now)))
                else:
                    nxt = now  # a slow answer: go on at once, do not try to catch up
        finally:
            client.close()

    workers = [threading.Thread(target=heavy_loop, name=f"heavy-{k}", daemon=True) for k in range(concurrency)]
    for w in workers:
        w.start()
    time.sleep(min(0.25, duration_s / 10))  # let the heavy requests reach the server first
    prober = threading.Thread(target=probe_loop, name="probe", daemon=True)
    prober.start()
    for th in [prober, *workers]:
        th.join(max(0.0, end - time.monotonic()) + HEAVY_TIMEOUT_S + 5)
    elapsed = time.monotonic() - started
    stuck = sum(th.is_alive() for th in [prober, *workers])

    with lock:
        heavy = dict(heavy_counts)
        heavy["other_statuses"] = dict(heavy_other)
        heavy["completed"] = heavy["200"] + heavy["503"] + heavy["other"]
        heavy["p50_ms"] = _q(heavy_ms, 0.50)
        heavy["max_ms"] = max(heavy_ms) if heavy_ms else None
        heavy["retry_after"] = sorted(retry_after)
    under = {name: {"path": path, **_summary(samples[name])} for name, path in PROBES}
    notes = []
    for name, s in under.items():
        if not s["requests"]:
            notes.append(f"no {name} probe completed")
        elif s["p99_ms"] >= LIMIT_MS:
            notes.append(f"{name} p99 {s['p99_ms']:.1f} ms under load (limit {LIMIT_MS:.0f} ms)")
        if s["failures"]:
            notes.append(f"{name}: {s['failures']} of {s['requests']} probes did not answer 200 ({s['statuses']})")
    if not heavy["completed"]:
        notes.append("no heavy request completed: the load did not happen")
    if stuck:
        notes.append(f"{stuck} threads still running after the deadline")
    ok = all(s["requests"] and s["p99_ms"] < LIMIT_MS and not s["failures"] for s in under.values())
    return {"url": base_url, "heavy": heavy, "heavy_path": heavy_path, "heavy_method": heavy_method,
            "concurrency": concurrency, "duration_s": duration_s, "elapsed_s": elapsed,
            "baseline": base, "under_load": under,
            "probe_requests": sum(s["requests"] for s in under.values()),
            "limit_ms": LIMIT_MS, "ok": bool(ok), "notes": notes}


def _check_503(status, hdrs, data):
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    status_field = doc.get("status") if isinstance(doc, dict) else None
    return {"status": status, "retry_after": hdrs.get("retry-after"), "content_type": hdrs.get("content-type"),
            "body_status": status_field, "body": data[:300].decode("utf-8", "replace"),
            "ok": status == 503 and bool(hdrs.get("retry-after")) and status_field == 503}


def deadline(base_url, heavy_path=DEFAULT_HEAVY, concurrency=8, heavy_method="GET", heavy_body=None, api_key=None,
             timeout_s=None):
    """One heavy request against a server with a short --request-timeout: 503 + Retry-After + problem
    JSON with "status": 503, then /health 200. Falls back to simultaneous requests (queued for the
    heavy slots) when the single one finishes inside the deadline: at least `concurrency`, and, given
    the server's `timeout_s`, enough that the queue holds twice the deadline's worth of work at the
    single request's pace (on a small database one heavy request may take a tenth of the deadline)."""
    port = _port(base_url)
    path = _path(base_url, heavy_path)
    body = heavy_body.encode() if isinstance(heavy_body, str) else heavy_body
    headers = {"X-API-Key": api_key} if api_key else {}
    res = {"url": base_url, "heavy_path": path, "mode": "single"}

    def one():
        client = Client(port, HEAVY_TIMEOUT_S)
        try:
            status, hdrs, data, seconds = client.request(_fresh(path), method=heavy_method, body=body, headers=headers)
            return {**_check_503(status, hdrs, data), "ms": seconds * 1e3}
        except (OSError, http.client.HTTPException) as e:
            return {"status": None, "error": repr(e), "ok": False}
        finally:
            client.close()

    first = one()
    res["single"] = first
    seen = first
    if first.get("status") == 200:
        # Finished inside the deadline: queue several so that the waiting ones run out of time.
        res["mode"] = "queued"
        if timeout_s and first.get("ms"):
            concurrency = max(concurrency, min(64, int(2 * timeout_s * 1e3 / max(first["ms"], 1.0)) + 2))
        res["queued"] = concurrency
        results = [None] * concurrency

        def run(k):
            results[k] = one()
        threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(concurrency)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(HEAVY_TIMEOUT_S + 5)
        results = [r for r in results if r is not None]
        counts = {}
        for r in results:
            key = "error" if r.get("status") is None else str(r["status"])
            counts[key] = counts.get(key, 0) + 1
        res["queued_statuses"] = counts
        seen = next((r for r in results if r.get("status") == 503), None) or \
            next((r for r in results if r.get("status") != 200), results[0] if results else first)
    res["response"] = seen

    client = Client(port, PROBE_TIMEOUT_S)
    try:
        status, _, _, seconds = client.request("/health")
        res["health_after"] = {"status": status, "ms": seconds * 1e3}
    except (OSError, http.client.HTTPException) as e:
        res["health_after"] = {"status": None, "error": repr(e)}
    finally:
        client.close()
    res["ok"] = bool(seen.get("ok")) and res["health_after"].get("status") == 200
    return res


def _fmt(v):
    return "—" if v is None else f"{v:.1f}"


def describe(r):
    """A few human lines for a stall() result."""
    h = r["heavy"]
    lines = [f"stall: {r['concurrency']} × {r['heavy_method']} {r['heavy_path']} for {r['duration_s']} s "
             f"({r['elapsed_s']:.1f} s), {r['probe_requests']} probes"]
    for name in r["under_load"]:
        b, u = r["baseline"][name], r["under_load"][name]
        lines.append(f"  {name:7s} baseline p50 {_fmt(b['p50_ms'])} p99 {_fmt(b['p99_ms'])} ms | under load "
                     f"p50 {_fmt(u['p50_ms'])} p99 {_fmt(u['p99_ms'])} max {_fmt(u['max_ms'])} ms, "
                     f"{u['requests']} requests, {u['failures']} not 200")
    lines.append(f"  heavy: {h['completed']} completed: {h['200']} × 200, {h['503']} × 503, {h['other']} other"
                 f"{' ' + json.dumps(h['other_statuses']) if h['other_statuses'] else ''}, {h['errors']} socket errors; p50 {_fmt(h['p50_ms'])} ms")
    lines.append(f"  ok: {r['ok']} (p99 < {r['limit_ms']:.0f} ms for both probes)" +
                 "".join(f"\n  - {n}" for n in r["notes"]))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="the server, http://127.0.0.1:PORT")
    ap.add_argument("--heavy-path", default=DEFAULT_HEAVY, help=f"heavy request (default {DEFAULT_HEAVY})")
    ap.add_argument("--heavy-method", default="GET", help="GET (default) or POST")
    ap.add_argument("--heavy-body", help="request body for POST: a JSON string, or @file")
    ap.add_argument("--api-key", help="sent as X-API-Key (the /match/... endpoints need it)")
    ap.add_argument("--concurrency", type=int, default=8, help="heavy request loops (default 8)")
    ap.add_argument("--duration", type=float, default=20, help="seconds of load (default 20)")
    ap.add_argument("--deadline", action="store_true",
                    help="instead: check the 503 of a server started with a short --request-timeout")
    ap.add_argument("--timeout", type=float, help="with --deadline: the server's --request-timeout in seconds, to queue enough")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    a = ap.parse_args(argv)
    body = a.heavy_body
    if body and body.startswith("@"):
        with open(body[1:]) as f:
            body = f.read()
    try:
        if a.deadline:
            r = deadline(a.url, a.heavy_path, a.concurrency, a.heavy_method, body, a.api_key, a.timeout)
            text = json.dumps(r, indent=1)
        else:
            r = stall(a.url, a.heavy_path, a.concurrency, a.duration, a.heavy_method, body, a.api_key)
            text = json.dumps(r, indent=1) if a.json else describe(r)
    except ValueError as e:
        ap.error(str(e))
    print(text)
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
