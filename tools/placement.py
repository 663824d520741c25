"""The rule that places a point in districts, written again from its statement, for the oracles.

At each level, the district whose polygon covers the point (inside it or on its boundary); where several
do (a point on an edge or vertex two districts share, or districts that overlap), the one RGIS stored
first, which is the first in `rgis export --layer districts` (ordered by fid). So districts of a level
that tile a region hold each point exactly once.

Shapely's `covers` (GEOS), with each polygon prepared once; no code of RGIS is used.
"""
from shapely.geometry import Point, shape
from shapely.prepared import prep


class Placement:
    def __init__(self, districts):
        """`districts`: GeoJSON features as `rgis export --layer districts` writes them, in its order."""
        self.by_level = {}
        for feature in districts:
            level = feature["properties"].get("level")
            polygon = shape(feature["geometry"])
            self.by_level.setdefault(level, []).append((feature["id"], polygon.bounds, prep(polygon)))

    def holder(self, point, level):
        """The id of the district of `level` holding `point` (a shapely Point or (lon, lat)), or None."""
        if not isinstance(point, Point):
            point = Point(point)
        x, y = point.x, point.y
        for district_id, (west, south, east, north), polygon in self.by_level.get(level, []):
            if west <= x <= east and south <= y <= north and polygon.covers(point):
                return district_id
        return None

    def holders(self, point):
        """The district holding `point` at each level that holds it, widest level first."""
        found = []
        for level in ("city", "district", "subdistrict"):
            district_id = self.holder(point, level)
            if district_id is not None:
                found.append(district_id)
        return found
