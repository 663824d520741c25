#!/usr/bin/python3
"""Independent oracle for RGIS's monthly district series (`rgis indicators --series`).

Recomputes every figure of every district and month from the layers as `rgis export` writes them
(shapely places each listing by its point and each demand by its area's representative point, as
the indicators do) and from the change history CSV that was imported (`rgis events import`), with
plain Python, then compares with RGIS's JSON and CSV answers. Exits 1 on any difference.

Run with Debian's /usr/bin/python3 (python3-shapely):
    tools/series_oracle.py --rgis .build/debug/rgis --demo geodata --workdir /tmp/series --from 2025-01 --to 2026-11
    tools/series_oracle.py --rgis .build/debug/rgis --database demo.sqlite --events geodata/events.csv --from 2025-01 --to 2026-11
"""
import argparse
import csv
import io
import json
import math
import os
import subprocess
import sys
from calendar import monthrange
from datetime import date
from statistics import median

from shapely.geometry import Point, shape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from placement import Placement  # noqa: E402

FIGURES = ["new_listings", "closed_sales", "active_inventory", "median_list_price_per_m2", "median_close_price_per_m2",
           "median_days_on_market", "price_cut_share", "long_unsold_share", "months_of_supply", "absorption_rate", "active_demands",
           "new_demands", "median_budget", "demand_supply_ratio"]
MINIMUM = 5
# What RGIS may withhold beyond the small-number rule, as complements: the counts that add up across
# levels, and the ratios made from them.
COMPLEMENTABLE = {"new_listings", "closed_sales", "active_inventory", "active_demands", "new_demands",
                  "months_of_supply", "absorption_rate", "demand_supply_ratio"}


def run(rgis, *args):
    result = subprocess.run([rgis, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"rgis {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def half_up(x, digits):
    """Swift's rounded(): halves away from zero (Python's round() goes to even)."""
    scale = 10 ** digits
    return math.copysign(math.floor(abs(x) * scale + 0.5), x) / scale


def months_between(first, last):
    y, m = first
    while (y, m) <= last:
        yield (y, m)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def shift(month, n):
    index = month[0] * 12 + month[1] - 1 + n
    return (index // 12, index % 12 + 1)


def at_day(changes, day, current):
    """The value on a day: the last change on or before it, else the first change's old value."""
    before = [c for c in changes if c["day"] <= day]
    if before:
        return before[-1]["new"]
    if changes:
        return changes[0]["old"]
    return current


class Listing:
    def __init__(self, p, prices, statuses):
        self.p, self.prices, self.statuses = p, prices, statuses

    def status(self, day):
        listed = (self.p.get("list_date") or "")[:10]
        if not listed or listed > day:
            return None
        if self.p.get("status") == "closed" and self.p.get("close_date") and self.p["close_date"][:10] <= day:
            return "closed"
        if not self.statuses:
            return "active" if self.p.get("status") == "closed" else self.p.get("status")
        return at_day(self.statuses, day, None)

    def price(self, day):
        if not self.prices:
            return self.p.get("list_price")
        v = at_day(self.prices, day, None)
        return float(v) if v not in (None, "") else None

    def first_price(self):
        if not self.prices:
            return self.p.get("list_price")
        v = self.prices[0]["old"]
        return float(v) if v not in (None, "") else None


class Demand:
    def __init__(self, p, budgets, statuses):
        self.p, self.budgets, self.statuses = p, budgets, statuses

    def status(self, day):
        created = (self.p.get("created_at") or "")[:10]
        if not created or created > day:
            return None
        return at_day(self.statuses, day, self.p.get("status"))

    def budget(self, day):
        if not self.budgets:
            return self.p.get("budget_max")
        v = at_day(self.budgets, day, None)
        return float(v) if v not in (None, "") else None


class Figures:
    """One district-month's figures with the small-number rule: counts and bases of 1 to 4 withheld."""

    def __init__(self):
        self.values, self.suppressed = {}, set()

    def withhold(self, key):
        self.values[key] = None
        self.suppressed.add(key)

    def count(self, key, n):
        if 0 < n < MINIMUM:
            self.withhold(key)
        else:
            self.values[key] = n

    def median(self, key, xs, digits=0):
        if not xs:
            self.values[key] = None
        elif len(xs) < MINIMUM:
            self.withhold(key)
        else:
            self.values[key] = half_up(median(xs), digits)

    def share(self, key, part, whole):
        if whole == 0:
            self.values[key] = None
        elif whole < MINIMUM:
            self.withhold(key)
        else:
            self.values[key] = half_up(part / whole, 3)

    def ratio(self, key, numerator, denominator, digits=2):
        if numerator in self.suppressed or denominator in self.suppressed:
            return self.withhold(key)
        n, d = self.values.get(numerator), self.values.get(denominator)
        self.values[key] = half_up(n / d, digits) if n is not None and d else None


def figures(month, listings, demands):
    first = date(month[0], month[1], 1).isoformat()
    last_date = date(month[0], month[1], monthrange(*month)[1])
    last = last_date.isoformat()

    def in_month(day):
        return bool(day) and first <= day[:10] <= last

    f = Figures()
    active = [l for l in listings if l.status(last) == "active"]
    closed = [l for l in listings if l.p.get("status") == "closed" and in_month(l.p.get("close_date"))]
    f.count("new_listings", sum(1 for l in listings if in_month(l.p.get("list_date"))))
    f.count("closed_sales", len(closed))
    f.count("active_inventory", len(active))
    f.median("median_list_price_per_m2", [l.price(last) / l.p["living_area_m2"] for l in active
                                          if l.price(last) is not None and (l.p.get("living_area_m2") or 0) > 0])
    f.median("median_close_price_per_m2", [l.p["close_price"] / l.p["living_area_m2"] for l in closed
                                           if l.p.get("close_price") is not None and (l.p.get("living_area_m2") or 0) > 0])
    days = [(last_date - date.fromisoformat(l.p["list_date"][:10])).days for l in active]
    f.median("median_days_on_market", days)
    cut = sum(1 for l in active if l.price(last) is not None and l.first_price() is not None and l.price(last) < l.first_price())
    f.share("price_cut_share", cut, len(active))
    f.share("long_unsold_share", sum(1 for d in days if d > 180), len(active))
    f.ratio("months_of_supply", "active_inventory", "closed_sales")
    f.ratio("absorption_rate", "closed_sales", "active_inventory", digits=3)
    wanting = [d for d in demands if d.status(last) == "active"]
    f.count("active_demands", len(wanting))
    f.count("new_demands", sum(1 for d in demands if in_month(d.p.get("created_at"))))
    f.median("median_budget", [d.budget(last) for d in wanting if d.budget(last) is not None])
    f.ratio("demand_supply_ratio", "active_demands", "active_inventory")
    return f


def expected_series(districts, listings, demands, shown):
    """`districts`: those of one level, in export order (the placement rule's tie order)."""
    out = {}
    placement = Placement(districts)
    level = districts[0]["properties"]["level"] if districts else None
    listing_in = [placement.holder(pt, level) for _, pt in listings]
    demand_in = [placement.holder(pt, level) for _, pt in demands]
    for d in districts:
        inside = [l for (l, _), holder in zip(listings, listing_in) if holder == d["id"]]
        wants = [m for (m, _), holder in zip(demands, demand_in) if holder == d["id"]]
        cache = {}
        for month in set(shown) | {shift(m, -12) for m in shown}:
            cache[month] = figures(month, inside, wants)
        rows = []
        for month in shown:
            now, before = cache[month], cache[shift(month, -12)]
            yoy, suppressed = {}, set(now.suppressed)
            for key in FIGURES:
                if key in now.suppressed or key in before.suppressed:
                    yoy[key] = None
                    suppressed.add("yoy." + key)
                elif now.values.get(key) is not None and before.values.get(key):
                    yoy[key] = half_up((now.values[key] - before.values[key]) / abs(before.values[key]), 3)
                else:
                    yoy[key] = None
            rows.append({"month": "%04d-%02d" % month, "values": now.values, "yoy": yoy, "suppressed": sorted(suppressed)})
        out[d["id"]] = rows
    return out


STAGES = ["initial_contact", "viewing", "negotiation", "purchase", "after_sale", "lost"]


def check_segments(rgis, database, demo, all_districts, failures):
    """Clients with active demand per district and segment, from the source demands (their client's
    segment as first seen) placed as stored, against `rgis indicators --segments`."""
    with open(f"{demo}/demands.geojson") as f:
        source = json.load(f)["features"]
    segment_of = {}
    for feature in source:
        p = feature["properties"]
        if p.get("client_id") and p["client_id"] not in segment_of:
            segment_of[p["client_id"]] = p
    stored = json.loads(run(rgis, "export", database, "--layer", "demands"))["features"]
    active = [(m["properties"]["client_id"], shape(m["geometry"]).representative_point()) for m in stored
              if m["properties"].get("status") == "active" and m["properties"].get("client_id")]
    cells, protected = 0, 0
    for level in ("district", "subdistrict"):
        districts = [d for d in all_districts if d["properties"]["level"] == level]
        placement = Placement(districts)
        holders = [placement.holder(pt, level) for _, pt in active]
        for by in ("age_band", "household", "income_band", "lifecycle_stage"):
            counts = []
            for d in districts:
                clients = {c for (c, _), holder in zip(active, holders) if holder == d["id"]}
                counts.append({c: segment_of[c].get(by) for c in clients})
            values = sorted({v for row in counts for v in row.values() if v is not None},
                            key=lambda v: (STAGES.index(v) if by == "lifecycle_stage" and v in STAGES else len(STAGES), v))
            if any(v is None for row in counts for v in row.values()):
                values.append("unknown")
            table = [[sum(1 for v in row.values() if (v if v is not None else "unknown") == s) for s in values] + [len(row)] for row in counts]
            table.append([sum(r[c] for r in table) for c in range(len(values) + 1)])
            got = json.loads(run(rgis, "indicators", database, "--segments", by, "--level", level))
            if got["segments"] != values:
                failures.append(f"segments {level} {by}: {got['segments']} vs oracle {values}")
                continue
            rows = got["districts"] + [got["all_districts"]]
            # Every count shown is the oracle's, every small one (1 to 4) is withheld; which others are
            # withheld beside them (across rows, columns, levels and fields) tools/suppression_attack.py
            # checks by trying to recompute them.
            hidden = [[False] * (len(values) + 1) for _ in rows]
            for r, row in enumerate(rows):
                for c, s in enumerate(values + ["clients"]):
                    have = row["clients"] if s == "clients" else row["segments"][s]
                    cells += 1
                    hidden[r][c] = have is None
                    if have is not None and have != table[r][c]:
                        failures.append(f"segments {level} {by} {row['id']} {s}: {have} vs oracle {table[r][c]}")
                    if have is not None and 0 < table[r][c] < 5:
                        failures.append(f"segments {level} {by} {row['id']} {s}: {have} shown, but counts of 1 to 4 are withheld")
            # No withheld cell is a row's or a column's total minus the cells shown.
            for line in [[(r, c) for c in range(len(values) + 1)] for r in range(len(rows))] + \
                        [[(r, c) for r in range(len(rows))] for c in range(len(values) + 1)]:
                n = sum(hidden[r][c] for r, c in line)
                protected += n
                if n == 1:
                    failures.append(f"segments {level} {by}: a line with one withheld cell {line[0]}")
    print(f"segments oracle: 2 levels × 4 fields, {cells} cells compared, {protected // 2} withheld (primary and complementary)")


# The default early-warning rules: (id, metric, comparison, threshold).
RULES = [("oversupply", "months_of_supply", "above", 7), ("shortage", "months_of_supply", "below", 3),
         ("long_unsold", "long_unsold_share", "above", 0.30), ("inventory_growth", "yoy.active_inventory", "above", 0.25),
         ("price_rise", "quarter.median_list_price_per_m2", "above", 0.10), ("price_fall", "quarter.median_list_price_per_m2", "below", -0.10),
         ("weak_demand", "demand_supply_ratio", "below", 0.5), ("strong_demand", "demand_supply_ratio", "above", 2)]


def check_alerts(rgis, database, all_districts, listings, demands, as_of, failures):
    """Walks every district's months through the default rules: raised after two months beyond the
    threshold, cleared after one back within, withheld or undefined months skipped."""
    day = date.fromisoformat(as_of)
    month = (day.year, day.month)
    if day.day != monthrange(*month)[1]:
        month = shift(month, -1)
    shown = list(months_between(shift(month, -27), month))
    active, changes = set(), set()
    for level in ("city", "district", "subdistrict"):
        districts = [d for d in all_districts if d["properties"]["level"] == level]
        series = expected_series(districts, listings, demands, shown)
        # The months RGIS withholds beyond the small-number rule (complements across levels, checked
        # against the oracle's values in main() and for safety by tools/suppression_attack.py) are
        # skipped by its alerts as any withheld month is: the oracle skips them too.
        published = json.loads(run(rgis, "indicators", database, "--series", "--level", level,
                                   "--from", "%04d-%02d" % shown[0], "--to", "%04d-%02d" % shown[-1]))
        for d in published["districts"]:
            for r, m in zip(series.get(d["id"], []), d["months"]):
                for key in set(m["suppressed"]) - set(r["suppressed"]):
                    if key.startswith("yoy."):
                        r["yoy"][key[4:]] = None
                    else:
                        r["values"][key] = None
                    r["suppressed"] = sorted(set(r["suppressed"]) | {key})
        for district_id, rows in series.items():
            for rule, metric, comparison, threshold in RULES:
                def value(i):
                    if metric.startswith("yoy."):
                        return rows[i]["yoy"].get(metric[4:])
                    if metric.startswith("quarter."):
                        key = metric[8:]
                        now, before = rows[i]["values"].get(key), rows[i - 3]["values"].get(key)
                        return half_up((now - before) / abs(before), 3) if now is not None and before else None
                    return rows[i]["values"].get(metric)
                raised, since, streak = None, None, 0
                for i in range(3, len(rows)):
                    v = value(i)
                    if v is None:
                        continue
                    beyond = v > threshold if comparison == "above" else v < threshold
                    if beyond:
                        if streak == 0:
                            since = rows[i]["month"]
                        streak += 1
                        if raised is None and streak >= 2:
                            raised = since
                            changes.add((level, district_id, rule, since, "raised"))
                    else:
                        streak = 0
                        if raised is not None:
                            changes.add((level, district_id, rule, raised, "cleared"))
                            raised = None
                if raised is not None:
                    active.add((level, district_id, rule, raised))
    got = json.loads(run(rgis, "alerts", database, "--as-of", as_of))["features"]
    got_active = {(f["properties"]["level"], f["properties"]["district_id"], f["properties"]["rule"], f["properties"]["since"]) for f in got}
    if got_active != active:
        failures.append(f"alerts in force: RGIS {len(got_active)}, oracle {len(active)}; differ: {sorted(got_active ^ active)[:5]}")
    atom = run(rgis, "alerts", database, "--as-of", as_of, "--format", "atom")
    import xml.etree.ElementTree as ET
    ns = {"a": "http://www.w3.org/2005/Atom"}
    ids = {e.find("a:id", ns).text for e in ET.fromstring(atom).findall("a:entry", ns)}
    want = {f"urn:rgis:alert:{l}:{d}:{r}:{s}:{k}" for l, d, r, s, k in changes}
    if ids != want:
        failures.append(f"alert feed: RGIS {len(ids)} entries, oracle {len(want)}; differ: {sorted(ids ^ want)[:5]}")
    by_rule = {}
    for _, _, rule, _ in active:
        by_rule[rule] = by_rule.get(rule, 0) + 1
    print(f"alerts oracle: {len(active)} in force at {month[0]:04d}-{month[1]:02d} ({', '.join(f'{k} {v}' for k, v in sorted(by_rule.items()))}), "
          f"{len(want)} raised or cleared over two years")


def close(a, b, digits=3):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 10 ** -digits * 1.01


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rgis", required=True)
    parser.add_argument("--database", help="a database to check (else one is built from --demo in --workdir)")
    parser.add_argument("--events", help="the change history CSV imported into the database")
    parser.add_argument("--demo", help="the demo city's geodata/ folder: its layers and events.csv are imported")
    parser.add_argument("--workdir")
    parser.add_argument("--geodata", help="(unused: the shared data has no market history)")
    parser.add_argument("--from", dest="first", required=True)
    parser.add_argument("--to", dest="last", required=True)
    parser.add_argument("--levels", default="district,subdistrict")
    parser.add_argument("--alerts-as-of", default="2026-11-30", help="the day the alerts are checked for (with --demo)")
    args = parser.parse_args()

    if not args.database:
        import os
        os.makedirs(args.workdir, exist_ok=True)
        args.database = os.path.join(args.workdir, "series.sqlite")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(args.database + suffix):
                os.remove(args.database + suffix)
        run(args.rgis, "init", args.database)
        for layer in ("districts", "listings", "demands"):
            run(args.rgis, "import", args.database, "--layer", layer, f"{args.demo}/{layer}.geojson")
        args.events = f"{args.demo}/events.csv"
        run(args.rgis, "events", "import", args.database, args.events)

    def export(layer):
        return json.loads(run(args.rgis, "export", args.database, "--layer", layer))["features"]

    changes = {}
    if args.events:
        with open(args.events, newline="") as f:
            for row in csv.DictReader(f):
                key = (row["layer"], row["record_id"], row["kind"])
                day = row["at"][:10]
                changes.setdefault(key, []).append({"day": day, "at": row["at"] if len(row["at"]) > 10 else day + "T00:00:00Z",
                                                    "old": row["old_value"] or None, "new": row["new_value"] or None})
        for v in changes.values():
            v.sort(key=lambda c: c["at"])  # stable: file order within the same time
    listings = [(Listing(l["properties"], changes.get(("listings", l["id"], "price_change"), []),
                         changes.get(("listings", l["id"], "status_change"), [])), Point(l["geometry"]["coordinates"]))
                for l in export("listings")]
    demands = [(Demand(m["properties"], changes.get(("demands", m["id"], "price_change"), []),
                       changes.get(("demands", m["id"], "status_change"), [])), shape(m["geometry"]).representative_point())
               for m in export("demands")]
    all_districts = export("districts")
    first = tuple(map(int, args.first.split("-")))
    last = tuple(map(int, args.last.split("-")))
    shown = list(months_between(first, last))

    failures, compared, withheld, nonzero, complements = [], 0, 0, 0, 0
    for level in args.levels.split(","):
        districts = [d for d in all_districts if d["properties"]["level"] == level]
        expected = expected_series(districts, listings, demands, shown)
        got = json.loads(run(args.rgis, "indicators", args.database, "--series", "--level", level, "--from", args.first, "--to", args.last))
        assert got["level"] == level and got["from"] == args.first and got["to"] == args.last, got.keys()
        got_by_id = {d["id"]: d for d in got["districts"]}
        if set(got_by_id) != set(expected):
            failures.append(f"{level}: districts {sorted(got_by_id)} vs oracle {sorted(expected)}")
            continue
        as_csv = list(csv.DictReader(io.StringIO(run(args.rgis, "indicators", args.database, "--series", "--level", level,
                                                    "--from", args.first, "--to", args.last, "--format", "csv"))))
        if len(as_csv) != len(districts) * len(shown):
            failures.append(f"{level}: {len(as_csv)} CSV rows for {len(districts)} districts × {len(shown)} months")
        csv_by_key = {(r["district_id"], r["month"]): r for r in as_csv}
        for district_id, rows in expected.items():
            months = got_by_id[district_id]["months"]
            if [m["month"] for m in months] != [r["month"] for r in rows]:
                failures.append(f"{level} {district_id}: months {[m['month'] for m in months]}")
                continue
            for m, r in zip(months, rows):
                where = f"{level} {district_id} {r['month']}"
                # Everything the small-number rule withholds is withheld; RGIS may withhold more (the
                # complements that keep a withheld count from following across levels), but only
                # counts that add up, the ratios made from them and their changes.
                shown_here = set(r["suppressed"]) - set(m["suppressed"])
                if shown_here:
                    failures.append(f"{where}: {sorted(shown_here)} shown, but the oracle withholds them")
                extra = set(m["suppressed"]) - set(r["suppressed"])
                illegal = {k for k in extra if k.removeprefix("yoy.") not in COMPLEMENTABLE}
                if illegal:
                    failures.append(f"{where}: {sorted(illegal)} withheld, which no complement explains")
                complements += len(extra)
                row = csv_by_key.get((district_id, r["month"]), {})
                for key in FIGURES:
                    compared += 2
                    withheld += key in r["suppressed"]
                    nonzero += bool(r["values"].get(key))
                    if key not in extra and not close(m.get(key), r["values"].get(key)):
                        failures.append(f"{where} {key}: {m.get(key)} vs oracle {r['values'].get(key)}")
                    if key in extra and m.get(key) is not None:
                        failures.append(f"{where} {key}: {m.get(key)} shown though named withheld")
                    if "yoy." + key not in extra and not close(m["yoy"].get(key), r["yoy"].get(key)):
                        failures.append(f"{where} yoy.{key}: {m['yoy'].get(key)} vs oracle {r['yoy'].get(key)}")
                    cell = row.get(key, "")
                    if not close(float(cell) if cell else None, m.get(key)):
                        failures.append(f"{where} {key}: CSV '{cell}' vs JSON {m.get(key)}")
    if args.demo:
        check_segments(args.rgis, args.database, args.demo, all_districts, failures)
        check_alerts(args.rgis, args.database, all_districts, listings, demands, args.alerts_as_of, failures)
    for failure in failures[:20]:
        print("MISMATCH", failure)
    print(f"series oracle: {len(shown)} months × {args.levels} districts, {compared} figures and changes compared "
          f"({nonzero} non-zero, {withheld} withheld, {complements} more withheld as complements), {sum(len(v) for v in changes.values())} dated changes")
    if failures:
        print(f"series oracle: {len(failures)} mismatches")
        return 1
    print("series oracle: all answers agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
