"""Rendering dashboards: typed parameters, papermill execution, offline HTML export.

One report is ``reports/<unit>/<year>/`` holding ``dashboard.html`` (code hidden, plotly.js inline
once, no CDN), the executed notebook, ``metrics.json`` and ``metrics.xlsx``. Everything is written
to a temporary folder first and moved into place, so a failed render leaves the previous report.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
from pathlib import Path

from analysis import __version__, hierarchy, store
from analysis.config import default_paths

#: Declared parameters of each notebook kind: name -> type. Checked before a kernel starts.
PARAMS: dict[str, dict[str, type]] = {
    "annual": {"unit_id": str, "year": int, "data_dir": str, "lang": str, "validation_path": str,
               "rendered_at": str},
    "trends": {"unit_id": str, "start_year": int, "end_year": int, "data_dir": str, "lang": str,
               "rendered_at": str},
    "data_quality": {"unit_id": str, "year": int, "data_dir": str, "lang": str, "validation_path": str,
                     "rendered_at": str},
}
NOTEBOOKS = {"annual": "annual_dashboard.ipynb", "trends": "trends.ipynb", "data_quality": "data_quality.ipynb"}
LANGS = ("vi", "en")


class ReportParamError(ValueError):
    """Parameters are wrong (exit 2 with the valid choices)."""


class ReportError(RuntimeError):
    """A notebook failed to execute or export (the partial notebook is kept beside the error)."""


def now_text() -> str:
    """The render time shown in the provenance footer (a declared volatile field)."""
    return _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def build_params(kind: str, *, unit_id: str, data_dir: Path | str, lang: str = "vi", year: int | None = None,
                 start_year: int | None = None, end_year: int | None = None) -> dict:
    """Typed, validated parameters for a notebook kind.

    Raises:
        ReportParamError: Unknown kind, language, unit or year (the message lists valid choices).
    """
    if kind not in PARAMS:
        raise ReportParamError(f"Loại báo cáo không hợp lệ '{kind}'. Chọn: {', '.join(PARAMS)}")
    if lang not in LANGS:
        raise ReportParamError(f"Ngôn ngữ không hợp lệ '{lang}'. Chọn: {', '.join(LANGS)}")
    data_dir = Path(data_dir)
    try:
        store.read_manifest(data_dir)
        units = store.load_table(data_dir, "units")
        tables_years = _data_years(data_dir)
    except store.DataMissingError as exc:
        raise ReportParamError(str(exc)) from exc
    known = sorted(set(units["unit_id"].astype(str)))
    if unit_id not in known:
        shown = ", ".join(known[:30]) + (" …" if len(known) > 30 else "")
        raise ReportParamError(f"Không có đơn vị '{unit_id}'. Các đơn vị đã biết: {shown}")
    active = [y for y in hierarchy.years_active(units, unit_id) if y in tables_years]
    params: dict = {"unit_id": unit_id, "data_dir": str(data_dir.resolve()), "lang": lang}
    if kind in ("annual", "data_quality"):
        if year is None:
            raise ReportParamError(f"Cần --year. Các năm có số liệu của '{unit_id}': {', '.join(map(str, active))}")
        if year not in active:
            raise ReportParamError(f"Không có số liệu của '{unit_id}' năm {year}. Các năm có số liệu: "
                                   f"{', '.join(map(str, active)) or 'không có'}")
        params["year"] = int(year)
    else:
        if not active:
            raise ReportParamError(f"Không có số liệu của '{unit_id}'")
        params["start_year"] = int(start_year if start_year is not None else active[0])
        params["end_year"] = int(end_year if end_year is not None else active[-1])
        if params["start_year"] > params["end_year"]:
            raise ReportParamError("start_year lớn hơn end_year")
    check_params(kind, {**params, "rendered_at": "", "validation_path": ""}
                 if kind != "trends" else {**params, "rendered_at": ""})
    return params


def _data_years(data_dir: Path) -> list[int]:
    years: set[int] = set()
    for name in ("membership", "unit_ratings", "member_ratings", "campaigns"):
        df = store.load_table(data_dir, name, columns=["year"])
        years.update(int(y) for y in df["year"].dropna().unique())
    return sorted(years)


def check_params(kind: str, params: dict) -> None:
    """Reject unknown parameters and wrong types before a kernel starts.

    Raises:
        ReportParamError: Naming the parameter and the declared ones.
    """
    declared = PARAMS[kind]
    for name, value in params.items():
        if name not in declared:
            raise ReportParamError(f"Tham số không hợp lệ '{name}'. Các tham số: {', '.join(declared)}")
        expected = declared[name]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ReportParamError(f"Tham số '{name}' phải là {expected.__name__}, nhận {type(value).__name__}")


def report_dir(out_dir: Path, kind: str, params: dict) -> Path:
    """Where a report goes: ``<out>/<unit>/<year>/`` (trends: ``<out>/<unit>/trends-A-B/``)."""
    safe_unit = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in params["unit_id"]) or "_"
    if kind == "trends":
        return out_dir / safe_unit / f"trends-{params['start_year']}-{params['end_year']}"
    sub = str(params["year"]) if kind == "annual" else f"{params['year']}-data-quality"
    return out_dir / safe_unit / sub


def export_html(notebook_path: Path) -> str:
    """Export an executed notebook to offline HTML with the code hidden.

    No require.js, no MathJax, no input cells or prompts: what remains is the outputs, which embed
    plotly.js once inline.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook_path, as_version=4)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            mathjax_url="", require_js_url="", embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def render_one(kind: str, params: dict, out_dir: Path, force: bool = True, timeout: int = 600,
               notebooks_dir: Path | None = None, rendered_at: str | None = None) -> Path:
    """Execute one notebook with papermill and export it; return the path of the HTML.

    Args:
        kind: ``annual``, ``trends`` or ``data_quality``.
        params: Output of :func:`build_params`.
        out_dir: Reports root.
        force: Re-render even when an up-to-date report exists.
        timeout: papermill's per-cell execution timeout in seconds.
        notebooks_dir: Folder of the notebooks (default: the project's).
        rendered_at: The render time to show (volatile); now by default.

    Raises:
        ReportError: A cell failed, the kernel died or the export failed; the partial notebook is
            kept as ``<report>/failed.ipynb``.
    """
    import papermill as pm

    out_dir = Path(out_dir)
    target = report_dir(out_dir, kind, params)
    nb_in = (notebooks_dir or default_paths().notebooks) / NOTEBOOKS[kind]
    if not nb_in.is_file():
        raise ReportError(f"Không có notebook '{nb_in}'")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    os.chmod(work, 0o755)
    try:
        full = dict(params)
        full["rendered_at"] = rendered_at if rendered_at is not None else now_text()
        if kind in ("annual", "data_quality"):
            validation = _write_validation(params, work)
            full["validation_path"] = str(validation)
        check_params(kind, full)
        executed = work / "dashboard.ipynb"
        try:
            pm.execute_notebook(str(nb_in), str(executed), parameters=full, kernel_name="python3",
                                execution_timeout=timeout, progress_bar=False, log_output=False,
                                cwd=str(work))
        except Exception as exc:  # noqa: BLE001 - papermill raises many kinds; all become a report error
            target.mkdir(parents=True, exist_ok=True)
            if executed.is_file():
                shutil.copy2(executed, target / "failed.ipynb")
            first = str(exc).strip().splitlines()
            detail = next((ln for ln in reversed(first) if ln.strip()), type(exc).__name__)
            raise ReportError(f"{kind} {params.get('unit_id')} {params.get('year', '')}: notebook lỗi — {detail} "
                              f"(notebook dở dang: {target / 'failed.ipynb'})") from exc
        html = export_html(executed)
        (work / "dashboard.html").write_text(html, encoding="utf-8")
        if kind == "annual":
            _write_metrics(params, work)
        (work / "provenance.json").write_text(json.dumps(
            {"package_version": __version__, "kind": kind, "parameters": params,
             "notebook": NOTEBOOKS[kind], "rendered_at": full["rendered_at"]},
            ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
        for path in work.iterdir():
            os.chmod(path, 0o644)
        _swap_into_place(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target / "dashboard.html"


def _swap_into_place(work: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(work, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_validation(params: dict, work: Path) -> Path:
    from analysis.quality import gate

    result = gate.run_gate(Path(params["data_dir"]), unit=params["unit_id"], year=params.get("year"),
                           lang=params["lang"])
    gate.write_reports(result, work, params["lang"])
    return work / "validation.json"


def _write_metrics(params: dict, work: Path) -> None:
    from analysis import metrics
    from analysis.dashboard import slice_units
    from analysis.exports import write_metrics_xlsx

    data_dir = Path(params["data_dir"])
    units = store.load_table(data_dir, "units")
    years = [y for y in hierarchy.years_active(units, params["unit_id"]) if y <= params["year"]]
    tables = store.load_tables(data_dir, unit_ids=slice_units(units, params["unit_id"], years), years=years)
    result = metrics.unit_year_metrics(tables, params["unit_id"], params["year"], params["lang"])
    (work / "metrics.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    write_metrics_xlsx(tables, params["unit_id"], params["year"], params["lang"], work / "metrics.xlsx")


def render_batch(data_dir: Path, out_dir: Path, kind: str = "annual", level: str | None = None,
                 years: tuple[int, int] | None = None, jobs: int = 1, lang: str = "vi", force: bool = False,
                 timeout: int = 600) -> dict:
    """Render every (unit, year) of a level; one failure does not stop the batch.

    Returns:
        Run summary: rendered, skipped, failed counts and per-report entries.
    """
    units = store.load_table(Path(data_dir), "units")
    all_years = _data_years(Path(data_dir))
    if years:
        all_years = [y for y in all_years if years[0] <= y <= years[1]]
    todo = []
    for uid in sorted(set(units["unit_id"])):
        rows = units[units["unit_id"] == uid]
        if level and level not in set(rows["unit_level"]):
            continue
        for y in hierarchy.years_active(units, uid):
            if y in all_years:
                todo.append((uid, y))
    summary: dict = {"rendered": 0, "skipped": 0, "failed": 0, "reports": []}
    for uid, y in todo:
        try:
            params = build_params(kind, unit_id=uid, year=y, data_dir=data_dir, lang=lang)
            path = render_one(kind, params, out_dir, force=force, timeout=timeout)
            summary["rendered"] += 1
            summary["reports"].append({"unit_id": uid, "year": y, "status": "rendered", "path": str(path)})
        except (ReportError, ReportParamError) as exc:
            summary["failed"] += 1
            summary["reports"].append({"unit_id": uid, "year": y, "status": "failed", "error": str(exc)})
    return summary


def format_batch_summary(summary: dict, lang: str = "vi") -> str:
    """One line per failure and a total line."""
    lines = [f"LỖI {r['unit_id']} {r['year']}: {r['error']}" for r in summary["reports"] if r["status"] == "failed"]
    lines.append(f"Đã dựng {summary['rendered']}, bỏ qua {summary['skipped']}, lỗi {summary['failed']}"
                 if lang == "vi" else
                 f"Rendered {summary['rendered']}, skipped {summary['skipped']}, failed {summary['failed']}")
    return "\n".join(lines)
