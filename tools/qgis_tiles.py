#!/usr/bin/python3
"""QGIS reads RGIS's vector tiles as a vector tile layer, headless.

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tools/qgis_tiles.py --url http://127.0.0.1:PORT [--out DIR]

For each tiled collection the tileset's own URL template (from /collections/{id}/tiles/WebMercatorQuad)
becomes a QgsVectorTileLayer of type xyz, as QGIS's "New Generic Connection" makes it; the layer must
be valid, and a render of the listings' extent at zoom 11 and 16 (clusters, then each listing) and of
the districts must draw something (pixels other than the background). Each render is written to DIR.
Needs: apt-get install -y qgis python3-qgis.
"""
import argparse
import json
import math
import os
import sys
import urllib.request


def get_json(url):
    with urllib.request.urlopen(url) as r:
        return json.load(r)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--out", default="/tmp/rgis-qgis")
    args = ap.parse_args()
    url = args.url.rstrip("/")
    os.makedirs(args.out, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsMapRendererParallelJob,
                           QgsMapSettings, QgsProject, QgsRectangle, QgsVectorTileLayer)
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    app = QgsApplication([], False)
    app.initQgis()
    failed = 0
    extent = get_json(f"{url}/collections/listings")["extent"]["spatial"]["bbox"][0]
    lon, lat = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2
    to_mercator = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), QgsCoordinateReferenceSystem("EPSG:3857"), QgsProject.instance())
    centre = to_mercator.transform(lon, lat)
    for collection, zooms in [("listings", [11, 16]), ("districts", [11])]:
        tileset = get_json(f"{url}/collections/{collection}/tiles/WebMercatorQuad")
        template = next(l["href"] for l in tileset["links"] if l.get("rel") == "item")
        template = template.replace("{tileMatrix}", "{z}").replace("{tileRow}", "{y}").replace("{tileCol}", "{x}")
        uri = f"type=xyz&url={template}&zmin=0&zmax=22"
        layer = QgsVectorTileLayer(uri, collection)
        if not layer.isValid():
            print(f"FAIL QGIS: the {collection} vector tile layer is not valid ({uri})")
            failed += 1
            continue
        for z in zooms:
            # One zoom-z tile's side in 512 pixels: QGIS reckons tiles at 512 pixels, so it asks for zoom z.
            half = math.pi * 6378137 / 2 ** z
            settings = QgsMapSettings()
            settings.setLayers([layer])
            settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
            settings.setExtent(QgsRectangle(centre.x() - half, centre.y() - half, centre.x() + half, centre.y() + half))
            settings.setOutputSize(QSize(512, 512))
            settings.setBackgroundColor(QColor(255, 255, 255))
            job = QgsMapRendererParallelJob(settings)
            job.start()
            job.waitForFinished()
            image = job.renderedImage()
            png = os.path.join(args.out, f"{collection}-z{z}.png")
            image.save(png)
            drawn = sum(1 for y in range(0, 512, 4) for x in range(0, 512, 4) if image.pixelColor(x, y) != QColor(255, 255, 255))
            share = drawn / (128 * 128)
            ok = share > 0.001
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} QGIS draws {collection} at zoom {z} as a vector tile layer: {share:.1%} of pixels drawn; {png}")
    app.exitQgis()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
