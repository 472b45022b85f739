"""Profile the body of the annual dashboard notebook in-process (what the kernel executes).

Usage: ``python benchmarks/dashboard_job.py DATA UNIT YEAR PROFILE_TXT``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(data: str, unit: str, year: int, profile_path: Path) -> None:
    from pyinstrument import Profiler

    from analysis import dashboard

    prof = Profiler(interval=0.01)
    prof.start()
    t0 = time.perf_counter()
    d = dashboard.load_annual(data, unit, year, "vi", "")
    steps = {"load_annual": time.perf_counter() - t0}
    for name in ("head_html", "kpi_html", "summary_html", "campaign_html", "subunit_html", "unit_ratings_html",
                 "member_ratings_html", "trends_html", "quality_html"):
        t = time.perf_counter()
        getattr(dashboard, name)(d)
        steps[name] = time.perf_counter() - t
    prof.stop()
    profile_path.write_text(prof.output_text(unicode=True, color=False), encoding="utf-8")
    for k, v in steps.items():
        print(f"{k:22} {v:8.2f} s")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
