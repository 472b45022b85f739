"""Workload 3: metrics for the centre and all 63 provinces, every year (target ≤ 1 s per province-year).

Peer: a DuckDB recursive closure over the unit tree computing the pooled member coverage
(numerator, denominator) of the same unit-years; the figures are compared.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
from common import BENCH_DIR, HOCTAP, OUT, PY, Result, measure, python_code, ratio

PROCESSED_FALLBACK = """
import sys
from pathlib import Path
import pandas as pd
sys.path.insert(0, {bench!r})
import duckdb_register
from analysis import store
from analysis.intake.pipeline import load_units, read_reference_csv
raw, out, years = Path({raw!r}), Path({out!r}), {years!r}
parts = {{"membership": [], "study_participation": [], "member_ratings": []}}
for y in years:
    tmp = out.parent / f"duck-{{y}}"
    duckdb_register.run(raw, y, tmp)
    for t in parts:
        parts[t].append(pd.read_parquet(tmp / f"{{t}}.parquet"))
tables = {{t: pd.concat(v, ignore_index=True) for t, v in parts.items()}}
tables["study_participation"]["is_held"] = tables["study_participation"]["members_attended"] > 0
tables["units"] = load_units(raw)
tables["campaigns"] = read_reference_csv(raw / "campaigns.csv", "campaigns", ["campaign_id", "year", "title"])
m = read_reference_csv(raw / "merges.csv", None, ["from_unit_id", "to_unit_id", "year"])
tables["merges"] = m.assign(year=pd.to_numeric(m["year"]).astype("Int64")).astype(
    {{"from_unit_id": "string", "to_unit_id": "string"}})
from analysis import schema
tables["unit_ratings"] = schema.empty("unit_ratings")
tables["quarantine"] = schema.empty("quarantine")
store.write_processed(out, tables, {{"dataset": {{"name": "synthetic national (built by the DuckDB peer)",
                                                  "illustrative": True}}, "files": [], "findings": [],
                                     "totals": {{}}}})
print("ok")
"""


def processed_all_years(raw: Path, years: list[int], res: Result) -> tuple[Path, str]:
    """Processed national tables of every year: the package's ingest, else the DuckDB peer's tables."""
    out = raw.parent / "processed-all"
    shutil.rmtree(out, ignore_errors=True)
    m = res.add(measure(f"hoctap ingest (national, {len(years)} years)",
                        [HOCTAP, "ingest", str(raw), "--out", str(out), "--quiet"]))
    if m.returncode in (0, 1) and (out / "membership.parquet").is_file():
        return out, "package"
    shutil.rmtree(out, ignore_errors=True)
    res.note("package ingest of the national register failed; processed tables for workloads 3–4 were built "
             "from the DuckDB peer's aggregates with analysis.store (same canonical schema)")
    m = res.add(measure("build processed tables from DuckDB aggregates (fallback)",
                        python_code(PROCESSED_FALLBACK.format(bench=str(BENCH_DIR), raw=str(raw), out=str(out),
                                                              years=years))))
    if m.returncode != 0:
        raise RuntimeError(f"fallback failed: {m.stderr[-1500:]}")
    return out, "duckdb-fallback"


def peer_coverage(data: Path, years: list[int]) -> tuple[pd.DataFrame, float]:
    import time

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"""
        CREATE TABLE units AS SELECT unit_id, parent_id, valid_from_year AS f,
               coalesce(valid_to_year, 9999) AS t FROM read_parquet('{data / "units.parquet"}');
        CREATE TABLE yrs AS SELECT unnest({years}) AS year;
        CREATE TABLE uy AS SELECT u.unit_id, u.parent_id, y.year FROM units u JOIN yrs y ON y.year BETWEEN u.f AND u.t;
        CREATE TABLE anc AS WITH RECURSIVE a(unit_id, ancestor_id, year) AS (
            SELECT unit_id, unit_id, year FROM uy
            UNION ALL
            SELECT a.unit_id, uy.parent_id, a.year FROM a JOIN uy ON uy.unit_id = a.ancestor_id AND uy.year = a.year
            WHERE uy.parent_id IS NOT NULL)
          SELECT * FROM a WHERE ancestor_id = 'tw' OR (ancestor_id LIKE 'p%' AND length(ancestor_id) = 3);
        CREATE TABLE camps AS SELECT campaign_id, year FROM read_parquet('{data / "campaigns.parquet"}');
        CREATE TABLE ncamp AS SELECT year, count(*) AS n FROM camps GROUP BY year;
        CREATE TABLE elig AS SELECT unit_id, year, members_total - members_exempt AS e
            FROM read_parquet('{data / "membership.parquet"}');
        CREATE TABLE att AS SELECT s.unit_id, c.year, sum(s.members_attended) AS a
            FROM read_parquet('{data / "study_participation.parquet"}') s JOIN camps c USING (campaign_id)
            GROUP BY s.unit_id, c.year;
    """)
    df = con.execute("""
        SELECT anc.ancestor_id AS unit_id, anc.year,
               coalesce(sum(att.a), 0) AS numerator, coalesce(sum(elig.e * n.n), 0) AS denominator
        FROM anc JOIN ncamp n ON n.year = anc.year
        LEFT JOIN elig ON elig.unit_id = anc.unit_id AND elig.year = anc.year
        LEFT JOIN att ON att.unit_id = anc.unit_id AND att.year = anc.year
        GROUP BY anc.ancestor_id, anc.year ORDER BY 1, 2""").df()
    return df, time.perf_counter() - t0


def run(quick: bool, raw: Path, res: Result) -> Path:
    years = sorted(int(p.name) for p in raw.iterdir() if p.is_dir() and p.name.isdigit())
    data, origin = processed_all_years(raw, years, res)
    budget = 60 if quick else 300
    profile = OUT / "profiles" / "metrics-province-year.txt"
    profile.parent.mkdir(parents=True, exist_ok=True)
    m = res.add(measure("metrics job: load tables + unit_year_metrics loop",
                        [PY, str(BENCH_DIR / "metrics_job.py"), str(data), str(budget), str(profile)]))
    if m.returncode != 0:
        res.note(f"metrics job failed: {m.stderr.strip().splitlines()[-1:] if m.stderr else ''}")
        return data
    info = json.loads(m.stdout.strip().splitlines()[-1])
    calls = pd.DataFrame(info["calls"])
    planned = info["targets"] * len(info["years"])
    res.note(f"processed tables: {origin}; tables loaded in {info['load_seconds']:.1f} s; "
             f"{len(calls)}/{planned} unit-years computed within the {budget} s budget")
    prov = calls[calls["unit_id"] != "tw"]
    per = prov["seconds"].median() if len(prov) else float("nan")
    res.rows.append({"what": "unit_year_metrics per province-year (median)", "seconds": round(per, 3),
                     "max": round(prov["seconds"].max(), 3) if len(prov) else None})
    centre = calls[calls["unit_id"] == "tw"]["seconds"]
    if len(centre):
        res.rows.append({"what": "unit_year_metrics for the centre (whole Party), per year",
                         "seconds": round(centre.median(), 3)})
    total_est = per * 63 * len(info["years"]) + (centre.median() if len(centre) else 0) * len(info["years"])
    res.rows.append({"what": f"all 63 provinces + centre × {len(info['years'])} years (measured/extrapolated)",
                     "seconds": round(total_est, 1)})
    peer, peer_s = peer_coverage(data, info["years"])
    res.rows.append({"what": "DuckDB closure: member coverage of all provinces + centre, all years",
                     "seconds": round(peer_s, 2)})
    res.check("seconds per province-year", round(per, 3), "≤ 1", bool(per <= 1))
    res.check("package / DuckDB (whole batch)", ratio(total_est, peer_s), "(informative)", None)
    merged = calls.merge(peer, on=["unit_id", "year"], suffixes=("", "_duck"))
    bad = merged[(merged["numerator"] != merged["numerator_duck"]) | (merged["denominator"] != merged["denominator_duck"])]
    res.check("member coverage equal to DuckDB's", f"{len(merged) - len(bad)}/{len(merged)} unit-years equal",
              "all", len(bad) == 0 and len(merged) > 0)
    if info.get("profile"):
        res.note(f"pyinstrument profile of one province-year: {Path(info['profile']).relative_to(BENCH_DIR.parent)}")
    return data
