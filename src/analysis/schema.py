"""The canonical tables: columns, dtypes, keys and descriptions, in one place.

Every other module refers to these definitions instead of spelling column names itself.
``conform`` turns a staged frame into the exact canonical shape (column order, dtypes, sort order),
which is what makes re-running ingest byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Column:
    """One canonical column.

    Attributes:
        name: Column name.
        dtype: pandas dtype string (nullable dtypes: ``Int64``, ``boolean``, ``string``).
        description: What the column holds, for analysts.
        required: Whether a non-null value is required.
    """

    name: str
    dtype: str
    description: str
    required: bool = True


@dataclass(frozen=True)
class Table:
    """One canonical table.

    Attributes:
        name: Table name (also the Parquet file stem).
        grain: What one row is.
        columns: Ordered columns.
        key: Columns that identify a row.
    """

    name: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        """Column names in canonical order."""
        return [c.name for c in self.columns]

    @property
    def dtypes(self) -> dict[str, str]:
        """Mapping column name -> dtype."""
        return {c.name: c.dtype for c in self.columns}

    @property
    def count_columns(self) -> list[str]:
        """Integer count columns (non-negative by definition)."""
        return [c.name for c in self.columns if c.dtype == "Int64" and c.name.endswith(
            ("_total", "_exempt", "_attended", "_makeup", "_target", "_count", "_not_assessed"))]


UNIT_LEVELS = ("cap_tren", "co_so", "chi_bo")
UNIT_KINDS = ("khu_dan_cu", "co_quan", "doanh_nghiep", "truong_hoc", "luc_luong_vu_trang", "khac")
PUBLIC_BASES = ("persons", "attendances")

UNITS = Table(
    "units",
    "unit × validity",
    (
        Column("unit_id", "string", "Stable identifier of the party organisation"),
        Column("unit_name", "string", "Official name (NFC)"),
        Column("parent_id", "string", "Parent organisation; null for the root", required=False),
        Column("unit_level", "string", "cap_tren | co_so | chi_bo"),
        Column("unit_kind", "string", "khu_dan_cu | co_quan | doanh_nghiep | truong_hoc | luc_luong_vu_trang | khac"),
        Column("valid_from_year", "Int64", "First year the row is valid"),
        Column("valid_to_year", "Int64", "Last year the row is valid (inclusive); null = still active", required=False),
    ),
    ("unit_id", "valid_from_year"),
)

CAMPAIGNS = Table(
    "campaigns",
    "campaign",
    (
        Column("campaign_id", "string", "Stable identifier of a study campaign"),
        Column("year", "Int64", "Year the campaign is counted in"),
        Column("title", "string", "Title of the resolution or directive studied"),
        Column("document_code", "string", "Document number, e.g. 03-CT/TW", required=False),
        Column("start_date", "string", "ISO date the study started", required=False),
    ),
    ("campaign_id",),
)

MEMBERSHIP = Table(
    "membership",
    "unit × year",
    (
        Column("unit_id", "string", "Reporting (leaf) unit"),
        Column("year", "Int64", "Year"),
        Column("members_total", "Int64", "Party members (official and probationary)"),
        Column("members_exempt", "Int64", "Members exempt from activities (miễn sinh hoạt)"),
    ),
    ("unit_id", "year"),
)

STUDY_PARTICIPATION = Table(
    "study_participation",
    "unit × campaign",
    (
        Column("unit_id", "string", "Reporting (leaf) unit"),
        Column("campaign_id", "string", "Campaign"),
        Column("is_held", "boolean", "The unit held at least one study session"),
        Column("members_attended", "Int64", "Members who attended"),
        Column("members_attended_makeup", "Int64", "Members who attended a make-up session", required=False),
        Column("members_exempt_attended", "Int64",
               "Exempt members who attended (added to the denominator, HD 01-HD/TW 13.2); null = not known",
               required=False),
        Column("public_target", "Int64", "People the study was meant to reach", required=False),
        Column("public_attended", "Int64", "People (or attendances) reached", required=False),
        Column("public_basis", "string", "persons | attendances", required=False),
    ),
    ("unit_id", "campaign_id"),
)

UNIT_RATINGS = Table(
    "unit_ratings",
    "unit × year",
    (
        Column("unit_id", "string", "Rated organisation"),
        Column("year", "Int64", "Assessment year"),
        Column("scheme_id", "string", "Rating scheme in force that year"),
        Column("rating_code", "string", "Level code within the scheme"),
        Column("rating_rank", "Int64", "Harmonised rank, 1 = best … 4 = worst"),
        Column("is_exemplary", "boolean", "Rated 'tiêu biểu' (exemplary)"),
        Column("rating_label_raw", "string", "Label as written in the source", required=False),
        Column("score", "Float64", "Score out of 100 (qd366-2025)", required=False),
    ),
    ("unit_id", "year"),
)

MEMBER_RATINGS = Table(
    "member_ratings",
    "unit × year × level",
    (
        Column("unit_id", "string", "Reporting (leaf) unit"),
        Column("year", "Int64", "Assessment year"),
        Column("rating_code", "string", "Level code within the scheme"),
        Column("scheme_id", "string", "Rating scheme in force that year"),
        Column("rating_rank", "Int64", "Harmonised rank, 1 = best … 4 = worst"),
        Column("members_count", "Int64", "Members rated at this level"),
        Column("members_not_assessed", "Int64",
               "Members of the unit-year not assessed (same value on every level row)", required=False),
    ),
    ("unit_id", "year", "rating_code"),
)

MEMBER_REGISTER = Table(
    "member_register",
    "member × year",
    (
        Column("member_id", "string", "Member identifier (pseudonymous)"),
        Column("year", "Int64", "Year"),
        Column("unit_id", "string", "Leaf unit of the member that year"),
        Column("is_exempt", "boolean", "Exempt from activities"),
        Column("rating_code", "string", "Rating level code, null if not assessed", required=False),
    ),
    ("member_id", "year"),
)

QUARANTINE = Table(
    "quarantine",
    "raw row",
    (
        Column("source_file", "string", "File, relative to the raw folder"),
        Column("sheet", "string", "Sheet name ('' for CSV)"),
        Column("row_number", "Int64", "1-based row number in the sheet"),
        Column("table", "string", "Canonical table the row was meant for ('' if unknown)"),
        Column("reason_code", "string", "Stable reason code"),
        Column("reason", "string", "Reason in Vietnamese"),
        Column("raw_values", "string", "The raw cells as JSON"),
        Column("unit_id", "string", "The unit the row concerns, else the committee whose sheet it is "
                                    "(null when neither is known): a gate run scoped to other units "
                                    "does not report it", required=False),
        Column("year", "Int64", "Year of the row or its sheet (null when unknown)", required=False),
    ),
    ("source_file", "sheet", "row_number", "reason_code"),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (UNITS, CAMPAIGNS, MEMBERSHIP, STUDY_PARTICIPATION, UNIT_RATINGS, MEMBER_RATINGS,
              MEMBER_REGISTER, QUARANTINE)
}

#: Tables every processed folder has (member_register is optional).
CORE_TABLES = ("units", "campaigns", "membership", "study_participation", "unit_ratings",
               "member_ratings", "quarantine")


def empty(table: str) -> pd.DataFrame:
    """Return an empty frame with the canonical columns and dtypes of ``table``.

    Example:
        >>> list(empty("membership").columns)
        ['unit_id', 'year', 'members_total', 'members_exempt']
    """
    spec = TABLES[table]
    return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in spec.columns})


def conform(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return ``df`` in the canonical shape of ``table``: columns, dtypes, sorted by key.

    Missing optional columns are added as nulls; extra columns are dropped. The input is not
    mutated.

    Raises:
        KeyError: A required column is missing.

    Example:
        >>> conform(pd.DataFrame({"unit_id": ["a"], "year": [2014], "members_total": [3],
        ...                       "members_exempt": [0]}), "membership").dtypes["year"]
        Int64Dtype()
    """
    spec = TABLES[table]
    out = pd.DataFrame(index=df.index)
    for col in spec.columns:
        if col.name in df.columns:
            series = df[col.name]
            if col.dtype == "Int64" and series.dtype.kind == "f":
                series = series.round()
            out[col.name] = series.astype(col.dtype)
        elif col.required:
            raise KeyError(f"Thiếu cột bắt buộc '{col.name}' của bảng {table}")
        else:
            out[col.name] = pd.Series(pd.NA, index=df.index, dtype=col.dtype)
    return out.sort_values(list(spec.key), kind="mergesort").reset_index(drop=True)
