"""``hoctap ingest``: a raw folder in, canonical tables + quarantine + manifest out.

Layout of a raw folder::

    units.csv          required: the unit tree (canonical columns)
    campaigns.csv      required: study campaigns (canonical columns)
    merges.csv         optional: declared merges (from_unit_id, to_unit_id, year)
    targets.csv        optional: targets (unit_id, indicator, from_year, to_year, threshold_pct)
    dataset.yaml       optional: name, illustrative flag and source notes shown on dashboards
    mapping.yaml       optional: per-file pins for headers, tables, years, campaigns
    <year>/...         workbooks (.xlsx, .xls) and CSV files as received

Every body row of every sheet ends in exactly one place; ``manifest.json`` proves it per sheet:
``rows_read = rows_kept + rows_excluded + rows_quarantined``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from analysis import __version__, hierarchy, schema, store
from analysis.intake import layout
from analysis.intake.readers import Grid, ReadError, decode_csv_bytes, read_source
from analysis.intake.rows import SheetResult, stage_sheet
from analysis.intake.unitmatch import UnitMatcher
from analysis.text import fold, nfc, repair_column

REFERENCE_FILES = ("units.csv", "campaigns.csv", "merges.csv", "targets.csv")
#: Files in the raw folder that are not data (documentation, texts, settings).
IGNORED_SUFFIXES = (".md", ".yaml", ".yml", ".txt", ".docx", ".pdf", ".json")


class IngestError(RuntimeError):
    """Ingest cannot start (message in Vietnamese naming the file)."""


@dataclass
class IngestResult:
    """Outcome of one ingest run.

    Attributes:
        manifest: The manifest written.
        tables: The canonical tables written.
        errors: One-line messages for files that could not be read.
    """

    manifest: dict
    tables: dict[str, pd.DataFrame]
    errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 all went in; 1 something was quarantined or skipped; 2 nothing could be read."""
        files = self.manifest["files"]
        data_files = [f for f in files if f["kind"] == "data"]
        if data_files and all(f["status"] == "unreadable" for f in data_files):
            return 2
        problems = self.manifest["totals"]["rows_quarantined"] or any(
            f["status"] != "ingested" or any(s["status"] != "ingested" for s in f.get("sheets", []))
            for f in data_files)
        return 1 if problems else 0


def read_reference_csv(path: Path, table: str | None, required_cols: list[str]) -> pd.DataFrame:
    """Read a reference CSV (UTF-8 or Windows-1258), NFC text, checked columns.

    Raises:
        IngestError: Missing file, unreadable text or missing columns.
    """
    if not path.is_file():
        raise IngestError(f"Thiếu tệp '{path}'")
    text, _ = decode_csv_bytes(path.read_bytes())
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in required_cols if c not in df.columns]
    if missing:
        raise IngestError(f"{path.name}: thiếu cột {', '.join(missing)} (có: {', '.join(df.columns)})")
    df = df.apply(lambda s: s.map(lambda v: nfc(v.strip()) if isinstance(v, str) else v))
    df = df.replace({"": None})
    if table is None:
        return df
    for col, dtype in schema.TABLES[table].dtypes.items():
        if col in df.columns and dtype == "Int64":
            try:
                df[col] = pd.to_numeric(df[col]).astype("Int64")
            except (ValueError, TypeError) as exc:
                raise IngestError(f"{path.name}: cột '{col}' phải là số nguyên ({exc})") from exc
    return schema.conform(df, table)


def load_units(raw_dir: Path) -> pd.DataFrame:
    """Read and check ``units.csv``.

    Raises:
        IngestError: Missing file or a broken tree (cycle, overlapping validity, unknown parent).
    """
    units = read_reference_csv(raw_dir / "units.csv", "units",
                               ["unit_id", "unit_name", "parent_id", "unit_level", "valid_from_year"])
    units["unit_kind"] = units["unit_kind"].fillna("khac")
    try:
        hierarchy.validate_units(units)
    except hierarchy.HierarchyError as exc:
        raise IngestError(f"units.csv: {exc}") from exc
    return units


def _load_mapping(raw_dir: Path) -> dict:
    path = raw_dir / "mapping.yaml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise IngestError(f"mapping.yaml: không đọc được ({exc})") from exc
    return data.get("files", {}) if isinstance(data, dict) else {}


def _sheet_pins(mapping: dict, rel: str, sheet: str) -> dict:
    entry = mapping.get(rel) or {}
    pins = dict(entry.get("all_sheets") or {})
    pins.update((entry.get("sheets") or {}).get(sheet) or {})
    return pins


def repair_grid(grid: Grid) -> tuple[Grid, str | None]:
    """Repair legacy-font text column by column (a whole column decides together).

    Returns:
        The repaired grid and the legacy encoding found (None if the text was Unicode).
    """
    width = grid.width
    found: str | None = None
    rows = [list(r) for r in grid.rows]
    for c in range(width):
        idx = [r for r in range(len(rows)) if c < len(rows[r]) and isinstance(rows[r][c], str)]
        if not idx:
            continue
        texts = [rows[r][c] for r in idx]
        fonts = [grid.fonts[r][c] if grid.fonts and c < len(grid.fonts[r]) else None for r in idx] \
            if grid.fonts else None
        fixed, enc = repair_column(texts, fonts)
        if enc:
            found = found or enc
            for r, value in zip(idx, fixed, strict=True):
                rows[r][c] = value
    return Grid(grid.source_file, grid.sheet, rows, grid.fonts, grid.merged, grid.encoding), found


def find_campaign(campaigns: pd.DataFrame, year: int, text: str) -> tuple[str | None, str]:
    """The campaign of ``year`` named in ``text`` (sheet titles or a campaign cell).

    Matches, in order: the campaign id, its document code, its full title, then the title whose
    words are best covered by the text (at least 80%, and a unique best).

    Returns:
        (campaign_id or None, explanation).
    """
    camps = campaigns[campaigns["year"] == year]
    if camps.empty:
        return None, f"không có đợt học tập nào của năm {year} trong campaigns.csv"
    folded = f" {fold(text)} "
    for col in ("campaign_id", "document_code", "title"):
        hits = [r.campaign_id for r in camps.itertuples(index=False)
                if getattr(r, col) and f" {fold(str(getattr(r, col)))} " in folded]
        if len(set(hits)) == 1:
            return hits[0], f"khớp {col}"
        if len(set(hits)) > 1 and col != "title":
            continue
    scores = []
    words = set(folded.split())
    for r in camps.itertuples(index=False):
        tw = set(fold(str(r.title)).split())
        if tw:
            scores.append((len(tw & words) / len(tw), r.campaign_id))
    scores.sort(reverse=True)
    if scores and scores[0][0] >= 0.8 and (len(scores) == 1 or scores[1][0] < scores[0][0]):
        return scores[0][1], "khớp gần đúng tiêu đề"
    listing = "; ".join(f"{r.campaign_id} ({r.document_code or r.title})" for r in camps.itertuples(index=False))
    return None, f"không xác định được đợt học tập năm {year} từ tiêu đề (các đợt: {listing})"


def discover(raw_dir: Path) -> list[Path]:
    """Data files under ``raw_dir`` in a stable order (reference files and docs excluded).

    Raises:
        IngestError: A symbolic link points outside the raw folder.
    """
    root = raw_dir.resolve()
    out = []
    for path in sorted(raw_dir.rglob("*")):
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(root):
                raise IngestError(f"{path}: liên kết tượng trưng trỏ ra ngoài thư mục dữ liệu thô — từ chối đọc")
        if not path.is_file() or any(p.startswith(".") for p in path.relative_to(raw_dir).parts):
            continue
        if path.parent == raw_dir and path.name in REFERENCE_FILES:
            continue
        if path.suffix.lower() in IGNORED_SUFFIXES or path.name.startswith("~$"):
            continue
        out.append(path)
    return out


def ingest(raw_dir: Path, out_dir: Path, progress: Callable[[str], None] | None = None) -> IngestResult:
    """Read every raw file and write the canonical tables, quarantine and manifest.

    Args:
        raw_dir: The raw folder (read-only).
        out_dir: The processed folder.
        progress: Called with one line per file (for the command line).

    Raises:
        IngestError: The raw folder, ``units.csv`` or ``campaigns.csv`` is missing or broken.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise IngestError(f"Không có thư mục dữ liệu thô '{raw_dir}'")
    units = load_units(raw_dir)
    campaigns = read_reference_csv(raw_dir / "campaigns.csv", "campaigns", ["campaign_id", "year", "title"])
    merges = (read_reference_csv(raw_dir / "merges.csv", None, ["from_unit_id", "to_unit_id", "year"])
              if (raw_dir / "merges.csv").is_file() else None)
    targets = (read_reference_csv(raw_dir / "targets.csv", None,
                                  ["unit_id", "indicator", "from_year", "threshold_pct"])
               if (raw_dir / "targets.csv").is_file() else None)
    mapping = _load_mapping(raw_dir)
    dataset = {}
    if (raw_dir / "dataset.yaml").is_file():
        dataset = yaml.safe_load((raw_dir / "dataset.yaml").read_text(encoding="utf-8")) or {}
    matcher = UnitMatcher(units)

    staged: dict[str, list[dict]] = {t: [] for t in ("membership", "study_participation", "unit_ratings",
                                                     "member_ratings")}
    quarantine: list[dict] = []
    findings: list[dict] = []
    files_manifest: list[dict] = []
    errors: list[str] = []
    seen_keys: dict[tuple, str] = {}

    for path in sorted(raw_dir.glob("*")):
        if path.parent == raw_dir and path.name in REFERENCE_FILES + ("dataset.yaml", "mapping.yaml"):
            files_manifest.append({"file": path.name, "kind": "reference", "sha256": store.sha256_file(path),
                                   "status": "ingested"})

    for path in discover(raw_dir):
        rel = path.relative_to(raw_dir).as_posix()
        entry: dict = {"file": rel, "kind": "data", "sha256": store.sha256_file(path), "sheets": []}
        files_manifest.append(entry)
        if progress:
            progress(rel)
        try:
            grids = read_source(path, rel)
        except ReadError as exc:
            entry.update(status="unreadable", reason=str(exc))
            errors.append(str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - any reader failure is reported, never a traceback
            msg = f"{rel}: không đọc được ({type(exc).__name__}: {exc})"
            entry.update(status="unreadable", reason=msg)
            errors.append(msg)
            continue
        entry["status"] = "ingested"
        if grids and grids[0].encoding:
            entry["encoding"] = grids[0].encoding
        for grid in grids:
            sheet_entry = _ingest_sheet(grid, rel, path, units, campaigns, matcher, mapping, staged,
                                        quarantine, findings, seen_keys)
            entry["sheets"].append(sheet_entry)
        if entry["sheets"] and all(s["status"] == "skipped" for s in entry["sheets"]):
            entry["status"] = "skipped"

    tables = {
        "units": units,
        "campaigns": campaigns,
        **{name: (pd.DataFrame(rows) if rows else schema.empty(name)) for name, rows in staged.items()},
        "quarantine": pd.DataFrame(quarantine) if quarantine else schema.empty("quarantine"),
    }
    if merges is not None:
        merges = merges.assign(year=pd.to_numeric(merges["year"]).astype("Int64"))
        tables["merges"] = merges[["from_unit_id", "to_unit_id", "year"]].astype(
            {"from_unit_id": "string", "to_unit_id": "string"})
    if targets is not None:
        t = targets.copy()
        if "to_year" not in t.columns:
            t["to_year"] = None
        tables["targets"] = pd.DataFrame({
            "unit_id": t["unit_id"].astype("string"), "indicator": t["indicator"].astype("string"),
            "from_year": pd.to_numeric(t["from_year"]).astype("Int64"),
            "to_year": pd.to_numeric(t["to_year"]).astype("Int64"),
            "threshold_pct": pd.to_numeric(t["threshold_pct"]).astype("Float64"),
        })
    sheets = [s for f in files_manifest for s in f.get("sheets", [])]
    manifest = {
        "package_version": __version__,
        "raw_dir": raw_dir.name,
        "dataset": dataset,
        "files": files_manifest,
        "findings": findings,
        "totals": {
            "files": len([f for f in files_manifest if f["kind"] == "data"]),
            "files_unreadable": len([f for f in files_manifest if f.get("status") == "unreadable"]),
            "sheets_skipped": len([s for s in sheets if s["status"] == "skipped"]),
            "rows_read": sum(s["rows_read"] for s in sheets),
            "rows_kept": sum(s["rows_kept"] for s in sheets),
            "rows_excluded": sum(s["rows_excluded"] for s in sheets),
            "rows_quarantined": sum(s["rows_quarantined"] for s in sheets),
        },
    }
    written = store.write_processed(Path(out_dir), tables, manifest)
    return IngestResult(written, tables, errors)


def _ingest_sheet(grid, rel, path, units, campaigns, matcher, mapping, staged, quarantine, findings,
                  seen_keys) -> dict:
    pins = _sheet_pins(mapping, rel, grid.sheet)
    entry: dict = {"sheet": grid.sheet, "rows_read": 0, "rows_kept": 0, "rows_excluded": 0,
                   "rows_quarantined": 0}
    if pins.get("skip"):
        entry.update(status="skipped", reason="bỏ qua theo mapping.yaml", rows_read=len(grid.rows),
                     rows_excluded=len(grid.rows))
        return entry
    grid, encoding = repair_grid(grid)
    if encoding:
        entry["legacy_encoding"] = encoding
    year = pins.get("year")
    year_source = "mapping" if year else None
    title = layout.title_text(grid, None)
    if year is None:
        year = layout.year_from_title(title)
        year_source = "title" if year else None
    if year is None:
        year = layout.year_from_path(rel)
        year_source = "path" if year else None
    header = layout.detect_header(grid, year, pins.get("columns"))
    if header is None:
        entry.update(status="skipped", reason="không tìm thấy dòng tiêu đề cột (cần cột tên/mã đơn vị)",
                     rows_read=len(grid.rows), rows_excluded=len(grid.rows))
        return entry
    table, why = (pins["table"], "theo mapping.yaml") if pins.get("table") else layout.classify(header)
    body = len(grid.rows) - header.last_row - 1
    entry.update(header_rows=[header.first_row + 1, header.last_row + 1], columns={
        header.labels[c]: f for c, f in sorted(header.fields.items())})
    if header.levels:
        entry["levels"] = {header.labels[c]: lv.rating_code for c, lv in sorted(header.levels.items())}
    if header.unmapped:
        entry["unmapped_columns"] = header.unmapped
    entry["rows_header"] = header.last_row + 1
    if table is None:
        entry.update(status="skipped", reason=why, rows_read=body, rows_excluded=body)
        return entry
    entry["table"] = table
    title = layout.title_text(grid, header)
    if year is None:
        entry.update(status="skipped", reason="không xác định được năm (thư mục, cột hoặc tiêu đề)",
                     rows_read=body, rows_excluded=body)
        return entry
    entry.update(year=int(year), year_source=year_source)
    campaign_id = None
    if table == "study_participation":
        campaign_id = pins.get("campaign_id")
        if campaign_id is None:
            campaign_id, reason = find_campaign(campaigns, int(year), f"{title} {grid.sheet}")
            if campaign_id is None:
                entry.update(status="skipped", reason=reason, rows_read=body, rows_excluded=body)
                return entry
        entry["campaign_id"] = campaign_id
    scope = matcher.scope_of(f"{title} {path.stem.replace('-', ' ')}", int(year))
    entry["scope"] = scope
    res: SheetResult = stage_sheet(grid, header, table, int(year), campaign_id, matcher, scope)
    key_cols = schema.TABLES[table].key
    by_row: dict[int, list[dict]] = {}
    for row_number, rec in res.records:
        by_row.setdefault(row_number, []).append(rec)
    kept = 0
    for row_number, recs in by_row.items():
        keys = [(table, *(rec[k] for k in key_cols)) for rec in recs]
        earlier = next((seen_keys[k] for k in keys if k in seen_keys), None)
        if earlier is not None:
            first = recs[0]
            res.quarantine.append({
                "source_file": rel, "sheet": grid.sheet, "row_number": row_number, "table": table,
                "reason_code": "duplicate_key",
                "reason": f"Trùng số liệu ({', '.join(str(first[k]) for k in key_cols if k != 'rating_code')}) "
                          f"đã có ở {earlier}",
                "raw_values": json.dumps(recs, ensure_ascii=False, default=str)})
            continue
        for k in keys:
            seen_keys[k] = f"{rel} [{grid.sheet}] dòng {row_number}"
        staged[table].extend(recs)
        kept += 1
    quarantine.extend(res.quarantine)
    findings.extend(res.findings)
    entry.update(status="ingested", rows_read=body, rows_kept=kept,
                 rows_excluded=sum(res.excluded.values()), excluded=res.excluded,
                 rows_quarantined=len(res.quarantine))
    return entry


def write_csv_summary(result: IngestResult) -> str:
    """A CSV summary of the manifest, one line per sheet (for analysts)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["file", "sheet", "status", "table", "year", "rows_read", "rows_kept", "rows_excluded",
                "rows_quarantined", "reason"])
    for f in result.manifest["files"]:
        if f["kind"] != "data":
            continue
        for s in f.get("sheets") or [{}]:
            w.writerow([f["file"], s.get("sheet", ""), s.get("status", f.get("status")), s.get("table", ""),
                        s.get("year", ""), s.get("rows_read", 0), s.get("rows_kept", 0), s.get("rows_excluded", 0),
                        s.get("rows_quarantined", 0), s.get("reason", f.get("reason", ""))])
    return buf.getvalue()
