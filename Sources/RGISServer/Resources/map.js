"use strict";
// Script errors are recorded on the page, where a headless browser can read them.
window.addEventListener("error", (e) => { document.body.dataset.errors = (document.body.dataset.errors || "") + e.message + "\n"; });
window.addEventListener("unhandledrejection", (e) => { document.body.dataset.errors = (document.body.dataset.errors || "") + String(e.reason) + "\n"; });
const map = L.map("map", { zoomSnap: 0.25, minZoom: 2, maxZoom: 20 });
const status = (text) => { document.getElementById("status").textContent = text; };
// Every value from the server reaches the page as text, never as HTML: elements are built here and
// strings become text nodes, so an id or a name cannot carry markup or script into a popup.
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "class") node.className = value; else if (name === "style") Object.assign(node.style, value); else node.setAttribute(name, value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}
// Lines of text (or nodes) with line breaks between them.
const lines = (items) => items.flatMap((item, i) => (i ? [el("br"), item] : [item]));
const popup = (f) => {
  const body = el("div", null, el("b", null, f.id), el("br"),
    lines(Object.entries(f.properties).filter(([k, v]) => v !== null && typeof v !== "object").slice(0, 14).map(([k, v]) => k + ": " + v)));
  // A listing's popup offers an agent its valuation by comparable sales.
  if (token && f.properties && f.properties.status !== undefined && f.properties.role === undefined) {
    const button = el("button", null, "Value by comparables");
    button.onclick = () => showValuation(f.id).catch((e) => status("Could not value: " + e.message));
    body.append(el("br"), button);
  }
  return body;
};
const swatch = (colour) => el("i", { class: "swatch", style: { background: colour } });

// Districts coloured by the demand/supply ratio.
const colours = [[0.25, "#1a9850"], [0.5, "#91cf60"], [0.75, "#fee08b"], [1.0, "#fc8d59"], [Infinity, "#d73027"]];
const colour = (r) => r === null || r === undefined ? "#bbbbbb" : colours.find(([max]) => r < max)[1];
const legend = L.control({ position: "bottomleft" });
legend.onAdd = () => {
  const div = L.DomUtil.create("div", "legend");
  let low = 0;
  div.append(el("b", null, "Demand / supply"), el("br"), ...lines(colours.map(([max, c]) => {
    const label = max === Infinity ? "≥ " + low : low + " – " + max;
    low = max;
    return el("span", null, swatch(c), " ", label);
  })), el("br"), swatch("#bbbbbb"), " withheld or no stock");
  return div;
};
legend.addTo(map);

const listingsLayer = L.layerGroup().addTo(map);
// The listings view's backdrop: districts by demand/supply.
const backdrop = L.layerGroup().addTo(map);
const resultsLayer = L.layerGroup().addTo(map);

// A token from the sign-in box or the page's #token= fragment (never sent in a URL), kept for the tab.
let token = sessionStorage.getItem("rgis-token") || "";
if (location.hash.includes("token=")) {
  const [view, rest] = location.hash.slice(1).split("&token=");
  token = decodeURIComponent(rest || "");
  sessionStorage.setItem("rgis-token", token);
  history.replaceState(null, "", location.pathname + location.search + (view && !view.startsWith("token=") ? "#" + view : ""));
}
async function getJSON(url, options) {
  options = Object.assign({}, options);
  if (token) options.headers = Object.assign({ Authorization: "Bearer " + token }, options.headers || {});
  const response = await fetch(url, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || response.statusText);
  return body;
}

function showResults(collection, title) {
  resultsLayer.clearLayers();
  const list = document.getElementById("results");
  list.replaceChildren();
  for (const f of collection.features) {
    const [lon, lat] = f.geometry.coordinates;
    const marker = L.circleMarker([lat, lon], { radius: 6, color: "#08519c", fillOpacity: 0.9 }).bindPopup(popup(f)).addTo(resultsLayer);
    const item = document.createElement("li");
    const p = f.properties;
    item.textContent = f.id + (p.distance_m !== undefined ? " · " + Math.round(p.distance_m) + " m" : "") +
      (p.list_price !== undefined ? " · " + Number(p.list_price).toLocaleString() : "") + (p.bedrooms !== undefined ? " · " + p.bedrooms + " bd" : "");
    item.onclick = () => { map.setView([lat, lon], Math.max(map.getZoom(), 16)); marker.openPopup(); };
    list.appendChild(item);
  }
  status(title + ": " + collection.features.length + " listings" + (collection.next ? " (first page)" : ""));
}

// A valuation: the subject (black), the comparable sales (green, each with its adjustments) and the
// active listings there (grey, asking prices, not in the estimate); the estimate in the status line.
async function showValuation(id) {
  const v = await getJSON("/valuation?listing=" + encodeURIComponent(id));
  resultsLayer.clearLayers();
  const list = document.getElementById("results");
  list.replaceChildren();
  const money = (x) => Number(x).toLocaleString();
  for (const f of v.features) {
    const [lon, lat] = f.geometry.coordinates;
    const p = f.properties;
    const sale = p.role === "comparable sale";
    const marker = L.circleMarker([lat, lon], { radius: p.role === "subject" ? 9 : 6, color: p.role === "subject" ? "#000" : sale ? "#31a354" : "#999",
                                                fillOpacity: 0.9 }).bindPopup(el("div", null, el("b", null, f.id), " · " + p.role, el("br"),
      sale ? lines(["sold " + p.close_date + " for " + money(p.close_price) + ", " + Math.round(p.distance_m) + " m away",
                    "time " + money(p.adjustments.time) + " · size " + money(p.adjustments.size) + " · age " + money(p.adjustments.age),
                    "adjusted " + money(p.adjusted_price)]) : [])).addTo(resultsLayer);
    if (sale) {
      const item = el("li", null, f.id + " · " + money(p.adjusted_price) + " · " + Math.round(p.distance_m) + " m");
      item.onclick = () => { map.setView([lat, lon], Math.max(map.getZoom(), 16)); marker.openPopup(); };
      list.appendChild(item);
    }
  }
  const e = v.estimate, a = v.accuracy;
  const summary = e ? id + ": estimate " + money(e.value) + " (" + money(e.low) + " – " + money(e.high) + ") from " + e.comparables + " sales; the method's median error " +
    a.median_absolute_percentage_error + " % on " + a.sales_tested + " stored sales" : id + ": " + v.reason;
  list.prepend(el("li", { class: "summary" }, el("b", null, summary)));
  status(summary);
  if (resultsLayer.getLayers().length) map.fitBounds(L.featureGroup(resultsLayer.getLayers()).getBounds(), { maxZoom: 16, padding: [20, 20] });
  document.body.dataset.valuation = e ? String(e.value) : "none";
  document.body.dataset.comparables = String(v.features.filter((f) => f.properties.role === "comparable sale").length);
}

let mode = null;
let vertices = [];
let sketch = null;
document.getElementById("radiusMode").onclick = () => { mode = "radius"; status("Click the map to search around a point."); };
document.getElementById("polygonMode").onclick = () => {
  mode = "polygon"; vertices = []; if (sketch) sketch.remove();
  document.getElementById("polygonDone").disabled = false;
  status("Click the vertices, then Search polygon.");
};
document.getElementById("polygonDone").onclick = async () => {
  if (vertices.length < 3) { status("A polygon needs at least three vertices."); return; }
  const ring = vertices.map((v) => [v.lng, v.lat]);
  ring.push(ring[0]);
  mode = null;
  document.getElementById("polygonDone").disabled = true;
  try {
    const body = JSON.stringify({ type: "Polygon", coordinates: [ring] });
    showResults(await getJSON("/search/polygon?limit=500", { method: "POST", headers: { "Content-Type": "application/geo+json" }, body }), "Polygon");
  } catch (e) { status("Polygon search failed: " + e.message); }
};
map.on("click", async (e) => {
  if (mode === "radius") {
    const r = Number(document.getElementById("radius").value);
    resultsLayer.clearLayers();
    L.circle(e.latlng, { radius: r, color: "#08519c", fill: false }).addTo(resultsLayer);
    try {
      const found = await getJSON("/search/radius?lon=" + e.latlng.lng + "&lat=" + e.latlng.lat + "&radius_m=" + r + "&limit=500");
      showResults(found, "Within " + r + " m");
      L.circle(e.latlng, { radius: r, color: "#08519c", fill: false }).addTo(resultsLayer);
    } catch (err) { status("Radius search failed: " + err.message); }
  } else if (mode === "polygon") {
    vertices.push(e.latlng);
    if (sketch) sketch.remove();
    sketch = L.polygon(vertices, { color: "#6a51a3", dashArray: "4" }).addTo(map);
  }
});

// Listings arrive per viewport: cells with exact counts from the server (their sum is what a bbox
// query over the view matches), a listing alone in its cell as itself; the filters apply to both.
function filterQuery() {
  const q = [];
  for (const [id, name] of [["price_min", "price_min"], ["price_max", "price_max"], ["type", "type"], ["bedrooms", "bedrooms"], ["listing_status", "status"]]) {
    const v = document.getElementById(id).value;
    if (v !== "") q.push(name + "=" + encodeURIComponent(v));
  }
  return q.join("&");
}
let totalListings = null;
let viewRequest = null;
async function loadView() {
  const b = map.getBounds();
  const box = [Math.max(-180, b.getWest()), Math.max(-85.05, b.getSouth()), Math.min(180, b.getEast()), Math.min(85.05, b.getNorth())]
    .map((x) => x.toFixed(6)).join(",");
  const zoom = Math.max(0, Math.min(22, Math.round(map.getZoom())));
  if (viewRequest) viewRequest.abort();
  viewRequest = new AbortController();
  const filters = filterQuery();
  try {
    const view = await getJSON("/search/clusters?bbox=" + box + "&zoom=" + zoom + (filters ? "&" + filters : ""), { signal: viewRequest.signal });
    listingsLayer.clearLayers();
    for (const f of view.features) {
      const [lon, lat] = f.geometry.coordinates;
      const n = f.properties.count;
      if (n === 1) {
        L.circleMarker([lat, lon], { radius: 5, color: "#08519c", weight: 1, fillOpacity: 0.8 })
          .bindPopup(el("b", null, f.properties.id))
          .on("click", async (e) => {
            try { e.target.setPopupContent(popup(await getJSON("/collections/listings/items/" + encodeURIComponent(f.properties.id)))); } catch (err) {}
          }).addTo(listingsLayer);
      } else {
        const size = Math.round(24 + 10 * Math.log10(n));
        const icon = L.divIcon({ html: el("div", { class: "cluster", style: { width: size + "px", height: size + "px" } }, Number(n).toLocaleString()),
                                 className: "", iconSize: [size, size] });
        const prices = f.properties.price_min === undefined ? "" : ", " + Number(f.properties.price_min).toLocaleString() + " – " + Number(f.properties.price_max).toLocaleString();
        L.marker([lat, lon], { icon, title: n + " listings" }).bindTooltip(el("span", null, Number(n).toLocaleString() + " listings" + prices))
          .on("click", () => map.setView([lat, lon], Math.min(map.getMaxZoom(), map.getZoom() + 2))).addTo(listingsLayer);
      }
    }
    const total = totalListings === null ? "" : " (" + totalListings.toLocaleString() + " in all)";
    document.getElementById("view").textContent = view.numberMatched.toLocaleString() + " listings in view" + (filters ? " match the filters" : "") + total;
    document.body.dataset.inView = String(view.numberMatched);
    document.body.dataset.viewBox = box;
    document.body.dataset.viewFilters = filters;
    if (!document.body.dataset.ready) document.body.dataset.firstPaintMs = String(Math.round(performance.now()));
    document.body.dataset.ready = "true";
  } catch (e) {
    if (e.name !== "AbortError") status("Could not load the listings in view: " + e.message);
  }
}
let viewTimer = null;
const reloadView = () => { clearTimeout(viewTimer); viewTimer = setTimeout(loadView, 150); };
map.on("moveend", reloadView);
for (const id of ["price_min", "price_max", "type", "bedrooms", "listing_status"]) document.getElementById(id).addEventListener("change", reloadView);

(async () => {
  try {
    const [collection, first] = await Promise.all([getJSON("/collections/listings"), getJSON("/collections/listings/items?limit=1")]);
    totalListings = first.numberMatched ?? null;
    document.body.dataset.total = String(totalListings);
    const box = collection.extent && collection.extent.spatial && collection.extent.spatial.bbox[0];
    if (box) map.fitBounds([[box[1], box[0]], [box[3], box[2]]]); else map.setView([0, 0], 2);
    status("Districts loading…");
    // The choropleth follows the listings: it never holds them up.
    const districts = await getJSON("/indicators?level=district");
    L.geoJSON(districts, {
      style: (f) => ({ color: "#555", weight: 1, fillColor: colour(f.properties.demand_supply_ratio), fillOpacity: 0.45 }),
      // A popup of its own only outside the search modes: a bound popup would stop the click that a
      // radius search or a polygon's vertex needs from reaching the map.
      onEachFeature: (f, l) => l.on("click", (e) => { if (!mode) L.popup().setLatLng(e.latlng).setContent(popup(f)).openOn(map); }),
    }).addTo(backdrop).bringToBack();
    status(districts.features.length + " districts");
  } catch (e) {
    status("Could not load the data: " + (e && e.message ? e.message : e));
    if (!map._loaded) map.setView([0, 0], 2);
  }
})();

// Planner: a choropleth of any monthly figure of a level's districts, with quantile classes of the
// values shown, a month slider over the series, the alerts in force outlined, and a district's
// series as a small chart in its popup.
const figures = ["months_of_supply", "demand_supply_ratio", "active_inventory", "new_listings", "closed_sales", "median_list_price_per_m2",
  "median_close_price_per_m2", "median_days_on_market", "price_cut_share", "long_unsold_share", "absorption_rate", "active_demands",
  "new_demands", "median_budget"];
// Unmet demand is the market as it stands (no month): planners only; another caller's view goes without it.
const unmetFigures = ["unmet_share", "unmet_demands", "near_fit_demands"];
const ramp = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"];
const plannerLayer = L.layerGroup();
let planner = null;
document.getElementById("pfigure").replaceChildren(...figures.map((f) => el("option", null, f)),
  ...unmetFigures.map((f) => el("option", { value: f }, f + " (now)")));
// A link may value a listing at once: /map?value=L00042#agent (an agent's token).
{
  const listing = new URLSearchParams(location.search).get("value");
  if (listing && token) showValuation(listing).catch((e) => status("Could not value: " + e.message));
}
// A link may name the planner's figure: /map?figure=unmet_share#planner.
{
  const asked = new URLSearchParams(location.search).get("figure");
  if (asked && [...figures, ...unmetFigures].includes(asked)) document.getElementById("pfigure").value = asked;
}
function unmetCells(cells) {
  if (!cells || !cells.length) return el("i", null, "no unmet cell shown");
  return el("ol", null, ...cells.map((c) => el("li", null, c.type + ", " + c.bedrooms + " bedrooms, " + c.size_m2 + " m², budget " + c.budget +
    ": " + c.unmet + " of " + (c.demands ?? "withheld") + " unmet, " + (c.listings ?? "withheld") + " listed")));
}
function quantileBreaks(values, classes) {
  const sorted = values.slice().sort((a, b) => a - b);
  const breaks = [];
  for (let i = 1; i < classes; i++) breaks.push(sorted[Math.min(sorted.length - 1, Math.floor(i * sorted.length / classes))]);
  return [...new Set(breaks)];
}
function svg(tag, attributes, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}
function chart(months, figure) {
  const points = months.map((m, i) => [i, m[figure]]).filter(([, v]) => typeof v === "number");
  if (points.length < 2) return el("i", null, "no series");
  const vs = points.map(([, v]) => v), lo = Math.min(...vs), hi = Math.max(...vs), w = 220, h = 60;
  const x = (i) => 4 + i * (w - 8) / Math.max(1, months.length - 1), y = (v) => h - 4 - (hi === lo ? 0.5 : (v - lo) / (hi - lo)) * (h - 8);
  const drawing = svg("svg", { class: "chart", width: w, height: h, viewBox: "0 0 " + w + " " + h });
  drawing.append(svg("polyline", { fill: "none", stroke: "#b30000", "stroke-width": 1.5, points: points.map(([i, v]) => x(i).toFixed(1) + "," + y(v).toFixed(1)).join(" ") }),
    svg("text", { x: 4, y: 10, "font-size": 9 }, hi), svg("text", { x: 4, y: h - 1, "font-size": 9 }, lo));
  return el("span", null, drawing, el("br"), el("small", null, months[0].month + " – " + months[months.length - 1].month));
}
function drawPlanner() {
  if (!planner) return;
  const figure = document.getElementById("pfigure").value, i = Number(document.getElementById("pslider").value);
  const now = unmetFigures.includes(figure);
  const month = now ? "now" : planner.months[i];
  document.getElementById("pmonth").textContent = month || "";
  const value = now ? (id) => (planner.unmet && planner.unmet[id] ? planner.unmet[id][figure] : null)
    : (id) => { const m = planner.byDistrict[id] && planner.byDistrict[id].find((x) => x.month === month); return m ? m[figure] : null; };
  const values = planner.shapes.features.map((f) => value(f.id)).filter((v) => typeof v === "number");
  const breaks = quantileBreaks(values, ramp.length);
  const fill = (v) => typeof v !== "number" ? "#bbbbbb" : ramp[breaks.filter((b) => v >= b).length];
  plannerLayer.clearLayers();
  L.geoJSON(planner.shapes, {
    style: (f) => ({ color: planner.alerted.has(f.id) ? "#d7301f" : "#555", weight: planner.alerted.has(f.id) ? 4 : 1,
                     fillColor: fill(value(f.id)), fillOpacity: 0.7 }),
    onEachFeature: (f, l) => l.bindPopup(() => el("div", null, el("b", null, f.properties.name || f.id), el("br"),
      figure + " in " + month + ": " + (value(f.id) ?? "withheld or undefined"),
      planner.alerted.has(f.id) ? [el("br"), el("b", null, "alerts:"), " " + planner.alerted.get(f.id).join(", ")] : [],
      el("br"), now ? [el("b", null, "largest unmet cells:"), unmetCells(planner.unmet && planner.unmet[f.id] && planner.unmet[f.id].top_unmet)]
        : chart(planner.byDistrict[f.id] || [], figure))),
  }).addTo(plannerLayer);
  const edges = [Math.min(...values), ...breaks, Math.max(...values)];
  document.getElementById("plegend").replaceChildren(...(values.length
    ? [el("b", null, figure), " (quantiles of the " + values.length + " districts shown)", el("br"),
       ...lines(ramp.slice(0, breaks.length + 1).map((c, k) => el("span", null, swatch(c), " " + edges[k] + " – " + edges[k + 1]))),
       el("br"), swatch("#bbb"), " withheld or undefined"]
    : ["no values"]));
  document.body.dataset.plannerClasses = String(breaks.length + 1);
  document.body.dataset.plannerBreaks = breaks.join(",");
  document.body.dataset.plannerFigure = figure;
  document.body.dataset.plannerLevel = document.getElementById("plevel").value;
  document.body.dataset.plannerMonth = month || "";
}
async function loadPlanner() {
  const level = document.getElementById("plevel").value;
  status("Loading the " + level + " series…");
  const [shapes, series, alerts, unmet] = await Promise.all([getJSON("/collections/districts/items?level=" + level + "&limit=10000"),
    getJSON("/indicators/series?level=" + level), getJSON("/collections/alerts/items?level=" + level),
    getJSON("/indicators/unmet?level=" + level).catch(() => null)]);
  const byDistrict = {};
  for (const d of series.districts) byDistrict[d.id] = d.months;
  const alerted = new Map();
  for (const a of alerts.features) alerted.set(a.properties.district_id, [...(alerted.get(a.properties.district_id) || []), a.properties.rule]);
  const months = series.districts.length ? series.districts[0].months.map((m) => m.month) : [];
  const unmetBy = unmet ? Object.fromEntries(unmet.features.map((f) => [f.id, f.properties])) : null;
  planner = { shapes, byDistrict, alerted, months, unmet: unmetBy };
  const slider = document.getElementById("pslider");
  slider.max = String(Math.max(0, months.length - 1));
  // Open on the last month with figures (the current month has none until it ends).
  let last = months.length - 1;
  while (last > 0 && !series.districts.some((d) => typeof d.months[last][document.getElementById("pfigure").value] === "number")) last--;
  slider.value = String(Math.max(0, last));
  const alertItems = alerts.features.map((a) => el("li", null, (a.properties.district_name || a.properties.district_id) + ": " +
    a.properties.title + " (" + a.properties.value + ", since " + a.properties.since + ")"));
  document.getElementById("alertList").replaceChildren(...(alertItems.length ? alertItems : [el("li", null, "none")]));
  drawPlanner();
  status(shapes.features.length + " " + level + " areas, " + months.length + " months, " + alerts.features.length + " alerts");
  document.body.dataset.plannerReady = "true";
}
function showView(name) {
  for (const b of document.querySelectorAll("#views button")) b.classList.toggle("on", b.dataset.view === name);
  document.getElementById("planner").hidden = name !== "planner";
  document.getElementById("regulator").hidden = name !== "regulator";
  document.getElementById("clients").hidden = name !== "agent" || !document.body.dataset.clients;
  if (name === "regulator") { archiveLayer.addTo(map); loadArchive(); } else map.removeLayer(archiveLayer);
  if (name === "agent") demandLayer.addTo(map); else map.removeLayer(demandLayer);
  document.getElementById("agent").hidden = name !== "agent";
  document.getElementById("filters").hidden = name !== "agent";
  document.getElementById("view").hidden = name !== "agent";
  if (name === "planner") {
    map.removeLayer(listingsLayer); map.removeLayer(backdrop); legend.remove(); plannerLayer.addTo(map);
    if (!planner) loadPlanner().catch((e) => status("Could not load the series: " + e.message));
  } else if (name === "regulator") {
    map.removeLayer(listingsLayer); map.removeLayer(backdrop); legend.remove(); map.removeLayer(plannerLayer);
  } else {
    map.removeLayer(plannerLayer); backdrop.addTo(map); legend.addTo(map); listingsLayer.addTo(map);
  }
}
for (const b of document.querySelectorAll("#views button")) b.onclick = () => { location.hash = b.dataset.view; showView(b.dataset.view); };
document.getElementById("pfigure").onchange = drawPlanner;
document.getElementById("pslider").oninput = drawPlanner;
document.getElementById("plevel").onchange = () => { planner = null; loadPlanner().catch((e) => status("Could not load the series: " + e.message)); };

// Agent: the clients the token's agent keeps; a demand's search area and its matches ranked with the reasons.
const demandLayer = L.layerGroup().addTo(map);
async function loadClients() {
  if (!token) return;
  try {
    const clients = (await getJSON("/clients?limit=1000")).clients || [];
    document.getElementById("clients").hidden = false;
    document.getElementById("client").replaceChildren(el("option", { value: "" }, "choose…"), ...clients.map((c) =>
      el("option", { value: c.id }, c.id + (c.contact && c.contact.name ? " " + c.contact.name : ""))));
    document.getElementById("who").textContent = clients.length + " clients";
    const recent = await getJSON("/notifications?limit=10");
    const recentItems = recent.notifications.map((n) => el("li", null, n.listing_id + " → " + n.demand_id + " (" + n.state + ", " + (n.queued_at || "") + ")"));
    document.getElementById("recent").replaceChildren(...(recentItems.length ? recentItems : [el("li", null, "none yet")]));
    document.body.dataset.clients = String(clients.length);
  } catch (e) {
    // A planner's or a regulator's token keeps no clients: the agent's lists stay hidden.
    document.getElementById("who").textContent = /needs role/.test(e.message) ? "" : e.message;
  }
}
document.getElementById("client").onchange = async (e) => {
  const demands = (await getJSON("/clients/" + encodeURIComponent(e.target.value) + "/demands")).features || [];
  document.getElementById("demand").replaceChildren(el("option", { value: "" }, "choose…"), ...demands.map((d) => el("option", null, d.id)));
};
async function showDemand(id) {
  const [demand, matches] = await Promise.all([getJSON("/demands/" + encodeURIComponent(id)), getJSON("/match/demands/" + encodeURIComponent(id) + "/listings?limit=20")]);
  demandLayer.clearLayers();
  const area = L.geoJSON(demand, { style: { color: "#e6550d", weight: 2, fillOpacity: 0.08, dashArray: "5" } }).addTo(demandLayer);
  const list = document.getElementById("matches");
  list.replaceChildren();
  matches.features.forEach((f, i) => {
    const [lon, lat] = f.geometry.coordinates;
    const marker = L.circleMarker([lat, lon], { radius: 7, color: "#e6550d", fillOpacity: 0.9 }).bindPopup(el("div", null, el("b", null, (i + 1) + ". " + f.id),
      " score " + f.properties.score, el("br"), lines(f.properties.reasons || []))).addTo(demandLayer);
    const item = document.createElement("li");
    item.textContent = f.id + " · score " + f.properties.score + " · " + Number(f.properties.list_price).toLocaleString();
    item.title = (f.properties.reasons || []).join("\n");
    item.onclick = () => { map.setView([lat, lon], Math.max(map.getZoom(), 16)); marker.openPopup(); };
    list.appendChild(item);
  });
  if (area.getBounds().isValid()) map.fitBounds(area.getBounds(), { maxZoom: 16 });
  document.body.dataset.matches = String(matches.features.length);
}
document.getElementById("demand").onchange = (e) => { if (e.target.value) showDemand(e.target.value).catch((err) => status("Could not match: " + err.message)); };
document.getElementById("useToken").onclick = () => {
  token = document.getElementById("token").value.trim();
  sessionStorage.setItem("rgis-token", token);
  loadClients();
  if (!document.getElementById("regulator").hidden) loadArchive();
};

// Regulator: the archive on a day (valid time) as the register knew it on a day (record time);
// a parcel's lineage and rights on click; parcels made by a split or a merge drawn in their colour.
const archiveLayer = L.layerGroup();
const archiveStart = new Date("2000-01-01T00:00:00Z");
const days = Math.floor((Date.now() - archiveStart) / 86400000);
for (const id of ["rvalidSlider", "rknownSlider"]) { const slider = document.getElementById(id); slider.max = String(days); slider.value = String(days); }
const dayText = (n) => new Date(archiveStart.getTime() + Number(n) * 86400000).toISOString().slice(0, 10);
let archiveRequest = null;
let archiveFitted = false;
async function loadArchive() {
  const valid = dayText(document.getElementById("rvalidSlider").value), known = dayText(document.getElementById("rknownSlider").value);
  document.getElementById("rvalid").textContent = valid;
  document.getElementById("rknown").textContent = known;
  if (!token) { document.getElementById("rinfo").textContent = "The archive needs a regulator's token."; return; }
  // The first read is of the whole archive, to fit the map to it; then the view's box (opened at
  // #regulator, the map may have no view yet, and Leaflet has no bounds before it has one).
  const inView = archiveFitted && map._loaded;
  const b = inView ? map.getBounds() : null;
  const box = inView ? [Math.max(-180, b.getWest()), Math.max(-90, b.getSouth()), Math.min(180, b.getEast()), Math.min(90, b.getNorth())]
    .map((x) => x.toFixed(6)).join(",") : null;
  if (archiveRequest) archiveRequest.abort();
  archiveRequest = new AbortController();
  try {
    const query = "datetime=" + valid + "&known_at=" + known + (box ? "&bbox=" + box : "");
    const page = await getJSON("/collections/archive-parcels/items?" + query + "&limit=5000", { signal: archiveRequest.signal });
    archiveLayer.clearLayers();
    const colourOf = (kind) => kind === "split" ? "#6a51a3" : kind === "merge" ? "#1b7837" : "#999";
    L.geoJSON(page, {
      style: (f) => ({ color: colourOf(f.properties.event_kind), weight: 1, fillOpacity: 0.35, fillColor: colourOf(f.properties.event_kind) }),
      onEachFeature: (f, l) => l.on("click", () => showParcel(f.properties.parcel_id, valid, known, l)),
    }).addTo(archiveLayer);
    if (!archiveFitted) {
      archiveFitted = true;
      if (page.features.length) map.fitBounds(L.geoJSON(page).getBounds());
    }
    document.getElementById("rinfo").textContent = page.numberReturned + " parcels valid on " + valid + " as known on " + known;
    document.body.dataset.archiveParcels = String(page.numberReturned);
    document.body.dataset.archiveQuery = query;
    document.body.dataset.regulatorReady = "true";
  } catch (e) { if (e.name !== "AbortError") document.getElementById("rinfo").textContent = "Could not read the archive: " + e.message; }
}
async function showParcel(id, valid, known, layer) {
  const q = "?date=" + valid + "&known_at=" + known;
  const [lineage, rights, versions] = await Promise.all([getJSON("/archive/parcels/" + encodeURIComponent(id) + "/lineage"),
    getJSON("/archive/parcels/" + encodeURIComponent(id) + "/rights" + q), getJSON("/archive/parcels/" + encodeURIComponent(id) + "/lineage?f=geojson")]);
  // Its ancestors and descendants drawn dashed over it.
  L.geoJSON(versions, { filter: (f) => f.properties.parcel_id !== id, style: { color: "#d95f0e", weight: 2, dashArray: "4", fill: false } }).addTo(archiveLayer);
  const relatives = (list, word) => list.map((r) => word + " " + r.parcel + " (" + r.valid_from + " – " + (r.valid_to || "") + ")");
  const held = (rights.rights || []).map((r) => (r.party_name ? r.party_name + " (" + r.party + ")" : r.party || "?") + " " + (r.share ?? "") + " " + (r.kind || r.type || ""));
  const events = (lineage.events || []).map((e) => e.date + " " + e.kind + " " + e.from.join("+") + " → " + e.to.join("+"));
  layer.bindPopup(el("div", null, el("b", null, "Parcel " + id), el("br"),
    lines([...relatives(lineage.ancestors || [], "from"), ...relatives(lineage.descendants || [], "into")]),
    el("br"), el("b", null, "Events"), el("br"), lines(events), el("br"), el("b", null, "Rights on " + valid), el("br"),
    lines(held.length ? held : ["no rights recorded"]))).openPopup();
}
for (const id of ["rvalidSlider", "rknownSlider"]) document.getElementById(id).addEventListener("change", loadArchive);
map.on("moveend", () => { if (!document.getElementById("regulator").hidden) loadArchive(); });
loadClients();
if (location.hash === "#planner" || location.hash === "#regulator") showView(location.hash.slice(1));
