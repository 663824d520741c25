#!/usr/bin/python3
"""`rgis copy` both ways, checked from outside: SpatiaLite -> PostgreSQL -> SpatiaLite.

Builds a SpatiaLite store that holds a bit of everything a copy must carry: the demo city's five layers
and its dated changes; users, a token and an audit trail left by that token's requests over HTTP; a
client with contact data and a listing's private fields (written through the server); saved searches
by e-mail and webhook with the outbox they filled; an alert receiver; and the property archive with
its two times and lineage (the scripted history of tools/archive_history.json on the Prague plots).

Then copies it to a new PostgreSQL database and from there to a new file, and compares:
  * `rgis info` (every layer's count and extent) and `rgis check` at all three stores;
  * `rgis export` of every layer as GeoJSON: byte-identical at all three;
  * every carried table of the first and last file, row by row (plain sqlite3, geometry as stored);
  * what the CLI reads of users' tokens, saved searches, the archive as of several days and known-at
    times, and lineage: identical at all three;
  * the token works against a server on the PostgreSQL copy;
  * a copy into a store that holds records, onto an existing file and onto itself is refused, and
    leaves the target as it was.

Run with Debian's /usr/bin/python3:
    tools/copy_roundtrip.py --rgis .build/debug/rgis --geodata ../shared/geodata --workdir /tmp/copy \
        --demo geodata --database-base postgresql://postgres@127.0.0.1:5432
"""
import argparse
import hashlib
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import archive_oracle  # noqa: E402  (the archive's scripted history, replayed through the CLI)
import rgis_serve  # noqa: E402

LAYERS = ["districts", "parcels", "buildings", "listings", "demands"]
# Tables compared row by row between the first and last file (storage order where the copy keeps it).
TABLES = {
    "rgis_settings": "name", "store_secrets": "name", "users": "name", "tokens": "id", "audit_log": "id",
    "districts": "fid", "parcels": "fid", "buildings": "fid", "clients": "fid", "client_contacts": "client_id",
    "listings": "fid", "listing_private": "listing_id", "demands": "fid", "events": "id",
    "webhook_endpoints": "id", "subscriptions": "id", "alert_hooks": "id", "alert_state": "level, district_id, rule",
    "deliveries": "id", "client_listings": "demand_id, listing_id", "match_queue": "event_id",
    "archive_parties": "id", "archive_events": "id", "archive_lineage": "event_id, from_parcel, to_parcel",
    "archive_parcels": "fid", "archive_buildings": "fid", "archive_rights": "id",
}


class Failures:
    def __init__(self):
        self.items = []

    def expect(self, ok, message):
        if not ok:
            self.items.append(message)
            print(f"FAIL: {message}")


def run(rgis, *args, ok=True):
    result = subprocess.run([rgis, *args], capture_output=True, text=True)
    if ok and result.returncode != 0:
        raise RuntimeError(f"rgis {' '.join(args)} failed: {result.stderr.strip()}")
    return result


class Server:
    def __init__(self, rgis, database):
        self.proc, self.url = rgis_serve.start(rgis, database, "--no-notify")

    def call(self, method, path, token, body=None, headers=None, etag=False):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = json.loads(response.read() or b"null")
                return (response.status, answer, response.headers.get("ETag")) if etag else (response.status, answer)
        except urllib.error.HTTPError as error:
            return (error.code, error.read().decode(), None) if etag else (error.code, error.read().decode())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def build(rgis, demo, geodata, workdir, path):
    """The source store, with something in every table a copy carries."""
    history = json.load(open(archive_oracle.HISTORY))
    archive_oracle.replay_in_rgis(archive_oracle.RGIS(rgis, path), history, geodata, workdir)  # runs rgis init first
    run(rgis, "archive", "register", path, os.path.join(geodata, "prague-bubenec/buildings.geojson"), "--layer", "buildings",
        "--id-field", "uID", "--date", "2012-01-01", "--doc", "building survey 2012")
    for layer in LAYERS:
        run(rgis, "import", path, os.path.join(demo, f"{layer}.geojson"), "--layer", layer)
    run(rgis, "events", "import", path, os.path.join(demo, "events.csv"))
    run(rgis, "users", "add", path, "ann", "--role", "agent", "--agent", "agent-01")
    run(rgis, "users", "add", path, "boss", "--role", "admin")
    token = run(rgis, "tokens", "create", path, "ann").stdout.strip()
    run(rgis, "tokens", "revoke", path, run(rgis, "tokens", "create", path, "boss").stdout.strip())
    run(rgis, "subscriptions", "add", path, "--demand", "R00001", "--email", "client1@example.com", "--backfill")
    secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
    run(rgis, "subscriptions", "add", path, "--demand", "R00002", "--webhook", "http://127.0.0.1:9/hook", "--secret", secret,
        "--allow-webhook-network", "127.0.0.0/8")
    run(rgis, "alert-hooks", "add", path, "--url", "http://127.0.0.1:9/alerts", "--secret", secret, "--allow-webhook-network", "127.0.0.0/8")
    server = Server(rgis, path)
    try:
        status, created = server.call("POST", "/clients", token, {"age_band": "35-44", "contact": {
            "name": "Jana Nováková", "phone": "+420 601 123 456", "email": "jana@example.com"}})
        assert status == 201, (status, created)
        status, _ = server.call("GET", "/clients", token)
        assert status == 200, status
        listing = next(f["id"] for f in json.load(open(os.path.join(demo, "listings.geojson")))["features"]
                       if f["properties"].get("agent") == "agent-01")
        item = f"/collections/listings/items/{listing}"
        status, _, tag = server.call("GET", item, token, etag=True)
        assert status == 200 and tag, status
        status, answer = server.call("PATCH", item, token, {"properties": {"private_remarks": "Key at the café"}},
                                     headers={"If-Match": tag, "Content-Type": "application/merge-patch+json"})
        assert status == 200, (status, answer)
    finally:
        server.stop()
    return token


def rows(path, table, order):
    db = sqlite3.connect(path)
    try:
        columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})")]
        return [tuple(r) for r in db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")]
    finally:
        db.close()


def digest(text):
    """What `rgis info` says of the records, without the database's size on disk, which PostgreSQL
    changes on its own (autovacuum, statistics) while nothing is written."""
    return hashlib.sha256(re.sub(r"\d+ KiB", "", text).encode()).hexdigest()[:16]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rgis", required=True)
    parser.add_argument("--geodata", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--demo", required=True)
    parser.add_argument("--database-base", required=True)
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    rgis, failures = args.rgis, Failures()
    first = os.path.join(args.workdir, "first.sqlite")
    last = os.path.join(args.workdir, "last.sqlite")
    postgres = f"{args.database_base}/copy_{os.getpid()}_{random.randrange(1 << 30):x}?sslmode=disable"
    token = build(rgis, args.demo, args.geodata, args.workdir, first)

    started = time.time()
    there = run(rgis, "copy", first, postgres).stdout
    middle = time.time()
    back = run(rgis, "copy", postgres, last).stdout
    print(f"copy: to PostgreSQL in {middle - started:.1f} s, back in {time.time() - middle:.1f} s")
    print(there.strip())
    stores = {"first": first, "postgres": postgres, "last": last}

    # Counts and extents, and the checks, at all three.
    infos = {name: run(rgis, "info", store).stdout.split("\n", 1)[1] for name, store in stores.items()}
    failures.expect(infos["first"] == infos["postgres"] == infos["last"], "rgis info differs between the stores")
    for name, store in stores.items():
        failures.expect(run(rgis, "check", store, ok=False).returncode == 0, f"rgis check fails on {name}")

    # Every layer exported as GeoJSON: byte-identical.
    for layer in LAYERS:
        texts = {}
        for name, store in stores.items():
            out = os.path.join(args.workdir, f"{name}-{layer}.geojson")
            run(rgis, "export", store, "--layer", layer, "--output", out)
            texts[name] = open(out, "rb").read()
        same = texts["first"] == texts["postgres"] == texts["last"]
        failures.expect(same, f"{layer}: exports differ")
        print(f"export {layer}: {len(texts['first'])} bytes, {'byte-identical at all three' if same else 'DIFFERENT'}")

    # Every carried table, row by row, first file against last.
    carried = 0
    for table, order in TABLES.items():
        a, b = rows(first, table, order), rows(last, table, order)
        failures.expect(a == b, f"{table}: rows differ after the round trip ({len(a)} against {len(b)})")
        failures.expect(len(a) > 0 or table in ("rgis_settings", "alert_state", "client_listings", "match_queue"),
                        f"{table}: the source holds no row, so the round trip proves nothing for it")
        carried += len(a)
    print(f"tables: {len(TABLES)} tables, {carried} rows, the same row by row after the round trip")

    # What the CLI reads: tokens, saved searches, the archive at several times, lineage.
    # Each question: the command's words, then the store, then its options.
    questions = [(["tokens", "list"], []), (["subscriptions", "list"], []), (["alert-hooks", "list"], []),
                 (["archive", "lineage"], ["--parcel", "2488"])]
    for day, known in [("2010-02-01", "2010-02-01T00:00:00Z"), ("2014-01-01", "2016-01-01T00:00:00Z"),
                       ("2019-06-01", "2030-01-01T00:00:00Z")]:
        questions.append((["archive", "asof"], ["--date", day, "--known-at", known]))
    for words, options in questions:
        answers = {name: run(rgis, *words, store, *options).stdout for name, store in stores.items()}
        same = answers["first"] == answers["postgres"] == answers["last"]
        failures.expect(same and answers["first"].strip() != "", f"{' '.join(words + options)}: answers differ or are empty")
    print(f"cli: {len(questions)} questions answered alike by the three stores")

    # The token works on the PostgreSQL copy (its hash was carried, not a new one).
    server = Server(rgis, postgres)
    try:
        status, clients = server.call("GET", "/clients", token)
        failures.expect(status == 200 and "Jana Nováková" in json.dumps(clients, ensure_ascii=False),
                        f"the token on the PostgreSQL copy: {status} {str(clients)[:200]}")
    finally:
        server.stop()

    # Refusals leave the target alone.
    before = run(rgis, "info", postgres).stdout
    refused = run(rgis, "copy", first, postgres, ok=False)
    failures.expect(refused.returncode != 0 and "holds records" in refused.stderr, f"copy into a store with records: {refused.stderr}")
    after = run(rgis, "info", postgres).stdout
    failures.expect(digest(after) == digest(before), f"a refused copy changed the target:\n{before}\n---\n{after}")
    refused = run(rgis, "copy", postgres, last, ok=False)
    failures.expect(refused.returncode != 0 and "exists" in refused.stderr, f"copy onto an existing file: {refused.stderr}")
    refused = run(rgis, "copy", postgres, postgres, ok=False)
    failures.expect(refused.returncode != 0 and "the source itself" in refused.stderr, f"copy onto itself: {refused.stderr}")

    if failures.items:
        print(f"copy round trip: {len(failures.items)} failures")
        sys.exit(1)
    print("copy round trip: all agree")


if __name__ == "__main__":
    main()
