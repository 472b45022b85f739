"""Workload 6 (issue 6): one ward report against the papermill floor, and ``--jobs 2`` speed-up.

Runs ``benchmarks/bench_reports.py`` (floor = papermill executing and exporting a one-cell plotly
notebook; report = one forced ``reports.render_job`` of the sample ward's annual dashboard; a batch
of the sample's grassroots reports with 1 and 2 jobs) in a fresh process and records its figures.

Then the same comparison as an analyst meets it, cold: the command ``hoctap report --unit
tan-thanh --year 2024 --force`` against a fresh ``python`` running the floor (with the optional
import ``hoctap`` skips, ``analysis.lean``, skipped there too, so the floor is not slowed by it),
alternated, medians of 3.
"""

from __future__ import annotations

import json
import shutil
import statistics

from common import BENCH_DIR, COLD_FLOOR, HOCTAP, OUT, PY, ROOT, Result, measure, python_code


def cold_command(quick: bool, res: Result) -> None:
    """The command, cold, against the cold floor (alternated; medians)."""
    work = OUT / "ward-cold"
    shutil.rmtree(work, ignore_errors=True)
    data = work / "processed"
    ingest = measure("hoctap ingest data/raw (sample)", [HOCTAP, "ingest", str(ROOT / "data" / "raw"), "--out",
                                                         str(data), "--quiet"])
    if ingest.returncode not in (0, 1):
        res.note(f"sample ingest failed (exit {ingest.returncode}): no cold comparison")
        return
    floors, reports = [], []
    for i in range(-1, 2 if quick else 3):  # run -1 warms the page cache: not counted
        f = measure("cold floor", python_code(COLD_FLOOR) + [str(work / f"floor{i}")])
        r = measure("cold hoctap report", [HOCTAP, "report", "--unit", "tan-thanh", "--year", "2024", "--data",
                                           str(data), "--out", str(work / "out"), "--force"])
        if f.returncode or r.returncode:
            res.note(f"cold run failed (floor exit {f.returncode}, report exit {r.returncode}): {r.stderr[-300:]}")
            return
        if i >= 0:
            floors.append(f.seconds)
            reports.append(r.seconds)
    floor, report = statistics.median(floors), statistics.median(reports)
    res.check("cold: python running the papermill floor (s, median)", round(floor, 2), "(reference)", None)
    res.check("cold: hoctap report --unit tan-thanh --year 2024 (s, median)", round(report, 2), "(informative)", None)
    res.check("cold command / cold floor", round(report / floor, 2), "≤ 1,5", report / floor <= 1.5)


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
    res.check(f"bare floor, a '1 + 1' notebook (s, median): {found['bare_floor_seconds']}; ward report / bare floor",
              found["ratio_bare"], "(informative)", None)
    res.check(f"batch of {found['batch_reports']} reports: one at a time → jobs 1 → jobs 2 (s)",
              f"{found['batch_serial_seconds']} → {found['batch_jobs1_seconds']} → {found['batch_jobs2_seconds']}",
              "(informative)", None)
    res.check("report in a batch / floor", found["batch_report_ratio"], "≤ 1,5", found["batch_report_ratio"] <= 1.5)
    res.check("speed-up with --jobs 2 over one report at a time", found["speedup_jobs2_vs_serial"], "near 2 (linear)",
              found["speedup_jobs2_vs_serial"] >= 1.6)
    res.check("speed-up with --jobs 2 over --jobs 1 (which already starts kernels on the 2nd core)",
              found["speedup_jobs2"], "(informative)", None)
    if found.get("kernel"):
        res.note(f"the single report's kernel: {found['kernel']}")
    cold_command(quick, res)
