"""Independent oracle for OGC API – Features Part 2 answers: pyproj transforms CRS84 positions to a
CRS in its authority's axis order, and tells which CRS84 points lie in a rectangle of that CRS.

stdin: {"to": "EPSG:25832", "points": [[lon, lat], ...], "rectangle": [a1, a2, b1, b2] (optional)}
stdout: {"points": [[x, y], ...], "inside": [index, ...]}
"""
import json
import sys

from pyproj import Transformer

request = json.load(sys.stdin)
transformer = Transformer.from_crs("OGC:CRS84", request["to"], always_xy=False)
points = [list(transformer.transform(lon, lat)) for lon, lat in request["points"]]
inside = []
if "rectangle" in request:
    a1, a2, b1, b2 = request["rectangle"]
    inside = [i for i, (x, y) in enumerate(points) if a1 <= x <= b1 and a2 <= y <= b2]
json.dump({"points": points, "inside": inside}, sys.stdout)
