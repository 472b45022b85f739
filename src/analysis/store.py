"""Processed tables on disk: atomic writes, the manifest, and loading a slice.

This is the only module that reads or writes ``data/processed``. Every table is written to a
temporary file in the same folder and moved into place with ``os.replace``; the manifest is written
last, so a run killed half-way leaves the previous manifest pointing at complete files.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import schema
from analysis.config import DATA_FORMAT_VERSION

MANIFEST = "manifest.json"


class DataMissingError(RuntimeError):
    """The processed folder is missing or unusable (message in Vietnamese)."""


@dataclass(frozen=True)
class Tables:
    """The canonical tables of one processed folder (or a slice of it).

    Attributes:
        units: Unit tree with validity years.
        campaigns: Study campaigns.
        membership: Members per leaf unit and year.
        study_participation: Study results per leaf unit and campaign.
        unit_ratings: Rating of each organisation per year.
        member_ratings: Member rating counts per leaf unit, year and level.
        merges: Declared merges (from_unit_id, to_unit_id, year); may be empty.
        targets: Targets (unit_id, indicator, from_year, to_year, threshold_pct); may be empty.
        manifest: The manifest of the processed folder (empty for in-memory tables).
    """

    units: pd.DataFrame
    campaigns: pd.DataFrame
    membership: pd.DataFrame
    study_participation: pd.DataFrame
    unit_ratings: pd.DataFrame
    member_ratings: pd.DataFrame
    merges: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"from_unit_id": pd.Series(dtype="string"), "to_unit_id": pd.Series(dtype="string"),
         "year": pd.Series(dtype="Int64")}))
    targets: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"unit_id": pd.Series(dtype="string"), "indicator": pd.Series(dtype="string"),
         "from_year": pd.Series(dtype="Int64"), "to_year": pd.Series(dtype="Int64"),
         "threshold_pct": pd.Series(dtype="Float64")}))
    manifest: dict = field(default_factory=dict)

    @functools.cached_property
    def years(self) -> list[int]:
        """Years with any membership, campaign or rating data, sorted (computed once)."""
        found: set[int] = set()
        for df in (self.membership, self.campaigns, self.unit_ratings, self.member_ratings):
            if len(df):
                found.update(int(y) for y in df["year"].dropna().unique())
        return sorted(found)


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_bytes(df: pd.DataFrame) -> bytes:
    """Serialise a frame to Parquet bytes deterministically (no index, fixed options)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", write_statistics=True, use_dictionary=True)
    return sink.getvalue()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


STAGING = ".staging"
#: Table files this package writes (and may therefore remove) in a processed folder.
TABLE_FILES = (*schema.TABLES, "merges", "targets")
COMMIT_MARK = "COMMITTED"
LOCK_FILE = ".hoctap.lock"


class LockedError(RuntimeError):
    """Another hoctap run is writing the same folder (message in Vietnamese)."""


@contextlib.contextmanager
def folder_lock(folder: Path, what: str = "hoctap") -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` for the duration of a run.

    Raises:
        LockedError: Another process holds it ("already running").
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fh = (folder / LOCK_FILE).open("a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(f"Một lần chạy '{what}' khác đang ghi vào '{folder}': hãy chờ nó xong rồi chạy lại") \
                from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def recover(out_dir: Path) -> str | None:
    """Finish or discard a write that was interrupted.

    A complete staging folder (marked committed) is rolled forward; an incomplete one is removed,
    leaving the previous tables as they were.

    Returns:
        ``"rolled-forward"``, ``"discarded"`` or None when there was nothing to do.
    """
    staging = Path(out_dir) / STAGING
    if not staging.is_dir():
        return None
    if (staging / COMMIT_MARK).is_file():
        _move_staged(staging, Path(out_dir))
        return "rolled-forward"
    shutil.rmtree(staging, ignore_errors=True)
    return "discarded"


def _move_staged(staging: Path, out_dir: Path) -> None:
    names = sorted(p.name for p in staging.iterdir() if p.name not in (COMMIT_MARK, MANIFEST))
    pause = float(os.environ.get("HOCTAP_TEST_WRITE_PAUSE", "0") or 0)  # lets the kill tests hit this window
    for name in names:
        os.replace(staging / name, out_dir / name)
        if pause:
            time.sleep(pause)
    current = {Path(n).stem for n in names}
    if (staging / MANIFEST).is_file():
        with contextlib.suppress(OSError, ValueError):
            current |= set(json.loads((staging / MANIFEST).read_text(encoding="utf-8")).get("tables", {}))
        os.replace(staging / MANIFEST, out_dir / MANIFEST)
    else:
        current |= set(TABLE_FILES)  # manifest already moved: leave every table in place
    for stale in ({*TABLE_FILES} - current):  # a table the new run did not produce is not left behind
        (out_dir / f"{stale}.parquet").unlink(missing_ok=True)
    shutil.rmtree(staging, ignore_errors=True)


def write_processed(out_dir: Path, tables: dict[str, pd.DataFrame], manifest: dict) -> dict:
    """Write canonical tables and the manifest into ``out_dir`` as one atomic change.

    Each table is conformed to its canonical schema first. Everything is written into
    ``out_dir/.staging`` and marked committed before any file replaces its previous version, so a
    run killed at any moment leaves either the previous tables (nothing committed) or a committed
    staging folder that the next reader rolls forward (:func:`recover`). The manifest gains
    ``tables`` (rows and SHA-256 of each Parquet file) and ``format_version``.

    Returns:
        The manifest as written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recover(out_dir)
    staging = out_dir / STAGING
    staging.mkdir()
    written: dict[str, dict] = {}
    for name in sorted(tables):
        df = tables[name]
        if name in schema.TABLES:
            df = schema.conform(df, name)
        data = table_bytes(df)
        atomic_write_bytes(staging / f"{name}.parquet", data)
        written[name] = {"rows": int(len(df)), "sha256": hashlib.sha256(data).hexdigest()}
    full = dict(manifest)
    full["format_version"] = DATA_FORMAT_VERSION
    full["tables"] = written
    atomic_write_text(staging / MANIFEST, json.dumps(full, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    pause = float(os.environ.get("HOCTAP_TEST_WRITE_PAUSE", "0") or 0)
    if pause:
        time.sleep(pause)
    atomic_write_text(staging / COMMIT_MARK, "ok\n")
    _move_staged(staging, out_dir)
    return full


def read_manifest(data_dir: Path) -> dict:
    """Read and check the manifest of a processed folder.

    Raises:
        DataMissingError: No processed data, or data written by an incompatible version.
    """
    if (Path(data_dir) / STAGING / COMMIT_MARK).is_file():
        with contextlib.suppress(OSError):
            recover(Path(data_dir))
    path = Path(data_dir) / MANIFEST
    if not path.is_file():
        raise DataMissingError(
            f"Chưa có dữ liệu đã xử lý trong '{data_dir}': hãy chạy 'hoctap ingest' trước.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataMissingError(f"Không đọc được '{path}': {exc}. Hãy chạy lại 'hoctap ingest'.") from exc
    version = manifest.get("format_version")
    if version != DATA_FORMAT_VERSION:
        raise DataMissingError(
            f"Dữ liệu trong '{data_dir}' được tạo bởi phiên bản khác (định dạng {version}, "
            f"cần {DATA_FORMAT_VERSION}): hãy chạy lại 'hoctap ingest'.")
    return manifest


def load_table(data_dir: Path, name: str, filters: list | None = None,
               columns: list[str] | None = None) -> pd.DataFrame:
    """Load one processed table, optionally filtered with Parquet predicates.

    Args:
        data_dir: Processed folder.
        name: Table name.
        filters: pyarrow filters, e.g. ``[("year", "in", [2014])]``; only matching row groups are read.
        columns: Columns to read (all by default).

    Raises:
        DataMissingError: The table file is missing.
    """
    path = Path(data_dir) / f"{name}.parquet"
    if not path.is_file():
        if name in ("merges", "targets", "member_register"):
            return pd.DataFrame()
        raise DataMissingError(f"Thiếu bảng '{name}' trong '{data_dir}': hãy chạy lại 'hoctap ingest'.")
    table = pq.read_table(path, filters=filters or None, columns=columns)
    df = table.to_pandas(types_mapper=_nullable_types)
    if name in schema.TABLES:
        for col, dtype in schema.TABLES[name].dtypes.items():
            if col in df.columns and str(df[col].dtype) != dtype:
                df[col] = df[col].astype(dtype)
    return df


def _nullable_types(arrow_type: pa.DataType):
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype()
    if pa.types.is_floating(arrow_type):
        return pd.Float64Dtype()
    return None


def load_tables(data_dir: Path, unit_ids: Iterable[str] | None = None,
                years: Iterable[int] | None = None) -> Tables:
    """Load the processed tables, restricted to a slice when ``unit_ids``/``years`` are given.

    The unit tree, campaigns, merges and targets are always loaded whole (they are small); facts
    are read with Parquet filters so that a report never reads the whole national table.

    Example:
        >>> tables = load_tables(Path("data/processed"), years=[2014])  # doctest: +SKIP
    """
    data_dir = Path(data_dir)
    manifest = read_manifest(data_dir)
    units = load_table(data_dir, "units")
    campaigns = load_table(data_dir, "campaigns")
    year_list = sorted({int(y) for y in years}) if years is not None else None
    unit_list = sorted(set(unit_ids)) if unit_ids is not None else None

    def fact_filters(year_col: str | None) -> list:
        flt: list = []
        if year_list is not None and year_col:
            flt.append((year_col, "in", year_list))
        if unit_list is not None:
            flt.append(("unit_id", "in", unit_list))
        return flt

    if year_list is not None:
        campaign_ids = campaigns.loc[campaigns["year"].isin(year_list), "campaign_id"].tolist()
        study_filters = [("campaign_id", "in", campaign_ids or [""])] + fact_filters(None)
    else:
        study_filters = fact_filters(None)
    merges = load_table(data_dir, "merges")
    targets = load_table(data_dir, "targets")
    kwargs = {}
    if len(merges.columns):
        kwargs["merges"] = merges
    if len(targets.columns):
        kwargs["targets"] = targets
    return Tables(
        units=units,
        campaigns=campaigns,
        membership=load_table(data_dir, "membership", fact_filters("year")),
        study_participation=load_table(data_dir, "study_participation", study_filters),
        unit_ratings=load_table(data_dir, "unit_ratings", fact_filters("year")),
        member_ratings=load_table(data_dir, "member_ratings", fact_filters("year")),
        manifest=manifest,
        **kwargs,
    )
