#!/usr/bin/python3
"""Unmet demand per district and cell, recomputed from the stored layers, and its withholding attacked.

For each market below, the oracle exports the listings, demands (their stored search areas) and
districts from RGIS, and recomputes from them alone, with shapely and plain Python:
  * where each record is placed (tools/placement.py: covers, the first district on a tie; a demand by
    its search area's point on surface);
  * each active demand's grade, by the fit rules restated (tools/oracle.py's `fits`): served when an
    active listing inside its search area fits without the 10 % stretch, near fit only when every fit
    needs it, unmet when none fits; a listing within 1e-7° of the area's edge may go either way, and a
    demand whose grade it could change is left out of the comparison (counted);
  * each cell of wanted type × bedrooms × size band × budget band, as RGIS documents the cells.
Then, for every level of `rgis indicators --unmet` (CLI) and `GET /indicators/unmet` (HTTP, a planner):
  * every count shown equals the oracle's, and every count of 1 to 4 is withheld;
  * active demands and active listings are withheld exactly where `/indicators` withholds them;
  * no withheld count can be recomputed: the equations that hold between the counts (a district's cells
    add up to its totals; served + near fit + unmet = active; a district's counts, cell by cell, are
    its children's sum) are solved with exact fractions, and no withheld count is determined;
  * the CSV holds the same counts as the GeoJSON.

Markets: the demo city (geodata/, three levels), and on the shared data Berlin's real Prenzlauer Berg
listings (bedrooms and price as published) with the boundary as the city and its four quarters as
districts, and demands generated around them (seeded).

Run with Debian's /usr/bin/python3 (python3-shapely, python3-pyproj):
    tools/unmet_oracle.py --rgis .build/debug/rgis --geodata ../shared/geodata --demo geodata --workdir /tmp/unmet
"""
import argparse
import csv
import io
import json
import os
import random
import sys
import urllib.error
import urllib.request
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402
from placement import Placement  # noqa: E402
from shapely.geometry import Point, box, mapping, shape  # noqa: E402
from shapely.prepared import prep  # noqa: E402

STRETCH = 0.10
WITHHELD_BELOW = 5
EDGE_DEG = 1e-7
LEVELS = ("city", "district", "subdistrict")


def number(v):
    return str(int(v)) if v == int(v) else f"{v:.1f}"


def band(value, edges, missing):
    if value is None:
        return missing
    for i, e in enumerate(edges):
        if value < e:
            return f"<{number(edges[0])}" if i == 0 else f"{number(edges[i - 1])}-{number(e)}"
    return f"{number(edges[-1])}+"


def bedrooms(n):
    return "4+" if n >= 4 else str(max(int(n), 0))


def demand_cell(d, size_edges, budget_edges):
    types = d.get("property_types")
    return (types.split(",")[0] if types else "any",
            bedrooms(d["bedrooms_min"]) if d.get("bedrooms_min") is not None else "any",
            band(d.get("area_min_m2"), size_edges, "any"), band(d.get("budget_max"), budget_edges, "any"))


def listing_cell(l, size_edges, budget_edges):
    return (l.get("property_type") or "unknown", bedrooms(l["bedrooms"]) if l.get("bedrooms") is not None else "unknown",
            band(l.get("living_area_m2"), size_edges, "unknown"), band(l.get("list_price"), budget_edges, "unknown"))


class Tally:
    def __init__(self):
        self.counts = self.withheld = self.primary = self.uncertain = self.unmet = self.near = self.levels = 0
        self.equations = 0
        self.failures = []

    def fail(self, message):
        self.failures.append(message)


def grades(listings, demands):
    """Each active demand's grade (2 served, 1 near fit only, 0 unmet), or None when a listing on its edge decides it."""
    active = [l for l in listings if l["properties"].get("status") == "active"]
    points = [(Point(l["geometry"]["coordinates"]), l["properties"]) for l in active]
    out = {}
    for d in demands:
        p = d["properties"]
        if p.get("status") != "active":
            continue
        area = shape(d["geometry"])
        prepared, edge = prep(area), area.boundary
        west, south, east, north = area.bounds
        best_low = best_high = 0
        for point, l in points:
            if not (west - EDGE_DEG <= point.x <= east + EDGE_DEG and south - EDGE_DEG <= point.y <= north + EDGE_DEG):
                continue
            grade = 2 if oracle.fits(l, p, 0) else 1 if oracle.fits(l, p, STRETCH) else 0
            if grade <= best_low:
                continue
            if edge.distance(point) <= EDGE_DEG:
                best_high = max(best_high, grade)
            elif prepared.contains(point):
                best_low = grade
                best_high = max(best_high, grade)
        out[d["id"]] = best_low if best_low == best_high else None
    return out


def expected_tables(listings, demands, districts, size_edges, budget_edges):
    """Per level, per district id: the totals and the cells {cell: [demands, unmet, listings]}; the demands left out."""
    placement = Placement(districts)
    grade = grades(listings, demands)
    tables = {}
    uncertain = set()
    for level in LEVELS:
        table = {f["id"]: {"active_demands": 0, "served_demands": 0, "near_fit_demands": 0, "unmet_demands": 0, "active_listings": 0,
                           "cells": {}} for f in districts if f["properties"].get("level") == level}
        if not table:
            continue
        for d in demands:
            if d["properties"].get("status") != "active":
                continue
            holder = placement.holder(shape(d["geometry"]).representative_point(), level)
            if holder is None:
                continue
            g = grade[d["id"]]
            if g is None:
                uncertain.add(holder)
                continue
            row = table[holder]
            cell = row["cells"].setdefault(demand_cell(d["properties"], size_edges, budget_edges), [0, 0, 0])
            row["active_demands"] += 1
            cell[0] += 1
            if g == 2:
                row["served_demands"] += 1
            elif g == 1:
                row["near_fit_demands"] += 1
            else:
                row["unmet_demands"] += 1
                cell[1] += 1
        for l in listings:
            if l["properties"].get("status") != "active":
                continue
            holder = placement.holder(Point(l["geometry"]["coordinates"]), level)
            if holder is None:
                continue
            table[holder]["active_listings"] += 1
            table[holder]["cells"].setdefault(listing_cell(l["properties"], size_edges, budget_edges), [0, 0, 0])[2] += 1
        tables[level] = table
    return tables, uncertain


def determined(equations, unknowns):
    """The unknowns that the linear equations fix (exact elimination over fractions, sparse rows).
    An equation is ({unknown: coefficient}, constant)."""
    number = {key: i for i, key in enumerate(unknowns)}
    name = {i: key for key, i in number.items()}
    rows = [{number[k]: v for k, v in e.items()} for e, _ in equations if e]
    pivots = {}
    for row in rows:
        row = {k: Fraction(v) for k, v in row.items() if v}
        for col, prow in pivots.items():  # reduce by the pivots found so far
            if col in row:
                f = row[col]
                for k, v in prow.items():
                    row[k] = row.get(k, 0) - f * v
                    if row[k] == 0:
                        del row[k]
        if not row:
            continue
        col = min(row)
        f = row[col]
        row = {k: v / f for k, v in row.items()}
        for other in pivots.values():  # keep the pivot rows reduced
            if col in other:
                g = other[col]
                for k, v in row.items():
                    other[k] = other.get(k, 0) - g * v
                    if other[k] == 0:
                        del other[k]
        pivots[col] = row
    return {name[col] for col, row in pivots.items() if len(row) == 1}


def check_answer(label, answers, csv_text, indicators, tables, uncertain, districts, tally):
    """`answers`: level → features of the unmet answer; `indicators`: level → features of /indicators."""
    parent = {f["id"]: f["properties"].get("parent_id") for f in districts}
    unknown = {}       # (level, district, name or cell+measure) → the true value
    shown = {}
    figures = ("active_demands", "served_demands", "near_fit_demands", "unmet_demands", "active_listings")
    for level, features in answers.items():
        tally.levels += 1
        ind = {f["id"]: f["properties"] for f in indicators[level]}
        for f in features:
            did, props = f["id"], f["properties"]
            want = tables[level][did]
            exact = did not in uncertain
            for name in figures:
                key = (level, did, name)
                got = props.get(name)
                if got is None:
                    unknown[key] = want[name]
                    tally.withheld += 1
                    if exact and 0 < want[name] < WITHHELD_BELOW:
                        tally.primary += 1
                else:
                    shown[key] = got
                    tally.counts += 1
                    if exact and got != want[name]:
                        tally.fail(f"{label} {level} {did} {name}: RGIS {got}, oracle {want[name]}")
                    if 0 < got < WITHHELD_BELOW:
                        tally.fail(f"{label} {level} {did} {name}: {got} shown, under {WITHHELD_BELOW}")
            for name in ("active_demands", "active_listings"):
                if (props.get(name) is None) != (ind[did].get(name) is None):
                    tally.fail(f"{label} {level} {did} {name}: withheld here {props.get(name) is None}, by /indicators {ind[did].get(name) is None}")
            got_cells = {(c["type"], c["bedrooms"], c["size_m2"], c["budget"]): c for c in props.get("cells", [])}
            if exact and set(got_cells) != {k for k, v in want["cells"].items() if any(v)}:
                tally.fail(f"{label} {level} {did}: cells {sorted(set(got_cells) ^ set(want['cells']))[:4]} differ")
            for cell, c in got_cells.items():
                truth = want["cells"].get(cell, [0, 0, 0])
                for m, measure in enumerate(("demands", "unmet", "listings")):
                    key = (level, did, cell, measure)
                    if c[measure] is None:
                        unknown[key] = truth[m]
                        tally.withheld += 1
                        if exact and 0 < truth[m] < WITHHELD_BELOW:
                            tally.primary += 1
                    else:
                        shown[key] = c[measure]
                        tally.counts += 1
                        if exact and c[measure] != truth[m]:
                            tally.fail(f"{label} {level} {did} {cell} {measure}: RGIS {c[measure]}, oracle {truth[m]}")
                        if 0 < c[measure] < WITHHELD_BELOW:
                            tally.fail(f"{label} {level} {did} {cell} {measure}: {c[measure]} shown, under {WITHHELD_BELOW}")
            if uncertain and not exact:
                tally.uncertain += 1
            tally.unmet += want["unmet_demands"]
            tally.near += want["near_fit_demands"]
            top = props.get("top_unmet", [])
            expected_top = sorted((c for c in got_cells.values() if (c["unmet"] or 0) > 0),
                                  key=lambda c: (-c["unmet"], -(c["demands"] or 0)))[:len(top)]
            if [c["unmet"] for c in top] != [c["unmet"] for c in expected_top]:
                tally.fail(f"{label} {level} {did}: top_unmet {[c['unmet'] for c in top]} is not the largest shown {[c['unmet'] for c in expected_top]}")

    # The equations a reader can write down.
    def term(key):
        return (key, None) if key in unknown else (None, shown.get(key, 0))

    equations = []

    def equation(total, parts):
        coefficients, constant = {}, 0
        for sign, key in [(-1, total)] + [(1, p) for p in parts]:
            k, v = term(key)
            if k is None:
                constant -= sign * v
            else:
                coefficients[k] = coefficients.get(k, 0) + sign
        equations.append(({k: v for k, v in coefficients.items() if v}, constant))

    by_level = {level: {f["id"]: f for f in features} for level, features in answers.items()}
    for level, features in by_level.items():
        for did, f in features.items():
            cells = [(c["type"], c["bedrooms"], c["size_m2"], c["budget"]) for c in f["properties"].get("cells", [])]
            equation((level, did, "active_demands"), [(level, did, n) for n in ("served_demands", "near_fit_demands", "unmet_demands")])
            equation((level, did, "active_demands"), [(level, did, c, "demands") for c in cells])
            equation((level, did, "unmet_demands"), [(level, did, c, "unmet") for c in cells])
            equation((level, did, "active_listings"), [(level, did, c, "listings") for c in cells])
    for i in range(1, len(LEVELS)):
        upper, lower = LEVELS[i - 1], LEVELS[i]
        if upper not in by_level or lower not in by_level:
            continue
        for pid, pf in by_level[upper].items():
            kids = [k for k in by_level[lower] if parent.get(k) == pid]
            if not kids:
                continue
            for name in figures:
                equation((upper, pid, name), [(lower, k, name) for k in kids])
            for c in pf["properties"].get("cells", []):
                cell = (c["type"], c["bedrooms"], c["size_m2"], c["budget"])
                for measure in ("demands", "unmet", "listings"):
                    equation((upper, pid, cell, measure), [(lower, k, cell, measure) for k in kids
                                                           if any((x["type"], x["bedrooms"], x["size_m2"], x["budget"]) == cell
                                                                  for x in by_level[lower][k]["properties"].get("cells", []))])
    tally.equations += len(equations)
    found = determined(equations, unknown)
    for key in sorted(found, key=str)[:10]:
        tally.fail(f"{label}: withheld {key} (truly {unknown[key]}) follows from the published counts")
    if found:
        tally.fail(f"{label}: {len(found)} withheld counts recoverable")

    # The CSV holds the same counts as the GeoJSON (of the level it was asked for).
    rows = list(csv.DictReader(io.StringIO(csv_text[1])))
    level_features = {f["id"]: f["properties"] for f in answers[csv_text[0]]}
    for row in rows:
        props = level_features[row["id"]]
        if row["type"] == "all":
            for name in figures:
                want = props.get(name)
                if (row[name] or None) != (None if want is None else str(want)):
                    tally.fail(f"{label} csv {row['id']} {name}: {row[name]!r} vs {want}")
        else:
            c = next(c for c in props["cells"] if (c["type"], c["bedrooms"], c["size_m2"], c["budget"]) == (row["type"], row["bedrooms"], row["size_m2"], row["budget"]))
            if (row["active_demands"] or None) != (None if c["demands"] is None else str(c["demands"])):
                tally.fail(f"{label} csv {row['id']} {row['type']} demands: {row['active_demands']!r} vs {c['demands']}")


def run_market(label, rgis, server, planner_token, options, tally, levels):
    database = rgis.database

    def export(layer):
        return json.loads(rgis.run("export", database, "--layer", layer))["features"]

    listings, demands, districts = export("listings"), export("demands"), export("districts")
    size_edges = [float(x) for x in options.get("size_bands", "40,60,80,120").split(",")]
    budget_edges = [float(x) for x in options.get("budget_bands", "200000,400000,700000,1000000").split(",")]
    tables, uncertain = expected_tables(listings, demands, districts, size_edges, budget_edges)
    flags = [a for k, v in options.items() for a in (f"--{k.replace('_', '-')}", v)]
    # Over HTTP the bands are the server's (serve --unmet-size-bands, --unmet-budget-bands): only top is asked.
    query = "".join(f"&{k}={v}" for k, v in options.items() if k == "top")
    indicators = {level: rgis.features("indicators", database, "--level", level) for level in levels}

    cli = {level: rgis.features("indicators", database, "--unmet", "--level", level, *flags) for level in levels}
    cli_csv = (levels[-1], rgis.run("indicators", database, "--unmet", "--level", levels[-1], "--format", "csv", *flags))
    check_answer(f"{label} CLI", cli, cli_csv, indicators, tables, uncertain, districts, tally)

    def get(path):
        request = urllib.request.Request(server.url + path, headers={"Authorization": f"Bearer {planner_token}"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read().decode()

    http = {level: json.loads(get(f"/indicators/unmet?level={level}{query}"))["features"] for level in levels}
    http_csv = (levels[0], get(f"/indicators/unmet?level={levels[0]}&f=csv{query}"))
    check_answer(f"{label} HTTP", http, http_csv, indicators, tables, uncertain, districts, tally)
    for level in levels:
        if json.dumps(cli[level], sort_keys=True) != json.dumps(http[level], sort_keys=True):
            tally.fail(f"{label} {level}: the CLI and HTTP answers differ")


def planner(rgis):
    rgis.run("users", "add", rgis.database, "oracle-planner", "--role", "planner")
    return rgis.run("tokens", "create", rgis.database, "oracle-planner").strip()


def berlin_market(rgis, geodata, workdir, rng):
    """Berlin's real listings (bedrooms and nightly price as published), the boundary as the city and its
    quarters as districts, and demands placed around the listings."""
    boundary = oracle.load(f"{geodata}/berlin-prenzlauer/boundary.geojson")[0]
    area = shape(boundary["geometry"])
    west, south, east, north = area.bounds
    mx, my = (west + east) / 2, (south + north) / 2
    districts = [{"type": "Feature", "id": "BER", "geometry": boundary["geometry"], "properties": {"level": "city", "name": "Helmholtzplatz"}}]
    for i, (x0, y0, x1, y1) in enumerate([(west, south, mx, my), (mx, south, east, my), (west, my, mx, north), (mx, my, east, north)]):
        quarter = area.intersection(box(x0, y0, x1, y1))
        districts.append({"type": "Feature", "id": f"BER-{i + 1}", "geometry": mapping(quarter),
                          "properties": {"level": "district", "name": f"Quarter {i + 1}", "parent_id": "BER"}})
    listings = []
    for i, f in enumerate(oracle.load(f"{geodata}/berlin-prenzlauer/listings.geojson")):
        p = f["properties"]
        listings.append({"type": "Feature", "id": f"BL{i + 1}", "geometry": f["geometry"],
                         "properties": {"status": "active" if i % 5 else "withdrawn", "property_type": "apartment",
                                        **({"bedrooms": int(p["bedrooms"])} if p.get("bedrooms") is not None else {}),
                                        **({"list_price": p["price"]} if p.get("price") else {})}})
    demands = []
    for i in range(400):
        anchor = rng.choice(listings)["geometry"]["coordinates"]
        demands.append({"type": "Feature", "id": f"BD{i + 1}",
                        "geometry": {"type": "Point", "coordinates": [anchor[0] + rng.uniform(-0.003, 0.003), anchor[1] + rng.uniform(-0.002, 0.002)]},
                        "properties": {"client_id": f"BC{i // 2 + 1}", "agent": "agent-b", "status": "active" if i % 7 else "paused",
                                       "radius_m": rng.choice([60, 120, 250, 400]), "budget_max": rng.choice([40, 60, 90, 150, 250]),
                                       "bedrooms_min": rng.choice([0, 1, 1, 2, 3]), "property_types": "apartment"}})
    paths = {}
    for name, features in (("districts", districts), ("listings", listings), ("demands", demands)):
        paths[name] = os.path.join(workdir, f"berlin-{name}.geojson")
        with open(paths[name], "w") as out:
            json.dump({"type": "FeatureCollection", "features": features}, out)
    rgis.run("init", rgis.database)
    for layer in ("districts", "listings", "demands"):
        rgis.run("import", rgis.database, "--layer", layer, paths[layer])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rgis", required=True)
    parser.add_argument("--geodata", required=True)
    parser.add_argument("--demo", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database-base", help="postgresql://user@host:port: build the databases on this PostgreSQL server")
    args = parser.parse_args()
    oracle.DATABASE_BASE = args.database_base
    os.makedirs(args.workdir, exist_ok=True)
    rng = random.Random(args.seed)
    tally = Tally()

    demo = oracle.demo_database(args.rgis, args.demo, args.workdir, "unmet_demo")
    token = planner(demo)
    server = oracle.Server(args.rgis, demo.database, "--rate-limit", "0")
    try:
        run_market("demo", demo, server, token, {}, tally, list(LEVELS))
        # A planner may not choose the bands: tables of other bands side by side would give cells away.
        try:
            urllib.request.urlopen(urllib.request.Request(f"{server.url}/indicators/unmet?budget_bands=1,2",
                                                          headers={"Authorization": f"Bearer {token}"}), timeout=60)
            tally.fail("budget_bands accepted over HTTP")
        except urllib.error.HTTPError as e:
            if e.code != 400:
                tally.fail(f"budget_bands over HTTP: {e.code}, not 400")
    finally:
        server.stop()
    server = oracle.Server(args.rgis, demo.database, "--rate-limit", "0", "--unmet-size-bands", "50,100", "--unmet-budget-bands", "300000,600000,900000")
    try:
        run_market("demo (bands)", demo, server, token, {"size_bands": "50,100", "budget_bands": "300000,600000,900000", "top": "3"},
                   tally, ["district", "subdistrict"])
    finally:
        server.stop()

    berlin = oracle.RGIS(args.rgis, oracle.database_at(args.workdir, "unmet_berlin"))
    oracle.fresh(berlin.database)
    berlin_market(berlin, args.geodata, args.workdir, rng)
    token = planner(berlin)
    server = oracle.Server(args.rgis, berlin.database, "--rate-limit", "0", "--unmet-budget-bands", "50,100,200")
    try:
        run_market("berlin", berlin, server, token, {"budget_bands": "50,100,200"}, tally, ["city", "district"])
    finally:
        server.stop()

    print(f"unmet oracle: {tally.levels} level answers (CLI and HTTP, demo city and Berlin), {tally.counts} counts compared, "
          f"{tally.withheld} withheld ({tally.primary} of 1 to 4, the rest complementary), {tally.equations} equations solved, "
          f"0 recoverable unless named below; {tally.unmet} unmet and {tally.near} near-fit-only demands; "
          f"{tally.uncertain} districts with a demand decided by a listing on its area's edge")
    oracle.report("unmet oracle", tally.failures)


if __name__ == "__main__":
    main()
