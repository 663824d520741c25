#!/usr/bin/python3
"""`rgis serve --read-url`: requests read from a hot standby, and a caller reads its own writes.

Starts a PostgreSQL primary and a streaming hot standby of it on loopback (tools/pgcluster), fills the
primary with the demo city, and serves it with `--read-url` pointing at the standby. Then, with the
standby's replay paused (so that it is visibly behind):
  * a write (a price change) answers with `RGIS-Read-After`;
  * a read without it comes from the standby: the old price;
  * the same read with the header, and with the cookie the write set, shows the new price (the
    standby has not replayed it within a second, so the primary answers);
and with replay resumed, a read without the header shows the new price within 2 s. Also: a token
revoked on the primary is refused at once though the standby has not replayed the revocation, and a
`--read-url` that is not a standby of the primary is refused at start.

Run with Debian's /usr/bin/python3:
    tools/standby_reads.py --rgis .build/debug/rgis --geodata ../shared/geodata --workdir /tmp/standby --demo geodata
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import rgis_serve  # noqa: E402
FAILURES = []


def expect(ok, message):
    if not ok:
        FAILURES.append(message)
        print(f"FAIL: {message}")


def sh(*args):
    result = subprocess.run(list(args), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def psql(url, sql):
    return sh("psql", url, "-Atqc", sql)


def http(base, method, path, token=None, body=None, headers=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def price(base, listing, headers=None):
    status, _, feature = http(base, "GET", f"/collections/listings/items/{listing}", headers=headers)
    assert status == 200, (status, feature)
    return feature["properties"]["list_price"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rgis", required=True)
    parser.add_argument("--geodata", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--demo", required=True)
    args = parser.parse_args()
    rgis = args.rgis
    primary_dir, standby_dir = os.path.join(args.workdir, "primary"), os.path.join(args.workdir, "standby")
    pgcluster = os.path.join(TOOLS, "pgcluster")
    server = None
    try:
        primary = sh(pgcluster, "start", primary_dir)
        database = f"{primary}/city?sslmode=disable"
        sh(rgis, "init", database)
        for layer in ["districts", "listings"]:
            sh(rgis, "import", database, os.path.join(args.demo, f"{layer}.geojson"), "--layer", layer)
        sh(rgis, "users", "add", database, "ann", "--role", "agent", "--agent", "agent-01")
        token = sh(rgis, "tokens", "create", database, "ann")
        spare = sh(rgis, "tokens", "create", database, "ann")
        standby = sh(pgcluster, "standby", standby_dir, primary)
        standby_db = f"{standby}/city?sslmode=disable"

        refused = subprocess.run([rgis, "serve", database, "--read-url", database, "--port", "0"], capture_output=True, text=True, timeout=60)
        expect(refused.returncode != 0 and "is not a standby" in refused.stderr, f"a primary as --read-url: {refused.stderr.strip()}")

        server, base = rgis_serve.start(rgis, database, "--read-url", standby_db, "--no-notify", "--rate-limit", "0")
        listing = next(f["id"] for f in json.load(open(os.path.join(args.demo, "listings.geojson")))["features"]
                       if f["properties"].get("agent") == "agent-01" and f["properties"].get("status") == "active")
        item = f"/collections/listings/items/{listing}"
        before = price(base, listing)

        psql(f"{standby}/postgres", "SELECT pg_wal_replay_pause()")
        status, headers, _ = http(base, "GET", item, token)
        etag = headers.get("ETag")
        status, headers, answer = http(base, "PATCH", item, token, {"properties": {"list_price": before + 1000}},
                                       {"If-Match": etag, "Content-Type": "application/merge-patch+json"})
        expect(status == 200, f"the write: {status} {answer}")
        position = headers.get("RGIS-Read-After")
        cookie = headers.get("Set-Cookie", "")
        expect(position is not None and re.fullmatch(r"[0-9A-F]+/[0-9A-F]+", position or "") is not None, f"the write's RGIS-Read-After: {position}")
        expect(cookie.startswith(f"rgis_read_after={position};"), f"the write's cookie: {cookie}")

        stale = price(base, listing)
        expect(stale == before, f"a read without the position while the standby is paused: {stale}, expected the standby's {before}")
        started = time.time()
        own = price(base, listing, {"RGIS-Read-After": position})
        waited = time.time() - started
        expect(own == before + 1000, f"the writer's read with RGIS-Read-After: {own}, expected {before + 1000}")
        by_cookie = price(base, listing, {"Cookie": f"theme=dark; rgis_read_after={position}"})
        expect(by_cookie == before + 1000, f"the writer's read with the cookie: {by_cookie}")
        print(f"standby: paused, a read without the position answers the standby's {stale}; with it, the primary's {own} after {waited:.2f} s")

        # A revoked token is refused at once: tokens are checked on the primary.
        sh(rgis, "tokens", "revoke", database, spare)
        status, _, _ = http(base, "GET", "/clients", spare)
        expect(status == 401, f"a token revoked on the primary while the standby lags: {status}")

        psql(f"{standby}/postgres", "SELECT pg_wal_replay_resume()")
        started, seen = time.time(), None
        while time.time() - started < 2:
            seen = price(base, listing)
            if seen == before + 1000:
                break
            time.sleep(0.05)
        caught_up = time.time() - started
        expect(seen == before + 1000, f"after replay resumed, a read without the position: {seen} after {caught_up:.2f} s")
        print(f"standby: resumed, every read shows the write after {caught_up:.2f} s")
        quick = time.time()
        price(base, listing, {"RGIS-Read-After": position})
        expect(time.time() - quick < 0.9, "a read with a position the standby has replayed waited")
        # The standby stops: reads go to the primary from the next probe (a second) on.
        reads = int(psql(f"{standby}/city", "SELECT sum(seq_scan + COALESCE(idx_scan, 0)) FROM pg_stat_user_tables WHERE relname = 'listings'") or 0)
        expect(reads > 0, "the standby served no read of the listings")
        subprocess.run([pgcluster, "stop", standby_dir], capture_output=True)
        time.sleep(1.5)
        started = time.time()
        status, _, _ = http(base, "GET", item)
        expect(status == 200 and time.time() - started < 2, f"a read with the standby stopped: {status} after {time.time() - started:.2f} s")
        print(f"standby: stopped, reads answered by the primary ({status} in {time.time() - started:.2f} s)")
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run([pgcluster, "stop", standby_dir], capture_output=True)
        subprocess.run([pgcluster, "stop", primary_dir], capture_output=True)
    if FAILURES:
        print(f"standby reads: {len(FAILURES)} failures")
        sys.exit(1)
    print("standby reads: all checks passed")


if __name__ == "__main__":
    main()
