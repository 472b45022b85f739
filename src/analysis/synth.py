"""Deterministic synthetic raw data at ward, province and national scale.

Everything written here is **synthetic**: invented by a seeded :class:`numpy.random.Generator`,
marked ``illustrative: true`` in ``dataset.yaml`` and said so in ``README.md``. The same scale,
years and seed give byte-identical files (fixed zip timestamps, sorted rows, no clock).

Two shapes of output, both in the formats ``hoctap ingest`` accepts:

* ``ward`` / ``province``: a raw folder like the embedded sample — ``units.csv``,
  ``campaigns.csv``, ``merges.csv``, ``targets.csv``, ``dataset.yaml``, ``README.md`` and one
  workbook per reporting committee and year (``<year>/<committee>-<year>.xlsx``: title rows,
  two-row merged headers, a totals row, percentages with a decimal comma, dashes for zero, a few
  legacy TCVN3 files), plus one rating workbook per upper committee
  (``<year>/<upper>-xep-loai-<year>.xlsx``, with a code column). Ward scale is one city with a
  ward of about 30 chi bộ / 550 members, a commune and a school; province scale is one province,
  about 20 district committees, about 1.000 grassroots committees and 5–8 thousand chi bộ.
* ``national``: ``units.csv`` for the whole Party (centre → 63 provinces and 4 central blocs →
  districts → about 52.000 grassroots organisations → about 250.000 chi bộ) and, per year,
  ``<year>/member_register.parquet`` (``member_id, year, unit_id, is_exempt, rating_label``; a
  null label = not assessed; labels spelled as in forms for the scheme of that year) and
  ``<year>/attendance.parquet`` (``member_id, campaign_id``), about 5,6 million members and
  8 campaigns a year.

When the years reach 2025 and start earlier, the two-tier local government reform of 2025 is
applied: district committees end in 2024, residential grassroots committees merge in groups of
about three into new ones under the province (declared in ``merges.csv``), and every other
grassroots organisation moves under the province.

A few faults of the kinds the quality gate checks are PLANTED and recorded in ``faults.json``
(kind, check id expected from ``hoctap validate``, unit, year, file, sheet), so a test can assert
that ingest + validate finds exactly them. Everything else is clean: totals add up, stated
percentages match, labels are valid for the year's scheme, the level-1 member quota (from 2019)
holds in every grassroots organisation.

Example:
    >>> from pathlib import Path
    >>> generate("ward", years=range(2023, 2025), seed=7, out=Path("/tmp/w"))  # doctest: +SKIP
    PosixPath('/tmp/w')
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis import ratings
from analysis.text import encode_legacy, fold

__all__ = ["SCALES", "FAULT_CHECKS", "SynthError", "generate", "campaigns_for", "label_variants",
           "XlsxBook"]

SCALES = ("ward", "province", "national")

#: Expected check id (``hoctap validate``) of each planted fault kind. Intake-level kinds come from
#: quarantine reasons and manifest findings (``intake.<code>``); ``label_invalid`` is computed from
#: the label's match in :mod:`analysis.ratings` (``intake.<reason_code>``). The cross-table kinds
#: follow the quality gate's check ids.
FAULT_CHECKS = {
    "total_mismatch": "intake.total_mismatch",
    "unit_unknown": "intake.unit_unknown",
    "stated_pct_mismatch": "intake.stated_pct_mismatch",
    "label_invalid": None,  # computed per label: f"intake.{match.reason_code}"
    "attended_gt_eligible": "study_participation.attended_le_eligible",
    "quota_exceeded": "cross.member_quota",
    "rating_sum_mismatch": "cross.member_ratings_sum",
    "missing_report": "cross.completeness",
}

REFORM_YEAR = 2025
NOTE_VI = "Ghi chú: số liệu tổng hợp giả lập (synthetic), không phải số liệu thật."
SYNTH_README = (
    "# Synthetic data (số liệu giả lập)\n\n"
    "SYNTHETIC: every figure, name and identifier in this folder was invented by `hoctap synth` "
    "(scale {scale}, years {years}, seed {seed}); none of it describes a real organisation.\n\n"
    "Faults planted on purpose for the quality gate are listed in `faults.json`.\n"
)


class SynthError(ValueError):
    """Bad arguments for :func:`generate` (message in Vietnamese)."""


# ---------------------------------------------------------------------------------------------
# Campaigns
# ---------------------------------------------------------------------------------------------

_DOCS = (
    ("05-CT/TW", "Chỉ thị 05-CT/TW về đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh"),
    ("35-NQ/TW", "Nghị quyết 35-NQ/TW về tăng cường bảo vệ nền tảng tư tưởng của Đảng"),
    ("21-NQ/TW", "Nghị quyết 21-NQ/TW về tăng cường củng cố, xây dựng tổ chức cơ sở đảng"),
    ("27-NQ/TW", "Nghị quyết 27-NQ/TW về xây dựng và hoàn thiện Nhà nước pháp quyền"),
    ("41-NQ/TW", "Nghị quyết 41-NQ/TW về xây dựng và phát huy vai trò đội ngũ doanh nhân"),
    ("43-NQ/TW", "Nghị quyết 43-NQ/TW về phát huy sức mạnh đại đoàn kết toàn dân tộc"),
    ("45-NQ/TW", "Nghị quyết 45-NQ/TW về xây dựng đội ngũ trí thức"),
    ("57-NQ/TW", "Nghị quyết 57-NQ/TW về đột phá phát triển khoa học, công nghệ, đổi mới sáng tạo"),
    ("18-NQ/TW", "Nghị quyết 18-NQ/TW về tiếp tục đổi mới, sắp xếp tổ chức bộ máy"),
    ("12-NQ/TW", "Nghị quyết Trung ương 4 về xây dựng, chỉnh đốn Đảng"),
    ("04-NQ/TW", "Nghị quyết Trung ương 4 về ngăn chặn suy thoái tư tưởng chính trị"),
    ("29-NQ/TW", "Nghị quyết 29-NQ/TW về đổi mới căn bản, toàn diện giáo dục và đào tạo"),
)


def campaigns_for(years: Iterable[int], per_year: int) -> list[dict]:
    """Campaign rows (``campaigns.csv``) for ``years``, ``per_year`` campaigns each.

    Document codes are distinct within a year so that a sheet title naming a code identifies
    its campaign.

    Example:
        >>> [c["campaign_id"] for c in campaigns_for([2014], 2)]
        ['2014-01', '2014-02']
    """
    if per_year > len(_DOCS):
        raise SynthError(f"Tối đa {len(_DOCS)} đợt học tập mỗi năm")
    out = []
    for year in years:
        for i in range(per_year):
            code, title = _DOCS[(year + i) % len(_DOCS)]
            month = 1 + (i * 11) // max(per_year, 1)
            out.append({"campaign_id": f"{year}-{i + 1:02d}", "year": year,
                        "title": f"{title}, chuyên đề năm {year}", "document_code": code,
                        "start_date": f"{year}-{month:02d}-{5 + 2 * i:02d}"})
    return out


# ---------------------------------------------------------------------------------------------
# Rating labels as written in forms
# ---------------------------------------------------------------------------------------------

_UNIT_SPELLINGS = {
    "tsvm-2008": {1: ["Trong sạch vững mạnh", "TSVM", "Trong sạch, vững mạnh"],
                  2: ["Hoàn thành tốt nhiệm vụ", "HTTNV"], 3: ["Hoàn thành nhiệm vụ", "HTNV"], 4: ["Yếu kém"]},
    "later": {1: ["Hoàn thành xuất sắc nhiệm vụ", "HTXSNV"], 2: ["Hoàn thành tốt nhiệm vụ", "HTTNV"],
              3: ["Hoàn thành nhiệm vụ", "HTNV"], 4: ["Không hoàn thành nhiệm vụ", "KHTNV"]},
}
_MEMBER_SPELLINGS = {
    "tsvm-2008": {1: ["Đủ tư cách, HTXSNV", "ĐTC, HTXSNV"], 2: ["Đủ tư cách, HTTNV", "ĐTC, HTTNV"],
                  3: ["Đủ tư cách, HTNV"], 4: ["Vi phạm tư cách", "VPTC"]},
    "later": {1: ["HTXSNV", "Hoàn thành xuất sắc NV"], 2: ["HTTNV", "HT tốt NV"], 3: ["HTNV"], 4: ["KHTNV"]},
}
_MEMBER_HEADERS = {
    "tsvm-2008": ["Đủ tư cách, HTXSNV", "Đủ tư cách, HTTNV", "Đủ tư cách, HTNV", "Vi phạm tư cách"],
    "later": ["HTXSNV", "HTTNV", "HTNV", "KHTNV"],
}


def _key(year: int) -> str:
    return "tsvm-2008" if ratings.scheme_for_year(year) == "tsvm-2008" else "later"


def label_variants(year: int, subject: str) -> dict[int, list[str]]:
    """Spellings of each rank (1 = best) used in forms in ``year``: official label first.

    Every spelling is checked against :func:`analysis.ratings.match_label` for that year.

    Raises:
        SynthError: A spelling no longer names the intended level (the reference data changed).

    Example:
        >>> label_variants(2020, "member")[2][:2]
        ['Hoàn thành tốt nhiệm vụ', 'HTTNV']
    """
    sid = ratings.scheme_for_year(year)
    levels = {lv.rating_rank: lv for lv in ratings.scheme_levels(sid, subject)}
    extra = (_UNIT_SPELLINGS if subject == "unit" else _MEMBER_SPELLINGS)[_key(year)]
    out: dict[int, list[str]] = {}
    for rank, level in sorted(levels.items()):
        spellings = [level.label_vi] + [s for s in extra.get(rank, []) if s != level.label_vi]
        for s in spellings:
            m = ratings.match_label(s, year, subject)
            if not m.matched or m.rating_code != level.rating_code:
                raise SynthError(f"Nhãn '{s}' không còn khớp mức {level.rating_code} năm {year}")
        out[rank] = spellings
    return out


def _foreign_label(year: int, subject: str) -> tuple[str, str]:
    """A label valid in another scheme but not in ``year`` → (label, expected check id)."""
    for label in ("Trong sạch vững mạnh", "Hoàn thành xuất sắc nhiệm vụ", "Yếu kém",
                  "Không hoàn thành nhiệm vụ"):
        m = ratings.match_label(label, year, subject)
        if not m.matched:
            return label, f"intake.{m.reason_code}"
    return "Xuất sắc tiêu biểu", f"intake.{ratings.match_label('Xuất sắc tiêu biểu', year, subject).reason_code}"


# ---------------------------------------------------------------------------------------------
# A minimal, deterministic .xlsx writer (shared strings, bold and legacy fonts, merged cells)
# ---------------------------------------------------------------------------------------------

#: Cell styles: 0 normal, 1 bold, 2 .VnTime, 3 .VnTime bold, 4 .VnTimeH bold (capitals).
_FONTS = (("Times New Roman", False), ("Times New Roman", True), (".VnTime", False), (".VnTime", True),
          (".VnTimeH", True))
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _col(c: int) -> str:
    s = ""
    c += 1
    while c:
        c, r = divmod(c - 1, 26)
        s = chr(65 + r) + s
    return s


@dataclass
class XlsxSheet:
    """Rows of one sheet: ``(values, style)``; merged ranges as (r0, c0, r1, c1), 0-based."""

    name: str
    rows: list[tuple[list[object], int]] = field(default_factory=list)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)

    def put(self, values: Sequence[object], style: int = 0) -> int:
        """Append a row; returns its 0-based index."""
        self.rows.append((list(values), style))
        return len(self.rows) - 1

    def merge(self, r0: int, c0: int, r1: int, c1: int) -> None:
        """Merge a range (0-based, inclusive)."""
        self.merges.append((r0, c0, r1, c1))


class XlsxBook:
    """Writes a workbook that openpyxl and Excel read, byte-identical for identical content.

    openpyxl's ``write_only`` mode cannot merge cells and its normal mode stamps the current time
    into the file; this writer does neither and is about ten times faster.

    Example:
        >>> book = XlsxBook()
        >>> s = book.sheet("Đảng viên")
        >>> _ = s.put(["STT", "Tên chi bộ"], style=1)
        >>> len(book.to_bytes()) > 500
        True
    """

    def __init__(self) -> None:
        self.sheets: list[XlsxSheet] = []

    def sheet(self, name: str) -> XlsxSheet:
        """Add a sheet."""
        s = XlsxSheet(name)
        self.sheets.append(s)
        return s

    def to_bytes(self) -> bytes:
        """The .xlsx file."""
        strings: dict[str, int] = {}
        sheet_xml = [self._sheet_xml(s, strings) for s in self.sheets]
        n = len(self.sheets)
        files: list[tuple[str, str]] = []
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="{_CT}.worksheet+xml"/>'
            for i in range(n))
        files.append(("[Content_Types].xml",
                      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                      '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                      '<Default Extension="xml" ContentType="application/xml"/>'
                      f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
                      f'{overrides}'
                      f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
                      f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
                      '</Types>'))
        files.append(("_rels/.rels",
                      f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{_PKG_REL}">'
                      f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
                      '</Relationships>'))
        sheets = "".join(f'<sheet name="{escape(s.name, {chr(34): "&quot;"})}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                         for i, s in enumerate(self.sheets))
        files.append(("xl/workbook.xml",
                      f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{_NS}" '
                      f'xmlns:r="{_REL_NS}"><sheets>{sheets}</sheets></workbook>'))
        rels = "".join(f'<Relationship Id="rId{i + 1}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
                       for i in range(n))
        rels += (f'<Relationship Id="rId{n + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
                 f'<Relationship Id="rId{n + 2}" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>')
        files.append(("xl/_rels/workbook.xml.rels",
                      f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{_PKG_REL}">'
                      f'{rels}</Relationships>'))
        fonts = "".join(f'<font>{"<b/>" if bold else ""}<sz val="12"/><name val="{name}"/></font>'
                        for name, bold in _FONTS)
        xfs = "".join(f'<xf numFmtId="0" fontId="{i}" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
                      for i in range(len(_FONTS)))
        files.append(("xl/styles.xml",
                      f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{_NS}">'
                      f'<fonts count="{len(_FONTS)}">{fonts}</fonts>'
                      '<fills count="2"><fill><patternFill patternType="none"/></fill>'
                      '<fill><patternFill patternType="gray125"/></fill></fills>'
                      '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                      '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                      f'<cellXfs count="{len(_FONTS)}">{xfs}</cellXfs>'
                      '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
                      '</styleSheet>'))
        for i, xml in enumerate(sheet_xml):
            files.append((f"xl/worksheets/sheet{i + 1}.xml", xml))
        sst = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings)
        files.append(("xl/sharedStrings.xml",
                      f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{_NS}" '
                      f'count="{len(strings)}" uniqueCount="{len(strings)}">{sst}</sst>'))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in files:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o600 << 16
                zf.writestr(info, text.encode("utf-8"), compresslevel=6)
        return buf.getvalue()

    @staticmethod
    def _sheet_xml(sheet: XlsxSheet, strings: dict[str, int]) -> str:
        parts = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{_NS}"><sheetData>']
        for r, (values, style) in enumerate(sheet.rows):
            cells = []
            for c, v in enumerate(values):
                if v is None or v == "":
                    continue
                ref = f"{_col(c)}{r + 1}"
                if isinstance(v, str):
                    if _ILLEGAL_XML.search(v):
                        raise SynthError(f"Ô {ref}: ký tự điều khiển không ghi được vào .xlsx: {v!r}")
                    idx = strings.setdefault(v, len(strings))
                    cells.append(f'<c r="{ref}" s="{style}" t="s"><v>{idx}</v></c>')
                elif isinstance(v, (bool, np.bool_)):
                    cells.append(f'<c r="{ref}" s="{style}" t="b"><v>{int(v)}</v></c>')
                else:
                    num = int(v) if isinstance(v, (int, np.integer)) else float(v)
                    cells.append(f'<c r="{ref}" s="{style}"><v>{num!r}</v></c>')
            parts.append(f'<row r="{r + 1}">{"".join(cells)}</row>' if cells else f'<row r="{r + 1}"/>')
        parts.append("</sheetData>")
        if sheet.merges:
            refs = "".join(f'<mergeCell ref="{_col(c0)}{r0 + 1}:{_col(c1)}{r1 + 1}"/>'
                           for r0, c0, r1, c1 in sheet.merges)
            parts.append(f'<mergeCells count="{len(sheet.merges)}">{refs}</mergeCells>')
        parts.append("</worksheet>")
        return "".join(parts)


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------

_FIRST = ("Tân", "Hòa", "Bình", "An", "Phú", "Thạnh", "Long", "Đông", "Tây", "Nam", "Bắc", "Trung", "Hưng",
          "Thuận", "Phước", "Vĩnh", "Quang", "Minh", "Hiệp", "Đức", "Thanh", "Hồng", "Xuân", "Kim", "Ngọc",
          "Hải", "Sơn", "Lạc", "Yên", "Cẩm", "Thái", "Hoàng", "Nghĩa", "Mỹ", "Tiên", "Lâm", "Đại", "Gia",
          "Văn", "Liên", "Quảng", "Triệu", "Thọ", "Hương", "Châu")
_SECOND = ("Lợi", "Thành", "Lộc", "Phong", "Thịnh", "Tiến", "Điền", "Khánh", "Phúc", "Quý", "Nguyên",
           "Hà", "Vinh", "Cường", "Dương", "Giang", "Hạnh", "Kiên", "Lập", "Ninh", "Trạch", "Vân", "Mỹ",
           "Hòa", "Bình", "An", "Hưng", "Sơn", "Hải", "Xuân", "Đông", "Tây", "Trung", "Long", "Phú",
           "Thuận", "Minh", "Đức", "Lâm", "Thái", "Tường", "Hiếu", "Định", "Quang", "Nhân")

PROVINCES = (
    "An Giang", "Bà Rịa - Vũng Tàu", "Bạc Liêu", "Bắc Giang", "Bắc Kạn", "Bắc Ninh", "Bến Tre", "Bình Dương",
    "Bình Định", "Bình Phước", "Bình Thuận", "Cà Mau", "Cao Bằng", "Cần Thơ", "Đà Nẵng", "Đắk Lắk",
    "Đắk Nông", "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Giang", "Hà Nam", "Hà Nội", "Hà Tĩnh",
    "Hải Dương", "Hải Phòng", "Hậu Giang", "Hòa Bình", "Thành phố Hồ Chí Minh", "Hưng Yên", "Khánh Hòa",
    "Kiên Giang", "Kon Tum", "Lai Châu", "Lạng Sơn", "Lào Cai", "Lâm Đồng", "Long An", "Nam Định",
    "Nghệ An", "Ninh Bình", "Ninh Thuận", "Phú Thọ", "Phú Yên", "Quảng Bình", "Quảng Nam", "Quảng Ngãi",
    "Quảng Ninh", "Quảng Trị", "Sóc Trăng", "Sơn La", "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa",
    "Thừa Thiên Huế", "Tiền Giang", "Trà Vinh", "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc", "Yên Bái",
)
_CITIES = {"Cần Thơ", "Đà Nẵng", "Hà Nội", "Hải Phòng", "Thành phố Hồ Chí Minh"}
BLOCS = ("Đảng bộ Khối các cơ quan Trung ương", "Đảng bộ Khối doanh nghiệp Trung ương",
         "Đảng ủy Quân sự Trung ương", "Đảng ủy Công an Trung ương")


def _places(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` two-syllable place names, distinct after folding (then numbered when the pool runs out)."""
    pool, seen = [], set()
    for a in _FIRST:
        for b in _SECOND:
            key = fold(f"{a} {b}")  # names must differ after folding ("Thạnh" = "Thanh" when matched)
            if a != b and key not in seen:
                seen.add(key)
                pool.append(f"{a} {b}")
    order = rng.permutation(len(pool))
    out = [pool[i] for i in order[:n]]
    k = 2
    while len(out) < n:
        out.extend(f"{pool[i]} {k}" for i in order[: n - len(out)])
        k += 1
    return out


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------

def generate(scale: str, years: Iterable[int] = range(2012, 2025), seed: int = 1, out: Path | str = "synth",
             *, size: float = 1.0) -> Path:
    """Write a synthetic raw folder and return its path.

    Args:
        scale: ``ward``, ``province`` or ``national``.
        years: Assessment years (a contiguous range is typical).
        seed: Seed of the random generator; the same arguments give byte-identical files.
        out: Output folder (created; existing files of the same names are overwritten).
        size: Multiplier of the number of grassroots organisations (province, national), e.g.
            0.1 for a quick national run; ignored at ward scale.

    Raises:
        SynthError: Unknown scale, no years, a year outside every rating scheme, bad size.

    Example:
        >>> generate("ward", years=[2014], seed=1, out=Path("/tmp/ward"))  # doctest: +SKIP
        PosixPath('/tmp/ward')
    """
    if scale not in SCALES:
        raise SynthError(f"Quy mô '{scale}' không hợp lệ (chọn: {', '.join(SCALES)})")
    year_list = sorted({int(y) for y in years})
    if not year_list:
        raise SynthError("Cần ít nhất một năm")
    for y in year_list:
        try:
            ratings.scheme_for_year(y)
        except ratings.SchemeError as exc:
            raise SynthError(str(exc)) from exc
    if not 0 < size <= 4:
        raise SynthError(f"size phải trong (0, 4], nhận {size}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    if scale == "national":
        faults = _national(rng, year_list, out, size)
    else:
        faults = _workbooks(rng, scale, year_list, out, size)
    _write_common(out, scale, year_list, seed, faults)
    return out


def _write_csv(path: Path, header: list[str], rows: Iterable[Sequence[object]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    path.write_text(buf.getvalue(), encoding="utf-8")


def _write_common(out: Path, scale: str, years: list[int], seed: int, faults: list[dict]) -> None:
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
    (out / "README.md").write_text(SYNTH_README.format(scale=scale, years=span, seed=seed), encoding="utf-8")
    (out / "dataset.yaml").write_text(
        f"name: Số liệu giả lập — quy mô {scale} ({span}, seed {seed})\n"
        "illustrative: true\n"
        "synthetic: true\n"
        "source_note_vi: >-\n"
        f"  Số liệu giả lập (synthetic) do 'hoctap synth' sinh ra (seed {seed}); không phải số liệu thật\n"
        "  của bất kỳ tổ chức đảng nào.\n"
        "source_note_en: >-\n"
        f"  Synthetic data generated by 'hoctap synth' (seed {seed}); not real figures of any organisation.\n",
        encoding="utf-8")
    faults = sorted(faults, key=lambda f: (f["year"], f["kind"], f["unit_id"], f.get("source_file") or ""))
    (out / "faults.json").write_text(json.dumps({"scale": scale, "seed": seed, "years": years,
                                                 "faults": faults}, ensure_ascii=False, indent=2) + "\n",
                                     encoding="utf-8")
    _write_csv(out / "campaigns.csv", ["campaign_id", "year", "title", "document_code", "start_date"],
               ([c["campaign_id"], c["year"], c["title"], c["document_code"], c["start_date"]]
                for c in campaigns_for(years, 8 if scale == "national" else 2)))


def _write_units(out: Path, rows: list[dict], merges: list[tuple[str, str, int]], root: str) -> None:
    rows = sorted(rows, key=lambda r: (r["unit_id"], r["valid_from_year"]))
    _write_csv(out / "units.csv", ["unit_id", "unit_name", "parent_id", "unit_level", "unit_kind",
                                   "valid_from_year", "valid_to_year"],
               ([r["unit_id"], r["unit_name"], r["parent_id"], r["unit_level"], r["unit_kind"],
                 r["valid_from_year"], r["valid_to_year"]] for r in rows))
    _write_csv(out / "merges.csv", ["from_unit_id", "to_unit_id", "year"], sorted(merges))
    _write_csv(out / "targets.csv", ["unit_id", "indicator", "from_year", "to_year", "threshold_pct"],
               [[root, "coverage.members", min(r["valid_from_year"] for r in rows), None, 95],
                [root, "coverage.public", min(r["valid_from_year"] for r in rows), None, 70],
                [root, "coverage.units", min(r["valid_from_year"] for r in rows), None, 100]])


# ---------------------------------------------------------------------------------------------
# Ward and province scale: workbooks
# ---------------------------------------------------------------------------------------------

@dataclass
class _Leaf:
    unit_id: str
    kind: str
    size: float  # members in the first year
    growth: float  # yearly growth factor
    exempt_rate: float
    public_per_member: float


@dataclass
class _Tree:
    rows: list[dict]
    merges: list[tuple[str, str, int]]
    leaves: dict[str, _Leaf]
    root: str


def _unit(rows: list[dict], uid: str, name: str, parent: str | None, level: str, kind: str, start: int,
          end: int | None = None) -> None:
    rows.append({"unit_id": uid, "unit_name": name, "parent_id": parent, "unit_level": level, "unit_kind": kind,
                 "valid_from_year": start, "valid_to_year": end})


_RESIDENTIAL = ("Thôn", "Tổ dân phố", "Khu phố", "Bản", "Ấp", "Xóm")
_COMMUNE_CELLS = (("Cơ quan", "co_quan"), ("Quân sự", "luc_luong_vu_trang"), ("Công an", "luc_luong_vu_trang"),
                  ("Trạm Y tế", "co_quan"), ("Trường Mầm non", "truong_hoc"), ("Trường Tiểu học", "truong_hoc"),
                  ("Trường THCS", "truong_hoc"), ("Hợp tác xã", "doanh_nghiep"))
_ORG_CELLS = ("Phòng Tổ chức - Hành chính", "Phòng Kế toán", "Phòng Kế hoạch", "Phòng Kỹ thuật",
              "Phân xưởng 1", "Phân xưởng 2", "Phân xưởng 3", "Đội Sản xuất", "Phòng Nghiệp vụ", "Văn phòng")
_LEAF_CO_SO = (("Chi bộ Trường THPT", "truong_hoc"), ("Chi bộ Bệnh viện Đa khoa", "co_quan"),
               ("Chi bộ Ngân hàng Chính sách xã hội", "co_quan"), ("Chi bộ Chi cục Thuế", "co_quan"),
               ("Chi bộ Công ty TNHH", "doanh_nghiep"), ("Chi bộ Trung tâm Y tế", "co_quan"),
               ("Chi bộ Phòng Giáo dục và Đào tạo", "co_quan"), ("Chi bộ Kho bạc Nhà nước", "co_quan"))
_ORG_CO_SO = (("Đảng bộ Công ty Cổ phần", "doanh_nghiep"), ("Đảng bộ Cơ quan Ủy ban nhân dân", "co_quan"),
              ("Đảng bộ Trường Cao đẳng", "truong_hoc"), ("Đảng bộ Quân sự", "luc_luong_vu_trang"),
              ("Đảng bộ Công an", "luc_luong_vu_trang"))


def _leaf(rng: np.random.Generator, uid: str, kind: str, mean: float) -> _Leaf:
    size = float(max(4.0, rng.lognormal(np.log(mean), 0.45)))
    resid = kind == "khu_dan_cu"
    return _Leaf(uid, kind, size, float(rng.uniform(0.995, 1.025)),
                 float(rng.uniform(0.04, 0.09) if resid else rng.uniform(0.0, 0.02)),
                 float(rng.uniform(6.0, 11.0) if resid else rng.uniform(1.5, 4.0)))


def _build_tree(rng: np.random.Generator, scale: str, years: list[int], size: float) -> _Tree:
    start = years[0]
    reform = years[-1] >= REFORM_YEAR > start
    end_old = REFORM_YEAR - 1 if reform else None
    rows: list[dict] = []
    leaves: dict[str, _Leaf] = {}
    merges: list[tuple[str, str, int]] = []
    if scale == "ward":
        n_districts = 1
        root_name = "Tỉnh ủy Điện Biên (giả lập)"
    else:
        n_districts = max(2, round(20 * min(size, 1.0)))
        root_name = "Tỉnh ủy Hòa Bình Xuân (giả lập)"
    root = "tinh"
    _unit(rows, root, root_name, None, "cap_tren", "khac", start)
    places = _places(rng, 4000 if scale == "province" else 40)
    pi = 0

    def place() -> str:
        nonlocal pi
        pi += 1
        return places[pi - 1]

    committees: dict[str, list[tuple[str, str, str]]] = {}  # district -> [(co_so id, name, kind)]
    for d in range(n_districts):
        did = f"h{d + 1:02d}"
        dname = "Thành ủy Điện Biên Phủ (giả lập)" if scale == "ward" else \
            f"{'Huyện ủy' if d % 4 else 'Thị ủy'} {place()}"
        _unit(rows, did, dname, root, "cap_tren", "khac", start, end_old)
        cos: list[tuple[str, str, str]] = []
        if scale == "ward":
            plan = [("phuong", 31), ("xa", 10), ("leaf", 1)]
        else:
            n = max(3, int(rng.poisson(50 * max(size, 1.0))))
            plan = []
            for _ in range(n):
                r = rng.random()
                plan.append(("xa", 0) if r < 0.45 else ("leaf", 1) if r < 0.80 else ("org", 0))
        for k, (what, _n) in enumerate(plan):
            cid = f"{did}-c{k + 1:03d}"
            if what in ("phuong", "xa"):
                p = place()
                name = f"Đảng bộ {'phường' if what == 'phuong' or rng.random() < 0.3 else 'xã'} {p}"
                if scale == "ward" and what == "phuong":
                    name = f"Đảng bộ phường {p}"
                _unit(rows, cid, name, did, "co_so", "khu_dan_cu", start, end_old)
                cos.append((cid, name, "khu_dan_cu"))
                n_res = _n - 8 if _n else int(rng.integers(4, 13))
                word = _RESIDENTIAL[int(rng.integers(0, len(_RESIDENTIAL)))]
                cells = [(f"Chi bộ {word} {i + 1}", "khu_dan_cu") for i in range(max(n_res, 2))]
                n_inst = 8 if _n else int(rng.integers(2, 7))
                cells += [(f"Chi bộ {c} {'phường' if 'phường' in name else 'xã'}"
                           if c in ("Cơ quan", "Quân sự", "Công an") else f"Chi bộ {c}", kind)
                          for c, kind in _COMMUNE_CELLS[:n_inst]]
                for i, (cname, kind) in enumerate(cells):
                    uid = f"{cid}-b{i + 1:02d}"
                    _unit(rows, uid, cname, cid, "chi_bo", kind, start, end_old)
                    leaves[uid] = _leaf(rng, uid, kind, 17.0 if kind == "khu_dan_cu" else 11.0)
            elif what == "leaf":
                prefix, kind = _LEAF_CO_SO[int(rng.integers(0, len(_LEAF_CO_SO)))]
                name = f"{prefix} {place()}"
                if scale == "ward":
                    name, kind = "Chi bộ Trường THPT Phan Đình Giót (giả lập)", "truong_hoc"
                _unit(rows, cid, name, did, "co_so", kind, start, end_old)
                cos.append((cid, name, kind))
                leaves[cid] = _leaf(rng, cid, kind, 22.0)
            else:
                prefix, kind = _ORG_CO_SO[int(rng.integers(0, len(_ORG_CO_SO)))]
                name = f"{prefix} {place()}"
                _unit(rows, cid, name, did, "co_so", kind, start, end_old)
                cos.append((cid, name, kind))
                for i in range(int(rng.integers(3, 9))):
                    uid = f"{cid}-b{i + 1:02d}"
                    _unit(rows, uid, f"Chi bộ {_ORG_CELLS[i]}", cid, "chi_bo", kind, start, end_old)
                    leaves[uid] = _leaf(rng, uid, kind, 14.0)
        committees[did] = cos
    if reform:
        _apply_reform(rng, rows, committees, root, place, merges)
    return _Tree(rows, merges, leaves, root)


def _apply_reform(rng, rows, committees, root, place, merges) -> None:
    """2025: districts end; residential committees merge in threes under the province; others move up."""
    children: dict[str, list[dict]] = {}
    for r in rows:
        if r["parent_id"]:
            children.setdefault(r["parent_id"], []).append(r)
    new_rows: list[dict] = []
    m = 0
    for did in sorted(committees):
        resid = [c for c in committees[did] if c[2] == "khu_dan_cu"]
        others = [c for c in committees[did] if c[2] != "khu_dan_cu"]
        groups = [resid[i:i + 3] for i in range(0, len(resid), 3)]
        if len(groups) > 1 and len(groups[-1]) == 1:
            groups[-2].extend(groups.pop())
        for g in groups:
            m += 1
            mid = f"m{m:03d}"
            word = "phường" if any("phường" in c[1] for c in g) else "xã"
            _unit(new_rows, mid, f"Đảng bộ {word} {place()}", root, "co_so", "khu_dan_cu", REFORM_YEAR)
            for cid, cname, _kind in g:
                merges.append((cid, mid, REFORM_YEAR))
                old_place = cname.split(" ", 3)[-1]
                for ch in children.get(cid, []):
                    _unit(new_rows, ch["unit_id"], f"{ch['unit_name']} {old_place}", mid, "chi_bo",
                          ch["unit_kind"], REFORM_YEAR)
        for cid, cname, kind in others:
            _unit(new_rows, cid, cname, root, "co_so", kind, REFORM_YEAR)
            for ch in children.get(cid, []):
                _unit(new_rows, ch["unit_id"], ch["unit_name"], cid, "chi_bo", ch["unit_kind"], REFORM_YEAR)
    rows.extend(new_rows)


def _active_rows(rows: list[dict], year: int) -> list[dict]:
    return [r for r in rows if r["valid_from_year"] <= year and (r["valid_to_year"] is None or year <= r["valid_to_year"])]


@dataclass
class _LeafYear:
    members: int
    exempt: int
    not_assessed: int
    held: list[bool]
    attended: list[int]
    makeup: list[int]
    public_target: list[int]
    public_attended: list[int]
    levels: list[int]  # counts of ranks 1..4
    unit_rank: int
    exemplary: bool


def _leaf_years(rng: np.random.Generator, leaf: _Leaf, year: int, first: int, n_camp: int) -> _LeafYear:
    members = max(3, int(round(leaf.size * leaf.growth ** (year - first) + rng.normal(0, 0.8))))
    exempt = int(min(members - 2, rng.binomial(members, leaf.exempt_rate)))
    eligible = members - exempt
    held, att, mk, pt, pa_ = [], [], [], [], []
    base_rate = float(np.clip(rng.normal(0.95 + 0.002 * (year - 2012), 0.015), 0.90, 0.995))
    for _ in range(n_camp):
        h = bool(rng.random() > 0.004)
        rate = float(np.clip(base_rate + rng.normal(0, 0.01), 0.88, 1.0))
        a = int(rng.binomial(eligible, rate)) if h else 0
        held.append(h)
        att.append(a)
        mk.append(int(min(a, rng.poisson(0.6))) if h else 0)
        target = int(round(members * leaf.public_per_member * rng.uniform(0.9, 1.1)))
        pt.append(target)
        prate = float(np.clip(rng.normal(0.66 + 0.012 * (year - 2012), 0.04), 0.4, 0.98))
        pa_.append(int(rng.binomial(target, prate)) if h else 0)
    not_assessed = int(min(eligible, rng.poisson(0.25)))
    assessed = eligible - not_assessed
    if _key(year) == "tsvm-2008":
        p = np.array([rng.uniform(0.14, 0.22), 0, rng.uniform(0.02, 0.05), 0.003])
    else:
        p = np.array([rng.uniform(0.10, 0.15), 0, rng.uniform(0.02, 0.05), 0.003])
    p[1] = 1 - p.sum()
    levels = [int(x) for x in rng.multinomial(assessed, p)]
    if _key(year) == "tsvm-2008":
        r = rng.random()
        rank = 1 if r < 0.62 + 0.02 * min(year - 2008, 9) else 2 if r < 0.95 else 3 if r < 0.995 else 4
    else:
        r = rng.random()
        rank = 1 if r < 0.18 else 2 if r < 0.93 else 3 if r < 0.995 else 4
    commended = _key(year) == "tsvm-2008" or ratings.quota_applies(year)  # TSVM commendation from 2019
    exemplary = bool(rank == 1 and commended and rng.random() < 0.2)
    return _LeafYear(members, exempt, not_assessed, held, att, mk, pt, pa_, levels, rank, exemplary)


def _enforce_quota(figs: dict[str, _LeafYear], leaf_ids: list[str]) -> None:
    """Demote level-1 members to level 2 until level1 ≤ ⌊20% × level2⌋ over ``leaf_ids``."""
    l1 = sum(figs[u].levels[0] for u in leaf_ids)
    l2 = sum(figs[u].levels[1] for u in leaf_ids)
    excess = l1 - (l2 * 20) // 100
    while excess > 0:
        u = max(leaf_ids, key=lambda x: (figs[x].levels[0], x))
        figs[u].levels[0] -= 1
        figs[u].levels[1] += 1
        l1, l2 = l1 - 1, l2 + 1
        excess = l1 - (l2 * 20) // 100


def _pct(num: int, den: int) -> str:
    if den == 0:
        return "-"
    value = np.floor(1000 * num / den + 0.5) / 10
    return f"{value:.1f}".replace(".", ",")


@dataclass
class _Committee:
    unit_id: str
    name: str
    leaves: list[tuple[str, str]]  # (unit_id, name) of the leaf units that report in its workbook
    rated: list[tuple[str, str]]  # chi bộ it rates (empty for a chi bộ cơ sở)


def _workbooks(rng: np.random.Generator, scale: str, years: list[int], out: Path, size: float) -> list[dict]:
    tree = _build_tree(rng, scale, years, size)
    _write_units(out, tree.rows, tree.merges, tree.root)
    camps = campaigns_for(years, 2)
    faults: list[dict] = []
    plan = _plan_faults(rng, tree, years)
    for year in years:
        ydir = out / str(year)
        ydir.mkdir(exist_ok=True)
        active = _active_rows(tree.rows, year)
        kids: dict[str, list[dict]] = {}
        for r in active:
            if r["parent_id"]:
                kids.setdefault(r["parent_id"], []).append(r)
        for v in kids.values():
            v.sort(key=lambda r: r["unit_id"])
        year_camps = [c for c in camps if c["year"] == year]
        legacy_ok = year <= 2015
        uppers = sorted(r["unit_id"] for r in active if r["unit_level"] == "cap_tren"
                        and any(k["unit_level"] == "co_so" for k in kids.get(r["unit_id"], [])))
        for upper in uppers:
            co_so_rows = [k for k in kids[upper] if k["unit_level"] == "co_so"]
            unit_ranks: dict[str, tuple[int, bool]] = {}
            for cs in co_so_rows:
                cid = cs["unit_id"]
                chi = kids.get(cid, [])
                leaf_rows = chi if chi else [cs]
                figs = {r["unit_id"]: _leaf_years(rng, tree.leaves[r["unit_id"]], year, years[0], len(year_camps))
                        for r in leaf_rows}
                if ratings.quota_applies(year):
                    _enforce_quota(figs, [r["unit_id"] for r in leaf_rows])
                rank_draw = rng.random()
                if _key(year) == "tsvm-2008":
                    cs_rank = 1 if rank_draw < 0.7 else 2 if rank_draw < 0.97 else 3
                else:
                    cs_rank = 1 if rank_draw < 0.2 else 2 if rank_draw < 0.96 else 3
                commended = _key(year) == "tsvm-2008" or ratings.quota_applies(year)
                unit_ranks[cid] = (cs_rank, bool(cs_rank == 1 and commended and rng.random() < 0.2))
                committee = _Committee(cid, cs["unit_name"], [(r["unit_id"], r["unit_name"]) for r in leaf_rows],
                                       [(r["unit_id"], r["unit_name"]) for r in chi])
                legacy = legacy_ok and rng.random() < (0.5 if scale == "ward" else 0.02)
                thousands = rng.random() < 0.2
                faults_here = plan.get((cid, year), [])
                if any(f["kind"] == "missing_report" for f in faults_here):
                    faults.extend(_fault(f, cid, year, None, None) for f in faults_here)
                    continue
                book, recorded = _committee_book(rng, committee, figs, year, year_camps, legacy, thousands,
                                                 faults_here)
                rel = f"{year}/{cid}-{year}.xlsx"
                (out / rel).write_bytes(book.to_bytes())
                faults.extend(dict(f, source_file=rel) for f in recorded)
            book = XlsxBook()
            upper_row = next(r for r in active if r["unit_id"] == upper)
            _rating_sheet(book, upper_row["unit_name"], year,
                          [(k["unit_id"], k["unit_name"]) for k in co_so_rows], unit_ranks, rng, code_col=True)
            (out / f"{year}/{upper}-xep-loai-{year}.xlsx").write_bytes(book.to_bytes())
    return faults


def _fault(f: dict, unit_id: str, year: int, source_file: str | None, sheet: str | None, **extra) -> dict:
    return {"kind": f["kind"], "check": f["check"], "unit_id": unit_id, "year": year,
            "source_file": source_file, "sheet": sheet, **extra}


def _plan_faults(rng: np.random.Generator, tree: _Tree, years: list[int]) -> dict[tuple[str, int], list[dict]]:
    """Choose committee-years for one planted fault of each kind (a missing report stands alone)."""
    by_year: dict[int, list[tuple[str, bool]]] = {}
    for y in years:
        active = _active_rows(tree.rows, y)
        parents = {r["parent_id"] for r in active if r["unit_level"] == "chi_bo"}
        by_year[y] = sorted((r["unit_id"], r["unit_id"] in parents) for r in active if r["unit_level"] == "co_so")
    slots = [(cid, y, has) for y in years for cid, has in by_year[y]]
    if not slots:
        return {}
    order = [slots[i] for i in rng.permutation(len(slots))]
    plan: dict[tuple[str, int], list[dict]] = {}
    used_alone: set[tuple[str, int]] = set()
    kinds = ["missing_report", "total_mismatch", "unit_unknown", "stated_pct_mismatch", "label_invalid",
             "attended_gt_eligible", "quota_exceeded", "rating_sum_mismatch"]
    for kind in kinds:
        for cid, y, has_chi in order:
            key = (cid, y)
            if key in used_alone:
                continue
            taken = {f["kind"] for f in plan.get(key, [])}
            if kind == "missing_report" and taken:
                continue
            if kind in ("label_invalid", "unit_unknown") and not has_chi:
                continue
            if kind == "quota_exceeded" and not ratings.quota_applies(y):
                continue
            if kind in ("quota_exceeded", "rating_sum_mismatch") and taken & {"quota_exceeded", "rating_sum_mismatch"}:
                continue
            if kind == "label_invalid" and taken & {"label_invalid"}:
                continue
            plan.setdefault(key, []).append({"kind": kind, "check": FAULT_CHECKS[kind]})
            if kind == "missing_report":
                used_alone.add(key)
            break
    return plan


def _title(sheet: XlsxSheet, lines: list[str], width: int, legacy: bool) -> None:
    for line in lines:
        caps = line.isupper()
        r = sheet.put([_enc(line, legacy, caps)], style=(4 if caps else 3) if legacy else 1)
        sheet.merge(r, 0, r, width - 1)
    sheet.put([])


def _enc(value: object, legacy: bool, caps: bool = False) -> object:
    if legacy and isinstance(value, str) and value and not value.replace(",", "").replace("-", "").isdigit():
        return encode_legacy(value, "tcvn3", caps=caps)
    return value


def _row(sheet: XlsxSheet, values: list[object], legacy: bool, bold: bool = False) -> int:
    style = (3 if bold else 2) if legacy else (1 if bold else 0)
    return sheet.put([_enc(v, legacy) for v in values], style)


def _dash(v: int) -> object:
    return v if v else "-"


def _committee_book(rng, c: _Committee, figs: dict[str, _LeafYear], year: int, camps: list[dict], legacy: bool,
                    thousands: bool, faults: list[dict]) -> tuple[XlsxBook, list[dict]]:
    kinds = {f["kind"]: f for f in faults}
    recorded: list[dict] = []
    book = XlsxBook()
    head = [c.name.upper(), f"NĂM {year}"]
    ids = [u for u, _ in c.leaves]

    # quota and rating-sum faults change figures before anything is written
    if "quota_exceeded" in kinds:
        l2 = sum(figs[u].levels[1] for u in ids)
        l1 = sum(figs[u].levels[0] for u in ids)
        need = (l2 * 20) // 100 - l1 + 2
        u = max(ids, key=lambda x: (figs[x].levels[1], x))
        move = min(need, figs[u].levels[1])
        figs[u].levels[0] += move
        figs[u].levels[1] -= move
        recorded.append(_fault(kinds["quota_exceeded"], c.unit_id, year, None, "Xếp loại ĐV"))
    sum_unit = None
    if "rating_sum_mismatch" in kinds:
        sum_unit = max(ids, key=lambda x: (figs[x].members, x))
        figs[sum_unit].levels[1] += 3
        recorded.append(_fault(kinds["rating_sum_mismatch"], sum_unit, year, None, "Xếp loại ĐV"))

    # membership
    s = book.sheet("Đảng viên")
    _title(s, head + ["BÁO CÁO SỐ LƯỢNG ĐẢNG VIÊN"], 5, legacy)
    _row(s, ["STT", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn sinh hoạt", "Ghi chú"], legacy, bold=True)
    for i, (u, name) in enumerate(c.leaves, 1):
        _row(s, [i, name, figs[u].members, _dash(figs[u].exempt), ""], legacy)
    tot_members = sum(figs[u].members for u in ids)
    if "total_mismatch" in kinds:
        tot_members += 1 + int(rng.integers(0, 5))
        recorded.append(_fault(kinds["total_mismatch"], c.unit_id, year, None, "Đảng viên"))
    _row(s, ["", "Tổng cộng", tot_members, sum(figs[u].exempt for u in ids), ""], legacy, bold=True)
    s.put([])
    _row(s, [NOTE_VI], legacy)

    # study, one sheet per campaign
    for k, camp in enumerate(camps):
        s = book.sheet(f"Học tập {k + 1}")
        _title(s, head + [f"KẾT QUẢ HỌC TẬP, QUÁN TRIỆT {camp['document_code']}", camp["title"]], 11, legacy)
        top = _row(s, ["STT", "Tên chi bộ", "Tổ chức học tập", "Đảng viên", "", "", "", "Quần chúng", "", "",
                       "Ghi chú"], legacy, bold=True)
        _row(s, ["", "", "", "Số ĐV phải học", "Tham gia", "Học bù", "Tỷ lệ (%)", "Số được triển khai", "Tham gia",
                 "Tỷ lệ (%)", ""], legacy, bold=True)
        for c0, c1 in ((0, 0), (1, 1), (2, 2), (3, 6), (7, 9), (10, 10)):
            s.merge(top, c0, top + (1 if c0 == c1 else 0), c1)
        totals = [0, 0, 0, 0, 0]
        for i, (u, name) in enumerate(c.leaves, 1):
            f = figs[u]
            elig = f.members - f.exempt
            att, mk, pt, pa_ = f.attended[k], f.makeup[k], f.public_target[k], f.public_attended[k]
            pct = _pct(att, elig)
            if k == 1 and i == 1 and "attended_gt_eligible" in kinds:
                att = elig + 2
                f.attended[k] = att
                pct = _pct(att, elig)
                recorded.append(_fault(kinds["attended_gt_eligible"], u, year, None, s.name))
            if k == 0 and i == len(c.leaves) and "stated_pct_mismatch" in kinds and elig:
                true = 100 * att / elig
                pct = f"{(true - 7 if true > 50 else true + 7):.1f}".replace(".", ",")
                recorded.append(_fault(kinds["stated_pct_mismatch"], u, year, None, s.name))
            pt_cell = f"{pt:,}".replace(",", ".") if thousands and pt >= 1000 else pt
            _row(s, [i, name, "x" if f.held[k] else "", elig, att, _dash(mk), pct, pt_cell, pa_, _pct(pa_, pt),
                     "" if f.held[k] else "Chưa tổ chức"], legacy)
            for j, v in enumerate((elig, att, mk, pt, pa_)):
                totals[j] += v
        held_n = sum(figs[u].held[k] for u in ids)
        _row(s, ["", "Tổng cộng", held_n, totals[0], totals[1], totals[2], _pct(totals[1], totals[0]),
                 totals[3], totals[4], _pct(totals[4], totals[3]), ""], legacy, bold=True)
        s.put([])
        _row(s, [NOTE_VI], legacy)

    # ratings of chi bộ
    if c.rated:
        ranks = {u: (figs[u].unit_rank, figs[u].exemplary) for u, _ in c.rated}
        bad = None
        if "label_invalid" in kinds:
            bad_unit = c.rated[len(c.rated) // 2][0]
            label, check = _foreign_label(year, "unit")
            bad = (bad_unit, label)
            recorded.append(_fault(dict(kinds["label_invalid"], check=check), bad_unit, year, None, "Xếp loại TCĐ",
                                   label=label))
        _rating_sheet(book, c.name, year, c.rated, ranks, rng, code_col=False, legacy=legacy, bad=bad)

    # member ratings
    s = book.sheet("Xếp loại ĐV")
    _title(s, head + ["KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI ĐẢNG VIÊN"], 9, legacy)
    top = _row(s, ["STT", "Tên chi bộ", "Tổng số ĐV", "Số ĐV miễn sinh hoạt", "Kết quả xếp loại", "", "", "",
                   "Không đánh giá"], legacy, bold=True)
    _row(s, ["", "", "", "", *_MEMBER_HEADERS[_key(year)], ""], legacy, bold=True)
    for col in (0, 1, 2, 3, 8):
        s.merge(top, col, top + 1, col)
    s.merge(top, 4, top, 7)
    tot = [0] * 7
    rows = list(c.leaves)
    if "unit_unknown" in kinds:
        ghost = f"Chi bộ {_RESIDENTIAL[0]} Mới {int(rng.integers(70, 99))}"
        rows.append(("", ghost))
        recorded.append(_fault(kinds["unit_unknown"], c.unit_id, year, None, "Xếp loại ĐV", name=ghost))
    for i, (u, name) in enumerate(rows, 1):
        if u:
            f = figs[u]
            vals = [f.members, f.exempt, *f.levels, f.not_assessed]
        else:
            vals = [12, 0, 1, 10, 1, 0, 0]
        _row(s, [i, name, *[_dash(v) for v in vals]], legacy)
        tot = [a + b for a, b in zip(tot, vals, strict=True)]
    _row(s, ["", "Tổng cộng", *tot], legacy, bold=True)
    s.put([])
    _row(s, [NOTE_VI], legacy)
    return book, recorded


def _rating_sheet(book: XlsxBook, owner: str, year: int, rated: list[tuple[str, str]],
                  ranks: dict[str, tuple[int, bool]], rng: np.random.Generator, code_col: bool,
                  legacy: bool = False, bad: tuple[str, str] | None = None) -> None:
    s = book.sheet("Xếp loại TCCSĐ" if code_col else "Xếp loại TCĐ")
    what = "TỔ CHỨC CƠ SỞ ĐẢNG" if code_col else "CHI BỘ"
    _title(s, [owner.upper(), f"NĂM {year}", f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI {what}"], 5, legacy)
    header = (["STT", "Mã đơn vị", "Tên tổ chức đảng", "Xếp loại", "Tiêu biểu"] if code_col
              else ["STT", "Tên chi bộ", "Xếp loại", "Tiêu biểu", "Ghi chú"])
    _row(s, header, legacy, bold=True)
    spell = label_variants(year, "unit")
    for i, (u, name) in enumerate(rated, 1):
        rank, exemplary = ranks[u]
        options = spell[rank]
        label = options[int(rng.integers(0, len(options)))]
        if bad is not None and bad[0] == u:
            label, exemplary = bad[1], False
        if code_col:
            _row(s, [i, u, name, label, "x" if exemplary else ""], legacy)
        else:
            _row(s, [i, name, label, "x" if exemplary else "", ""], legacy)
    s.put([])
    _row(s, [NOTE_VI], legacy)


# ---------------------------------------------------------------------------------------------
# National scale: units tree + Parquet member register and attendance
# ---------------------------------------------------------------------------------------------

#: Full-size national targets (multiplied by ``size``).
NATIONAL_CO_SO = 52_000
NATIONAL_MEMBERS = 5_600_000
REGISTER_SCHEMA = pa.schema([("member_id", pa.string()), ("year", pa.int64()), ("unit_id", pa.string()),
                             ("is_exempt", pa.bool_()), ("rating_label", pa.string())])
ATTENDANCE_SCHEMA = pa.schema([("member_id", pa.string()), ("campaign_id", pa.string())])


@dataclass
class _NationalTree:
    ids: np.ndarray  # unit ids (object) of every unit, position = code
    leaf_codes: np.ndarray  # codes of reporting leaves
    leaf_co_so_old: np.ndarray  # grassroots organisation of each leaf before the reform
    leaf_co_so_new: np.ndarray  # … from the reform year
    co_so_codes: np.ndarray
    rows: list[dict]
    merges: list[tuple[str, str, int]]


def _national_tree(rng: np.random.Generator, years: list[int], size: float) -> _NationalTree:
    start = years[0]
    reform = years[-1] >= REFORM_YEAR > start
    end_old = REFORM_YEAR - 1 if reform else None
    n_co_so = max(70, int(round(NATIONAL_CO_SO * size)))
    tops = [(f"p{i + 1:02d}", ("Thành ủy " if p in _CITIES else "Tỉnh ủy ") + p.replace("Thành phố ", ""))
            for i, p in enumerate(PROVINCES)]
    tops += [(f"k{i + 1:02d}", b) for i, b in enumerate(BLOCS)]
    weights = rng.lognormal(0, 0.5, len(tops))
    weights[:len(PROVINCES)] *= np.where([p in ("Hà Nội", "Thành phố Hồ Chí Minh") for p in PROVINCES], 3.0, 1.0)
    weights[len(PROVINCES):] *= 0.6
    per_top = np.maximum(1, np.floor(n_co_so * weights / weights.sum()).astype(int))
    ids: list[str] = ["tw"]
    names: list[str] = ["Ban Chấp hành Trung ương (giả lập)"]
    parent: list[int] = [-1]
    level: list[str] = ["cap_tren"]
    kind: list[str] = ["khac"]
    end: list[int | None] = [None]

    def add(uid: str, name: str, par: int, lvl: str, knd: str, to: int | None) -> int:
        ids.append(uid)
        names.append(name)
        parent.append(par)
        level.append(lvl)
        kind.append(knd)
        end.append(to)
        return len(ids) - 1

    co_so: list[int] = []
    co_so_district: list[int] = []
    co_so_resid: list[bool] = []
    d_count = c_count = 0
    org_kinds = ("co_quan", "doanh_nghiep", "truong_hoc", "luc_luong_vu_trang")
    for t, (tid, tname) in enumerate(tops):
        tcode = add(tid, tname, 0, "cap_tren", "khac", None)
        n = int(per_top[t])
        n_d = 0 if tid.startswith("k") else min(n, max(2, int(round(n / 70))))
        dcodes = []
        for _ in range(n_d):
            d_count += 1
            dcodes.append(add(f"d{d_count:04d}", f"Huyện ủy {d_count} ({tname})", tcode, "cap_tren", "khac",
                              end_old))
        r = rng.random(n)
        dsel = np.arange(n) % max(n_d, 1)  # round robin: every district has grassroots organisations
        for j in range(n):
            c_count += 1
            resid = bool(n_d and r[j] < 0.45)
            under_d = bool(n_d and (r[j] < 0.95 or j < n_d))
            pcode = dcodes[dsel[j]] if under_d else tcode
            co_so.append(add(f"c{c_count:05d}", f"Đảng bộ xã {c_count}" if resid else f"Tổ chức cơ sở đảng {c_count}",
                             pcode, "co_so", "khu_dan_cu" if resid else org_kinds[j % 4],
                             end_old if under_d else None))
            co_so_district.append(pcode if under_d else -1)
            co_so_resid.append(resid)
    co_so_codes = np.array(co_so, dtype=np.int64)
    resid_arr = np.array(co_so_resid)
    # 40% of non-residential grassroots organisations are chi bộ cơ sở (leaves); others have chi bộ
    is_leaf_co_so = (~resid_arr) & (rng.random(len(co_so_codes)) < 0.40)
    n_chi = np.where(is_leaf_co_so, 0, np.where(resid_arr, rng.integers(3, 12, len(co_so_codes)),
                                                  rng.integers(2, 8, len(co_so_codes))))
    first_chi = len(ids)
    chi_parent = np.repeat(co_so_codes, n_chi)
    chi_resid = np.repeat(resid_arr, n_chi)
    n_b = int(n_chi.sum())
    ids.extend(f"b{i + 1:06d}" for i in range(n_b))
    names.extend(f"Chi bộ {i + 1}" for i in range(n_b))
    parent.extend(chi_parent.tolist())
    level.extend(["chi_bo"] * n_b)
    kind_arr = np.array(kind, dtype=object)
    kind.extend(kind_arr[chi_parent].tolist())
    end.extend(end_old if rs else None for rs in chi_resid.tolist())
    chi_codes = np.arange(first_chi, first_chi + n_b)
    leaf_codes = np.concatenate([co_so_codes[is_leaf_co_so], chi_codes])
    leaf_co_so_old = np.concatenate([co_so_codes[is_leaf_co_so], chi_parent])
    rows = [{"unit_id": ids[i], "unit_name": names[i], "parent_id": ids[parent[i]] if parent[i] >= 0 else None,
             "unit_level": level[i], "unit_kind": kind[i], "valid_from_year": start, "valid_to_year": end[i]}
            for i in range(len(ids))]
    merges: list[tuple[str, str, int]] = []
    leaf_co_so_new = leaf_co_so_old.copy()
    if reform:
        # residential committees of each district merge in threes into new ones under the province
        new_of: dict[int, int] = {}
        dist = np.array(co_so_district)
        m = 0
        for d in sorted(set(dist[resid_arr].tolist())):
            group_all = co_so_codes[resid_arr & (dist == d)]
            groups = [group_all[i:i + 3] for i in range(0, len(group_all), 3)]
            if len(groups) > 1 and len(groups[-1]) == 1:
                last = groups.pop()
                groups[-1] = np.concatenate([groups[-1], last])
            top = parent[d]
            for g in groups:
                m += 1
                code = len(ids)
                ids.append(f"m{m:05d}")
                rows.append({"unit_id": ids[code], "unit_name": f"Đảng bộ xã mới {m}", "parent_id": ids[top],
                             "unit_level": "co_so", "unit_kind": "khu_dan_cu", "valid_from_year": REFORM_YEAR,
                             "valid_to_year": None})
                for c in g.tolist():
                    new_of[c] = code
                    merges.append((ids[c], ids[code], REFORM_YEAR))
        for c, d in zip(co_so_codes.tolist(), co_so_district, strict=True):
            if d >= 0 and c not in new_of:  # other grassroots organisations move under the province
                rows.append(dict(rows[c], parent_id=ids[parent[d]], valid_from_year=REFORM_YEAR, valid_to_year=None))
        for i in np.flatnonzero(chi_resid).tolist():
            rows.append(dict(rows[first_chi + i], parent_id=ids[new_of[int(chi_parent[i])]],
                             valid_from_year=REFORM_YEAR, valid_to_year=None))
        remap = np.arange(len(ids))
        for old, new in new_of.items():
            remap[old] = new
        leaf_co_so_new = remap[leaf_co_so_old]
    return _NationalTree(np.array(ids, dtype=object), leaf_codes, leaf_co_so_old, leaf_co_so_new,
                         co_so_codes, rows, merges)


def _national(rng: np.random.Generator, years: list[int], out: Path, size: float) -> list[dict]:
    tree = _national_tree(rng, years, size)
    _write_units(out, tree.rows, tree.merges, "tw")
    n_leaf = len(tree.leaf_codes)
    target = NATIONAL_MEMBERS * size
    raw = rng.lognormal(np.log(20), 0.55, n_leaf)
    base = np.maximum(3, np.round(raw * target / raw.sum() / (1 + 0.012 * (len(years) - 1) / 2))).astype(np.int64)
    n_first = int(base.sum())
    # member pool: founders of the first year plus yearly admissions; each may leave later
    grow = int(n_first * 0.03)
    n_pool = n_first + grow * (len(years) - 1)
    unit_of = np.empty(n_pool, dtype=np.int64)
    unit_of[:n_first] = np.repeat(np.arange(n_leaf), base)
    join = np.full(n_pool, years[0], dtype=np.int64)
    for k, y in enumerate(years[1:]):
        sl = slice(n_first + grow * k, n_first + grow * (k + 1))
        unit_of[sl] = rng.choice(n_leaf, grow, p=base / base.sum())
        join[sl] = y
    order = np.lexsort((np.arange(n_pool), unit_of))  # members of a unit get consecutive ids
    unit_of, join = unit_of[order], join[order]
    leave = np.where(rng.random(n_pool) < 0.015 * len(years), rng.integers(years[0] + 1, years[-1] + 2, n_pool),
                     years[-1] + 1)
    exempt_from = np.where(rng.random(n_pool) < 0.032, years[0] - 1,
                           rng.integers(years[0], years[0] + 400, n_pool))
    member_ids = pa.array([f"M{i:08d}" for i in range(n_pool)], pa.string())
    leaf_ids = pa.array(tree.ids[tree.leaf_codes].tolist(), pa.string())
    # per-unit propensities
    unit_rate = np.clip(rng.normal(0.955, 0.02, n_leaf), 0.90, 0.995)
    faults: list[dict] = []
    plan = _plan_national_faults(rng, tree, years, unit_of, join, leave)
    for year in years:
        ydir = out / str(year)
        ydir.mkdir(exist_ok=True)
        alive = (join <= year) & (leave > year)
        missing = [f for f in plan if f["year"] == year and f["kind"] == "missing_report"]
        for f in missing:
            alive &= unit_of != f["_leaf"]
        idx = np.flatnonzero(alive)
        u = unit_of[idx]
        exempt = exempt_from[idx] <= year
        co_so = (tree.leaf_co_so_new if year >= REFORM_YEAR else tree.leaf_co_so_old)[u]
        codes = _member_ranks(rng, year, co_so, exempt)
        for f in plan:
            if f["year"] != year:
                continue
            if f["kind"] == "quota_exceeded":
                sel = np.flatnonzero((co_so == f["_co_so"]) & (codes == 2))
                need = int(np.ceil(len(sel) * 0.35))
                codes[sel[:need]] = 1
                faults.append(_public(f))
        label_arr = _spell(rng, year, codes)
        unit_col = leaf_ids.take(pa.array(u))
        planted_rows = np.zeros(len(u), dtype=bool)
        for f in plan:
            if f["year"] == year and f["kind"] == "unit_unknown":
                # level-1 or unrated members only: removing them can never break the quota
                pos = np.flatnonzero((u == f["_leaf"]) & (codes <= 1))[:5]
                mask = np.zeros(len(u), dtype=bool)
                mask[pos] = True
                planted_rows |= mask
                unit_col = pc.if_else(pa.array(mask), pa.scalar(f["unit_id"]), unit_col)
                faults.append(_public(f))
            if f["year"] == year and f["kind"] == "label_invalid":
                pos = np.flatnonzero((u == f["_leaf"]) & (codes == 1))[:3]
                mask = np.zeros(len(u), dtype=bool)
                mask[pos] = True
                planted_rows |= mask
                label_arr = pc.if_else(pa.array(mask), pa.scalar(f["label"]), label_arr)
                faults.append(_public(f))
        faults.extend(_public(f) for f in missing)
        register = pa.table({"member_id": member_ids.take(pa.array(idx)),
                             "year": pa.array(np.full(len(idx), year, dtype=np.int64)),
                             "unit_id": unit_col, "is_exempt": pa.array(exempt), "rating_label": label_arr},
                            schema=REGISTER_SCHEMA)
        pq.write_table(register, ydir / "member_register.parquet", row_group_size=1_000_000,
                       compression="zstd")
        del register, label_arr, unit_col
        # quarantined (planted) members get no attendance rows: one fault, one finding
        _write_attendance(rng, ydir / "attendance.parquet", year, idx, u, exempt | planted_rows, unit_rate,
                          member_ids)
    return faults


def _public(f: dict) -> dict:
    return {k: v for k, v in f.items() if not k.startswith("_")}


def _member_ranks(rng: np.random.Generator, year: int, co_so: np.ndarray, exempt: np.ndarray) -> np.ndarray:
    """Rank per member (0 = not assessed, 1..4), within the quota per grassroots organisation."""
    n = len(exempt)
    if _key(year) == "tsvm-2008":
        p1, p3, p4 = 0.17, 0.035, 0.003
    else:
        p1, p3, p4 = 0.125, 0.03, 0.003
    r = rng.random(n)
    codes = np.where(r < p1, 1, np.where(r < 1 - p3 - p4, 2, np.where(r < 1 - p4, 3, 4))).astype(np.int8)
    not_assessed = exempt | (rng.random(n) < 0.01)
    codes[not_assessed] = 0
    if ratings.quota_applies(year):
        # demote surplus level-1 members to level 2, per grassroots organisation (vectorised)
        l1 = np.bincount(co_so, weights=codes == 1, minlength=co_so.max() + 1).astype(np.int64)
        l2 = np.bincount(co_so, weights=codes == 2, minlength=co_so.max() + 1).astype(np.int64)
        demote = np.maximum(0, -(-(5 * l1 - l2) // 6))  # smallest d with 5(l1-d) ≤ l2+d
        is1 = np.flatnonzero(codes == 1)
        order = is1[np.argsort(co_so[is1], kind="stable")]
        grp = co_so[order]
        starts = np.searchsorted(grp, grp, side="left")
        rank_in = np.arange(len(order)) - starts
        codes[order[rank_in < demote[grp]]] = 2
    return codes


def _spell(rng: np.random.Generator, year: int, codes: np.ndarray) -> pa.Array:
    """Spellings as written in forms: the official label mostly, abbreviations sometimes."""
    spell = label_variants(year, "member")
    choices: list[str | None] = [None]
    offsets = {}
    for rank in (1, 2, 3, 4):
        offsets[rank] = len(choices)
        choices.extend(spell[rank])
    pick = np.zeros(len(codes), dtype=np.int64)
    r = rng.random(len(codes))
    for rank in (1, 2, 3, 4):
        sel = codes == rank
        k = len(spell[rank])
        variant = np.where(r[sel] < 0.7, 0, 1 + (r[sel] * 1000).astype(np.int64) % max(k - 1, 1))
        variant = np.minimum(variant, k - 1)
        pick[sel] = offsets[rank] + variant
    return pa.array(choices, pa.string()).take(pa.array(pick))


def _write_attendance(rng, path: Path, year: int, idx: np.ndarray, u: np.ndarray, absent: np.ndarray,
                      unit_rate: np.ndarray, member_ids: pa.Array) -> None:
    """One row per attending member and campaign; ``absent`` members (exempt: the gate checks
    attended ≤ members − exempt; planted quarantined members) never attend."""
    camps = [c["campaign_id"] for c in campaigns_for([year], 8)]
    n_units = len(unit_rate)
    with pq.ParquetWriter(path, ATTENDANCE_SCHEMA, compression="zstd") as writer:
        for cid in camps:
            held = rng.random(n_units) > 0.004
            rate = np.clip(unit_rate + rng.normal(0, 0.01, n_units), 0.85, 1.0)
            p = np.where(held, rate, 0.0)[u]
            p = np.where(absent, 0.0, p)
            attend = rng.random(len(idx)) < p
            who = idx[attend]
            table = pa.table({"member_id": member_ids.take(pa.array(who)),
                              "campaign_id": pa.array([cid], pa.string()).take(
                                  pa.array(np.zeros(len(who), dtype=np.int64)))}, schema=ATTENDANCE_SCHEMA)
            writer.write_table(table, row_group_size=1_000_000)


def _plan_national_faults(rng, tree: _NationalTree, years: list[int], unit_of, join, leave) -> list[dict]:
    plan: list[dict] = []
    leaf_sizes = np.bincount(unit_of, minlength=len(tree.leaf_codes))
    big = np.flatnonzero(leaf_sizes >= 15)
    picks = rng.choice(big, 4, replace=False)
    y_any = years[int(rng.integers(0, len(years)))]
    leaf_id = lambda i: str(tree.ids[tree.leaf_codes[i]])  # noqa: E731
    plan.append({"kind": "missing_report", "check": FAULT_CHECKS["missing_report"], "unit_id": leaf_id(picks[0]),
                 "year": y_any, "source_file": f"{y_any}/member_register.parquet", "sheet": None,
                 "_leaf": int(picks[0])})
    plan.append({"kind": "unit_unknown", "check": FAULT_CHECKS["unit_unknown"], "unit_id": "b9999999",
                 "year": y_any, "source_file": f"{y_any}/member_register.parquet", "sheet": None,
                 "_leaf": int(picks[1])})
    y_lab = years[-1]
    label, check = _foreign_label(y_lab, "member")
    plan.append({"kind": "label_invalid", "check": check, "unit_id": leaf_id(picks[2]), "year": y_lab,
                 "source_file": f"{y_lab}/member_register.parquet", "sheet": None, "label": label,
                 "_leaf": int(picks[2])})
    quota_years = [y for y in years if ratings.quota_applies(y)]
    if quota_years:
        yq = quota_years[-1]
        leaf_map = tree.leaf_co_so_new if yq >= REFORM_YEAR else tree.leaf_co_so_old
        co = int(leaf_map[picks[3]])
        plan.append({"kind": "quota_exceeded", "check": FAULT_CHECKS["quota_exceeded"],
                     "unit_id": str(tree.ids[co]), "year": yq, "source_file": f"{yq}/member_register.parquet",
                     "sheet": None, "_co_so": co})
    return plan
