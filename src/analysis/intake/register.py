"""Member register and attendance list → canonical tables, one year at a time (pure functions).

Some committees export the member register instead of filling forms: one row per member and
year (``member_id, year, unit_id, is_exempt, rating_label``; a null label = not assessed), and
an attendance list, one row per member and campaign attended (``member_id, campaign_id``,
optionally ``year``). This module turns one year of both into the same canonical tables the
workbooks feed:

* ``membership``: ``members_total`` = kept register rows of the unit, ``members_exempt`` = those
  flagged exempt;
* ``member_ratings``: per unit and level of the year's scheme, the members whose label names that
  level (labels matched once per distinct spelling by :func:`analysis.ratings.map_labels`);
  ``members_not_assessed`` = non-exempt members with no label (or a "not assessed" label). Exempt
  members are not assessed: they count in neither (a label on an exempt member is ignored and
  reported as the finding ``exempt_member_rated``). A member whose label is not valid for the
  year counts in neither either: only the rating is in doubt (see below);
* ``study_participation``: per unit of the register × campaign of the year, ``members_attended``
  = distinct attending members, ``members_exempt_attended`` = those of them flagged exempt (they
  join the campaign's denominator), ``is_held`` = anyone attended.

Nothing is lost: every input row is kept, excluded (a repeated attendance of the same member in
the same campaign) or quarantined. A register row is quarantined whole only when the member or
its unit is unknown: no member id, a repeated member id (the first row counts), or a unit id that
is blank, unknown or not active in the year. A bad value sets aside that value, not the row's
other facts: the row is kept (the member counts in ``membership``, in every campaign's
denominator, and its attendance counts) and only the value is quarantined —

* a rating label not valid for the year (of another scheme or subject, unknown, ambiguous): the
  member is in no column of ``member_ratings``, so the unit's Σ levels + not assessed falls short
  of members − exempt by the ratings set aside (:func:`ratings_set_aside` reads them per unit and
  year back from the quarantine); entry table ``member_ratings``, reason code that of
  :func:`analysis.ratings.match_label` (``other-scheme-label``, ``unknown-label`` …);
* an exempt flag that reads as neither yes nor no: read as "not exempt", as a blank cell is (the
  member's existence and unit are sure; a rating on the row is evidence the member was assessed,
  hence not exempt); entry table ``membership``, reason code ``bad_flag``.

Quarantine entries are **aggregated**: one entry per file, reason and offending value (unit id,
label, campaign id; a value set aside: per unit as well, naming the unit, year and members),
whose ``raw_values`` JSON holds ``rows`` (how many raw rows it stands for), the first row numbers
and member ids. The counts per file say ``rows_read = rows_kept + rows_excluded +
rows_quarantined``; values set aside in kept rows are counted apart (``values_quarantined``).

Everything is vectorised (NumPy ``bincount`` on integer codes, a campaign × member bitmap for
distinct attendance): no Python loop runs per row. Member ids are looked up without hashing
strings when they are numbered the usual way (``M00012345``: one prefix, one width): the digits
are read as integers straight from the Arrow buffers (:class:`_NumberedIndex`); other ids are
hashed by Arrow. A national attendance list (~40 million rows) is looked up and marked in batches
on two threads. Reading files is the caller's job (see :mod:`analysis.intake.pipeline`); these
functions take Arrow tables (an attendance list may be given as a callable, taken once the
register is aggregated, so that the caller can read it meanwhile).

Example:
    >>> import pyarrow as pa, pandas as pd
    >>> units = pd.DataFrame({"unit_id": ["p", "a"], "unit_name": ["P", "A"], "parent_id": [None, "p"],
    ...                       "unit_level": ["co_so", "chi_bo"], "unit_kind": ["khac", "khac"],
    ...                       "valid_from_year": [2010, 2010], "valid_to_year": [None, None]})
    >>> camps = pd.DataFrame({"campaign_id": ["c1"], "year": [2014], "title": ["NQ"]})
    >>> reg = pa.table({"member_id": ["m1", "m2"], "unit_id": ["a", "a"], "is_exempt": [False, True],
    ...                 "rating_label": ["Đủ tư cách, HTTNV", None]})
    >>> att = pa.table({"member_id": ["m1", "m1"], "campaign_id": ["c1", "c1"]})
    >>> out = aggregate_year(2014, [Source("r.parquet", reg)], [Source("a.parquet", att)], units, camps)
    >>> out.membership[["unit_id", "members_total", "members_exempt"]].values.tolist()
    [['a', 2, 1]]
    >>> out.study_participation[["members_attended", "is_held"]].values.tolist()
    [[1, True]]
    >>> out.counts["a.parquet"]["rows_excluded"]  # m1 twice in c1: counted once
    1
"""

from __future__ import annotations

import csv
import json
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache, partial
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis import hierarchy, ratings
from analysis.text import fold

#: Canonical columns of a member register file.
REGISTER_COLUMNS = ("member_id", "year", "unit_id", "is_exempt", "rating_label")
#: Canonical columns of an attendance file.
ATTENDANCE_COLUMNS = ("member_id", "campaign_id", "year")
#: How many row numbers / member ids an aggregated quarantine entry lists.
SAMPLE_SIZE = 20


# ---------------------------------------------------------------------------------------------
# Which file is which: decided by its columns (names as data in reference/register_columns.csv)
# ---------------------------------------------------------------------------------------------

@cache
def _column_synonyms() -> dict[str, str]:
    raw = resources.files("analysis.reference").joinpath("register_columns.csv").read_text(encoding="utf-8")
    lines = [ln for ln in raw.splitlines() if ln.strip() and not ln.startswith("#")]
    return {fold(r["synonym"]): r["field"] for r in csv.DictReader(lines)}


def map_columns(names: Sequence[str]) -> dict[str, str]:
    """Canonical field -> the file's column name, for the columns a register/attendance file has.

    Example:
        >>> map_columns(["Mã đảng viên", "unit_id", "Năm", "Xếp loại"])
        {'member_id': 'Mã đảng viên', 'unit_id': 'unit_id', 'year': 'Năm', 'rating_label': 'Xếp loại'}
    """
    syn = _column_synonyms()
    out: dict[str, str] = {}
    for name in names:
        fld = syn.get(fold(str(name)))
        if fld is not None and fld not in out:
            out[fld] = str(name)
    return out


def classify_columns(names: Sequence[str]) -> tuple[str | None, str]:
    """``member_register``, ``attendance`` or None (with a Vietnamese reason) from column names.

    The rule (file names are not trusted): a member id and a unit id plus an exempt flag or a
    rating label make a register; a member id and a campaign id, with neither flag nor label, make
    an attendance list. Anything else is not one of these files.

    Example:
        >>> classify_columns(["member_id", "year", "unit_id", "is_exempt", "rating_label"])[0]
        'member_register'
        >>> classify_columns(["member_id", "campaign_id"])[0]
        'attendance'
        >>> classify_columns(["STT", "Tên chi bộ"])[0] is None
        True
    """
    found = map_columns(names)
    has = set(found)
    if {"member_id", "unit_id"} <= has and has & {"is_exempt", "rating_label"}:
        if "campaign_id" in has:
            return None, "có cả cột đợt học tập lẫn cột xếp loại/miễn sinh hoạt: không rõ là danh sách nào"
        return "member_register", "có mã đảng viên, mã đơn vị và xếp loại/miễn sinh hoạt"
    if {"member_id", "campaign_id"} <= has and not has & {"is_exempt", "rating_label"}:
        return "attendance", "có mã đảng viên và mã đợt học tập"
    return None, "không phải danh sách đảng viên (cần member_id, unit_id, is_exempt/rating_label) " \
                 "hay danh sách tham gia học tập (cần member_id, campaign_id)"


# ---------------------------------------------------------------------------------------------
# Inputs and outputs
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """The rows of one raw file for one year, with canonical column names.

    Attributes:
        file: Path relative to the raw folder (as recorded in the manifest).
        table: The rows (register: ``member_id, unit_id, is_exempt, rating_label``; attendance:
            ``member_id, campaign_id``); other columns are ignored.
        row_numbers: 1-based row number in the file of each row, when the rows are not the
            file's consecutive rows (e.g. a multi-year file filtered to one year).
        first_row: Row number of the first row when ``row_numbers`` is None (2 for a CSV with
            a header line, 1 for Parquet).
    """

    file: str
    table: pa.Table
    row_numbers: np.ndarray | None = None
    first_row: int = 1

    def row_number(self, local: np.ndarray) -> np.ndarray:
        """Row numbers in the file of local positions."""
        if self.row_numbers is not None:
            return np.asarray(self.row_numbers)[local]
        return local + self.first_row


@dataclass
class YearResult:
    """The canonical frames and accounting of one year.

    Attributes:
        membership, member_ratings, study_participation: Canonical frames (not yet conformed).
        quarantine: Aggregated quarantine entries (canonical quarantine columns): whole rows
            (table ``member_register``, ``study_participation``) and values set aside in kept
            register rows (table ``member_ratings``: a rating label; ``membership``: an exempt flag).
        findings: Manifest findings (``exempt_member_rated``).
        counts: Per source file: rows_read, rows_kept, rows_excluded, rows_quarantined, excluded,
            and values_quarantined (values set aside in kept rows; not part of the row identity
            ``rows_read = rows_kept + rows_excluded + rows_quarantined``).
        units: Unit ids that got figures (for de-duplication against workbooks).
    """

    membership: pd.DataFrame
    member_ratings: pd.DataFrame
    study_participation: pd.DataFrame
    quarantine: pd.DataFrame
    findings: list[dict] = field(default_factory=list)
    counts: dict[str, dict] = field(default_factory=dict)
    units: frozenset[str] = frozenset()

    @property
    def values_quarantined(self) -> int:
        """Values set aside in kept rows, over all files (ingest must not exit 0 when any was)."""
        return sum(int(c.get("values_quarantined", 0)) for c in self.counts.values())


#: Vietnamese reason of each quarantine code raised here ({value} and {year} are filled in).
REASONS = {
    "member_id_missing": "Thiếu mã đảng viên",
    "duplicate_member": "Mã đảng viên lặp lại trong danh sách đảng viên năm {year} (đã giữ dòng đầu)",
    "unit_missing": "Thiếu mã đơn vị",
    "unit_unknown": "Không có đơn vị mã '{value}' trong units.csv",
    "unit_inactive": "Đơn vị mã '{value}' không hoạt động năm {year}",
    "member_unknown": "Mã đảng viên không có trong danh sách đảng viên năm {year} (đợt {value})",
    "member_quarantined": "Dòng của đảng viên này trong danh sách đảng viên năm {year} bị cách ly (đợt {value})",
    "campaign_missing": "Thiếu mã đợt học tập",
    "campaign_unknown": "Không có đợt học tập mã '{value}' trong campaigns.csv",
    "campaign_other_year": "Đợt học tập '{value}' không thuộc năm {year} (tệp nằm trong thư mục năm {year})",
    "register_missing": "Không có danh sách đảng viên năm {year} để biết đảng viên thuộc chi bộ nào (đợt {value})",
    "year_missing": "Không xác định được năm của dòng (cột năm trống, tệp không nằm trong thư mục năm)",
    "bad_flag": "Cột miễn sinh hoạt: '{value}' không rõ có/không",
}


def quarantine_entries(source: Source, local: np.ndarray, codes: np.ndarray, values: np.ndarray,
                       reason: Callable[[str, str | None], str], table: str,
                       value_field: str) -> list[dict]:
    """Aggregated quarantine entries: one per (reason code, value) of the given rows.

    Args:
        source: The file.
        local: Positions (in ``source.table``) of the quarantined rows, ascending.
        codes: Reason code of each row (array of str).
        values: Offending value of each row (array of str or None).
        reason: Vietnamese reason of a (code, value) group.
        table: Canonical table the rows were meant for.
        value_field: Name of the offending value in ``raw_values``.

    Example:
        >>> src = Source("a.csv", pa.table({"member_id": ["m1", "m2", "m3"]}), first_row=2)
        >>> e = quarantine_entries(src, np.array([0, 2]), np.array(["unit_unknown"] * 2),
        ...                        np.array(["x9", "x9"], dtype=object), lambda c, v: f"{c} {v}",
        ...                        "member_register", "unit_id")
        >>> e[0]["row_number"], e[0]["reason"], json.loads(e[0]["raw_values"])["member_ids"]
        (2, 'unit_unknown x9 — 2 dòng', ['m1', 'm3'])
    """
    if len(local) == 0:
        return []
    frame = pd.DataFrame({"pos": np.asarray(local), "code": np.asarray(codes, dtype=object),
                          "value": pd.Series(np.asarray(values, dtype=object)).fillna("").astype(str)})
    member_ids = source.table.column("member_id") if "member_id" in source.table.column_names else None
    out = []
    for (code, value), grp in frame.groupby(["code", "value"], sort=True):
        pos = grp["pos"].to_numpy()
        rows = source.row_number(pos)
        raw: dict[str, object] = {"rows": int(len(pos)), value_field: value or None,
                                  "row_numbers": [int(r) for r in rows[:SAMPLE_SIZE]]}
        if member_ids is not None:
            sample = [member_ids[int(p)].as_py() for p in pos[:SAMPLE_SIZE]]
            raw["member_ids"] = [None if v is None else str(v) for v in sample]
        text = reason(str(code), value or None) + (f" — {len(pos)} dòng" if len(pos) > 1 else "")
        out.append({"source_file": source.file, "sheet": "", "row_number": int(rows[0]), "table": table,
                    "reason_code": str(code), "reason": text,
                    "raw_values": json.dumps(raw, ensure_ascii=False, sort_keys=True)})
    return out


#: Members named in the reason of a set-aside entry (the rest are in its ``raw_values``).
NAMED_MEMBERS = 5


def set_aside_entries(source: Source, local: np.ndarray, codes: np.ndarray, values: np.ndarray,
                      units: np.ndarray, exempt: np.ndarray, year: int,
                      reason: Callable[[str, str | None, str, list[str], int, bool], str],
                      table: str, value_field: str) -> list[dict]:
    """Quarantine entries of values set aside in register rows that are kept: one per reason
    code, value, unit and exempt flag (as counted).

    The member still counts (membership, campaign denominators, attendance); only the value is
    left out. Each entry names its unit and year; its ``raw_values`` JSON holds ``set_aside`` (the
    field set aside), the value, ``unit_id``, ``year``, ``counted_as_exempt`` (whether its members
    count as exempt), ``rows``, the first row numbers and member ids, and the raw cells of the
    first rows (``raw_rows``).

    Args:
        source: The file.
        local: Positions (in ``source.table``) of the rows, ascending.
        codes: Reason code of each row.
        values: The value set aside in each row (as read).
        units: The (active) unit id of each row.
        exempt: Whether each row's member counts as exempt.
        year: The year of the rows.
        reason: Vietnamese reason of a group: (code, value, unit id, member ids of its first rows,
            number of rows, exempt).
        table: Canonical table the value was meant for.
        value_field: Name of the field set aside.

    Example:
        >>> src = Source("r.csv", pa.table({"member_id": ["m1", "m2"], "rating_label": ["TSVM", "x"]}), first_row=2)
        >>> e = set_aside_entries(src, np.array([0]), np.array(["unknown-label"]), np.array(["TSVM"], dtype=object),
        ...                       np.array(["a"], dtype=object), np.array([False]), 2016,
        ...                       lambda c, v, u, m, k, x: f"{v} {u} {m[0]}", "member_ratings", "rating_label")
        >>> e[0]["row_number"], e[0]["table"], e[0]["reason"], e[0]["unit_id"], e[0]["year"]
        (2, 'member_ratings', 'TSVM a m1', 'a', 2016)
        >>> json.loads(e[0]["raw_values"])["raw_rows"]
        [{'member_id': 'm1', 'rating_label': 'TSVM'}]
    """
    if len(local) == 0:
        return []
    frame = pd.DataFrame({"pos": np.asarray(local), "code": np.asarray(codes, dtype=object),
                          "value": pd.Series(np.asarray(values, dtype=object)).fillna("").astype(str),
                          "unit": pd.Series(np.asarray(units, dtype=object)).fillna("").astype(str),
                          "exempt": np.asarray(exempt, dtype=bool)})
    columns = [c for c in REGISTER_COLUMNS if c in source.table.column_names]
    out = []
    for (code, value, unit, ex), grp in frame.groupby(["code", "value", "unit", "exempt"], sort=True):
        pos = grp["pos"].to_numpy()
        rows = source.row_number(pos)
        # row by row: a take on the whole (chunked) table would copy it
        sample = [{c: source.table.column(c)[int(p)].as_py() for c in columns} for p in pos[:SAMPLE_SIZE]]
        member_ids = [None if r.get("member_id") is None else str(r["member_id"]) for r in sample]
        raw: dict[str, object] = {"set_aside": value_field, value_field: value or None, "unit_id": unit or None,
                                  "year": int(year), "counted_as_exempt": bool(ex), "rows": int(len(pos)),
                                  "row_numbers": [int(r) for r in rows[:SAMPLE_SIZE]], "member_ids": member_ids,
                                  "raw_rows": sample}
        text = reason(str(code), value or None, unit, [m or "?" for m in member_ids], len(pos), bool(ex)) + \
            (f" — {len(pos)} dòng" if len(pos) > 1 else "")
        out.append({"source_file": source.file, "sheet": "", "row_number": int(rows[0]), "table": table,
                    "reason_code": str(code), "reason": text,
                    "raw_values": json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str),
                    "unit_id": unit or None, "year": int(year)})
    return out


def ratings_set_aside(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Members of each unit and year whose rating label intake set aside (see
    :func:`aggregate_year`), not counting exempt members (who are not assessed anyway).

    They are in ``membership`` but in no column of ``member_ratings``, so per unit and year
    ``Σ members_count + members_not_assessed + members = members_total − members_exempt``.

    Args:
        quarantine: Quarantine entries (canonical columns; other entries are ignored).

    Returns:
        Columns ``unit_id`` (string), ``year`` (Int64), ``members`` (int64); one row per unit-year.

    Example:
        >>> raw = json.dumps({"set_aside": "rating_label", "counted_as_exempt": False, "rows": 2})
        >>> q = pd.DataFrame({"table": ["member_ratings"], "unit_id": ["a"], "year": [2016], "raw_values": [raw]})
        >>> ratings_set_aside(q).values.tolist()
        [['a', 2016, 2]]
    """
    cols = {"unit_id": pd.Series(dtype="string"), "year": pd.Series(dtype="Int64"),
            "members": pd.Series(dtype="int64")}
    if quarantine is None or not len(quarantine) or not {"table", "unit_id", "year", "raw_values"} <= set(
            quarantine.columns):
        return pd.DataFrame(cols)
    q = quarantine[(quarantine["table"] == "member_ratings") & quarantine["unit_id"].notna()
                   & quarantine["year"].notna()]
    rows = []
    for unit, year, raw in zip(q["unit_id"], q["year"], q["raw_values"], strict=True):
        try:
            value = json.loads(raw)
        except (TypeError, ValueError):
            continue
        if isinstance(value, dict) and value.get("set_aside") == "rating_label" \
                and not value.get("counted_as_exempt"):
            rows.append((str(unit), int(year), int(value.get("rows", 0))))
    if not rows:
        return pd.DataFrame(cols)
    out = pd.DataFrame(rows, columns=["unit_id", "year", "members"]).groupby(
        ["unit_id", "year"], as_index=False, sort=True)["members"].sum()
    return out.astype({"unit_id": "string", "year": "Int64", "members": "int64"})


def _members_named(member_ids: list[str], rows: int) -> str:
    """"đảng viên M1" or "3 đảng viên (M1, M2, M3)", at most :data:`NAMED_MEMBERS` ids named."""
    if rows == 1:
        return f"đảng viên {member_ids[0]}"
    named = ", ".join(member_ids[:NAMED_MEMBERS]) + (" …" if rows > NAMED_MEMBERS else "")
    return f"{rows} đảng viên ({named})"


def _rating_reason(code: str, value: str | None, unit: str, member_ids: list[str], rows: int, exempt: bool, *,
                   year: int, why: dict[str, str]) -> str:
    """Vietnamese reason of a rating label set aside (``why``: the label's mismatch, by label)."""
    who = _members_named(member_ids, rows)
    kept = ("Vẫn tính đảng viên vào tổng số đảng viên và số phải học tập; chỉ bỏ riêng xếp loại này "
            "(không tính vào mức nào)") if not exempt else \
        "Đảng viên miễn sinh hoạt (không đánh giá): vẫn tính vào tổng số và số miễn; bỏ riêng nhãn này"
    return (f"Xếp loại năm {year} của {who}, đơn vị '{unit}': nhãn '{value}' không dùng được "
            f"({why.get(value or '', code)}). {kept}")


def _flag_reason(code: str, value: str | None, unit: str, member_ids: list[str], rows: int, exempt: bool, *,
                 year: int) -> str:
    """Vietnamese reason of an exempt flag set aside."""
    who = _members_named(member_ids, rows)
    return (f"Cột miễn sinh hoạt năm {year} của {who}, đơn vị '{unit}': '{value}' không rõ có/không. "
            "Vẫn tính đảng viên (và xếp loại, nếu có) như không miễn sinh hoạt, như khi ô để trống")


# ---------------------------------------------------------------------------------------------
# Helpers on Arrow columns
# ---------------------------------------------------------------------------------------------

def _concat(sources: Sequence[Source], column: str, dtype: pa.DataType) -> pa.ChunkedArray:
    chunks: list[pa.Array] = []
    for s in sources:
        if column in s.table.column_names:
            col = s.table.column(column)
            if col.type != dtype:
                col = col.cast(dtype)
            chunks.extend(col.chunks)
        else:
            chunks.append(pa.nulls(s.table.num_rows, dtype))
    return pa.chunked_array(chunks, type=dtype)


def _text_type(sources: Sequence[Source], column: str) -> pa.DataType:
    """The common type of a text column: dictionary-encoded when every file stores it so (no
    string is decoded), plain string otherwise."""
    types = {s.table.column(column).type for s in sources if column in s.table.column_names}
    if len(types) == 1:
        only = next(iter(types))
        if pa.types.is_dictionary(only) and pa.types.is_string(only.value_type):
            return only
    return pa.string()


def _strictly_increasing(col: pa.ChunkedArray) -> bool:
    """Ids sorted without repeats (registers are usually exported sorted): no duplicate, no hashing."""
    if col.null_count or len(col) < 2:
        return col.null_count == 0
    flat = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return bool(pc.all(pc.greater(flat.slice(1), flat.slice(0, len(flat) - 1))).as_py())


def _clean_texts(values: list) -> list:
    """NFC, trimmed text of distinct values (vectorised with Arrow)."""
    if not values:
        return []
    arr = pc.utf8_trim_whitespace(pc.utf8_normalize(pa.array([str(v) for v in values], pa.string()), "NFC"))
    return arr.to_pylist()


def _already_clean(values: pa.Array) -> bool:
    """Whether distinct text values are all NFC and trimmed already (:func:`_clean_texts` would
    change none)."""
    if not len(values):
        return True
    if not pa.types.is_string(values.type) or values.null_count:
        return False
    return bool(pc.all(pc.equal(pc.utf8_trim_whitespace(pc.utf8_normalize(values, "NFC")), values)).as_py())


def _flag_type(sources: Sequence[Source]) -> pa.DataType:
    """Boolean when every file stores the exempt flag as booleans, else text (read per value)."""
    types = {s.table.column("is_exempt").type for s in sources if "is_exempt" in s.table.column_names}
    return pa.bool_() if types <= {pa.bool_()} else pa.string()


def encode_column(col: pa.ChunkedArray) -> tuple[np.ndarray, list]:
    """Integer codes (-1 for null; int32) and the distinct values of a column."""
    codes, dictionary = _encode(col)
    return codes, dictionary.to_pylist()


def _encode(col: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """:func:`encode_column` with the distinct values as an Arrow array."""
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    if isinstance(col, pa.ChunkedArray):
        if col.num_chunks == 0:
            return np.empty(0, dtype=np.int32), pa.array([], col.type.value_type)
        col = col.unify_dictionaries()
        dictionary = col.chunk(0).dictionary
        indices = pa.chunked_array([c.indices for c in col.chunks]).combine_chunks()
    else:
        dictionary, indices = col.dictionary, col.indices
    if indices.null_count:
        indices = pc.fill_null(indices, -1)
    return indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False), dictionary


#: Rows above which a hash lookup is split over threads (Arrow releases the GIL).
PARALLEL_LOOKUP_ROWS = 4_000_000
#: Threads for the attendance pass (numbered ids: parse, look up and mark per chunk; NumPy and
#: Arrow release the GIL). Capped by the machine's cores.
THREADS = 2


def _threads() -> int:
    return max(1, min(THREADS, os.cpu_count() or 1))


def lookup(values: pa.ChunkedArray, value_set: pa.Array) -> np.ndarray:
    """Position in ``value_set`` of each value (its first occurrence), -1 when absent or null.

    Fixed-width numbered ids (``M00012345``) are compared as integers (see :class:`_NumberedIndex`);
    other ids are hashed, large inputs split over up to two threads, each probing its own hash
    table of ``value_set`` (a national attendance list has ~40 million rows).

    Example:
        >>> lookup(pa.chunked_array([["b", "z", None]]), pa.array(["a", "b"])).tolist()
        [1, -1, -1]
    """
    fast = _lookup_numbered(values, value_set)
    if fast is not None:
        return fast
    return _lookup_hashed(values, value_set)


def _lookup_hashed(values: pa.ChunkedArray, value_set: pa.Array) -> np.ndarray:
    opts = pc.SetLookupOptions(value_set=value_set, skip_nulls=True)
    n = len(values)
    k = 2 if n >= PARALLEL_LOOKUP_ROWS and _threads() >= 2 else 1
    parts = [values.slice(i * n // k, (i + 1) * n // k - i * n // k) for i in range(k)]
    if k == 1:
        found = [pc.index_in(parts[0], options=opts)]
    else:
        with ThreadPoolExecutor(k) as pool:
            found = list(pool.map(lambda part: pc.index_in(part, options=opts), parts))
    out = [pc.fill_null(f, -1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False) for f in found]
    return np.concatenate(out) if len(out) > 1 else out[0]


# --- numbered ids ("letters + digits", one width) as integers, parsed from the Arrow buffers ---
#
# An id such as ``M00012345`` is read as the integer 12345 straight from the bytes of the Arrow
# string array: the last 8 bytes of each row are loaded as one little-endian uint64 (rows of one
# width sit at a fixed stride) and turned into a number with a few integer operations (SWAR),
# which also tell whether all 8 bytes are ASCII digits. Work runs in blocks of :data:`_BLOCK` rows
# in reused buffers (``out=``): fresh NumPy temporaries of that size would each cost page faults,
# which dominated the arithmetic.

_HI = np.uint64(0xF0F0F0F0F0F0F0F0)
_ZEROS = np.uint64(0x3030303030303030)
_SIXES = np.uint64(0x0606060606060606)
_MASK = np.uint64(0x000000FF000000FF)
_MUL1 = np.uint64(100 + (1000000 << 32))
_MUL2 = np.uint64(1 + (10000 << 32))
_BLOCK = 1 << 16


class _Scratch:
    """Work arrays of one thread for blocks of up to ``rows`` rows."""

    def __init__(self, rows: int = _BLOCK) -> None:
        self.w1, self.w2, self.w3 = (np.empty(rows, np.uint64) for _ in range(3))
        self.lens = np.empty(rows, np.int64)
        self.pos = np.empty(rows, np.int32)
        self.slot = np.empty(rows, np.int16)
        self.code = np.empty(rows, np.int32)
        self.b1, self.b2, self.b3 = (np.empty(rows, bool) for _ in range(3))


def _eight_digits(words: np.ndarray, tmp: np.ndarray, ok: np.ndarray, flag: np.ndarray) -> None:
    """In place: little-endian uint64 words of 8 ASCII digits (first digit in the lowest byte) →
    their value; ``ok`` is cleared where a byte is no digit. ``tmp`` and ``flag`` are scratch."""
    np.bitwise_and(words, _HI, out=tmp)
    np.equal(tmp, _ZEROS, out=flag)  # high nibbles are 3 …
    np.logical_and(ok, flag, out=ok)
    np.add(words, _SIXES, out=tmp)
    np.bitwise_and(tmp, _HI, out=tmp)
    np.equal(tmp, _ZEROS, out=flag)  # … and low nibbles at most 9
    np.logical_and(ok, flag, out=ok)
    np.subtract(words, _ZEROS, out=words)
    np.right_shift(words, np.uint64(8), out=tmp)
    np.multiply(words, np.uint64(10), out=words)
    np.add(words, tmp, out=words)  # pairs of digits
    np.right_shift(words, np.uint64(16), out=tmp)
    np.bitwise_and(tmp, _MASK, out=tmp)
    np.multiply(tmp, _MUL2, out=tmp)
    np.bitwise_and(words, _MASK, out=words)
    np.multiply(words, _MUL1, out=words)
    np.add(words, tmp, out=words)
    np.right_shift(words, np.uint64(32), out=words)  # < 10**8


def _as_text(arr: pa.Array) -> pa.Array:
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr
    return arr.cast(pa.string())


class _IdShape:
    """Fixed-width ids ``prefix + digits`` (``width`` characters) and their integer keys."""

    def __init__(self, prefix: str, width: int) -> None:
        self.prefix, self.width = prefix, width
        self.raw = prefix.encode("utf-8")
        self.digits = width - len(prefix)
        self.nbytes = len(self.raw) + self.digits
        # one or two strided uint64 loads per row (else: bytes gathered row by row)
        self.strided = self.nbytes >= 8 and 1 <= self.digits <= 16

    def keys(self, arr: pa.Array, keys: np.ndarray | None = None,
             ok: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Integer key of each id of one Arrow array, and whether the id has this shape (written
        into ``keys`` and ``ok`` when given)."""
        n = len(arr)
        keys = np.empty(n, np.int64) if keys is None else keys
        ok = np.empty(n, bool) if ok is None else ok
        parts = _string_parts(_as_text(arr))
        scratch = _Scratch(min(n, _BLOCK))
        for lo in range(0, n, _BLOCK):
            hi = min(n, lo + _BLOCK)
            k, o = self.block(parts, lo, hi, scratch)
            keys[lo:hi] = k
            ok[lo:hi] = o
        return keys, ok

    def block(self, parts: tuple, lo: int, hi: int, s: _Scratch) -> tuple[np.ndarray, np.ndarray]:
        """Keys (a view of ``s.w1`` as int64) and shape flags (a view of ``s.b1``) of rows
        ``lo:hi`` of an array given by :func:`_string_parts`."""
        offsets, data, valid = parts
        n = hi - lo
        ok, flag = s.b1[:n], s.b2[:n]
        off = offsets[lo:hi + 1]
        lens = s.lens[:n]
        np.subtract(off[1:], off[:-1], out=lens)
        np.equal(lens, self.nbytes, out=ok)
        if valid is not None:
            np.logical_and(ok, valid[lo:hi], out=ok)
        if not (self.strided and ok.all()):
            keys, good = _digit_keys_gather(offsets[lo:hi + 1], data, ok, self.raw, self.nbytes)
            s.w1[:n] = keys
            ok[:] = good
            return s.w1[:n].view(np.int64), ok
        start = int(off[0])

        def column(at: int, dtype: str) -> np.ndarray:  # one value per row at byte ``at`` of the row
            return np.ndarray((n,), dtype=dtype, buffer=data, offset=start + at, strides=(self.nbytes,))

        for j, byte in enumerate(self.raw):
            np.equal(column(j, "u1"), byte, out=flag)
            np.logical_and(ok, flag, out=ok)
        words, tmp = s.w1[:n], s.w2[:n]
        np.copyto(words, column(self.nbytes - 8, "<u8"))  # the last 8 bytes of each row
        if self.digits < 8:  # its first bytes are the prefix: read them as "0"
            low = np.uint64((1 << (8 * (8 - self.digits))) - 1)
            np.bitwise_and(words, ~low, out=words)
            np.bitwise_or(words, _ZEROS & low, out=words)
        _eight_digits(words, tmp, ok, flag)
        if self.digits > 8:  # the leading digits: 8 bytes after the prefix, shifted, "0"-padded
            lead = s.w3[:n]
            shift = 16 - self.digits
            np.copyto(lead, column(len(self.raw), "<u8"))
            if shift:
                np.left_shift(lead, np.uint64(8 * shift), out=lead)
                np.bitwise_or(lead, _ZEROS & np.uint64((1 << (8 * shift)) - 1), out=lead)
            _eight_digits(lead, tmp, ok, flag)
            np.multiply(lead, np.uint64(100_000_000), out=lead)
            np.add(words, lead, out=words)
        return words.view(np.int64), ok


def _string_parts(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(offsets, bytes, validity or None) of an Arrow string array, as NumPy views (no copy)."""
    n = len(arr)
    validity, off_buf, data_buf = arr.buffers()[:3]
    off_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    if off_buf is None:
        offsets = np.zeros(n + 1, off_type)
    else:
        offsets = np.frombuffer(off_buf, dtype=off_type, count=n + 1,
                                offset=arr.offset * np.dtype(off_type).itemsize)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    valid = None
    if arr.null_count:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        valid = bits[arr.offset:arr.offset + n].astype(bool)
    return offsets, data, valid


def _digit_keys_gather(offsets: np.ndarray, data: np.ndarray, shaped: np.ndarray, prefix: bytes,
                       width: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys of the rows flagged ``shaped`` (their byte length is ``width``), bytes gathered row by
    row: the general path (short ids, more than 16 digits, rows of other widths)."""
    n = len(shaped)
    keys, ok = np.zeros(n, np.int64), np.zeros(n, bool)
    rows = np.flatnonzero(shaped)
    if not len(rows):
        return keys, ok
    mat = data[offsets[:-1][rows].astype(np.int64)[:, None] + np.arange(width)]
    good = np.ones(len(rows), dtype=bool)
    for j, byte in enumerate(prefix):
        good &= mat[:, j] == byte
    digits = width - len(prefix)
    n_words = (digits + 7) // 8
    packed = np.full((len(rows), 8 * n_words), 0x30, dtype=np.uint8)  # left-padded with "0"
    packed[:, 8 * n_words - digits:] = mat[:, len(prefix):]
    words = packed.view("<u8")
    value = np.zeros(len(rows), dtype=np.uint64)
    tmp, flag = np.empty(len(rows), np.uint64), np.empty(len(rows), bool)
    for w in range(n_words):
        part = np.ascontiguousarray(words[:, w])
        _eight_digits(part, tmp, good, flag)
        value = value * np.uint64(100_000_000) + part
    keys[rows] = value.view(np.int64)
    ok[rows] = good
    return keys, ok


def _digit_keys(arr: pa.Array, prefix: bytes, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer key of each id ``prefix + digits`` of ``width`` bytes, and whether it has that shape."""
    text = prefix.decode("utf-8")
    return _IdShape(text, len(text) + width - len(prefix)).keys(arr)


def _numbered_keys(ids: pa.ChunkedArray | pa.Array, prefix: str, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer key of each id of the given shape (``width`` characters), and whether it has it."""
    shape = _IdShape(prefix, width)
    keys, ok = np.empty(len(ids), np.int64), np.empty(len(ids), bool)
    at = 0
    for chunk in ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]:
        shape.keys(chunk, keys[at:at + len(chunk)], ok[at:at + len(chunk)])
        at += len(chunk)
    return keys, ok


def _numbered_shape(ids: pa.Array) -> tuple[str, int] | None:
    """(prefix, width) when every id is one fixed-width "letters + digits" code, e.g. ``M00012345``."""
    shaped = _numbered_shape_keys(ids)
    return None if shaped is None else shaped[:2]


def _numbered_shape_keys(ids: pa.Array | pa.ChunkedArray) -> tuple[str, int, np.ndarray] | None:
    """:func:`_numbered_shape` and the keys of the ids (none when they have no such shape)."""
    if len(ids) == 0 or ids.null_count:
        return None
    first = ids[0].as_py()
    if not isinstance(first, str):
        return None
    width = len(first)
    prefix = first.rstrip("0123456789")
    if not 0 < width - len(prefix) <= 18:
        return None
    keys, ok = _numbered_keys(ids, prefix, width)
    if not ok.all():
        return None
    return prefix, width, keys


class _NumberedIndex:
    """Positions of numbered ids in a value set, by integer key: a direct table when the keys are
    dense, a sorted search otherwise. The first occurrence of a repeated id wins (as hashing)."""

    def __init__(self, prefix: str, width: int, keys: np.ndarray) -> None:
        self.shape = _IdShape(prefix, width)
        self.keys = keys
        self.lo, self.hi = int(keys.min()), int(keys.max())
        self.dense = self.hi - self.lo <= 8 * len(keys) + 1024
        if self.dense:
            # one extra slot (-1) that every out-of-range or malformed id points at
            table = np.full(self.hi - self.lo + 2, -1, dtype=np.int32)
            table[(keys - self.lo)[::-1]] = np.arange(len(keys) - 1, -1, -1, dtype=np.int32)  # first wins
            self.table = table
            self.repeats = len(keys) - int(np.count_nonzero(table >= 0))
        else:
            self.order = np.argsort(keys, kind="stable").astype(np.int32)
            self.ordered = keys[self.order]
            self.repeats = int(np.count_nonzero(self.ordered[1:] == self.ordered[:-1]))

    def first_positions(self) -> np.ndarray:
        """Position of the first occurrence of each id of the value set (itself unless repeated)."""
        if self.dense:
            return self.table[self.keys - self.lo].astype(np.int64)
        return self.order[np.searchsorted(self.ordered, self.keys)].astype(np.int64)

    @classmethod
    def of(cls, value_set: pa.Array | pa.ChunkedArray) -> _NumberedIndex | None:
        shaped = _numbered_shape_keys(value_set)
        return None if shaped is None else cls(*shaped)

    def block(self, parts: tuple, lo: int, hi: int, s: _Scratch) -> np.ndarray:
        """Positions (a view of ``s.pos``) of rows ``lo:hi`` of an array given by
        :func:`_string_parts`: -1 when absent, null or not of the shape."""
        keys, ok = self.shape.block(parts, lo, hi, s)
        n = hi - lo
        pos = s.pos[:n]
        if self.dense:
            at, inside = s.lens[:n], s.b2[:n]
            np.subtract(keys, self.lo, out=at)
            np.less_equal(at.view(np.uint64), self.hi - self.lo, out=inside)  # negative: huge
            np.logical_and(ok, inside, out=inside)
            np.logical_not(inside, out=inside)
            np.copyto(at, len(self.table) - 1, where=inside)
            np.take(self.table, at, out=pos)
            return pos
        at = np.minimum(np.searchsorted(self.ordered, keys), len(self.ordered) - 1)
        hit = ok & (self.ordered[at] == keys)
        pos[:] = np.where(hit, self.order[at], -1)
        return pos

    def positions(self, ids: pa.Array) -> np.ndarray:
        """Position (int32) of each id of one Arrow array, -1 when absent, null or not of the shape."""
        n = len(ids)
        out = np.empty(n, np.int32)
        parts = _string_parts(_as_text(ids))
        scratch = _Scratch(min(n, _BLOCK))
        for lo in range(0, n, _BLOCK):
            hi = min(n, lo + _BLOCK)
            out[lo:hi] = self.block(parts, lo, hi, scratch)
        return out


def _lookup_numbered(values: pa.ChunkedArray, value_set: pa.Array) -> np.ndarray | None:
    """:func:`lookup` for fixed-width numbered ids (the usual export): integer keys instead of
    hashing strings; None when the ids of ``value_set`` are not all of one such shape."""
    index = _NumberedIndex.of(value_set)
    if index is None:
        return None
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    if not chunks:
        return np.zeros(0, np.int32)
    return np.concatenate([index.positions(c) for c in chunks])


def _flags(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, list]:
    """Exempt flags per row (null/blank → False) and the rows whose flag cannot be read.

    Boolean columns pass as they are; numbers 0/1 and texts ("x", "Có", "1", "Không" …, as in
    workbook flag columns) are read once per distinct value.

    Returns:
        (flags, bad mask, distinct values with their codes for reporting: list of (code, value)).
    """
    from analysis.intake.rows import read_flag

    if pa.types.is_boolean(col.type):
        return pc.fill_null(col, False).to_numpy(zero_copy_only=False).astype(bool), np.zeros(len(col), bool), []
    codes, values = encode_column(col)
    parsed = [read_flag(v) for v in values]
    flag = np.array([p is True for p in parsed] + [False], dtype=bool)
    bad = np.array([p is None for p in parsed] + [False], dtype=bool)
    return flag[codes], bad[codes], [None if p is not None else v for p, v in zip(parsed, values, strict=True)]


def _unit_states(values: list, active: pd.Series, known: pd.Series) -> np.ndarray:
    """Per distinct unit id: 0 active in the year, 3 known but inactive, 2 unknown, 1 blank
    (a null id in ``units`` reads as ""), plus a trailing 0 when there is none."""
    if not values:
        return np.zeros(1, dtype=np.int8)
    arr = pa.array(values, pa.string())

    def member_of(ids: pd.Series) -> np.ndarray:
        value_set = pc.fill_null(pa.array(ids, pa.string(), from_pandas=True), "")
        return pc.is_in(arr, value_set=value_set).to_numpy(zero_copy_only=False)

    state = np.where(member_of(active), 0, np.where(member_of(known), 3, 2)).astype(np.int8)
    for i in np.flatnonzero(state == 2):  # unknown ids (few): blank ones have their own reason
        if not str(values[i]).strip():
            state[i] = 1
    return state


def _locate(n_per_source: Sequence[int], positions: np.ndarray) -> list[np.ndarray]:
    """Split global positions into local positions per source."""
    bounds = np.cumsum([0, *n_per_source])
    out = []
    for i in range(len(n_per_source)):
        lo, hi = np.searchsorted(positions, [bounds[i], bounds[i + 1]])
        out.append(positions[lo:hi] - bounds[i])
    return out


# ---------------------------------------------------------------------------------------------
# The aggregation
# ---------------------------------------------------------------------------------------------

_UNIT_REASON = {1: "unit_missing", 2: "unit_unknown", 3: "unit_inactive"}


def aggregate_year(year: int, registers: Sequence[Source],
                   attendances: Sequence[Source | LookedUp | Callable[[], Source | LookedUp | None]],
                   units: pd.DataFrame, campaigns: pd.DataFrame,
                   member_index: _NumberedIndex | None = None) -> YearResult:
    """Aggregate one year of member register and attendance rows into canonical frames.

    Args:
        year: The year (register rows and campaigns of this year).
        registers: Register rows of the year, one :class:`Source` per file.
        attendances: Attendance rows filed under this year, one :class:`Source` (or
            :class:`LookedUp`) per file, or a callable returning it (or None: the file is left
            out), called once the register is aggregated (so that the caller can still be reading
            it meanwhile).
        units: Canonical ``units`` table (unit ids active in ``year`` are accepted).
        campaigns: Canonical ``campaigns`` table.
        member_index: :func:`register_index` of the registers, when the caller has it already.

    Returns:
        The frames, aggregated quarantine, findings and per-file row accounting.
    """
    counts: dict[str, dict] = {}
    quarantine: list[dict] = []
    findings: list[dict] = []
    sizes = [s.table.num_rows for s in registers]
    n = int(sum(sizes))
    members = _concat(registers, "member_id", pa.string())
    unit_col = _concat(registers, "unit_id", _text_type(registers, "unit_id"))
    labels = _concat(registers, "rating_label", _text_type(registers, "rating_label"))
    exempt_col = _concat(registers, "is_exempt", _flag_type(registers))
    exempt, bad_flag, _ = _flags(exempt_col) if n else (np.zeros(0, bool), np.zeros(0, bool), [])

    # status per register row: 0 kept, else a reason (first problem wins)
    status = np.zeros(n, dtype=np.int8)
    reason_of: list[str] = [""]

    def flag(mask: np.ndarray, code: str) -> None:
        if code not in reason_of:
            reason_of.append(code)
        status[(status == 0) & mask] = reason_of.index(code)

    # numbered member ids (the usual export): integer keys tell blanks and repeats without hashing,
    # and look up the attendance lists later
    id_index = member_index if member_index is not None and len(member_index.keys) == n else \
        (_NumberedIndex.of(members) if n else None)
    if id_index is not None:  # every id has the shape: none is blank
        flag(np.zeros(n, dtype=bool), "member_id_missing")
        flag(id_index.first_positions() != np.arange(n) if id_index.repeats else np.zeros(n, dtype=bool),
             "duplicate_member")
    elif n:
        blank = pc.or_(pc.equal(pc.utf8_length(members), 0), pc.utf8_is_space(members))
        member_missing = pc.fill_null(blank, True).to_numpy(zero_copy_only=False)
        flag(member_missing, "member_id_missing")
        if not _strictly_increasing(members) and \
                pc.count_distinct(members, mode="only_valid").as_py() < n - members.null_count:  # find them
            first = pc.index_in(members, options=pc.SetLookupOptions(value_set=members.combine_chunks(),
                                                                     skip_nulls=True))
            first_pos = pc.fill_null(first, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        else:
            first_pos = np.arange(n)
        flag((first_pos >= 0) & (first_pos != np.arange(n)), "duplicate_member")
    else:
        first_pos = np.zeros(0, dtype=np.int64)

    # units: each distinct value checked once
    unit_codes, unit_dictionary = _encode(unit_col) if n else (np.zeros(0, np.int32), pa.array([], pa.string()))
    raw_units = unit_dictionary.to_pylist()
    if _already_clean(unit_dictionary):  # NFC, trimmed: " a" and "a" are one unit
        unit_values = raw_units
    else:
        first_of: dict[str, int] = {}
        remap = np.array([first_of.setdefault(v, len(first_of)) for v in _clean_texts(raw_units)] + [-1],
                         dtype=np.int32)
        unit_values = list(first_of)
        unit_codes = remap[unit_codes]
    unit_state = _unit_states(unit_values, hierarchy.units_in_year(units, year)["unit_id"], units["unit_id"])
    if n:
        row_state = np.where(unit_codes >= 0, unit_state[np.maximum(unit_codes, 0)], 1)
        for k, code in _UNIT_REASON.items():
            flag(row_state == k, code)

    # labels: each distinct spelling matched once
    label_codes, label_values = encode_column(labels) if n else (np.zeros(0, np.int64), [])
    scheme_id = ratings.scheme_for_year(year)
    levels = ratings.scheme_levels(scheme_id, "member")
    level_index = {lv.rating_code: i for i, lv in enumerate(levels)}
    not_assessed_slot = len(levels)
    aside_slot = not_assessed_slot + 1  # a label not valid for the year: counted in no column
    matched = ratings.map_labels(pd.DataFrame({"label": label_values, "year": year}), "label", "year",
                                 "member") if label_values else None
    label_slot = np.full(max(len(label_values), 1), not_assessed_slot, dtype=np.int64)
    label_bad: dict[int, tuple[str, str]] = {}
    for i in range(len(label_values)):
        m = matched.iloc[i]
        if not m["matched"]:
            label_bad[i] = (str(m["reason_code"]), str(m["reason"]))
            label_slot[i] = aside_slot
        elif m["rating_code"] in level_index:
            label_slot[i] = level_index[m["rating_code"]]

    kept = status == 0
    # --- quarantine of register rows, aggregated per file, reason and value
    bad_pos = np.flatnonzero(~kept)
    reason_arr = np.array(reason_of, dtype=object)
    unit_arr = np.array([*unit_values, None], dtype=object)  # code -1 -> None
    label_arr = np.array([*label_values, None], dtype=object)
    offsets = np.cumsum([0, *sizes])[:-1]
    for src, local, offset in zip(registers, _locate(sizes, bad_pos), offsets, strict=True):
        g = local + offset
        quarantine += quarantine_entries(src, local, reason_arr[status[g]], unit_arr[unit_codes[g]],
                                         lambda code, value: REASONS[code].format(value=value, year=year),
                                         "member_register", "value")
    # --- values set aside in rows that are kept: the member counts, only the value does not
    aside_label = np.flatnonzero(kept & np.isin(label_codes, np.array(sorted(label_bad), dtype=np.int32))) \
        if n and label_bad else np.zeros(0, np.int64)
    aside_flag = np.flatnonzero(kept & bad_flag) if n and bad_flag.any() else np.zeros(0, np.int64)
    label_code_arr = np.array([label_bad.get(i, ("", ""))[0] for i in range(len(label_values))] + [""], dtype=object)
    label_reason = {label_values[i]: text for i, (_, text) in label_bad.items()}
    values_aside = np.zeros(len(registers), dtype=np.int64)
    for k, (src, offset) in enumerate(zip(registers, offsets, strict=True)):
        for aside, what in ((aside_label, "rating"), (aside_flag, "flag")):
            local = _locate(sizes, aside)[k]
            if not len(local):
                continue
            g = local + offset
            if what == "rating":
                codes, values = label_code_arr[label_codes[g]], label_arr[label_codes[g]]
                table, field_name = "member_ratings", "rating_label"
                reason = partial(_rating_reason, year=year, why=label_reason)
            else:
                codes = np.full(len(g), "bad_flag", dtype=object)
                values = np.array(pc.cast(exempt_col.take(pa.array(g)), pa.string()).to_pylist(), dtype=object)
                table, field_name = "membership", "is_exempt"
                reason = partial(_flag_reason, year=year)
            quarantine += set_aside_entries(src, local, codes, values, unit_arr[unit_codes[g]], exempt[g], year,
                                            reason, table, field_name)
            values_aside[k] += len(local)
    # --- aggregation over kept rows, on integer unit codes
    n_units = len(unit_values)
    uk = unit_codes[kept]
    total = np.bincount(uk, minlength=n_units)
    ex_count = np.bincount(uk, weights=exempt[kept], minlength=n_units).astype(np.int64)
    slots = label_slot[np.maximum(label_codes[kept], 0)] if n else np.zeros(0, np.int64)
    slots = np.where(label_codes[kept] >= 0, slots, not_assessed_slot)
    assessed_rows = ~exempt[kept]
    width = aside_slot + 1
    per_level = np.bincount(uk[assessed_rows] * width + slots[assessed_rows],
                            minlength=n_units * width).reshape(n_units, width) if n_units else \
        np.zeros((0, width), np.int64)
    rated_exempt = exempt[kept] & (slots < not_assessed_slot)
    if rated_exempt.any():
        per_unit = np.bincount(uk[rated_exempt], minlength=n_units)
        for u in np.flatnonzero(per_unit):
            findings.append({"check": "exempt_member_rated", "source_file": registers[0].file if registers else "",
                             "sheet": "", "row_number": None, "table": "member_ratings",
                             "unit_ids": [unit_values[u]],
                             "message": f"{int(per_unit[u])} đảng viên miễn sinh hoạt của đơn vị '{unit_values[u]}' "
                                        f"năm {year} có nhãn xếp loại: không tính vào các mức (miễn sinh hoạt "
                                        "không đánh giá)"})
    present = np.flatnonzero(total > 0)
    unit_ids = [unit_values[u] for u in present]
    unit_arr = pa.array(unit_values, pa.string()).take(pa.array(present))  # Arrow-backed strings, no copy
    membership = pd.DataFrame({"unit_id": pd.array(unit_arr, dtype="string"), "year": year,
                               "members_total": total[present], "members_exempt": ex_count[present]})
    level_rows = []
    for i, lv in enumerate(levels):
        level_rows.append(pd.DataFrame({
            "unit_id": pd.array(unit_arr, dtype="string"), "year": year, "rating_code": lv.rating_code,
            "scheme_id": scheme_id, "rating_rank": lv.rating_rank, "members_count": per_level[present, i],
            "members_not_assessed": per_level[present, not_assessed_slot]}))
    member_ratings = pd.concat(level_rows, ignore_index=True) if level_rows else pd.DataFrame()

    for src, local, aside in zip(registers, _locate(sizes, bad_pos), values_aside, strict=True):
        counts[src.file] = {"rows_read": src.table.num_rows, "rows_kept": src.table.num_rows - len(local),
                            "rows_excluded": 0, "rows_quarantined": int(len(local)), "excluded": {},
                            "values_quarantined": int(aside)}

    study, att_q, att_counts = _attendance(year, attendances, members, id_index, kept, unit_codes, unit_values,
                                           present, campaigns, has_register=bool(registers),
                                           exempt=exempt if n else None)
    quarantine += att_q
    counts.update(att_counts)
    return YearResult(membership, member_ratings, study, pd.DataFrame(quarantine), findings, counts,
                      frozenset(unit_ids))


class _CampaignCodes:
    """Codes of the campaign ids of one attendance file, shared by the threads that read it.

    Code 0 is a missing id; each distinct id gets the next code once, with its slot among the
    year's campaigns (-1: not a campaign of the year) and its quarantine reason.
    """

    def __init__(self, camp_ids: list[str] | None = None) -> None:
        self.camp_ids = camp_ids or []
        self.values: list = [None]
        self.slots: list[int] = [-1]
        self.code_of: dict = {}
        self.lock = threading.Lock()

    def _code(self, value: object) -> int:
        if value is None:
            return 0
        code = self.code_of.get(value)
        if code is None:
            code = self.code_of[value] = len(self.values)
            self.values.append(value)
            self.slots.append(self.camp_ids.index(str(value)) if str(value) in self.camp_ids else -1)
        return code

    def local(self, col: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For one Arrow array of campaign ids: its dictionary index per row (a null → the last
        entry), and the code and slot of each dictionary entry (plus a last one for nulls)."""
        if not (pa.types.is_dictionary(col.type) and pa.types.is_string(col.type.value_type)):
            col = pc.dictionary_encode(col if pa.types.is_string(col.type) else col.cast(pa.string()))
        dictionary = col.dictionary.to_pylist()
        with self.lock:
            local = [self._code(v) for v in dictionary]
            slots = [self.slots[c] for c in local]
        indices = col.indices
        if indices.null_count:
            indices = pc.fill_null(indices, len(dictionary))
        return (indices.to_numpy(zero_copy_only=False), np.array([*local, 0], dtype=np.int32),
                np.array([*slots, -1], dtype=np.int16))



def _campaign_reasons(values: list, camp_ids: list[str], all_camps: set[str]) -> np.ndarray:
    """Quarantine reason of each campaign code (for ids that are no campaign of the year)."""
    return np.array(["campaign_missing"] + [
        "ok" if str(v) in camp_ids else "campaign_other_year" if str(v) in all_camps
        else "campaign_unknown" if str(v).strip() else "campaign_missing" for v in values[1:]], dtype=object)


def _campaign_slots(values: list, camp_ids: list[str]) -> np.ndarray:
    """Slot among the year's campaigns of each campaign code (-1: none)."""
    return np.array([-1] + [camp_ids.index(str(v)) if str(v) in camp_ids else -1 for v in values[1:]],
                    dtype=np.int16)


#: Rows per batch of the attendance pass (a batch is parsed, looked up and marked at once).
BATCH_ROWS = 1 << 20
_BY_STATUS = np.array(["", "", "member_unknown", "member_quarantined", "register_missing"], dtype=object)


def _per_unit(grid: np.ndarray, units: np.ndarray, n_units: int) -> np.ndarray:
    """Marked cells per unit (rows) and campaign (columns) of a campaign × register row bitmap.

    Registers are usually exported unit by unit: then each run of rows of one unit is summed at
    once (``reduceat``); otherwise the marked rows of each campaign are counted per unit.
    """
    n_camps, n = grid.shape
    out = np.zeros((n_units, n_camps), dtype=np.int64)
    if n == 0:
        return out
    starts = np.flatnonzero(np.concatenate([[True], units[1:] != units[:-1]]))
    if 4 * len(starts) <= n:  # long runs of one unit
        run_units = units[starts]
        for c in range(n_camps):
            runs = np.add.reduceat(grid[c].view(np.uint8), starts, dtype=np.int64)
            out[:, c] = np.bincount(run_units, weights=runs, minlength=n_units)  # exact below 2**53
        return out
    for c in range(n_camps):
        out[:, c] = np.bincount(units[grid[c]], minlength=n_units)
    return out


def _map_threads(fn: Callable, work: list) -> list:
    """``[fn(w) for w in work]``, on up to :func:`_threads` threads (order kept)."""
    threads = min(_threads(), len(work))
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(fn, work))
    return [fn(w) for w in work]


def _mark_batch(item: tuple[int, pa.RecordBatch], codes: _CampaignCodes, index: _NumberedIndex | None,
                hashed: np.ndarray | None, kept_or_not: np.ndarray, seen: np.ndarray, stride: int,
                use_register: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One batch of attendance rows (member id, campaign id) starting at row ``start`` of its file.

    Marks the (campaign, register row) cells of its valid rows in ``seen`` (``stride`` cells per
    campaign; the last cell is a sink for the other rows); returns the positions, status and
    campaign codes of the invalid rows, and how many were valid. Works in blocks of
    :data:`_BLOCK` rows in reused buffers.
    """
    start, batch = item
    n = batch.num_rows
    at, local_code, local_slot = codes.local(batch.column(1))
    if not use_register:  # nobody can be placed in a unit
        return (np.arange(n) + start, np.where(local_slot[at] < 0, 1, 4).astype(np.int8), local_code[at], 0)
    parts = _string_parts(_as_text(batch.column(0))) if index is not None else None
    s = _Scratch(min(n, _BLOCK))
    bad_parts = []
    n_ok = 0
    for lo in range(0, n, _BLOCK):
        hi = min(n, lo + _BLOCK)
        pos = index.block(parts, lo, hi, s) if index is not None else hashed[start + lo:start + hi]
        slot = s.slot[:hi - lo]
        np.take(local_slot, at[lo:hi], out=slot)
        k, bad, status = _mark_block(pos, slot, kept_or_not, seen, stride, s)
        n_ok += k
        if bad is not None:
            bad_parts.append((bad + (start + lo), status, local_code[at[lo + bad]]))
    return _bad_rows(bad_parts, n_ok)


def register_index(tables: Sequence[pa.Table]) -> _NumberedIndex | None:
    """The index of the member ids of a year's registers (tables in the order given to
    :func:`aggregate_year`) when they are numbered ids, for :func:`look_up_attendance`."""
    members = _concat([Source("", t) for t in tables], "member_id", pa.string())
    return _NumberedIndex.of(members) if len(members) else None


@dataclass
class LookedUp:
    """An attendance list already looked up in the register of its year (see
    :func:`look_up_attendance`): per row, the register position and campaign code instead of text.

    Attributes:
        file: Path relative to the raw folder.
        rows: Rows of the file.
        pos: Register row (int32) of each row's member, -1 when absent or not an id of the shape.
        code: Campaign code (int16) of each row: an index into ``campaigns`` (0: missing).
        campaigns: Campaign id of each code.
        unknown_rows: The rows (ascending) whose member is absent, and ``unknown_ids`` their ids.
        members: Register rows the list was looked up in (a check).
        first_row: Row number of the first row.
    """

    file: str
    rows: int
    pos: np.ndarray
    code: np.ndarray
    campaigns: list
    unknown_rows: np.ndarray
    unknown_ids: pa.Array
    members: int
    first_row: int = 1


def look_up_attendance(file: str, rows: int, shares: Sequence[tuple[int, Callable[[], Iterable[pa.RecordBatch]]]],
                       index: _NumberedIndex, members: int, first_row: int = 1) -> LookedUp:
    """Look up the member ids of an attendance list in a register while it is read (no row's text
    is kept but for absent members), one thread per share of its batches.

    Args:
        file: Path relative to the raw folder.
        rows: Rows of the file.
        shares: (first row, batches of ``member_id, campaign_id`` in file order) covering the file.
        index: The register's numbered ids (:class:`_NumberedIndex`).
        members: Register rows (a check for :func:`aggregate_year`).
        first_row: Row number of the first row.

    Raises:
        ValueError: The batches do not cover the rows, or name more than 32767 campaign ids (the
            caller then reads the list whole).
    """
    pos = np.empty(rows, dtype=np.int32)
    code = np.empty(rows, dtype=np.int16)  # a list naming more campaign ids than this is refused
    codes = _CampaignCodes()
    unknown: list[tuple[int, np.ndarray, pa.Array]] = []

    def run(share: tuple[int, Callable[[], Iterable[pa.RecordBatch]]]) -> int:
        start, batches = share
        at = start
        scratch = _Scratch()
        for batch in batches():
            n = batch.num_rows
            if at + n > rows:
                raise ValueError(f"{file}: more rows than announced")
            where, local_code, _ = codes.local(batch.column(1))
            if len(codes.values) > np.iinfo(np.int16).max:
                raise ValueError(f"{file}: too many distinct campaign ids to look up")
            np.take(local_code, where, out=code[at:at + n])
            ids = _as_text(batch.column(0))
            parts = _string_parts(ids)
            for lo in range(0, n, _BLOCK):
                hi = min(n, lo + _BLOCK)
                pos[at + lo:at + hi] = index.block(parts, lo, hi, scratch)
            miss = np.flatnonzero(pos[at:at + n] < 0)
            if len(miss):
                unknown.append((at, miss, ids.take(pa.array(miss)).cast(pa.string())))
            at += n
        return at - start

    threads = min(_threads(), len(shares))
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            done = sum(pool.map(run, shares))
    else:
        done = sum(run(share) for share in shares)
    if done != rows or [s[0] for s in shares] != sorted(s[0] for s in shares):
        raise ValueError(f"{file}: {done} rows read of {rows}")
    unknown.sort(key=lambda u: u[0])
    unknown_rows = np.concatenate([at + miss for at, miss, _ in unknown]) if unknown else np.zeros(0, np.int64)
    unknown_ids = pa.concat_arrays([ids for _, _, ids in unknown]) if unknown else pa.array([], pa.string())
    return LookedUp(file, rows, pos, code, list(codes.values), unknown_rows.astype(np.int64), unknown_ids, members,
                    first_row)


def _mark_block(pos: np.ndarray, slot: np.ndarray, kept_or_not: np.ndarray, seen: np.ndarray, stride: int,
                s: _Scratch) -> tuple[int, np.ndarray | None, np.ndarray | None]:
    """Mark the (campaign, register row) cells of the valid rows of one block in ``seen``.

    Returns:
        (valid rows, positions in the block of the invalid ones and their status — 1 campaign
        problem, 2 member unknown, 3 member's register row quarantined — or None, None).
    """
    m = len(pos)
    ok, other, cell = s.b1[:m], s.b2[:m], s.lens[:m]
    np.take(kept_or_not, pos, out=ok)  # pos -1 (unknown) -> last entry (False)
    np.greater_equal(slot, 0, out=other)
    np.logical_and(ok, other, out=ok)
    np.multiply(slot, stride, out=cell, dtype=np.int64)  # campaign-major: one row per campaign
    np.add(cell, pos, out=cell, dtype=np.int64)
    np.logical_not(ok, out=other)
    np.copyto(cell, len(seen) - 1, where=other)  # the sink
    seen[cell] = True  # one scatter, duplicates vanish
    k = int(np.count_nonzero(ok))
    if k == m:
        return k, None, None
    bad = np.flatnonzero(other)
    return k, bad, np.where(slot[bad] < 0, 1, np.where(pos[bad] < 0, 2, 3)).astype(np.int8)


def _mark_looked_up(item: tuple[int, int], looked: LookedUp, slot_of: np.ndarray, kept_or_not: np.ndarray,
                    seen: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """:func:`_mark_batch` for rows ``start:start + n`` of a :class:`LookedUp` list."""
    start, n = item
    s = _Scratch(min(n, _BLOCK))
    bad_parts = []
    n_ok = 0
    for lo in range(start, start + n, _BLOCK):
        hi = min(start + n, lo + _BLOCK)
        slot = s.slot[:hi - lo]
        np.take(slot_of, looked.code[lo:hi], out=slot)
        k, bad, status = _mark_block(looked.pos[lo:hi], slot, kept_or_not, seen, stride, s)
        n_ok += k
        if bad is not None:
            bad_parts.append((bad + lo, status, looked.code[bad + lo]))
    return _bad_rows(bad_parts, n_ok)


def _bad_rows(bad_parts: list, n_ok: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    if not bad_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int32), n_ok
    return (np.concatenate([b[0] for b in bad_parts]).astype(np.int64), np.concatenate([b[1] for b in bad_parts]),
            np.concatenate([b[2] for b in bad_parts]), n_ok)


def _looked_up_source(looked: LookedUp, bad: np.ndarray, members: pa.ChunkedArray) -> Source:
    """The member ids of the given rows of a looked-up list (as a :class:`Source` of these rows
    only, for :func:`quarantine_entries`): a found member's id is its register id."""
    at = looked.pos[bad]
    known = at >= 0
    found = members.take(pa.array(at[known])).combine_chunks() if known.any() else pa.array([], pa.string())
    absent = looked.unknown_ids.take(pa.array(np.searchsorted(looked.unknown_rows, bad[~known])))
    order = np.concatenate([np.flatnonzero(known), np.flatnonzero(~known)])
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    ids = pa.concat_arrays([found.cast(pa.string()), absent.cast(pa.string())]).take(pa.array(inverse))
    return Source(looked.file, pa.table({"member_id": ids}), row_numbers=bad + looked.first_row)


def _attendance_looked_up(looked: LookedUp, year: int, camp_ids: list[str], all_camps: set[str],
                          members: pa.ChunkedArray, kept_or_not: np.ndarray, seen: np.ndarray, cells: int,
                          counts: dict[str, dict]) -> list[dict]:
    """The marking pass of :func:`_attendance` for a list already looked up in the register."""
    n_members = len(kept_or_not) - 1
    if looked.members != n_members:
        raise ValueError(f"{looked.file}: looked up in a register of {looked.members} rows, not {n_members}")
    slot_of = _campaign_slots(looked.campaigns, camp_ids)
    work = [(lo, min(BATCH_ROWS, looked.rows - lo)) for lo in range(0, looked.rows, BATCH_ROWS)]
    mark = partial(_mark_looked_up, looked=looked, slot_of=slot_of, kept_or_not=kept_or_not, seen=seen,
                   stride=n_members)
    before = int(np.count_nonzero(seen[:cells]))
    parts = _map_threads(mark, work)
    added = int(np.count_nonzero(seen[:cells])) - before
    n_ok = sum(p[3] for p in parts)
    bad, status, code = _bad_rows([p[:3] for p in parts if len(p[0])], n_ok)[:3]
    out = []
    if len(bad):
        reasons = np.where(status == 1, _campaign_reasons(looked.campaigns, camp_ids, all_camps)[code],
                           _BY_STATUS[status])
        values = np.array(looked.campaigns, dtype=object)[code]
        out = quarantine_entries(_looked_up_source(looked, bad, members), np.arange(len(bad)), reasons, values,
                                 lambda c, v: REASONS[c].format(value=v, year=year), "study_participation",
                                 "campaign_id")
    counts[looked.file] = {"rows_read": looked.rows, "rows_kept": added, "rows_excluded": n_ok - added,
                           "rows_quarantined": int(len(bad)),
                           "excluded": {"duplicate_attendance": n_ok - added} if n_ok - added else {},
                           "values_quarantined": 0}
    return out


def _attendance(year: int, attendances: Sequence[Source | LookedUp | Callable[[], Source | LookedUp | None]],
                members: pa.ChunkedArray,
                index: _NumberedIndex | None, kept: np.ndarray,
                unit_codes: np.ndarray, unit_values: list, present: np.ndarray, campaigns: pd.DataFrame,
                has_register: bool, exempt: np.ndarray | None = None) -> tuple[pd.DataFrame, list[dict], dict]:
    """Distinct attending members per unit × campaign of ``year`` (one bitmap per campaign).

    ``members_exempt_attended`` counts the attending members flagged exempt (``exempt``, per
    register row): they join that campaign's denominator (HD 01-HD/TW 2016, 13.2).

    Each file is read in batches, on up to :data:`THREADS` threads: per batch, the member ids are
    looked up in the register (as integers for numbered ids, see :class:`_NumberedIndex`), and
    the (campaign, register row) cells of its valid rows are marked in one bitmap; a repeated
    attendance marks a cell already marked. Only the rows to quarantine are kept per batch.
    """
    camps = campaigns[campaigns["year"] == year]
    camp_ids = sorted(camps["campaign_id"].astype(str))
    all_camps = set(campaigns["campaign_id"].astype(str))
    n_members = len(kept)
    # bitmap over (campaign, register row): attended at least once
    cells = n_members * len(camp_ids)
    seen = np.zeros(cells + 1, dtype=bool)  # the last cell: a sink for invalid rows
    kept_or_not = np.append(kept, False)  # position -1 (not found) -> not kept
    quarantine: list[dict] = []
    counts: dict[str, dict] = {}
    use_register = has_register and n_members > 0
    member_values: pa.Array | None = None
    taken = 0
    for item in attendances:
        src = item() if callable(item) else item
        if src is None:  # could not be read (reported by the caller)
            continue
        taken += 1
        if isinstance(src, LookedUp):
            quarantine += _attendance_looked_up(src, year, camp_ids, all_camps, members, kept_or_not, seen, cells,
                                                counts)
            continue
        rows = src.table.num_rows
        cols = {c: src.table.column(c) if c in src.table.column_names else pa.nulls(rows, pa.string())
                for c in ("member_id", "campaign_id")}
        table = pa.table(cols)
        hashed = None
        if use_register and index is None:  # ids of no numbered shape: hash them (threads inside)
            if member_values is None:
                member_values = members.combine_chunks()
            hashed = _lookup_hashed(_concat([src], "member_id", pa.string()), member_values)
        codes = _CampaignCodes(camp_ids)
        batches = table.to_batches(max_chunksize=BATCH_ROWS)
        starts = np.cumsum([0] + [b.num_rows for b in batches])[:-1]

        before = int(np.count_nonzero(seen[:cells]))
        work = list(zip(starts.tolist(), batches, strict=True))
        mark = partial(_mark_batch, codes=codes, index=index, hashed=hashed, kept_or_not=kept_or_not, seen=seen,
                       stride=n_members, use_register=use_register)
        parts = _map_threads(mark, work)
        added = int(np.count_nonzero(seen[:cells])) - before
        n_ok = sum(p[3] for p in parts)
        if parts:
            bad = np.concatenate([p[0] for p in parts]).astype(np.int64)
            status = np.concatenate([p[1] for p in parts])
            code = np.concatenate([p[2] for p in parts])
        else:
            bad, status, code = np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int32)
        reasons = np.where(status == 1, _campaign_reasons(codes.values, camp_ids, all_camps)[code],
                           _BY_STATUS[status]) if len(bad) else np.zeros(0, dtype=object)
        values = np.array(codes.values, dtype=object)[code] if len(bad) else np.zeros(0, dtype=object)
        quarantine += quarantine_entries(src, bad, reasons, values,
                                         lambda code, value: REASONS[code].format(value=value, year=year),
                                         "study_participation", "campaign_id")
        counts[src.file] = {"rows_read": rows, "rows_kept": added, "rows_excluded": n_ok - added,
                            "rows_quarantined": int(len(bad)),
                            "excluded": {"duplicate_attendance": n_ok - added} if n_ok - added else {},
                            "values_quarantined": 0}
    if not taken or not camp_ids or not len(present):
        return pd.DataFrame(), quarantine, counts
    if kept.all():
        row_units = unit_codes
    else:  # rows left out count nowhere: give them the unit of the kept row before (runs stay whole)
        source_row = np.where(kept, np.arange(n_members, dtype=np.int32), np.int32(-1))
        np.maximum.accumulate(source_row, out=source_row)
        source_row[source_row < 0] = int(np.argmax(kept))
        row_units = unit_codes[source_row]
    grid = seen[:cells].reshape(len(camp_ids), n_members)
    attended = _per_unit(grid, row_units, len(unit_values))
    if exempt is not None and len(exempt) == n_members and exempt.any():
        ex_attended = _per_unit(grid & exempt[None, :], row_units, len(unit_values))[present].reshape(-1)
    else:
        ex_attended = np.zeros(len(present) * len(camp_ids), dtype=np.int64)
    sub = attended[present].reshape(-1)
    study = pd.DataFrame({
        "unit_id": pd.array(pa.array(unit_values, pa.string()).take(pa.array(np.repeat(present, len(camp_ids)))),
                            dtype="string"),
        "campaign_id": pd.array(pa.array(camp_ids, pa.string()).take(
            pa.array(np.tile(np.arange(len(camp_ids)), len(present)))), dtype="string"),
        "is_held": sub > 0, "members_attended": sub, "members_exempt_attended": ex_attended})
    return study, quarantine, counts
