"""Round trips through every carrier of tests.formgen (write_form -> read_source), and the .ods and
.docx readers on hand-made and hostile files."""

from __future__ import annotations

import datetime as dt
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from formgen.carriers import CARRIERS, SheetSpec, write_form

from analysis.intake import readers
from analysis.intake.readers import SUPPORTED, Grid, ReadError, read_source
from analysis.text import encode_legacy, parse_vi_number

UNIT_1 = "Chi bộ Tổ dân phố 1"
SUFFIX = {"xlsx": ".xlsx", "xls": ".xls", "ods": ".ods", "docx": ".docx"}
#: Carriers that keep fonts (and so legacy-font text).
WITH_FONTS = ("xlsx", "xls", "ods", "docx")


def form(legacy: bool) -> SheetSpec:
    """Two title rows, a two-row merged header, Vietnamese text, ints, a decimal, percents, a blank."""
    first = encode_legacy(UNIT_1, "tcvn3") if legacy else UNIT_1
    fonts = {(2, 0): "Times New Roman", (5, 4): "Arial"}
    if legacy:
        fonts |= {(4, 0): ".VnTime", (4, 4): "VNI-Times"}
    return SheetSpec(
        name="Biểu 01",
        rows=[
            ["BÁO CÁO KẾT QUẢ HỌC TẬP NGHỊ QUYẾT"],
            ["NĂM 2016"],
            ["Tên chi bộ", "Số đảng viên", None, "Tỷ lệ", "Ghi chú"],
            [None, "Tổng số", "Đã học", None, None],
            [first, 1234, 1200, 0.9724, encode_legacy("Đạt", "vni") if legacy else "Đạt"],
            ["Chi bộ  Khu phố 2", 56, 12.5, 0.5, "Học bù\nđợt 2"],
            ["Chi bộ Trường học", 0, None, 0.9363, None],
        ],
        merges=[(0, 0, 0, 4), (2, 0, 3, 0), (2, 1, 2, 2), (2, 3, 3, 3), (2, 4, 3, 4)],
        fonts=fonts,
        title_rows=2,
        percent_cells={(4, 3), (5, 3), (6, 3)},
    )


def expected_cells(spec: SheetSpec) -> dict[tuple[int, int], object]:
    """Spec cells a reader must give back: values outside merges and top-left merge values."""
    covered = {(r, c) for r0, c0, r1, c1 in spec.merges for r in range(r0, r1 + 1)
               for c in range(c0, c1 + 1) if (r, c) != (r0, c0)}
    return {(r, c): v for r, row in enumerate(spec.rows) for c, v in enumerate(row) if (r, c) not in covered}


def check_cell(got: object, want: object, as_text: bool, percent: bool) -> None:
    if want is None:
        assert got is None
    elif isinstance(want, str):
        assert got == want
    elif as_text:  # docx and CSV keep numbers as the text a person typed
        assert isinstance(got, str)
        assert parse_vi_number(got) == pytest.approx(want * 100 if percent else want)
    else:
        assert not isinstance(got, str) and got == pytest.approx(want)
        if isinstance(want, int):
            assert isinstance(got, int)


@pytest.mark.parametrize("carrier", CARRIERS)
def test_every_carrier_reads_back_what_was_written(tmp_path: Path, carrier: str) -> None:
    spec = form(legacy=carrier in WITH_FONTS)
    other = SheetSpec("Trang 2", [["Chi bộ 9", 7]])
    path = write_form(tmp_path / f"bieu{SUFFIX.get(carrier, '.csv')}", [spec, other], carrier)
    assert path.exists()
    grids = read_source(path, path.name)
    assert all(g.source_file == path.name for g in grids)
    grid = grids[0]
    as_text = carrier == "docx" or carrier.startswith("csv")
    shift = 0  # grid row of spec row 0 of the table part
    if carrier == "docx":
        assert [g.sheet for g in grids] == ["Bảng 1", "Bảng 2"]
        # the heading and the title rows come first, one paragraph per row in column 0
        assert grid.rows[:3] == [["Biểu 01"], ["BÁO CÁO KẾT QUẢ HỌC TẬP NGHỊ QUYẾT"], ["NĂM 2016"]]
        assert grids[1].rows == [["Trang 2"], ["Chi bộ 9", "7"]]
        shift = 3 - spec.title_rows
        table_merges = [m for m in spec.merges if m[0] >= spec.title_rows]
        assert sorted(grid.merged) == sorted((r0 + shift, c0, r1 + shift, c1) for r0, c0, r1, c1 in table_merges)
        cells = {k: v for k, v in expected_cells(spec).items() if k[0] >= spec.title_rows}
    elif carrier.startswith("csv"):
        assert len(grids) == 1 and grid.merged == [] and grid.fonts is None
        assert grid.encoding == {"csv-utf8": "utf-8", "csv-utf8-bom": "utf-8-sig", "csv-cp1258": "cp1258",
                                 "csv-utf16": "utf-16", "csv-semicolon": "utf-8"}[carrier]
        cells = expected_cells(spec)
    else:
        assert [g.sheet for g in grids] == ["Biểu 01", "Trang 2"]
        assert grids[1].rows == [["Chi bộ 9", 7]]
        assert sorted(grid.merged) == sorted(spec.merges)
        cells = expected_cells(spec)
    assert len(grid.rows) == len(spec.rows) + shift
    for (r, c), want in cells.items():
        check_cell(grid.cell(r + shift, c), want, as_text, (r, c) in spec.percent_cells)
    if carrier in WITH_FONTS:
        assert grid.fonts is not None
        for (r, c), font in spec.fonts.items():
            assert grid.fonts[r + shift][c] == font, (r, c)
        assert grid.fonts[4 + shift][1] is None or carrier == "docx"  # a number has no font


def test_ods_and_docx_are_supported_suffixes() -> None:
    assert ".ods" in SUPPORTED and ".docx" in SUPPORTED


def test_ods_written_by_formgen_is_a_proper_package(tmp_path: Path) -> None:
    path = write_form(tmp_path / "a.ods", [form(legacy=True)], "ods")
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert zf.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
        assert {"META-INF/manifest.xml", "content.xml", "styles.xml"} <= set(zf.namelist())


# --- .ods by hand -------------------------------------------------------------------------------

ODS_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
          'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"')


def ods(path: Path, body: str, head: str = "", manifest: str | None = None,
        mimetype: str = "application/vnd.oasis.opendocument.spreadsheet") -> Path:
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NS}>{head}'
               f"<office:body><office:spreadsheet>{body}</office:spreadsheet></office:body>"
               "</office:document-content>")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        if manifest is not None:
            zf.writestr("META-INF/manifest.xml", manifest)
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return path


def test_ods_values_text_and_fonts(tmp_path: Path) -> None:
    head = ('<office:font-face-decls><style:font-face style:name="VnT" svg:font-family="&apos;.VnTime&apos;"/>'
            '<style:font-face style:name="Vni" svg:font-family="VNI-Times"/></office:font-face-decls>'
            '<office:automatic-styles>'
            '<style:style style:name="ce1" style:family="table-cell"><style:text-properties style:font-name="VnT"/></style:style>'
            '<style:style style:name="ce2" style:family="table-cell" style:parent-style-name="ce1"/>'
            '<style:style style:name="T1" style:family="text"><style:text-properties style:font-name="Vni"/></style:style>'
            '</office:automatic-styles>')
    body = ('<table:table table:name="Số liệu">'
            '<table:table-column table:number-columns-repeated="2"/>'
            '<table:table-column table:default-cell-style-name="ce1" table:number-columns-repeated="1022"/>'
            '<table:table-row>'
            '<table:table-cell office:value-type="string"><text:p>  a <text:s text:c="2"/>b<text:tab/>c  d</text:p>'
            '<text:p>x<text:line-break/>y</text:p></table:table-cell>'
            '<table:table-cell office:value-type="string"><text:p><text:span text:style-name="T1">Chi boä</text:span></text:p>'
            '<office:annotation><text:p>ghi chú</text:p></office:annotation></table:table-cell>'
            '<table:table-cell office:value-type="string"><text:p>theo cột</text:p></table:table-cell>'
            '<table:table-cell table:style-name="ce2" office:value-type="string"><text:p>qua cha</text:p></table:table-cell>'
            '<table:table-cell table:number-columns-repeated="1020"/></table:table-row>'
            '<table:table-row table:number-rows-repeated="2"><table:table-cell table:number-columns-repeated="3"/>'
            '</table:table-row>'
            '<table:table-row>'
            '<table:table-cell office:value-type="float" office:value="3.0"><text:p>3</text:p></table:table-cell>'
            '<table:table-cell office:value-type="percentage" office:value="0.9363"><text:p>93,63%</text:p></table:table-cell>'
            '<table:table-cell office:value-type="currency" office:value="1500000.5"><text:p>x</text:p></table:table-cell>'
            '<table:table-cell office:value-type="date" office:date-value="2016-05-01"><text:p>x</text:p></table:table-cell>'
            '<table:table-cell office:value-type="boolean" office:boolean-value="true"><text:p>x</text:p></table:table-cell>'
            '<table:table-cell office:value-type="float" office:value="7" table:number-columns-repeated="2"/>'
            '</table:table-row>'
            '<table:table-row table:number-rows-repeated="2">'
            '<table:table-cell table:number-columns-spanned="2" table:number-rows-spanned="2" office:value-type="string">'
            '<text:p>gộp</text:p></table:table-cell><table:covered-table-cell/>'
            '<table:table-cell office:value-type="float" office:value="1"/></table:table-row>'
            '<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="1024"/>'
            '</table:table-row></table:table>')
    (grid,) = read_source(ods(tmp_path / "a.ods", body, head), "a.ods")
    assert grid.sheet == "Số liệu"
    assert grid.rows[0] == ["a   b\tc d\nx\ny", "Chi boä", "theo cột", "qua cha"]
    assert grid.fonts[0] == [None, "VNI-Times", ".VnTime", ".VnTime"]
    assert grid.rows[1:3] == [[], []]
    assert grid.rows[3] == [3, 0.9363, 1500000.5, dt.datetime(2016, 5, 1), True, 7, 7]
    assert isinstance(grid.rows[3][0], int) and grid.fonts[3] == [None] * 7
    # a repeated row with a span: one merged range per repeat
    assert grid.rows[4:] == [["gộp", None, 1], ["gộp", None, 1]]
    assert grid.merged == [(4, 0, 5, 1), (5, 0, 6, 1)]


def test_ods_huge_repeats_are_not_materialised(tmp_path: Path) -> None:
    body = ('<table:table table:name="T"><table:table-column table:number-columns-repeated="1000000000"/>'
            '<table:table-row><table:table-cell office:value-type="float" office:value="1"/>'
            '<table:table-cell table:number-columns-repeated="1000000000"/></table:table-row>'
            '<table:table-row table:number-rows-repeated="1000000000">'
            '<table:table-cell table:number-columns-repeated="1000000000"/></table:table-row></table:table>')
    path = ods(tmp_path / "big.ods", body)
    tracemalloc.start()
    try:
        (grid,) = read_source(path, "big.ods")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert grid.rows == [[1]]
    assert peak < 20 * 1024 * 1024


@pytest.mark.parametrize("row", [
    # filled cells repeated beyond the widest sheet
    '<table:table-row><table:table-cell office:value-type="float" office:value="1" '
    'table:number-columns-repeated="100000000"/></table:table-row>',
    # a filled row repeated into hundreds of millions of cells
    '<table:table-row table:number-rows-repeated="1000000"><table:table-cell office:value-type="float" '
    'office:value="1" table:number-columns-repeated="500"/></table:table-row>',
])
def test_ods_repeated_filled_cells_are_refused(tmp_path: Path, row: str) -> None:
    path = ods(tmp_path / "bomb.ods", f'<table:table table:name="T">{row}</table:table>')
    with pytest.raises(ReadError, match="bomb.ods"):
        read_source(path, "bomb.ods")


ENCRYPTED_MANIFEST = (
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
    '<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="x"/>'
    "</manifest:file-entry></manifest:manifest>")


def broken_ods(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.ods"
    if kind == "not-zip":
        path.write_bytes(b"this is not a spreadsheet at all")
    elif kind == "truncated":
        good = write_form(tmp_path / "good.ods", [form(legacy=False)], "ods").read_bytes()
        path.write_bytes(good[: len(good) // 2])
    elif kind == "ole":
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    elif kind == "no-content":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    elif kind == "text-document":
        ods(path, "", mimetype="application/vnd.oasis.opendocument.text")
    elif kind == "encrypted":
        ods(path, "", manifest=ENCRYPTED_MANIFEST)
    elif kind == "bad-xml":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
            zf.writestr("content.xml", "<office:document-content><unclosed>")
    elif kind == "entities":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("content.xml", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    elif kind == "empty":
        path.write_bytes(b"")
    return path


@pytest.mark.parametrize("kind,words", [
    ("not-zip", "bị hỏng"), ("truncated", "bị hỏng"), ("ole", "mật khẩu"), ("no-content", "content.xml"),
    ("text-document", "không phải bảng tính"), ("encrypted", "mật khẩu"), ("bad-xml", "bị hỏng"),
    ("entities", "nguy hiểm"), ("empty", "rỗng"),
])
def test_broken_ods_gives_a_read_error(tmp_path: Path, kind: str, words: str) -> None:
    path = broken_ods(tmp_path, kind)
    with pytest.raises(ReadError) as err:
        read_source(path, f"2016/{path.name}")
    message = str(err.value)
    assert message.startswith(f"2016/{path.name}: ") and words in message and "\n" not in message


# --- .docx by hand ------------------------------------------------------------------------------

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx(path: Path, body: str, styles: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", f'<?xml version="1.0"?><w:document {W}><w:body>{body}</w:body></w:document>')
        if styles is not None:
            zf.writestr("word/styles.xml", f'<?xml version="1.0"?><w:styles {W}>{styles}</w:styles>')
            zf.writestr("word/_rels/document.xml.rels",
                        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                        '<Relationship Id="rId1" Target="styles.xml" Type="http://schemas.openxmlformats.org/'
                        'officeDocument/2006/relationships/styles"/></Relationships>')
    return path


def p(text: str, font: str | None = None) -> str:
    rpr = f'<w:rPr><w:rFonts w:ascii="{font}" w:hAnsi="{font}"/></w:rPr>' if font else ""
    return f'<w:p><w:r>{rpr}<w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def tc(text: str = "", props: str = "") -> str:
    return f"<w:tc><w:tcPr>{props}</w:tcPr>{p(text) if text else '<w:p/>'}</w:tc>"


def test_docx_tables_with_titles_vmerge_gridbefore_and_style_fonts(tmp_path: Path) -> None:
    styles = ('<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Times New Roman"/></w:rPr></w:rPrDefault>'
              '</w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal">'
              '<w:rPr><w:rFonts w:ascii=".VnTime" w:hAnsi=".VnTime"/></w:rPr></w:style>'
              '<w:style w:type="paragraph" w:styleId="Bang"><w:basedOn w:val="Normal"/></w:style>'
              '<w:style w:type="paragraph" w:styleId="Khac"><w:rPr><w:rFonts w:ascii="Arial"/></w:rPr></w:style>')
    intro = "".join(p(f"Đoạn {i}") for i in range(10))
    restart, span2 = '<w:vMerge w:val="restart"/>', '<w:gridSpan w:val="2"/>'
    table1 = ("<w:tbl><w:tblGrid/>"
              f"<w:tr>{tc('Tên', restart)}{tc('Số', span2)}</w:tr>"
              f"<w:tr>{tc('', '<w:vMerge/>')}{tc('Tổng')}{tc('Đã học')}</w:tr>"
              f'<w:tr><w:trPr><w:gridBefore w:val="1"/></w:trPr>{tc("1.234")}{tc("93,63")}</w:tr>'
              "<w:tr><w:tc><w:p><w:pPr><w:pStyle w:val=\"Khac\"/></w:pPr><w:r><w:t>Dòng 1</w:t></w:r>"
              "<w:r><w:br/><w:t>Dòng 2</w:t></w:r></w:p><w:p><w:r><w:t>Dòng 3</w:t></w:r></w:p></w:tc></w:tr>"
              "</w:tbl>")
    table2 = f"<w:tbl><w:tr>{tc('x')}</w:tr></w:tbl>"
    body = intro + table1 + "<w:p/>" + p("   ") + p("BIỂU 2", "VNI-Times") + table2 + p("Cuối")
    g1, g2 = read_source(docx(tmp_path / "bc.docx", body, styles), "bc.docx")
    assert [g1.sheet, g2.sheet] == ["Bảng 1", "Bảng 2"]
    assert g1.rows[:8] == [[f"Đoạn {i}"] for i in range(2, 10)]  # at most the last 8 paragraphs
    assert g1.rows[8:] == [["Tên", "Số"], [None, "Tổng", "Đã học"], [None, "1.234", "93,63"],
                           ["Dòng 1\nDòng 2\nDòng 3"]]
    assert sorted(g1.merged) == [(8, 0, 9, 0), (8, 1, 8, 2)]
    assert g1.fonts[0] == [".VnTime"] and g1.fonts[8] == [".VnTime", ".VnTime"] and g1.fonts[11] == ["Arial"]
    assert g2.rows == [["BIỂU 2"], ["x"]] and g2.fonts == [["VNI-Times"], [".VnTime"]]


def test_docx_without_a_table_gives_no_grid(tmp_path: Path) -> None:
    import docx as python_docx

    doc = python_docx.Document()
    doc.add_paragraph("Báo cáo kết quả học tập nghị quyết năm 2016: đạt 93,63%.")
    doc.save(tmp_path / "bc.docx")
    assert read_source(tmp_path / "bc.docx", "bc.docx") == []


@pytest.mark.parametrize("kind,words", [
    ("not-zip", "bị hỏng"), ("ole", "mật khẩu"), ("no-document", "không phải tài liệu Word"),
    ("bad-xml", "bị hỏng"), ("empty", "rỗng"),
])
def test_broken_docx_gives_a_read_error(tmp_path: Path, kind: str, words: str) -> None:
    path = tmp_path / f"{kind}.docx"
    if kind == "not-zip":
        path.write_bytes(b"PK\x03\x04 broken")
    elif kind == "ole":
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    elif kind == "no-document":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("[Content_Types].xml", "<Types/>")
    elif kind == "bad-xml":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("word/document.xml", "<w:document><w:body>")
    else:
        path.write_bytes(b"")
    with pytest.raises(ReadError) as err:
        read_source(path, path.name)
    assert str(err.value).startswith(f"{path.name}: ") and words in str(err.value)


def test_zip_bomb_ods_and_docx_are_refused_before_parsing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOCTAP_MAX_UNZIPPED_MB", "1")
    filler = "<!-- " + "a" * (2 * 1024 * 1024) + " -->"
    for name in ("bomb.ods", "bomb.docx"):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("content.xml" if name.endswith(".ods") else "word/document.xml", filler)
        with pytest.raises(ReadError, match="bom zip"):
            read_source(path, name)


def test_grids_are_grids(tmp_path: Path) -> None:
    path = write_form(tmp_path / "a.docx", [form(legacy=True)], "docx")
    (grid,) = read_source(path, "a.docx")
    assert isinstance(grid, Grid) and grid.encoding is None
    assert len(grid.fonts) == len(grid.rows)
    assert all(len(f) == len(r) for f, r in zip(grid.fonts, grid.rows, strict=True))


def test_docx_forged_spans_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wide = tc("x", '<w:gridSpan w:val="1000000000"/>')
    path = docx(tmp_path / "span.docx", f"<w:tbl><w:tr>{wide}</w:tr></w:tbl>")
    with pytest.raises(ReadError, match="quá nhiều ô"):
        read_source(path, "span.docx")
    monkeypatch.setattr(readers, "ODS_MAX_CELLS", 100_000)  # the same check, at a smaller scale
    many = tc("x", '<w:gridSpan w:val="10000"/>') + tc("y")  # 10 001 cells a row
    path = docx(tmp_path / "rows.docx", "<w:tbl>" + f"<w:tr>{many}</w:tr>" * 11 + "</w:tbl>")
    with pytest.raises(ReadError, match="quá nhiều ô"):
        read_source(path, "rows.docx")
