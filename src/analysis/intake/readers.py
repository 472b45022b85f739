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
SUPPORTED = (".xlsx", ".xlsm", ".xls", ".csv", ".tsv", ".parquet")
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
    try:
        delimiter = csv.Sniffer().sniff(text[:20000], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
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
