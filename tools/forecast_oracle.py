#!/usr/bin/python3
"""The district forecasts and their backtests, recomputed from the published monthly series.

On the demo city with its two years of dated history (geodata/, events.csv), for every level, the
oracle reads the series RGIS publishes (`rgis indicators --series`, the five years before the last
complete month) and, from those numbers alone, in plain Python:
  * trims the months before the market's first non-zero figure, treats a withheld month as missing,
    and refuses a forecast from fewer than 18 observed months;
  * fits damped-trend exponential smoothing by its written rule (level = the first value, trend 0; a
    missing month carries the one-step forecast; α, β, φ from the documented grid by the least sum of
    squared one-step errors, the first left out, ties to the first in grid order);
  * forecasts 1 to 12 months with the 80 % and 95 % intervals of ETS(A,Ad,N)'s variance;
  * runs the rolling-origin backtest again (origins from the 12th observed month to the last but one)
    and computes MASE (m = 12), the MAE relative to seasonal naive, and the intervals' coverage.
  * lists the expected alerts: the default rules on months of supply (oversupply above 7, shortage
    below 3) whose threshold the last observed month is within and a forecast month crosses, with the
    first such month, each flagged as a forecast.
Every number of `rgis indicators --forecast` (CLI) and `GET /indicators/forecasts` (HTTP) is compared.

Run with Debian's /usr/bin/python3:
    tools/forecast_oracle.py --rgis .build/debug/rgis --demo geodata --workdir /tmp/forecast [--database-base postgresql://…]
"""
import argparse
import json
import os
import sys
import urllib.request
from datetime import date

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

ALPHAS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
BETAS = [0.01, 0.05, 0.1, 0.2, 0.3]
PHIS = [0.8, 0.9, 0.98]
FIGURES = ["active_inventory", "months_of_supply", "median_list_price_per_m2", "active_demands", "closed_sales"]
Z80, Z95 = 1.2815515655446004, 1.959963984540054
MINIMUM, FIRST_ORIGIN = 18, 12
# The default alert rules on a forecast figure: (id, figure, above?, threshold).
RULES = [("oversupply", "months_of_supply", True, 7.0), ("shortage", "months_of_supply", False, 3.0)]


def damped(phi, h):
    return sum(phi ** k for k in range(1, h + 1))


def run(history, a, b, phi):
    first = next((i for i, v in enumerate(history) if v is not None), None)
    if first is None:
        return None
    level, trend, sse, errors, seen = history[first], 0.0, 0.0, 0, 1
    for y in history[first + 1:]:
        f = level + phi * trend
        if y is None:
            level, trend = f, trend * phi
            continue
        if seen >= 2:
            sse += (y - f) ** 2
            errors += 1
        seen += 1
        new = a * y + (1 - a) * f
        trend = b * (new - level) + (1 - b) * phi * trend
        level = new
    return {"a": a, "b": b, "phi": phi, "level": level, "trend": trend, "sse": sse, "errors": errors}


def best(history):
    found = None
    for a in ALPHAS:
        for b in BETAS:
            for phi in PHIS:
                fit = run(history, a, b, phi)
                if fit is None:
                    return None
                if found is None or fit["sse"] < found["sse"]:
                    found = fit
    return found


def predict(fit, h):
    value = fit["level"] + damped(fit["phi"], h) * fit["trend"]
    var = (fit["sse"] / fit["errors"]) if fit["errors"] else 0.0
    total = 1.0 + sum((fit["a"] * (1 + fit["b"] * damped(fit["phi"], j))) ** 2 for j in range(1, h))
    return value, (var * total) ** 0.5


def forecast(raw, horizon):
    start = next((i for i, v in enumerate(raw) if (v or 0) != 0), len(raw))
    history = raw[start:]
    observed = sum(v is not None for v in history)
    if observed < MINIMUM:
        return {"observed": observed, "fit": None}
    fit = best(history)
    months = []
    for h in range(1, horizon + 1):
        v, sd = predict(fit, h)
        months.append([max(0, v), max(0, v - Z80 * sd), max(0, v + Z80 * sd), max(0, v - Z95 * sd), max(0, v + Z95 * sd)])
    # Backtest.
    absolute = naive = paired = 0.0
    points = naive_points = in80 = in95 = origins = seen = 0
    for origin, value in enumerate(history):
        if value is None:
            continue
        seen += 1
        if seen < FIRST_ORIGIN or origin >= len(history) - 1:
            continue
        at = best(history[:origin + 1])
        origins += 1
        for h in range(1, horizon + 1):
            if origin + h >= len(history) or history[origin + h] is None:
                continue
            actual = history[origin + h]
            v, sd = predict(at, h)
            f = max(0, v)
            absolute += abs(actual - f)
            points += 1
            in80 += max(0, v - Z80 * sd) <= actual <= max(0, v + Z80 * sd)
            in95 += max(0, v - Z95 * sd) <= actual <= max(0, v + Z95 * sd)
            lag = origin + h - 12
            if 0 <= lag <= origin and history[lag] is not None:
                naive += abs(actual - history[lag])
                paired += abs(actual - f)
                naive_points += 1
    pairs = [(history[t], history[t - 12]) for t in range(12, len(history)) if history[t] is not None and history[t - 12] is not None]
    scale = sum(abs(x - y) for x, y in pairs)
    mae = absolute / points if points else None
    return {"observed": observed, "fit": fit, "months": months,
            "backtest": {"origins": origins, "points": points,
                         "mase": mae / (scale / len(pairs)) if mae is not None and len(pairs) >= 3 and scale > 0 else None,
                         "relative_mae_seasonal_naive": paired / naive if naive_points and naive > 0 else None,
                         "mean_absolute_error": mae,
                         "coverage_80": in80 / points if points else None, "coverage_95": in95 / points if points else None}}


def near(got, want, digits):
    if want is None:
        return got is None
    return got is not None and abs(got - round(want, digits)) <= 1.5 * 10 ** -digits


def compare(label, answer, series, horizon, tally, rules=RULES):
    by_id = {d["id"]: d for d in series["districts"]}
    for d in answer["districts"]:
        months = by_id[d["id"]]["months"]
        for figure in FIGURES:
            got = d["figures"][figure]
            want = forecast([m.get(figure) for m in months], horizon)
            tally["figures"] += 1
            where = f"{label} {d['id']} {figure}"
            if got["observed_months"] != want["observed"]:
                tally["failures"].append(f"{where}: {got['observed_months']} observed months, oracle {want['observed']}")
            if want["fit"] is None:
                tally["refused"] += 1
                if got["forecast"] is not None or "a forecast needs at least 18" not in got.get("reason", ""):
                    tally["failures"].append(f"{where}: forecast from {want['observed']} observed months, or no reason")
                continue
            if got["forecast"] is None:
                tally["failures"].append(f"{where}: no forecast ({got.get('reason')}), oracle has one")
                continue
            fit = want["fit"]
            p = got["parameters"]
            if (p["alpha"], p["beta"], p["phi"]) != (fit["a"], fit["b"], fit["phi"]):
                tally["failures"].append(f"{where}: parameters {p}, oracle {fit['a'], fit['b'], fit['phi']}")
            for m, w in zip(got["forecast"], want["months"]):
                for key, value in zip(["value", "low_80", "high_80", "low_95", "high_95"], w):
                    tally["numbers"] += 1
                    if not near(m[key], value, 2):
                        tally["failures"].append(f"{where} {m['month']} {key}: {m[key]}, oracle {value:.4f}")
            for key, value in want["backtest"].items():
                tally["numbers"] += 1
                g = got["backtest"][key]
                if isinstance(value, int):
                    ok = g == value
                else:
                    ok = near(g, value, 3)
                if not ok:
                    tally["failures"].append(f"{where} backtest {key}: {g}, oracle {value}")
            last = next((v for v in reversed([m.get(figure) for m in months]) if v is not None), None)
            expected = []
            for rule, on, above, threshold in rules:
                beyond = (lambda v: v > threshold) if above else (lambda v: v < threshold)
                if on != figure or last is None or beyond(last):
                    continue
                h = next((k for k, m in enumerate(want["months"]) if beyond(m[0])), None)
                if h is not None:
                    expected.append((rule, h + 1))
            got_expected = [(e["rule"], e["within_months"]) for e in got.get("expected_alerts", []) if e.get("basis") == "forecast"]
            if sorted(got_expected) != sorted(expected) or len(got_expected) != len(got.get("expected_alerts", [])):
                tally["failures"].append(f"{where}: expected alerts {got.get('expected_alerts')}, oracle {expected}")
            tally["expected"] += len(expected)
            tally["forecasts"] += 1
            tally["mase"].append(got["backtest"]["mase"])
            tally["coverage95"].append(got["backtest"]["coverage_95"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rgis", required=True)
    parser.add_argument("--geodata")
    parser.add_argument("--demo", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--database-base")
    args = parser.parse_args()
    oracle.DATABASE_BASE = args.database_base
    os.makedirs(args.workdir, exist_ok=True)
    rgis = oracle.demo_database(args.rgis, args.demo, args.workdir, "forecast_demo", events=True)

    today = date.today()
    last = (today.year * 12 + today.month - 2)
    to = f"{last // 12:04d}-{last % 12 + 1:02d}"
    first = last - 59
    frm = f"{first // 12:04d}-{first % 12 + 1:02d}"
    tally = {"figures": 0, "forecasts": 0, "refused": 0, "numbers": 0, "expected": 0, "failures": [], "mase": [], "coverage95": []}
    server = oracle.Server(args.rgis, rgis.database, "--rate-limit", "0")
    try:
        for level in ("city", "district", "subdistrict"):
            series = json.loads(rgis.run("indicators", rgis.database, "--series", "--level", level, "--from", frm, "--to", to))
            cli = json.loads(rgis.run("indicators", rgis.database, "--forecast", "--level", level))
            if (cli["history_from"], cli["history_to"]) != (frm, to):
                tally["failures"].append(f"{level}: history {cli['history_from']}–{cli['history_to']}, expected {frm}–{to}")
            compare(f"CLI {level}", cli, series, 12, tally)
            with urllib.request.urlopen(f"{server.url}/indicators/forecasts?level={level}&horizon=6", timeout=300) as response:
                http = json.loads(response.read())
            compare(f"HTTP {level} horizon 6", http, series, 6, tally)
        # Rules of one's own whose thresholds the city's forecasts cross: half way from the last observed
        # month to the twelfth forecast one, on three figures (a rules file, as `rgis alerts --rules` reads it).
        series = json.loads(rgis.run("indicators", rgis.database, "--series", "--level", "city", "--from", frm, "--to", to))
        city = json.loads(rgis.run("indicators", rgis.database, "--forecast", "--level", "city"))["districts"][0]["figures"]
        rules, own = [], []
        for figure in ("active_inventory", "active_demands", "median_list_price_per_m2"):
            last = next(v for v in reversed([m.get(figure) for m in series["districts"][0]["months"]]) if v is not None)
            far = city[figure]["forecast"][-1]["value"]
            if abs(far - last) < 1e-6:
                continue
            threshold = round((last + far) / 2, 4)
            rules.append({"id": f"watch_{figure}", "metric": figure, "above" if far > last else "below": threshold,
                          "severity": "notice", "title": f"{figure} watch"})
            own.append((f"watch_{figure}", figure, far > last, threshold))
        path = os.path.join(args.workdir, "rules.json")
        with open(path, "w") as out:
            json.dump({"rules": rules}, out)
        watched = json.loads(rgis.run("indicators", rgis.database, "--forecast", "--level", "city", "--rules", path))
        compare("CLI city with watch rules", watched, series, 12, tally, RULES + own)
        if len(own) < 2:
            tally["failures"].append(f"only {len(own)} watch rules could be made")
        one = json.loads(rgis.run("indicators", rgis.database, "--forecast", "--level", "district", "--district", "D2", "--horizon", "3"))
        if [d["id"] for d in one["districts"]] != ["D2"] or len(one["districts"][0]["figures"]["active_inventory"]["forecast"]) != 3:
            tally["failures"].append("--district D2 --horizon 3: not one district with 3 months")
    finally:
        server.stop()

    mase = sorted(m for m in tally["mase"] if m is not None)
    cover = sorted(c for c in tally["coverage95"] if c is not None)
    median = lambda xs: xs[len(xs) // 2] if xs else None  # noqa: E731
    print(f"forecast oracle: {tally['figures']} district figures on 3 levels by CLI and HTTP, {tally['forecasts']} forecasts "
          f"({tally['numbers']} numbers compared), {tally['refused']} refused for a short history, {tally['expected']} expected alerts; "
          f"median MASE {median(mase)}, median 95 % coverage {median(cover)}")
    oracle.report("forecast oracle", tally["failures"])


if __name__ == "__main__":
    main()
