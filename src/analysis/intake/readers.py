"""Readers: a raw file in, grids of cells out (one per sheet).

A :class:`Grid` keeps what header detection and text repair need: cell values (merged ranges
hold their value in the top-left cell only, as in Excel), the font name of text cells, and the
merged ranges. Readers never modify the file they read.
"""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from analysis.text import nfc

#: Extensions the intake reads.
SUPPORTED = (".xlsx", ".xlsm", ".xls", ".csv", ".tsv")


class ReadError(RuntimeError):
    """A file could not be read (message in Vietnamese, names the file)."""


@dataclass
class Grid:
    """The cells of one sheet.

    Attributes:
        source_file: Path of the file relative to the raw folder (POSIX separators).
        sheet: Sheet name ('' for CSV).
        rows: Cell values, row by row (0-based); strings are NFC.
        fonts: Font name of each cell (same shape as rows), or None when the format has none.
        merged: Merged ranges as (first_row, first_col, last_row, last_col), 0-based inclusive.
        encoding: Text encoding detected for CSV files.
    """

    source_file: str
    sheet: str
    rows: list[list[object]]
    fonts: list[list[str | None]] | None = None
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    encoding: str | None = None

    @property
    def width(self) -> int:
        """Number of columns of the widest row."""
        return max((len(r) for r in self.rows), default=0)

    def cell(self, row: int, col: int) -> object:
        """Value at (row, col) or None outside the grid."""
        if row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return None


def read_source(path: Path, rel: str) -> list[Grid]:
    """Read every sheet of a raw file.

    Args:
        path: File to read.
        rel: Its path relative to the raw folder, recorded in every grid.

    Raises:
        ReadError: Unsupported, corrupt, password-protected or empty file.
    """
    from analysis.intake.guards import GuardError, check_file

    try:
        check_file(path, rel)
    except GuardError as exc:
        raise ReadError(str(exc)) from exc
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, rel)
    if suffix == ".xls":
        return _read_xls(path, rel)
    if suffix in (".csv", ".tsv"):
        return [_read_csv(path, rel)]
    raise ReadError(f"{rel}: định dạng '{suffix}' không được hỗ trợ (chỉ đọc {', '.join(SUPPORTED)})")


def _read_xlsx(path: Path, rel: str) -> list[Grid]:
    from openpyxl import load_workbook

    if path.stat().st_size == 0:
        raise ReadError(f"{rel}: tệp rỗng")
    if not zipfile.is_zipfile(path):
        head = path.read_bytes()[:8]
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise ReadError(f"{rel}: tệp Excel được đặt mật khẩu hoặc là định dạng cũ (.xls) đổi tên — "
                            "hãy mở và lưu lại thành .xlsx không mật khẩu")
        raise ReadError(f"{rel}: tệp .xlsx bị hỏng (không phải tệp zip hợp lệ)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = load_workbook(path, data_only=True, read_only=False)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise ReadError(f"{rel}: không đọc được tệp Excel ({type(exc).__name__}: {exc})") from exc
    grids = []
    for ws in wb.worksheets:
        rows: list[list[object]] = []
        fonts: list[list[str | None]] = []
        for row in ws.iter_rows():
            values, names = [], []
            for cell in row:
                value = cell.value
                if isinstance(value, str):
                    value = nfc(value)
                    names.append(cell.font.name if cell.font is not None else None)
                else:
                    names.append(None)
                values.append(value)
            rows.append(values)
            fonts.append(names)
        merged = [(r.min_row - 1, r.min_col - 1, r.max_row - 1, r.max_col - 1) for r in ws.merged_cells.ranges]
        grids.append(Grid(rel, ws.title, _trim(rows), fonts, merged))
    wb.close()
    return grids


def _read_xls(path: Path, rel: str) -> list[Grid]:
    try:
        import xlrd  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ReadError(f"{rel}: đọc tệp .xls cần gói 'xlrd' (chưa cài); hãy lưu lại thành .xlsx") from exc
    try:
        book = xlrd.open_workbook(str(path), formatting_info=False)
    except Exception as exc:
        raise ReadError(f"{rel}: không đọc được tệp .xls ({exc})") from exc
    grids = []
    for sh in book.sheets():
        rows = [[nfc(v) if isinstance(v, str) else v for v in sh.row_values(r)] for r in range(sh.nrows)]
        merged = [(r0, c0, r1 - 1, c1 - 1) for r0, r1, c0, c1 in getattr(sh, "merged_cells", [])]
        grids.append(Grid(rel, sh.name, _trim(rows), None, merged))
    return grids


#: Encodings tried in order for CSV files.
CSV_ENCODINGS = ("utf-8-sig", "utf-8", "cp1258")


def decode_csv_bytes(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes, trying UTF-8 (with or without BOM) then Windows-1258.

    Returns:
        (text in NFC, encoding name: ``utf-8-sig``, ``utf-8`` or ``cp1258``).

    Example:
        >>> decode_csv_bytes("Chi bộ".encode("utf-8"))
        ('Chi bộ', 'utf-8')
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return nfc(data[3:].decode("utf-8")), "utf-8-sig"
    try:
        return nfc(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        return nfc(data.decode("cp1258", errors="replace")), "cp1258"


def _read_csv(path: Path, rel: str) -> Grid:
    data = path.read_bytes()
    if not data.strip():
        raise ReadError(f"{rel}: tệp rỗng")
    text, encoding = decode_csv_bytes(data)
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows = [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
    cleaned = [[(v if v.strip() != "" else None) for v in r] for r in rows]
    return Grid(rel, "", _trim(cleaned), None, [], encoding)


def _trim(rows: list[list[object]]) -> list[list[object]]:
    """Drop trailing empty cells of each row (keeps row count: row numbers stay true)."""
    out = []
    for r in rows:
        end = len(r)
        while end and (r[end - 1] is None or (isinstance(r[end - 1], str) and not str(r[end - 1]).strip())):
            end -= 1
        out.append(list(r[:end]))
    return out
