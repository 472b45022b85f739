"""Workload 4: provincial dashboards from national processed data.

* one provincial dashboard (``hoctap report --unit … --year …``) against the papermill floor: a
  one-cell plotly notebook executed by papermill and exported by nbconvert in a cold process
  (``common.COLD_FLOOR``; target ≤ 1,5×);
* 63 provincial dashboards with 2 jobs (``reports.render_batch(..., jobs=2)``), informative.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from common import COLD_FLOOR, HOCTAP, OUT, Result, measure, python_code, ratio

BATCH = """
import sys, json
from pathlib import Path
from analysis import reports
data, out, year, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
units = [f"p{i:02d}" for i in range(1, 64)][:n]
s = reports.render_batch(data, out, years=(year, year), jobs=2, force=True, unit_ids=units)
print(json.dumps({k: s[k] for k in ("ok", "rendered", "skipped", "failed") if k in s}))
"""


def run(quick: bool, data: Path, res: Result) -> None:
    year = 2025
    work = OUT / "reports"
    shutil.rmtree(work, ignore_errors=True)
    floor = res.add(measure("papermill floor: one-cell plotly notebook + nbconvert HTML (cold process)",
                            python_code(COLD_FLOOR) + [str(work / "floor")]))
    one = res.add(measure(f"hoctap report --unit p01 --year {year} (national data)",
                          [HOCTAP, "report", "--unit", "p01", "--year", str(year), "--data", str(data),
                           "--out", str(work / "one"), "--force"], timeout=600))
    r = ratio(one.seconds, floor.seconds)
    res.check("one dashboard / papermill floor", r, "≤ 1,5", None if r is None else (one.returncode == 0 and r <= 1.5))
    n = 4 if quick else 63
    if not quick and (one.returncode != 0 or one.seconds > 120):
        # 63 slow dashboards cannot fit in the 20-minute bench: no batch, extrapolate from the single one
        est = 63 * one.seconds / 2 / 60
        res.note(f"one dashboard took {one.seconds:.0f} s (exit {one.returncode}): the 63-dashboard batch was not "
                 f"run; 63 × {one.seconds:.0f} s / 2 jobs ≈ {est:.0f} min (extrapolated, ignores contention)")
        res.check("63 provincial dashboards, 2 jobs (extrapolated, min)", round(est, 1), "(informative)", None)
        return
    if not quick and one.seconds > 30:
        n = 4
        res.note(f"one dashboard took {one.seconds:.0f} s: the batch renders {n} provinces and the 63-dashboard "
                 "time is extrapolated")
    batch = res.add(measure(f"{n} provincial dashboards, 2 jobs", python_code(BATCH) + [
        str(data), str(work / "batch"), str(year), str(n)], timeout=1500))
    if batch.returncode == 0 and batch.stdout.strip():
        res.note(f"batch summary: {batch.stdout.strip().splitlines()[-1]}")
    per = batch.seconds / n if n else None
    res.check(f"seconds per dashboard in the {n}-dashboard batch (2 jobs)", round(per, 2) if per else None,
              "(informative)", None)
    if n != 63 and per:
        res.check("63 provincial dashboards, 2 jobs (extrapolated, min)", round(63 * per / 60, 1),
                  "(informative)", None)
    res.note("peak RSS of the batch is the largest single process of its tree (RUSAGE_CHILDREN), not the sum "
             "of the 2 workers")
