#!/usr/bin/python3
"""HTTP load and comparison helpers for the RGIS benchmark (wrk + a page comparison).

    httpbench.py --url URL [--duration 20] [--threads 2] [--connections 32] [--timeout 30s]
    httpbench.py --same URL_A URL_B

--url runs `wrk --latency` against URL and prints
    {"url", "requests_per_s", "p50_ms", "p99_ms", "non_2xx", "errors", "requests", "duration_s",
     "mean_ms", "max_ms", "p75_ms", "p90_ms", "errors_by_kind": {connect, read, write, timeout},
     "check": {"status", "features", "bytes"}}
Latencies and counts come from a Lua done() hook (exact microsecond figures; wrk's text summary is
parsed as a fallback). `non_2xx` is wrk's "Non-2xx or 3xx responses" counter: statuses >= 400 (wrk
counts a 3xx as success; the single `check` request made before the run shows the real status and
the number of features, so a redirect or an empty page is visible too). `errors` = socket errors
(connect + read + write + timeout); a request slower than --timeout counts as a timeout and leaves no
latency sample, hence the generous 30 s default. wrk sends no Accept header.

--same fetches both pages (Accept: application/geo+json) and prints
    {"same_set", "same_order", "a_count", "b_count", "only_a_count", "only_b_count", "only_a", "only_b"
     (first 50 each), "a_status", "b_status"}; feature ids are compared as strings.

As a module:  httpbench.wrk(url, duration=20, threads=2, connections=32) -> dict
              httpbench.same_features(url_a, url_b) -> dict
Not named http.py: a module `http` next to the driver shadows the standard library package (urllib
then fails with "'http' is not a package").

Needs: apt-get install -y wrk
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

_DONE_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"mean_us":%.3f,"max_us":%d,"p50_us":%d,"p75_us":%d,"p90_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99)))
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}



def free_port(host="127.0.0.1"):
    """A TCP port free on `host` now (the servers under test bind to it next)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]

def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def _count(text):
    m = re.fullmatch(r"([\d.]+)([kMG]?)", text.strip())
    return float(m.group(1)) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[m.group(2)] if m else None


def parse_wrk_text(out):
    """Parse wrk's human summary (with --latency). Rounded figures; used when the Lua hook is missing."""
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["requests_per_s"] = float(m.group(1)) if m else None
    for p in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{p}(?:\.0+)?%\s+(\S+)", out, re.M)
        r[f"p{p}_ms"] = _ms(m.group(1)) if m else None
    m = re.search(r"^\s+Latency\s+(\S+)\s+\S+\s+(\S+)", out, re.M)
    r["mean_ms"], r["max_ms"] = (_ms(m.group(1)), _ms(m.group(2))) if m else (None, None)
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    r["requests"] = int(m.group(1)) if m else None
    r["duration_s"] = _ms(m.group(2)) / 1e3 if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    kinds = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups()))) if m else \
        {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    r["errors_by_kind"] = kinds
    r["errors"] = sum(kinds.values())
    return r


def fetch(url, timeout=120):
    """GET url; returns (status, body bytes). HTTP errors give their status, not an exception."""
    req = urllib.request.Request(url, headers={"Accept": "application/geo+json, application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _features(body):
    try:
        return json.loads(body).get("features")
    except (ValueError, AttributeError):
        return None


def check(url, timeout=120):
    status, body = fetch(url, timeout)
    feats = _features(body)
    return {"status": status, "features": len(feats) if feats is not None else None, "bytes": len(body)}


def wrk(url, duration=20, threads=2, connections=32, timeout="30s", check_first=True, extra_args=(), script=""):
    """Run wrk --latency against url; returns the dict described in the module docstring. `script`: Lua
    run before the done() hook (a `request` function that makes a new path each request, say)."""
    pre = check(url) if check_first else None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script + "\n" + _DONE_LUA)
        lua = f.name
    try:
        cmd = ["wrk", "--latency", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
               "--timeout", str(timeout), "-s", lua, *extra_args, url]
        p = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        os.unlink(lua)
    if p.returncode != 0:
        raise RuntimeError(f"wrk failed ({p.returncode}): {p.stderr.strip() or p.stdout.strip()}")
    r = parse_wrk_text(p.stdout)
    m = re.search(r"^WRKJSON (\{.*\})$", p.stdout, re.M)
    if m:
        j = json.loads(m.group(1))
        dur = j["duration_us"] / 1e6
        kinds = {k: j[k] for k in ("connect", "read", "write", "timeout")}
        r.update({
            "requests": j["requests"], "duration_s": dur,
            "requests_per_s": j["requests"] / dur if dur else None,
            "mean_ms": j["mean_us"] / 1e3, "max_ms": j["max_us"] / 1e3,
            "p50_ms": j["p50_us"] / 1e3, "p75_ms": j["p75_us"] / 1e3,
            "p90_ms": j["p90_us"] / 1e3, "p99_ms": j["p99_us"] / 1e3,
            "non_2xx": j["status"], "errors_by_kind": kinds, "errors": sum(kinds.values()),
            "bytes": j["bytes"],
        })
    out = {"url": url, "requests_per_s": r["requests_per_s"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
           "non_2xx": r["non_2xx"], "errors": r["errors"]}
    out.update({k: v for k, v in r.items() if k not in out})
    out.update({"threads": threads, "connections": connections, "check": pre})
    return out


def same_features(url_a, url_b, timeout=120, show=50):
    """Fetch two pages; compare their feature ids (as strings) as sets and in order."""
    res = {"a": url_a, "b": url_b}
    ids = {}
    for key, url in (("a", url_a), ("b", url_b)):
        status, body = fetch(url, timeout)
        feats = _features(body)
        res[f"{key}_status"] = status
        if feats is None:
            raise RuntimeError(f"{url} answered {status} without a GeoJSON feature list: {body[:300]!r}")
        ids[key] = [str(f.get("id")) for f in feats]
        res[f"{key}_count"] = len(ids[key])
    sa, sb = set(ids["a"]), set(ids["b"])
    only_a = [i for i in ids["a"] if i not in sb]
    only_b = [i for i in ids["b"] if i not in sa]
    res.update({"same_set": sa == sb and len(sa) == len(ids["a"]) and len(sb) == len(ids["b"]),
                "same_order": ids["a"] == ids["b"],
                "only_a_count": len(only_a), "only_b_count": len(only_b),
                "only_a": only_a[:show], "only_b": only_b[:show]})
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url")
    ap.add_argument("--duration", type=int, default=20, help="seconds (default 20)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--timeout", default="30s", help="wrk per-request timeout (default 30s)")
    ap.add_argument("--same", nargs=2, metavar=("URL_A", "URL_B"), help="compare the feature ids of two pages")
    a = ap.parse_args(argv)
    if a.same:
        r = same_features(*a.same)
        print(json.dumps(r, indent=1))
        return 0 if r["same_set"] else 1
    if not a.url:
        ap.error("--url or --same is required")
    print(json.dumps(wrk(a.url, a.duration, a.threads, a.connections, a.timeout), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
