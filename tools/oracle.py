#!/usr/bin/python3
"""Independent oracle for RGIS's spatial queries, on the shared real data.

Builds a database with `rgis`, asks it random radius, polygon and district questions through the CLI,
and answers the same questions from the GeoJSON files directly: pyproj's Geod(ellps='WGS84') for
geodesic distances, shapely for polygon predicates. Exits 1 when any answer differs.

Run with Debian's /usr/bin/python3 (python3-pyproj, python3-shapely):
    tools/oracle.py --rgis .build/debug/rgis --geodata ../shared/geodata --workdir /tmp/oracle
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys

from pyproj import Geod
from shapely.geometry import Point, Polygon, shape

GEOD = Geod(ellps="WGS84")
BOUNDARY_TOLERANCE_DEG = 1e-7  # about 1 cm: points this close to a polygon's edge may go either way


def load(path):
    with open(path) as f:
        return json.load(f)["features"]


class RGIS:
    def __init__(self, binary, database):
        self.binary, self.database = binary, database

    def run(self, *args, stdin=None):
        result = subprocess.run([self.binary, *args], input=stdin, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"rgis {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def features(self, *args, stdin=None):
        out = json.loads(self.run(*args, stdin=stdin))
        assert out["type"] == "FeatureCollection"
        assert "next" not in out, "a page was cut: raise --limit"
        return out["features"]


def build(rgis, geodata):
    rgis.run("init", rgis.database)
    rgis.run("import", rgis.database, "--layer", "listings", f"{geodata}/berlin-prenzlauer/listings.geojson")
    rgis.run("import", rgis.database, "--layer", "listings", f"{geodata}/london/cycle_hire.geojson")
    rgis.run("import", rgis.database, "--layer", "districts", f"{geodata}/london/boroughs.geojson", "--id-field", "GSS_CODE")
    rgis.run("import", rgis.database, "--layer", "districts", f"{geodata}/berlin-prenzlauer/boundary.geojson", "--upsert")


def point_layers(geodata):
    """Every point layer of the shared data, with the ids the import above gives its features."""
    berlin = [(f"listing-{i + 1}", f["geometry"]["coordinates"]) for i, f in enumerate(load(f"{geodata}/berlin-prenzlauer/listings.geojson"))]
    london = [(str(f["properties"]["id"]), f["geometry"]["coordinates"]) for f in load(f"{geodata}/london/cycle_hire.geojson")]
    return {"berlin-prenzlauer/listings": berlin, "london/cycle_hire": london}


class Tally:
    def __init__(self):
        self.queries, self.ids, self.failures, self.max_error_m, self.boundary = 0, 0, [], 0.0, 0

    def fail(self, message):
        self.failures.append(message)


def check_radius(rgis, points, all_points, rng, tally, count):
    lons = [c[0] for _, c in points]
    lats = [c[1] for _, c in points]
    for _ in range(count):
        lon = rng.uniform(min(lons) - 0.01, max(lons) + 0.01)
        lat = rng.uniform(min(lats) - 0.01, max(lats) + 0.01)
        radius = math.exp(rng.uniform(math.log(100), math.log(10_000)))
        got = rgis.features("query", "radius", rgis.database, "--lon", repr(lon), "--lat", repr(lat),
                            "--radius-m", repr(radius), "--limit", "10000")
        tally.queries += 1
        # The oracle: geodesic distance from the centre to every point of every layer in the database.
        ids = [i for i, _ in all_points]
        _, _, dist = GEOD.inv([lon] * len(all_points), [lat] * len(all_points),
                              [c[0] for _, c in all_points], [c[1] for _, c in all_points])
        expected = {i: d for i, d in zip(ids, dist) if d <= radius}
        near_rim = {i for i, d in zip(ids, dist) if abs(d - radius) <= 0.01}
        got_ids = {f["id"]: f["properties"]["distance_m"] for f in got}
        differ = (set(expected) ^ set(got_ids)) - near_rim
        if differ:
            tally.fail(f"radius {lon},{lat} r={radius:.1f}: ids differ: {sorted(differ)[:5]}")
        distances = [f["properties"]["distance_m"] for f in got]
        if distances != sorted(distances):
            tally.fail(f"radius {lon},{lat} r={radius:.1f}: not sorted by distance")
        for i, d in got_ids.items():
            if i in expected:
                error = abs(d - expected[i])
                tally.max_error_m = max(tally.max_error_m, error)
                # distance_m is rounded to the millimetre, hence the 0.0005.
                if error > 0.01 + 1e-6 * expected[i] + 0.0005:
                    tally.fail(f"radius {lon},{lat}: distance of {i} is {d}, oracle {expected[i]:.4f}")
        tally.ids += len(got_ids)


def star(rng, lon, lat, radius_deg, vertices):
    ring = []
    for k in range(vertices):
        a = 2 * math.pi * k / vertices
        r = radius_deg * rng.uniform(0.5, 1.0)
        ring.append((lon + r * math.cos(a) / math.cos(math.radians(lat)), lat + r * math.sin(a)))
    return ring


def check_polygons(rgis, polygons, all_points, tally, workdir):
    pts = [(i, Point(c)) for i, c in all_points]
    for n, (name, geometry) in enumerate(polygons):
        poly = shape(geometry)
        path = os.path.join(workdir, f"polygon-{n}.geojson")
        with open(path, "w") as f:
            json.dump(geometry, f)
        for within in (False, True):
            args = ["query", "polygon", rgis.database, "--geometry", path, "--limit", "10000"] + (["--within"] if within else [])
            got = {f["id"] for f in rgis.features(*args)}
            tally.queries += 1
            expected, uncertain = set(), set()
            for i, p in pts:
                if poly.boundary.distance(p) <= BOUNDARY_TOLERANCE_DEG:
                    uncertain.add(i)
                elif (p.within(poly) if within else p.intersects(poly)):
                    expected.add(i)
            tally.boundary += len(uncertain)
            differ = (expected ^ got) - uncertain
            if differ:
                tally.fail(f"polygon {name} ({'within' if within else 'intersects'}): ids differ: {sorted(differ)[:5]}")
            tally.ids += len(got)


def check_districts(rgis, boroughs, rng, tally, count):
    shapes = [(f["properties"]["GSS_CODE"], shape(f["geometry"])) for f in boroughs]
    for _ in range(count):
        lon, lat = rng.uniform(-0.5, 0.3), rng.uniform(51.3, 51.7)
        got = {f["id"] for f in rgis.features("query", "district", rgis.database, "--lon", repr(lon), "--lat", repr(lat))}
        p = Point(lon, lat)
        expected = {code for code, s in shapes if s.contains(p) and s.boundary.distance(p) > BOUNDARY_TOLERANCE_DEG}
        tally.queries += 1
        if got != expected:
            tally.fail(f"district at {lon},{lat}: {sorted(got)} vs oracle {sorted(expected)}")
        tally.ids += len(got)


def check_edges(binary, workdir, tally):
    """Antimeridian and pole: a circle that wraps around must find points on both sides."""
    database = os.path.join(workdir, "edges.sqlite")
    rgis = RGIS(binary, database)
    rgis.run("init", database)
    points = [("east", (179.99, -16.5)), ("west", (-179.99, -16.5)), ("far", (179.0, -16.5)),
              ("pole-a", (0.0, 89.995)), ("pole-b", (180.0, 89.995)), ("pole-c", (90.0, 89.9))]
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": i, "geometry": {"type": "Point", "coordinates": list(c)}, "properties": {}} for i, c in points]}
    path = os.path.join(workdir, "edges.geojson")
    with open(path, "w") as f:
        json.dump(collection, f)
    rgis.run("import", database, "--layer", "listings", path)
    for lon, lat, radius in [(179.99, -16.5, 5000), (-179.995, -16.5, 3000), (0.0, 89.999, 2000), (45.0, 89.99, 12000)]:
        got = {f["id"]: f["properties"]["distance_m"] for f in rgis.features(
            "query", "radius", database, "--lon", repr(lon), "--lat", repr(lat), "--radius-m", repr(radius))}
        _, _, dist = GEOD.inv([lon] * len(points), [lat] * len(points), [c[0] for _, c in points], [c[1] for _, c in points])
        expected = {i for (i, _), d in zip(points, dist) if d <= radius}
        tally.queries += 1
        tally.ids += len(got)
        if set(got) != expected:
            tally.fail(f"edge case radius {lon},{lat} r={radius}: {sorted(got)} vs oracle {sorted(expected)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rgis", required=True)
    parser.add_argument("--geodata", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--radius-queries", type=int, default=30, help="per point layer")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    database = os.path.join(args.workdir, "oracle.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(database + suffix):
            os.remove(database + suffix)
    rgis = RGIS(args.rgis, database)
    build(rgis, args.geodata)
    rng = random.Random(args.seed)

    layers = point_layers(args.geodata)
    all_points = [p for pts in layers.values() for p in pts]
    radius, polygon, district = Tally(), Tally(), Tally()
    for pts in layers.values():
        check_radius(rgis, pts, all_points, rng, radius, args.radius_queries)

    boroughs = load(f"{args.geodata}/london/boroughs.geojson")
    polygons = [("berlin boundary", load(f"{args.geodata}/berlin-prenzlauer/boundary.geojson")[0]["geometry"])]
    central = {"E09000033", "E09000007", "E09000019", "E09000020", "E09000022", "E09000028", "E09000001", "E09000030",
               "E09000012", "E09000013", "E09000032"}
    polygons += [(f["properties"]["NAME"], f["geometry"]) for f in boroughs if f["properties"]["GSS_CODE"] in central]
    # Drawn polygons with holes, over each point layer.
    for name, pts in layers.items():
        lons = [c[0] for _, c in pts]
        lats = [c[1] for _, c in pts]
        for k in range(5):
            lon = rng.uniform(min(lons), max(lons))
            lat = rng.uniform(min(lats), max(lats))
            outer = star(rng, lon, lat, 0.01, 24)
            hole = [(lon + 0.002 * math.cos(a) / math.cos(math.radians(lat)), lat + 0.002 * math.sin(a))
                    for a in (2 * math.pi * j / 12 for j in range(12))]
            poly = Polygon(outer, [hole])
            if not poly.is_valid:
                continue
            geometry = {"type": "Polygon", "coordinates": [list(map(list, poly.exterior.coords)),
                                                            list(map(list, poly.interiors[0].coords))]}
            polygons.append((f"drawn {name} #{k + 1}", geometry))
    check_polygons(rgis, polygons, all_points, polygon, args.workdir)
    check_districts(rgis, boroughs, rng, district, 20)
    edges = Tally()
    check_edges(args.rgis, args.workdir, edges)

    print(f"oracle radius: {radius.queries} queries, {radius.ids} ids compared, largest distance error {radius.max_error_m * 1000:.3f} mm")
    print(f"oracle polygon: {polygon.queries} queries ({len(polygons)} polygons, intersects and within), "
          f"{polygon.ids} ids compared, {polygon.boundary} points within 1 cm of an edge left out")
    print(f"oracle district: {district.queries} point lookups, {district.ids} districts compared")
    print(f"oracle antimeridian and pole: {edges.queries} queries, {edges.ids} ids compared")
    failures = radius.failures + polygon.failures + district.failures + edges.failures
    for failure in failures[:20]:
        print("MISMATCH", failure)
    if failures:
        print(f"oracle: {len(failures)} mismatches")
        return 1
    print("oracle: all answers agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
