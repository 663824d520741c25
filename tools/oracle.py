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
import time
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rgis_serve  # noqa: E402
from placement import Placement  # noqa: E402
from pyproj import Geod  # noqa: E402
from shapely.geometry import Point, Polygon, shape  # noqa: E402

GEOD = Geod(ellps="WGS84")
BOUNDARY_TOLERANCE_DEG = 1e-7  # about 1 cm: points this close to a polygon's edge may go either way


# `--database-base postgresql://user@host:port`: every database the oracle builds is a new PostgreSQL
# database on that server instead of a file in the work directory.
DATABASE_BASE = None


def database_at(workdir, name):
    if DATABASE_BASE:
        return f"{DATABASE_BASE}/oracle_{name}_{os.getpid()}_{random.randrange(1 << 30):x}?sslmode=disable"
    return os.path.join(workdir, f"{name}.sqlite")


def fresh(database):
    if database.startswith("postgresql://"):
        return
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(database + suffix):
            os.remove(database + suffix)


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


class Server:
    """`rgis serve` on a database, started once: many questions over HTTP instead of a process each."""

    def __init__(self, binary, database, *options, api_key="oracle-key"):
        self.api_key = api_key
        self.proc, self.url = rgis_serve.start(binary, database, "--api-key", api_key, "--request-timeout", "120", *options)

    def get(self, path):
        import urllib.request
        request = urllib.request.Request(self.url + path, headers={"X-API-Key": self.api_key})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def features(self, path):
        out = self.get(path)
        assert out["type"] == "FeatureCollection"
        assert "next" not in out, "a page was cut: raise limit"
        return out["features"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def demo_database(binary, demo, workdir, name, events=False):
    """The demo city (geodata/) in a new database, a file in workdir or one on --database-base; with its
    dated history (events.csv) when asked."""
    rgis = RGIS(binary, database_at(workdir, name))
    fresh(rgis.database)
    rgis.run("init", rgis.database)
    for layer in ("districts", "parcels", "buildings", "listings", "demands"):
        rgis.run("import", rgis.database, "--layer", layer, f"{demo}/{layer}.geojson")
    if events:
        rgis.run("events", "import", rgis.database, f"{demo}/events.csv")
    return rgis


def report(name, failures):
    """Prints the first mismatches and ends the run: non-zero when there is any."""
    for failure in failures[:25]:
        print("MISMATCH", failure)
    if failures:
        print(f"{name}: {len(failures)} mismatches")
        sys.exit(1)
    print(f"{name}: all answers agree")


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
        check_distances(f"radius {lon},{lat} r={radius:.1f}", got, expected, tally)


def check_distances(label, got, expected, tally):
    """The answer sorted by distance_m, and each distance_m the oracle's (where the oracle has the id)."""
    distances = [f["properties"]["distance_m"] for f in got]
    if distances != sorted(distances):
        tally.fail(f"{label}: not sorted by distance")
    for f in got:
        i, d = f["id"], f["properties"]["distance_m"]
        if i in expected:
            error = abs(d - expected[i])
            tally.max_error_m = max(tally.max_error_m, error)
            # distance_m is rounded to the millimetre, hence the 0.0005.
            if error > 0.01 + 1e-6 * expected[i] + 0.0005:
                tally.fail(f"{label}: distance of {i} is {d}, oracle {expected[i]:.4f}")
    tally.ids += len(got)


def check_nearest(rgis, points, all_points, rng, tally, count):
    """k nearest from centres in and around a layer, and a few far from every point (between the cities):
    the k smallest geodesic distances over every point of the database, whoever holds them."""
    lons = [c[0] for _, c in points]
    lats = [c[1] for _, c in points]
    centres = [(rng.uniform(min(lons) - 0.05, max(lons) + 0.05), rng.uniform(min(lats) - 0.05, max(lats) + 0.05)) for _ in range(count)]
    centres += [(rng.uniform(2.0, 12.0), rng.uniform(50.0, 56.0)) for _ in range(2)]
    for lon, lat in centres:
        k = rng.choice([1, 10, 100, 500])
        got = rgis.features("query", "nearest", rgis.database, "--lon", repr(lon), "--lat", repr(lat), "--k", str(k))
        tally.queries += 1
        _, _, dist = GEOD.inv([lon] * len(all_points), [lat] * len(all_points),
                              [c[0] for _, c in all_points], [c[1] for _, c in all_points])
        ranked = sorted(zip(dist, (i for i, _ in all_points)))
        if len(got) != k:
            tally.fail(f"nearest {lon},{lat} k={k}: {len(got)} features")
            continue
        kth = ranked[k - 1][0]
        expected = {i: d for d, i in ranked if d <= kth + 0.01}
        sure = {i for d, i in ranked[:k] if d < kth - 0.01}
        got_ids = {f["id"]: f["properties"]["distance_m"] for f in got}
        if not sure <= set(got_ids) or not set(got_ids) <= set(expected):
            tally.fail(f"nearest {lon},{lat} k={k}: ids differ: {sorted(set(got_ids) ^ sure)[:5]}")
        check_distances(f"nearest {lon},{lat} k={k}", got, expected, tally)


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
    placement = Placement(json.loads(rgis.run("export", rgis.database, "--layer", "districts"))["features"])
    for _ in range(count):
        lon, lat = rng.uniform(-0.5, 0.3), rng.uniform(51.3, 51.7)
        got = {f["id"] for f in rgis.features("query", "district", rgis.database, "--lon", repr(lon), "--lat", repr(lat))}
        expected = set(placement.holders((lon, lat)))
        tally.queries += 1
        if got != expected:
            tally.fail(f"district at {lon},{lat}: {sorted(got)} vs oracle {sorted(expected)}")
        tally.ids += len(got)


def check_edges(binary, workdir, tally):
    """Antimeridian and pole: a circle that wraps around must find points on both sides."""
    database = database_at(workdir, "edges")
    fresh(database)
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


STRETCH = 0.10


def fits(listing, demand, stretch=STRETCH):
    """The fit rules of RGIS's matching, restated: type, bedrooms, budget and living area with 10 % stretch
    (0 for a full fit); `listing` and `demand` are features, or their properties."""
    l, d = listing.get("properties", listing), demand.get("properties", demand)
    types = d.get("property_types")
    if types and l.get("property_type") and l["property_type"] not in types.split(","):
        return False
    if d.get("bedrooms_min") is not None and l.get("bedrooms") is not None and l["bedrooms"] < d["bedrooms_min"]:
        return False
    if d.get("budget_max") is not None and l.get("list_price") is not None and l["list_price"] > d["budget_max"] * (1 + stretch):
        return False
    area = l.get("living_area_m2")
    if area is not None and d.get("area_min_m2") is not None and area < d["area_min_m2"] * (1 - stretch):
        return False
    if area is not None and d.get("area_max_m2") is not None and area > d["area_max_m2"] * (1 + stretch):
        return False
    return True


class SearchAreas:
    """Demand search areas as the source file gives them: a polygon, or a centre and a geodesic radius.
    A point within 0.3 % of a circle's rim may go either way (the stored circle is a 64-gon in UTM)."""

    def __init__(self, demands):
        self.areas = {}
        for f in demands:
            g = f["geometry"]
            if g["type"] == "Point":
                self.areas[f["id"]] = ("circle", g["coordinates"], f["properties"]["radius_m"])
            else:
                self.areas[f["id"]] = ("polygon", shape(g), None)

    def holds(self, demand_id, lon, lat):
        """True, False, or None when the point is too near the edge to call."""
        kind, value, radius = self.areas[demand_id]
        if kind == "circle":
            _, _, d = GEOD.inv(value[0], value[1], lon, lat)
            if abs(d - radius) <= 0.003 * radius:
                return None
            return d <= radius
        p = Point(lon, lat)
        if value.boundary.distance(p) <= BOUNDARY_TOLERANCE_DEG:
            return None
        return value.contains(p)


def check_matching(binary, demo, workdir, rng, tally, count):
    database = database_at(workdir, "demo")
    fresh(database)
    rgis = RGIS(binary, database)
    rgis.run("init", database)
    for layer in ("districts", "parcels", "buildings", "listings", "demands"):
        rgis.run("import", database, "--layer", layer, f"{demo}/{layer}.geojson")
    listings = load(f"{demo}/listings.geojson")
    demands = load(f"{demo}/demands.geojson")
    areas = SearchAreas(demands)
    by_id = {f["id"]: f for f in listings}
    active_listings = [f for f in listings if f["properties"].get("status", "active") == "active"]
    active_demands = [f for f in demands if f["properties"].get("status", "active") == "active"]

    # The questions go to one server (the CLI twins print the same output; QueryCLITests compare them).
    server = Server(binary, database)
    for demand in rng.sample(demands, count):
        answer = server.features(f"/match/demands/{demand['id']}/listings?limit=10000")
        got = [f["id"] for f in answer]
        scores = [f["properties"]["score"] for f in answer]
        expected, uncertain = set(), set()
        for l in active_listings:
            if not fits(l, demand):
                continue
            inside = areas.holds(demand["id"], *l["geometry"]["coordinates"])
            if inside is None:
                uncertain.add(l["id"])
            elif inside:
                expected.add(l["id"])
        tally.queries += 1
        tally.ids += len(got)
        tally.boundary += len(uncertain)
        differ = (expected ^ set(got)) - uncertain
        if differ:
            tally.fail(f"match client {demand['id']}: ids differ: {sorted(differ)[:5]}")
        if scores != sorted(scores, reverse=True):
            tally.fail(f"match client {demand['id']}: not ranked by score")

    for listing in rng.sample(active_listings, count):
        got = {f["id"] for f in server.features(f"/match/listings/{listing['id']}/demands")}
        expected, uncertain = set(), set()
        for d in active_demands:
            if not fits(listing, d):
                continue
            inside = areas.holds(d["id"], *listing["geometry"]["coordinates"])
            if inside is None:
                uncertain.add(d["id"])
            elif inside:
                expected.add(d["id"])
        tally.queries += 1
        tally.ids += len(got)
        tally.boundary += len(uncertain)
        differ = (expected ^ got) - uncertain
        if differ:
            tally.fail(f"match listing {listing['id']}: ids differ: {sorted(differ)[:5]}")
    server.stop()
    return rgis, database


def year_before(day):
    """The same day a year earlier; 29 February becomes 28 February."""
    from datetime import date
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return date(day.year - 1, day.month, 28)


def check_indicators(rgis, database, tally, as_of="2026-11-23", since="2025-11-23", server=None, unsold_days=None):
    """Recomputes district indicators from the exported layers with shapely and plain Python. With
    since=None RGIS is not told the period's start and must default to a calendar year before as_of;
    with a server the answers come over HTTP (`/indicators`) instead of the CLI. With unsold_days the
    long-unsold threshold is asked for (else the default 180 days is checked). Floor areas and the
    long-unsold count and share are compared where the count they go with is shown, and must be
    withheld where it is not."""
    from datetime import date
    from statistics import median

    def export(layer):
        return json.loads(rgis.run("export", database, "--layer", layer))["features"]

    listings, demands, all_districts = export("listings"), export("demands"), export("districts")
    placement = Placement(all_districts)
    end = date.fromisoformat(as_of)
    asked_since = since
    since = since or year_before(end).isoformat()
    for level in ("district", "subdistrict"):
        districts = [d for d in all_districts if d["properties"]["level"] == level]
        listing_in = [placement.holder(Point(l["geometry"]["coordinates"]), level) for l in listings]
        demand_in = [placement.holder(shape(m["geometry"]).representative_point(), level) for m in demands]
        if server:
            answer = server.features(f"/indicators?level={level}&as_of={as_of}" + (f"&since={asked_since}" if asked_since else "")
                                     + (f"&long_unsold_days={unsold_days}" if unsold_days else ""))
        else:
            answer = rgis.features("indicators", database, "--level", level, "--as-of", as_of, *(["--since", asked_since] if asked_since else []),
                                   *(["--long-unsold-days", str(unsold_days)] if unsold_days else []))
        got = {f["id"]: f["properties"] for f in answer}
        for d in districts:
            inside = [l["properties"] for l, holder in zip(listings, listing_in) if holder == d["id"]]
            active = [p for p in inside if p.get("status") == "active"]
            per_m2 = [p["list_price"] / p["living_area_m2"] for p in active if p.get("list_price") and p.get("living_area_m2")]
            days = [(end - date.fromisoformat(p["list_date"][:10])).days for p in active if p.get("list_date")]
            days = [n for n in days if n >= 0]  # listed after as_of: not on the market that day
            closed = [p for p in inside if p.get("status") == "closed" and since <= p.get("close_date", "") <= as_of + "~"]
            wants = [m["properties"] for m, holder in zip(demands, demand_in)
                     if m["properties"].get("status") == "active" and holder == d["id"]]
            def half_up(x):  # as Swift's rounded(): halves away from zero, not Python's to even
                return math.floor(x + 0.5)

            expected = {
                "active_listings": len(active) if len(active) == 0 or len(active) >= 5 else None,
                "median_price_per_m2": half_up(median(per_m2)) if len(per_m2) >= 5 else None,
                "median_days_on_market": half_up(median(days)) if len(days) >= 5 else None,
                "closed_in_period": len(closed) if len(closed) == 0 or len(closed) >= 5 else None,
                "active_demands": len(wants) if len(wants) == 0 or len(wants) >= 5 else None,
                "median_budget": half_up(median([w["budget_max"] for w in wants])) if len(wants) >= 5 else None,
            }
            tally.queries += 1
            for key, value in expected.items():
                g = got[d["id"]].get(key)
                tally.ids += 1
                if (value is None) != (g is None) or (value is not None and abs(g - value) > 0.5):
                    tally.fail(f"indicators {level} {d['id']} {key}: {g} vs oracle {value}")
            # Vacancy: the floor areas go with their counts; a listing is long unsold on the market more
            # than the threshold's days on as_of.
            threshold = unsold_days or 180
            listed = [n for n in days]
            long_unsold = [p for p in active if p.get("list_date") and (end - date.fromisoformat(p["list_date"][:10])).days > threshold]
            got_d = got[d["id"]]
            pairs = [("active_listings", "vacant_floor_area_m2", sum(p.get("living_area_m2") or 0 for p in active),
                      sum(p.get("living_area_m2") is not None for p in active)),
                     ("long_unsold_listings", "long_unsold_floor_area_m2", sum(p.get("living_area_m2") or 0 for p in long_unsold),
                      sum(p.get("living_area_m2") is not None for p in long_unsold))]
            if got_d.get("active_listings") is None and got_d.get("long_unsold_listings") is not None:
                tally.fail(f"indicators {level} {d['id']}: long_unsold_listings shown with active_listings withheld")
            if got_d.get("long_unsold_listings") is not None:
                tally.ids += 1
                if got_d["long_unsold_listings"] != len(long_unsold) or 0 < len(long_unsold) < 5:
                    tally.fail(f"indicators {level} {d['id']} long_unsold_listings: {got_d['long_unsold_listings']} vs oracle {len(long_unsold)}")
                share = round(len(long_unsold) / len(listed), 3) if len(listed) >= 5 else None
                if (share is None) != (got_d.get("long_unsold_share") is None) or (share is not None and abs(got_d["long_unsold_share"] - share) > 0.0005):
                    tally.fail(f"indicators {level} {d['id']} long_unsold_share: {got_d.get('long_unsold_share')} vs oracle {share}")
            elif got_d.get("long_unsold_share") is not None:
                tally.fail(f"indicators {level} {d['id']}: long_unsold_share shown with its count withheld")
            for count, area, want, sized in pairs:
                tally.ids += 1
                if got_d.get(count) is None or 0 < sized < 5:
                    if got_d.get(area) is not None:
                        tally.fail(f"indicators {level} {d['id']} {area} shown with {count} withheld or from {sized} living areas")
                elif got_d.get(area) is None or abs(got_d[area] - want) > 0.5 + 1e-6:  # whole m², the sum rounded
                    tally.fail(f"indicators {level} {d['id']} {area}: {got_d.get(area)} vs oracle {want:.1f}")
            if got_d.get("long_unsold_days") != threshold:
                tally.fail(f"indicators {level} {d['id']}: long_unsold_days {got_d.get('long_unsold_days')}, asked {threshold}")


def check_placement(rgis, tally):
    """On the shared real data (London boroughs, Berlin's boundary): the active listings per district
    that RGIS counts from the placement it stored at import, against shapely's covers by the placement rule."""
    districts = json.loads(rgis.run("export", rgis.database, "--layer", "districts"))["features"]
    points = [Point(f["geometry"]["coordinates"]) for f in json.loads(rgis.run("export", rgis.database, "--layer", "listings"))["features"]
              if f["properties"].get("status", "active") == "active"]
    got = {f["id"]: f["properties"] for f in rgis.features("indicators", rgis.database, "--level", "district")}
    placement = Placement(districts)
    holders = [placement.holder(p, "district") for p in points]
    for d in districts:
        inside = holders.count(d["id"])
        want = inside if inside == 0 or inside >= 5 else None
        tally.queries += 1
        tally.ids += inside
        if got.get(d["id"], {}).get("active_listings") != want:
            tally.fail(f"placement {d['id']}: RGIS {got.get(d['id'], {}).get('active_listings')} active listings, shapely {want}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rgis", required=True)
    parser.add_argument("--geodata", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--radius-queries", type=int, default=30, help="per point layer")
    parser.add_argument("--demo", help="the demo city's geodata/ folder, for the matching and indicator checks")
    parser.add_argument("--database-base", help="postgresql://user@host:port: build every database on this PostgreSQL server")
    args = parser.parse_args()
    global DATABASE_BASE
    DATABASE_BASE = args.database_base
    os.makedirs(args.workdir, exist_ok=True)
    database = database_at(args.workdir, "oracle")
    fresh(database)
    rgis = RGIS(args.rgis, database)
    build(rgis, args.geodata)
    rng = random.Random(args.seed)

    layers = point_layers(args.geodata)
    all_points = [p for pts in layers.values() for p in pts]
    radius, polygon, district, nearest = Tally(), Tally(), Tally(), Tally()
    for pts in layers.values():
        check_radius(rgis, pts, all_points, rng, radius, args.radius_queries)
    for pts in layers.values():
        check_nearest(rgis, pts, all_points, rng, nearest, 8)

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
    placement = Tally()
    check_placement(rgis, placement)
    edges = Tally()
    check_edges(args.rgis, args.workdir, edges)
    matching, indicators = Tally(), Tally()
    if args.demo:
        demo_rgis, demo_db = check_matching(args.rgis, args.demo, args.workdir, rng, matching, 25)
        check_indicators(demo_rgis, demo_db, indicators)
        # A leap day with the period left to its default (a calendar year back: 2023-02-28), by CLI and by HTTP.
        check_indicators(demo_rgis, demo_db, indicators, as_of="2024-02-29", since=None)
        server = Server(args.rgis, demo_db)
        check_indicators(demo_rgis, demo_db, indicators, as_of="2024-02-29", since=None, server=server)
        # A year as the long-unsold threshold, by CLI and HTTP.
        check_indicators(demo_rgis, demo_db, indicators, unsold_days=365)
        check_indicators(demo_rgis, demo_db, indicators, unsold_days=365, server=server)
        server.stop()

    print(f"oracle radius: {radius.queries} queries, {radius.ids} ids compared, largest distance error {radius.max_error_m * 1000:.3f} mm")
    print(f"oracle nearest: {nearest.queries} queries (k 1 to 500, near and far from the data), {nearest.ids} ids compared, "
          f"largest distance error {nearest.max_error_m * 1000:.3f} mm")
    print(f"oracle polygon: {polygon.queries} queries ({len(polygons)} polygons, intersects and within), "
          f"{polygon.ids} ids compared, {polygon.boundary} points within 1 cm of an edge left out")
    print(f"oracle district: {district.queries} point lookups, {district.ids} districts compared")
    print(f"oracle placement: {placement.queries} real districts, {placement.ids} listings placed as shapely places them")
    print(f"oracle antimeridian and pole: {edges.queries} queries, {edges.ids} ids compared")
    if args.demo:
        print(f"oracle matching: {matching.queries} queries (client → listings and listing → clients), {matching.ids} ids compared, "
              f"{matching.boundary} near a search area's edge left out")
        print(f"oracle indicators: {indicators.queries} districts on two levels and five questions "
              f"(CLI; 2024-02-29 with the default period by CLI and HTTP; a year as the long-unsold threshold by CLI and HTTP), "
              f"{indicators.ids} figures compared")
    failures = radius.failures + nearest.failures + polygon.failures + district.failures + placement.failures + edges.failures + matching.failures + indicators.failures
    for failure in failures[:20]:
        print("MISMATCH", failure)
    if failures:
        print(f"oracle: {len(failures)} mismatches")
        return 1
    print("oracle: all answers agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
