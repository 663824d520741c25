"use strict";
// The small map of an HTML items or feature page: the features come as data (a JSON block the page
// carries, never run), each id shown as text in its tooltip.
const data = JSON.parse(document.getElementById("map-data").textContent);
const map = L.map("map");
const label = (f) => { const span = document.createElement("span"); span.textContent = String(f.id ?? ""); return span; };
const layer = L.geoJSON(data, { pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 5 }),
  onEachFeature: (f, l) => l.bindTooltip(label(f)) }).addTo(map);
const bounds = layer.getBounds();
if (bounds.isValid()) map.fitBounds(bounds, { maxZoom: 17 }); else map.setView([0, 0], 1);
document.body.dataset.ready = "true";
