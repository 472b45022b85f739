"""Readers: a raw file in, grids of cells out (one per sheet).

A :class:`Grid` keeps what header detection and text repair need: cell values (merged ranges
hold their value in the top-left cell only, as in Excel), the font name of text cells, and the
merged ranges. Readers never modify the file they read.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from analysis.text import nfc

#: Extensions the intake reads (.parquet: member register and attendance exports only).
SUPPORTED = (".xlsx", ".xlsm", ".xls", ".ods", ".docx", ".csv", ".tsv", ".parquet")
#: Extensions of flat tables that may be a member register or an attendance list.
TABULAR = (".csv", ".tsv", ".parquet")


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

    @cached_property
    def width(self) -> int:
        """Number of columns of the widest row (computed once: a grid's rows are not changed)."""
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

    A .docx gives one grid per table (none when it has no table); see :func:`_read_docx`.
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
    if suffix == ".ods":
        return _read_ods(path, rel)
    if suffix == ".docx":
        return _read_docx(path, rel)
    if suffix in (".csv", ".tsv"):
        return [_read_csv(path, rel)]
    raise ReadError(f"{rel}: định dạng '{suffix}' không được hỗ trợ (chỉ đọc {', '.join(SUPPORTED)})")


def _read_xlsx(path: Path, rel: str) -> list[Grid]:
    if path.stat().st_size == 0:
        raise ReadError(f"{rel}: tệp rỗng")
    if not zipfile.is_zipfile(path):
        head = path.read_bytes()[:8]
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise ReadError(f"{rel}: tệp Excel được đặt mật khẩu hoặc là định dạng cũ (.xls) đổi tên — "
                            "hãy mở và lưu lại thành .xlsx không mật khẩu")
        raise ReadError(f"{rel}: tệp .xlsx bị hỏng (không phải tệp zip hợp lệ)")
    from defusedxml import DefusedXmlException

    try:
        return read_xlsx(path, rel)
    except ReadError:
        raise
    except DefusedXmlException as exc:
        raise ReadError(f"{rel}: tệp chứa khai báo XML nguy hiểm ({type(exc).__name__}) — từ chối đọc") from exc
    except Exception:  # noqa: BLE001 - an odd but valid workbook: let openpyxl try
        return read_xlsx_openpyxl(path, rel)


def read_xlsx_openpyxl(path: Path, rel: str) -> list[Grid]:
    """Read an .xlsx with openpyxl (slower; the fallback and the tests' reference reader)."""
    from openpyxl import load_workbook

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


# ---------------------------------------------------------------------------------------------
# .xlsx: a small streaming reader (zip + defusedxml), about 5x faster than openpyxl
# ---------------------------------------------------------------------------------------------

_REL_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REL_STRICT = "http://purl.oclc.org/ooxml/officeDocument/relationships"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_xml(zf: zipfile.ZipFile, name: str):
    """Parse one part with defusedxml (entity declarations refused); None when absent."""
    from defusedxml.ElementTree import fromstring

    try:
        data = zf.read(name)
    except KeyError:
        return None
    return fromstring(data)


def _rel_targets(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type suffix, absolute part name) of ``part``."""
    folder, _, base = part.rpartition("/")
    root = _parse_xml(zf, f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels")
    out: dict[str, tuple[str, str]] = {}
    if root is None:
        return out
    for rel in root:
        target = rel.get("Target") or ""
        if rel.get("TargetMode") == "External":
            continue
        if target.startswith("/"):
            path = target.lstrip("/")
        else:
            parts = [p for p in (folder.split("/") if folder else [])]
            for piece in target.split("/"):
                if piece == "..":
                    if parts:
                        parts.pop()
                elif piece and piece != ".":
                    parts.append(piece)
            path = "/".join(parts)
        out[rel.get("Id") or ""] = ((rel.get("Type") or "").rsplit("/", 1)[-1], path)
    return out


def _text_of(node) -> str:
    """Text of a shared/inline string: every <t> except phonetic runs (<rPh>)."""
    parts: list[str] = []
    for child in node:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            for sub in child:
                if _local(sub.tag) == "t":
                    parts.append(sub.text or "")
    return "".join(parts)


def _run_font(node) -> str | None:
    """Font of the first non-blank rich-text run, if the runs name one."""
    for child in node:
        if _local(child.tag) != "r":
            continue
        text = "".join(sub.text or "" for sub in child if _local(sub.tag) == "t")
        if not text.strip():
            continue
        for sub in child:
            if _local(sub.tag) == "rPr":
                for prop in sub:
                    if _local(prop.tag) in ("rFont", "name"):
                        return prop.get("val")
        return None
    return None


@dataclass
class _Styles:
    fonts: list[str | None]
    xf_font: list[int]
    xf_date: list[bool]


def _styles(zf: zipfile.ZipFile, part: str | None) -> _Styles:
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    root = _parse_xml(zf, part) if part else None
    if root is None:
        return _Styles([None], [0], [False])
    fonts: list[str | None] = []
    formats: dict[int, str] = dict(BUILTIN_FORMATS)
    xf_font: list[int] = []
    xf_date: list[bool] = []
    for section in root:
        name = _local(section.tag)
        if name == "fonts":
            for font in section:
                found = None
                for prop in font:
                    if _local(prop.tag) == "name":
                        found = prop.get("val")
                fonts.append(found)
        elif name == "numFmts":
            for fmt in section:
                try:
                    formats[int(fmt.get("numFmtId") or -1)] = fmt.get("formatCode") or ""
                except ValueError:
                    continue
        elif name == "cellXfs":
            for xf in section:
                try:
                    xf_font.append(int(xf.get("fontId") or 0))
                    fmt_id = int(xf.get("numFmtId") or 0)
                except ValueError:
                    xf_font.append(0)
                    fmt_id = 0
                code = formats.get(fmt_id, "")
                xf_date.append(bool(code) and is_date_format(code))
    return _Styles(fonts or [None], xf_font or [0], xf_date or [False])


def _cell_ref(ref: str) -> tuple[int, int]:
    """'B6' -> (5, 1), 0-based (row, col)."""
    col = 0
    i = 0
    while i < len(ref) and ref[i].isalpha():
        col = col * 26 + (ord(ref[i].upper()) - 64)
        i += 1
    return int(ref[i:]) - 1, col - 1


def _number(text: str) -> int | float:
    if any(ch in text for ch in ".eE") or text.lower() in ("nan", "inf", "-inf"):
        return float(text)
    return int(text)


def read_xlsx(path: Path, rel: str) -> list[Grid]:
    """Read every worksheet of an .xlsx/.xlsm: cached values, fonts of text cells, merged ranges.

    Values are what Excel last computed (formulas give their cached result, like openpyxl's
    ``data_only=True``); numbers in a date format become :class:`datetime.datetime`; the font of a
    text cell is that of its first rich-text run when the runs name one, else the cell's font.
    XML is parsed with ``defusedxml`` (entity declarations are refused).

    Raises:
        ReadError: Not a valid workbook.
    """
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        wb_part = "xl/workbook.xml"
        root_rels = _rel_targets(zf, "")
        for kind, target in root_rels.values():
            if kind == "officeDocument":
                wb_part = target
        if wb_part not in names:
            raise ReadError(f"{rel}: tệp .xlsx không có phần workbook (không phải sổ tính Excel)")
        workbook = _parse_xml(zf, wb_part)
        rels = _rel_targets(zf, wb_part)
        styles_part = next((t for k, t in rels.values() if k == "styles"), None)
        strings_part = next((t for k, t in rels.values() if k == "sharedStrings"), None)
        styles = _styles(zf, styles_part)
        shared: list[tuple[str, str | None]] = []
        sst = _parse_xml(zf, strings_part) if strings_part else None
        if sst is not None:
            shared = [(nfc(_text_of(si)), _run_font(si)) for si in sst if _local(si.tag) == "si"]
        epoch_1904 = False
        sheets: list[tuple[str, str]] = []
        for section in workbook:
            name = _local(section.tag)
            if name == "workbookPr":
                epoch_1904 = (section.get("date1904") or "0").lower() in ("1", "true")
            elif name == "sheets":
                for sh in section:
                    rid = sh.get(f"{{{_REL_OFFICE}}}id") or sh.get(f"{{{_REL_STRICT}}}id") or ""
                    kind, target = rels.get(rid, ("", ""))
                    if kind == "worksheet" and target in names:
                        sheets.append((sh.get("name") or "", target))
        grids = [_read_sheet(zf, part, rel, name, styles, shared, epoch_1904) for name, part in sheets]
    return grids


def _read_sheet(zf: zipfile.ZipFile, part: str, rel: str, name: str, styles: _Styles,
                shared: list[tuple[str, str | None]], epoch_1904: bool) -> Grid:
    from defusedxml.ElementTree import iterparse
    from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel

    cells: dict[int, dict[int, tuple[object, str | None]]] = {}
    merged: list[tuple[int, int, int, int]] = []
    n_fonts = len(styles.fonts)
    row_idx, col_idx = -1, -1
    with zf.open(part) as fh:
        for event, el in iterparse(fh, events=("start", "end")):
            tag = _local(el.tag)
            if event == "start":
                if tag == "row":
                    ref = el.get("r")
                    row_idx = int(ref) - 1 if ref and ref.isdigit() else row_idx + 1
                    col_idx = -1
                continue
            if tag == "c":
                ref = el.get("r")
                r, c = _cell_ref(ref) if ref else (max(row_idx, 0), col_idx + 1)
                col_idx = c
                kind = el.get("t") or "n"
                try:
                    xf = int(el.get("s") or 0)
                except ValueError:
                    xf = 0
                value: object = None
                font: str | None = None
                v_text = None
                inline = None
                for child in el:
                    cname = _local(child.tag)
                    if cname == "v":
                        v_text = child.text
                    elif cname == "is":
                        inline = child
                if kind == "s" and v_text is not None:
                    idx = int(v_text)
                    if 0 <= idx < len(shared):
                        value, font = shared[idx]
                elif kind == "inlineStr" and inline is not None:
                    value, font = nfc(_text_of(inline)), _run_font(inline)
                elif kind in ("str", "e") and v_text is not None:
                    value = nfc(v_text)
                elif kind == "b" and v_text is not None:
                    value = v_text.strip() in ("1", "true")
                elif kind == "d" and v_text is not None:
                    value = _iso_datetime(v_text)
                elif v_text is not None and v_text.strip():
                    try:
                        value = _number(v_text.strip())
                    except ValueError:
                        value = nfc(v_text)
                    if not isinstance(value, str) and xf < len(styles.xf_date) and styles.xf_date[xf]:
                        try:
                            value = from_excel(value, epoch=MAC_EPOCH if epoch_1904 else WINDOWS_EPOCH)
                        except (ValueError, OverflowError, TypeError):
                            pass
                if isinstance(value, str) and font is None:
                    fid = styles.xf_font[xf] if xf < len(styles.xf_font) else 0
                    font = styles.fonts[fid] if 0 <= fid < n_fonts else None
                if value is not None and value != "":
                    cells.setdefault(r, {})[c] = (value, font if isinstance(value, str) else None)
                el.clear()
            elif tag == "row":
                el.clear()
            elif tag == "mergeCell":
                ref = el.get("ref") or ""
                if ":" in ref:
                    a, b = ref.split(":", 1)
                    (r0, c0), (r1, c1) = _cell_ref(a), _cell_ref(b)
                    merged.append((min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)))
    # rows start at sheet row 1 (row numbers stay true), as openpyxl's iter_rows
    n_rows = max(cells) + 1 if cells else 0
    rows: list[list[object]] = []
    fonts: list[list[str | None]] = []
    for r in range(n_rows):
        found = cells.get(r)
        if not found:
            rows.append([])
            fonts.append([])
            continue
        width = max(found) + 1
        rows.append([found[c][0] if c in found else None for c in range(width)])
        fonts.append([found[c][1] if c in found else None for c in range(width)])
    return Grid(rel, name, _trim(rows), fonts, merged)


def _iso_datetime(text: str) -> object:
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(text.strip().rstrip("Z"))
    except ValueError:
        return nfc(text)


def _read_xls(path: Path, rel: str) -> list[Grid]:
    """Read an Excel 97–2003 workbook with ``xlrd`` (values, fonts of text cells, merged ranges).

    Old workbooks are where legacy fonts live, so the font of every text cell is kept for
    :func:`analysis.text.repair_column`. Date cells become :class:`datetime.datetime`, whole
    numbers ``int``, error cells their Excel text ("#DIV/0!").

    Raises:
        ReadError: ``xlrd`` is not installed, or the file is encrypted, corrupt or not an .xls.
    """
    if path.stat().st_size == 0:
        raise ReadError(f"{rel}: tệp rỗng")
    try:
        import xlrd  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ReadError(f"{rel}: đọc tệp .xls cần gói 'xlrd' (chưa cài: pip install xlrd) — "
                        "hoặc mở tệp và lưu lại thành .xlsx") from exc
    head = path.read_bytes()[:8]
    if head.startswith(b"PK"):
        return _read_xlsx(path, rel)  # an .xlsx saved with the old extension
    try:
        book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    except Exception as exc:  # noqa: BLE001 - xlrd raises many types for broken files
        text = str(exc)
        if "encrypt" in text.lower():
            raise ReadError(f"{rel}: tệp .xls được đặt mật khẩu — hãy bỏ mật khẩu rồi gửi lại") from exc
        raise ReadError(f"{rel}: không đọc được tệp .xls ({type(exc).__name__}: {text})") from exc
    try:
        return [_xls_sheet(book, book.sheet_by_index(i), rel) for i in range(book.nsheets)]
    finally:
        book.release_resources()


def _xls_sheet(book, sh, rel: str) -> Grid:
    import xlrd  # type: ignore[import-not-found]

    fonts_of = [f.name for f in book.font_list]
    rows: list[list[object]] = []
    fonts: list[list[str | None]] = []
    for r in range(sh.nrows):
        values: list[object] = []
        names: list[str | None] = []
        for c in range(sh.row_len(r)):
            cell = sh.cell(r, c)
            value: object = cell.value
            font = None
            if cell.ctype == xlrd.XL_CELL_TEXT:
                value = nfc(value) if value != "" else None
                xf = book.xf_list[cell.xf_index] if cell.xf_index is not None else None
                font = fonts_of[xf.font_index] if xf is not None and xf.font_index < len(fonts_of) else None
            elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                value = None
            elif cell.ctype == xlrd.XL_CELL_NUMBER:
                value = int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)
            elif cell.ctype == xlrd.XL_CELL_DATE:
                try:
                    value = xlrd.xldate_as_datetime(value, book.datemode)
                except Exception:  # noqa: BLE001 - an impossible date stays a number
                    value = float(value)
            elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                value = bool(value)
            elif cell.ctype == xlrd.XL_CELL_ERROR:
                value = xlrd.error_text_from_code.get(value, "#ERR")
            values.append(value)
            names.append(font)
        rows.append(values)
        fonts.append(names)
    merged = [(r0, c0, r1 - 1, c1 - 1) for r0, r1, c0, c1 in sh.merged_cells]
    return Grid(rel, sh.name, _trim(rows), fonts, merged)


# ---------------------------------------------------------------------------------------------
# Zip packages (.ods, .docx): opened with the same guards as .xlsx
# ---------------------------------------------------------------------------------------------

#: Most cells one .ods grid may hold once repeated rows and columns are expanded (trailing empty
#: repeats are never expanded; this stops a file that repeats *filled* cells millions of times).
ODS_MAX_CELLS = 10_000_000
#: Largest sheet LibreOffice Calc makes (rows, columns); a cell beyond it means a forged file.
ODS_MAX_ROWS, ODS_MAX_COLS = 1_048_576, 16_384


def _open_package(path: Path, rel: str, kind: str) -> zipfile.ZipFile:
    """Open a zip-based document after the zip-bomb guard (nothing is decompressed before it).

    Args:
        path: The file.
        rel: Its path relative to the raw folder.
        kind: "ods" or "docx" (chooses the messages).

    Raises:
        ReadError: Empty, encrypted (an OLE container), not a zip, or a zip bomb.
    """
    from analysis.intake.guards import GuardError, Limits, check_zip

    if path.stat().st_size == 0:
        raise ReadError(f"{rel}: tệp rỗng")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        if kind == "docx":
            raise ReadError(f"{rel}: tệp Word được đặt mật khẩu hoặc là định dạng cũ (.doc) đổi tên — "
                            "hãy mở và lưu lại thành .docx không mật khẩu")
        raise ReadError(f"{rel}: tệp bảng tính được đặt mật khẩu hoặc là định dạng cũ (.xls) đổi tên — "
                        "hãy mở và lưu lại thành .ods hoặc .xlsx không mật khẩu")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ReadError(f"{rel}: tệp .{kind} bị hỏng (không phải tệp zip hợp lệ)") from exc
    try:
        check_zip(path, rel, Limits.from_env())
    except GuardError as exc:
        zf.close()
        raise ReadError(str(exc)) from exc
    return zf


def _package_errors(rel: str, kind: str, exc: Exception) -> ReadError:
    """The ReadError for an exception raised while parsing a package part."""
    from defusedxml import DefusedXmlException

    if isinstance(exc, DefusedXmlException):
        return ReadError(f"{rel}: tệp chứa khai báo XML nguy hiểm ({type(exc).__name__}) — từ chối đọc")
    return ReadError(f"{rel}: tệp .{kind} bị hỏng ({type(exc).__name__}: {exc})")


def _vi_count(n: int) -> str:
    """A count for a Vietnamese message: 1048576 -> '1.048.576'."""
    return f"{n:,}".replace(",", ".")


def _whole(value: float) -> int | float:
    """A float as int when whole and exactly representable, else the float."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


# ---------------------------------------------------------------------------------------------
# .ods (OpenDocument spreadsheet, LibreOffice Calc)
# ---------------------------------------------------------------------------------------------

_ODF = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "manifest": "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0",
}


def _odf(qname: str) -> str:
    """'table:table-cell' -> '{urn:...:table:1.0}table-cell'."""
    prefix, _, name = qname.partition(":")
    return f"{{{_ODF[prefix]}}}{name}"


_T_TABLE, _T_ROW, _T_COLUMN = _odf("table:table"), _odf("table:table-row"), _odf("table:table-column")
_T_CELL, _T_COVERED = _odf("table:table-cell"), _odf("table:covered-table-cell")
_A_NAME, _A_STYLE = _odf("table:name"), _odf("table:style-name")
_A_DEFAULT_STYLE = _odf("table:default-cell-style-name")
_A_ROWS_REP, _A_COLS_REP = _odf("table:number-rows-repeated"), _odf("table:number-columns-repeated")
_A_ROWS_SPAN, _A_COLS_SPAN = _odf("table:number-rows-spanned"), _odf("table:number-columns-spanned")
_A_VTYPE, _A_VALUE = _odf("office:value-type"), _odf("office:value")
_A_DATE, _A_BOOL = _odf("office:date-value"), _odf("office:boolean-value")
_A_STRING = _odf("office:string-value")
_TX_P, _TX_H, _TX_SPAN = _odf("text:p"), _odf("text:h"), _odf("text:span")
_TX_S, _TX_TAB, _TX_BREAK = _odf("text:s"), _odf("text:tab"), _odf("text:line-break")
_TX_LIST, _TX_ITEM, _TX_HEADER = _odf("text:list"), _odf("text:list-item"), _odf("text:list-header")
_TX_STYLE = _odf("text:style-name")
#: Elements inside a paragraph whose text is not the cell's (comments, notes, drawings).
_ODF_SKIP_NS = tuple(f"{{{ns}}}" for ns in (_ODF["office"], "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"))
_ODF_SKIP = frozenset({_odf("text:note"), _odf("text:soft-page-break"), _odf("text:bookmark"),
                       _odf("text:ruby-text")})
_ODF_WS = re.compile(r"[ \t\n\r]+")


class _OdsStyles:
    """Fonts of the cell and text styles of an ODF document (styles.xml then content.xml)."""

    def __init__(self) -> None:
        self.faces: dict[str, str] = {}
        self.styles: dict[str, tuple[str | None, str | None, str]] = {}  # name -> (parent, font, family)
        self.defaults: dict[str, str] = {}  # family -> font of style:default-style
        self._cache: dict[str, str | None] = {}

    def add(self, section) -> None:
        """Take the font faces or styles of one section (font-face-decls, styles, automatic-styles)."""
        self._cache.clear()
        for node in section:
            tag = _local(node.tag)
            if tag == "font-face":
                name = node.get(_odf("style:name"))
                family = (node.get(_odf("svg:font-family")) or name or "").strip().strip("'\"")
                if name:
                    self.faces[name] = family
            elif tag in ("style", "default-style"):
                family = node.get(_odf("style:family")) or ""
                font = None
                for prop in node:
                    if _local(prop.tag) == "text-properties":
                        face = prop.get(_odf("style:font-name"))
                        direct = prop.get(_odf("fo:font-family"))
                        if face:
                            font = self.faces.get(face, face)
                        elif direct:
                            font = direct.strip().strip("'\"")
                if tag == "default-style":
                    if font:
                        self.defaults[family] = font
                else:
                    name = node.get(_odf("style:name"))
                    if name:
                        self.styles[name] = (node.get(_odf("style:parent-style-name")), font, family)

    def font(self, name: str | None, family: str = "table-cell") -> str | None:
        """Font of style ``name`` through its parents, else the family default (None: unknown)."""
        key = f"{family}\x00{name}"
        if key in self._cache:
            return self._cache[key]
        found = None
        seen: set[str] = set()
        current = name if name is not None else ("Default" if family == "table-cell" else None)
        while current and current not in seen:
            seen.add(current)
            parent, font, _ = self.styles.get(current, (None, None, family))
            if font:
                found = font
                break
            current = parent
        if found is None and (family == "table-cell" or name is None):
            found = self.defaults.get(family)
        self._cache[key] = found
        return found

    def span_font(self, name: str | None) -> str | None:
        """Font a text span's own style names (no family default: the cell's font applies)."""
        if not name:
            return None
        seen: set[str] = set()
        current: str | None = name
        while current and current not in seen:
            seen.add(current)
            parent, font, _ = self.styles.get(current, (None, None, "text"))
            if font:
                return font
            current = parent
        return None


class _OdfParagraph:
    """Text of ODF paragraphs with the white-space rules of ODF 1.2 §6.1.2, and the span font of
    the first non-blank text."""

    def __init__(self, styles: _OdsStyles) -> None:
        self.styles = styles
        self.parts: list[str] = []
        self.after_space = True
        self.first_font: str | None = None
        self.seen_text = False

    def chars(self, text: str | None, font: str | None) -> None:
        if not text:
            return
        text = _ODF_WS.sub(" ", text)
        if self.after_space and text.startswith(" "):
            text = text[1:]
        if not text:
            return
        self.after_space = text.endswith(" ")
        if not self.seen_text and text.strip():
            self.seen_text = True
            self.first_font = font
        self.parts.append(text)

    def literal(self, text: str) -> None:
        self.parts.append(text)
        self.after_space = True

    def walk(self, node, font: str | None) -> None:
        for child in node:
            tag = child.tag
            if tag == _TX_S:
                try:
                    count = int(child.get(_odf("text:c")) or 1)
                except ValueError:
                    count = 1
                self.literal(" " * max(0, min(count, 10_000)))
            elif tag == _TX_TAB:
                self.literal("\t")
            elif tag == _TX_BREAK:
                self.literal("\n")
            elif tag in _ODF_SKIP or tag.startswith(_ODF_SKIP_NS):
                pass
            else:
                inner = font
                if tag == _TX_SPAN:
                    inner = self.styles.span_font(child.get(_TX_STYLE)) or font
                self.chars(child.text, inner)
                self.walk(child, inner)
            self.chars(child.tail, font)

    def start_cell(self) -> None:
        """Forget the first text seen (a new cell starts)."""
        self.first_font = None
        self.seen_text = False

    def paragraph(self, p) -> str:
        self.parts = []
        self.after_space = True
        self.chars(p.text, None)
        self.walk(p, None)
        return "".join(self.parts)


def _ods_paragraphs(node, reader: _OdfParagraph, out: list[str]) -> None:
    """Texts of the paragraphs of a cell (its direct text:p/text:h, and those of lists)."""
    for child in node:
        if child.tag in (_TX_P, _TX_H):
            out.append(reader.paragraph(child))
        elif child.tag in (_TX_LIST, _TX_ITEM, _TX_HEADER):
            _ods_paragraphs(child, reader, out)


def _ods_number(text: str | None) -> int | float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return _whole(value) if value == value and abs(value) != float("inf") else value


def _ods_int(text: str | None) -> int:
    try:
        return max(1, int(text)) if text else 1
    except ValueError:
        return 1


class _OdsSheet:
    """Rows of one table:table, built row by row (empty repeats stay counts until a filled row)."""

    def __init__(self, rel: str, name: str, styles: _OdsStyles) -> None:
        self.rel, self.name, self.styles = rel, name, styles
        self.rows: list[list[object]] = []
        self.fonts: list[list[str | None]] = []
        self.merged: list[tuple[int, int, int, int]] = []
        self.pending_rows = 0
        self.cells = 0
        self.col_ends: list[int] = []  # run-length default cell styles of the columns
        self.col_styles: list[str | None] = []
        self.paragraph = _OdfParagraph(styles)

    def _spend(self, cells: int) -> None:
        self.cells += cells
        if self.cells > ODS_MAX_CELLS:
            raise ReadError(f"{self.rel}: trang '{self.name}' có hơn {_vi_count(ODS_MAX_CELLS)} ô sau khi khai triển "
                            "các ô lặp lại — nghi là tệp độc hại, từ chối đọc")

    def column(self, el) -> None:
        """A table:table-column: its default cell style (kept as a run, never expanded)."""
        start = self.col_ends[-1] if self.col_ends else 0
        if start >= ODS_MAX_COLS:
            return
        self.col_ends.append(min(start + _ods_int(el.get(_A_COLS_REP)), ODS_MAX_COLS))
        self.col_styles.append(el.get(_A_DEFAULT_STYLE))

    def _column_style(self, col: int) -> str | None:
        import bisect

        i = bisect.bisect_right(self.col_ends, col)
        return self.col_styles[i] if i < len(self.col_styles) else None

    def _cell(self, cell, col: int, row_style: str | None) -> tuple[object, str | None]:
        """(value, font of a text value) of one cell; (None, None) when empty."""
        import datetime as dt

        vtype = cell.get(_A_VTYPE)
        value: object = None
        if vtype in ("float", "currency", "percentage"):
            value = _ods_number(cell.get(_A_VALUE))
            if vtype == "percentage" and isinstance(value, int):
                value = float(value)
        elif vtype == "date":
            raw = (cell.get(_A_DATE) or "").strip()
            try:
                value = dt.datetime.fromisoformat(raw.rstrip("Z")) if raw else None
            except ValueError:
                value = None
        elif vtype == "boolean":
            raw = (cell.get(_A_BOOL) or "").strip().lower()
            value = raw in ("true", "1") if raw else None
        elif vtype == "string" and cell.get(_A_STRING) is not None:
            value = nfc(cell.get(_A_STRING) or "") or None
        if value is not None:
            return value, (self._cell_font(cell, col, row_style) if isinstance(value, str) else None)
        texts: list[str] = []
        self.paragraph.start_cell()
        _ods_paragraphs(cell, self.paragraph, texts)
        text = nfc("\n".join(texts)) if texts else ""
        if not text:
            return None, None
        if vtype in ("float", "currency", "percentage", "date", "boolean", "time"):
            return text, None  # a value the reader cannot take: its displayed text
        return text, self.paragraph.first_font or self._cell_font(cell, col, row_style)

    def _cell_font(self, cell, col: int, row_style: str | None) -> str | None:
        style = cell.get(_A_STYLE) or row_style or self._column_style(col)
        return self.styles.font(style)

    def row(self, el) -> None:
        """A table:table-row: expand its cells (not its trailing empty ones) and its repeats."""
        repeat = _ods_int(el.get(_A_ROWS_REP))
        row_style = el.get(_A_DEFAULT_STYLE)
        values: list[object] = []
        fonts: list[str | None] = []
        spans: list[tuple[int, int, int]] = []  # (col, rows, cols)
        col = 0
        empty_run = 0
        for cell in el:
            if cell.tag not in (_T_CELL, _T_COVERED):
                continue
            n = _ods_int(cell.get(_A_COLS_REP))
            value, font = (None, None) if cell.tag == _T_COVERED else self._cell(cell, col, row_style)
            rspan, cspan = _ods_int(cell.get(_A_ROWS_SPAN)), _ods_int(cell.get(_A_COLS_SPAN))
            if cell.tag == _T_COVERED or (value is None and rspan == 1 and cspan == 1):
                empty_run += n
                col += n
                continue
            if col + n > ODS_MAX_COLS:
                raise ReadError(f"{self.rel}: trang '{self.name}' có ô ở cột {_vi_count(col + n)} "
                                f"(> {_vi_count(ODS_MAX_COLS)} cột) — tệp không hợp lệ, từ chối đọc")
            self._spend((empty_run + n) * repeat)
            values.extend([None] * empty_run)
            fonts.extend([None] * empty_run)
            empty_run = 0
            values.extend([value] * n)
            fonts.extend([font] * n)
            if rspan > 1 or cspan > 1:
                spans.extend((col + k, rspan, cspan) for k in range(n))
            col += n
        if not values:
            self.pending_rows += repeat
            return
        first = len(self.rows) + self.pending_rows
        if first + repeat > ODS_MAX_ROWS:
            raise ReadError(f"{self.rel}: trang '{self.name}' có ô ở dòng {_vi_count(first + repeat)} "
                            f"(> {_vi_count(ODS_MAX_ROWS)} dòng) — tệp không hợp lệ, từ chối đọc")
        self._spend(self.pending_rows + len(spans) * repeat)
        for _ in range(self.pending_rows):
            self.rows.append([])
            self.fonts.append([])
        self.pending_rows = 0
        for k in range(repeat):
            self.rows.append(list(values))
            self.fonts.append(list(fonts))
            for c, rs, cs in spans:
                self.merged.append((first + k, c, first + k + rs - 1, c + cs - 1))

    def grid(self) -> Grid:
        rows = _trim(self.rows)
        fonts = [f[: len(r)] for f, r in zip(self.fonts, rows, strict=True)]
        return Grid(self.rel, self.name, rows, fonts, self.merged)


_ODS_MIMETYPES = ("application/vnd.oasis.opendocument.spreadsheet",
                  "application/vnd.oasis.opendocument.spreadsheet-template")


def _read_ods(path: Path, rel: str) -> list[Grid]:
    """Read every table of an OpenDocument spreadsheet (.ods, LibreOffice Calc).

    ``content.xml`` is streamed with ``defusedxml`` (one row in memory at a time). Repeated
    columns and rows are expanded, except trailing empty repeats (Calc writes a last row repeated
    up to row 1048576); spans become merged ranges (value in the top-left cell). Values follow
    ``office:value-type``: float/currency (int when whole), percentage (the stored fraction, a
    float), date (datetime), boolean, string (paragraphs joined by "\\n", white space as ODF
    says). A text cell's font is that of the span holding its first non-blank text when the
    span's style names one, else that of the cell's style (through the row's or column's default
    cell style and the style parents).

    Raises:
        ReadError: Empty, broken, encrypted or not a spreadsheet, or too many cells.
    """
    zf = _open_package(path, rel, "ods")
    with zf:
        names = set(zf.namelist())
        try:
            mimetype = zf.read("mimetype").decode("ascii", "replace").strip() if "mimetype" in names else ""
            if "content.xml" not in names and "xl/workbook.xml" in names:
                return read_xlsx(path, rel)  # an .xlsx saved with the .ods extension
            if mimetype and mimetype not in _ODS_MIMETYPES:
                raise ReadError(f"{rel}: tệp không phải bảng tính ODS (loại '{mimetype}') — "
                                "hãy mở bằng LibreOffice Calc và lưu lại thành .ods hoặc .xlsx")
            if "content.xml" not in names:
                raise ReadError(f"{rel}: tệp .ods không có phần content.xml (không phải bảng tính ODS)")
            if _odf_encrypted(zf, names):
                raise ReadError(f"{rel}: tệp .ods được đặt mật khẩu — hãy bỏ mật khẩu rồi gửi lại")
            styles = _OdsStyles()
            root = _parse_xml(zf, "styles.xml") if "styles.xml" in names else None
            if root is not None:
                for section in root:
                    if _local(section.tag) in ("font-face-decls", "styles", "automatic-styles"):
                        styles.add(section)
            return _ods_content(zf, rel, styles)
        except ReadError:
            raise
        except Exception as exc:  # noqa: BLE001 - XML, zlib and zip errors all mean a broken file
            raise _package_errors(rel, "ods", exc) from exc


def _odf_encrypted(zf: zipfile.ZipFile, names: set[str]) -> bool:
    """True when the manifest says content.xml is encrypted (a password-protected document)."""
    root = _parse_xml(zf, "META-INF/manifest.xml") if "META-INF/manifest.xml" in names else None
    if root is None:
        return False
    for entry in root:
        if entry.get(_odf("manifest:full-path")) == "content.xml":
            return any(_local(child.tag) == "encryption-data" for child in entry)
    return False


def _ods_content(zf: zipfile.ZipFile, rel: str, styles: _OdsStyles) -> list[Grid]:
    from defusedxml.ElementTree import iterparse

    grids: list[Grid] = []
    stack: list = []
    depth = 0  # table:table nesting
    sheet: _OdsSheet | None = None
    spreadsheet = _odf("office:spreadsheet")
    with zf.open("content.xml") as fh:
        for event, el in iterparse(fh, events=("start", "end")):
            if event == "start":
                if el.tag == _T_TABLE:
                    depth += 1
                    if depth == 1 and stack and stack[-1].tag == spreadsheet:
                        sheet = _OdsSheet(rel, nfc(el.get(_A_NAME) or f"Sheet{len(grids) + 1}"), styles)
                stack.append(el)
                continue
            stack.pop()
            tag = el.tag
            if tag == _T_ROW:
                if depth == 1 and sheet is not None:
                    sheet.row(el)
                if depth == 1:
                    el.clear()
                    if stack:
                        stack[-1].remove(el)
            elif tag == _T_COLUMN:
                if depth == 1 and sheet is not None:
                    sheet.column(el)
            elif tag == _T_TABLE:
                if depth == 1 and sheet is not None:
                    grids.append(sheet.grid())
                    sheet = None
                depth -= 1
                if depth == 0:
                    el.clear()
            elif _local(tag) in ("font-face-decls", "automatic-styles") and depth == 0 and len(stack) == 1:
                styles.add(el)
                el.clear()
    return grids


# ---------------------------------------------------------------------------------------------
# .docx: the tables of a Word report ("biểu kèm theo"), with the paragraphs above each one
# ---------------------------------------------------------------------------------------------

#: Most paragraphs above a table kept as its title rows.
DOCX_TITLE_PARAGRAPHS = 8


def _wattr(el, name: str) -> str | None:
    """Attribute ``name`` of a WordprocessingML element, whatever its namespace (w: or strict)."""
    for key, value in el.attrib.items():
        if key.rsplit("}", 1)[-1] == name:
            return value
    return None


def _wchild(el, name: str):
    for child in el:
        if _local(child.tag) == name:
            return child
    return None


#: Wrappers whose content is read as if it stood in their place.
_W_WRAPPERS = frozenset({"customXml", "smartTag", "hyperlink", "ins", "moveTo", "fldSimple", "dir", "bdo"})


def _w_unwrap(parent, wanted: frozenset[str]):
    """Children of ``parent`` named in ``wanted``, looking through content controls and wrappers."""
    for child in parent:
        name = _local(child.tag)
        if name in wanted:
            yield child
        elif name == "sdt":
            content = _wchild(child, "sdtContent")
            if content is not None:
                yield from _w_unwrap(content, wanted)
        elif name in _W_WRAPPERS:
            yield from _w_unwrap(child, wanted)


class _DocxFonts:
    """Fonts of runs: direct w:rFonts, else character style, paragraph style, defaults, theme."""

    def __init__(self, zf: zipfile.ZipFile, doc_part: str) -> None:
        self.styles: dict[str, tuple[str | None, str | None]] = {}  # id -> (basedOn, font)
        self.default_paragraph: str | None = None
        self.doc_default: str | None = None
        self.theme: dict[str, str] = {}
        rels = _rel_targets(zf, doc_part)
        theme_part = next((t for k, t in rels.values() if k == "theme"), None)
        theme = _parse_xml(zf, theme_part) if theme_part else None
        if theme is not None:
            for node in theme.iter():
                if _local(node.tag) in ("majorFont", "minorFont"):
                    latin = _wchild(node, "latin")
                    if latin is not None and latin.get("typeface"):
                        self.theme["major" if _local(node.tag) == "majorFont" else "minor"] = latin.get("typeface")
        styles_part = next((t for k, t in rels.values() if k == "styles"), None)
        root = _parse_xml(zf, styles_part) if styles_part else None
        if root is None:
            return
        for node in root:
            name = _local(node.tag)
            if name == "docDefaults":
                for sub in node.iter():
                    if _local(sub.tag) == "rFonts":
                        self.doc_default = self.rfonts(sub)
                        break
            elif name == "style":
                sid = _wattr(node, "styleId")
                if not sid:
                    continue
                based = _wchild(node, "basedOn")
                rpr = _wchild(node, "rPr")
                rfonts = _wchild(rpr, "rFonts") if rpr is not None else None
                self.styles[sid] = (_wattr(based, "val") if based is not None else None,
                                    self.rfonts(rfonts) if rfonts is not None else None)
                if _wattr(node, "type") == "paragraph" and _wattr(node, "default") in ("1", "true", "on"):
                    self.default_paragraph = sid

    def rfonts(self, el) -> str | None:
        """Font a w:rFonts names for Latin text (ascii, hAnsi, then their theme fonts)."""
        for attr in ("ascii", "hAnsi"):
            value = _wattr(el, attr)
            if value:
                return value
        for attr in ("asciiTheme", "hAnsiTheme"):
            value = _wattr(el, attr)
            if value:
                return self.theme.get("major" if value.startswith("major") else "minor")
        return None

    def style_font(self, sid: str | None) -> str | None:
        seen: set[str] = set()
        while sid and sid not in seen:
            seen.add(sid)
            based, font = self.styles.get(sid, (None, None))
            if font:
                return font
            sid = based
        return None

    def run_font(self, run, paragraph_style: str | None) -> str | None:
        rpr = _wchild(run, "rPr")
        if rpr is not None:
            rfonts = _wchild(rpr, "rFonts")
            font = self.rfonts(rfonts) if rfonts is not None else None
            if font:
                return font
            rstyle = _wchild(rpr, "rStyle")
            font = self.style_font(_wattr(rstyle, "val")) if rstyle is not None else None
            if font:
                return font
        return self.style_font(paragraph_style or self.default_paragraph) or self.doc_default


_W_RUN_TEXT = frozenset({"r"})


def _docx_paragraph(p, fonts: _DocxFonts) -> tuple[str, str | None]:
    """(text, font of its first non-blank run) of a w:p."""
    ppr = _wchild(p, "pPr")
    pstyle = _wchild(ppr, "pStyle") if ppr is not None else None
    style = _wattr(pstyle, "val") if pstyle is not None else None
    parts: list[str] = []
    font: str | None = None
    found = False
    for run in _w_unwrap(p, _W_RUN_TEXT):
        pieces: list[str] = []
        for child in run:
            name = _local(child.tag)
            if name == "t":
                pieces.append(child.text or "")
            elif name == "tab":
                pieces.append("\t")
            elif name in ("br", "cr"):
                if _wattr(child, "type") in (None, "textWrapping"):
                    pieces.append("\n")
            elif name == "noBreakHyphen":
                pieces.append("-")
        text = "".join(pieces)
        if not found and text.strip():
            found = True
            font = fonts.run_font(run, style)
        parts.append(text)
    return "".join(parts), font


def _docx_cell(tc, fonts: _DocxFonts) -> tuple[str | None, str | None]:
    """(text of its paragraphs joined by "\\n" or None, font of its first non-blank paragraph)."""
    texts: list[str] = []
    font: str | None = None
    found = False

    def collect(node) -> None:
        nonlocal font, found
        for block in _w_unwrap(node, frozenset({"p", "tbl"})):
            if _local(block.tag) == "p":
                text, f = _docx_paragraph(block, fonts)
                texts.append(text)
                if not found and text.strip():
                    found, font = True, f
            else:  # a table inside the cell: its paragraphs, row by row
                for tr in _w_unwrap(block, frozenset({"tr"})):
                    for inner in _w_unwrap(tr, frozenset({"tc"})):
                        collect(inner)

    collect(tc)
    text = nfc("\n".join(texts)).strip()
    return (text or None), (font if text else None)


def _w_int(el, name: str) -> int:
    if el is None:
        return 0
    try:
        return max(0, int(_wattr(el, name) or 0))
    except ValueError:
        return 0


def _docx_table(tbl, fonts: _DocxFonts, top: int, rel: str, budget: list[int]) -> tuple[
        list[list[object]], list[list[str | None]], list[tuple[int, int, int, int]]]:
    """Rows, fonts and merged ranges of a w:tbl whose first row is grid row ``top``.

    ``budget`` holds the cells the document may still produce (spans are expanded: a forged
    ``w:gridSpan`` must not fill memory).
    """
    rows: list[list[object]] = []
    names: list[list[str | None]] = []
    merged: list[tuple[int, int, int, int]] = []
    open_v: dict[int, list[int]] = {}  # first column -> [r0, c0, r1, c1] of a vertical merge

    def close(col: int) -> None:
        r0, c0, r1, c1 = open_v.pop(col)
        if r1 > r0 or c1 > c0:
            merged.append((r0, c0, r1, c1))

    for i, tr in enumerate(_w_unwrap(tbl, frozenset({"tr"}))):
        r = top + i
        trpr = _wchild(tr, "trPr")
        before = _wchild(trpr, "gridBefore") if trpr is not None else None
        col = min(_w_int(before, "val"), ODS_MAX_COLS)
        budget[0] -= col + 1
        values: list[object] = [None] * col
        row_fonts: list[str | None] = [None] * col
        continued: set[int] = set()
        for tc in _w_unwrap(tr, frozenset({"tc"})):
            tcpr = _wchild(tc, "tcPr")
            grid_span = _wchild(tcpr, "gridSpan") if tcpr is not None else None
            span = max(1, _w_int(grid_span, "val"))
            budget[0] -= span
            if col + span > ODS_MAX_COLS or budget[0] < 0:
                raise ReadError(f"{rel}: bảng Word có quá nhiều ô (hơn {_vi_count(ODS_MAX_COLS)} cột hoặc "
                                f"{_vi_count(ODS_MAX_CELLS)} ô) — nghi là tệp độc hại, từ chối đọc")
            vmerge = _wchild(tcpr, "vMerge") if tcpr is not None else None
            kind = None if vmerge is None else (_wattr(vmerge, "val") or "continue")
            if kind == "continue" and col in open_v and open_v[col][3] == col + span - 1:
                open_v[col][2] = r
                continued.add(col)
                value, font = None, None
            else:
                value, font = _docx_cell(tc, fonts)
                if col in open_v:
                    close(col)
                if kind is not None:
                    open_v[col] = [r, col, r, col + span - 1]
                    continued.add(col)
                elif span > 1:
                    merged.append((r, col, r, col + span - 1))
            values.append(value)
            row_fonts.append(font)
            values.extend([None] * (span - 1))
            row_fonts.extend([None] * (span - 1))
            col += span
        for c in [c for c in open_v if c not in continued]:
            close(c)
        rows.append(values)
        names.append(row_fonts)
    for c in list(open_v):
        close(c)
    return rows, names, merged


def _read_docx(path: Path, rel: str) -> list[Grid]:
    """Read the tables of a Word document (.docx): one grid per top-level table.

    Each grid ("Bảng 1", "Bảng 2", …) starts with the non-empty paragraphs between the previous
    table (or the start of the document) and the table — at most the last
    :data:`DOCX_TITLE_PARAGRAPHS`, one per row in column 0 — then the table's rows: ``w:gridSpan``
    gives a horizontal merge and ``w:vMerge`` a vertical one (value in the top-left cell),
    ``w:gridBefore`` leaves its columns empty. A cell's text is its paragraphs joined by "\\n";
    numbers stay text. A text cell's font is that of its first non-blank run (``w:rFonts``, else
    the run's or paragraph's style, else the document default). A document without tables gives
    no grid.

    Raises:
        ReadError: Empty, broken, encrypted, or not a Word document.
    """
    zf = _open_package(path, rel, "docx")
    with zf:
        try:
            names = set(zf.namelist())
            doc_part = "word/document.xml"
            for kind, target in _rel_targets(zf, "").values():
                if kind == "officeDocument" and target in names:
                    doc_part = target
            if doc_part not in names:
                raise ReadError(f"{rel}: tệp .docx không có phần word/document.xml (không phải tài liệu Word)")
            root = _parse_xml(zf, doc_part)
            fonts = _DocxFonts(zf, doc_part)
        except ReadError:
            raise
        except Exception as exc:  # noqa: BLE001 - XML, zlib and zip errors all mean a broken file
            raise _package_errors(rel, "docx", exc) from exc
    body = _wchild(root, "body") if root is not None else None
    if body is None:
        raise ReadError(f"{rel}: tệp .docx không có nội dung (thiếu w:body)")
    try:
        return _docx_grids(body, fonts, rel)
    except ReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. RecursionError on absurdly nested tables
        raise _package_errors(rel, "docx", exc) from exc


def _docx_grids(body, fonts: _DocxFonts, rel: str) -> list[Grid]:
    grids: list[Grid] = []
    titles: list[tuple[str, str | None]] = []
    budget = [ODS_MAX_CELLS]
    for block in _w_unwrap(body, frozenset({"p", "tbl"})):
        if _local(block.tag) == "p":
            text, font = _docx_paragraph(block, fonts)
            text = nfc(text).strip()
            if text:
                titles.append((text, font))
            continue
        kept = titles[-DOCX_TITLE_PARAGRAPHS:]
        rows, names_, merged = _docx_table(block, fonts, len(kept), rel, budget)
        grid_rows: list[list[object]] = [[t] for t, _ in kept] + rows
        grid_fonts: list[list[str | None]] = [[f] for _, f in kept] + names_
        trimmed = _trim(grid_rows)
        grid_fonts = [f[: len(r)] for f, r in zip(grid_fonts, trimmed, strict=True)]
        grids.append(Grid(rel, f"Bảng {len(grids) + 1}", trimmed, grid_fonts, merged))
        titles = []
    return grids


#: Encodings a CSV file may be read in (reported in the manifest as ``encoding``): UTF-8 with or
#: without BOM, UTF-16 with BOM (Excel's "Unicode text"), Windows-1258, or a legacy font encoding
#: (``tcvn3``/``vni``: bytes of a .VnTime/VNI font, read as Windows-1252 and repaired per column).
CSV_ENCODINGS = ("utf-8-sig", "utf-8", "utf-16", "cp1258", "tcvn3", "vni")

_CP1252_FIX = {b: bytes([b]).decode("cp1252") for b in range(0x80, 0xA0)
               if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}


def decode_csv_bytes(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes and tell the encoding.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are recognised first. Other bytes are
    Windows-1258 — unless the text, read as Windows-1252, is legacy-font Vietnamese
    (:func:`analysis.text.detect_legacy_encoding`): then it is returned in that reading (the
    caller repairs it column by column) and the encoding says ``tcvn3`` or ``vni``.

    Returns:
        (text in NFC, encoding name: one of :data:`CSV_ENCODINGS`).

    Example:
        >>> decode_csv_bytes("Chi bộ".encode("utf-8"))
        ('Chi bộ', 'utf-8')
        >>> decode_csv_bytes(b"T\\xf4\\xd2 d\\xe2n ph\\xf4\\xec 1")  # Windows-1258: tones are combining marks
        ('Tổ dân phố 1', 'cp1258')
        >>> decode_csv_bytes("Tªn,Sè\\nChi bé Tæ d©n phè 1,5\\nChi bé Tæ d©n phè 2,6".encode("cp1252"))[1]
        'tcvn3'
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return nfc(data[3:].decode("utf-8", errors="replace")), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return nfc(data.decode("utf-16", errors="replace")), "utf-16"
    try:
        return nfc(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    from analysis.text import detect_legacy_encoding

    try:
        as_1258 = nfc(data.decode("cp1258"))
    except UnicodeDecodeError:
        as_1258 = None
    if as_1258 is not None and _plausible_1258(as_1258):
        return as_1258, "cp1258"
    as_1252 = data.decode("latin-1").translate(_CP1252_FIX)
    cells = [c for line in as_1252.splitlines()[:2000] for c in re.split(r"[,;\t|]", line)]
    legacy = detect_legacy_encoding(cells)
    if legacy in ("tcvn3", "vni"):
        return as_1252, legacy
    return nfc(data.decode("cp1258", errors="replace")), "cp1258"


_TEXT_SYMBOLS = frozenset("–—“”‘’…•€₫°·«»×§¬")


def _plausible_1258(text: str) -> bool:
    """Windows-1258 text composes into letters: no combining mark is left over after NFC and
    every non-ASCII character is a letter or common punctuation (legacy-font bytes read this way
    give symbols such as "©", "¶", "¸")."""
    import unicodedata

    for ch in set(text):
        if ch.isascii() or ch in _TEXT_SYMBOLS or ch == "\u00a0":
            continue
        if not unicodedata.category(ch).startswith("L"):
            return False
    return True


#: Field delimiters a CSV file may use.
CSV_DELIMITERS = (",", ";", "\t", "|")


def sniff_delimiter(sample: str, default: str = ",") -> str:
    """The field delimiter of CSV text: the one that splits most rows into the same number of
    fields (at least two), the wider split winning a tie.

    Unlike :class:`csv.Sniffer` this is not misled by decimal commas in a ";" file ("93,63"), nor
    by a quoted field holding a line break. The last line of ``sample`` is ignored when the
    sample may have cut it.

    Args:
        sample: The first part of the text.
        default: Returned when no delimiter splits the rows (a one-column file).

    Example:
        >>> sniff_delimiter("Đơn vị;Tỷ lệ;Số\\nChi bộ 1;93,63;30\\n")
        ';'
    """
    from collections import Counter

    best, best_score = default, (0, 0)
    for delimiter in CSV_DELIMITERS:
        try:  # newline="" as csv wants: a lone "\r" inside a field is data, not an error
            rows = list(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter))[:500]
        except csv.Error:
            continue
        counts = [len(r) for r in rows if any(f.strip() for f in r)]
        if len(counts) > 1:
            counts = counts[:-1] if len(sample) >= 20000 else counts
        if not counts:
            continue
        width, agreeing = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = (agreeing, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(path: Path, rel: str) -> Grid:
    data = path.read_bytes()
    if not data.strip():
        raise ReadError(f"{rel}: tệp rỗng")
    text, encoding = decode_csv_bytes(data)
    delimiter = sniff_delimiter(text[:20000], "\t" if path.suffix.lower() == ".tsv" else ",")
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


# ---------------------------------------------------------------------------------------------
# Flat tables (member register, attendance list): columns first, then only the columns needed
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TableInfo:
    """What a flat file holds, known without reading its rows.

    Attributes:
        columns: Column names as written.
        rows: Row count when the format states it (Parquet), else None.
        encoding: Text encoding (CSV), else None.
        delimiter: Field delimiter (CSV), else None.
    """

    columns: list[str]
    rows: int | None = None
    encoding: str | None = None
    delimiter: str | None = None


def table_info(path: Path, rel: str) -> TableInfo:
    """Column names of a CSV (its first line) or Parquet file (its schema), without reading rows.

    Raises:
        ReadError: Empty, corrupt or unsupported file.
    """
    from analysis.intake.guards import GuardError, check_file

    try:
        check_file(path, rel)
    except GuardError as exc:
        raise ReadError(str(exc)) from exc
    if path.stat().st_size == 0:
        raise ReadError(f"{rel}: tệp rỗng")
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            meta = pq.read_metadata(path)
            schema = pq.read_schema(path)
        except Exception as exc:  # noqa: BLE001 - any Arrow error means a broken file
            raise ReadError(f"{rel}: tệp Parquet bị hỏng ({type(exc).__name__}: {exc})") from exc
        return TableInfo(list(schema.names), int(meta.num_rows))
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    if len(head) == 1 << 20:  # cut at the last line break so that no character is split
        cut = head.rfind(b"\n")
        head = head[:cut] if cut > 0 else head
    text, encoding = decode_csv_bytes(head)
    first = text.splitlines()[0] if text.strip() else ""
    if not first.strip():
        raise ReadError(f"{rel}: tệp rỗng")
    delimiter = sniff_delimiter(text[:20000], "\t" if path.suffix.lower() == ".tsv" else ",")
    columns = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    return TableInfo([nfc(c).strip() for c in columns], None, encoding, delimiter)


#: Row groups of a Parquet file are split over this many threads (each decodes its own share).
PARQUET_THREADS = 2


def _read_parquet(path: Path, columns: list[str], dictionary: list[str]):
    """Read ``columns`` of a Parquet file, its row groups split into contiguous shares decoded on
    up to :data:`PARQUET_THREADS` threads (Arrow releases the GIL); rows stay in file order."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.parquet as pq

    groups = pq.read_metadata(path).num_row_groups
    k = max(1, min(PARQUET_THREADS, os.cpu_count() or 1, groups))
    if k == 1:
        return pq.read_table(path, columns=columns, read_dictionary=dictionary)

    def share(i: int):
        part = range(i * groups // k, (i + 1) * groups // k)
        with pq.ParquetFile(path, read_dictionary=dictionary) as pf:
            return pf.read_row_groups(list(part), columns=columns, use_threads=False)

    with ThreadPoolExecutor(k) as pool:
        return pa.concat_tables(list(pool.map(share, range(k))))


def parquet_shares(path: Path, columns: dict[str, str], dictionary: tuple[str, ...] = ()):
    """A Parquet file's rows as contiguous shares of row groups, each read batch by batch.

    For a consumer that processes rows as they are decoded (no table of the whole file is held):
    one share per thread (:data:`PARQUET_THREADS`).

    Args:
        path: The file.
        columns: Canonical name -> column name in the file; batches have these columns, renamed,
            in this order.
        dictionary: Canonical names to keep dictionary-encoded.

    Returns:
        (rows, [(first row of the share, callable yielding its record batches in order)]).
    """
    import os

    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    k = max(1, min(PARQUET_THREADS, os.cpu_count() or 1, len(sizes)))
    wanted = list(columns.values())
    names = list(columns)
    read_dictionary = [columns[c] for c in dictionary if c in columns]

    def share(groups: range):
        def batches():
            with pq.ParquetFile(path, read_dictionary=read_dictionary) as pf:
                for g in groups:
                    table = pf.read_row_group(g, columns=wanted, use_threads=False).select(wanted)
                    yield from table.rename_columns(names).to_batches()
        return batches

    out = []
    for i in range(k):
        groups = range(i * len(sizes) // k, (i + 1) * len(sizes) // k)
        out.append((sum(sizes[:groups.start]), share(groups)))
    return int(meta.num_rows), out


def read_table_columns(path: Path, rel: str, info: TableInfo, columns: dict[str, str],
                       dictionary: tuple[str, ...] = ()):
    """Read only ``columns`` of a flat file, renamed to their canonical names.

    Parquet is read with column projection (``dictionary`` columns stay dictionary-encoded, which
    is how Parquet stores them: no string is decoded); CSV with Arrow's multi-threaded reader,
    every column as text.

    Args:
        path: The file.
        rel: Its path relative to the raw folder.
        info: From :func:`table_info`.
        columns: Canonical name -> column name in the file.
        dictionary: Canonical names to keep dictionary-encoded.

    Returns:
        A :class:`pyarrow.Table` with canonical column names.

    Raises:
        ReadError: The file cannot be read.
    """
    import pyarrow as pa

    wanted = list(columns.values())
    try:
        if path.suffix.lower() == ".parquet":
            table = _read_parquet(path, wanted, [columns[c] for c in dictionary if c in columns])
        else:
            from pyarrow import csv as pacsv

            encoding = {"utf-8-sig": "utf8", "utf-8": "utf8", "tcvn3": "cp1252", "vni": "cp1252"}.get(
                info.encoding or "utf-8", info.encoding or "utf8")
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(encoding=encoding, block_size=16 << 20),
                parse_options=pacsv.ParseOptions(delimiter=info.delimiter or ","),
                convert_options=pacsv.ConvertOptions(
                    include_columns=wanted, column_types={c: pa.string() for c in wanted},
                    strings_can_be_null=True, null_values=[""]))
    except Exception as exc:  # noqa: BLE001 - any Arrow error means a broken file
        raise ReadError(f"{rel}: không đọc được ({type(exc).__name__}: {exc})") from exc
    return table.rename_columns([next(k for k, v in columns.items() if v == name) for name in table.column_names])
