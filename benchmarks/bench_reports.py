"""Per-report wall time against the floor, and the speed-up of ``--jobs 2``.

The floor is papermill executing a trivial one-cell notebook (one plotly figure shown as HTML)
and exporting it to HTML, measured in the same run on the same machine; the barest floor (a
``1 + 1`` cell, no plotly import in the kernel) is measured too, for reference. A report is one
``reports.render_job`` of an annual dashboard (input hash, data-quality gate, papermill, export,
metrics.json/xlsx, provenance), forced to re-render.

Usage::

    .venv/bin/python benchmarks/bench_reports.py [--data DIR] [--unit tan-thanh] [--year 2024]
        [--repeat 3] [--batch-years 2023-2024] [--json]

Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FLOOR_CELL  # noqa: E402

BARE_CELL = "1 + 1"
FORKED: list[int] = []  # kernels of the single reports forked from this process


def floor_seconds(work: Path, repeat: int, cell: str = FLOOR_CELL) -> list[float]:
    """Wall times of papermill + HTML export of a one-cell notebook (after one uncounted warm-up
    run): by default the floor's plotly figure, ``BARE_CELL`` for the barest notebook."""
    import nbformat
    import papermill as pm
    from nbformat.v4 import new_code_cell, new_notebook

    from analysis import reports

    nb = new_notebook(cells=[new_code_cell(cell)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                  "language_info": {"name": "python"}})
    tag = "bare" if cell == BARE_CELL else "floor"
    src = work / f"{tag}.ipynb"
    nbformat.write(nb, src)
    times = []
    for i in range(-1, repeat):  # run -1 warms up (first kernel, exporter templates): not counted
        start = time.perf_counter()
        out = work / f"{tag}-{i}.ipynb"
        pm.execute_notebook(str(src), str(out), kernel_name="python3", progress_bar=False, cwd=str(work))
        (work / f"{tag}-{i}.html").write_text(reports.export_html(out), encoding="utf-8")
        if i >= 0:
            times.append(time.perf_counter() - start)
    return times


def report_seconds(data: Path, out: Path, unit: str, year: int, repeat: int) -> list[float]:
    """Wall times of one forced annual report (after one uncounted warm-up run)."""
    from analysis import kernels, reports

    params = reports.build_params("annual", unit_id=unit, year=year, data_dir=data)
    real_fork = kernels.Prefork.fork

    def counted_fork(self: kernels.Prefork, *args: object, **kwargs: object) -> int:
        FORKED.append(1)
        return real_fork(self, *args, **kwargs)  # type: ignore[arg-type]

    kernels.Prefork.fork = counted_fork  # type: ignore[method-assign]
    times = []
    for i in range(-1, repeat):  # run -1 warms up (first reads of the data, as for the floor): not counted
        start = time.perf_counter()
        result = reports.render_job("annual", params, out, force=True)
        if result.status != "rendered":
            raise SystemExit(f"report failed: {result.error}")
        if i >= 0:
            times.append(time.perf_counter() - start)
    return times


def batch_seconds(data: Path, out: Path, years: tuple[int, int], jobs: int, ahead: bool = True) -> tuple[float, int]:
    """Wall time and report count of a forced batch of grassroots organisations.

    Args:
        ahead: Kernels started ahead (the default); False renders one report at a time, each
            starting its own kernel (``HOCTAP_WARM_KERNELS=0``): the one-core reference.
    """
    import os

    from analysis import reports

    if not ahead:
        os.environ["HOCTAP_WARM_KERNELS"] = "0"
    start = time.perf_counter()
    summary = reports.render_batch(data, out, level="co_so", years=years, jobs=jobs, force=True,
                                   progress=reports.Progress(open("/dev/null", "w"), tty=False))
    if not summary["ok"]:
        raise SystemExit(f"batch failed: {reports.format_batch_summary(summary)}")
    os.environ.pop("HOCTAP_WARM_KERNELS", None)
    return time.perf_counter() - start, summary["rendered"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, help="processed folder (default: ingest the sample into a temp folder)")
    p.add_argument("--unit", default="tan-thanh")
    p.add_argument("--year", type=int, default=2024)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--batch-years", default="2023-2024")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    a, b = (int(x) for x in args.batch_years.split("-"))
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp:
        work = Path(tmp)
        data = args.data
        if data is None:
            from analysis.intake.pipeline import ingest

            data = work / "processed"
            ingest(ROOT / "data" / "raw", data)
        floor = floor_seconds(work, args.repeat)
        bare = floor_seconds(work, args.repeat, BARE_CELL)
        report = report_seconds(data, work / "reports", args.unit, args.year, args.repeat)
        t0, _ = batch_seconds(data, work / "batch0", (a, b), 1, ahead=False)
        t1, n1 = batch_seconds(data, work / "batch1", (a, b), 1)
        t2, n2 = batch_seconds(data, work / "batch2", (a, b), 2)
    floor_med, report_med = statistics.median(floor), statistics.median(report)
    result = {
        "floor_seconds": round(floor_med, 2), "report_seconds": round(report_med, 2),
        "ratio": round(report_med / floor_med, 2), "unit": args.unit, "year": args.year,
        "bare_floor_seconds": round(statistics.median(bare), 2),
        "ratio_bare": round(report_med / statistics.median(bare), 2),
        "batch_reports": n1, "batch_serial_seconds": round(t0, 2), "batch_jobs1_seconds": round(t1, 2),
        "batch_jobs2_seconds": round(t2, 2), "speedup_jobs2": round(t1 / t2, 2),
        "speedup_jobs2_vs_serial": round(t0 / t2, 2), "per_report_serial": round(t0 / n1, 2),
        "per_report_jobs1": round(t1 / n1, 2), "per_report_jobs2": round(t2 / n2, 2),
        "batch_report_ratio": round(min(t1 / n1, t2 / n2) / floor_med, 2),
        "kernel": f"forked from the report's process in {len(FORKED)} of {args.repeat + 1} runs "
                  "(else launched by jupyter_client)",
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"floor (papermill + export, trivial notebook): {result['floor_seconds']:.2f} s "
              f"(median of {args.repeat}: {', '.join(f'{x:.2f}' for x in floor)})")
        print(f"one ward report ({args.unit} {args.year}):            {result['report_seconds']:.2f} s "
              f"(median of {args.repeat}: {', '.join(f'{x:.2f}' for x in report)})")
        print(f"ratio report / floor:                          {result['ratio']:.2f}× (aim ≤ 1.5×)")
        print(f"bare floor (a '1 + 1' notebook):               {result['bare_floor_seconds']:.2f} s; "
              f"report / bare floor {result['ratio_bare']:.2f}×")
        print(f"batch of {n1} reports, one at a time, no kernel ahead: {t0:.2f} s ({result['per_report_serial']:.2f} s each)")
        print(f"batch of {n1} reports, --jobs 1:                 {t1:.2f} s ({result['per_report_jobs1']:.2f} s each)")
        print(f"batch of {n2} reports, --jobs 2:                 {t2:.2f} s ({result['per_report_jobs2']:.2f} s each)")
        print(f"speed-up with --jobs 2:                        {result['speedup_jobs2']:.2f}× over --jobs 1, "
              f"{result['speedup_jobs2_vs_serial']:.2f}× over one at a time")
        print(f"report in a batch / floor:                     {result['batch_report_ratio']:.2f}×")
        print(f"single report's kernel:                        {result['kernel']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
