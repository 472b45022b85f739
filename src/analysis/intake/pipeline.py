"""``hoctap ingest``: a raw folder in, canonical tables + quarantine + manifest out.

Layout of a raw folder::

    units.csv          required: the unit tree (canonical columns)
    campaigns.csv      required: study campaigns (canonical columns)
    merges.csv         optional: declared merges (from_unit_id, to_unit_id, year)
    targets.csv        optional: targets (unit_id, indicator, from_year, to_year, threshold_pct)
    dataset.yaml       optional: name, illustrative flag and source notes shown on dashboards
    mapping.yaml       optional: per-file pins for headers, tables, years, campaigns (load_mapping)
    <year>/...         workbooks (.xlsx, .xlsm, .xls) and CSV files as received, and member
                       registers / attendance lists (CSV or Parquet, recognised by their columns)

Every body row of every sheet ends in exactly one place; ``manifest.json`` proves it per sheet:
``rows_read = rows_kept + rows_excluded + rows_quarantined``. A file that cannot be read
(corrupt, password-protected, empty) is listed with ``status: unreadable`` and its reason, and the
rest of the folder is still ingested; a sheet (or Parquet file) that matches no canonical table is
listed with ``status: skipped`` and its reason. Exit code (:attr:`IngestResult.exit_code`): 0 all
went in, 1 something was quarantined, skipped or unreadable, 2 nothing could be read.

The year of a sheet comes from ``mapping.yaml``, else its title rows ("NĂM 2016"), else its folder
(``<year>/``); a year column gives each row its own year. The campaign of a study sheet comes from
``mapping.yaml``, else a campaign column, else the title rows ("Nghị quyết Trung ương 4 khóa XII").

Manifest, per data file: ``file``, ``sha256``, ``status``, ``encoding`` (CSV), ``sheets``; per
sheet: ``status``, ``reason`` (skipped), ``table``, ``header_rows``, ``columns`` (label → field),
``levels``, ``unmapped_columns``, ``year``, ``year_source`` (mapping/title/path/column), ``years``
(year column), ``campaign_id``/``campaigns``, ``scope``, ``legacy_encoding``, ``pins``, the row
counts and ``excluded`` by kind. Findings (``total_mismatch``, ``stated_pct_mismatch``,
``score_level_mismatch``, ``exempt_member_rated``) are in ``manifest["findings"]``.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from analysis import __version__, hierarchy, ratings, schema, store
from analysis.intake import evidence, headers, layout, register, sheetplan
from analysis.intake.readers import (
    TABULAR,
    Grid,
    ReadError,
    TableInfo,
    decode_csv_bytes,
    parquet_shares,
    read_source,
    read_table_columns,
    table_info,
)
from analysis.intake.rows import SUMMED_FIELDS, SheetResult, row_kinds, stage_sheet
from analysis.intake.unitmatch import UnitMatcher
from analysis.text import fold, is_blank, repair_column

REFERENCE_FILES = ("units.csv", "campaigns.csv", "merges.csv", "targets.csv")
#: Files in the raw folder that are not data (documentation, texts, settings).
IGNORED_SUFFIXES = (".md", ".yaml", ".yml", ".txt", ".pdf", ".json")
#: Documents that are data only when they hold tables (a Word report's "biểu kèm theo"); one
#: without a table is a report text (for ``hoctap claims``), listed as ``kind: text``.
DOCUMENT_SUFFIXES = (".docx",)
#: Why a sheet was skipped when nothing in it reads as a table's header.
NO_HEADER = "không tìm thấy dòng tiêu đề cột (cần cột tên/mã đơn vị và ít nhất một cột số liệu)"


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
        """0 all went in; 1 something was quarantined, skipped, not understood or inconsistent (a
        critical finding: a totals row or a stated "Tỷ lệ" that disagrees, a column not read); 2
        nothing could be read."""
        files = self.manifest["files"]
        data_files = [f for f in files if f["kind"] == "data"]
        if all(f["status"] == "unreadable" for f in data_files):  # also: no data file at all
            return 2
        totals = self.manifest["totals"]
        problems = totals["rows_quarantined"] or totals["values_quarantined"] or any(
            f.get("severity", "critical") == "critical" for f in self.manifest["findings"]) or any(
            f["status"] != "ingested" or any(s["status"] not in ("ingested", "not_data") for s in f.get("sheets", []))
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
    from pyarrow import csv as pacsv

    try:  # Arrow's reader: a national units.csv has ~400 000 rows
        end = text.find("\n")
        head = next(csv.reader(io.StringIO(text[:end] if end >= 0 else text)), [])
        arrow = pacsv.read_csv(io.BytesIO(text.encode("utf-8")), convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in head}, strings_can_be_null=False))
    except (pa.ArrowInvalid, StopIteration) as exc:
        raise IngestError(f"{path.name}: không đọc được ({exc})") from exc
    clean = []  # trimmed, NFC, "" -> null, vectorised with Arrow
    for name in arrow.column_names:
        arr = pc.utf8_trim_whitespace(arrow.column(name))
        if not pc.all(pc.string_is_ascii(arr)).as_py():  # ASCII text is NFC already
            arr = pc.utf8_normalize(arr, "NFC")
        clean.append(pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr))
    names = [c.strip() for c in arrow.column_names]
    numbers = {}  # integer columns: plain digits are cast by Arrow, anything else goes to pandas
    for col, dtype in (schema.TABLES[table].dtypes.items() if table is not None else ()):
        if dtype == "Int64" and names.count(col) == 1:
            try:
                numbers[col] = pc.cast(clean[names.index(col)], pa.int64()).to_pandas(
                    types_mapper={pa.int64(): pd.Int64Dtype()}.get)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
    df = pa.table(clean, names=names).to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    missing = [c for c in required_cols if c not in df.columns]
    if missing:
        raise IngestError(f"{path.name}: thiếu cột {', '.join(missing)} (có: {', '.join(df.columns)})")
    if table is None:
        return df
    for col, dtype in schema.TABLES[table].dtypes.items():
        if col in df.columns and dtype == "Int64" and col in numbers:
            df[col] = numbers[col]
        elif col in df.columns and dtype == "Int64":
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


#: Keys a mapping entry may pin (see :func:`load_mapping`).
PIN_KEYS = ("skip", "table", "year", "campaign_id", "columns", "header_rows", "scope")
#: Tables a sheet may be pinned to.
SHEET_TABLES = ("membership", "study_participation", "unit_ratings", "member_ratings")


def load_mapping(raw_dir: Path) -> dict[str, dict]:
    """Read the optional ``mapping.yaml`` of a raw folder: pins for sheets the detector gets wrong.

    One entry per file (a path relative to the raw folder, or a glob such as ``2014/*.xlsx``);
    pins under ``all_sheets`` apply to every sheet of the file (pins written directly under the
    file are the same), pins under ``sheets: {<sheet name>: ...}`` to one sheet (a CSV file has one
    sheet named ``""``). Exact paths win over globs. Pins:

    * ``skip: true`` — do not read the sheet (listed in the manifest as skipped, reason given);
    * ``table`` — the canonical table it feeds (``membership``, ``study_participation``,
      ``unit_ratings``, ``member_ratings``);
    * ``year`` — its year (wins over the title and the folder);
    * ``campaign_id`` — its study campaign (a campaign id of ``campaigns.csv``);
    * ``header_rows`` — the 1-based row(s) of its header: ``6``, ``[6, 7]`` or ``[6, 7, 8]`` (no search);
    * ``columns`` — header label as shown (a two-row header as ``"Group / Sub"``, compared folded)
      → canonical field, or ``ignore`` to drop a column;
    * ``scope`` — the committee (unit id) the sheet belongs to, where names are looked up first.

    Example ``data/raw/mapping.yaml``::

        files:
          "2016/tan-thanh-2016.xlsx":
            sheets:
              "Học tập 1":
                header_rows: [6, 7]
                campaign_id: 2016-01
                columns:
                  "Đảng viên / SL": members_attended
                  "Cột phụ": ignore
              "Ghi chú":
                skip: true
          "2016/*.csv":
            all_sheets:
              year: 2016
              scope: tan-thanh

    Returns:
        File pattern -> ``{"all_sheets": pins, "sheets": {name: pins}}`` (empty without a file).

    Raises:
        IngestError: The file is not valid YAML or pins something unknown (the message names it).
    """
    path = raw_dir / "mapping.yaml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise IngestError(f"mapping.yaml: không đọc được ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("files", {}), dict):
        raise IngestError("mapping.yaml: cần khóa 'files' chứa các tệp (xem tài liệu của load_mapping)")
    out: dict[str, dict] = {}
    for pattern, entry in (data.get("files") or {}).items():
        if not isinstance(entry, dict):
            raise IngestError(f"mapping.yaml: mục '{pattern}' phải là một bảng khóa/giá trị")
        direct = {k: v for k, v in entry.items() if k not in ("all_sheets", "sheets")}
        all_sheets = {**direct, **(entry.get("all_sheets") or {})}
        sheets = entry.get("sheets") or {}
        if not isinstance(sheets, dict):
            raise IngestError(f"mapping.yaml: '{pattern}.sheets' phải là một bảng tên trang → ghim")
        for where, pins in [("all_sheets", all_sheets), *((f"sheets.{k}", v) for k, v in sheets.items())]:
            _check_pins(f"{pattern}.{where}", pins)
        out[str(pattern)] = {"all_sheets": all_sheets, "sheets": {str(k): v or {} for k, v in sheets.items()}}
    return out


def _check_pins(where: str, pins: object) -> None:
    if pins is None:
        return
    if not isinstance(pins, dict):
        raise IngestError(f"mapping.yaml: '{where}' phải là một bảng khóa/giá trị")
    unknown = sorted(set(pins) - set(PIN_KEYS))
    if unknown:
        raise IngestError(f"mapping.yaml: '{where}' có khóa lạ {', '.join(map(str, unknown))} "
                          f"(dùng được: {', '.join(PIN_KEYS)})")
    if "table" in pins and pins["table"] not in SHEET_TABLES:
        raise IngestError(f"mapping.yaml: '{where}.table' = '{pins['table']}' không phải bảng nào "
                          f"({', '.join(SHEET_TABLES)})")
    if "year" in pins and not (isinstance(pins["year"], int) and 1945 <= pins["year"] <= 2100):
        raise IngestError(f"mapping.yaml: '{where}.year' = '{pins['year']}' không phải năm")
    if "header_rows" in pins:
        rows = pins["header_rows"] if isinstance(pins["header_rows"], list) else [pins["header_rows"]]
        if not (1 <= len(rows) <= len(layout.HEADER_HEIGHTS) and all(isinstance(r, int) and r >= 1 for r in rows)
                and all(b == a + 1 for a, b in zip(rows, rows[1:], strict=False))):
            raise IngestError(f"mapping.yaml: '{where}.header_rows' phải là một dòng (6) hoặc hai, ba dòng liền "
                              "nhau ([6, 7] hay [6, 7, 8])")
    if "columns" in pins and not isinstance(pins["columns"], dict):
        raise IngestError(f"mapping.yaml: '{where}.columns' phải là một bảng tiêu đề → trường")


def sheet_pins(mapping: dict[str, dict], rel: str, sheet: str) -> dict:
    """The pins that apply to one sheet: matching globs (in name order), then the exact path.

    Example:
        >>> m = {"2014/*.xlsx": {"all_sheets": {"year": 2014}, "sheets": {}},
        ...      "2014/a.xlsx": {"all_sheets": {}, "sheets": {"S": {"skip": True}}}}
        >>> sheet_pins(m, "2014/a.xlsx", "S")
        {'year': 2014, 'skip': True}
    """
    pins: dict = {}
    keys = sorted(k for k in mapping if k != rel and fnmatch.fnmatchcase(rel, k))
    if rel in mapping:
        keys.append(rel)
    for key in keys:
        entry = mapping[key]
        pins.update(entry.get("all_sheets") or {})
        pins.update(entry.get("sheets", {}).get(sheet) or {})
    return pins


def repair_grid(grid: Grid) -> tuple[Grid, str | None]:
    """Repair legacy-font text column by column (a whole column decides together).

    Returns:
        The repaired grid and the legacy encoding found (None if the text was Unicode).
    """
    width = grid.width
    found: str | None = None
    rows = [list(r) for r in grid.rows]
    # a CSV file whose bytes were recognised as a legacy font encoding: every cell is in it
    file_font = {"tcvn3": ".VnTime", "vni": "VNI-Times"}.get(grid.encoding or "")
    for c in range(width):
        idx = [r for r in range(len(rows)) if c < len(rows[r]) and isinstance(rows[r][c], str)]
        if not idx:
            continue
        texts = [rows[r][c] for r in idx]
        if file_font:
            fonts = [file_font] * len(idx)
        else:
            fonts = [grid.fonts[r][c] if grid.fonts and c < len(grid.fonts[r]) else None for r in idx] \
                if grid.fonts else None
        fixed, enc = repair_column(texts, fonts)
        if enc:
            found = found or enc
            for r, value in zip(idx, fixed, strict=True):
                rows[r][c] = value
    return Grid(grid.source_file, grid.sheet, rows, grid.fonts, grid.merged, grid.encoding), found


def find_campaign(campaigns: pd.DataFrame | list, year: int, text: str) -> tuple[str | None, str]:
    """The campaign of ``year`` named in ``text`` (sheet titles or a campaign cell).

    Matches, in order: the campaign id, its document code, its full title, then the title whose
    words are best covered by the text (at least 80%, and a unique best).

    Args:
        campaigns: ``campaigns.csv`` as a frame, or the year's rows as records (``itertuples``).

    Returns:
        (campaign_id or None, explanation).
    """
    camps = list(campaigns[campaigns["year"] == year].itertuples(index=False)) \
        if isinstance(campaigns, pd.DataFrame) else campaigns
    if not camps:
        return None, f"không có đợt học tập nào của năm {year} trong campaigns.csv"
    folded = f" {fold(text)} "
    for col in ("campaign_id", "document_code", "title"):
        hits = [r.campaign_id for r in camps
                if not is_blank(getattr(r, col)) and f" {fold(str(getattr(r, col)))} " in folded]
        if len(set(hits)) == 1:
            return hits[0], f"khớp {col}"
        if len(set(hits)) > 1 and col != "title":
            continue
    # a short name that opens the title ("Nghị quyết Trung ương 4 khóa XII" for "Nghị quyết Trung
    # ương 4 khóa XII về tăng cường …"): the longest leading phrase of a title found in the text
    prefixes = []
    for r in camps:
        tw = fold(str(r.title)).split()
        k = len(tw)
        while k >= 5 and f" {' '.join(tw[:k])} " not in folded:
            k -= 1
        if k >= 5:
            prefixes.append((k, r.campaign_id))
    prefixes.sort(reverse=True)
    if prefixes and (len(prefixes) == 1 or prefixes[1][0] < prefixes[0][0]):
        return prefixes[0][1], "khớp phần đầu tiêu đề"
    scores = []
    words = set(folded.split())
    for r in camps:
        tw = set(fold(str(r.title)).split())
        if tw:
            scores.append((len(tw & words) / len(tw), r.campaign_id))
    scores.sort(reverse=True)
    if scores and scores[0][0] >= 0.8 and (len(scores) == 1 or scores[1][0] < scores[0][0]):
        return scores[0][1], "khớp gần đúng tiêu đề"
    listing = "; ".join(f"{r.campaign_id} ({r.title if is_blank(r.document_code) else r.document_code})"
                        for r in camps)
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


class CampaignFinder:
    """:func:`find_campaign` with a cache (the same titles recur in every sheet of a folder)."""

    def __init__(self, campaigns: pd.DataFrame) -> None:
        self.campaigns = campaigns
        self._by_year = {int(y): list(g.itertuples(index=False)) for y, g in campaigns.groupby("year")} \
            if len(campaigns) else {}
        self._cache: dict[tuple[int, str], tuple[str | None, str]] = {}

    def __call__(self, year: int, text: str) -> tuple[str | None, str]:
        """(campaign id or None, explanation) for a year and a text naming the campaign."""
        key = (int(year), text)
        if key not in self._cache:
            self._cache[key] = find_campaign(self._by_year.get(int(year), []), int(year), text)
        return self._cache[key]


@dataclass
class _Run:
    """Mutable state of one ingest run."""

    units: pd.DataFrame
    campaigns: pd.DataFrame
    matcher: UnitMatcher
    finder: CampaignFinder
    mapping: dict[str, dict]
    staged: dict[str, list[dict]] = field(default_factory=lambda: {t: [] for t in SHEET_TABLES})
    frames: dict[str, list[pd.DataFrame]] = field(default_factory=lambda: {t: [] for t in SHEET_TABLES})
    quarantine: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seen_keys: dict[tuple, str] = field(default_factory=dict)
    #: (table, year or campaign id) -> (unit ids with figures from a member register, its file)
    register_units: dict[tuple[str, object], tuple[frozenset[str], str]] = field(default_factory=dict)
    #: id of a staged record -> (its sheet's manifest entry, row number, file), to account for it if it is
    #: found to be an aggregate of other staged units (see _settle_aggregates)
    origin: dict[int, tuple[dict, int, str]] = field(default_factory=dict)
    _children: dict[int, dict[str, set[str]]] = field(default_factory=dict)
    _campaign_years: dict[str, int] = field(default_factory=dict)

    def children(self, year: int) -> dict[str, set[str]]:
        """Unit id -> ids of its units active in ``year``."""
        if year not in self._children:
            active = hierarchy.units_in_year(self.units, year)
            kids: dict[str, set[str]] = {}
            for uid, parent in zip(active["unit_id"].astype(str), active["parent_id"], strict=True):
                if isinstance(parent, str) and parent:
                    kids.setdefault(parent, set()).add(uid)
            self._children[year] = kids
        return self._children[year]

    def year_of(self, rec: dict) -> int:
        """The year of a staged record (a study record's is its campaign's)."""
        if rec.get("year") is not None:
            return int(rec["year"])
        if not self._campaign_years:
            self._campaign_years.update(zip(self.campaigns["campaign_id"].astype(str),
                                            self.campaigns["year"].astype(int), strict=True))
        return self._campaign_years.get(str(rec.get("campaign_id")), 0)

    #: Members' totals read beside other figures: (the fields the form states, where, file, sheet,
    #: row), see sheetplan.Part
    corroborating: list[tuple[dict, str, str, str, int]] = field(default_factory=list)


def ingest(raw_dir: Path, out_dir: Path, progress: Callable[[str], None] | None = None) -> IngestResult:
    """Read every raw file and write the canonical tables, quarantine and manifest.

    Member registers and attendance lists (CSV or Parquet, recognised by their columns, see
    :func:`analysis.intake.register.classify_columns`) are aggregated first, one year at a time;
    then every sheet of every workbook or other CSV is read. A unit-year (or unit-campaign) that a
    register already gave is not taken again from a workbook: the workbook row is quarantined as
    ``duplicate_key``.

    Args:
        raw_dir: The raw folder (read-only).
        out_dir: The processed folder.
        progress: Called with one line per file (for the command line).

    Raises:
        IngestError: The raw folder, ``units.csv``, ``campaigns.csv`` or ``mapping.yaml`` is
            missing or broken.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise IngestError(f"Không có thư mục dữ liệu thô '{raw_dir}'")
    reads = _FlatReads()
    try:
        reads.start_first_year(raw_dir)  # decoded in the background while units.csv is checked
        return _ingest(raw_dir, Path(out_dir), progress, reads)
    finally:
        reads.close()


def _ingest(raw_dir: Path, out_dir: Path, progress: Callable[[str], None] | None,
            reads: _FlatReads) -> IngestResult:
    units = load_units(raw_dir)
    campaigns = read_reference_csv(raw_dir / "campaigns.csv", "campaigns", ["campaign_id", "year", "title"])
    merges = (read_reference_csv(raw_dir / "merges.csv", None, ["from_unit_id", "to_unit_id", "year"])
              if (raw_dir / "merges.csv").is_file() else None)
    targets = (read_reference_csv(raw_dir / "targets.csv", None,
                                  ["unit_id", "indicator", "from_year", "threshold_pct"])
               if (raw_dir / "targets.csv").is_file() else None)
    run = _Run(units, campaigns, UnitMatcher(units), CampaignFinder(campaigns), load_mapping(raw_dir))
    dataset = {}
    if (raw_dir / "dataset.yaml").is_file():
        dataset = yaml.safe_load((raw_dir / "dataset.yaml").read_text(encoding="utf-8")) or {}

    files_manifest: list[dict] = []
    for path in sorted(raw_dir.glob("*")):
        if path.parent == raw_dir and path.name in REFERENCE_FILES + ("dataset.yaml", "mapping.yaml"):
            files_manifest.append({"file": path.name, "kind": "reference", "sha256": store.sha256_file(path),
                                   "status": "ingested"})

    entries: dict[str, dict] = {}
    flat: list[_FlatFile] = []
    workbooks: list[tuple[Path, str]] = []
    for path in discover(raw_dir):
        rel = path.relative_to(raw_dir).as_posix()
        entry: dict = {"file": rel, "kind": "data", "sha256": store.sha256_file(path), "sheets": []}
        entries[rel] = entry
        if path.suffix.lower() in TABULAR:
            try:
                info = table_info(path, rel)
            except ReadError as exc:
                _unreadable(run, entry, str(exc))
                continue
            kind, why = register.classify_columns(info.columns)
            if kind is not None:
                flat.append(_FlatFile(path, rel, info, kind, register.map_columns(info.columns), entry))
                continue
            if path.suffix.lower() == ".parquet":
                rows = info.rows or 0
                entry.update(status="skipped", reason=f"tệp Parquet {why}")
                entry["sheets"].append({"sheet": "", "status": "skipped", "reason": f"tệp Parquet {why}",
                                        "rows_read": rows, "rows_kept": 0, "rows_excluded": rows,
                                        "rows_quarantined": 0})
                continue
        workbooks.append((path, rel))

    _ingest_flat(run, flat, progress, reads)
    for path, rel in workbooks:
        if progress:
            progress(rel)
        _ingest_workbook(run, path, rel, entries[rel])
    files_manifest.extend(entries[rel] for rel in sorted(entries))

    _settle_corroborating(run)
    _settle_aggregates(run)
    tables = {"units": units, "campaigns": campaigns, "quarantine": _frame(run.quarantine, "quarantine")}
    for name in SHEET_TABLES:  # conformed (typed, sorted) once, by store.write_processed
        parts = [pd.DataFrame(run.staged[name])] if run.staged[name] else []
        parts += [f for f in run.frames[name] if len(f)]
        tables[name] = (parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)) \
            if parts else schema.empty(name)
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
    data_files = [f for f in files_manifest if f["kind"] == "data"]
    manifest = {
        "package_version": __version__,
        "raw_dir": raw_dir.name,
        "dataset": dataset,
        "files": files_manifest,
        "findings": sorted(run.findings, key=_finding_key),
        "totals": {
            "files": len(data_files),
            "files_unreadable": len([f for f in data_files if f.get("status") == "unreadable"]),
            "sheets_skipped": len([s for s in sheets if s["status"] == "skipped"]),
            "rows_read": sum(s["rows_read"] for s in sheets),
            "rows_kept": sum(s["rows_kept"] for s in sheets),
            "rows_excluded": sum(s["rows_excluded"] for s in sheets),
            "rows_quarantined": sum(s["rows_quarantined"] for s in sheets),
            "values_quarantined": sum(s.get("values_quarantined", 0) for s in sheets),
            "columns_reported": sum(len(s.get("unmapped_columns", [])) for s in sheets),
        },
    }
    written = store.write_processed(Path(out_dir), tables, manifest)
    return IngestResult(written, tables, run.errors)


#: Figures of a staged record that an aggregate must equal the sum of (per table).
_SUMMED = (*SUMMED_FIELDS, "members_count")


def _settle_aggregates(run: _Run) -> None:
    """Take out the figures of a committee whose own units' figures were read too, from any sheet
    or file (a province workbook's "Tổng hợp" of districts beside one sheet per district): counts are
    stored at the units that report, so such a record is an aggregate — compared with the sum of its
    units (a difference is ``total_mismatch``) and accounted as a subtotal row of its sheet, never
    stored beside them. A committee's own unit rating is its own and stays."""
    done: dict[int, tuple[dict, int, str]] = {}
    for table in ("membership", "study_participation", "member_ratings"):
        records = run.staged[table]
        groups: dict[tuple, list[dict]] = {}
        for rec in records:
            groups.setdefault((run.year_of(rec), rec.get("campaign_id"), rec.get("rating_code")), []).append(rec)
        drop: set[int] = set()
        for (year, _, _), recs in groups.items():
            units = {str(r["unit_id"]) for r in recs}
            kids = run.children(year)
            for rec in recs:
                own = kids.get(str(rec["unit_id"]), set()) & units
                if own:
                    drop.add(id(rec))
                    _compare_aggregate(run, table, rec, [r for r in recs if str(r["unit_id"]) in own], year)
        if drop:
            run.staged[table] = [r for r in records if id(r) not in drop]
            done.update({i: run.origin[i] for i in drop if i in run.origin})
    _account_aggregate_rows(run, done)


def _compare_aggregate(run: _Run, table: str, rec: dict, parts: list[dict], year: int) -> None:
    entry, row, rel = run.origin.get(id(rec), ({}, 0, ""))
    for f in _SUMMED:
        total = sum(int(p.get(f) or 0) for p in parts)
        if rec.get(f) is not None and int(rec[f]) != total:
            run.findings.append({
                "check": "total_mismatch", "severity": "critical", "source_file": rel,
                "sheet": entry.get("sheet", ""), "row_number": row, "table": table, "unit_ids": [str(rec["unit_id"])],
                "year": year, "field": f, "stated": rec[f], "computed": total,
                "message": f"Số của {rec['unit_id']} ({f} = {rec[f]}) khác tổng các đơn vị trực thuộc đã nhập "
                           f"({total})"})


def _account_aggregate_rows(run: _Run, done: dict[int, tuple[dict, int, str]]) -> None:
    """A row all of whose staged records were aggregates is a subtotal row of its sheet, not a kept one."""
    left = {(id(e), row) for i, (e, row, _) in run.origin.items() if i not in done}
    rows = {(id(e), row): e for e, row, _ in done.values()}
    for (eid, row), entry in rows.items():
        if (eid, row) in left:
            continue
        entry["rows_kept"] -= 1
        entry["rows_excluded"] += 1
        entry["excluded"] = {**entry.get("excluded", {}), "subtotal": entry.get("excluded", {}).get("subtotal", 0) + 1}


def _settle_corroborating(run: _Run) -> None:
    """Members' totals read beside other figures fill the membership table where no membership
    sheet gave the unit-year; where one did (or another sheet gave other totals), a difference is
    a finding naming both places, never a silent choice."""
    given = {(r["unit_id"], r["year"]): r for r in run.staged["membership"]}
    where = {k: run.seen_keys.get(("membership", *k), "") for k in given}
    for rec, at, rel, sheet, row_number in run.corroborating:
        key = (rec["unit_id"], rec["year"])
        if key not in given:
            if "members_exempt" in rec:  # a total without the exempt count beside it is no denominator
                given[key], where[key] = rec, at
                run.staged["membership"].append(rec)
            continue
        other = given[key]
        diffs = [f for f in ("members_total", "members_exempt") if f in rec and rec[f] != other.get(f)]
        if diffs:
            shown = ", ".join(f"{f} {rec.get(f)} ≠ {other.get(f)}" for f in diffs)
            run.findings.append({
                "check": "membership_conflict", "severity": "critical", "source_file": rel, "sheet": sheet,
                "row_number": row_number, "table": "membership", "unit_ids": [str(rec["unit_id"])],
                "year": rec["year"], "message": f"{at}: số đảng viên của {rec['unit_id']} năm {rec['year']} khác "
                                                f"với {where[key]} ({shown})"})


def _finding_key(f: dict) -> tuple:
    return (str(f.get("source_file", "")), str(f.get("sheet", "")), f.get("row_number") or 0, str(f.get("check")),
            str(f.get("field", "")), ",".join(f.get("unit_ids") or []))


def _frame(rows: list[dict], table: str) -> pd.DataFrame:
    return pd.DataFrame(rows) if rows else schema.empty(table)


def _unreadable(run: _Run, entry: dict, message: str) -> None:
    entry.update(status="unreadable", reason=message)
    run.errors.append(message)


# ---------------------------------------------------------------------------------------------
# Member registers and attendance lists (flat files), one year at a time
# ---------------------------------------------------------------------------------------------

@dataclass
class _FlatFile:
    path: Path
    rel: str
    info: TableInfo
    kind: str
    columns: dict[str, str]
    entry: dict
    #: Per-row year (-1: none, -2: invalid) when the file has a year column, else None.
    row_years: np.ndarray | None = None
    first_row: int = 1
    counts: dict = field(default_factory=lambda: {"rows_read": 0, "rows_kept": 0, "rows_excluded": 0,
                                                  "rows_quarantined": 0, "excluded": {},
                                                  "values_quarantined": 0})
    years: set[int] = field(default_factory=set)


_FLAT_COLUMNS = {"member_register": ("member_id", "unit_id", "is_exempt", "rating_label"),
                 "attendance": ("member_id", "campaign_id")}


def _ingest_flat(run: _Run, files: list[_FlatFile], progress: Callable[[str], None] | None,
                 reads: _FlatReads | None = None) -> None:
    """Aggregate member registers and attendance lists year by year (see :mod:`.register`)."""
    plan: dict[int, list[_FlatFile]] = {}
    for f in files:
        if progress:
            progress(f.rel)
        f.first_row = 1 if f.path.suffix.lower() == ".parquet" else 2
        folder_year = layout.year_from_path(f.rel)
        if "year" in f.columns:
            try:
                table = read_table_columns(f.path, f.rel, f.info, {"year": f.columns["year"]}, ("year",))
            except ReadError as exc:
                _unreadable(run, f.entry, str(exc))
                continue
            f.row_years = _row_years(table.column("year"), folder_year)
            years = _distinct_years(f.row_years)
            invalid = bool(f.row_years.size) and int(f.row_years.min()) < 0
            if invalid:
                _flat_year_problems(run, f)
            if years == {folder_year} and not invalid:
                f.row_years = None  # the whole file is the folder's year: no filtering
        elif folder_year is not None:
            years = {folder_year}
        else:
            reason = "không xác định được năm: tệp không nằm trong thư mục năm (data/raw/<năm>/) và không có cột năm"
            f.entry.update(status="skipped", reason=reason)
            rows = f.info.rows if f.info.rows is not None else 0
            f.entry["sheets"].append({"sheet": "", "status": "skipped", "reason": reason, "table": f.kind,
                                      "rows_read": rows, "rows_kept": 0, "rows_excluded": rows,
                                      "rows_quarantined": 0})
            continue
        for y in sorted(years):
            plan.setdefault(y, []).append(f)
    reads = reads or _FlatReads()
    for year in sorted(plan):
        # decoded in the background (the first year's may be under way): whole files, or, when no
        # file is filtered by a year column, the registers first, then each Parquet attendance
        # list looked up in them while it is read
        whole = all(f.row_years is None for f in plan[year])
        if whole:
            reads.start_year(year, [_spec(f) for f in plan[year] if f.kind == "member_register"],
                             [_spec(f) for f in plan[year] if f.kind != "member_register"])
        else:
            reads.drop_year(year)
            for f in plan[year]:
                reads.start(f.path, f.rel, f.info, _flat_columns(f))
        regs, atts = [], []
        for f in plan[year]:
            if f.kind == "member_register":
                try:
                    regs.append(_flat_source(f, year, reads))
                except ReadError as exc:
                    _unreadable(run, f.entry, str(exc))
            else:  # taken when the register of the year is aggregated: its reading goes on meanwhile
                atts.append(_LazySource(run, f, year, reads))
        by_rel = {f.rel: f for f in plan[year]}
        try:
            result = register.aggregate_year(year, regs, atts, run.units, run.campaigns,
                                             member_index=reads.member_index(year) if whole else None)
        except ratings.SchemeError as exc:
            for a in atts:
                a()  # a file that cannot be read is reported as such first
            for f in plan[year]:
                _unreadable(run, f.entry, f"{f.rel}: năm {year}: {exc}")
            continue
        for rel, c in result.counts.items():
            f = by_rel[rel]
            f.years.add(year)
            for k in ("rows_read", "rows_kept", "rows_excluded", "rows_quarantined", "values_quarantined"):
                f.counts[k] += c.get(k, 0)
            for k, v in c["excluded"].items():
                f.counts["excluded"][k] = f.counts["excluded"].get(k, 0) + v
        for name in ("membership", "member_ratings", "study_participation"):
            frame = getattr(result, name)
            if len(frame):
                run.frames[name].append(frame)
        files_of = ", ".join(s.file for s in regs)
        run.register_units[("membership", year)] = (result.units, files_of)
        run.register_units[("member_ratings", year)] = (result.units, files_of)
        if len(result.study_participation):
            for cid in result.study_participation["campaign_id"].unique():
                run.register_units[("study_participation", str(cid))] = (result.units, files_of)
        run.quarantine.extend(result.quarantine.to_dict("records") if len(result.quarantine) else [])
        run.findings.extend(result.findings)
        del regs, atts, result
    for f in files:
        if f.entry.get("status") in ("unreadable", "skipped"):
            continue
        sheet = {"sheet": "", "status": "ingested", "table": f.kind, **f.counts,
                 "columns": {v: k for k, v in sorted(f.columns.items())}}
        if f.info.encoding:
            f.entry["encoding"] = f.info.encoding
        sheet["years"] = sorted(f.years)
        if len(f.years) == 1:
            sheet["year"] = next(iter(f.years))
        f.entry["status"] = "ingested"
        f.entry["sheets"].append(sheet)


def _row_years(col: pa.ChunkedArray, default: int | None) -> np.ndarray:
    """Year of each row from a year column: -1 when missing (and no folder year), -2 when invalid."""
    from analysis.intake.rows import RowError, read_year

    single = _single_value(col)
    if single is not None:  # the usual export: one year in the whole column, no hashing
        codes, values = np.zeros(len(col), dtype=np.int32), [single[0]]
    else:
        codes, values = register.encode_column(col)
    table = []
    for v in values:
        try:
            y = read_year(v)
        except RowError:
            y = -2
        table.append(default if y is None and default is not None else (-1 if y is None else y))
    table.append(default if default is not None else -1)  # null cells
    return np.asarray(table, dtype=np.int32)[codes]


def _single_value(col: pa.ChunkedArray) -> tuple[object] | None:
    """(value,) when a column without nulls holds one value throughout, else None."""
    if not len(col) or col.null_count or pa.types.is_dictionary(col.type):
        return None
    try:
        low, high = pc.min_max(col).values()
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return None
    return (low.as_py(),) if low == high else None


def _distinct_years(row_years: np.ndarray) -> set[int]:
    if not row_years.size:
        return set()
    low, high = int(row_years.min()), int(row_years.max())
    values = [low] if low == high else np.unique(row_years)
    return {int(y) for y in values if y >= 0}


def _flat_year_problems(run: _Run, f: _FlatFile) -> None:
    """Quarantine the rows of a flat file whose year is missing or invalid (counted once)."""
    assert f.row_years is not None
    bad = np.flatnonzero(f.row_years < 0)
    codes = np.where(f.row_years[bad] == -1, "year_missing", "year_invalid")
    source = register.Source(f.rel, pa.table({"_": pa.nulls(len(f.row_years))}), first_row=f.first_row)
    table = "member_register" if f.kind == "member_register" else "study_participation"
    run.quarantine.extend(register.quarantine_entries(
        source, bad, codes, np.full(len(bad), None, dtype=object),
        lambda code, _v: register.REASONS.get(code, "Cột năm không phải là năm hợp lệ"), table, "value"))
    f.counts["rows_read"] += len(bad)
    f.counts["rows_quarantined"] += len(bad)


#: Columns read dictionary-encoded from a flat file (few distinct values).
_FLAT_DICTIONARY = ("unit_id", "rating_label", "campaign_id")


def _flat_columns(f: _FlatFile) -> dict[str, str]:
    return {k: v for k, v in f.columns.items() if k in _FLAT_COLUMNS[f.kind]}


@dataclass(frozen=True)
class _Spec:
    """What is read of a flat file."""

    path: Path
    rel: str
    info: TableInfo
    columns: dict[str, str]
    first_row: int

    @property
    def key(self) -> tuple:
        return (str(self.path), tuple(sorted(self.columns.items())), self.first_row)


def _spec(f: _FlatFile) -> _Spec:
    return _Spec(f.path, f.rel, f.info, _flat_columns(f), f.first_row)


def _flat_source(f: _FlatFile, year: int, reads: _FlatReads | None = None) -> register.Source:
    wanted = _flat_columns(f)
    table = (reads or _FlatReads()).table(f.path, f.rel, f.info, wanted)
    if f.row_years is None:
        return register.Source(f.rel, table, first_row=f.first_row)
    positions = np.flatnonzero(f.row_years == year)
    return register.Source(f.rel, table.take(pa.array(positions)), row_numbers=positions + f.first_row)


class _FlatReads:
    """Flat files (registers, attendance lists) decoded on a background thread.

    Decoding Parquet/CSV runs in Arrow without the GIL, so it overlaps the main thread's work
    (``units.csv``, the register aggregation). Reads are started for the first year's files before
    ``units.csv`` is read, and for each year's files when that year begins; a table is handed out
    once (:meth:`table`), so at most the current year's files are held, as without background reads.
    When no file of the year is filtered by a year column, its Parquet attendance lists are looked
    up in its registers while they are read (:meth:`start_year`): a national list (~40 million
    rows) is then never held as text.
    """

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(1, thread_name_prefix="hoctap-read")
        self.pending: dict[tuple, object] = {}
        #: attendance list -> its look-up (a LookedUp, or its table when it could not be looked up)
        self.looked: dict[tuple, object] = {}
        #: year -> (the files it was started for, the register index)
        self.years: dict[int, tuple[tuple, object]] = {}

    @staticmethod
    def _key(path: Path, columns: dict[str, str]) -> tuple:
        return (str(path), tuple(sorted(columns.items())))

    def start(self, path: Path, rel: str, info: TableInfo, columns: dict[str, str]) -> None:
        key = self._key(path, columns)
        if key not in self.pending:
            self.pending[key] = self.pool.submit(read_table_columns, path, rel, info, columns, _FLAT_DICTIONARY)

    def table(self, path: Path, rel: str, info: TableInfo, columns: dict[str, str]) -> pa.Table:
        """The table of a started read (waiting for it), else read now.

        Raises:
            ReadError: The file cannot be read.
        """
        future = self.pending.pop(self._key(path, columns), None)
        if future is None:
            return read_table_columns(path, rel, info, columns, _FLAT_DICTIONARY)
        return future.result()

    def start_year(self, year: int, registers: list[_Spec], attendances: list[_Spec]) -> None:
        """Read the registers of a year, index their member ids, then look up each Parquet
        attendance list in them while it is read (:func:`register.look_up_attendance`): its text
        is never held. Nothing is done when the year was started for the same files already."""
        files = (tuple(r.key for r in registers), tuple(a.key for a in attendances))
        started = self.years.get(year)
        if started is not None and started[0] == files:
            return
        self.drop_year(year)  # started for other files
        for r in registers:
            self.start(r.path, r.rel, r.info, r.columns)
        tables = [self.pending[self._key(r.path, r.columns)] for r in registers]
        index = self.pool.submit(_register_index, tables)
        self.years[year] = (files, index)
        for a in attendances:
            if a.path.suffix.lower() == ".parquet":
                self.looked[self._key(a.path, a.columns)] = self.pool.submit(_look_up, a, index)
            else:
                self.start(a.path, a.rel, a.info, a.columns)

    def drop_year(self, year: int) -> None:
        """Forget the look-ups started for a year (its files turned out to be others)."""
        started = self.years.pop(year, None)
        for key in started[0][1] if started is not None else ():
            future = self.looked.pop(self._key(Path(key[0]), dict(key[1])), None)
            if future is not None:
                future.cancel()

    def member_index(self, year: int) -> register._NumberedIndex | None:
        """The index of the year's registers built by :meth:`start_year` (None: none)."""
        started = self.years.get(year)
        return None if started is None else started[1].result()

    def attendance(self, spec: _Spec) -> register.LookedUp | pa.Table:
        """An attendance list looked up by :meth:`start_year` (waiting for it), else its table.

        Raises:
            ReadError: The file cannot be read.
        """
        future = self.looked.pop(self._key(spec.path, spec.columns), None)
        if future is None:
            return self.table(spec.path, spec.rel, spec.info, spec.columns)
        return future.result()

    def start_first_year(self, raw_dir: Path) -> None:
        """Start reading the Parquet registers and attendance lists of the first year folder (best
        effort: any problem is left to the main pass, which finds and reports it in its order)."""
        first: list[tuple[int, bool, Path, str, TableInfo, dict[str, str]]] = []
        try:
            for path in discover(raw_dir):
                year = layout.year_from_path(path.relative_to(raw_dir).as_posix())
                if path.suffix.lower() != ".parquet" or year is None:  # CSV files are many and small
                    continue
                rel = path.relative_to(raw_dir).as_posix()
                info = table_info(path, rel)
                kind, _ = register.classify_columns(info.columns)
                if kind is not None:
                    columns = register.map_columns(info.columns)
                    wanted = {k: v for k, v in columns.items() if k in _FLAT_COLUMNS[kind]}
                    first.append((year, kind != "member_register", path, rel, info, wanted))
        except (IngestError, ReadError, OSError):
            return
        if first:
            year = min(f[0] for f in first)
            specs = [(is_attendance, _Spec(path, rel, info, wanted, 1))
                     for y, is_attendance, path, rel, info, wanted in first if y == year]
            if all(_whole_file(spec, year) for _, spec in specs):
                self.start_year(year, [s for a, s in specs if not a], [s for a, s in specs if a])
            else:
                for _, spec in sorted(specs, key=lambda s: s[0]):
                    self.start(spec.path, spec.rel, spec.info, spec.columns)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pending.clear()
        self.looked.clear()
        self.years.clear()


def _whole_file(spec: _Spec, folder_year: int) -> bool:
    """Whether a flat file in a year folder is all of that year (no year column, or one that says
    only that year), as :func:`_ingest_flat` decides."""
    year_column = register.map_columns(spec.info.columns).get("year")
    if year_column is None:
        return True
    try:
        table = read_table_columns(spec.path, spec.rel, spec.info, {"year": year_column}, ("year",))
    except ReadError:
        return False
    row_years = _row_years(table.column("year"), folder_year)
    return _distinct_years(row_years) == {folder_year} and not (row_years.size and int(row_years.min()) < 0)


def _register_index(tables: list) -> register._NumberedIndex | None:
    """Background task: the index of a year's registers (None when one of them cannot be read:
    the main pass reports it, and the attendance lists are then read whole)."""
    try:
        read = [t.result() for t in tables]
    except Exception:  # noqa: BLE001 - reported by the main pass
        return None
    return register.register_index(read)


def _look_up(spec: _Spec, index_future) -> register.LookedUp | pa.Table:
    """Background task: an attendance list looked up in its year's registers while it is read;
    its table when its ids are not numbered (or anything goes wrong: the whole read reports it)."""
    index = index_future.result()
    if index is not None and {"member_id", "campaign_id"} <= set(spec.columns):
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(spec.path)
            if pa.types.is_string(schema.field(spec.columns["member_id"]).type) or \
                    pa.types.is_large_string(schema.field(spec.columns["member_id"]).type):
                wanted = {"member_id": spec.columns["member_id"], "campaign_id": spec.columns["campaign_id"]}
                rows, shares = parquet_shares(spec.path, wanted, ("campaign_id",))
                return register.look_up_attendance(spec.rel, rows, shares, index, len(index.keys), spec.first_row)
        except Exception:  # noqa: BLE001 - read whole below, which reports any problem
            pass
    return read_table_columns(spec.path, spec.rel, spec.info, spec.columns, _FLAT_DICTIONARY)


class _LazySource:
    """An attendance list of one year, read when :func:`register.aggregate_year` takes it (None
    when it cannot be read: the file is then reported unreadable)."""

    def __init__(self, run: _Run, f: _FlatFile, year: int, reads: _FlatReads) -> None:
        self.run, self.f, self.year, self.reads = run, f, year, reads
        self.done = False
        self.source: register.Source | register.LookedUp | None = None

    def __call__(self) -> register.Source | register.LookedUp | None:
        if not self.done:
            self.done = True
            try:
                if self.f.row_years is None:
                    got = self.reads.attendance(_spec(self.f))
                    self.source = got if isinstance(got, register.LookedUp) else \
                        register.Source(self.f.rel, got, first_row=self.f.first_row)
                else:
                    self.source = _flat_source(self.f, self.year, self.reads)
            except ReadError as exc:
                _unreadable(self.run, self.f.entry, str(exc))
        return self.source


# ---------------------------------------------------------------------------------------------
# Workbooks and other CSV files, sheet by sheet
# ---------------------------------------------------------------------------------------------

def _ingest_workbook(run: _Run, path: Path, rel: str, entry: dict) -> None:
    try:
        grids = read_source(path, rel)
    except ReadError as exc:
        _unreadable(run, entry, str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - any reader failure is reported, never a traceback
        _unreadable(run, entry, f"{rel}: không đọc được ({type(exc).__name__}: {exc})")
        return
    if not grids and path.suffix.lower() in DOCUMENT_SUFFIXES:
        entry.update(kind="text", status="not_data", reason="văn bản không có bảng số liệu")
        return
    entry["status"] = "ingested"
    if grids and grids[0].encoding:
        entry["encoding"] = grids[0].encoding
    if not grids:
        entry.update(status="skipped", reason="sổ tính không có trang nào")
    for grid in grids:
        try:
            sheets = _ingest_tables(run, grid, rel, path)
        except Exception as exc:  # noqa: BLE001 - one sheet that breaks the reader is reported, the rest read
            reason = f"lỗi khi đọc trang ({type(exc).__name__}: {exc}) — hãy gửi tệp này cho nhóm phát triển"
            sheets = [_skip({"sheet": grid.sheet}, reason, len(grid.rows))]
            run.errors.append(f"{rel} [{grid.sheet}]: {reason}")
        if len(sheets) == 1 and sheets[0].get("reason") == NO_HEADER and not _holds_a_table(run, grid, rel):
            # a cover, instructions or signature page: no figures and no unit listed
            sheets[0].update(status="not_data", reason="trang không có bảng số liệu (không có số, không liệt kê đơn vị)")
        entry["sheets"].extend(sheets)
    if entry["sheets"] and all(s["status"] == "not_data" for s in entry["sheets"]):
        entry.update(kind="text", status="not_data", reason="không trang nào có bảng số liệu")
        return
    if path.suffix.lower() in DOCUMENT_SUFFIXES and all(s.get("reason") == NO_HEADER for s in entry["sheets"]) \
            and not any(layout.holds_figures(g) for g in grids):
        # a report whose tables are no form and hold no figures (signatures, a layout grid): a text, as one
        # without tables; a table of figures intake cannot read stays a skipped data file (exit 1)
        entry.update(kind="text", status="not_data", reason="văn bản không có bảng số liệu nào nhận ra được")
        return
    if entry["sheets"] and all(s["status"] in ("skipped", "not_data") for s in entry["sheets"]):
        entry["status"] = "skipped"
        entry.setdefault("reason", "không trang nào có số liệu nhận ra được")


def _sheet_finding(rel: str, sheet: str, header: layout.Header, year: int, check: str, message: str) -> dict:
    """A critical finding about a whole sheet (its year, its committee)."""
    return {"check": check, "severity": "critical", "source_file": rel, "sheet": sheet,
            "row_number": header.first_row + 1, "table": "", "unit_ids": [], "year": year, "message": message}


def _holds_a_table(run: _Run, grid: Grid, rel: str) -> bool:
    """Whether a sheet whose header intake could not find still holds a table: figures, or two
    reporting units listed (a table of rating labels has no figures). Without a year to look units up
    in, it is taken to hold one (reported, never dropped)."""
    if layout.holds_figures(grid):
        return True
    year = layout.year_from_title(layout.title_text(grid, None)) or layout.year_from_path(rel)
    if year is None:
        return True
    texts = [v for row in grid.rows for v in row if isinstance(v, str) and v.strip()]
    return run.matcher.names_units(texts, year) >= 2


def _skip(entry: dict, reason: str, rows: int) -> dict:
    entry.update(status="skipped", reason=reason, rows_read=rows, rows_kept=0, rows_excluded=rows,
                 rows_quarantined=0)
    return entry


def _column_years(grid: Grid, header: layout.Header) -> list[int]:
    """Years written in a year column, most frequent first."""
    from analysis.intake.rows import RowError, read_year

    col = header.column_of("year")
    counts: dict[int, int] = {}
    for row in grid.rows[header.last_row + 1:]:
        try:
            y = read_year(row[col]) if col is not None and col < len(row) else None
        except RowError:
            y = None
        if y is not None:
            counts[y] = counts.get(y, 0) + 1
    return sorted(counts, key=lambda y: (-counts[y], y))


def _ingest_tables(run: _Run, grid: Grid, rel: str, path: Path) -> list[dict]:
    """The manifest entries of a sheet: one per table stacked in it (see :func:`layout.split_tables`)."""
    entry = _ingest_sheet(run, grid, rel, path)
    if isinstance(entry, list):
        return [e for part in entry for e in _ingest_tables(run, part, rel, path)]
    return [entry]


def _ingest_sheet(run: _Run, grid: Grid, rel: str, path: Path) -> dict | list[Grid]:
    """One sheet's manifest entry, or the grids of the tables stacked in it (read one by one)."""
    pins = sheet_pins(run.mapping, rel, grid.sheet)
    entry: dict = {"sheet": grid.sheet, "rows_read": 0, "rows_kept": 0, "rows_excluded": 0,
                   "rows_quarantined": 0}
    if pins:
        entry["pins"] = sorted(pins)
    if pins.get("skip"):
        return _skip(entry, "bỏ qua theo mapping.yaml", len(grid.rows))
    grid, encoding = repair_grid(grid)
    if encoding:
        entry["legacy_encoding"] = encoding
    year = pins.get("year")
    year_source = "mapping" if year else None
    pinned = None
    if pins.get("header_rows") is not None:
        hr = pins["header_rows"] if isinstance(pins["header_rows"], list) else [pins["header_rows"]]
        pinned = (hr[0] - 1, hr[-1] - 1)
    overrides = pins.get("columns")
    # the title is what stands above the header: find the header once without a year first
    first_look = layout.detect_header(grid, None, overrides, pinned)
    title = layout.title_text(grid, first_look)
    if year is None:
        year = layout.year_from_title(title)
        year_source = "title" if year else None
    if year is None:
        year = layout.year_from_path(rel)
        year_source = "path" if year else None
    # rating-level columns are only recognised knowing the year's scheme
    header = layout.detect_header(grid, year, overrides, pinned) if year is not None else first_look
    column_years: list[int] = []
    if header is not None and "year" in header.fields.values():
        column_years = _column_years(grid, header)
        if year is None and column_years:  # read rating-level headers in the sheet's main year
            header = layout.detect_header(grid, column_years[0], overrides, pinned) or header
    if header is None:
        return _skip(entry, NO_HEADER, len(grid.rows))
    stacked = layout.split_tables(grid, header, year, overrides) if pinned is None else None
    if stacked:
        return stacked
    body = len(grid.rows) - header.last_row - 1
    entry.update(header_rows=[header.first_row + 1, header.last_row + 1])
    entry["rows_header"] = header.last_row + 1
    if year is None and not column_years:
        return _skip(entry, "không xác định được năm (thư mục, cột năm hoặc tiêu đề)", body)
    main_year = int(year) if year is not None else column_years[0]
    title = layout.title_text(grid, header)
    period = layout.period_in_title(title)
    if period is not None:  # a quarter's figures are not the year's, and are not summed into it
        return _skip(entry, f"tiêu đề ghi số liệu của một phần năm ('{period}'), không phải cả năm — không đọc "
                            "thành số liệu năm", len(grid.rows) - header.last_row - 1)
    folder_year = layout.year_from_path(rel)
    about_sheet: list[dict] = []  # given the committee once it is known
    if year_source == "title" and folder_year is not None and folder_year != year:
        about_sheet.append(_sheet_finding(
            rel, grid.sheet, header, main_year, "year_conflict",
            f"{rel} [{grid.sheet}]: tiêu đề ghi năm {year} nhưng tệp nằm trong thư mục năm {folder_year} — số liệu "
            f"được đọc là năm {year}; hãy kiểm tra và ghim 'year' trong mapping.yaml nếu cần"))
    for gone in run.matcher.inactive_committees_named(title, main_year):
        about_sheet.append({**_sheet_finding(
            rel, grid.sheet, header, main_year, "committee_inactive",
            f"{rel} [{grid.sheet}]: tiêu đề ghi '{gone}', không hoạt động năm {main_year} (đã hợp nhất hoặc chưa "
            "thành lập) — các dòng có thể bị gán nhầm cho đơn vị cùng tên; hãy kiểm tra units.csv"), "unit_ids": [gone]})
    grid = sheetplan.fill_merged_down(grid, header)
    named = headers.subjects_named(title) & {"members", "public", "mixed"}
    plan, weighed = evidence.apply(grid, sheetplan.plan_sheet(grid, header, lambda text: run.finder(main_year, text)[0],
                                                           next(iter(named)) if len(named) == 1 else "",
                                                           int(year) if year is not None else None))
    if weighed:
        entry["evidence"] = weighed
    for ev in weighed:
        if ev["reading"] == "undecided" and ev["by"].startswith("public_attended"):
            plan.accounting[sheetplan.column_index(ev["column"])] = sheetplan.reported(
                plan.accounting[sheetplan.column_index(ev["column"])],
                f"{ev['rows_checked']} dòng có số quần chúng tham gia lớn hơn số phải học: tiêu đề không nói là "
                "người hay lượt người — ghi rõ '(lượt)' hoặc '(người)' trong tiêu đề")
    parts = plan.parts
    if pins.get("table"):
        parts = [replace(p, corroborating=False) for p in parts if p.table == pins["table"]]
    scope = pins.get("scope") or run.matcher.scope_of(f"{title} {path.stem.replace('-', ' ')}", main_year)
    entry["scope"] = scope
    run.findings.extend(_scoped(about_sheet, scope, "unit_ids"))
    entry.update(year=int(year) if year is not None else None,
                 year_source=year_source if year is not None else "column")
    if column_years:
        entry["year_column"] = True
    staged: list[tuple[sheetplan.Part, str | None]] = []
    for part in parts:
        campaign_id, why = _part_campaign(run, part, pins, year, title, grid.sheet, column_years)
        if why:
            for c in part.header.fields:
                if part.header.fields[c] not in layout.ROW_FIELDS:
                    plan.accounting[c] = sheetplan.reported(plan.accounting[c], why)
            continue
        staged.append((part, campaign_id))
    if all(p.corroborating for p, _ in staged):  # members' totals alone do not make a study sheet
        for part, _ in staged:
            for c, f in part.header.fields.items():
                if f not in layout.ROW_FIELDS:
                    plan.accounting[c] = sheetplan.reported(plan.accounting[c], "chỉ đọc được tổng số đảng viên")
        staged = []
    _account_columns(run, entry, plan, rel, grid, main_year, scope)
    for r0, c0, r1, _ in sheetplan.merged_figures(grid, header):
        cell = f"{layout.column_letter(c0)}{r0 + 1}:{layout.column_letter(c0)}{r1 + 1}"
        run.findings.append({
            "check": "merged_figure", "severity": "critical", "source_file": rel, "sheet": grid.sheet,
            "row_number": r0 + 1, "table": "", "unit_ids": [scope] if scope else [], "year": main_year,
            "column": layout.column_letter(c0),
            "message": f"{rel} [{grid.sheet}] ô {cell}: một số liệu ({grid.cell(r0, c0)}) gộp ô cho nhiều dòng — "
                       "không chia được cho từng đơn vị; hãy ghi số của từng đơn vị vào dòng của nó"})
    if not staged:
        reasons = [a["reason"] for a in plan.reported() if a.get("reason") != "chỉ đọc được tổng số đảng viên"]
        reason = ("theo mapping.yaml: trang không có phần nào của bảng " + pins["table"]) if pins.get("table") \
            and not parts else (plan.why or (reasons[0] if reasons else ""))
        return _skip(entry, reason or "không nhận ra bảng chuẩn nào", body)
    entry["table"] = staged[0][0].table
    if len({p.table for p, _ in staged}) > 1:
        entry["tables"] = sorted({p.table for p, _ in staged})
    kept_rows: set[int] = set()
    sheet_units: set[str] = set()
    said: set[tuple] = set()
    quarantined: list[dict] = []
    excluded: dict[str, int] = {}
    years_seen: set[int] = set()
    campaigns_seen: set[str] = set()
    kinds = row_kinds(grid, staged[0][0].header)  # the parts share their unit columns
    for part, campaign_id in staged:
        res: SheetResult = stage_sheet(grid, part.header, part.table, int(year) if year is not None else None,
                                       campaign_id, run.matcher, scope, run.finder, f"{title} {grid.sheet}", kinds)
        kept_rows |= _admit(run, res, part, rel, grid.sheet, years_seen, campaigns_seen, entry)
        quarantined.extend(res.quarantine)
        excluded = excluded or res.excluded
        sheet_units.update(str(rec["unit_id"]) for _, rec in res.records)
        new = [f for f in res.findings if _finding_key(f) not in said]  # a column two parts read
        said.update(_finding_key(f) for f in new)
        run.findings.extend(_scoped(new, scope or _common_parent(run.units, sheet_units), "unit_ids"))
    owner = scope or _common_parent(run.units, sheet_units)
    quarantined = _one_entry_per_row_and_reason(quarantined)
    run.quarantine.extend(_scoped(quarantined, owner, "unit_id"))
    if column_years:
        entry["years"] = sorted(years_seen)
    if campaigns_seen and (len(staged) > 1 or "campaign" in header.fields.values() or column_years):
        entry["campaigns"] = sorted(campaigns_seen)
    study = [c for p, c in staged if p.table == "study_participation"]
    if len(study) == 1 and study[0] is not None:
        entry["campaign_id"] = study[0]
    row_quarantined = {q["row_number"] for q in quarantined}
    entry.update(status="ingested", rows_read=body, rows_kept=len(kept_rows),
                 rows_excluded=sum(excluded.values()), excluded=excluded,
                 rows_quarantined=len(row_quarantined - kept_rows),
                 values_quarantined=len([q for q in quarantined if q["row_number"] in kept_rows]))
    return entry




def _one_entry_per_row_and_reason(entries: list[dict]) -> list[dict]:
    """One quarantine entry per row and reason, naming every table whose part set it aside (an
    unknown unit in a combined sheet is one problem, not one per table), sorted by row."""
    out: dict[tuple, dict] = {}
    for e in entries:
        key = (e["row_number"], e["reason_code"])
        if key not in out:
            out[key] = dict(e)
        elif e["table"] not in out[key]["table"].split(","):
            out[key]["table"] += f",{e['table']}"
    return sorted(out.values(), key=lambda q: (q["row_number"], q["reason_code"]))


def _part_campaign(run: _Run, part: sheetplan.Part, pins: dict, year: int | None, title: str, sheet: str,
                   column_years: list[int]) -> tuple[str | None, str]:
    """The campaign of a study part: its group's, else the mapping's, else the title's; ("", why)
    when it has none and no campaign column names it row by row."""
    if part.table != "study_participation" or part.campaign_id is not None:
        return part.campaign_id, ""
    campaign_id = pins.get("campaign_id")
    if campaign_id is not None:
        if campaign_id not in set(run.campaigns["campaign_id"]):
            return None, f"mapping.yaml ghim đợt '{campaign_id}' không có trong campaigns.csv"
        return campaign_id, ""
    if year is None:
        return None, ""
    campaign_id, reason = run.finder(int(year), f"{title} {sheet}")
    if campaign_id is None and "campaign" not in part.header.fields.values() and not column_years:
        return None, reason
    return campaign_id, ""


def _admit(run: _Run, res: SheetResult, part: sheetplan.Part, rel: str, sheet: str, years_seen: set[int],
           campaigns_seen: set[str], entry: dict) -> set[int]:
    """Stage a part's records (a key already given elsewhere is quarantined as ``duplicate_key``;
    corroborating members' totals are kept aside); returns the row numbers kept."""
    table = part.table
    key_cols = schema.TABLES[table].key
    by_row: dict[int, list[dict]] = {}
    for row_number, rec in res.records:
        by_row.setdefault(row_number, []).append(rec)
    kept: set[int] = set()
    where = f"{rel} [{sheet}]"
    for row_number, recs in by_row.items():
        first = recs[0]
        if part.corroborating:
            stated = {k: v for k, v in first.items() if k in set(part.header.fields.values()) | {"unit_id", "year"}}
            run.corroborating.append((stated, f"{where} dòng {row_number}", rel, sheet, row_number))
            kept.add(row_number)
            continue
        slot = ("study_participation", first["campaign_id"]) if table == "study_participation" \
            else (table, first["year"])
        reg = run.register_units.get(slot)
        keys = [(table, *(rec[k] for k in key_cols)) for rec in recs]
        earlier = next((run.seen_keys[k] for k in keys if k in run.seen_keys), None)
        if earlier is None and reg is not None and first["unit_id"] in reg[0]:
            earlier = f"danh sách đảng viên {reg[1]}"
        if earlier is not None:
            res.quarantine.append({
                "source_file": rel, "sheet": sheet, "row_number": row_number, "table": table,
                "reason_code": "duplicate_key", "unit_id": first["unit_id"], "year": first.get("year"),
                "reason": f"Trùng số liệu ({', '.join(str(first[k]) for k in key_cols if k != 'rating_code')}) "
                          f"đã có ở {earlier}",
                "raw_values": json.dumps(recs, ensure_ascii=False, default=str)})
            continue
        for k in keys:
            run.seen_keys[k] = f"{where} dòng {row_number}"
        run.staged[table].extend(recs)
        for rec in recs:
            run.origin[id(rec)] = (entry, row_number, rel)
        kept.add(row_number)
        if "year" in first:
            years_seen.add(int(first["year"]))
        if first.get("campaign_id"):
            campaigns_seen.add(str(first["campaign_id"]))
    return kept


def _account_columns(run: _Run, entry: dict, plan: sheetplan.Plan, rel: str, grid: Grid, year: int,
                     scope: str | None) -> None:
    """Write the sheet's column accounting and a finding for every column that could not be read."""
    entry["columns"] = {a["header"]: a["field"] for a in plan.accounting.values()
                        if a["status"] == "mapped" and not a["field"].startswith("level:")}
    levels = {a["header"]: a["field"].removeprefix("level:") for a in plan.accounting.values()
              if a["status"] == "mapped" and a["field"].startswith("level:")}
    if levels:
        entry["levels"] = levels
    entry["column_accounting"] = list(plan.accounting.values())
    reported = plan.reported()
    if reported:
        entry["unmapped_columns"] = [a["header"] or a["column"] for a in reported]
    body_rows = grid.rows[int(entry["rows_header"]):]
    for a in reported:
        c = sheetplan.column_index(a["column"])
        holds = any(c < len(r) and not is_blank(r[c]) for r in body_rows)
        pin = a["header"] or "<tiêu đề>"
        run.findings.append({
            "check": "unmapped_column", "severity": "critical" if holds else "warning",
            "source_file": rel, "sheet": grid.sheet, "row_number": int(entry["rows_header"]), "table": "",
            "unit_ids": [scope] if scope else [], "year": year, "column": a["column"], "header": a["header"],
            "message": f"{rel} [{grid.sheet}] cột {a['column']} «{a['header']}»: {a['reason']}. Nếu đây là một "
                       f"trường chuẩn, ghim trong mapping.yaml — files: \"{rel}\": sheets: \"{grid.sheet}\": "
                       f"columns: {{\"{pin}\": <trường> hoặc ignore}}"})


def _common_parent(units: pd.DataFrame, unit_ids: set[str]) -> str | None:
    """The one parent of all ``unit_ids`` (the committee whose sheet lists them), else None."""
    if not unit_ids:
        return None
    parents = set(units.loc[units["unit_id"].isin(sorted(unit_ids)), "parent_id"].dropna())
    return parents.pop() if len(parents) == 1 else None


def _scoped(entries: list[dict], scope: str | None, key: str) -> list[dict]:
    """Entries that name no unit get the committee whose sheet they come from (a totals row, a
    row whose unit is unknown): a gate run scoped to other units must not report them."""
    if scope is None:
        return entries
    filled = scope if key == "unit_id" else [scope]
    return [e if e.get(key) else {**e, key: filled} for e in entries]


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
