#!/usr/bin/python3
"""Valuation by comparables, recomputed from the exported listings and the published price series.

On the demo city with its dated history, the oracle values listings and drawn points by RGIS's written
rules with its own geodesic search (pyproj's WGS84 inverse, every listing measured), and compares with
`rgis valuation` (CLI) and `GET /valuation` (HTTP, an agent):
  * the comparables: closed sales of the subject's type within the radius that closed in the months
    before the day, the 30 nearest (never the subject), and the active listings of the type there;
  * each sale's time factor (the subject district's published median list price per m², the valuation
    month over the sale month, each the nearest earlier published month), its size and age adjustments
    and adjusted price;
  * the estimate (the median) and the range (the quartiles), or the refusal under 3 sales;
  * the accuracy: the same leave-one-out over the same sample of stored sales (every k-th closed sale in
    storage order, up to 200, each valued on the day before it closed), its median absolute percentage
    error and the share inside the range.

Run with Debian's /usr/bin/python3 (python3-pyproj, python3-shapely):
    tools/valuation_oracle.py --rgis .build/debug/rgis --demo geodata --workdir /tmp/valuation [--database-base postgresql://…]
"""
import argparse
import json
import os
import random
import sys
import urllib.request
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402
from placement import Placement  # noqa: E402
from pyproj import Geod  # noqa: E402

GEOD = Geod(ellps="WGS84")
MINIMUM, MAXIMUM, AGE_PER_YEAR, AGE_CAP, SAMPLE = 3, 30, 0.005, 0.20, 200


def months_before(day, n):
    y, m = divmod(day.year * 12 + day.month - 1 - n, 12)
    m += 1
    last = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m, min(day.day, last))


def quantile(values, q):
    pos = q * (len(values) - 1)
    low = int(pos)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (pos - low)


class Market:
    def __init__(self, rgis):
        self.rgis = rgis
        export = lambda layer: json.loads(rgis.run("export", rgis.database, "--layer", layer))["features"]  # noqa: E731
        self.listings = export("listings")
        self.placement = Placement(export("districts"))
        self.series = {}

    def index(self, district):
        """Month → published median list price per m², the 240 months to this month."""
        if district not in self.series:
            today = date.today()
            last = today.year * 12 + today.month - 1
            first = last - 239
            out = json.loads(self.rgis.run("indicators", self.rgis.database, "--series", "--level", "district", "--district", district,
                                           "--from", f"{first // 12:04d}-{first % 12 + 1:02d}", "--to", f"{last // 12:04d}-{last % 12 + 1:02d}"))
            self.series[district] = {m["month"]: m["median_list_price_per_m2"] for m in out["districts"][0]["months"]
                                     if m.get("median_list_price_per_m2") is not None}
        return self.series[district]

    @staticmethod
    def at(index, month):
        if not index:
            return None
        first = min(index)
        y, m = int(month[:4]), int(month[5:7])
        while f"{y:04d}-{m:02d}" >= first:
            if f"{y:04d}-{m:02d}" in index:
                return index[f"{y:04d}-{m:02d}"]
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        return None

    def value(self, subject, radius, months, as_of):
        """subject: dict(id, lon, lat, type, area, year). Returns (sales [(id, adjusted dict)], active ids, estimate)."""
        district = self.placement.holder((subject["lon"], subject["lat"]), "district")
        index = self.index(district) if district else {}
        now = self.at(index, as_of.isoformat()[:7])
        since, until = months_before(as_of, months).isoformat(), as_of.isoformat()
        candidates = [f for f in self.listings if f["id"] != subject["id"] and f["properties"].get("status") in ("closed", "active")
                      and (subject["type"] is None or f["properties"].get("property_type") == subject["type"])]
        lons = [f["geometry"]["coordinates"][0] for f in candidates]
        lats = [f["geometry"]["coordinates"][1] for f in candidates]
        _, _, dist = GEOD.inv([subject["lon"]] * len(lons), [subject["lat"]] * len(lats), lons, lats) if candidates else (0, 0, [])
        near = sorted(((d, f) for d, f in zip(dist, candidates) if d <= radius), key=lambda x: x[0])
        sales, active = [], []
        for d, f in near:
            p = f["properties"]
            if p["status"] == "active":
                active.append(f["id"])
                continue
            closed = (p.get("close_date") or "")[:10]
            if len(sales) >= MAXIMUM or not p.get("close_price") or not 0 < p["close_price"] <= 1e12 or (p.get("living_area_m2") or 0) < 1 \
                    or not closed or not (since <= closed <= until):
                continue
            then = self.at(index, closed[:7])
            factor = now / then if now is not None and then else 1.0
            timed = p["close_price"] * factor
            sized = timed * subject["area"] / p["living_area_m2"]
            age = 1.0
            if p.get("year_built") is not None and subject.get("year") is not None:
                age = 1 + min(AGE_CAP, max(-AGE_CAP, (subject["year"] - p["year_built"]) * AGE_PER_YEAR))
            sales.append((f["id"], {"time": timed - p["close_price"], "size": sized - timed, "age": sized * age - sized, "price": sized * age, "factor": factor}))
        prices = sorted(s[1]["price"] for s in sales)
        estimate = (quantile(prices, 0.5), quantile(prices, 0.25), quantile(prices, 0.75)) if len(prices) >= MINIMUM else None
        return sales, set(active), estimate

    def subject_of(self, listing):
        p = listing["properties"]
        return {"id": listing["id"], "lon": listing["geometry"]["coordinates"][0], "lat": listing["geometry"]["coordinates"][1],
                "type": p.get("property_type"), "area": p.get("living_area_m2"), "year": p.get("year_built")}

    def accuracy(self, radius, months):
        sales = [f for f in self.listings if f["properties"].get("status") == "closed"]
        tested = min(len(sales), SAMPLE)
        errors, inside = [], 0
        for sale in (sales[k * len(sales) // tested] for k in range(tested)):
            p = sale["properties"]
            if not p.get("close_price") or not p.get("close_date") or not p.get("living_area_m2"):
                continue
            day = date.fromisoformat(p["close_date"][:10]) - timedelta(days=1)
            _, _, estimate = self.value(self.subject_of(sale), radius, months, day)
            if estimate is None:
                continue
            errors.append(abs(estimate[0] - p["close_price"]) / p["close_price"])
            inside += estimate[1] <= p["close_price"] <= estimate[2]
        errors.sort()
        mid = len(errors) // 2
        mdape = (errors[mid] if len(errors) % 2 else (errors[mid - 1] + errors[mid]) / 2) if errors else None
        return len(errors), mdape, inside / len(errors) if errors else None


def check(label, answer, market, subject, radius, months, as_of, tally):
    sales, active, estimate = market.value(subject, radius, months, as_of)
    got_sales = [f for f in answer["features"] if f["properties"].get("role") == "comparable sale"]
    got_active = {f["id"] for f in answer["features"] if str(f["properties"].get("role", "")).startswith("active listing")}
    tally["valuations"] += 1
    if [f["id"] for f in got_sales] != [s[0] for s in sales]:
        # A sale within 1 cm of the radius may go either way.
        tally["failures"].append(f"{label}: comparables {[f['id'] for f in got_sales][:6]}… vs oracle {[s[0] for s in sales][:6]}…")
        return
    if got_active != active:
        tally["failures"].append(f"{label}: active listings differ: {sorted(got_active ^ active)[:5]}")
    for f, (_, want) in zip(got_sales, sales):
        p = f["properties"]
        tally["comparables"] += 1
        for key in ("time", "size", "age"):
            if abs(p["adjustments"][key] - want[key]) > 1:
                tally["failures"].append(f"{label} {f['id']} {key}: {p['adjustments'][key]} vs oracle {want[key]:.1f}")
        if abs(p["adjusted_price"] - want["price"]) > 1 or abs(p["time_factor"] - want["factor"]) > 1e-4:
            tally["failures"].append(f"{label} {f['id']}: adjusted {p['adjusted_price']} ×{p['time_factor']} vs oracle {want['price']:.1f} ×{want['factor']:.5f}")
    got = answer.get("estimate")
    if estimate is None:
        tally["refused"] += 1
        if got is not None or "an estimate needs at least 3" not in answer.get("reason", ""):
            tally["failures"].append(f"{label}: estimate {got} from {len(sales)} sales")
    elif got is None or any(abs(got[k] - v) > 1 for k, v in zip(("value", "low", "high"), estimate)):
        tally["failures"].append(f"{label}: estimate {got} vs oracle {[round(v) for v in estimate]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rgis", required=True)
    parser.add_argument("--geodata")
    parser.add_argument("--demo", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--database-base")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    oracle.DATABASE_BASE = args.database_base
    os.makedirs(args.workdir, exist_ok=True)
    rgis = oracle.demo_database(args.rgis, args.demo, args.workdir, "valuation_demo", events=True)
    rgis.run("users", "add", rgis.database, "oracle-agent", "--role", "agent")
    token = rgis.run("tokens", "create", rgis.database, "oracle-agent").strip()
    market = Market(rgis)
    rng = random.Random(args.seed)
    tally = {"valuations": 0, "comparables": 0, "refused": 0, "failures": []}
    today = date.today()
    server = oracle.Server(args.rgis, rgis.database, "--rate-limit", "0")
    try:
        def get(path):
            request = urllib.request.Request(server.url + path, headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=300) as response:
                return json.loads(response.read())

        for n, listing in enumerate(rng.sample(market.listings, 12)):
            subject = market.subject_of(listing)
            if not subject["area"]:
                continue
            if n < 4:  # each CLI run measures the accuracy again: a few
                cli = json.loads(rgis.run("valuation", rgis.database, "--listing", listing["id"]))
                check(f"CLI {listing['id']}", cli, market, subject, 1000, 24, today, tally)
            http = get(f"/valuation?listing={listing['id']}&radius_m=600&months=36&as_of=2026-06-30")
            check(f"HTTP {listing['id']} 600 m 36 months", http, market, subject, 600, 36, date(2026, 6, 30), tally)
        lons = [f["geometry"]["coordinates"][0] for f in market.listings]
        lats = [f["geometry"]["coordinates"][1] for f in market.listings]
        for k in range(8):
            lon, lat = rng.uniform(min(lons), max(lons)), rng.uniform(min(lats), max(lats))
            area, kind, year = rng.choice([45, 70, 95, 140]), rng.choice(["apartment", "house", "townhouse"]), rng.choice([1960, 1995, 2015])
            subject = {"id": None, "lon": lon, "lat": lat, "type": kind, "area": area, "year": year}
            http = get(f"/valuation?lon={lon}&lat={lat}&area_m2={area}&type={kind}&year_built={year}&radius_m=800")
            check(f"HTTP point {k}", http, market, subject, 800, 24, today, tally)
        # A point with no sales near it: refused with the reason.
        far = get("/valuation?lon=10.5&lat=49.5&area_m2=80&type=apartment")
        check("HTTP far point", far, market, {"id": None, "lon": 10.5, "lat": 49.5, "type": "apartment", "area": 80, "year": None}, 1000, 24, today, tally)
        accuracy = rgis_accuracy = get(f"/valuation?listing={market.listings[0]['id']}")["accuracy"]
        tested, mdape, share = market.accuracy(1000, 24)
        if rgis_accuracy["sales_tested"] != tested or abs(rgis_accuracy["median_absolute_percentage_error"] - round(mdape * 100, 2)) > 0.011 \
                or abs(rgis_accuracy["within_range_share"] - round(share, 3)) > 0.0011:
            tally["failures"].append(f"accuracy {rgis_accuracy} vs oracle {tested} sales, MdAPE {mdape * 100:.2f} %, in range {share:.3f}")
    finally:
        server.stop()
    print(f"valuation oracle: {tally['valuations']} valuations (listings and points, CLI and HTTP), {tally['comparables']} comparables "
          f"with their adjustments compared, {tally['refused']} refused with fewer than 3 sales; leave-one-out on {accuracy['sales_tested']} "
          f"stored sales: median absolute percentage error {accuracy['median_absolute_percentage_error']} %, "
          f"{accuracy['within_range_share'] * 100:.1f} % inside the range")
    oracle.report("valuation oracle", tally["failures"])


if __name__ == "__main__":
    main()
