#!/usr/bin/python3
"""Independent oracle for RGIS's notifications: who must hear about what.

Reads the demo city's demands (geodata/demands.geojson) and a scripted run (the saved searches, then
steps of listing events with each listing's state after the step, and clients' reactions), and says
which notifications must go out, from the rules as the product states them:

- a listing fits a demand when it is active, inside the search area (shapely), of a wanted type, has
  at least the wanted bedrooms, costs at most 10 % over the budget's top and has a living area within
  10 % of the wanted range (a missing fact never excludes);
- a new listing, a price change, a return to active or a change of type, size or place starts a match,
  for the searches saved before it; within one step a listing is notified once per search;
- a listing already sent is sent again only when it comes back on the market, or on a price change
  the search asks for (price updates) or that is a drop of 5 % or more from the price last sent;
- never again once the client said "not for me".

Prints the expected notifications as JSON lines {channel, demand, listing, reason}, sorted.
Run with Debian's /usr/bin/python3 (python3-shapely):
    tools/notify_oracle.py --demands geodata/demands.geojson --script run.json
"""
import argparse
import json
import sys

from shapely.geometry import Point, shape

STRETCH = 0.10
NEWSWORTHY_DROP = 0.05


def fits(listing, demand, area):
    p = demand["properties"]
    if listing["status"] != "active":
        return False
    types = [t for t in (p.get("property_types") or "").split(",") if t]
    if types and listing.get("type") is not None and listing["type"] not in types:
        return False
    if p.get("bedrooms_min") is not None and listing.get("bedrooms") is not None and listing["bedrooms"] < p["bedrooms_min"]:
        return False
    price = listing.get("price")
    if p.get("budget_max") is not None and price is not None and price > p["budget_max"] * (1 + STRETCH):
        return False
    size = listing.get("area")
    if p.get("area_min_m2") is not None and size is not None and size < p["area_min_m2"] * (1 - STRETCH):
        return False
    if p.get("area_max_m2") is not None and size is not None and size > p["area_max_m2"] * (1 + STRETCH):
        return False
    return area.contains(Point(listing["lon"], listing["lat"]))


def reason_of(event):
    kind = event["kind"]
    if kind == "new":
        return "new"
    if kind == "price":
        return "price_change"
    if kind == "status":
        return "back_on_market" if event["listing"]["status"] == "active" else None
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--demands", required=True)
    parser.add_argument("--script", required=True)
    args = parser.parse_args()
    demands = {f["id"]: f for f in json.load(open(args.demands))["features"]}
    script = json.load(open(args.script))
    searches = script["subscriptions"]
    areas = {s["demand"]: shape(demands[s["demand"]]["geometry"]) for s in searches}

    last_sent = {}      # (search index, listing) -> price sent
    not_for_me = set()  # (demand, listing)
    expected = []
    for step in script["steps"]:
        for reaction in step.get("reactions", []):
            if reaction["reaction"] == "not_for_me":
                not_for_me.add((reaction["demand"], reaction["listing"]))
        state = {}
        for event in step["events"]:
            state[event["listing"]["id"]] = event["listing"]
        for index, search in enumerate(searches):
            demand = demands[search["demand"]]
            done = set()
            for event in step["events"]:
                listing_id = event["listing"]["id"]
                reason = reason_of(event)
                now = state[listing_id]
                if reason is None or listing_id in done or not fits(now, demand, areas[search["demand"]]):
                    continue
                done.add(listing_id)
                key = (index, listing_id)
                if (search["demand"], listing_id) in not_for_me:
                    continue
                if key in last_sent:
                    if reason in ("new", "changed"):
                        continue
                    if reason == "price_change" and not search["price_updates"]:
                        sent = last_sent[key]
                        if sent is None or now.get("price") is None or now["price"] > sent * (1 - NEWSWORTHY_DROP):
                            continue
                last_sent[key] = now.get("price")
                expected.append({"channel": search["channel"], "demand": search["demand"], "listing": listing_id, "reason": reason})
    for line in sorted(json.dumps(e, sort_keys=True, separators=(",", ":")) for e in expected):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
