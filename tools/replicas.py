#!/usr/bin/env python3
"""Two `rgis serve` replicas on one PostgreSQL database (through PgBouncer): readers, writes, a kill.

  tools/replicas.py --a URL --b URL --token TOKEN --kill-pid PID [--readers 200] [--seconds 60]

1. Every read URL answers 200 with the same bytes from both replicas.
2. READERS threads read for SECONDS, each request to one replica or the other: no error, and every
   answer byte-identical to the reference.
3. Writes through A (new listings, by an agent's token) are read back through B: the time from A's
   201 to B's 200, p50 and p99 over 20 writes, must stay under 2 s; B's tile holding them changes its ETag.
4. A is killed with SIGKILL while readers go on against B: B answers every request, and every listing
   written through A before the kill is there.
Prints one line per step and exits non-zero on the first failure.
"""
import argparse
import json
import math
import os
import re
import signal
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

READS = [
    "/collections/listings/items?limit=100",
    "/collections/listings/items?bbox=9.04,48.02,9.06,48.03&limit=50",
    "/collections/parcels/items?limit=20",
    "/search/radius?lon=9.05&lat=48.03&radius_m=1000&limit=50",
    "/collections/listings/tiles/WebMercatorQuad/14/5691/8602",
    "/collections/districts/tiles/WebMercatorQuad/12/1422/2150",
    "/indicators?level=district",
    "/search/clusters?bbox=8.9,47.9,9.2,48.2&zoom=13",
]


# As behind a load balancer: one public host name, whichever replica answers (the replicas are started
# with --base-url http://rgis.example, which their links carry).
HOST = {"Host": "rgis.example"}


def get(base, path, timeout=30):
    """Status, body (its OGC `timeStamp`, the second it was answered in, blanked) and ETag."""
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, headers=HOST), timeout=timeout) as r:
            return r.status, re.sub(rb'"timeStamp":"[^"]*"', b'"timeStamp":""', r.read()), r.headers.get("ETag")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), None


def post(base, path, body, token):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={**HOST, "Content-Type": "application/geo+json", "Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def fail(message):
    print("replicas: FAILED: " + message, flush=True)
    sys.exit(1)


def load(bases, reference, readers, seconds):
    """Readers for `seconds`, round-robin over URLs and replicas; (requests, errors, mismatches)."""
    stop = time.monotonic() + seconds
    counts = {"requests": 0, "errors": 0, "mismatches": 0}
    lock = threading.Lock()
    first = []

    def reader(n):
        i = n
        while time.monotonic() < stop:
            path = READS[i % len(READS)]
            base = bases[(i // len(READS)) % len(bases)]
            i += 1
            try:
                status, body, _ = get(base, path)
            except Exception as e:  # a refused or reset connection counts as an error
                status, body = None, repr(e).encode()
            with lock:
                counts["requests"] += 1
                if status != 200:
                    counts["errors"] += 1
                    if len(first) < 3:
                        first.append(f"{base}{path}: {status} {body[:200]!r}")
                elif body != reference[path]:
                    counts["mismatches"] += 1
                    if len(first) < 3:
                        first.append(f"{base}{path}: differs from the reference")

    with ThreadPoolExecutor(readers) as pool:
        list(pool.map(reader, range(readers)))
    return counts, first


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--token", required=True, help="an agent's token, for the writes")
    parser.add_argument("--kill-pid", type=int, required=True, help="replica A's process")
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    a, b = args.a.rstrip("/"), args.b.rstrip("/")

    # 1. The same bytes from both.
    reference = {}
    for path in READS:
        sa, ba, _ = get(a, path)
        sb, bb, _ = get(b, path)
        if sa != 200 or sb != 200:
            fail(f"{path}: {sa} from A, {sb} from B")
        if ba != bb:
            fail(f"{path}: A and B answer different bytes")
        reference[path] = ba
    print(f"replicas: {len(READS)} reads answer the same bytes from both replicas", flush=True)

    # 2. Readers on both.
    started = time.monotonic()
    counts, first = load([a, b], reference, args.readers, args.seconds)
    elapsed = time.monotonic() - started
    print(f"replicas: {args.readers} readers for {args.seconds:.0f} s: {counts['requests']} requests "
          f"({counts['requests'] / elapsed:.0f}/s), {counts['errors']} errors, {counts['mismatches']} differing answers", flush=True)
    if counts["errors"] or counts["mismatches"]:
        fail("; ".join(first))

    # 3. Written through A, read through B.
    # The listings tile at z14 that holds the written listings: its ETag must move on B.
    lon, lat, zoom = 9.05, 48.03, 14
    column = int((lon + 180) / 360 * 2 ** zoom)
    row = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * 2 ** zoom)
    tile = f"/collections/listings/tiles/WebMercatorQuad/{zoom}/{row}/{column}"
    _, _, etag_before = get(b, tile)
    lags, written = [], []
    for n in range(20):
        body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [9.05 + n * 0.0001, 48.03]},
                "properties": {"list_price": 300000 + n, "status": "active", "property_type": "apartment", "living_area_m2": 60}}
        status, created = post(a, "/collections/listings/items", body, args.token)
        if status != 201:
            fail(f"a write through A answered {status}: {created}")
        acknowledged = time.monotonic()
        listing = created["id"]
        while True:
            status, _, _ = get(b, f"/collections/listings/items/{listing}")
            if status == 200:
                break
            if time.monotonic() - acknowledged > 10:
                fail(f"listing {listing}, written through A, not seen through B after 10 s")
            time.sleep(0.005)
        lags.append(time.monotonic() - acknowledged)
        written.append(listing)
    lags.sort()
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    print(f"replicas: 20 writes through A seen through B after p50 {statistics.median(lags) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms (max {lags[-1] * 1000:.1f} ms)", flush=True)
    if p99 >= 2:
        fail(f"p99 {p99:.2f} s is 2 s or more")
    _, _, etag_after = get(b, tile)
    if etag_before is None or etag_before == etag_after:
        fail(f"B's tile {tile} kept its ETag across the writes ({etag_before})")
    print(f"replicas: B's tile {tile} holding them has a new ETag", flush=True)

    # 4. A killed mid-load: B answers every request, and A's writes are there.
    for path in READS:
        _, reference[path], _ = get(b, path)
    killer = threading.Timer(1.0, lambda: os.kill(args.kill_pid, signal.SIGKILL))
    killer.start()
    counts, first = load([b], reference, min(args.readers, 50), 4)
    killer.join()
    try:
        get(a, "/", timeout=2)
        fail("replica A still answers after SIGKILL")
    except (urllib.error.URLError, ConnectionError, OSError):
        pass
    print(f"replicas: A killed with SIGKILL mid-load; B answered {counts['requests']} requests, {counts['errors']} errors", flush=True)
    if counts["errors"] or counts["mismatches"]:
        fail("; ".join(first))
    missing = [listing for listing in written if get(b, f"/collections/listings/items/{listing}")[0] != 200]
    if missing:
        fail(f"{len(missing)} listings written through A are gone: {missing[:5]}")
    print(f"replicas: all {len(written)} listings written through A read through B after the kill", flush=True)
    print("replicas: all checks passed", flush=True)


if __name__ == "__main__":
    main()
