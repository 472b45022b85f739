"""The ``hoctap`` command (also ``python -m analysis``).

Exit codes: 0 success; 1 the data failed (a critical finding, an inconsistent claim, rows
quarantined); 2 the command could not do its job — with one line on stderr saying what and where,
and no traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import analysis.lean  # noqa: F401 - first: the command does without optional slow imports
from analysis.config import default_paths

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command cannot do its job (bad arguments, unreadable input, unknown unit or year)."""


MESSAGES = {
    "ingest_done": {"vi": "Đã nhập {files} tệp: {kept} dòng vào bảng, {excluded} dòng tổng/ghi chú/trống, "
                          "{quarantined} dòng cách ly. Kết quả: {out}",
                    "en": "Ingested {files} files: {kept} rows kept, {excluded} totals/notes/blank rows excluded, "
                          "{quarantined} rows quarantined. Output: {out}"},
    "ingest_columns": {"vi": "{columns} cột không đọc được, {values} giá trị cách ly, {findings} phát hiện — "
                             "xem manifest.json (column_accounting, findings)",
                       "en": "{columns} columns not read, {values} values quarantined, {findings} findings — "
                             "see manifest.json (column_accounting, findings)"},
    "dashboard": {"vi": "Bảng điều khiển: {path}", "en": "Dashboard: {path}"},
}


def _say(key: str, lang: str, **kw: object) -> str:
    return MESSAGES[key][lang if lang in ("vi", "en") else "vi"].format(**kw)


def _year(value: str) -> int:
    try:
        year = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"năm không hợp lệ: '{value}'") from None
    if not 1900 <= year <= 2100:
        raise argparse.ArgumentTypeError(f"năm ngoài khoảng 1900–2100: {year}")
    return year


def _year_range(value: str) -> tuple[int, int]:
    parts = value.replace("–", "-").split("-")
    try:
        if len(parts) == 1:
            y = int(parts[0])
            return y, y
        a, b = int(parts[0]), int(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"khoảng năm không hợp lệ: '{value}' (ví dụ 2012-2024)") from None
    if a > b:
        raise argparse.ArgumentTypeError(f"khoảng năm ngược: '{value}'")
    return a, b


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(EXIT_USAGE, f"hoctap: lỗi tham số: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    paths = default_paths()
    p = _Parser(prog="hoctap", description="Phân tích kết quả học tập nghị quyết và xếp loại chất lượng.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("ingest", help="raw workbooks -> canonical tables")
    s.add_argument("raw_dir", nargs="?", type=Path, default=paths.raw)
    s.add_argument("--out", type=Path, default=paths.processed)
    s.add_argument("--lang", choices=("vi", "en"), default="vi")
    s.add_argument("--quiet", action="store_true")

    s = sub.add_parser("validate", help="the pre-submission data-quality gate")
    s.add_argument("--data", type=Path, default=paths.processed)
    s.add_argument("--unit")
    s.add_argument("--year", type=_year)
    s.add_argument("--report-dir", type=Path)
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.add_argument("--lang", choices=("vi", "en"), default="vi")
    s.add_argument("--engine", choices=("ge", "native"),
                   help="engine of the table suites (default: ge; native for --unit/--year runs and for "
                        "tables over 500.000 rows)")

    s = sub.add_parser("metrics", help="headline figures of a unit and year")
    s.add_argument("--unit", required=True)
    s.add_argument("--year", type=_year, required=True)
    s.add_argument("--data", type=Path, default=paths.processed)
    s.add_argument("--format", choices=("table", "json", "csv"), default="table")
    s.add_argument("--lang", choices=("vi", "en"), default="vi")

    s = sub.add_parser("report", help="render dashboards with papermill")
    s.add_argument("--unit", help="one unit (with --all: every year of this unit)")
    s.add_argument("--year", type=_year)
    s.add_argument("--all", action="store_true", help="every (unit, year): parallel, incremental, index.html")
    s.add_argument("--level", choices=("cap_tren", "co_so", "chi_bo"))
    s.add_argument("--years", type=_year_range, help="with --all: only years A-B")
    s.add_argument("--jobs", type=int, default=1, help="reports rendered in parallel (processes)")
    s.add_argument("--kind", choices=("annual", "trends", "data_quality"), default="annual")
    s.add_argument("--start-year", type=_year)
    s.add_argument("--end-year", type=_year)
    s.add_argument("--force", action="store_true", help="re-render even when the inputs are unchanged")
    s.add_argument("--timeout", type=int, default=600, help="seconds per notebook cell")
    s.add_argument("--data", type=Path, default=paths.processed)
    s.add_argument("--out", type=Path, default=paths.reports)
    s.add_argument("--lang", choices=("vi", "en"), default="vi")
    s.add_argument("--format", choices=("text", "json"), default="text", help="json: print the run summary")

    s = sub.add_parser("claims", help="check the figures stated in a report text")
    s.add_argument("text_file", type=Path)
    s.add_argument("--unit")
    s.add_argument("--year", type=_year)
    s.add_argument("--data", type=Path, default=paths.processed)
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.add_argument("--lang", choices=("vi", "en"), default="vi")
    s.add_argument("--csv", type=Path, help="batch mode: write the CSV summary here")

    s = sub.add_parser("synth", help="deterministic synthetic raw data")
    s.add_argument("--scale", choices=("ward", "province", "national"), required=True)
    s.add_argument("--years", type=_year_range, default=(2012, 2024))
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--size", type=float, default=1.0,
                   help="multiplier of the number of grassroots organisations (province, national)")

    s = sub.add_parser("run", help="the embedded sample end to end")
    s.add_argument("--raw", type=Path, default=paths.raw)
    s.add_argument("--data", type=Path, default=paths.processed)
    s.add_argument("--out", type=Path, default=paths.reports)
    s.add_argument("--lang", choices=("vi", "en"), default="vi")
    return p


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------

def cmd_ingest(args: argparse.Namespace) -> int:
    from analysis.intake.pipeline import IngestError, ingest

    if not Path(args.raw_dir).is_dir():
        raise UsageError(f"Không có thư mục dữ liệu thô '{args.raw_dir}'")

    def progress(rel: str) -> None:
        if not args.quiet:
            print(f"  đọc {rel}", file=sys.stderr)

    from analysis.store import LockedError, folder_lock

    try:
        with folder_lock(args.out, "hoctap ingest"):
            result = ingest(args.raw_dir, args.out, progress=progress)
    except (IngestError, LockedError) as exc:
        raise UsageError(str(exc)) from exc
    for err in result.errors:
        print(f"hoctap: {err}", file=sys.stderr)
    t = result.manifest["totals"]
    print(_say("ingest_done", args.lang, files=t["files"], kept=t["rows_kept"], excluded=t["rows_excluded"],
               quarantined=t["rows_quarantined"], out=args.out))
    findings = result.manifest["findings"]
    if t["columns_reported"] or t["values_quarantined"] or findings:
        print(_say("ingest_columns", args.lang, columns=t["columns_reported"], values=t["values_quarantined"],
                   findings=len(findings)))
    for f in findings:
        if f["check"] == "unmapped_column" and f.get("severity") == "critical":
            print(f"  {f['message']}", file=sys.stderr)
    for f in result.manifest["files"]:
        for s in f.get("sheets", []):
            if s["status"] == "skipped":
                print(f"  bỏ qua {f['file']} [{s['sheet']}]: {s['reason']}", file=sys.stderr)
    if result.exit_code == EXIT_USAGE:
        if not t["files"]:
            raise UsageError(f"Không có tệp số liệu nào trong '{args.raw_dir}' (chỉ có tệp danh mục)")
        raise UsageError(f"Không đọc được tệp nào trong '{args.raw_dir}'")
    return result.exit_code


def _load(data: Path, unit: str | None = None, year: int | None = None):
    from analysis import hierarchy, store

    try:
        tables = store.load_tables(data)
    except store.DataMissingError as exc:
        raise UsageError(str(exc)) from exc
    if unit is not None and unit not in set(tables.units["unit_id"]):
        known = ", ".join(sorted(tables.units["unit_id"]))
        raise UsageError(f"Không có đơn vị '{unit}'. Các đơn vị đã biết: {known}")
    if unit is not None and year is not None:
        years = [y for y in tables.years if y in hierarchy.years_active(tables.units, unit)]
        if year not in years:
            raise UsageError(f"Không có số liệu của '{unit}' năm {year}. Các năm có số liệu: "
                             f"{', '.join(map(str, years)) or 'không có'}")
    elif year is not None and year not in tables.years:
        raise UsageError(f"Không có số liệu năm {year}. Các năm có số liệu: {', '.join(map(str, tables.years))}")
    return tables


def cmd_metrics(args: argparse.Namespace) -> int:
    from analysis import metrics
    from analysis.render import metrics_table_text

    tables = _load(args.data, args.unit, args.year)
    try:
        result = metrics.unit_year_metrics(tables, args.unit, args.year, args.lang)
    except metrics.MetricsError as exc:
        raise UsageError(str(exc)) from exc
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif args.format == "csv":
        import csv as _csv

        from analysis.render import metrics_rows

        w = _csv.writer(sys.stdout)
        rows = metrics_rows(result, args.lang)
        w.writerow(list(rows[0].keys()))
        for r in rows:
            w.writerow(list(r.values()))
    else:
        print(metrics_table_text(result, args.lang))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from analysis.quality import gate

    try:
        result = gate.run_gate(args.data, unit=args.unit, year=args.year, lang=args.lang, engine=args.engine)
    except gate.GateInputError as exc:
        raise UsageError(str(exc)) from exc
    if args.report_dir:
        gate.write_reports(result, Path(args.report_dir), args.lang)
    if args.format == "json":
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        print(gate.format_text(result, args.lang))
    return EXIT_DATA if result.verdict == "fail" else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from analysis import reports

    if args.jobs < 1:
        raise UsageError(f"--jobs phải ≥ 1, nhận {args.jobs}")
    if args.timeout < 1:
        raise UsageError(f"--timeout phải ≥ 1 giây, nhận {args.timeout}")
    try:
        if args.all:
            summary = reports.render_batch(
                data_dir=args.data, out_dir=args.out, kind=args.kind, level=args.level, years=args.years,
                jobs=args.jobs, lang=args.lang, force=args.force, timeout=args.timeout,
                progress=reports.Progress(sys.stderr, lang=args.lang),
                unit_ids=[args.unit] if args.unit else None)
            if args.format == "json":
                print(json.dumps(summary, ensure_ascii=False, indent=2))
            else:
                print(reports.format_batch_summary(summary, args.lang))
            return EXIT_OK if summary["failed"] == 0 else EXIT_DATA
        if not args.unit:
            raise UsageError("Cần --unit (và --year) hoặc --all")
        context = reports.DataContext.load(args.data)  # read once: for the parameters and the input hash
        params = reports.build_params(args.kind, unit_id=args.unit, year=args.year, start_year=args.start_year,
                                      end_year=args.end_year, data_dir=args.data, lang=args.lang, context=context)
        with reports.reports_lock(args.out):
            result = reports.render_job(args.kind, params, args.out, force=args.force, timeout=args.timeout,
                                        source=reports.SliceSource(context))
    except (reports.ReportParamError, reports.ReportsBusyError) as exc:
        raise UsageError(str(exc)) from exc
    if args.format == "json":
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    if result.status == "failed":
        print(f"hoctap: {result.error}", file=sys.stderr)
        return EXIT_DATA
    if result.status == "skipped":
        print("Không đổi đầu vào, giữ báo cáo cũ (dùng --force để dựng lại)" if args.lang == "vi" else
              "Inputs unchanged, report kept (use --force to re-render)", file=sys.stderr)
    if args.format != "json":
        print(_say("dashboard", args.lang, path=result.path))
    return EXIT_OK


def cmd_claims(args: argparse.Namespace) -> int:
    from analysis import claims, metrics

    if not Path(args.text_file).exists():
        raise UsageError(f"Không có tệp '{args.text_file}'")
    if (args.unit is None) != (args.year is None):
        raise UsageError("--unit và --year phải đi cùng nhau")
    data = None
    if args.unit is not None:
        tables = _load(args.data, args.unit, args.year)
        data = metrics.unit_year_metrics(tables, args.unit, args.year, args.lang)
    try:
        if Path(args.text_file).is_dir():
            code, output = claims.run_claims_batch(Path(args.text_file), data, args.csv, fmt=args.format,
                                                   lang=args.lang)
        else:
            code, output = claims.run_claims(Path(args.text_file), data, fmt=args.format, lang=args.lang)
    except claims.ClaimsInputError as exc:
        raise UsageError(str(exc)) from exc
    print(output)
    return code


def cmd_synth(args: argparse.Namespace) -> int:
    from analysis import synth

    try:
        out = synth.generate(args.scale, years=range(args.years[0], args.years[1] + 1), seed=args.seed,
                             out=args.out, size=args.size)
    except synth.SynthError as exc:
        raise UsageError(str(exc)) from exc
    print(out)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from analysis import hierarchy, reports
    from analysis.intake.pipeline import IngestError, ingest
    from analysis.quality import gate
    from analysis.store import LockedError, folder_lock

    print("1/3 Nhập dữ liệu mẫu …", file=sys.stderr)
    try:
        with folder_lock(args.data, "hoctap run"):
            result = ingest(args.raw, args.data)
    except (IngestError, LockedError) as exc:
        raise UsageError(str(exc)) from exc
    t = result.manifest["totals"]
    print("    " + _say("ingest_done", args.lang, files=t["files"], kept=t["rows_kept"],
                        excluded=t["rows_excluded"], quarantined=t["rows_quarantined"], out=args.data),
          file=sys.stderr)
    print("2/3 Kiểm tra chất lượng …", file=sys.stderr)
    checked = gate.run_gate(args.data, lang=args.lang)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    try:
        with folder_lock(args.out, "hoctap run"):
            gate.write_reports(checked, Path(args.out), args.lang)
    except LockedError as exc:
        raise UsageError(str(exc)) from exc
    print(f"    {gate.format_verdict_line(checked, args.lang)}", file=sys.stderr)
    tables = _load(args.data)
    root_children = tables.units[tables.units["parent_id"].notna()]
    unit = "tan-thanh" if "tan-thanh" in set(root_children["unit_id"]) else str(root_children["unit_id"].iloc[0])
    year = max(y for y in tables.years if y in hierarchy.years_active(tables.units, unit))
    print(f"3/3 Dựng bảng điều khiển {unit} {year} …", file=sys.stderr)
    params = reports.build_params("annual", unit_id=unit, year=year, data_dir=args.data, lang=args.lang)
    try:
        out = reports.render_one("annual", params, args.out)
    except reports.ReportError as exc:
        print(f"hoctap: {exc}", file=sys.stderr)
        return EXIT_DATA
    print(out)
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "ingest": cmd_ingest, "validate": cmd_validate, "metrics": cmd_metrics, "report": cmd_report,
    "claims": cmd_claims, "synth": cmd_synth, "run": cmd_run,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hoctap`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        message = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        print(f"hoctap: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("hoctap: đã dừng theo yêu cầu", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the contract: one line, no traceback unless --debug
        if args.debug:
            raise
        print(f"hoctap: lỗi không mong đợi ({type(exc).__name__}: {exc}); chạy lại với --debug để xem chi tiết",
              file=sys.stderr)
        return EXIT_USAGE


#: The finished command's exit code, for :func:`_end_now` (set by :func:`run` only).
_EXIT: dict[str, int] = {}


def run() -> None:
    """The console script (and ``python -m analysis``): :func:`main`, then a quick exit.

    When the command is done, the exit handlers run (temporary folders, process pools, kernels,
    loggers) and the output is flushed, then the process ends without the interpreter unwinding
    every module and object one by one — 0,3–0,5 s for a process that has imported pandas,
    pyarrow, nbconvert and jupyter_client, which a finished command does not need.
    ``HOCTAP_QUICK_EXIT=0`` keeps the ordinary exit.
    """
    if os.environ.get("HOCTAP_QUICK_EXIT", "1") != "0":
        atexit.register(_end_now)  # registered first, so it runs after every other exit handler
    try:
        code = main()
    except SystemExit as exc:  # argparse: --help, bad arguments
        code = exc.code
    _EXIT["code"] = code if isinstance(code, int) else (0 if code is None else 1)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
    sys.exit(_EXIT["code"])



def _end_now() -> None:
    """The last exit handler: flush the standard streams and end the process with the command's code."""
    if "code" not in _EXIT:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(_EXIT["code"])


if __name__ == "__main__":  # pragma: no cover
    run()
