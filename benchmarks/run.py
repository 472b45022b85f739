"""``make bench``: the scale workloads of issue 7, each against a peer, with times, ratios and peak RSS.

Usage::

    python benchmarks/run.py            # full sizes (whole Party, province of 1.000 workbooks)
    python benchmarks/run.py --quick    # small sizes, for development
    python benchmarks/run.py --only 1 5 --record   # some workloads; --record rewrites RESULTS.md

Generated data are cached under ``benchmarks/out/`` (gitignored); delete a folder to regenerate.
Nothing here is part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import w1_register  # noqa: E402
import w3_metrics  # noqa: E402
import w4_dashboards  # noqa: E402
import w5_province  # noqa: E402
import w6_ward_reports  # noqa: E402
from common import BENCH_DIR, OUT, Result, cached_synth, machine  # noqa: E402

TITLES = {
    "1": "National year: member register → canonical tables (hoctap ingest vs DuckDB)",
    "2": "hoctap validate on that national year",
    "3": "Metrics: centre + 63 provinces, all years",
    "4": "Provincial dashboards from national processed data",
    "5": "Province-scale intake of ~1.000 workbooks",
    "6": "One ward report against the papermill floor; --jobs 2 speed-up (issue 6)",
}


def render_markdown(results: list[Result], info: dict, mode: str, command: str, wall: float) -> str:
    lines = [f"## Run {info['date']} ({mode})", "",
             f"Machine: {info['cores']} cores, {info['memory_gb']} GB RAM, {info['cpu']}; Python {info['python']}, "
             f"pandas {info['pandas']}, pyarrow {info['pyarrow']}, DuckDB {info['duckdb']}.  ",
             f"Command: `{command}` — whole run {wall / 60:.1f} min.", ""]
    for r in results:
        lines += [f"### {r.workload}. {r.title}", "", "| measurement | seconds | peak RSS (GB) | exit |", "|---|---:|---:|---:|"]
        for row in r.rows:
            lines.append(f"| {row['what']} | {row.get('seconds', '')} | {row.get('peak_rss_gb', '')} | "
                         f"{row.get('exit', '')} |")
        if r.checks:
            lines += ["", "| check | value | target | verdict |", "|---|---|---|---|"]
            for c in r.checks:
                verdict = "—" if c["ok"] is None else ("met" if c["ok"] else "**missed**")
                lines.append(f"| {c['check']} | {c['value']} | {c['target']} | {verdict} |")
        if r.notes:
            lines += [""] + [f"- {n}" for n in r.notes]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (development)")
    p.add_argument("--only", nargs="*", choices=sorted(TITLES), help="run only these workloads")
    p.add_argument("--record", action="store_true", help="write the results into benchmarks/RESULTS.md")
    args = p.parse_args(argv)
    wanted = set(args.only or TITLES)
    mode = "quick" if args.quick else "full"
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(f"hoctap benchmarks ({mode}) on {info['cores']} cores / {info['memory_gb']} GB — {info['date']}", flush=True)
    started = time.perf_counter()
    results = {k: Result(k, v) for k, v in TITLES.items()}
    raw_national = None
    data_national = None
    if wanted & {"1", "2"}:
        print(f"\n[1–2] {TITLES['1']}", flush=True)
        ctx = w1_register.run(args.quick, results["1"], results["2"])
        raw_national = ctx["raw"]
    if wanted & {"3", "4"}:
        print(f"\n[3] {TITLES['3']}", flush=True)
        if raw_national is None:
            raw_national = cached_synth("national", "2024-2025", 1, 0.05 if args.quick else 1.0)
        data_national = w3_metrics.run(args.quick, raw_national, results["3"])
    if "4" in wanted:
        print(f"\n[4] {TITLES['4']}", flush=True)
        w4_dashboards.run(args.quick, data_national, results["4"])
    if "5" in wanted:
        print(f"\n[5] {TITLES['5']}", flush=True)
        w5_province.run(args.quick, results["5"])
    if "6" in wanted:
        print(f"\n[6] {TITLES['6']}", flush=True)
        w6_ward_reports.run(args.quick, results["6"])
    wall = time.perf_counter() - started
    ran = [results[k] for k in sorted(wanted)]
    print(f"\nWhole run: {wall / 60:.1f} min", flush=True)
    command = "make bench" if not (args.quick or args.only) else \
        "python benchmarks/run.py" + (" --quick" if args.quick else "") + \
        (f" --only {' '.join(sorted(wanted))}" if args.only else "")
    md = render_markdown(ran, info, mode, command, wall)
    (OUT / f"results-{mode}.md").write_text(md, encoding="utf-8")
    (OUT / f"results-{mode}.json").write_text(json.dumps(
        {"machine": info, "wall_seconds": wall, "results": [r.__dict__ for r in ran]}, ensure_ascii=False,
        indent=2, default=str), encoding="utf-8")
    if args.record:
        target = BENCH_DIR / "RESULTS.md"
        head = target.read_text(encoding="utf-8").split("<!-- runs -->")[0] if target.is_file() else \
            "# Benchmark results\n\n"
        target.write_text(head.rstrip() + "\n\n<!-- runs -->\n\n" + md, encoding="utf-8")
        print(f"recorded in {target}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
