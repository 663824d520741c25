#!/usr/bin/python3
"""Independent oracle for the RGIS property archive, on real cadastral plots (Prague-Bubeneč).

`check` registers ../shared/geodata/prague-bubenec/plots.geojson with `rgis archive register`, replays a
scripted history (tools/archive_history.json: splits by lines across plots, merges of adjacent plots,
transfers, a back-dated transfer recorded late and a correction of a wrong transfer) through the CLI,
then asks `rgis archive asof` and `rgis archive lineage` and compares every answer with its own replay:

  * as-of (date D, known at K): apply, in date order, the events the register had recorded by K (with
    the corrections recorded by K applied to the transfers they correct) whose date is on or before D;
    geometry with shapely (split by the line, union for merges), areas with pyproj's Geod(WGS84),
    rights as exact fractions. Compared: parcel ids, valid_from, geometry (symmetric difference),
    area, rights.
  * lineage: parents and children through splits and merges, by breadth-first search, with the events.
  * split and merge areas: the pieces add up to the parent within 0.01 %.

`make-history` writes the scripted history (deterministic) from the plots; it is committed, so a change
to the generator shows up as a change to the file.

Run with Debian's /usr/bin/python3 (python3-pyproj, python3-shapely):
    tools/archive_oracle.py check --rgis .build/debug/rgis --geodata ../shared/geodata --workdir /tmp/archive
"""
import argparse
import datetime
import json
import math
import os
import random
import subprocess
import sys
from fractions import Fraction

from pyproj import Geod
from shapely.geometry import LineString, Polygon, box, mapping, shape
from shapely.ops import split as shapely_split, unary_union

GEOD = Geod(ellps="WGS84")
HISTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "archive_history.json")
PLOTS = "prague-bubenec/plots.geojson"
GEOMETRY_TOLERANCE_M = 0.001  # vertices within 1 mm: split points are computed by RTTOPO in RGIS and GEOS here


def area(geom):
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def load_plots(geodata):
    with open(os.path.join(geodata, PLOTS)) as f:
        features = json.load(f)["features"]
    return {f["properties"]["ID"]: shape(f["geometry"]) for f in features}


# ---------------------------------------------------------------- the oracle's own register

class Register:
    """The register's state on one day as known at one time: parcels and their rights."""

    def __init__(self, plots, start):
        self.parcels = dict(plots)
        self.valid_from = {pid: start for pid in plots}
        self.rights = {}  # parcel -> {(type, party): Fraction}
        self.ever = set(plots)
        self.split_areas = []  # (parent, parent area, [piece areas])

    def fresh_ids(self, stem, count):
        ids, n = [], 1
        while len(ids) < count:
            candidate = f"{stem}-{n}"
            if candidate not in self.ever:
                ids.append(candidate)
            n += 1
        return ids

    def apply(self, e):
        op = e["op"]
        if op == "transfer":
            held = self.rights.setdefault(e["parcel"], {})
            share, kind = Fraction(e["share"]), e.get("type", "ownership")
            if e.get("from"):
                key = (kind, e["from"])
                held[key] -= share
                assert held[key] >= 0
                if held[key] == 0:
                    del held[key]
            held[(kind, e["to"])] = held.get((kind, e["to"]), 0) + share
            assert sum(v for (t, _), v in held.items() if t == kind) <= 1
        elif op == "split":
            parent = self.parcels.pop(e["parcel"])
            pieces = [g for g in shapely_split(parent, LineString(e["line"])).geoms if g.geom_type == "Polygon"]
            assert len(pieces) >= 2, f"line does not cut {e['parcel']}"
            pieces.sort(key=area, reverse=True)
            ids = e.get("new_ids") or self.fresh_ids(e["parcel"], len(pieces))
            self.split_areas.append((e["parcel"], area(parent), [area(p) for p in pieces]))
            rights = self.rights.pop(e["parcel"], {})
            for pid, piece in zip(ids, pieces):
                self.parcels[pid], self.valid_from[pid] = piece, e["date"]
                self.rights[pid] = dict(rights)
                self.ever.add(pid)
        elif op == "merge":
            geoms = [self.parcels.pop(p) for p in e["parcels"]]
            merged = unary_union(geoms)
            assert merged.geom_type == "Polygon", f"{e['parcels']} do not touch"
            self.split_areas.append(("+".join(e["parcels"]), sum(area(g) for g in geoms), [area(merged)]))
            pid = e.get("new_id") or "+".join(e["parcels"])
            rights = [self.rights.pop(p, {}) for p in e["parcels"]]
            assert all(r == rights[0] for r in rights), "merged parcels must carry the same rights"
            self.parcels[pid], self.valid_from[pid], self.rights[pid] = merged, e["date"], rights[0]
            self.ever.add(pid)
        elif op != "correct":
            raise ValueError(op)


def state(history, plots, day, known_at):
    """The register valid on `day` as known at `known_at` (a date means the end of that day)."""
    reg = history["register"]
    known_at = known_at + "T23:59:59Z" if len(known_at) == 10 else known_at
    if reg["recorded_at"] > known_at or reg["date"] > day:
        return Register({}, reg["date"])
    events = [dict(e) for e in history["events"]]
    known = [i for i, e in enumerate(events) if e["recorded_at"] <= known_at]
    for i in known:
        if events[i]["op"] == "correct":
            events[events[i]["event_index"]]["to"] = events[i]["to"]
    register = Register(plots, reg["date"])
    # Date order; events of one day in record order.
    for i in sorted((i for i in known if events[i]["op"] != "correct"), key=lambda i: (events[i]["date"], i)):
        if events[i]["date"] <= day:
            register.apply(events[i])
    return register


# ---------------------------------------------------------------- running RGIS

class RGIS:
    def __init__(self, binary, database):
        self.binary, self.database = binary, database

    def run(self, *args):
        result = subprocess.run([self.binary, *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"rgis {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def archive(self, *args):
        return self.run("archive", args[0], self.database, *args[1:])


def replay_in_rgis(rgis, history, geodata, workdir):
    """Runs the history through the CLI; returns each event's JSON answer (its id, opened ids, areas)."""
    reg = history["register"]
    rgis.run("init", rgis.database)
    rgis.archive("register", os.path.join(geodata, PLOTS), "--id-field", "ID", "--date", reg["date"], "--recorded-at", reg["recorded_at"])
    answers = []
    for i, e in enumerate(history["events"]):
        common = ["--recorded-at", e["recorded_at"]] + (["--doc", e["doc"]] if e.get("doc") else [])
        if e["op"] == "transfer":
            args = ["transfer", "--parcel", e["parcel"], "--to", e["to"], "--share", e["share"], "--date", e["date"],
                    "--type", e.get("type", "ownership")] + (["--from", e["from"]] if e.get("from") else [])
        elif e["op"] == "split":
            line = os.path.join(workdir, f"line-{i}.geojson")
            with open(line, "w") as f:
                json.dump({"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": e["line"]}}, f)
            args = ["split", "--parcel", e["parcel"], "--line", line, "--date", e["date"]] + (["--new-ids", ",".join(e["new_ids"])] if e.get("new_ids") else [])
        elif e["op"] == "merge":
            args = ["merge", "--parcels", ",".join(e["parcels"]), "--date", e["date"]] + (["--new-id", e["new_id"]] if e.get("new_id") else [])
        elif e["op"] == "correct":
            args = ["correct", "--event", str(answers[e["event_index"]]["event"]), "--to", e["to"]]
        answers.append(json.loads(rgis.archive(*args, *common)))
    return answers


# ---------------------------------------------------------------- comparing

def compare_state(name, expected, features, box_filter=None):
    problems = []
    got = {f["properties"]["parcel_id"]: f for f in features}
    want = {pid: g for pid, g in expected.parcels.items() if box_filter is None or g.intersects(box_filter)}
    if set(got) != set(want):
        problems.append(f"{name}: parcels differ: only RGIS {sorted(set(got) - set(want))[:10]}, only oracle {sorted(set(want) - set(got))[:10]}")
    worst_area = worst_geom = 0.0
    for pid in set(got) & set(want):
        f, g = got[pid], want[pid]
        p = f["properties"]
        if p["valid_from"] != expected.valid_from[pid]:
            problems.append(f"{name}: {pid} valid_from {p['valid_from']} vs {expected.valid_from[pid]}")
        a = area(g)
        worst_area = max(worst_area, abs(p["area_m2"] - a))
        if abs(p["area_m2"] - a) > max(0.006, 1e-9 * a):  # area_m2 is rounded to 0.01 m²
            problems.append(f"{name}: {pid} area {p['area_m2']} vs {a:.3f}")
        # Vertex positions: the Hausdorff distance in metres (1 degree of latitude is about 111 km).
        diff = shape(f["geometry"]).hausdorff_distance(g) * 111_320
        worst_geom = max(worst_geom, diff)
        if diff > GEOMETRY_TOLERANCE_M:
            problems.append(f"{name}: {pid} geometry differs (Hausdorff distance {diff * 1000:.2f} mm)")
        rights = sorted((r["type"], r["party"], r["share"]) for r in p["rights"])
        want_rights = sorted((t, party, str(v)) for (t, party), v in expected.rights.get(pid, {}).items())
        if rights != want_rights:
            problems.append(f"{name}: {pid} rights {rights} vs {want_rights}")
    return problems, len(got), worst_area, worst_geom


def oracle_lineage(history, answers):
    """Parent → children edges with their event (kind, date), from the history and RGIS's opened ids."""
    edges = []
    for e, a in zip(history["events"], answers):
        if e["op"] == "split":
            edges += [(e["parcel"], child, ("split", e["date"])) for child in a["opened"]]
        elif e["op"] == "merge":
            edges += [(parent, a["opened"][0], ("merge", e["date"])) for parent in e["parcels"]]
    return edges


def walk(edges, start, up):
    depth, frontier, d = {}, [start], 0
    while frontier:
        d += 1
        nxt = []
        for node in frontier:
            for parent, child, _ in edges:
                near, far = (child, parent) if up else (parent, child)
                if near == node and far not in depth:
                    depth[far] = d
                    nxt.append(far)
        frontier = nxt
    return depth


def check(args):
    history = json.load(open(HISTORY))
    plots = load_plots(args.geodata)
    os.makedirs(args.workdir, exist_ok=True)
    database = os.path.join(args.workdir, "archive.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(database + suffix):
            os.remove(database + suffix)
    rgis = RGIS(args.rgis, database)
    answers = replay_in_rgis(rgis, history, args.geodata, args.workdir)
    problems = []
    ops = [e["op"] for e in history["events"]]
    print(f"archive oracle history: {len(ops)} events ({', '.join(f'{ops.count(k)} {k}' for k in ('split', 'merge', 'transfer', 'correct'))})"
          f" over {history['events'][0]['date'][:4]}-{max(e['date'] for e in history['events'])[:4]}")

    # Split and merge areas as RGIS reported them against the oracle's pieces.
    full = state(history, plots, "9999-12-31", "9999-12-31T23:59:59Z")
    area_checks = 0
    for (name, whole, parts), (e, a) in zip(full.split_areas, [(e, a) for e, a in zip(history["events"], answers) if e["op"] in ("split", "merge")]):
        if abs(sum(parts) - whole) > whole * 1e-4:
            problems.append(f"oracle: pieces of {name} do not add up ({sum(parts):.2f} vs {whole:.2f})")
        if len(parts) != len(a["areas_m2"]) or any(abs(x - y) > max(0.006, 1e-9 * y) for x, y in zip(a["areas_m2"], parts)):
            problems.append(f"{e['op']} {name}: RGIS areas {a['areas_m2']} vs oracle {[round(p, 2) for p in parts]}")
        if abs(sum(a["areas_m2"]) - whole) > whole * 1e-4:
            problems.append(f"{e['op']} {name}: RGIS pieces sum {sum(a['areas_m2']):.2f} vs parent {whole:.2f}")
        area_checks += 1

    # As-of.
    worst_area = worst_geom = 0.0
    compared = 0
    for c in history["checks"]["asof"]:
        expected = state(history, plots, c["date"], c["known_at"])
        extra = []
        region = None
        if "bbox" in c:
            extra = ["--bbox", ",".join(str(v) for v in c["bbox"])]
            region = box(*c["bbox"])
        out = json.loads(rgis.archive("asof", "--date", c["date"], "--known-at", c["known_at"], *extra))
        assert "next" not in out
        found, n, wa, wg = compare_state(f"asof {c['date']} known at {c['known_at']}{' in box' if region else ''}", expected, out["features"], region)
        problems += found
        compared += n
        worst_area, worst_geom = max(worst_area, wa), max(worst_geom, wg)
    print(f"archive oracle asof: {len(history['checks']['asof'])} (date, known-at) pairs, {compared} parcel versions compared,"
          f" largest area difference {worst_area:.3f} m², largest vertex distance {worst_geom * 1000:.3f} mm")

    # Lineage.
    edges = oracle_lineage(history, answers)
    links = 0
    for parcel in history["checks"]["lineage"]:
        got = json.loads(rgis.archive("lineage", "--parcel", parcel))
        for key, up in (("ancestors", True), ("descendants", False)):
            want = walk(edges, parcel, up)
            have = {}
            for item in got[key]:
                have[item["parcel"]] = min(have.get(item["parcel"], 99), item["depth"])
            links += len(have)
            if have != want:
                problems.append(f"lineage {parcel} {key}: RGIS {have} vs oracle {want}")
        up, down = set(walk(edges, parcel, True)), set(walk(edges, parcel, False))
        want_events = sorted({ev for p, c, ev in edges if (p in up and c in up | {parcel}) or (c in down and p in down | {parcel})})
        have_events = sorted({(ev["kind"], ev["date"]) for ev in got["events"]})
        if have_events != want_events:
            problems.append(f"lineage {parcel} events: RGIS {have_events} vs oracle {want_events}")
    print(f"archive oracle lineage: {len(history['checks']['lineage'])} parcels, {links} ancestor/descendant links compared")
    print(f"archive oracle areas: {area_checks} splits and merges, pieces add up within 0.01 %")

    for p in problems[:40]:
        print("MISMATCH", p)
    if problems:
        print(f"archive oracle: {len(problems)} mismatches")
        sys.exit(1)
    print("archive oracle: all answers agree")


# ---------------------------------------------------------------- the scripted history

def make_history(args):
    plots = load_plots(args.geodata)
    rnd = random.Random(20100101)
    start = "2010-01-01"
    events = []
    day = [0]

    def next_date(days=70):
        day[0] += rnd.randint(days // 2, days)
        return (datetime.date(2010, 1, 1) + datetime.timedelta(days=day[0])).isoformat()

    def recorded(date, lag_days=3):
        d = datetime.date.fromisoformat(date) + datetime.timedelta(days=lag_days)
        return f"{d.isoformat()}T09:{len(events) % 60:02d}:00Z"

    def add(op, **kw):
        date = kw.pop("date", None) or next_date()
        e = {"op": op, "date": date, "recorded_at": kw.pop("recorded_at", None) or recorded(date), **kw}
        events.append(e)
        return len(events) - 1

    def cut(geom, angle):
        c = geom.centroid
        r = max(geom.bounds[2] - geom.bounds[0], geom.bounds[3] - geom.bounds[1])
        dx, dy = math.cos(angle) * r, math.sin(angle) * r
        return [[round(c.x - dx, 7), round(c.y - dy, 7)], [round(c.x + dx, 7), round(c.y + dy, 7)]]

    def touching(a, b, geoms):
        return geoms[a].intersection(geoms[b]).length > 1e-6 and unary_union([geoms[a], geoms[b]]).geom_type == "Polygon"

    ids = sorted(plots, key=lambda pid: (-area(plots[pid]), pid))
    large = [pid for pid in ids if 1500 < area(plots[pid]) < 8000]
    pairs = [(a, b) for i, a in enumerate(ids[:200]) for b in ids[i + 1:200] if touching(a, b, plots)]

    # Owners for some large plots, one co-owned.
    owned = large[:6]
    for n, pid in enumerate(owned):
        add("transfer", parcel=pid, to=f"P{n + 1:02d}", share="1" if n != 2 else "1/2", doc=f"KV-{n + 1}/2010")
    add("transfer", parcel=owned[2], to="P07", share="1/2", doc="KV-7/2010")
    add("transfer", parcel=owned[0], to="BANK1", share="1", type="mortgage", doc="Z-1/2010")
    # First-generation splits (rights pass to the pieces).
    for n, pid in enumerate(owned[:3] + large[6:8]):
        add("split", parcel=pid, line=cut(plots[pid], 0.3 + n * 0.7), doc=f"GP-{n + 1}/2011")
    # Sales of pieces, one partial.
    add("transfer", parcel=f"{owned[0]}-1", to="P08", **{"from": "P01"}, share="1", doc="KS-1/2012")
    add("transfer", parcel=f"{owned[2]}-2", to="P08", **{"from": "P03"}, share="1/2", doc="KS-2/2012")
    wrong = add("transfer", parcel=f"{owned[1]}-1", to="P99", **{"from": "P02"}, share="1", doc="KS-3/2012")
    # Merges of adjacent unowned plots, and of two plots first sold to one owner.
    used = set(owned) | set(large[6:8])
    free_pairs = [(a, b) for a, b in pairs if a not in used and b not in used]
    merged = []
    for a, b in free_pairs:
        if len(merged) == 3:
            break
        if a in used or b in used:
            continue
        used |= {a, b}
        merged.append((a, b))
    add("merge", parcels=list(merged[0]), doc="GP-1/2013")
    add("transfer", parcel=merged[1][0], to="P10", share="1", doc="KV-10/2013")
    add("transfer", parcel=merged[1][1], to="P10", share="1", doc="KV-11/2013")
    add("merge", parcels=list(merged[1]), doc="GP-2/2013")
    add("merge", parcels=list(merged[2]), doc="GP-3/2013")
    # Second generation: split a merged parcel and a piece; merge two siblings back.
    m0 = "+".join(merged[0])
    geom_m0 = unary_union([plots[p] for p in merged[0]])
    add("split", parcel=m0, line=cut(geom_m0, 1.2), doc="GP-4/2014")
    piece_parent = large[6]
    geom_piece = sorted(shapely_split(plots[piece_parent], LineString(cut(plots[piece_parent], 0.3 + 3 * 0.7))).geoms, key=area, reverse=True)[0]
    add("split", parcel=f"{piece_parent}-1", line=cut(geom_piece, 2.0), doc="GP-5/2014")
    add("merge", parcels=[f"{m0}-1", f"{m0}-2"], new_id=f"{m0}-R", doc="GP-6/2014")
    # More sales, one back-dated and recorded late.
    add("transfer", parcel=owned[3], to="P11", **{"from": "P04"}, share="1", doc="KS-4/2014")
    late_parcel = large[10]
    late_date = events[-3]["date"]
    add("transfer", parcel=large[11], to="P12", share="1", doc="KV-12/2015")
    add("transfer", parcel=late_parcel, to="P13", share="1", date=late_date, recorded_at=recorded(events[-1]["date"], 20),
        doc="KV-13/2014 (recorded late)")
    add("transfer", parcel=f"{owned[2]}-1", to="P14", **{"from": "P07"}, share="1/2", doc="KS-5/2015")
    add("split", parcel=large[12], line=cut(plots[large[12]], 0.9), doc="GP-7/2015")
    add("transfer", parcel=f"{large[12]}-2", to="P15", share="1", doc="KV-14/2015")
    add("transfer", parcel=owned[4], to="P16", **{"from": "P05"}, share="1", doc="KS-6/2015")
    # The wrong buyer of event `wrong` is corrected; the correction is recorded later.
    fix_date = next_date()
    events.append({"op": "correct", "event_index": wrong, "to": "P09", "date": events[wrong]["date"],
                   "recorded_at": recorded(fix_date), "doc": "OP-1/2016"})
    add("transfer", parcel=f"{owned[1]}-1", to="P17", **{"from": "P09"}, share="1", doc="KS-7/2016")
    add("split", parcel=large[13], line=cut(plots[large[13]], 2.5), doc="GP-8/2016")
    add("transfer", parcel=large[14], to="P18", share="1", doc="KV-15/2016")
    add("transfer", parcel=large[14], to="BANK2", share="1", type="mortgage", doc="Z-2/2016")

    dates = sorted({e["date"] for e in events})
    recs = sorted({e["recorded_at"] for e in events})
    late = next(e for e in events if "recorded late" in e.get("doc", ""))
    fix = next(e for e in events if e["op"] == "correct")
    checks = [
        {"date": "2009-12-31", "known_at": "2026-01-01"},
        {"date": start, "known_at": "2010-01-10"},
        {"date": dates[5], "known_at": recs[3]},
        {"date": dates[12], "known_at": recs[20]},
        {"date": dates[15], "known_at": "2026-01-01"},
        {"date": late["date"], "known_at": recs[recs.index(late["recorded_at"]) - 1]},
        {"date": late["date"], "known_at": late["recorded_at"]},
        {"date": events[wrong]["date"], "known_at": recs[recs.index(fix["recorded_at"]) - 1]},
        {"date": events[wrong]["date"], "known_at": fix["recorded_at"]},
        {"date": dates[-3], "known_at": recs[-5]},
        {"date": dates[-1], "known_at": "2026-01-01"},
        {"date": dates[8], "known_at": dates[20]},
        {"date": dates[-1], "known_at": dates[10]},
    ]
    centre = plots[owned[0]].centroid
    checks.append({"date": dates[-1], "known_at": "2026-01-01", "bbox": [round(centre.x - 0.004, 6), round(centre.y - 0.003, 6),
                                                                       round(centre.x + 0.004, 6), round(centre.y + 0.003, 6)]})
    checks.append({"date": dates[10], "known_at": recs[15], "bbox": [round(centre.x - 0.002, 6), round(centre.y - 0.002, 6),
                                                                   round(centre.x + 0.002, 6), round(centre.y + 0.002, 6)]})
    lineage_parcels = [owned[0], f"{owned[0]}-1", m0, f"{m0}-R", f"{large[6]}-1-1", merged[1][0], f"{owned[2]}-2"]
    history = {"register": {"file": PLOTS, "id_field": "ID", "date": start, "recorded_at": "2010-01-04T09:00:00Z"},
               "events": events, "checks": {"asof": checks, "lineage": lineage_parcels}}
    # The oracle must be able to replay its own history.
    state(history, plots, "9999-12-31", "9999-12-31")
    with open(args.out or HISTORY, "w") as f:
        json.dump(history, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out or HISTORY}: {len(events)} events, {len(checks)} as-of checks")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="replay the history in RGIS and compare")
    c.add_argument("--rgis", required=True)
    c.add_argument("--geodata", required=True)
    c.add_argument("--workdir", required=True)
    m = sub.add_parser("make-history", help="write tools/archive_history.json")
    m.add_argument("--geodata", required=True)
    m.add_argument("--out")
    args = parser.parse_args()
    check(args) if args.command == "check" else make_history(args)


if __name__ == "__main__":
    main()
