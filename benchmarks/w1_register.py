"""Workloads 1 and 2: a national year of the member register → canonical tables, then the gate.

1. ``hoctap ingest`` of one national year (member register + attendance Parquet) against a DuckDB
   SQL script computing the same aggregates from the same files (``duckdb_register.py``); both
   tables are compared. Targets: ingest ≤ 1,5 × DuckDB, peak RSS ≤ 6 GB.
2. ``hoctap validate`` on the processed year. Target: ≤ 2 × the ingest time.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from common import BENCH_DIR, GB, HOCTAP, PY, Result, cached_synth, measure, ratio, year_view

KEYS = {"membership": ["unit_id", "year"], "study_participation": ["unit_id", "campaign_id"],
        "member_ratings": ["unit_id", "year", "rating_code"]}
VALUES = {"membership": ["members_total", "members_exempt"], "study_participation": ["members_attended", "members_exempt_attended"],
          "member_ratings": ["members_count", "members_not_assessed"]}


def compare(pkg: Path, peer: Path) -> list[str]:
    """Differences between the package's tables and DuckDB's (empty list = identical)."""
    problems = []
    for table, keys in KEYS.items():
        a_path, b_path = pkg / f"{table}.parquet", peer / f"{table}.parquet"
        if not a_path.is_file():
            problems.append(f"{table}: the package wrote no table")
            continue
        a = pd.read_parquet(a_path)
        b = pd.read_parquet(b_path)
        cols = [c for c in VALUES[table] if c in a.columns and c in b.columns]
        if table == "study_participation" and "is_held" in a.columns:
            a = a[a["members_attended"].fillna(0) > 0]  # DuckDB has rows only where someone attended
        if table == "member_ratings":
            a = a[a["rating_code"].notna()]
        a = a[keys + cols].astype({c: "int64" for c in cols}).sort_values(keys).reset_index(drop=True)
        b = b[keys + cols].astype({c: "int64" for c in cols}).sort_values(keys).reset_index(drop=True)
        for k in keys:
            a[k] = a[k].astype(str)
            b[k] = b[k].astype(str)
        if len(a) != len(b):
            problems.append(f"{table}: {len(a)} rows (package) vs {len(b)} (DuckDB)")
        merged = a.merge(b, on=keys, how="outer", suffixes=("_pkg", "_duck"), indicator=True)
        only = merged["_merge"].value_counts().to_dict()
        if only.get("left_only") or only.get("right_only"):
            problems.append(f"{table}: keys only in package {only.get('left_only', 0)}, "
                            f"only in DuckDB {only.get('right_only', 0)}")
        both = merged[merged["_merge"] == "both"]
        for c in cols:
            diff = int((both[f"{c}_pkg"] != both[f"{c}_duck"]).sum())
            if diff:
                problems.append(f"{table}.{c}: {diff} rows differ")
    return problems


def run(quick: bool, res1: Result, res2: Result) -> dict:
    size = 0.05 if quick else 1.0
    raw = cached_synth("national", "2024-2025", 1, size)
    year = 2025
    view = year_view(raw, year)
    out = raw.parent / f"processed-{year}"
    duck_out = raw.parent / f"duckdb-{year}"
    for d in (out, duck_out):
        shutil.rmtree(d, ignore_errors=True)
    ing = res1.add(measure(f"hoctap ingest (national {year}, size {size:g})",
                           [HOCTAP, "ingest", str(view), "--out", str(out), "--quiet"]))
    duck = res1.add(measure("DuckDB SQL, same aggregates (2 threads)",
                            [PY, str(BENCH_DIR / "duckdb_register.py"), str(view), str(year), str(duck_out), "2"]))
    r = ratio(ing.seconds, duck.seconds)
    res1.check("ingest / DuckDB time", r, "≤ 1,5", None if r is None else (ing.returncode in (0, 1) and r <= 1.5))
    res1.check("ingest peak RSS (GB)", round(ing.rss_gb, 2), "≤ 6", ing.peak_rss <= 6 * GB)
    if ing.returncode in (0, 1):
        problems = compare(out, duck_out)
        res1.check("tables identical to DuckDB's", "yes" if not problems else "; ".join(problems)[:600], "yes",
                   not problems)
    else:
        res1.check("tables identical to DuckDB's", "package produced no tables", "yes", False)
    budget = min(300.0, max(120.0, 20 * ing.seconds))
    report = raw.parent / f"validation-{year}.json"
    val = res2.add(measure(f"hoctap validate (national {year})",
                           [HOCTAP, "validate", "--data", str(out), "--format", "json"], timeout=budget,
                           stdout_file=report))
    if val.returncode in (0, 1) and report.is_file():
        import json

        try:
            found = json.loads(report.read_text(encoding="utf-8"))
            res2.note(f"verdict {found['verdict']}, counts {found['counts']}; checks: "
                      f"{sorted({f['check'] for f in found['findings'] if f['severity'] == 'critical'})}")
        except (json.JSONDecodeError, KeyError):
            pass
    r2 = ratio(val.seconds, ing.seconds)
    ok = ing.returncode in (0, 1) and val.returncode in (0, 1) and r2 is not None and r2 <= 2
    res2.check("validate / ingest time", r2, "≤ 2", ok)
    return {"raw": raw, "processed_year": out, "ingest": ing}
