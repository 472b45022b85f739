"""Workload 6 (issue 6): one ward report against the papermill floor, and ``--jobs 2`` speed-up.

Runs ``benchmarks/bench_reports.py`` (floor = papermill executing and exporting a one-cell plotly
notebook; report = one forced ``reports.render_job`` of the sample ward's annual dashboard; a batch
of the sample's grassroots reports with 1 and 2 jobs) in a fresh process and records its figures.
"""

from __future__ import annotations

import json

from common import BENCH_DIR, PY, Result, measure


def run(quick: bool, res: Result) -> None:
    repeat = "2" if quick else "3"
    m = res.add(measure(f"bench_reports.py (floor ×{repeat}, ward report ×{repeat}, batch jobs 1 and 2)",
                        [PY, str(BENCH_DIR / "bench_reports.py"), "--repeat", repeat, "--json"], timeout=1800))
    try:
        found = json.loads(m.stdout[m.stdout.index("{"):])
    except (ValueError, json.JSONDecodeError):
        res.note(f"bench_reports.py gave no result (exit {m.returncode})")
        return
    res.check("papermill floor (s, median)", found["floor_seconds"], "(reference)", None)
    res.check(f"one ward report {found['unit']} {found['year']} (s, median)", found["report_seconds"],
              "(informative)", None)
    res.check("ward report / floor", found["ratio"], "≤ 1,5", found["ratio"] <= 1.5)
    res.check(f"batch of {found['batch_reports']} reports: one at a time → jobs 1 → jobs 2 (s)",
              f"{found['batch_serial_seconds']} → {found['batch_jobs1_seconds']} → {found['batch_jobs2_seconds']}",
              "(informative)", None)
    res.check("report in a batch / floor", found["batch_report_ratio"], "≤ 1,5", found["batch_report_ratio"] <= 1.5)
    res.check("speed-up with --jobs 2 over one report at a time", found["speedup_jobs2_vs_serial"], "near 2 (linear)",
              found["speedup_jobs2_vs_serial"] >= 1.6)
    res.check("speed-up with --jobs 2 over --jobs 1 (which already starts kernels on the 2nd core)",
              found["speedup_jobs2"], "(informative)", None)
