"""Workload 3 job (run in a subprocess so its peak RSS is measured alone).

Loads the processed national tables once, then calls ``analysis.metrics.unit_year_metrics`` for
the centre and every province in every year, timing each call; stops early when the time budget
is spent. Profiles one province-year with pyinstrument. Prints one JSON object.

Usage: ``python benchmarks/metrics_job.py DATA BUDGET_SECONDS PROFILE_TXT``
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(data: Path, budget: float, profile_path: Path) -> None:
    from analysis import metrics, store

    t0 = time.perf_counter()
    tables = store.load_tables(data)
    load_s = time.perf_counter() - t0
    units = tables.units
    provinces = sorted(set(units.loc[units["parent_id"] == "tw", "unit_id"]) - {"tw"})
    provinces = [p for p in provinces if p.startswith("p")]
    targets = ["tw", *provinces]
    years = tables.years
    calls = []
    started = time.perf_counter()
    first_call = None
    for year in years:
        for uid in targets:
            if time.perf_counter() - started > budget:
                break
            c0 = time.perf_counter()
            result = metrics.unit_year_metrics(tables, uid, year)
            dt = time.perf_counter() - c0
            if first_call is None:
                first_call = dt
            mem = result["coverage"]["members"]
            calls.append({"unit_id": uid, "year": year, "seconds": dt, "numerator": mem["numerator"],
                          "denominator": mem["denominator"]})
    profile = None
    try:
        from pyinstrument import Profiler

        prof = Profiler(interval=0.005)
        prof.start()
        metrics.unit_year_metrics(tables, provinces[0], years[-1])
        prof.stop()
        profile_path.write_text(prof.output_text(unicode=True, color=False, show_all=False), encoding="utf-8")
        profile = str(profile_path)
    except ImportError:
        pass
    print(json.dumps({"load_seconds": load_s, "years": years, "targets": len(targets), "calls": calls,
                      "profile": profile}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3]))
