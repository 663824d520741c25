#!/usr/bin/python3
"""A served database while other processes use it: nothing acknowledged is lost, every write is seen at once.

    tools/served_file.py --rgis BIN --template DB --workdir DIR [--rounds 20] [--seed N]

Each round copies TEMPLATE (an RGIS database: the demo city), adds an agent with a token and starts
`rgis serve` with its default options (the notifier runs inside it). A writer then acknowledges
listings, clients and demands over HTTP while, in a random order with random pauses, every command
the README allows on a served file runs beside it: info, check, audit, users add, tokens create and
revoke, backup, export, notify status, a second `notify run` worker, an import into the parcels
layer, and a plain sqlite3 read. Then the server is killed with SIGKILL.

Checked, each round:
- every acknowledged write was visible to another process (a fresh SQLite connection here) within
  1 s of its 201;
- every acknowledged listing, client and demand is in the file after the kill: listings and
  demands with their `new` event, clients with the audit row of the response that showed their
  contact data;
- `rgis check` passes on the file after the kill;
- every backup holds every write acknowledged before the backup began, and so does every export;
- every command the README allows exited 0.

Before the rounds, the safety net: with the log and shared memory deleted under a running server
(as a process that wrongly believed itself the last would do), /health answers 503 naming the
log, writes are refused with 503, /metrics counts them, and `rgis check` names the server's pid;
`rgis restore` over a served file is refused and leaves it as it was.

Prints one line per round and exits 1 on the first round that fails.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

VISIBLE_WITHIN_S = 1.0


class Failure(Exception):
    pass


def run(rgis, *args, check=True, timeout=120):
    result = subprocess.run([rgis, *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise Failure(f"rgis {' '.join(args)} exited {result.returncode}: {result.stderr.strip()[:500]}")
    return result


def ids_in(path, table):
    """Ids of a table, read by a connection of this process opened for the purpose and closed again."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return {row[0] for row in connection.execute(f"SELECT id FROM {table}")}
    finally:
        connection.close()


class Writer(threading.Thread):
    """Acknowledges listings, clients and demands over HTTP, one after the other, and after each 201
    waits until another connection to the file sees the row (at most VISIBLE_WITHIN_S)."""

    def __init__(self, url, token, database, prefix, rng):
        super().__init__(daemon=True)
        self.url, self.token, self.database, self.prefix, self.rng = url, token, database, prefix, rng
        self.acknowledged = []  # (table, id, time of the 201), in order
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors = []
        self.slowest_s = 0.0
        self.clients = []

    def post(self, path, body):
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def acknowledged_before(self, moment):
        with self.lock:
            return [(table, key) for table, key, at in self.acknowledged if at < moment]

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            kind = self.rng.choice(["listing", "listing", "client", "demand"])
            lon, lat = 9.03 + self.rng.random() * 0.05, 48.01 + self.rng.random() * 0.03
            if kind == "demand" and not self.clients:
                kind = "client"
            if kind == "listing":
                key = f"{self.prefix}-L{n}"
                status, body = self.post("/collections/listings/items", {
                    "type": "Feature", "id": key, "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {"list_price": self.rng.randrange(150_000, 900_000, 1000), "status": "active",
                                   "property_type": "apartment", "bedrooms": self.rng.randint(1, 4), "living_area_m2": 70}})
                table = "listings"
            elif kind == "client":
                status, body = self.post("/clients", {"household": "couple", "contact": {"name": f"Client {n}", "email": f"c{n}@example.com"}})
                table = "clients"
            else:
                client = self.rng.choice(self.clients)
                status, body = self.post(f"/clients/{client}/demands", {
                    "type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {"radius_m": 1200, "budget_max": 700_000, "property_types": "apartment"}})
                table = "demands"
            acknowledged_at = time.monotonic()
            if status != 201:
                self.errors.append(f"POST {kind} answered {status}: {str(body)[:300]}")
                return
            key = body["id"]
            if table == "clients":
                self.clients.append(key)
            with self.lock:
                self.acknowledged.append((table, key, acknowledged_at))
            while key not in ids_in(self.database, table):
                waited = time.monotonic() - acknowledged_at
                if waited > VISIBLE_WITHIN_S:
                    self.errors.append(f"{table} {key}: acknowledged with 201 but not visible to another process after {waited:.2f} s")
                    return
                time.sleep(0.02)
            self.slowest_s = max(self.slowest_s, time.monotonic() - acknowledged_at)
            time.sleep(self.rng.random() * 0.05)


def start_server(rgis, database, log):
    process = subprocess.Popen([rgis, "serve", database, "--port", "0", "--rate-limit", "0"],
                               stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = open(log).read()
        found = re.search(r"at (http://[0-9.]+:[0-9]+)/", text)
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            raise Failure(f"rgis serve exited {process.returncode}: {text[-500:]}")
        time.sleep(0.05)
    process.kill()
    raise Failure("rgis serve did not start within 60 s")


def parcels_file(path, prefix, count):
    features = []
    for i in range(count):
        x, y = 9.03 + (i % 10) * 0.001, 48.05 + (i // 10) * 0.001
        ring = [[x, y], [x + 0.0008, y], [x + 0.0008, y + 0.0008], [x, y + 0.0008], [x, y]]
        features.append({"type": "Feature", "id": f"{prefix}-P{i}", "geometry": {"type": "Polygon", "coordinates": [ring]},
                         "properties": {"land_use": "residential"}})
    with open(path, "w") as out:
        json.dump({"type": "FeatureCollection", "features": features}, out)


def one_round(args, number, rng):
    directory = os.path.join(args.workdir, f"round-{number}")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    database = os.path.join(directory, "city.sqlite")
    shutil.copyfile(args.template, database)
    rgis = args.rgis
    run(rgis, "users", "add", database, "writer", "--role", "agent")
    token = run(rgis, "tokens", "create", database, "writer").stdout.strip()
    server, url = start_server(rgis, database, os.path.join(directory, "serve.log"))
    writer = Writer(url, token, database, f"R{number}", rng)
    worker = None
    backups, exports, done = [], [], []
    try:
        writer.start()
        users = 0
        tokens = []

        def info():
            run(rgis, "info", database)

        def check():
            run(rgis, "check", database)

        def audit():
            run(rgis, "audit", database)

        def users_add():
            nonlocal users
            users += 1
            run(rgis, "users", "add", database, f"extra-{users}", "--role", rng.choice(["agent", "planner", "regulator"]))

        def tokens_create():
            tokens.append(run(rgis, "tokens", "create", database, "writer").stdout.strip())

        def tokens_revoke():
            if not tokens:
                tokens_create()
            run(rgis, "tokens", "revoke", database, tokens.pop())

        def backup():
            began = time.monotonic()
            out = os.path.join(directory, f"backup-{len(backups)}.sqlite")
            run(rgis, "backup", database, out)
            backups.append((out, writer.acknowledged_before(began)))

        def export():
            began = time.monotonic()
            out = os.path.join(directory, f"export-{len(exports)}.geojson")
            with open(out, "w") as handle:
                result = subprocess.run([rgis, "export", database, "--layer", "listings"], stdout=handle, stderr=subprocess.PIPE, text=True, timeout=120)
            if result.returncode != 0:
                raise Failure(f"rgis export exited {result.returncode}: {result.stderr[:500]}")
            exports.append((out, [key for table, key in writer.acknowledged_before(began) if table == "listings"]))

        def notify_status():
            json.loads(run(rgis, "notify", "status", database).stdout)

        def second_worker():
            nonlocal worker
            if worker is not None and worker.poll() is None:
                # Stopped one way or the other: a clean SIGTERM, or killed mid-work.
                worker.send_signal(rng.choice([signal.SIGTERM, signal.SIGKILL]))
                worker.wait(timeout=60)
            worker = subprocess.Popen([rgis, "notify", "run", database], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def import_parcels():
            source = os.path.join(directory, f"parcels-{len(done)}.geojson")
            parcels_file(source, f"R{number}-{len(done)}", 30)
            run(rgis, "import", database, "--layer", "parcels", source)

        def sqlite_read():
            result = subprocess.run(["sqlite3", database, "SELECT count(*) FROM listings; SELECT count(*) FROM events;"],
                                    capture_output=True, text=True, timeout=60)
            if result.returncode != 0:
                raise Failure(f"sqlite3 exited {result.returncode}: {result.stderr[:300]}")

        commands = [info, check, audit, users_add, tokens_create, tokens_revoke, backup, export, notify_status,
                    second_worker, import_parcels, sqlite_read]
        # Every command at least once, then as many again at random, in a random order.
        order = commands + [rng.choice(commands) for _ in commands]
        rng.shuffle(order)
        for command in order:
            if writer.errors:
                break
            time.sleep(rng.random() * 0.2)
            command()
            done.append(command.__name__)
        time.sleep(rng.random() * 0.3)
    finally:
        writer.stop.set()
        writer.join(timeout=60)
        server.send_signal(signal.SIGKILL)
        server.wait()
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
    if writer.errors:
        raise Failure(writer.errors[0])

    acknowledged = writer.acknowledged_before(float("inf"))
    for table in ("listings", "clients", "demands"):
        wanted = {key for t, key in acknowledged if t == table}
        missing = wanted - ids_in(database, table)
        if missing:
            raise Failure(f"after kill -9: {len(missing)} of {len(wanted)} acknowledged {table} are gone: {sorted(missing)[:5]}")
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        for table, key in acknowledged:
            if table in ("listings", "demands"):
                n = connection.execute("SELECT count(*) FROM events WHERE layer = ? AND record_id = ? AND kind = 'new'", (table, key)).fetchone()[0]
                if n != 1:
                    raise Failure(f"after kill -9: {table} {key} has {n} 'new' events, not 1")
            else:
                n = connection.execute("SELECT count(*) FROM audit_log WHERE method = 'POST' AND endpoint = '/clients' AND record_ids = ?",
                                       (json.dumps([key]),)).fetchone()[0]
                if n != 1:
                    raise Failure(f"after kill -9: client {key} has {n} audit rows for its creation, not 1")
    finally:
        connection.close()
    result = run(rgis, "check", database, check=False)
    if result.returncode != 0:
        raise Failure(f"rgis check after kill -9 failed: {result.stdout.strip()[:500]} {result.stderr.strip()[:300]}")
    for path, before in backups:
        for table in ("listings", "clients", "demands"):
            missing = {key for t, key in before if t == table} - ids_in(path, table)
            if missing:
                raise Failure(f"{os.path.basename(path)} lacks {len(missing)} {table} acknowledged before it began: {sorted(missing)[:5]}")
    for path, before in exports:
        with open(path) as handle:
            exported = {feature["id"] for feature in json.load(handle)["features"]}
        missing = set(before) - exported
        if missing:
            raise Failure(f"{os.path.basename(path)} lacks {len(missing)} listings acknowledged before it began: {sorted(missing)[:5]}")
    counts = {table: sum(1 for t, _ in acknowledged if t == table) for table in ("listings", "clients", "demands")}
    print(f"round {number}: {counts['listings']} listings, {counts['clients']} clients, {counts['demands']} demands acknowledged and kept; "
          f"slowest seen by another process {writer.slowest_s * 1000:.0f} ms after its 201; {len(backups)} backups, {len(exports)} exports complete; "
          f"commands: {' '.join(done)}", flush=True)
    shutil.rmtree(directory, ignore_errors=True)


def http(url, method="GET", token=None, body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def safety_net(args):
    directory = os.path.join(args.workdir, "safety-net")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    database = os.path.join(directory, "city.sqlite")
    shutil.copyfile(args.template, database)
    rgis = args.rgis
    run(rgis, "users", "add", database, "writer", "--role", "agent")
    token = run(rgis, "tokens", "create", database, "writer").stdout.strip()
    listing = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [9.05, 48.03]},
               "properties": {"list_price": 300000, "status": "active", "property_type": "apartment"}}

    # A backup to restore, taken first.
    run(rgis, "backup", database, os.path.join(directory, "backup.sqlite"))
    server, url = start_server(rgis, database, os.path.join(directory, "serve.log"))
    try:
        status, _ = http(url + "/collections/listings/items", "POST", token, listing)
        if status != 201:
            raise Failure(f"safety net: the first write answered {status}")
        result = run(rgis, "restore", os.path.join(directory, "backup.sqlite"), database, "--force", check=False)
        if result.returncode == 0 or f"process {server.pid}" not in result.stderr:
            raise Failure(f"safety net: restore over a served file was not refused naming the server: {result.returncode} {result.stderr.strip()}")
        status, _ = http(url + "/health")
        if status != 200:
            raise Failure(f"safety net: /health answered {status} after a refused restore")

        for suffix in ("-wal", "-shm"):
            os.remove(database + suffix)
        status, body = http(url + "/health")
        if status != 503 or "write-ahead log" not in body:
            raise Failure(f"safety net: /health answered {status} {body[:200]} with the log deleted under the server")
        status, body = http(url + "/collections/listings/items", "POST", token, listing)
        if status != 503:
            raise Failure(f"safety net: a write answered {status} with the log deleted under the server")
        status, metrics = http(url + "/metrics")
        if "rgis_database_fault 1" not in metrics or not re.search(r"rgis_database_refused_writes [1-9]", metrics):
            raise Failure("safety net: /metrics shows no fault or no refused write")
        result = run(rgis, "check", database, check=False)
        if result.returncode != 1 or f"process {server.pid}" not in result.stdout:
            raise Failure(f"safety net: rgis check did not name the server holding a deleted log: {result.returncode} {result.stdout.strip()[:300]}")
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    print("safety net: restore over a served file refused; a deleted log makes /health and writes answer 503, "
          "/metrics count it and rgis check name the server", flush=True)
    shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rgis", required=True)
    parser.add_argument("--template", required=True, help="an RGIS database to copy for each round")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"served_file: seed {seed}", flush=True)
    os.makedirs(args.workdir, exist_ok=True)
    try:
        safety_net(args)
    except Failure as failure:
        print(f"FAIL {failure}", flush=True)
        return 1
    for number in range(1, args.rounds + 1):
        try:
            one_round(args, number, random.Random(seed * 1000 + number))
        except Failure as failure:
            print(f"FAIL round {number} (seed {seed}): {failure}", flush=True)
            return 1
    print(f"served_file: all {args.rounds} rounds passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
