#!/usr/bin/python3
"""The subtraction attack on RGIS's small-number suppression: can a planner work out a withheld figure?

RGIS withholds figures computed from 1 to 4 records (null, and named in `suppressed`). This script
reads, as a planner would, every level of `GET /indicators`, every (level, by) table of
`GET /indicators/segments` and every level of `GET /indicators/series` (its default months), writes down the linear equations that hold between the published counts,
and solves them for the withheld cells:

    tools/suppression_attack.py --url http://127.0.0.1:8080 --token rgis_... [--json]
        [--as-of YYYY-MM-DD] [--since YYYY-MM-DD] [--peel-only] [--exact-only] [--truth-db FILE]

Levels and `by` values are read from the server's own description (`/api`).

Additive figures (what is attacked)
    /indicators: the counts `active_listings`, `closed_in_period` and `active_demands`. Each record
    is placed in at most one district per level (the lowest fid wins where districts overlap), so a
    district's count is the sum of its children's when the children tile it. Any other integer figure
    whose parent = sum of children holds on every fully published instance is used too (none today).
    Not attacked: `median_price_per_m2`, `median_days_on_market`, `median_budget` (medians),
    `long_unsold_share` (a share) and `demand_supply_ratio` (a ratio): none is a sum of its parts
    (the script shows that their parent != sum of children) and solving for them is out of scope.
    /indicators/segments: every cell, the row totals (`clients`) and the all-districts row: they are
    counts of clients, and the table is built as sums (a row's total = the sum of its cells,
    "unknown" -- the field not recorded -- included; the all-districts row = the sum of the rows).

Equation families (each is checked on its fully published instances before it is used)
    ind.hier   /indicators: parent's count = sum of its children's at the next level down (children
               by the `parent_id` the features carry), per figure and level. A figure with no fully
               published instance (closed sales over a short period) is vouched for by the other
               counts of the same levels if they all hold.
    ser.hier   /indicators/series: a district's count in a month = the sum of its children's, per
               count (new listings, closed sales, inventory, active and new demands) and month.
    seg.row    segments: a row's `clients` = sum of its segment cells (incl. "unknown").
    seg.col    segments: the all-districts cell = sum of the districts' cells, per column and total.
    seg.total  segments: a district's `clients` is the same in the tables of every `by` (the same
               clients are counted whatever field they are split by).
    seg.hier   segments: parent's cell = sum of its children's cells (per segment and the total).
    ind~seg    /indicators `active_demands` = segments `clients` of the same district.
A family that holds on every fully published instance is "exact": its equations are used to
recover cells. One that holds on some instances only is "near": in the segments a client with
active demands in two subdistricts counts once in their district but in each subdistrict, so a
parent is <= the sum of its children and equal only where no client spans two of them. One that
never holds but is always off the same way is a "bound" (an inequality, e.g. a city's clients <
the sum of its districts'). A near or bound equation with one unknown gives the value an attacker
would guess: exact where the equation happens to hold, otherwise a bound (a child's guess is a
lower bound, a parent's an upper one). Such cells are reported as "exposed", apart from the exact
recoveries; a negative guess is "refuted" and not counted. A family off both ways is "broken" and not
used; one with no fully published instance is "unverified" and not used unless --assume-unverified
(a warning names it: it could hide an attack).

Attack
    1. peeling: any exact equation with exactly one unknown is solved, repeated until nothing new
       is found (chained recoveries count; `depth` is the length of the chain);
    2. linear algebra (skipped with --peel-only): exact rational elimination over all exact
       equations finds every further cell the system determines uniquely (e.g. a cell joining two
       groups of withheld cells, which no single equation isolates);
    3. exposure: peeling again with the near and bound equations too, on top of 1 and 2.
Not attempted: bounds from non-negativity or from the 1..4 rule (interval disclosure), the
non-additive figures (the series' medians, shares and ratios among them).

--truth-db FILE (read-only) recomputes the segments' cells from the database, to score the exposed
guesses (and check the exact recoveries); the indicators are not recomputed.

Exit status: 1 if any withheld cell is recovered exactly, or exposed (unless --exact-only); 0 if
none is; 2 if the server could not be read.
"""
import argparse
import json
import re
import sqlite3
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from fractions import Fraction

DEFAULT_LEVELS = ["city", "district", "subdistrict"]
DEFAULT_BY = ["age_band", "household", "income_band", "lifecycle_stage"]
DECLARED_ADDITIVE = ["active_listings", "closed_in_period", "active_demands"]
# Published as numbers but not sums of their parts: probed (to show that they fail), never used.
NON_ADDITIVE = ["median_price_per_m2", "median_days_on_market", "median_budget", "long_unsold_share", "demand_supply_ratio"]
NOT_FIGURES = {"name", "level", "parent_id", "suppressed", "id"}
TOTAL = "clients"      # the segments' row total, as it is named in `suppressed`
ALL_ROW = "all"        # the id of the segments' all-districts row
SMALL = range(1, 5)    # the promised-protected range
# The monthly series' counts, each a sum over the districts' children.
SERIES_ADDITIVE = ["new_listings", "closed_sales", "active_inventory", "active_demands", "new_demands"]


class ServerError(Exception):
    pass


class Client:
    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.token = token

    def get(self, path, params=None):
        url = path if path.startswith("http") else self.url + path
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            body = error.read().decode("utf-8", "replace")[:300]
            raise ServerError(f"GET {url}: HTTP {error.code} {body}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise ServerError(f"GET {url}: {error}") from None


# ---------------------------------------------------------------------------------------------
# Reading the tables


def parameter_enum(api, path, name):
    try:
        for p in api["paths"][path]["get"]["parameters"]:
            if p.get("name") == name:
                return list(p["schema"]["enum"])
    except (KeyError, TypeError):
        pass
    return None


def collection(client, path, params):
    """A feature collection, following `next` links if the server pages it."""
    page = client.get(path, params)
    features = list(page.get("features", []))
    seen = set()
    while True:
        nxt = next((l.get("href") for l in page.get("links", []) if l.get("rel") == "next"), None)
        if not nxt or nxt in seen:
            return features
        seen.add(nxt)
        page = client.get(urllib.parse.urljoin(client.url + "/", nxt))
        features += page.get("features", [])


class Cell:
    __slots__ = ("key", "value", "withheld", "table", "row", "col")

    def __init__(self, key, value, withheld, table, row, col):
        self.key, self.value, self.withheld, self.table, self.row, self.col = key, value, withheld, table, row, col


class Data:
    def __init__(self):
        self.cells = {}                     # key -> Cell (additive cells only)
        self.tables = {}                    # table id -> {"label", "withheld", "withheld_in_scope"}
        self.parent = {}                    # district id -> parent id
        self.level_of = {}                  # district id -> level
        self.ind_rows = defaultdict(dict)   # level -> id -> properties
        self.seg = {}                       # (level, by) -> table JSON
        self.seg_rows = set()               # (level, by, row id)
        self.notes = []

    def add(self, key, value, withheld, table, row, col):
        self.cells[key] = Cell(key, value, withheld, table, row, col)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and v.is_integer()


def read_all(client, as_of, since):
    data = Data()
    api = client.get("/api")
    levels = parameter_enum(api, "/indicators", "level") or DEFAULT_LEVELS
    bys = parameter_enum(api, "/indicators/segments", "by") or DEFAULT_BY
    params = {k: v for k, v in (("as_of", as_of), ("since", since)) if v}

    # /indicators, every level.
    for level in levels:
        table = ("indicators", level)
        data.tables[table] = {"label": f"/indicators level={level}", "withheld": 0, "withheld_in_scope": 0}
        for f in collection(client, "/indicators", dict(params, level=level)):
            props = f.get("properties", {})
            fid = f.get("id", props.get("id"))
            data.ind_rows[level][fid] = props
            data.level_of[fid] = level
            if props.get("parent_id") is not None:
                data.parent[fid] = props["parent_id"]
            data.tables[table]["withheld"] += len(props.get("suppressed", []))

    # Which indicator figures are candidate counts: numeric, integer wherever published.
    figures = {}
    for level, rows in data.ind_rows.items():
        for props in rows.values():
            for k, v in props.items():
                if k in NOT_FIGURES or not (v is None or isinstance(v, (int, float))):
                    continue
                figures.setdefault(k, True)
                if v is not None and not is_int(v):
                    figures[k] = False
    data.integer_figures = sorted(k for k, ok in figures.items() if ok or k in DECLARED_ADDITIVE)
    data.all_figures = sorted(figures)
    for level, rows in data.ind_rows.items():
        table = ("indicators", level)
        for fid, props in rows.items():
            withheld = set(props.get("suppressed", []))
            for k in data.integer_figures:
                v = props.get(k)
                data.add(("ind", level, fid, k), None if v is None else int(v), k in withheld, table, fid, k)

    # /indicators/segments, every level and by.
    for level in levels:
        for by in bys:
            t = client.get("/indicators/segments", {"level": level, "by": by, "f": "json"})
            data.seg[(level, by)] = t
            table = ("segments", level, by)
            info = data.tables[table] = {"label": f"/indicators/segments level={level} by={by}", "withheld": 0, "withheld_in_scope": 0}
            segments = t["segments"]
            if len(set(segments)) != len(segments):
                data.notes.append(f"{info['label']}: a segment name appears twice in `segments` {segments} "
                                  "(a recorded value named like the not-recorded label?); its cells cannot be told apart")
            for row in t["districts"] + [t["all_districts"]]:
                rid = row["id"] if row is not t["all_districts"] else ALL_ROW
                data.seg_rows.add((level, by, rid))
                withheld = set(row.get("suppressed", []))
                info["withheld"] += len(withheld)
                for s in segments:
                    v = row["segments"].get(s)
                    data.add(("seg", level, by, rid, s), v, s in withheld or v is None, table, rid, s)
                v = row.get(TOTAL)
                data.add(("seg", level, by, rid, TOTAL), v, TOTAL in withheld or v is None, table, rid, TOTAL)
                if rid != ALL_ROW and rid not in data.level_of:
                    data.notes.append(f"{info['label']}: row {rid} is not a feature of /indicators; no parent link")
    # /indicators/series, every level, the months it shows by default: the counts that add up.
    data.series_months = []
    for level in levels:
        t = client.get("/indicators/series", {"level": level, "f": "json"})
        for d in t["districts"]:
            for m in d["months"]:
                table = ("series", level, m["month"])
                info = data.tables.setdefault(table, {"label": f"/indicators/series level={level} month={m['month']}",
                                                      "withheld": 0, "withheld_in_scope": 0})
                withheld = set(m.get("suppressed", []))
                info["withheld"] += len(withheld)
                for k in SERIES_ADDITIVE:
                    v = m.get(k)
                    data.add(("ser", level, d["id"], m["month"], k), None if v is None else int(v), k in withheld or v is None,
                             table, d["id"], k)
                if m["month"] not in data.series_months:
                    data.series_months.append(m["month"])
    for cell in data.cells.values():
        if cell.withheld and not (cell.key[0] == "ind" and cell.col in NON_ADDITIVE):
            data.tables[cell.table]["withheld_in_scope"] += 1
    data.levels, data.bys = levels, bys
    return data


# ---------------------------------------------------------------------------------------------
# Equations


class Family:
    def __init__(self, name, description):
        self.name, self.description = name, description
        self.equations = []     # (terms [(coef, key)], label)
        self.checked = self.hold = 0
        self.signs = defaultdict(int)   # sign of (first term - the rest) where it fails
        self.status = None
        self.out_of_scope = False
        self.pool = None        # families of the same kind that vouch for this one if it has no instance
        self.vouched_by = None

    def add(self, terms, label):
        self.equations.append((terms, label))


def levels_of(data, parent, kids):
    """A district's level and its children grouped by their level (None when the district is unknown)."""
    by_level = defaultdict(list)
    for k in kids:
        by_level[data.level_of[k]].append(k)
    return data.level_of.get(parent), by_level


def build_families(data):
    families = []
    fam = {}

    def family(name, description):
        if name not in fam:
            fam[name] = Family(name, description)
            families.append(fam[name])
        return fam[name]

    children = defaultdict(list)    # parent id -> child ids
    for child, parent in data.parent.items():
        children[parent].append(child)

    # /indicators: parent = sum of children, per figure and child level.
    for figure in data.integer_figures:
        for parent, kids in children.items():
            plevel, by_level = levels_of(data, parent, kids)
            if plevel is None:
                continue
            if parent not in data.ind_rows[plevel]:
                continue
            for clevel, ks in by_level.items():
                f = family(f"ind.hier {figure} {clevel}->{plevel}",
                           f"/indicators {figure}: a {plevel}'s = sum of its {clevel}s'")
                f.out_of_scope = figure in NON_ADDITIVE
                f.pool = f"ind.hier {clevel}->{plevel}"
                terms = [(1, ("ind", plevel, parent, figure))] + [(-1, ("ind", clevel, k, figure)) for k in sorted(ks)]
                f.add(terms, f"{parent} = {' + '.join(sorted(ks))}")

    # Segments.
    for (level, by), t in data.seg.items():
        segments = list(dict.fromkeys(t["segments"]))
        rows = [r["id"] for r in t["districts"]]
        f = family(f"seg.row {level}", f"segments at {level}: a row's clients = sum of its cells")
        for rid in rows + [ALL_ROW]:
            f.add([(1, ("seg", level, by, rid, TOTAL))] + [(-1, ("seg", level, by, rid, s)) for s in segments],
                  f"by={by} {rid}: clients = sum of cells")
        f = family(f"seg.col {level}", f"segments at {level}: the all-districts cell = sum of the districts' cells")
        for s in segments + [TOTAL]:
            f.add([(1, ("seg", level, by, ALL_ROW, s))] + [(-1, ("seg", level, by, rid, s)) for rid in rows],
                  f"by={by} column {s}: all = sum of districts")
    for level in data.levels:
        bys = [b for b in data.bys if (level, b) in data.seg]
        f = family(f"seg.total {level}", f"segments at {level}: a row's clients is the same for every by")
        for rid in [r["id"] for r in data.seg[(level, bys[0])]["districts"]] + [ALL_ROW] if bys else []:
            for b in bys[1:]:
                f.add([(1, ("seg", level, bys[0], rid, TOTAL)), (-1, ("seg", level, b, rid, TOTAL))],
                      f"{rid}: clients by={bys[0]} = by={b}")
    for by in data.bys:
        for parent, kids in children.items():
            plevel, by_level = levels_of(data, parent, kids)
            if plevel is None or (plevel, by, parent) not in data.seg_rows:
                continue
            for clevel, ks in by_level.items():
                ks = [k for k in ks if (clevel, by, k) in data.seg_rows]
                if not ks:
                    continue
                f = family(f"seg.hier {clevel}->{plevel}", f"segments: a {plevel}'s cell = sum of its {clevel}s' cells")
                columns = list(dict.fromkeys(data.seg[(plevel, by)]["segments"] + data.seg[(clevel, by)]["segments"])) + [TOTAL]
                for s in columns:
                    f.add([(1, ("seg", plevel, by, parent, s))] + [(-1, ("seg", clevel, by, k, s)) for k in sorted(ks)],
                          f"by={by} {s}: {parent} = {' + '.join(sorted(ks))}")
    # /indicators/series: a district's month = the sum of its children's, per count and month.
    for figure in SERIES_ADDITIVE:
        for parent, kids in children.items():
            plevel, by_level = levels_of(data, parent, kids)
            if plevel is None:
                continue
            for clevel, ks in by_level.items():
                f = family(f"ser.hier {figure} {clevel}->{plevel}", f"/indicators/series {figure}: a {plevel}'s month = sum of its {clevel}s'")
                f.pool = f"ser.hier {clevel}->{plevel}"
                for month in data.series_months:
                    if ("ser", plevel, parent, month, figure) not in data.cells:
                        continue
                    terms = [(1, ("ser", plevel, parent, month, figure))] + [(-1, ("ser", clevel, k, month, figure)) for k in sorted(ks)]
                    f.add(terms, f"{month} {parent} = {' + '.join(sorted(ks))}")
    # Cross-table candidate: demands counted by the indicators vs clients counted by the segments.
    if data.bys and "active_demands" in data.integer_figures:
        for level in data.levels:
            if (level, data.bys[0]) not in data.seg:
                continue
            f = family(f"ind~seg {level}", f"/indicators active_demands = segments clients at {level}")
            for r in data.seg[(level, data.bys[0])]["districts"]:
                f.add([(1, ("ind", level, r["id"], "active_demands")), (-1, ("seg", level, data.bys[0], r["id"], TOTAL))],
                      f"{r['id']}: active_demands = clients")
    return families


def value_of(data, key):
    """A published value; a segment column missing from a table is a published zero."""
    cell = data.cells.get(key)
    if cell is None:
        return 0 if key[0] == "seg" and key[1:4] in data.seg_rows else None
    return cell.value


def is_unknown(data, key, known):
    return key not in known and value_of(data, key) is None


def verify(data, families, assume_unverified):
    for f in families:
        for terms, _ in f.equations:
            values = [value_of(data, k) for _, k in terms]
            if any(v is None for v in values):
                continue
            f.checked += 1
            residual = sum(c * v for (c, _), v in zip(terms, values))
            if residual == 0:
                f.hold += 1
            else:
                f.signs["first < rest" if residual < 0 else "first > rest"] += 1
        if f.out_of_scope:
            f.status = "out-of-scope"
        elif f.checked == 0:
            f.status = "exact" if assume_unverified else "unverified"
        elif f.hold == f.checked:
            f.status = "exact"
        elif f.hold > 0:
            f.status = "near"
        elif len(f.signs) == 1:
            f.status = "bound"     # never equal here, but always off the same way: an inequality
        else:
            f.status = "broken"
    # A count with no fully published instance (say, closed sales over a short period) is vouched for
    # by the other counts of its pool (the same placement of records in the same districts) if every
    # one of them is exact.
    for f in families:
        if f.status != "unverified" or f.pool is None:
            continue
        peers = [g for g in families if g.pool == f.pool and g is not f and not g.out_of_scope and g.checked > 0]
        if peers and all(g.status == "exact" for g in peers):
            f.status = "exact"
            f.vouched_by = ", ".join(g.name for g in peers)


# ---------------------------------------------------------------------------------------------
# Solving


def peel(data, equations, known, method):
    """Solves every equation with one unknown, until none is left, in rounds (round n solves what
    the first n-1 opened up, so each cell gets its shortest chain). `known`: key -> (value, method,
    depth, equation label); extended in place. Returns the keys it found."""
    found = []
    unknown_in = []
    eqs_of = defaultdict(list)
    for i, (terms, label, fname) in enumerate(equations):
        unknowns = {k for _, k in terms if is_unknown(data, k, known)}
        unknown_in.append(unknowns)
        for k in unknowns:
            eqs_of[k].append(i)
    ready = [i for i, u in enumerate(unknown_in) if len(u) == 1]
    while ready:
        solved = {}
        for i in ready:
            if len(unknown_in[i]) != 1:
                continue
            (target,) = unknown_in[i]
            if target in solved:
                continue
            terms, label, fname = equations[i]
            coef, rest, depth = 0, Fraction(0), 0
            for c, k in terms:
                if k == target:
                    coef += c
                elif k in known:
                    rest += c * known[k][0]
                    depth = max(depth, known[k][2])
                else:
                    rest += c * value_of(data, k)
            if coef != 0:
                solved[target] = (Fraction(-rest) / coef, method, depth + 1, f"{fname}: {label}")
        ready = []
        for target, answer in solved.items():
            known[target] = answer
            found.append(target)
            for j in eqs_of[target]:
                unknown_in[j].discard(target)
                if len(unknown_in[j]) == 1:
                    ready.append(j)
    return found


def eliminate(data, equations, known):
    """Exact rational elimination: the unknowns the exact equations determine uniquely.
    Returns ({key: value}, number of inconsistent equations)."""
    pivots = {}   # pivot key -> [row {key: Fraction}, rhs]
    inconsistent = 0
    for terms, label, fname in equations:
        row, rhs = defaultdict(Fraction), Fraction(0)
        for c, k in terms:
            if k in known:
                rhs -= c * known[k][0]
            elif value_of(data, k) is not None:
                rhs -= c * value_of(data, k)
            else:
                row[k] += c
        row = {k: v for k, v in row.items() if v != 0}
        for p in [k for k in row if k in pivots]:
            factor = row.get(p, 0)
            if factor == 0:
                continue
            prow, prhs = pivots[p]
            for k, v in prow.items():
                nv = row.get(k, 0) - factor * v
                if nv == 0:
                    row.pop(k, None)
                else:
                    row[k] = nv
            rhs -= factor * prhs
        if not row:
            if rhs != 0:
                inconsistent += 1
            continue
        p = min(row, key=repr)
        scale = row[p]
        row = {k: v / scale for k, v in row.items()}
        rhs /= scale
        for q, entry in pivots.items():
            factor = entry[0].get(p, 0)
            if factor == 0:
                continue
            for k, v in row.items():
                nv = entry[0].get(k, 0) - factor * v
                if nv == 0:
                    entry[0].pop(k, None)
                else:
                    entry[0][k] = nv
            entry[1] -= factor * rhs
        pivots[p] = [row, rhs]
    return {p: rhs for p, (row, rhs) in pivots.items() if len(row) == 1}, inconsistent


def check_consistency(data, equations, known):
    """Exact equations whose every term is now known but do not hold (should be none)."""
    bad = []
    for terms, label, fname in equations:
        total = Fraction(0)
        for c, k in terms:
            v = known[k][0] if k in known else value_of(data, k)
            if v is None:
                break
            total += c * v
        else:
            if total != 0:
                bad.append(f"{fname}: {label} (off by {total})")
    return bad


# ---------------------------------------------------------------------------------------------
# Ground truth (optional)


def segment_truth(path, levels, bys):
    """The segments' cells recomputed from the database (as RGIS's segmentSQL counts them)."""
    db = sqlite3.connect(f"file:{urllib.parse.quote(path)}?mode=ro", uri=True)
    ids = dict(db.execute("SELECT fid, id FROM districts"))
    truth = {}
    for level in levels:
        for by in bys:
            if not re.fullmatch(r"[a-z_]+", level) or not re.fullmatch(r"[a-z_]+", by):
                continue
            col = f"{level}_fid"
            rows = db.execute(f"""SELECT m.{col}, c.{by}, count(DISTINCT c.id) FROM demands m JOIN clients c ON c.id = m.client_id
                                  JOIN districts d ON d.fid = m.{col} AND d.level = ?
                                  WHERE m.status = 'active' GROUP BY 1, 2""", (level,))
            totals = defaultdict(int)
            for fid, segment, n in rows:
                rid, s = ids[fid], "unknown" if segment is None else segment
                truth[("seg", level, by, rid, s)] = truth.get(("seg", level, by, rid, s), 0) + n
                truth[("seg", level, by, ALL_ROW, s)] = truth.get(("seg", level, by, ALL_ROW, s), 0) + n
                totals[rid] += n
                totals[ALL_ROW] += n
            for rid, n in totals.items():
                truth[("seg", level, by, rid, TOTAL)] = n
    db.close()
    return truth


# ---------------------------------------------------------------------------------------------
# Report


def fmt(v):
    if v is None:
        return "?"
    v = Fraction(v)
    return str(v.numerator) if v.denominator == 1 else f"{float(v):.3f} ({v})"


def is_small(v):
    v = Fraction(v)
    return v.denominator == 1 and v.numerator in SMALL


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the served RGIS, e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="a planner's (or admin's) API token")
    parser.add_argument("--json", action="store_true", help="write the whole report as JSON on stdout")
    parser.add_argument("--as-of", help="passed to /indicators as as_of (default: the server's, today)")
    parser.add_argument("--since", help="passed to /indicators as since")
    parser.add_argument("--peel-only", action="store_true", help="no linear algebra: only equations with one unknown")
    parser.add_argument("--exact-only", action="store_true", help="exposed guesses do not fail the run")
    parser.add_argument("--assume-unverified", action="store_true",
                        help="use equation families that have no fully published instance to check them on")
    parser.add_argument("--truth-db", help="the served database (opened read-only) to score the segments' recoveries")
    parser.add_argument("--list", type=int, default=60, help="at most this many cells listed per kind in the summary (default 60)")
    args = parser.parse_args()

    try:
        data = read_all(Client(args.url, args.token), args.as_of, args.since)
    except ServerError as error:
        print(f"suppression_attack: {error}", file=sys.stderr)
        return 2

    families = build_families(data)
    verify(data, families, args.assume_unverified)
    exact = [(t, l, f.name) for f in families if f.status == "exact" for t, l in f.equations]
    near = [(t, l, f.name) for f in families if f.status in ("near", "bound") for t, l in f.equations]

    known = {}
    peeled = peel(data, exact, known, "peel")
    linear, inconsistent = [], 0
    if not args.peel_only:
        solved, inconsistent = eliminate(data, exact, known)
        for k, v in solved.items():
            known[k] = (v, "linear", 0, "elimination over the exact equations")
            linear.append(k)
        peeled += peel(data, exact, known, "peel")   # what the elimination's results open up
    problems = check_consistency(data, exact, known)
    for f in families:
        if f.status == "unverified":
            data.notes.append(f"WARNING: family {f.name} has no fully published instance: its {len(f.equations)} equations "
                              "were not used (--assume-unverified uses them)")
    if inconsistent:
        problems.append(f"{inconsistent} exact equation(s) contradict the others")
    exposed = peel(data, exact + near, known, "guess")

    truth = segment_truth(args.truth_db, data.levels, data.bys) if args.truth_db else None

    recovered = []
    for k in peeled + linear + exposed:
        cell = data.cells.get(k)
        if cell is None:
            continue
        v, method, depth, via = known[k]
        item = {"table": data.tables[cell.table]["label"], "row": cell.row, "figure": cell.col, "value": fmt(v),
                "in_1_to_4": is_small(v), "method": method, "depth": depth, "via": via,
                "withheld": cell.withheld, "negative": v < 0}
        if truth is not None and k[0] == "seg":
            item["true_value"] = truth.get(k, 0)
            item["correct"] = Fraction(item["true_value"]) == v
            if method != "guess" and not item["correct"]:
                problems.append(f"exact recovery {k} = {fmt(v)} but the database says {item['true_value']}")
        recovered.append((cell, item))

    tables = []
    for tid, info in data.tables.items():
        mine = [item for cell, item in recovered if cell.table == tid and cell.withheld]
        ex = [i for i in mine if i["method"] != "guess"]
        gu = [i for i in mine if i["method"] == "guess" and not i["negative"]]
        row = {"table": info["label"], "withheld": info["withheld"], "withheld_additive": info["withheld_in_scope"],
               "recovered_peeling": sum(i["method"] == "peel" for i in ex),
               "recovered_linear": sum(i["method"] == "linear" for i in ex),
               "recovered_in_1_to_4": sum(i["in_1_to_4"] for i in ex),
               "exposed": len(gu), "exposed_direct": sum(i["depth"] == 1 for i in gu),
               "exposed_in_1_to_4": sum(i["in_1_to_4"] for i in gu),
               "exposed_refuted": sum(i["method"] == "guess" and i["negative"] for i in mine)}
        if truth is not None and tid[0] == "segments":
            row["exposed_correct"] = sum(i.get("correct", False) for i in gu)
            row["exposed_direct_correct"] = sum(i.get("correct", False) for i in gu if i["depth"] == 1)
        tables.append(row)

    n_exact = sum(t["recovered_peeling"] + t["recovered_linear"] for t in tables)
    n_exposed = sum(t["exposed"] for t in tables)
    failed = n_exact > 0 or (n_exposed > 0 and not args.exact_only)
    fam_report = [{"family": f.name, "description": f.description, "equations": len(f.equations), "checked": f.checked,
                   "hold": f.hold, "fails": dict(f.signs), "status": f.status, "vouched_by": f.vouched_by} for f in families]
    non_additive = [k for k in data.all_figures if k not in data.integer_figures]
    report = {"url": args.url, "as_of": args.as_of, "since": args.since, "levels": data.levels, "by": data.bys,
              "additive_indicator_figures": [k for k in data.integer_figures
                                             if any(f.status == "exact" and f.name.startswith(f"ind.hier {k} ") for f in families)],
              "integer_indicator_figures": data.integer_figures, "non_integer_indicator_figures": non_additive,
              "families": fam_report, "tables": tables, "problems": problems, "notes": data.notes,
              "cells": [item for _, item in recovered if item["withheld"]],
              "result": {"withheld": sum(t["withheld"] for t in tables), "withheld_additive": sum(t["withheld_additive"] for t in tables),
                         "recovered_exactly": n_exact, "exposed": n_exposed, "failed": failed}}
    if args.json:
        json.dump(report, sys.stdout, indent=1, ensure_ascii=False)
        print()
        return 1 if failed else 0

    out = print
    out(f"Subtraction attack on {args.url}" + (f" (as_of {args.as_of})" if args.as_of else ""))
    out(f"levels {', '.join(data.levels)}; by {', '.join(data.bys)}")
    out("\nEquation families (checked on fully published instances):")
    for f in fam_report:
        fails = ", ".join(f"{n} {s}" for s, n in f["fails"].items())
        use = {"exact": "used", "near": "exposure only", "bound": "exposure only (a bound)", "broken": "not used",
               "unverified": "NOT USED: no fully published instance (--assume-unverified)",
               "out-of-scope": "not additive, not used"}[f["status"]]
        out(f"  {f['status']:<12} {f['family']:<50} {f['hold']:>4}/{f['checked']:<4} hold"
            + (f" ({fails})" if fails else "") + f"  -> {use}" + (" (vouched for by the other counts)" if f["vouched_by"] else ""))
    out(f"Indicator figures attacked as additive: {', '.join(report['additive_indicator_figures']) or 'none'}; "
        f"not attacked: {', '.join(k for k in data.all_figures if k not in report['additive_indicator_figures']) or 'none'}")
    out("\n" + f"{'table':<56}{'withheld':>9}{'additive':>9}{'peeled':>7}{'linear':>7}{'1..4':>5}{'exposed':>8}{'direct':>7}{'1..4':>5}"
        + (f"{'right':>6}{'direct':>7}" if truth is not None else ""))
    out(f"{'':<56}{'':>9}{'':>9}{'(exact recoveries)':>19}{'(guesses from near equations)':>30}")
    for t in tables:
        out(f"{t['table']:<56}{t['withheld']:>9}{t['withheld_additive']:>9}{t['recovered_peeling']:>7}{t['recovered_linear']:>7}"
            f"{t['recovered_in_1_to_4']:>5}{t['exposed']:>8}{t['exposed_direct']:>7}{t['exposed_in_1_to_4']:>5}"
            + (f"{t.get('exposed_correct', '-'):>6}{t.get('exposed_direct_correct', '-'):>7}" if truth is not None else ""))
    cells = [(c, i) for c, i in recovered if c.withheld]
    for title, pick in (("Recovered exactly", lambda i: i["method"] != "guess"),
                        ("Exposed (a near equation's value: exact where it holds, else a bound)", lambda i: i["method"] == "guess")):
        chosen = [i for _, i in cells if pick(i)]
        if not chosen:
            continue
        refuted = sum(i["negative"] for i in chosen)
        out(f"\n{title}: {len(chosen) - refuted}" + (f" (and {refuted} refuted: negative)" if refuted else ""))
        for i in chosen[:args.list]:
            extra = ""
            if "true_value" in i:
                extra = "  right" if i["correct"] else f"  wrong (true {i['true_value']})"
            out(f"  {i['table']:<52} {i['row']:<7} {i['figure']:<18} = {i['value']:<5}"
                f"{' 1..4' if i['in_1_to_4'] else '     '} [{i['method']}, depth {i['depth']}]{' REFUTED (negative)' if i['negative'] else ''}{extra}")
            out(f"      via {i['via']}")
        if len(chosen) > args.list:
            out(f"  ... {len(chosen) - args.list} more (--list N, or --json)")
    for p in problems:
        out(f"PROBLEM: {p}")
    for n in data.notes:
        out(f"note: {n}")
    r = report["result"]
    out(f"\n{r['withheld']} withheld cells ({r['withheld_additive']} additive): {n_exact} recovered exactly, "
        f"{n_exposed} exposed -> {'FAIL' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
