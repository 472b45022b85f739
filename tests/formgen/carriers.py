"""Writers of a synthetic report form in each carrier format intake reads.

A form is a list of :class:`SheetSpec`; :func:`write_form` writes it as one of
:data:`CARRIERS`:

* ``xlsx`` (openpyxl) and ``xls`` (xlwt): one worksheet per sheet (an empty name becomes
  ``Sheet<n>``, as for ods), fonts of text cells,
  merged ranges (value in the top-left cell only), percent cells with a ``0.00%`` format;
* ``ods``: written by hand (stored ``mimetype`` first, ``META-INF/manifest.xml``,
  ``content.xml``, ``styles.xml``, ``meta.xml``) — spans with covered cells, automatic cell
  styles carrying the fonts and the percent format, value types float/percentage/string, a
  trailing repeated empty row as LibreOffice writes;
* ``docx`` (python-docx): per sheet a bold heading paragraph with ``name`` (when not empty),
  one paragraph per title row (its non-empty cells joined by a space; an empty title row gives an
  empty paragraph, which the reader skips), then the other rows as a table with merged cells
  (title-row merges are dropped) and an empty paragraph after it. Read back, a sheet's grid is
  therefore ``[name] + non-empty title rows + table rows``. Numbers are written as Vietnamese
  text: ``1.234``, ``12,5``, percent cells ``93,63%``;
* CSV variants: the first sheet only, every row padded to the sheet's width, merges flattened
  (value in the top-left cell, the covered cells empty). Numbers are written as plain text
  (``1234``, ``12.5``, percent cells ``93.63%``), except ``csv-semicolon``, which writes
  decimal commas (``12,5``, ``93,63%``):

  - ``csv-utf8``: UTF-8, ","; ``csv-utf8-bom``: UTF-8 with a BOM, ",";
  - ``csv-cp1258``: Windows-1258 bytes (toned letters without a code of their own are written
    as base letter + combining tone byte, as Windows does; a character the code page lacks,
    such as "✓", becomes "?" as in Excel's export), ",";
  - ``csv-utf16``: UTF-16 with a BOM, tab-separated (Excel's "Unicode text");
  - ``csv-semicolon``: UTF-8, ";" (Excel in a Vietnamese locale).

Legacy-font text (:func:`analysis.text.encode_legacy`) is written as given; the font name in
:attr:`SheetSpec.fonts` is what tells a reader to repair it.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr


@dataclass
class SheetSpec:
    """One sheet (or, for docx, one table with its heading paragraphs) of a form.

    Attributes:
        name: Sheet name (xlsx/xls/ods); a table heading for docx.
        rows: Cell values: None, str, int, float.
        merges: Merged ranges, 0-based inclusive (r0, c0, r1, c1); the value is
            the one in the top-left cell.
        fonts: (row, col) -> font name of that text cell.
        title_rows: Rows above the table (docx: written as paragraphs, not table rows).
        percent_cells: Float cells stored as Excel/ODS percent (0.9363 shown 93,63%).
    """

    name: str
    rows: list[list[object]]
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    fonts: dict[tuple[int, int], str] = field(default_factory=dict)
    title_rows: int = 0
    percent_cells: set[tuple[int, int]] = field(default_factory=set)


CARRIERS = (
    "xlsx",
    "xls",
    "ods",
    "docx",
    "csv-utf8",
    "csv-utf8-bom",
    "csv-cp1258",
    "csv-utf16",
    "csv-semicolon",
)


def write_form(path: Path, sheets: list[SheetSpec], carrier: str) -> Path:
    """Write ``sheets`` to ``path`` in the ``carrier`` format.

    Args:
        path: Target file; its suffix is the caller's choice.
        sheets: The sheets; CSV carriers write only the first one.
        carrier: One of :data:`CARRIERS`.

    Returns:
        The path written.

    Raises:
        ValueError: Unknown carrier, no sheet, or a value the carrier cannot hold.
    """
    if carrier not in CARRIERS:
        raise ValueError(f"unknown carrier {carrier!r}; expected one of {CARRIERS}")
    if not sheets:
        raise ValueError("write_form needs at least one sheet")
    path = Path(path)
    if carrier == "xlsx":
        _write_xlsx(path, sheets)
    elif carrier == "xls":
        _write_xls(path, sheets)
    elif carrier == "ods":
        _write_ods(path, sheets)
    elif carrier == "docx":
        _write_docx(path, sheets)
    else:
        _write_csv(path, sheets[0], carrier)
    return path


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _covered(sheet: SheetSpec) -> set[tuple[int, int]]:
    """Cells inside a merged range other than its top-left one."""
    out: set[tuple[int, int]] = set()
    for r0, c0, r1, c1 in sheet.merges:
        out.update((r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1) if (r, c) != (r0, c0))
    return out


def _cells(sheet: SheetSpec):
    """(row, col, value) of every non-None cell not covered by a merge."""
    covered = _covered(sheet)
    for r, row in enumerate(sheet.rows):
        for c, value in enumerate(row):
            if value is not None and (r, c) not in covered:
                yield r, c, value


def _sheet_name(sheet: SheetSpec, index: int) -> str:
    """The sheet's name, or "Sheet<n>" (1-based) when it has none."""
    return sheet.name or f"Sheet{index + 1}"


def _width(sheet: SheetSpec) -> int:
    return max([len(r) for r in sheet.rows] + [c1 + 1 for _, _, _, c1 in sheet.merges] + [0])


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _percent_text(value: float, decimal: str) -> str:
    """0.9363 -> '93.63%' (or '93,63%' with a decimal comma)."""
    return f"{float(value) * 100:.10g}".replace(".", decimal) + "%"


def _plain_number(value: int | float, decimal: str) -> str:
    text = str(value) if isinstance(value, int) else repr(float(value))
    return text.replace(".", decimal)


def _vi_number(value: int | float) -> str:
    """Vietnamese number text: 1234 -> '1.234', 1234.5 -> '1.234,5', 0.5 -> '0,5'."""
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    text = repr(float(value))
    if not math.isfinite(value) or "e" in text:
        return text.replace(".", ",")
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return f"{sign}{grouped},{frac}" if frac and frac != "0" else f"{sign}{grouped}"


# ---------------------------------------------------------------------------------------------
# xlsx / xls
# ---------------------------------------------------------------------------------------------


def _write_xlsx(path: Path, sheets: list[SheetSpec]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for i, sheet in enumerate(sheets):
        ws = wb.create_sheet(_sheet_name(sheet, i))
        for r, c, value in _cells(sheet):
            cell = ws.cell(row=r + 1, column=c + 1, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text, not a formula
            if (r, c) in sheet.fonts:
                cell.font = Font(name=sheet.fonts[(r, c)])
            if (r, c) in sheet.percent_cells:
                cell.number_format = "0.00%"
        for r0, c0, r1, c1 in sheet.merges:
            ws.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1, end_column=c1 + 1)
    wb.save(path)


def _write_xls(path: Path, sheets: list[SheetSpec]) -> None:
    import xlwt  # type: ignore[import-not-found]

    book = xlwt.Workbook(encoding="utf-8")
    styles: dict[tuple[str | None, bool], object] = {}

    def style(font: str | None, percent: bool):
        key = (font, percent)
        if key not in styles:
            st = xlwt.XFStyle()
            if font:
                f = xlwt.Font()
                f.name = font
                st.font = f
            if percent:
                st.num_format_str = "0.00%"
            styles[key] = st
        return styles[key]

    for i, sheet in enumerate(sheets):
        ws = book.add_sheet(_sheet_name(sheet, i))
        tops = {(r0, c0): (r0, c0, r1, c1) for r0, c0, r1, c1 in sheet.merges}
        done: set[tuple[int, int]] = set()
        for r, c, value in _cells(sheet):
            st = style(sheet.fonts.get((r, c)), (r, c) in sheet.percent_cells)
            if (r, c) in tops:
                r0, c0, r1, c1 = tops[(r, c)]
                ws.write_merge(r0, r1, c0, c1, value, st)
                done.add((r, c))
            else:
                ws.write(r, c, value, st)
        for (r0, c0), (_, _, r1, c1) in tops.items():
            if (r0, c0) not in done:
                ws.merge(r0, r1, c0, c1)
    book.save(str(path))


# ---------------------------------------------------------------------------------------------
# ods (by hand)
# ---------------------------------------------------------------------------------------------

_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
}
_XMLNS = " ".join(f'xmlns:{k}="{v}"' for k, v in _NS.items())
_ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
_ODS_DEFAULT_FONT = "Liberation Sans"
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPACES = re.compile(r"( {2,}|^ |\t)")


def _odf_text(line: str) -> str:
    """One paragraph's XML content: runs of spaces as text:s, tabs as text:tab."""
    if _XML_BAD.search(line):
        raise ValueError(f"character not allowed in XML in {line!r}")
    out: list[str] = []
    pos = 0
    for m in _SPACES.finditer(line):
        out.append(escape(line[pos:m.start()]))
        run = m.group(0)
        if run == "\t":
            out.append("<text:tab/>")
        elif m.start() == 0:
            out.append(f'<text:s text:c="{len(run)}"/>' if len(run) > 1 else "<text:s/>")
        else:
            out.append(" " + (f'<text:s text:c="{len(run) - 1}"/>' if len(run) > 2 else "<text:s/>"))
        pos = m.end()
    out.append(escape(line[pos:]))
    return "".join(out)


def _ods_cell(value: object, percent: bool, style: str | None, span: tuple[int, int] | None) -> str:
    attrs = ""
    if style:
        attrs += f' table:style-name="{style}"'
    if span:
        attrs += f' table:number-rows-spanned="{span[0]}" table:number-columns-spanned="{span[1]}"'
    if value is None:
        return f"<table:table-cell{attrs}/>"
    if isinstance(value, bool):
        flag = "true" if value else "false"
        return (f'<table:table-cell{attrs} office:value-type="boolean" office:boolean-value="{flag}">'
                f"<text:p>{'TRUE' if value else 'FALSE'}</text:p></table:table-cell>")
    if _is_number(value):
        number = repr(float(value)) if isinstance(value, float) else str(value)
        if percent:
            return (f'<table:table-cell{attrs} office:value-type="percentage" office:value="{number}">'
                    f"<text:p>{escape(_percent_text(value, ','))}</text:p></table:table-cell>")
        return (f'<table:table-cell{attrs} office:value-type="float" office:value="{number}">'
                f"<text:p>{escape(_vi_number(value))}</text:p></table:table-cell>")
    paragraphs = "".join(f"<text:p>{_odf_text(line)}</text:p>" for line in str(value).split("\n"))
    return f'<table:table-cell{attrs} office:value-type="string">{paragraphs}</table:table-cell>'


def _write_ods(path: Path, sheets: list[SheetSpec]) -> None:
    fonts = sorted({f for s in sheets for f in s.fonts.values()} | {_ODS_DEFAULT_FONT})
    styles: dict[tuple[str | None, bool], str] = {}
    for sheet in sheets:
        for r, c, value in _cells(sheet):
            key = (sheet.fonts.get((r, c)), (r, c) in sheet.percent_cells and _is_number(value))
            if key != (None, False) and key not in styles:
                styles[key] = f"ce{len(styles) + 1}"
    auto = ['<number:percentage-style style:name="N1"><number:number number:decimal-places="2" '
            'number:min-decimal-places="2" number:min-integer-digits="1"/><number:text>%</number:text>'
            "</number:percentage-style>"]
    for (font, percent), name in styles.items():
        data = ' style:data-style-name="N1"' if percent else ""
        props = f"<style:text-properties style:font-name={quoteattr(font)}/>" if font else ""
        auto.append(f'<style:style style:name="{name}" style:family="table-cell" '
                    f'style:parent-style-name="Default"{data}>{props}</style:style>')
    faces = "".join(f"<style:font-face style:name={quoteattr(f)} svg:font-family={quoteattr(repr(f))}/>"
                    for f in fonts)
    tables = []
    for i, sheet in enumerate(sheets):
        covered = _covered(sheet)
        spans = {(r0, c0): (r1 - r0 + 1, c1 - c0 + 1) for r0, c0, r1, c1 in sheet.merges}
        width = max(_width(sheet), 1)
        n_rows = max(len(sheet.rows), max((r1 + 1 for _, _, r1, _ in sheet.merges), default=0))
        rows = []
        for r in range(n_rows):
            row = sheet.rows[r] if r < len(sheet.rows) else []
            cells = []
            for c in range(width):
                value = row[c] if c < len(row) else None
                if (r, c) in covered:
                    cells.append("<table:covered-table-cell/>")
                    continue
                percent = (r, c) in sheet.percent_cells and _is_number(value)
                style = styles.get((sheet.fonts.get((r, c)), percent)) if value is not None else None
                cells.append(_ods_cell(value, percent, style, spans.get((r, c))))
            cells.append('<table:table-cell table:number-columns-repeated="1000"/>')
            rows.append(f"<table:table-row>{''.join(cells)}</table:table-row>")
        rows.append('<table:table-row table:number-rows-repeated="1048000">'
                    '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>')
        tables.append(f"<table:table table:name={quoteattr(_sheet_name(sheet, i))}>"
                      f'<table:table-column table:number-columns-repeated="{width + 1000}" '
                      'table:default-cell-style-name="Default"/>'
                      f"{''.join(rows)}</table:table>")
    content = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               f'<office:document-content {_XMLNS} office:version="1.2">'
               f"<office:font-face-decls>{faces}</office:font-face-decls>"
               f"<office:automatic-styles>{''.join(auto)}</office:automatic-styles>"
               f"<office:body><office:spreadsheet>{''.join(tables)}</office:spreadsheet></office:body>"
               "</office:document-content>")
    styles_xml = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                  f'<office:document-styles {_XMLNS} office:version="1.2">'
                  f"<office:font-face-decls><style:font-face style:name={quoteattr(_ODS_DEFAULT_FONT)} "
                  f"svg:font-family={quoteattr(repr(_ODS_DEFAULT_FONT))}/></office:font-face-decls>"
                  '<office:styles><style:default-style style:family="table-cell">'
                  f"<style:text-properties style:font-name={quoteattr(_ODS_DEFAULT_FONT)}/>"
                  '</style:default-style><style:style style:name="Default" style:family="table-cell"/>'
                  "</office:styles></office:document-styles>")
    meta = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<office:document-meta {_XMLNS} office:version="1.2"><office:meta>'
            "<meta:generator>hoctap tests.formgen</meta:generator></office:meta></office:document-meta>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
                'manifest:version="1.2">'
                f'<manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="{_ODS_MIME}"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
                '<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>'
                "</manifest:manifest>")
    with zipfile.ZipFile(path, "w") as zf:
        parts = [("mimetype", _ODS_MIME, zipfile.ZIP_STORED), ("META-INF/manifest.xml", manifest, None),
                 ("content.xml", content, None), ("styles.xml", styles_xml, None), ("meta.xml", meta, None)]
        for name, text, method in parts:
            info = zipfile.ZipInfo(name, date_time=(2016, 1, 1, 0, 0, 0))
            info.compress_type = method if method is not None else zipfile.ZIP_DEFLATED
            zf.writestr(info, text.encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# docx (python-docx)
# ---------------------------------------------------------------------------------------------


def _docx_text(value: object, percent: bool) -> str:
    if _is_number(value):
        return _percent_text(value, ",") if percent else _vi_number(value)  # type: ignore[arg-type]
    return str(value)


def _add_text(paragraphs, container, text: str, font: str | None) -> None:
    """Write ``text`` into a cell/document: the first line in ``paragraphs[0]``, others after it."""
    for i, line in enumerate(text.split("\n")):
        p = paragraphs[0] if i == 0 else container.add_paragraph()
        run = p.add_run(line)
        if font:
            run.font.name = font


def _write_docx(path: Path, sheets: list[SheetSpec]) -> None:
    import docx

    doc = docx.Document()
    for sheet in sheets:
        t = sheet.title_rows
        if sheet.name:
            doc.add_paragraph().add_run(sheet.name).bold = True
        for r in range(min(t, len(sheet.rows))):
            row = sheet.rows[r]
            used = [c for c, v in enumerate(row) if v is not None and str(v).strip()]
            text = " ".join(_docx_text(row[c], (r, c) in sheet.percent_cells) for c in used)
            font = next((sheet.fonts[(r, c)] for c in used if (r, c) in sheet.fonts), None)
            p = doc.add_paragraph()
            if text:
                run = p.add_run(text)
                if font:
                    run.font.name = font
        n_rows = max(len(sheet.rows), max((r1 + 1 for _, _, r1, _ in sheet.merges), default=0)) - t
        width = _width(sheet)
        if n_rows <= 0 or width == 0:
            continue
        table = doc.add_table(rows=n_rows, cols=width)
        table.style = "Table Grid"
        for r0, c0, r1, c1 in sheet.merges:
            if r0 >= t and (r0, c0) != (r1, c1):
                table.cell(r0 - t, c0).merge(table.cell(r1 - t, c1))
        for r, c, value in _cells(sheet):
            if r < t:
                continue
            cell = table.cell(r - t, c)
            text = _docx_text(value, (r, c) in sheet.percent_cells)
            _add_text(cell.paragraphs, cell, text, sheet.fonts.get((r, c)))
        doc.add_paragraph()
    doc.save(str(path))


# ---------------------------------------------------------------------------------------------
# csv
# ---------------------------------------------------------------------------------------------

_TONES = "\u0300\u0301\u0303\u0309\u0323"


def _encode_cp1258(text: str) -> bytes:
    """Windows-1258 bytes: letters without a code of their own as base + combining tone byte,
    characters the code page lacks as "?"."""
    out: list[bytes] = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            out.append(ch.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(m for m in parts if m in _TONES)
        base = unicodedata.normalize("NFC", "".join(m for m in parts if m not in _TONES))
        try:
            out.append(base.encode("cp1258") + tones.encode("cp1258"))
        except UnicodeEncodeError:
            out.append(b"?")  # what Windows writes for a character the code page lacks ("✓")
    return b"".join(out)


def _csv_value(value: object, percent: bool, decimal: str) -> str:
    if value is None:
        return ""
    if _is_number(value):
        return _percent_text(value, decimal) if percent else _plain_number(value, decimal)  # type: ignore[arg-type]
    return str(value)


def _write_csv(path: Path, sheet: SheetSpec, carrier: str) -> None:
    delimiter = {"csv-semicolon": ";", "csv-utf16": "\t"}.get(carrier, ",")
    decimal = "," if carrier == "csv-semicolon" else "."
    covered = _covered(sheet)
    width = _width(sheet)
    n_rows = max(len(sheet.rows), max((r1 + 1 for _, _, r1, _ in sheet.merges), default=0))
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    for r in range(n_rows):
        row = sheet.rows[r] if r < len(sheet.rows) else []
        writer.writerow([
            "" if (r, c) in covered or c >= len(row)
            else _csv_value(row[c], (r, c) in sheet.percent_cells, decimal)
            for c in range(width)
        ])
    text = buf.getvalue()
    if carrier == "csv-cp1258":
        data = _encode_cp1258(text)
    elif carrier == "csv-utf16":
        data = b"\xff\xfe" + text.encode("utf-16-le")  # little-endian with a BOM, as Excel
    elif carrier == "csv-utf8-bom":
        data = text.encode("utf-8-sig")
    else:
        data = text.encode("utf-8")
    path.write_bytes(data)
