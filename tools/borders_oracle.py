#!/usr/bin/python3
"""Records on the borders of districts that tile a region: each counted in exactly one district per level.

Two levels of districts, both tiling their region with shared edges and vertices:
  * district: Chicago's 77 community areas (real boundaries; their shared vertices are exact);
  * subdistrict: a grid of 0.04° cells over part of Chicago, imported in shuffled order, so that the
    district imported first on a shared edge is not simply the western or southern one.
Listings: the community areas' shared vertices, and sales with coordinates rounded to two decimals (a
CSV, as county sales data comes), every 0.01° lattice point of the grid: its cells' corners, edges and
inside. Demands: small squares centred on lattice points, placed by their point on surface.

The oracle places every record by the rule itself (tools/placement.py: shapely's covers, the first
district in export order on a tie) and compares, on a SpatiaLite file or with --database-base on
PostgreSQL:
  * locate: `rgis query district` (CLI, a sample) and `GET /locate` (every listing point);
  * indicators by CLI and HTTP: active listings and demands per district, and, on the grid, that the
    counts add up to every record inside it (none lost on an edge, none counted twice);
  * each district's listings (`GET /districts/{id}/listings`): every listing in exactly one per level;
  * `rgis check` finds no misplaced record.

Run with Debian's /usr/bin/python3 (python3-shapely):
    tools/borders_oracle.py --rgis .build/debug/rgis --geodata ../shared/geodata --workdir /tmp/borders
"""
import argparse
import csv
import json
import os
import random
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402  (the CLI and server helpers and --database-base)
from placement import Placement  # noqa: E402
from shapely.geometry import Point, shape  # noqa: E402

GRID_WEST, GRID_SOUTH, GRID_COLUMNS, GRID_ROWS, GRID_STEP = -87.80, 41.80, 5, 4, 0.04
WITHHELD_BELOW = 5  # the indicators' small-number rule


def hundredths(k):
    """k/100 as the decimal a CSV writes, so that lattice points lie exactly where the grid's edges are."""
    return round(k / 100, 2)


def grid_cells(rng):
    cells = []
    for i in range(GRID_COLUMNS):
        for j in range(GRID_ROWS):
            w, s = hundredths(round(GRID_WEST * 100) + 4 * i), hundredths(round(GRID_SOUTH * 100) + 4 * j)
            e, n = hundredths(round(GRID_WEST * 100) + 4 * (i + 1)), hundredths(round(GRID_SOUTH * 100) + 4 * (j + 1))
            cells.append({"type": "Feature", "id": f"G{i}{j}", "properties": {"level": "subdistrict", "name": f"cell {i},{j}"},
                          "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}})
    rng.shuffle(cells)
    return cells


def lattice():
    """Every 0.01° point of the grid, edges and corners included, as (lon, lat) with two decimals."""
    x0, y0 = round(GRID_WEST * 100), round(GRID_SOUTH * 100)
    return [(hundredths(x0 + a), hundredths(y0 + b)) for a in range(4 * GRID_COLUMNS + 1) for b in range(4 * GRID_ROWS + 1)]


def shared_vertices(areas):
    """Vertices that belong to the rings of two community areas or more."""
    owners = {}
    for feature in areas:
        geometry = shape(feature["geometry"])
        polygons = geometry.geoms if geometry.geom_type == "MultiPolygon" else [geometry]
        for polygon in polygons:
            for ring in [polygon.exterior, *polygon.interiors]:
                for x, y in ring.coords:
                    owners.setdefault((x, y), set()).add(feature["properties"]["AREA_NUMBE"])
    return sorted(p for p, who in owners.items() if len(who) >= 2)


def write_geojson(path, features):
    with open(path, "w") as f:
        json.dump({"type": "FeatureCollection", "features": features}, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rgis", required=True)
    parser.add_argument("--geodata", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database-base", help="postgresql://user@host:port: build the database on this PostgreSQL server")
    args = parser.parse_args()
    oracle.DATABASE_BASE = args.database_base
    os.makedirs(args.workdir, exist_ok=True)
    rng = random.Random(args.seed)
    failures = []

    def expect(condition, message):
        if not condition:
            failures.append(message)

    # The districts: community areas as they come (file order), then the shuffled grid.
    areas = oracle.load(f"{args.geodata}/chicago/community_areas.geojson")
    district_features = [{"type": "Feature", "id": f"CA{int(f['properties']['AREA_NUMBE']):02d}",
                          "properties": {"level": "district", "name": f["properties"]["COMMUNITY"].title()},
                          "geometry": f["geometry"]} for f in areas]
    write_geojson(f"{args.workdir}/areas.geojson", district_features)
    write_geojson(f"{args.workdir}/grid.geojson", grid_cells(rng))

    vertices = shared_vertices(areas)
    sample = rng.sample(vertices, min(300, len(vertices)))
    write_geojson(f"{args.workdir}/vertices.geojson", [
        {"type": "Feature", "id": f"V{k:04d}", "geometry": {"type": "Point", "coordinates": list(p)},
         "properties": {"status": "active", "property_type": "apartment", "list_price": 200000 + k, "living_area_m2": 70,
                        "list_date": "2026-01-15"}} for k, p in enumerate(sample)])
    sales = lattice()
    with open(f"{args.workdir}/sales.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "lon", "lat", "status", "property_type", "list_price", "living_area_m2", "list_date"])
        for k, (lon, lat) in enumerate(sales):
            out.writerow([f"S{k:04d}", f"{lon:.2f}", f"{lat:.2f}", "active", "house", 300000 + k, 90, "2026-02-01"])
    half = 0.003
    wishes = list(sales)
    write_geojson(f"{args.workdir}/demands.geojson", [
        {"type": "Feature", "id": f"W{k:04d}", "geometry": {"type": "Polygon", "coordinates": [[
            [lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half], [lon - half, lat - half]]]},
         "properties": {"status": "active", "client_id": f"C{k:04d}", "agent": "agent-01", "budget_max": 400000, "created_at": "2026-01-10"}}
        for k, (lon, lat) in enumerate(wishes)])

    database = oracle.database_at(args.workdir, "borders")
    oracle.fresh(database)
    rgis = oracle.RGIS(args.rgis, database)
    rgis.run("init", database)
    rgis.run("import", database, "--layer", "districts", f"{args.workdir}/areas.geojson")
    rgis.run("import", database, "--layer", "districts", f"{args.workdir}/grid.geojson")
    # Listings before and after a change of districts are placed alike: vertices by the bulk import,
    # the sales' CSV, and the demands.
    rgis.run("import", database, "--layer", "listings", f"{args.workdir}/vertices.geojson")
    rgis.run("import", database, "--layer", "listings", f"{args.workdir}/sales.csv")
    rgis.run("import", database, "--layer", "demands", f"{args.workdir}/demands.geojson")

    districts = json.loads(rgis.run("export", database, "--layer", "districts"))["features"]
    placement = Placement(districts)
    listings = json.loads(rgis.run("export", database, "--layer", "listings"))["features"]
    demands = json.loads(rgis.run("export", database, "--layer", "demands"))["features"]
    listing_points = {l["id"]: Point(l["geometry"]["coordinates"]) for l in listings}
    demand_points = {m["id"]: shape(m["geometry"]).representative_point() for m in demands}
    on_edges = sum(1 for lon, lat in sales if round(lon * 100) % 4 == 0 or round(lat * 100) % 4 == 0)

    def in_grid(points):
        """The records whose point lies in the grid's closed extent: a plain box test, no placement."""
        east, north = GRID_WEST + GRID_STEP * GRID_COLUMNS + 1e-12, GRID_SOUTH + GRID_STEP * GRID_ROWS + 1e-12
        return sum(1 for p in points.values() if GRID_WEST - 1e-12 <= p.x <= east and GRID_SOUTH - 1e-12 <= p.y <= north)

    # Every record placed by the oracle, at both levels.
    expected = {level: {"listings": {}, "demands": {}} for level in ("district", "subdistrict")}
    for level, held in expected.items():
        for i, p in listing_points.items():
            held["listings"][i] = placement.holder(p, level)
        for i, p in demand_points.items():
            held["demands"][i] = placement.holder(p, level)
    expect(all(expected["subdistrict"]["listings"][f"S{k:04d}"] is not None for k in range(len(sales))),
           "the oracle left a lattice point of the grid outside every cell")

    # Locate: the CLI on a sample, the server on every listing point.
    looked = 0
    for i in rng.sample(sorted(listing_points), 60):
        p = listing_points[i]
        got = [f["id"] for f in rgis.features("query", "district", database, "--lon", repr(p.x), "--lat", repr(p.y))]
        expect(got == placement.holders(p), f"rgis query district at {p.x},{p.y}: {got}, the rule says {placement.holders(p)}")
        looked += 1
    server = oracle.Server(args.rgis, database, "--rate-limit", "0")  # a lookup a listing: past the default 600 a minute
    try:
        for i, p in listing_points.items():
            got = [f["id"] for f in server.features(f"/locate?lon={p.x!r}&lat={p.y!r}")]
            expect(got == placement.holders(p), f"GET /locate at {p.x},{p.y}: {got}, the rule says {placement.holders(p)}")
            looked += 1

        # Indicators, by CLI and HTTP: each district's counts, and on the grid their sum.
        compared = 0
        for level in ("district", "subdistrict"):
            ids = [d["id"] for d in districts if d["properties"]["level"] == level]
            want = {d: {"active_listings": sum(1 for h in expected[level]["listings"].values() if h == d),
                        "active_demands": sum(1 for h in expected[level]["demands"].values() if h == d)} for d in ids}
            answers = {"CLI": rgis.features("indicators", database, "--level", level, "--as-of", "2026-06-30"),
                       "HTTP": server.features(f"/indicators?level={level}&as_of=2026-06-30")}
            for how, answer in answers.items():
                got = {f["id"]: f["properties"] for f in answer}
                for d in ids:
                    for key, n in want[d].items():
                        shown = n if n == 0 or n >= WITHHELD_BELOW else None
                        expect(got.get(d, {}).get(key) == shown, f"{how} indicators {level} {d} {key}: {got.get(d, {}).get(key)}, the rule says {shown}")
                        compared += 1
                if level == "subdistrict":
                    for key, held in (("active_listings", in_grid(listing_points)), ("active_demands", in_grid(demand_points))):
                        counts = [got.get(d, {}).get(key) for d in ids]
                        total = sum(n for n in counts if n is not None)
                        expect(None not in counts and total == held,
                               f"{how}: the grid's cells count {total} for {key} ({counts.count(None)} withheld), the grid holds {held}")

        # Each district's listings: every listing in exactly one district per level.
        listed = 0
        for level in ("district", "subdistrict"):
            seen = {}
            for d in (d["id"] for d in districts if d["properties"]["level"] == level):
                page = server.features(f"/districts/{urllib.parse.quote(d)}/listings?limit=1000")
                for f in page:
                    seen.setdefault(f["id"], []).append(d)
            for i, held in expected[level]["listings"].items():
                got = seen.get(i, [])
                expect(got == ([held] if held else []), f"{level}: listing {i} listed in {got}, the rule says {held}")
                listed += 1
    finally:
        server.stop()

    check = subprocess.run([args.rgis, "check", database], capture_output=True, text=True)
    expect(check.returncode == 0, f"rgis check: {check.stdout}{check.stderr}")

    print(f"borders: {len(districts)} districts on two levels, {len(sample)} shared vertices of community areas and "
          f"{len(sales)} sales at two decimals ({on_edges} on the grid's edges), {len(wishes)} demands")
    print(f"borders: {looked} lookups (CLI and HTTP), {compared} indicator figures, {listed} district listings compared")
    for failure in failures[:20]:
        print("MISMATCH", failure)
    if failures:
        print(f"borders: {len(failures)} mismatches")
        sys.exit(1)
    print("borders: every record in exactly one district per level, as the rule says")


if __name__ == "__main__":
    main()
