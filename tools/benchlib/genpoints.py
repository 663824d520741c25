#!/usr/bin/python3
"""Write a GeoJSON FeatureCollection of N random listing points, for trying the benchmark peers.

    genpoints.py N OUT.geojson [--seed S] [--center LON,LAT]

70 % of the points fall in a Gaussian cluster (sigma about 2.5 km) around the centre (default
13.40,52.52), 30 % uniformly in a 0.6 x 0.36 degree box around it, so a box at the centre is dense
and a box near the edge is sparse (at N=100000, seed 1: bbox 13.395,52.515,13.405,52.525 holds
1399 points, 13.60,52.36,13.61,52.37 holds 17). Properties: id ("L-<n>"), list_price, status "active".
Load it with:  rgis init X.sqlite && rgis import X.sqlite --layer listings OUT.geojson
"""
import argparse
import json
import random

def generate(n, path, seed=1, center=(13.40, 52.52)):
    rnd = random.Random(seed)
    lon0, lat0 = center
    with open(path, "w") as f:
        f.write('{"type":"FeatureCollection","features":[\n')
        for i in range(n):
            if rnd.random() < 0.7:
                lon = lon0 + rnd.gauss(0, 0.037)
                lat = lat0 + rnd.gauss(0, 0.0225)
            else:
                lon = lon0 + rnd.uniform(-0.3, 0.3)
                lat = lat0 + rnd.uniform(-0.18, 0.18)
            feat = {"type": "Feature", "id": f"L-{i + 1}",
                    "geometry": {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]},
                    "properties": {"list_price": rnd.randrange(100_000, 2_000_000, 1000), "status": "active"}}
            f.write(("," if i else "") + json.dumps(feat, separators=(",", ":")) + "\n")
        f.write("]}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--center", default="13.40,52.52")
    a = ap.parse_args()
    generate(a.n, a.out, a.seed, tuple(float(v) for v in a.center.split(",")))


if __name__ == "__main__":
    main()
