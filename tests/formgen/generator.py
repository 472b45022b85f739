"""Synthetic report forms with their known truth, for judging the header reader.

Every form is a small raw folder (``units.csv``, ``campaigns.csv`` and one or more files under a
year folder) plus the canonical rows a correct reader must produce from it. Forms vary, one seeded
choice at a time, along the dimensions committees really vary along: layout, how many rows the
header takes and how its cells are merged, header spellings and abbreviations, number styles,
totals and numbering rows, legacy 8-bit fonts, and the file type (``carriers.CARRIERS``).

The header vocabulary below is this module's own, collected from real forms and reports (see
``sources.md``); it deliberately does not import ``analysis.reference`` so that the test does not
judge the package against its own synonym lists.

Example:
    >>> forms = build_forms()
    >>> len(forms) >= 300 and len({f.form_id for f in forms}) == len(forms)
    True
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from analysis.text import encode_legacy

from .carriers import CARRIERS, SheetSpec, write_form

SEED = 20250614
#: Forms generated for each (layout, carrier) pair.
PER_PAIR = 4

CARRIER_SUFFIX = {
    "xlsx": ".xlsx", "xls": ".xls", "ods": ".ods", "docx": ".docx", "csv-utf8": ".csv",
    "csv-utf8-bom": ".csv", "csv-cp1258": ".csv", "csv-utf16": ".csv", "csv-semicolon": ".csv",
}
#: Carriers that keep fonts, hence can carry legacy 8-bit (TCVN3/VNI) text.
FONT_CARRIERS = ("xlsx", "xls", "ods", "docx")
#: Carriers that write only the first sheet.
ONE_SHEET_CARRIERS = tuple(c for c in CARRIERS if c.startswith("csv"))

#: The canonical tables a form may feed and the columns compared.
COMPARED = {
    "membership": ("unit_id", "year", "members_total", "members_exempt"),
    "study_participation": ("unit_id", "campaign_id", "is_held", "members_attended", "public_target",
                            "public_attended", "public_basis"),
    "unit_ratings": ("unit_id", "year", "scheme_id", "rating_code", "is_exemplary"),
    "member_ratings": ("unit_id", "year", "scheme_id", "rating_code", "members_count",
                       "members_not_assessed"),
}

# ---------------------------------------------------------------------------------------------
# Vocabulary (own list; sources in sources.md)
# ---------------------------------------------------------------------------------------------

# subjects
MEMBERS = ("đảng viên", "Đảng viên", "ĐV", "ĐẢNG VIÊN")
PUBLIC = ("quần chúng", "Quần chúng", "QC", "nhân dân", "quần chúng nhân dân", "Quần chúng nhân dân")
UNIT_NAME_HEADERS = ("Tên chi bộ", "Chi bộ", "Tên tổ chức đảng", "Đơn vị", "Tên đơn vị", "TCCSĐ, chi bộ",
                     "Tên TCĐ", "Chi bộ trực thuộc")
STT = ("STT", "TT", "Số TT", "Số\nTT")
NOTE = ("Ghi chú", "Ghi chú", "GHI CHÚ")
# measures
TOTAL = ("Tổng số", "TS", "Số lượng", "SL")
EXEMPT = ("Miễn", "Miễn sinh hoạt", "Được miễn sinh hoạt đảng", "Miễn công tác và sinh hoạt", "Miễn SH",
          "Miễn công tác và sinh hoạt đảng")
ELIGIBLE = ("Phải học", "Phải tham gia học tập", "Thuộc diện học tập")
ATTENDED = ("Tham gia", "Có mặt", "Dự học", "Đã học", "Tham gia học tập", "Số tham gia")
PUBLIC_TARGET = ("Phải học", "Đối tượng", "Kế hoạch", "Chỉ tiêu", "Số được triển khai", "Tổng số")
PUBLIC_ATTENDED = ATTENDED
PCT = ("Tỷ lệ", "%", "TL", "Tỷ lệ (%)", "Tỷ lệ %", "Đạt (%)")
HELD = ("Tổ chức học tập", "Đã tổ chức học tập", "Có tổ chức học")
# one-cell headers (subject × measure written in one cell)
ONE_TOTAL = ("Tổng số đảng viên", "Tổng số ĐV", "TS đảng viên", "Số lượng đảng viên", "Đảng viên (tổng số)",
             "Tổng số Đảng viên")
ONE_EXEMPT = ("Số đảng viên được miễn sinh hoạt", "ĐV miễn SH", "Số ĐV miễn sinh hoạt",
              "Đảng viên miễn công tác và sinh hoạt đảng", "Miễn sinh hoạt đảng (người)", "Số đv được miễn SHĐ")
ONE_ELIGIBLE = ("Số ĐV phải học", "Đảng viên phải học tập", "Số đảng viên thuộc diện học tập")
ONE_ATTENDED = ("ĐV tham gia học tập", "Số đảng viên tham gia", "Đảng viên dự học", "Số ĐV có mặt",
                "Số đảng viên đã học", "ĐV tham gia (người)")
ONE_MEMBERS_PCT = ("Tỷ lệ ĐV tham gia (%)", "Tỷ lệ đảng viên học tập", "% ĐV tham gia", "TL đảng viên (%)")
ONE_PUBLIC_TARGET = ("Quần chúng (đối tượng)", "Số quần chúng phải học", "QC (kế hoạch)", "Chỉ tiêu quần chúng",
                     "Nhân dân (đối tượng)")
ONE_PUBLIC_ATTENDED = ("Quần chúng tham gia", "Số QC tham gia", "Nhân dân dự học", "Quần chúng nhân dân có mặt")
ONE_PUBLIC_VISITS = ("Số lượt quần chúng tham gia", "Lượt QC tham gia", "Lượt nhân dân dự học")
ONE_PUBLIC_PCT = ("Tỷ lệ quần chúng (%)", "% QC tham gia", "TL quần chúng")
# rating levels per scheme: (code, spellings); spellings from the scheme texts and real forms
UNIT_LEVELS_2008 = (
    ("tsvm", ("Trong sạch, vững mạnh", "Trong sạch vững mạnh", "TSVM", "TRONG SẠCH, VỮNG MẠNH")),
    ("httnv", ("Hoàn thành tốt nhiệm vụ", "HTTNV", "Hoàn thành tốt NV", "HT tốt NV")),
    ("htnv", ("Hoàn thành nhiệm vụ", "HTNV", "Hoàn thành NV")),
    ("yeu-kem", ("Yếu kém", "YK", "Yếu, kém")),
)
MEMBER_LEVELS_2008 = (
    ("htxsnv", ("Đủ tư cách, hoàn thành xuất sắc nhiệm vụ", "Đủ tư cách hoàn thành xuất sắc nhiệm vụ", "HTXSNV",
                "HT xuất sắc NV", "ĐTC, HTXSNV")),
    ("httnv", ("Đủ tư cách, hoàn thành tốt nhiệm vụ", "HTTNV", "Hoàn thành tốt NV", "ĐTC, HTTNV")),
    ("htnv", ("Đủ tư cách, hoàn thành nhiệm vụ", "Đủ tư cách, hoàn thành nhiệm vụ nhưng còn hạn chế", "HTNV",
              "ĐTC, HTNV")),
    ("vi-pham", ("Vi phạm tư cách hoặc không hoàn thành nhiệm vụ", "Vi phạm tư cách", "VPTC",
                 "Vi phạm tư cách hoặc không HTNV")),
)
LEVELS_LATER = (
    ("htxsnv", ("Hoàn thành xuất sắc nhiệm vụ", "HTXSNV", "HT xuất sắc NV", "Hoàn thành XS nhiệm vụ")),
    ("httnv", ("Hoàn thành tốt nhiệm vụ", "HTTNV", "Hoàn thành tốt NV", "HT tốt NV")),
    ("htnv", ("Hoàn thành nhiệm vụ", "HTNV", "HT nhiệm vụ")),
    ("khtnv", ("Không hoàn thành nhiệm vụ", "KHTNV", "Không HTNV")),
)
EXEMPLARY_2008 = ("Trong đó tiêu biểu", "Tiêu biểu", "TSVM tiêu biểu", "Trong đó: TSVM tiêu biểu")
EXEMPLARY_LATER = ("Tiêu biểu", "Trong đó tiêu biểu", "Được công nhận tiêu biểu")
EXEMPLARY_LABEL_2008 = ("Trong sạch, vững mạnh tiêu biểu", "TSVM tiêu biểu", "TSVMTB")
NOT_ASSESSED = ("Không đánh giá", "Chưa xếp loại", "Không xếp loại", "Chưa đánh giá", "Số ĐV không đánh giá")
SL_PCT = (("SL", "%"), ("Số lượng", "Tỷ lệ"), ("Số lượng", "Tỷ lệ (%)"), ("SL", "TL"), ("SL", "Tỷ lệ %"))
RATING_LABEL_HEADERS = ("Xếp loại", "Kết quả xếp loại", "Mức xếp loại", "Xếp loại chất lượng", "Tự xếp loại")
LEVEL_GROUP = ("Xếp loại", "Mức xếp loại", "Kết quả xếp loại", "Xếp loại chất lượng")
TOTAL_MARKERS = ("Cộng", "Tổng cộng", "Toàn Đảng bộ", "TỔNG CỘNG", "Tổng số", "Cộng toàn đảng bộ")
X_MARKS = ("x", "X", "x", "✓")
NOTE_ROWS = (["Ghi chú: số liệu tính đến ngày 31/12"], [None, "Người lập biểu"], [None, None, "T/M ĐẢNG ỦY"],
             [None, "(Ký, ghi rõ họ tên)"])

SCHEMES = ((2008, 2017, "tsvm-2008"), (2018, 2022, "qd132-2018"), (2023, 2024, "qd124-2023"),
           (2025, 2100, "qd366-2025"))


def scheme_of(year: int) -> str:
    """The rating scheme in force in ``year`` (DESIGN.md)."""
    return next(s for a, b, s in SCHEMES if a <= year <= b)


def unit_levels(year: int) -> tuple:
    """(code, spellings) of the unit levels of ``year``'s scheme, best first."""
    return UNIT_LEVELS_2008 if scheme_of(year) == "tsvm-2008" else LEVELS_LATER


def member_levels(year: int) -> tuple:
    """(code, spellings) of the member levels of ``year``'s scheme, best first."""
    return MEMBER_LEVELS_2008 if scheme_of(year) == "tsvm-2008" else LEVELS_LATER


# Campaigns studied each year: (short name that opens the title, rest of the title, document code).
# Titles and codes are the real ones (Central Committee plenums, Politburo directives).
CAMPAIGN_CATALOGUE: dict[int, tuple[tuple[str, str, str], ...]] = {
    2012: (("Nghị quyết Trung ương 4 khóa XI", "một số vấn đề cấp bách về xây dựng Đảng hiện nay", "12-NQ/TW"),
           ("Chỉ thị 03-CT/TW", "về tiếp tục đẩy mạnh việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh, "
                                "chuyên đề năm 2012", "03-CT/TW")),
    2013: (("Nghị quyết Trung ương 7 khóa XI", "về tăng cường và đổi mới sự lãnh đạo của Đảng đối với công tác "
                                               "dân vận", "25-NQ/TW"),
           ("Nghị quyết Trung ương 8 khóa XI", "về đổi mới căn bản, toàn diện giáo dục và đào tạo", "29-NQ/TW")),
    2014: (("Nghị quyết Trung ương 9 khóa XI", "về xây dựng và phát triển văn hóa, con người Việt Nam",
            "33-NQ/TW"),
           ("Chỉ thị 03-CT/TW", "chuyên đề năm 2014 về học tập và làm theo tấm gương đạo đức Hồ Chí Minh",
            "03-CT/TW")),
    2015: (("Chỉ thị 36-CT/TW", "về đại hội đảng bộ các cấp tiến tới Đại hội đại biểu toàn quốc lần thứ XII",
            "36-CT/TW"),
           ("Chỉ thị 03-CT/TW", "chuyên đề năm 2015 về học tập và làm theo tấm gương đạo đức Hồ Chí Minh",
            "03-CT/TW")),
    2016: (("Nghị quyết Trung ương 4 khóa XII", "về tăng cường xây dựng, chỉnh đốn Đảng", "04-NQ/TW"),
           ("Chỉ thị 05-CT/TW", "về đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
            "05-CT/TW")),
    2017: (("Nghị quyết Trung ương 5 khóa XII", "về phát triển kinh tế tư nhân", "10-NQ/TW"),
           ("Nghị quyết Trung ương 6 khóa XII", "về tiếp tục đổi mới, sắp xếp tổ chức bộ máy của hệ thống chính "
                                                "trị", "18-NQ/TW"),
           ("Chỉ thị 05-CT/TW", "chuyên đề năm 2017 về phong cách quần chúng, dân chủ, nêu gương", "05-CT/TW")),
    2018: (("Nghị quyết Trung ương 7 khóa XII", "về tập trung xây dựng đội ngũ cán bộ các cấp", "26-NQ/TW"),
           ("Chỉ thị 05-CT/TW", "chuyên đề năm 2018 về xây dựng phong cách, tác phong công tác của người "
                                "đứng đầu", "05-CT/TW")),
    2019: (("Nghị quyết 35-NQ/TW", "về tăng cường bảo vệ nền tảng tư tưởng của Đảng", "35-NQ/TW"),
           ("Chỉ thị 05-CT/TW", "chuyên đề năm 2019 về nâng cao ý thức tôn trọng nhân dân", "05-CT/TW")),
    2020: (("Chỉ thị 35-CT/TW", "về đại hội đảng bộ các cấp tiến tới Đại hội đại biểu toàn quốc lần thứ XIII",
            "35-CT/TW"),
           ("Chỉ thị 05-CT/TW", "chuyên đề năm 2020 về tăng cường khối đại đoàn kết toàn dân tộc", "05-CT/TW")),
    2021: (("Nghị quyết Đại hội đại biểu toàn quốc lần thứ XIII của Đảng", "", "ĐH XIII"),
           ("Kết luận 01-KL/TW", "về tiếp tục thực hiện Chỉ thị 05-CT/TW, chuyên đề năm 2021", "01-KL/TW"),
           ("Nghị quyết Trung ương 4 khóa XIII", "về đẩy mạnh xây dựng, chỉnh đốn Đảng và hệ thống chính trị",
            "21-KL/TW")),
    2022: (("Nghị quyết Trung ương 5 khóa XIII", "về tiếp tục đổi mới, phát triển và nâng cao hiệu quả kinh tế "
                                                 "tập thể", "20-NQ/TW"),
           ("Nghị quyết 21-NQ/TW", "về tăng cường củng cố, xây dựng tổ chức cơ sở đảng và nâng cao chất lượng "
                                   "đội ngũ đảng viên", "21-NQ/TW")),
    2023: (("Nghị quyết Trung ương 8 khóa XIII", "về Chiến lược bảo vệ Tổ quốc trong tình hình mới",
            "44-NQ/TW"),
           ("Kết luận 01-KL/TW", "chuyên đề năm 2023 về xây dựng ý thức tôn trọng nhân dân", "01-KL/TW")),
    2024: (("Nghị quyết 57-NQ/TW", "về đột phá phát triển khoa học, công nghệ, đổi mới sáng tạo và chuyển đổi "
                                   "số quốc gia", "57-NQ/TW"),
           ("Kết luận 01-KL/TW", "chuyên đề năm 2024 về phát huy giá trị văn hóa, con người Việt Nam", "01-KL/TW")),
    2025: (("Nghị quyết 66-NQ/TW", "về đổi mới công tác xây dựng và thi hành pháp luật", "66-NQ/TW"),
           ("Nghị quyết 68-NQ/TW", "về phát triển kinh tế tư nhân", "68-NQ/TW")),
}

DISTRICTS = (("Huyện ủy Mường Ảng", "HUYỆN MƯỜNG ẢNG"), ("Huyện ủy Tuần Giáo", "HUYỆN TUẦN GIÁO"),
             ("Huyện ủy Tân Yên", "HUYỆN TÂN YÊN"), ("Huyện ủy Đại Từ", "HUYỆN ĐẠI TỪ"),
             ("Thị ủy Cửa Lò", "THỊ XÃ CỬA LÒ"), ("Huyện ủy Đức Linh", "HUYỆN ĐỨC LINH"),
             ("Thành ủy Điện Biên Phủ", "THÀNH PHỐ ĐIỆN BIÊN PHỦ"), ("Quận ủy Ninh Kiều", "QUẬN NINH KIỀU"))
COMMUNES = (("xã", "Búng Lao"), ("xã", "Ẳng Nưa"), ("xã", "Quài Cang"), ("phường", "Nam Thanh"),
            ("phường", "Noong Bua"), ("thị trấn", "Cao Thượng"), ("xã", "La Bằng"), ("xã", "Phú Xuyên"),
            ("phường", "Nghi Hương"), ("xã", "Đông Hà"), ("xã", "Nam Chính"), ("phường", "An Hòa"),
            ("xã", "Ngọc Thiện"), ("xã", "Liên Chung"), ("phường", "Him Lam"), ("xã", "Mường Phăng"))
VILLAGES = ("Đông", "Đoài", "Trung", "Thượng", "Hạ", "Tân Lập", "Hòa Bình", "Đồng Tâm", "Cầu Mới", "Bình Minh")
HAMLETS = ("Co Líu", "Huổi Sáy", "Nà Hỳ", "Pá Khôm", "Xuân Tre", "Hua Nguống", "Bó Mạy")


def _slug_keep(text: str) -> str:
    """``text`` without diacritics (đ → d), keeping case, spaces and punctuation."""
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in plain if not unicodedata.combining(ch))


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in plain).split())


# ---------------------------------------------------------------------------------------------
# The form and its truth
# ---------------------------------------------------------------------------------------------


@dataclass
class SheetInfo:
    """What the generator knows about one written sheet (for the column-accounting test).

    Attributes:
        file: File path relative to the raw folder.
        name: Sheet name as written ("" for CSV carriers).
        first_table_row: 0-based row of the first header row.
        columns: 0-based columns holding any non-empty cell from the header down.
    """

    file: str
    name: str
    first_table_row: int
    columns: list[int]


@dataclass
class Form:
    """One generated form: its raw files and the canonical rows a correct reader gives.

    Attributes:
        form_id: Readable id, ``layout/split/carrier/encoding/nnn``.
        layout: Layout name (see ``LAYOUTS``).
        split: How many rows the header takes: ``1row``, ``2rows``, ``3rows``.
        carrier: The file type (``carriers.CARRIERS``).
        encoding: ``unicode``, ``nfd``, ``tcvn3`` or ``vni``.
        year: The year folder.
        files: Path relative to the raw folder -> sheets.
        units_csv: Text of units.csv.
        campaigns_csv: Text of campaigns.csv.
        truth: Table -> the row tuples (columns ``COMPARED[table]``) a correct reader gives.
        optional: Table -> rows a reader may give or not (e.g. a members total in a study sheet
            beside its exempt count): when given, they must be exactly these.
        features: Short words naming what this form exercises (for the failure report).
        sheets: Per-sheet facts for the column-accounting test.
    """

    form_id: str
    layout: str
    split: str
    carrier: str
    encoding: str
    year: int
    files: dict[str, list[SheetSpec]]
    units_csv: str
    campaigns_csv: str
    truth: dict[str, set[tuple]]
    optional: dict[str, set[tuple]] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    sheets: list[SheetInfo] = field(default_factory=list)


@dataclass
class _Unit:
    unit_id: str
    name: str
    kind: str
    commune: str
    total: int = 0
    exempt: int = 0
    study: dict[str, tuple[bool, int, int, int]] = field(default_factory=dict)
    unit_level: str = ""
    exemplary: bool = False
    member_counts: dict[str, int] = field(default_factory=dict)
    not_assessed: int = 0


@dataclass
class _Commune:
    unit_id: str
    kind: str
    name: str
    units: list[_Unit]

    @property
    def committee(self) -> str:
        return f"Đảng bộ {self.kind} {self.name}"


@dataclass
class _Campaign:
    campaign_id: str
    year: int
    short: str
    title: str
    code: str


class _World:
    """The district, its communes and chi bộ, the year's campaigns and every figure."""

    def __init__(self, rng: random.Random, year: int, n_communes: int) -> None:
        self.rng = rng
        self.year = year
        district, self.district_caps = rng.choice(DISTRICTS)
        self.district_id = _slug(district.split(" ", 2)[-1])[:12]
        self.district = district
        picks = rng.sample(COMMUNES, n_communes)
        self.communes = [self._commune(kind, name) for kind, name in picks]
        cat = CAMPAIGN_CATALOGUE[year]
        self.campaigns = [_Campaign(f"{year}-{i + 1:02d}", year, s, f"{s} {rest}".strip(), code)
                          for i, (s, rest, code) in enumerate(cat)]
        # a distractor campaign of the year before, so a year read wrong names another campaign
        prev = CAMPAIGN_CATALOGUE.get(year - 1)
        self.other_campaigns = [_Campaign(f"{year - 1}-{i + 1:02d}", year - 1, s, f"{s} {rest}".strip(), code)
                                for i, (s, rest, code) in enumerate(prev or ())]
        for c in self.communes:
            for u in c.units:
                self._figures(u)

    def _commune(self, kind: str, name: str) -> _Commune:
        rng = self.rng
        cid = _slug(name)
        n = rng.randint(3, 12)
        pool: list[tuple[str, str]] = []
        villages = rng.sample(VILLAGES, k=min(len(VILLAGES), rng.randint(2, 7)))
        if kind == "phường":
            pool += [(f"Chi bộ Tổ dân phố {i}", "khu_dan_cu") for i in range(1, 9)]
            pool += [(f"Chi bộ Khu phố {v}", "khu_dan_cu") for v in villages[:2]]
        elif rng.random() < 0.4:
            pool += [(f"Chi bộ bản {h}", "khu_dan_cu") for h in rng.sample(HAMLETS, 4)]
            pool += [(f"Chi bộ thôn {v}", "khu_dan_cu") for v in villages[:3]]
        else:
            pool += [(f"Chi bộ thôn {v}", "khu_dan_cu") for v in villages]
            pool += [(f"Chi bộ xóm {i}", "khu_dan_cu") for i in range(1, 4)]
        pool += [("Chi bộ Trường Mầm non", "truong_hoc"), (f"Chi bộ Trường Tiểu học {name}", "truong_hoc"),
                 (f"Chi bộ Trường THCS {name}", "truong_hoc"), ("Chi bộ Trạm Y tế", "co_quan"),
                 ("Chi bộ Công an", "luc_luong_vu_trang"), ("Chi bộ Quân sự", "luc_luong_vu_trang"),
                 ("Chi bộ Cơ quan Đảng - Đoàn thể", "co_quan"), ("Chi bộ Cơ quan Ủy ban nhân dân", "co_quan")]
        seen: set[str] = set()
        picks = []
        for nm, kd in rng.sample(pool, len(pool)):
            if nm not in seen:
                seen.add(nm)
                picks.append((nm, kd))
        picks = sorted(picks[:n], key=lambda p: (p[1] != "khu_dan_cu", p[0]))
        units = [_Unit(f"{cid}-{i + 1:02d}", nm, kd, cid) for i, (nm, kd) in enumerate(picks)]
        return _Commune(cid, kind, name, units)

    def _figures(self, u: _Unit) -> None:
        rng = self.rng
        big = u.kind == "khu_dan_cu"
        u.total = rng.randint(12, 140) if big else rng.randint(5, 40)
        u.exempt = rng.choice([0, 0, 1, 2, 3, 5]) if big else rng.choice([0, 0, 0, 1])
        u.exempt = min(u.exempt, u.total // 4)
        eligible = u.total - u.exempt
        for camp in self.campaigns:
            held = rng.random() < 0.9
            attended = rng.randint(max(1, (eligible * 3) // 4), eligible) if held else 0
            target = rng.randint(60, 2400) if big else rng.randint(4, 60)
            p_att = rng.randint((target * 3) // 5, target) if held else 0
            u.study[camp.campaign_id] = (held, attended, target, p_att)
        levels = [c for c, _ in unit_levels(self.year)]
        weights = (60, 30, 8, 2) if scheme_of(self.year) == "tsvm-2008" else (25, 60, 12, 3)
        u.unit_level = rng.choices(levels, weights)[0]
        u.exemplary = u.unit_level == levels[0] and rng.random() < 0.35 and (
            scheme_of(self.year) == "tsvm-2008" or self.year >= 2019)
        available = u.total - u.exempt
        u.not_assessed = min(rng.choice([0, 0, 0, 1, 2]), available - 1)
        assessed = available - u.not_assessed
        c4 = 1 if rng.random() < 0.1 and assessed > 4 else 0
        c3 = rng.randint(0, max(0, assessed // 8))
        rest = assessed - c3 - c4
        c1 = int(rest * rng.uniform(0.05, 0.16))
        codes = [c for c, _ in member_levels(self.year)]
        u.member_counts = dict(zip(codes, (c1, rest - c1, c3, c4), strict=True))

    # --- reference files ---------------------------------------------------------------------

    def units_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["unit_id", "unit_name", "parent_id", "unit_level", "unit_kind", "valid_from_year",
                    "valid_to_year"])
        w.writerow([self.district_id, self.district, "", "cap_tren", "khac", 2010, ""])
        for c in self.communes:
            w.writerow([c.unit_id, c.committee, self.district_id, "co_so", "khu_dan_cu", 2010, ""])
            for u in c.units:
                w.writerow([u.unit_id, u.name, c.unit_id, "chi_bo", u.kind, 2010, ""])
        return out.getvalue()

    def campaigns_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["campaign_id", "year", "title", "document_code", "start_date"])
        for c in self.other_campaigns + self.campaigns:
            code = "" if c.code.startswith("ĐH") else c.code
            w.writerow([c.campaign_id, c.year, c.title, code, f"{c.year}-0{3 + int(c.campaign_id[-1])}-01"])
        return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Styles: numbers, header noise, text encodings
# ---------------------------------------------------------------------------------------------


@dataclass
class _Style:
    """The seeded choices that shape one form's cells."""

    rng: random.Random
    count: str  # int | text | float
    zero: str  # "0" | "-" | "" (used only where a blank certainly means zero)
    pct: str  # float | comma | comma-sign | excel | one-decimal
    totals: str  # none | bottom | top
    total_marker: str
    group: str  # merged | repeated | first-only
    numbering: str  # none | paren | letters | plain
    noise: str  # none | upper | spaces | breaks | unit-suffix | plain (no diacritics, as typed without Telex)
    name_style: str  # full | bare | cb
    footer: bool

    @classmethod
    def draw(cls, rng: random.Random) -> _Style:
        return cls(rng, rng.choice(["int", "int", "text", "float"]), rng.choice(["0", "0", "-", ""]),
                   rng.choice(["float", "comma", "comma-sign", "excel", "one-decimal"]),
                   rng.choices(["none", "bottom", "top"], (35, 50, 15))[0], rng.choice(TOTAL_MARKERS),
                   rng.choice(["merged", "merged", "repeated", "first-only"]),
                   rng.choices(["none", "paren", "letters", "plain"], (50, 25, 15, 10))[0],
                   rng.choice(["none", "none", "upper", "spaces", "breaks", "unit-suffix", "plain"]),
                   rng.choice(["full", "full", "bare", "cb"]), rng.random() < 0.4)

    def n(self, value: int, zero_ok: bool = True) -> object:
        """A count in this form's style (``zero_ok``: a blank or dash would certainly mean 0)."""
        if value == 0 and zero_ok and self.zero != "0":
            return self.zero or None
        if self.count == "text":
            return f"{value:,}".replace(",", ".")
        if self.count == "float":
            return float(value)
        return value

    def p(self, num: int, den: int) -> object:
        """A stated percentage ``num / den`` in this form's style (None when den is 0)."""
        if not den:
            return None
        value = round(100 * num / den + 1e-9, 2)
        if self.pct == "float":
            return value
        if self.pct == "excel":
            return round(value / 100, 6)
        if self.pct == "one-decimal":
            return f"{round(100 * num / den + 1e-9, 1):.1f}".replace(".", ",")
        text = f"{value:.2f}".replace(".", ",")
        return text + "%" if self.pct == "comma-sign" else text

    def name(self, unit: _Unit) -> str:
        if self.name_style == "bare":
            bare = unit.name.removeprefix("Chi bộ ")
            return bare[0].upper() + bare[1:]
        if self.name_style == "cb":
            return unit.name.replace("Chi bộ ", "CB ", 1)
        return unit.name

    def header(self, text: str) -> str:
        """Header noise: case, extra spaces, line breaks, no diacritics, a unit in brackets."""
        if self.noise == "plain":
            return _slug_keep(text)
        if self.noise == "upper":
            return text.upper()
        if self.noise == "spaces":
            return "  " + text.replace(" ", "  ", 1) + " "
        if self.noise == "breaks" and " " in text and len(text) > 8:
            words = text.split(" ")
            cut = max(1, len(words) // 2)
            return " ".join(words[:cut]) + "\n" + " ".join(words[cut:])
        return text


# ---------------------------------------------------------------------------------------------
# Header block: paths of header texts -> rows and merges
# ---------------------------------------------------------------------------------------------


@dataclass
class _Col:
    """One table column: its header path (top group first) and its cells."""

    path: tuple[str, ...]
    cells: list[object]
    total: object = None
    is_pct: bool = False
    is_data: bool = True


def _header_block(cols: list[_Col], height: int, style: str) -> tuple[list[list[object]], list[tuple]]:
    rows: list[list[object]] = [[None] * len(cols) for _ in range(height)]
    merges: list[tuple[int, int, int, int]] = []
    for c, col in enumerate(cols):
        p = col.path
        assert 1 <= len(p) <= height, p
        for r in range(len(p) - 1):
            rows[r][c] = p[r]
        rows[len(p) - 1][c] = p[-1]
        if len(p) < height and style == "merged":
            merges.append((len(p) - 1, c, height - 1, c))
    for r in range(height - 1):
        c = 0
        while c < len(cols):
            p = cols[c].path
            if len(p) > r + 1:
                e = c
                while e + 1 < len(cols) and len(cols[e + 1].path) > r + 1 and cols[e + 1].path[:r + 1] == p[:r + 1]:
                    e += 1
                if e > c:
                    if style == "merged":
                        merges.append((r, c, r, e))
                    for cc in range(c + 1, e + 1):
                        rows[r][cc] = p[r] if style == "repeated" else None
                c = e + 1
            else:
                c += 1
    return rows, merges


def _numbering(cols: list[_Col], kind: str) -> list[object]:
    if kind == "paren":
        return [f"({i + 1})" for i in range(len(cols))]
    if kind == "letters":
        letters, k = [], 0
        for i, col in enumerate(cols):
            if col.is_data:
                k += 1
                letters.append(str(k))
            else:
                letters.append("ABCDEFG"[i] if i < 7 else str(i))
        return letters
    return [i + 1 for i in range(len(cols))]


@dataclass
class _Table:
    """A sheet being built: title rows, columns, body rows (one per unit or unit × campaign)."""

    name: str
    titles: list[list[object]]
    caps_titles: set[int]
    cols: list[_Col]
    height: int
    name_merges: bool = False


def _render(table: _Table, st: _Style, encoding: str) -> tuple[SheetSpec, int, list[int]]:
    """Lay a table out as a SheetSpec; returns it, the first header row and the non-empty columns."""
    rows: list[list[object]] = [list(t) for t in table.titles]
    caps_rows = set(table.caps_titles)
    if table.titles:
        rows.append([])
    title_rows = len(rows)
    cols = table.cols
    for col in cols:
        col.path = tuple(st.header(p) if isinstance(p, str) else p for p in col.path)
    header, merges = _header_block(cols, table.height, st.group)
    merges = [(r0 + title_rows, c0, r1 + title_rows, c1) for r0, c0, r1, c1 in merges]
    rows.extend(header)
    if st.numbering != "none":
        rows.append(_numbering(cols, st.numbering))
    n_body = len(cols[0].cells)
    totals = None
    if st.totals != "none" and any(col.total is not None for col in cols):
        totals = [col.total for col in cols]
        totals[0], totals[1] = None, st.total_marker
    percent_cells: set[tuple[int, int]] = set()

    def add(row: list[object]) -> None:
        r = len(rows)
        for c, col in enumerate(cols):
            if col.is_pct and st.pct == "excel" and isinstance(row[c], float):
                percent_cells.add((r, c))
        rows.append(row)

    if totals and st.totals == "top":
        add(totals)
    for i in range(n_body):
        add([col.cells[i] for col in cols])
    if totals and st.totals == "bottom":
        add(totals)
    if st.footer:
        rows.append([])
        rows.extend([list(r) for r in NOTE_ROWS])
    width = len(cols)
    used = sorted({c for r in rows[title_rows:] for c, v in enumerate(r) if v not in (None, "") and c < width})
    fonts: dict[tuple[int, int], str] = {}
    out_rows: list[list[object]] = []
    for r, row in enumerate(rows):
        new = []
        for c, v in enumerate(row):
            if isinstance(v, str):
                caps = r in caps_rows
                if encoding == "nfd":
                    v = unicodedata.normalize("NFD", v)
                elif encoding in ("tcvn3", "vni"):
                    v = encode_legacy(v.replace("✓", "x"), encoding, caps=caps and encoding == "tcvn3")
                    fonts[(r, c)] = (".VnTimeH" if caps else ".VnTime") if encoding == "tcvn3" else "VNI-Times"
            new.append(v)
        out_rows.append(new)
    spec = SheetSpec(table.name, out_rows, merges, fonts, title_rows, percent_cells)
    return spec, title_rows, used


# ---------------------------------------------------------------------------------------------
# Title rows
# ---------------------------------------------------------------------------------------------


def _camp_name(c: _Campaign, rng: random.Random) -> str:
    """How a form names a campaign: its code, its short name, both, or its full title."""
    choices = [c.short, c.title, f"{c.short} ({c.code})" if "/" in c.code and c.code not in c.short else c.short]
    if "/" in c.code:
        kind = "Nghị quyết" if "NQ" in c.code else "Chỉ thị" if "CT" in c.code else "Kết luận"
        choices.append(f"{kind} số {c.code}")
    return rng.choice(choices)


def _titles(world: _World, commune: _Commune, heading: str, rng: random.Random, extra: list[str] | None = None,
            ) -> tuple[list[list[object]], set[int]]:
    """Title rows above a table and the rows typed in a capitals font."""
    rows: list[list[object]] = []
    caps: set[int] = set()

    def add(row: list[object], capitals: bool) -> None:
        if capitals:
            caps.add(len(rows))
        rows.append(row)

    if rng.random() < 0.8:
        add([f"ĐẢNG BỘ {world.district_caps}", None, None, None, "ĐẢNG CỘNG SẢN VIỆT NAM"], True)
    add([f"{rng.choice(['ĐẢNG ỦY', 'ĐẢNG BỘ', 'BAN THƯỜNG VỤ ĐẢNG ỦY'])} {commune.kind.upper()} "
         f"{commune.name.upper()}"], True)
    if rng.random() < 0.3:
        add([rng.choice(["Biểu số 1", "Mẫu 1A", "Biểu 01", "Phụ lục"])], False)
    add([heading], True)
    for e in extra or []:
        add([e], False)
    year_line = rng.choice([f"NĂM {world.year}", f"Năm {world.year}",
                            f"(Kèm theo Báo cáo số {rng.randint(10, 99)}-BC/ĐU ngày {rng.randint(10, 28)}/12/"
                            f"{world.year})"])
    add([year_line], year_line.startswith("NĂM"))
    return rows, caps


# ---------------------------------------------------------------------------------------------
# Layout builders: each returns the tables of one file and adds its truth
# ---------------------------------------------------------------------------------------------


class _Truth:
    """Rows a correct reader must give (``rows``) and rows it may give (``maybe``)."""

    def __init__(self) -> None:
        self.rows: dict[str, set[tuple]] = {t: set() for t in COMPARED}
        self.maybe: dict[str, set[tuple]] = {t: set() for t in COMPARED}

    def membership(self, u: _Unit, year: int, required: bool = True) -> None:
        (self.rows if required else self.maybe)["membership"].add((u.unit_id, year, u.total, u.exempt))

    def study(self, u: _Unit, camp: _Campaign, target: bool, attended: bool, visits: bool) -> None:
        held, att, tgt, p_att = u.study[camp.campaign_id]
        basis = ("attendances" if visits else "persons") if (target or attended) else None
        self.rows["study_participation"].add((u.unit_id, camp.campaign_id, att > 0, att, tgt if target else None,
                                              p_att if attended else None, basis))

    def unit_rating(self, u: _Unit, year: int) -> None:
        self.rows["unit_ratings"].add((u.unit_id, year, scheme_of(year), u.unit_level, u.exemplary))

    def member_rating(self, u: _Unit, year: int) -> None:
        for code, n in u.member_counts.items():
            self.rows["member_ratings"].add((u.unit_id, year, scheme_of(year), code, n, u.not_assessed))


def _stt_name(units: list[_Unit], st: _Style, height: int, name_header: str | None = None) -> list[_Col]:
    rng = st.rng
    return [_Col((rng.choice(STT),), list(range(1, len(units) + 1)), is_data=False),
            _Col((name_header or rng.choice(UNIT_NAME_HEADERS),), [st.name(u) for u in units], is_data=False)]


def _note_col(units: list[_Unit], st: _Style) -> list[_Col]:
    if st.rng.random() < 0.5:
        return []
    cells = [None] * len(units)
    if units and st.rng.random() < 0.5:
        cells[st.rng.randrange(len(units))] = st.rng.choice(["Mới thành lập", "Sáp nhập", "Học bù"])
    return [_Col((st.rng.choice(NOTE),), cells, is_data=False)]


def _unit_suffix(st: _Style, text: str, pct: bool = False) -> str:
    if st.noise != "unit-suffix":
        return text
    return f"{text} (%)" if pct and "%" not in text else (text if pct else f"{text} (người)")


# -- membership (the ordinary per-table sheet) ---------------------------------------------------
# Seeded by: HD 27-HD/BTCTW 2009 on exemption ("miễn công tác và sinh hoạt đảng", sources.md #14), the
# Tân Yên 2015 figures (#16) and the incident workbook (#17); no published form (sources.md, "Not found").

def _membership(world: _World, commune: _Commune, st: _Style, h: int, truth: _Truth) -> list[_Table]:
    rng, units, y = st.rng, commune.units, world.year
    cols = _stt_name(units, st, h)
    split = rng.random() < 0.3  # chính thức + dự bị beside the total
    if h == 1:
        cols.append(_Col((_unit_suffix(st, rng.choice(ONE_TOTAL)),), [st.n(u.total) for u in units],
                         st.n(sum(u.total for u in units))))
        if split:
            off = [u.total // 8 for u in units]
            cols.append(_Col(("Đảng viên chính thức",), [st.n(u.total - o) for u, o in zip(units, off, strict=True)]))
            cols.append(_Col(("Đảng viên dự bị",), [st.n(o) for o in off]))
        cols.append(_Col((_unit_suffix(st, rng.choice(ONE_EXEMPT)),), [st.n(u.exempt) for u in units],
                         st.n(sum(u.exempt for u in units))))
    else:
        sub = rng.choice(MEMBERS).capitalize() if rng.random() < 0.7 else "Số lượng đảng viên"
        top = (f"Tình hình đảng viên năm {y}",) if h == 3 else ()
        cols.append(_Col(top + (sub, rng.choice(TOTAL)), [st.n(u.total) for u in units],
                         st.n(sum(u.total for u in units))))
        if split:
            off = [u.total // 8 for u in units]
            cols.append(_Col(top + (sub, "Chính thức"), [st.n(u.total - o) for u, o in zip(units, off, strict=True)]))
            cols.append(_Col(top + (sub, "Dự bị"), [st.n(o) for o in off]))
        cols.append(_Col(top + (sub, rng.choice(("Trong đó: ",  "")) + rng.choice(EXEMPT)),
                         [st.n(u.exempt) for u in units], st.n(sum(u.exempt for u in units))))
    cols += _note_col(units, st)
    for u in units:
        truth.membership(u, y)
    titles, caps = _titles(world, commune, rng.choice(["BÁO CÁO SỐ LƯỢNG ĐẢNG VIÊN", "TỔNG HỢP SỐ LIỆU ĐẢNG VIÊN",
                                                       "THỐNG KÊ ĐẢNG VIÊN CÁC CHI BỘ"]), rng)
    return [_Table(rng.choice(["Đảng viên", "Sheet1", "Số lượng ĐV", "Biểu 1"]), titles, caps, cols, h)]


# -- study columns shared by the study layouts ------------------------------------------------------
# Seeded by: Đức Linh 2021 ("đảng viên là 2.909/3.044, đạt 95,56%", sources.md #10), Tây Ninh 2021
# ("35.599/35.900 đảng viên, đạt 99,16% và 5.806 … quần chúng", #11), lượt quần chúng in
# rating-schemes.md (#16), the incident workbook (#17) ("ĐV tham gia học tập", "Quần chúng (đối tượng)", "Số đảng viên được miễn sinh hoạt").

@dataclass
class _StudyShape:
    total: bool
    exempt: bool
    eligible: bool
    members_pct: bool
    target: bool
    public: bool
    public_pct: bool
    visits: bool
    held: bool

    @classmethod
    def draw(cls, rng: random.Random, roomy: bool = True) -> _StudyShape:
        total = rng.random() < 0.7
        exempt = total and rng.random() < 0.6
        public = rng.random() < 0.75
        target = public and rng.random() < 0.7
        visits = public and not target and rng.random() < 0.5
        return cls(total, exempt, exempt and roomy and rng.random() < 0.3, total and rng.random() < 0.7, target,
                   public, target and rng.random() < 0.6, visits, roomy and rng.random() < 0.15)


def _study_cols(units: list[_Unit], camp: _Campaign, shp: _StudyShape, st: _Style, h: int,
                top: tuple[str, ...], with_members_base: bool = True) -> list[_Col]:
    """Columns of one campaign; ``top`` is the group path above the subject (campaign or nothing)."""
    rng = st.rng
    cols: list[_Col] = []
    cid = camp.campaign_id
    att = [u.study[cid][1] for u in units]
    elig = [u.total - u.exempt for u in units]
    tgt = [u.study[cid][2] for u in units]
    pat = [u.study[cid][3] for u in units]
    sum_att, sum_elig, sum_tgt, sum_pat = sum(att), sum(elig), sum(tgt), sum(pat)
    members = rng.choice(MEMBERS).capitalize() if not rng.random() < 0.3 else rng.choice(MEMBERS)
    public = rng.choice(PUBLIC)
    public = public[0].upper() + public[1:]

    def path(subject: str, measure: str, one: str) -> tuple[str, ...]:
        if h == 1:
            return (one if not top else f"{one} {top[-1]}",)
        if h == 2:
            return (top[-1], one) if top else (subject, measure)
        return (top[-1], subject, measure) if top else ("Kết quả học tập, quán triệt", subject, measure)

    if shp.held:
        cols.append(_Col(path("Chi bộ", rng.choice(HELD), rng.choice(HELD)),
                         [rng.choice(["x", "Có"]) if a > 0 else rng.choice(["", "Không"]) for a in att],
                         is_data=True))
    if with_members_base and shp.total:
        cols.append(_Col(path(members, rng.choice(TOTAL), rng.choice(ONE_TOTAL)), [st.n(u.total) for u in units],
                         st.n(sum(u.total for u in units))))
    if with_members_base and shp.exempt:
        cols.append(_Col(path(members, rng.choice(EXEMPT), rng.choice(ONE_EXEMPT)), [st.n(u.exempt) for u in units],
                         st.n(sum(u.exempt for u in units))))
    if with_members_base and shp.eligible:
        cols.append(_Col(path(members, rng.choice(ELIGIBLE), rng.choice(ONE_ELIGIBLE)), [st.n(e) for e in elig],
                         st.n(sum_elig)))
    cols.append(_Col(path(members, _unit_suffix(st, rng.choice(ATTENDED)), _unit_suffix(st, rng.choice(ONE_ATTENDED))),
                     [st.n(a) for a in att], st.n(sum_att)))
    if shp.members_pct and with_members_base:
        cols.append(_Col(path(members, _unit_suffix(st, rng.choice(PCT), pct=True), rng.choice(ONE_MEMBERS_PCT)),
                         [st.p(a, e) for a, e in zip(att, elig, strict=True)], st.p(sum_att, sum_elig), is_pct=True))
    if shp.target:
        cols.append(_Col(path(public, rng.choice(PUBLIC_TARGET), rng.choice(ONE_PUBLIC_TARGET)),
                         [st.n(t, zero_ok=False) for t in tgt], st.n(sum_tgt, zero_ok=False)))
    if shp.public:
        measure = ("Số lượt tham gia" if rng.random() < 0.5 else "Lượt tham gia") if shp.visits \
            else rng.choice(ATTENDED)
        one = rng.choice(ONE_PUBLIC_VISITS) if shp.visits else rng.choice(ONE_PUBLIC_ATTENDED)
        zero_ok = shp.target  # without a target, "-" could mean "no figure": write 0
        cols.append(_Col(path(public, measure, one), [st.n(p, zero_ok=zero_ok) for p in pat],
                         st.n(sum_pat, zero_ok=zero_ok)))
    if shp.public_pct:
        cols.append(_Col(path(public, _unit_suffix(st, rng.choice(PCT), pct=True), rng.choice(ONE_PUBLIC_PCT)),
                         [st.p(p, t) for p, t in zip(pat, tgt, strict=True)], st.p(sum_pat, sum_tgt), is_pct=True))
    return cols


def _study_truth(truth: _Truth, units: list[_Unit], camp: _Campaign, shp: _StudyShape, year: int,
                 members_base: bool = True) -> None:
    for u in units:
        truth.study(u, camp, shp.target, shp.public, shp.visits)
        if members_base and shp.total:
            truth.membership(u, year, required=False)


# -- 1. one sheet per campaign ---------------------------------------------------------------------
# Seeded by: HD 51-HD/BTGTW (2017, sources.md #13) organises the study per plenum's resolutions;
# committee reports (Đức Linh 2021 #10, Cửa Lò #12) give figures per resolution named in the heading.

def _per_campaign(world: _World, commune: _Commune, st: _Style, h: int, truth: _Truth,
                  one_sheet: bool) -> list[_Table]:
    rng = st.rng
    camps = [rng.choice(world.campaigns)] if one_sheet else rng.sample(world.campaigns, min(len(world.campaigns), 2))
    tables = []
    for camp in camps:
        shp = _StudyShape.draw(rng)
        name = _camp_name(camp, rng)
        top: tuple[str, ...] = (name,) if h == 3 and rng.random() < 0.4 else ()
        cols = _stt_name(commune.units, st, h) + _study_cols(commune.units, camp, shp, st, h, top) \
            + _note_col(commune.units, st)
        _study_truth(truth, commune.units, camp, shp, world.year)
        heading = rng.choice(["BIỂU TỔNG HỢP KẾT QUẢ HỌC TẬP, QUÁN TRIỆT", "KẾT QUẢ HỌC TẬP, QUÁN TRIỆT NGHỊ QUYẾT",
                              "TỔNG HỢP KẾT QUẢ NGHIÊN CỨU, HỌC TẬP, QUÁN TRIỆT"])
        titles, caps = _titles(world, commune, heading, rng, extra=[name])
        sheet = rng.choice([camp.code.replace("/", "-") if "/" in camp.code else "Biểu 1", "Học tập",
                            f"Biểu {len(tables) + 1}"])
        tables.append(_Table(sheet if sheet not in [t.name for t in tables] else f"Biểu {len(tables) + 1}",
                             titles, caps, cols, h))
    return tables


# -- 2. campaigns side by side ---------------------------------------------------------------------
# Seeded by: year-end summaries of the study of several resolutions (Tây Ninh #11, Đức Linh #10 list
# members and public per document); no published table found, the group header names the document.

def _side_by_side(world: _World, commune: _Commune, st: _Style, h: int, truth: _Truth) -> list[_Table]:
    rng, units = st.rng, commune.units
    camps = world.campaigns[: rng.randint(2, len(world.campaigns))] if len(world.campaigns) > 1 else world.campaigns
    cols = _stt_name(units, st, h)
    base = _StudyShape.draw(rng, roomy=False)
    if base.total:
        # the member base once, in front of the campaign groups
        members = rng.choice(MEMBERS).capitalize()
        if h == 1:
            cols.append(_Col((rng.choice(ONE_TOTAL),), [st.n(u.total) for u in units], st.n(sum(u.total for u in units))))
        else:
            p = (members, rng.choice(TOTAL))
            cols.append(_Col(p if h == 2 else ("Số lượng đảng viên",) + p[1:], [st.n(u.total) for u in units],
                             st.n(sum(u.total for u in units))))
        if base.exempt:
            ex = rng.choice(EXEMPT)
            path = (rng.choice(ONE_EXEMPT),) if h == 1 else ((members, ex) if h == 2 else ("Số lượng đảng viên", ex))
            cols.append(_Col(path, [st.n(u.exempt) for u in units], st.n(sum(u.exempt for u in units))))
        for u in units:
            truth.membership(u, world.year, required=False)
    for camp in camps:
        shp = _StudyShape.draw(rng, roomy=False)
        shp.total = shp.exempt = shp.eligible = False
        shp.members_pct = False
        name = _camp_name(camp, rng)
        cols += _study_cols(units, camp, shp, st, h, (name,), with_members_base=False)
        _study_truth(truth, units, camp, shp, world.year, members_base=False)
    cols += _note_col(units, st)
    titles, caps = _titles(world, commune, rng.choice(["KẾT QUẢ HỌC TẬP, QUÁN TRIỆT CÁC NGHỊ QUYẾT, CHỈ THỊ",
                                                       "BIỂU TỔNG HỢP KẾT QUẢ HỌC TẬP NGHỊ QUYẾT CỦA ĐẢNG"]), rng)
    return [_Table(rng.choice(["Tổng hợp", "Học tập", "Sheet1"]), titles, caps, cols, h)]


# -- 3. one combined "biểu tổng hợp" ---------------------------------------------------------------
# Seeded by: the Tân Thanh 2015 article (sources.md #16: one ward summary giving study coverage,
# organisations' and members' ratings together); no published "biểu tổng hợp" found.

def _combined(world: _World, commune: _Commune, st: _Style, h: int, truth: _Truth) -> list[_Table]:
    rng, units, y = st.rng, commune.units, world.year
    cols = _stt_name(units, st, h)
    g_members = rng.choice(["Đảng viên", "Số lượng đảng viên", "ĐẢNG VIÊN"])

    def p(group: str, leaf: str, one: str, mid: str | None = None) -> tuple[str, ...]:
        if h == 1:
            return (one,)
        if h == 2:
            return (group, leaf)
        return (group, mid, leaf) if mid else (group, leaf)

    cols.append(_Col(p(g_members, rng.choice(TOTAL), rng.choice(ONE_TOTAL)), [st.n(u.total) for u in units],
                     st.n(sum(u.total for u in units))))
    cols.append(_Col(p(g_members, rng.choice(EXEMPT), rng.choice(ONE_EXEMPT)), [st.n(u.exempt) for u in units],
                     st.n(sum(u.exempt for u in units))))
    for u in units:
        truth.membership(u, y)
    for camp in world.campaigns[: rng.randint(1, min(2, len(world.campaigns)))]:
        shp = _StudyShape(False, False, False, False, rng.random() < 0.5, True, False, rng.random() < 0.3, False)
        shp.visits = shp.visits and not shp.target
        name = _camp_name(camp, rng)
        att = [u.study[camp.campaign_id][1] for u in units]
        cols.append(_Col(p(name, "Đảng viên tham gia" if h == 2 else rng.choice(ATTENDED),
                           f"ĐV học {name}", "Đảng viên"), [st.n(a) for a in att], st.n(sum(att))))
        if shp.target:
            tg = [u.study[camp.campaign_id][2] for u in units]
            cols.append(_Col(p(name, "Quần chúng phải học" if h == 2 else rng.choice(PUBLIC_TARGET),
                               f"Quần chúng (đối tượng) {name}", "Quần chúng"), [st.n(t, False) for t in tg],
                             st.n(sum(tg), False)))
        pa = [u.study[camp.campaign_id][3] for u in units]
        leaf = ("Lượt quần chúng" if h == 2 else "Số lượt") if shp.visits else \
            ("Quần chúng tham gia" if h == 2 else rng.choice(ATTENDED))
        cols.append(_Col(p(name, leaf, f"{'Lượt QC' if shp.visits else 'QC'} tham gia {name}", "Quần chúng"),
                         [st.n(x, shp.target) for x in pa], st.n(sum(pa), shp.target)))
        for u in units:
            truth.study(u, camp, shp.target, True, shp.visits)
    levels = unit_levels(y)
    labels = {code: rng.choice(sp) for code, sp in levels}
    g_units = rng.choice(["Xếp loại chi bộ", "Xếp loại tổ chức đảng", "Đánh giá TCĐ"])
    cols.append(_Col(p(g_units, rng.choice(RATING_LABEL_HEADERS), "Xếp loại chi bộ"),
                     [labels[u.unit_level] for u in units]))
    ex_choices = EXEMPLARY_2008 if scheme_of(y) == "tsvm-2008" else EXEMPLARY_LATER
    cols.append(_Col(p(g_units, rng.choice(ex_choices), "Chi bộ tiêu biểu"),
                     [rng.choice(X_MARKS[:3]) if u.exemplary else None for u in units],
                     st.n(sum(u.exemplary for u in units))))
    for u in units:
        truth.unit_rating(u, y)
    g_mem = rng.choice(["Xếp loại đảng viên", "Kết quả xếp loại đảng viên", "Đánh giá đảng viên"])
    for code, sp in member_levels(y):
        label = rng.choice(sp)
        vals = [u.member_counts[code] for u in units]
        cols.append(_Col(p(g_mem, label, f"ĐV {label}"), [st.n(v) for v in vals], st.n(sum(vals))))
    na = [u.not_assessed for u in units]
    cols.append(_Col(p(g_mem, rng.choice(NOT_ASSESSED), "ĐV " + rng.choice(NOT_ASSESSED).lower()),
                     [st.n(v) for v in na], st.n(sum(na))))
    for u in units:
        truth.member_rating(u, y)
    cols += _note_col(units, st)
    titles, caps = _titles(world, commune, rng.choice(["BIỂU TỔNG HỢP", "BIỂU TỔNG HỢP SỐ LIỆU CÔNG TÁC XÂY DỰNG ĐẢNG",
                                                       "TỔNG HỢP KẾT QUẢ HỌC TẬP VÀ ĐÁNH GIÁ, XẾP LOẠI"]), rng)
    return [_Table(rng.choice(["Tổng hợp", "Biểu tổng hợp", "Sheet1"]), titles, caps, cols, h)]


# -- 4. unit ratings marked with x ----------------------------------------------------------------
# Seeded by: the tick columns of Mẫu 03/04-HD KĐ.ĐG (sources.md #3, #4), the level-by-level BTCTW result
# report (#5: "trong sạch, vững mạnh … tiêu biểu … yếu kém") and HD 16/21-HD/BTCTW (#2, four levels
# "Hoàn thành xuất sắc / tốt / hoàn thành / không hoàn thành nhiệm vụ").

def _unit_x(world: _World, commune: _Commune, st: _Style, h: int, truth: _Truth) -> list[_Table]:
    rng, units, y = st.rng, commune.units, world.year
    cols = _stt_name(units, st, h, rng.choice(["Tên tổ chức đảng", "Tên chi bộ", "Tổ chức đảng", "TCĐ"]))
    group = rng.choice(LEVEL_GROUP)
    top = f"Kết quả đánh giá, xếp loại năm {y}"
    mark = rng.choice(X_MARKS)
    for code, sp in unit_levels(y):
        label = rng.choice(sp)
        path = (label,) if h == 1 else (group, label) if h == 2 else (top, group, label)
        cols.append(_Col(path, [mark if u.unit_level == code else None for u in units],
                         st.n(sum(u.unit_level == code for u in units))))
    ex = rng.choice(EXEMPLARY_2008 if scheme_of(y) == "tsvm-2008" else EXEMPLARY_LATER)
    cols.append(_Col((ex,) if h < 3 else (top, ex), [mark if u.exemplary else None for u in units],
                     st.n(sum(u.exemplary for u in units))))
    for u in units:
        truth.unit_rating(u, y)
    cols += _note_col(units, st)
    titles, caps = _titles(world, commune, rng.choice([
        "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG TỔ CHỨC ĐẢNG", "TỔNG HỢP KẾT QUẢ XẾP LOẠI CHI BỘ",
        "KẾT QUẢ KIỂM ĐIỂM, ĐÁNH GIÁ, XẾP LOẠI TỔ CHỨC ĐẢNG"]), rng)
    return [_Table(rng.choice(["Xếp loại TCĐ", "Chi bộ", "Sheet1"]), titles, caps, cols, h)]


# -- unit ratings with a label column (the ordinary per-table sheet) -------------------------------
# Seeded by: Mẫu 03-HD KĐ.ĐG 2018 ("Đề nghị xếp loại mức chất lượng", sources.md #3), HD 20/2008 and
# HD 16/2018 level wording (#1, #2).

def _unit_label(world: _World, commune: _Commune, st: _Style, h: int, truth: _Truth) -> list[_Table]:
    rng, units, y = st.rng, commune.units, world.year
    cols = _stt_name(units, st, h, rng.choice(["Tên tổ chức đảng", "Tên chi bộ", "Chi bộ"]))
    later = scheme_of(y) != "tsvm-2008"
    labels = {code: rng.choice(sp) for code, sp in unit_levels(y)}
    ex_in_label = not later and rng.random() < 0.4
    cells = [rng.choice(EXEMPLARY_LABEL_2008) if ex_in_label and u.exemplary else labels[u.unit_level]
             for u in units]
    head = rng.choice(RATING_LABEL_HEADERS)
    cols.append(_Col((head,) if h == 1 else (f"Kết quả năm {y}", head), cells))
    if not ex_in_label:
        ex = rng.choice(EXEMPLARY_LATER if later else EXEMPLARY_2008)
        cols.append(_Col((ex,) if h == 1 else (f"Kết quả năm {y}", ex),
                         [rng.choice(["x", "X", "Có"]) if u.exemplary else None for u in units]))
    for u in units:
        truth.unit_rating(u, y)
    cols += _note_col(units, st)
    for c in cols:
        c.total = None
    titles, caps = _titles(world, commune, "DANH SÁCH XẾP LOẠI CHẤT LƯỢNG TỔ CHỨC ĐẢNG", rng)
    return [_Table(rng.choice(["Xếp loại", "Xếp loại chi bộ", "Sheet1"]), titles, caps, cols, h)]


# -- 5. member ratings as SL | % pairs -----------------------------------------------------------
# Seeded by: the result reports that give each level as a count and a share of members assessed
# (Đồng Tháp 2012, sources.md #6; Gia Lai 2015 #15; Tân Yên 2015 "112 not assessed", #16).

def _member_pairs(world: _World, commune: _Commune, st: _Style, h: int, truth: _Truth) -> list[_Table]:
    rng, units, y = st.rng, commune.units, world.year
    cols = _stt_name(units, st, h)
    pairs = rng.random() < 0.75
    sl, pct = rng.choice(SL_PCT)
    top = rng.choice(["Kết quả xếp loại đảng viên", "Xếp loại chất lượng đảng viên", f"Xếp loại đảng viên năm {y}"])
    if rng.random() < 0.35:
        tot = [u.total for u in units]
        cols.append(_Col((rng.choice(ONE_TOTAL),), [st.n(v) for v in tot], st.n(sum(tot))))
        for u in units:
            truth.membership(u, y, required=False)
    assessed = [sum(u.member_counts.values()) for u in units]
    if rng.random() < 0.5:
        cols.append(_Col((rng.choice(["Số ĐV được đánh giá", "Tổng số đảng viên được đánh giá, xếp loại",
                                      "Đảng viên được xếp loại"]),), [st.n(v) for v in assessed], st.n(sum(assessed))))
    for code, sp in member_levels(y):
        label = rng.choice(sp)
        vals = [u.member_counts[code] for u in units]
        if not pairs:
            path = (label,) if h == 1 else (top, label) if h == 2 else (top, rng.choice(LEVEL_GROUP), label)
            cols.append(_Col(path, [st.n(v) for v in vals], st.n(sum(vals))))
            continue
        if h == 1:
            p1, p2 = (f"{label} ({sl})",), (f"{label} ({pct})",)
        elif h == 2:
            p1, p2 = (label, sl), (label, pct)
        else:
            p1, p2 = (top, label, sl), (top, label, pct)
        cols.append(_Col(p1, [st.n(v) for v in vals], st.n(sum(vals))))
        cols.append(_Col(p2, [st.p(v, a) for v, a in zip(vals, assessed, strict=True)], st.p(sum(vals), sum(assessed)),
                         is_pct=True))
    na = [u.not_assessed for u in units]
    cols.append(_Col((rng.choice(NOT_ASSESSED),) if h < 3 or rng.random() < 0.5 else (top, rng.choice(NOT_ASSESSED)),
                     [st.n(v) for v in na], st.n(sum(na))))
    for u in units:
        truth.member_rating(u, y)
    cols += _note_col(units, st)
    titles, caps = _titles(world, commune, rng.choice(["KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG ĐẢNG VIÊN",
                                                       "TỔNG HỢP XẾP LOẠI ĐẢNG VIÊN"]), rng)
    return [_Table(rng.choice(["Xếp loại ĐV", "Đảng viên", "Sheet1"]), titles, caps, cols, h)]


# -- 6. long: one row per unit × campaign ---------------------------------------------------------
# Seeded by: the study logs chi bộ keep ("sổ theo dõi học tập nghị quyết": one line per resolution
# studied, with the members and public present); no published form found, see sources.md.

def _long(world: _World, commune: _Commune, st: _Style, h: int, truth: _Truth) -> list[_Table]:
    rng, units, y = st.rng, commune.units, world.year
    camps = world.campaigns
    by_unit = rng.random() < 0.6
    pairs = [(u, c) for u in units for c in camps] if by_unit else [(u, c) for c in camps for u in units]
    names = {c.campaign_id: _camp_name(c, rng) for c in camps}
    if rng.random() < 0.5:
        names = {c.campaign_id: c.code if "/" in c.code else c.short for c in camps}
    merged_names = by_unit and rng.random() < 0.25
    shp = _StudyShape.draw(rng, roomy=False)
    shp.eligible = shp.held = False
    shp.members_pct = shp.members_pct and shp.total
    stt = rng.choice(STT)
    name_head = rng.choice(UNIT_NAME_HEADERS)
    camp_head = rng.choice(["Nghị quyết, chỉ thị", "Nội dung học tập", "Tên nghị quyết", "Chuyên đề",
                            "Văn bản học tập, quán triệt"])
    name_cells = []
    for i, (u, _) in enumerate(pairs):
        first = i == 0 or pairs[i - 1][0] is not u
        name_cells.append(st.name(u) if first or not merged_names else None)
    cols = [_Col((stt,), list(range(1, len(pairs) + 1)), is_data=False),
            _Col((name_head,), name_cells, is_data=False),
            _Col((camp_head,), [names[c.campaign_id] for _, c in pairs], is_data=False)]
    members = rng.choice(MEMBERS).capitalize()
    public = rng.choice(PUBLIC).capitalize()

    def path(subject: str, measure: str, one: str) -> tuple[str, ...]:
        return (one,) if h == 1 else (subject, measure)

    if shp.total:
        cols.append(_Col(path(members, rng.choice(TOTAL), rng.choice(ONE_TOTAL)), [st.n(u.total) for u, _ in pairs]))
    if shp.exempt:
        cols.append(_Col(path(members, rng.choice(EXEMPT), rng.choice(ONE_EXEMPT)), [st.n(u.exempt) for u, _ in pairs]))
    cols.append(_Col(path(members, rng.choice(ATTENDED), rng.choice(ONE_ATTENDED)),
                     [st.n(u.study[c.campaign_id][1]) for u, c in pairs]))
    if shp.members_pct:
        cols.append(_Col(path(members, rng.choice(PCT), rng.choice(ONE_MEMBERS_PCT)),
                         [st.p(u.study[c.campaign_id][1], u.total - u.exempt) for u, c in pairs], is_pct=True))
    if shp.target:
        cols.append(_Col(path(public, rng.choice(PUBLIC_TARGET), rng.choice(ONE_PUBLIC_TARGET)),
                         [st.n(u.study[c.campaign_id][2], False) for u, c in pairs]))
    if shp.public:
        cols.append(_Col(path(public, "Lượt tham gia" if shp.visits else rng.choice(ATTENDED),
                              rng.choice(ONE_PUBLIC_VISITS if shp.visits else ONE_PUBLIC_ATTENDED)),
                         [st.n(u.study[c.campaign_id][3], shp.target) for u, c in pairs]))
    for u, c in pairs:
        truth.study(u, c, shp.target, shp.public, shp.visits)
        if shp.total:
            truth.membership(u, y, required=False)
    cols += _note_col([u for u, _ in pairs], st)
    for c in cols:
        c.total = None  # a totals row over unit × campaign lines is not what committees write
    titles, caps = _titles(world, commune, rng.choice(["SỔ THEO DÕI HỌC TẬP, QUÁN TRIỆT NGHỊ QUYẾT",
                                                       "KẾT QUẢ HỌC TẬP CÁC NGHỊ QUYẾT, CHỈ THỊ CỦA ĐẢNG"]), rng)
    table = _Table(rng.choice(["Theo dõi", "Học tập", "Sheet1"]), titles, caps, cols, h)
    table.name_merges = merged_names
    return [table]


# ---------------------------------------------------------------------------------------------
# Forms
# ---------------------------------------------------------------------------------------------

#: layout -> header heights it takes
LAYOUTS: dict[str, tuple[int, ...]] = {
    "membership": (1, 2, 3),
    "unit-label": (1, 2),
    "per-campaign": (1, 2, 3),
    "side-by-side": (1, 2, 3),
    "combined": (1, 2, 3),
    "unit-x-marks": (1, 2, 3),
    "member-sl-pct": (1, 2, 3),
    "long": (1, 2),
    "per-committee": (1, 2),
}
_SPLIT = {1: "1row", 2: "2rows", 3: "3rows"}
_SIMPLE = {"membership": _membership, "unit-label": _unit_label, "side-by-side": _side_by_side,
           "combined": _combined, "unit-x-marks": _unit_x, "member-sl-pct": _member_pairs, "long": _long}


def _build_tables(layout: str, world: _World, commune: _Commune, st: _Style, h: int, truth: _Truth,
                  one_sheet: bool) -> list[_Table]:
    if layout == "per-campaign":
        return _per_campaign(world, commune, st, h, truth, one_sheet)
    return _SIMPLE[layout](world, commune, st, h, truth)


# -- 7. one workbook per grassroots committee ------------------------------------------------------
# Seeded by: per-ward rates reported separately (Cửa Lò, sources.md #12) and the commune papers'
# title rows (La Bằng, #9): each committee sends its own file, in its own layout.

def _form(index: int, layout: str, carrier: str, variant: int, seed: int) -> Form:
    rng = random.Random(f"{seed}/{layout}/{carrier}/{variant}")
    heights = LAYOUTS[layout]
    h = heights[(variant + index) % len(heights)]
    encoding = "unicode"
    roll = rng.random()
    if carrier in FONT_CARRIERS and roll < 0.3:
        encoding = "tcvn3" if roll < 0.18 else "vni"
    elif carrier not in ("csv-cp1258",) and roll > 0.85:
        encoding = "nfd"
    year = rng.randint(2012, 2025)
    n_communes = rng.randint(2, 3) if layout == "per-committee" else rng.choice([1, 1, 2, 3])
    world = _World(rng, year, n_communes)
    one_sheet = carrier in ONE_SHEET_CARRIERS
    truth = _Truth()
    files: dict[str, list[SheetSpec]] = {}
    sheets: list[SheetInfo] = []
    features: list[str] = []
    suffix = CARRIER_SUFFIX[carrier]
    targets = world.communes if layout == "per-committee" else [world.communes[0]]
    for commune in targets:
        sub = layout
        if layout == "per-committee":
            sub = rng.choice(["membership", "unit-label", "per-campaign", "unit-x-marks", "member-sl-pct"])
            sub = sub if h in LAYOUTS[sub] else "membership"
        st = _Style.draw(rng)
        if one_sheet and st.pct == "excel":
            st.pct = "comma"  # a CSV cell has no percent format
        tables = _build_tables(sub, world, commune, st, h, truth, one_sheet)
        specs = []
        rel = f"{year}/{commune.unit_id}{suffix}"
        if rng.random() < 0.3 and layout != "per-committee":
            rel = f"{year}/{rng.choice(['bieu-tong-hop', 'bao-cao', 'so-lieu'])}-{_slug(commune.name)}{suffix}"
        for t in tables:
            spec, first, used = _render(t, st, encoding)
            if t.name_merges:
                body = first + t.height + (st.numbering != "none")
                _merge_repeated_names(spec, body, body + len(t.cols[0].cells))
            if one_sheet:
                spec.name = ""
            specs.append(spec)
            sheets.append(SheetInfo(rel, spec.name, first, used))
        files[rel] = specs
        features.append(f"{sub}:totals={st.totals},pct={st.pct},count={st.count},zero={st.zero!r},"
                        f"group={st.group},numbering={st.numbering},noise={st.noise},names={st.name_style}")
    form_id = f"{layout}/{_SPLIT[h]}/{carrier}/{encoding}/{index:03d}"
    return Form(form_id, layout, _SPLIT[h], carrier, encoding, year, files, world.units_csv(), world.campaigns_csv(),
                {t: set(rows) for t, rows in truth.rows.items()},
                {t: rows - truth.rows[t] for t, rows in truth.maybe.items()}, features, sheets)


def _merge_repeated_names(spec: SheetSpec, first_body: int, end: int) -> None:
    """Merge each unit's name cell down over its campaign lines (the cells below are blank)."""
    rows = spec.rows
    r = first_body
    while r < end:
        if rows[r][1] not in (None, ""):
            e = r
            while e + 1 < end and rows[e + 1][1] is None:
                e += 1
            if e > r:
                spec.merges.append((r, 1, e, 1))
            r = e + 1
        else:
            r += 1


def build_forms(seed: int = SEED, per_pair: int = PER_PAIR) -> list[Form]:
    """Every generated form, in a stable order.

    Args:
        seed: Seed of every random choice.
        per_pair: Forms per (layout, carrier) pair.

    Returns:
        ``len(LAYOUTS) * len(CARRIERS) * per_pair`` forms with distinct ids.
    """
    forms = []
    index = 0
    for layout in LAYOUTS:
        for carrier in CARRIERS:
            for variant in range(per_pair):
                forms.append(_form(index, layout, carrier, variant, seed))
                index += 1
    return forms


# ---------------------------------------------------------------------------------------------
# Writing a form into a raw folder
# ---------------------------------------------------------------------------------------------


def write_raw(form: Form, raw_dir: Path) -> list[str]:
    """Write ``form``'s raw folder (reference CSVs and its files).

    Returns:
        Notes on carriers not written as asked (a writer missing from ``carriers`` falls back to
        an .xlsx written with openpyxl).
    """
    raw_dir.mkdir(parents=True, exist_ok=True)
    (raw_dir / "units.csv").write_text(form.units_csv, encoding="utf-8")
    (raw_dir / "campaigns.csv").write_text(form.campaigns_csv, encoding="utf-8")
    notes = []
    for rel, sheets in form.files.items():
        path = raw_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_form(path, sheets, form.carrier)
        except NotImplementedError:
            fallback = path.with_suffix(".xlsx")
            _write_xlsx(fallback, sheets)
            notes.append(f"{form.carrier} not written yet: {rel} written as xlsx")
    return notes


def _write_xlsx(path: Path, sheets: list[SheetSpec]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for i, spec in enumerate(sheets):
        ws = wb.create_sheet(spec.name or f"Sheet{i + 1}")
        for r, row in enumerate(spec.rows):
            for c, v in enumerate(row):
                if v is None:
                    continue
                cell = ws.cell(r + 1, c + 1, v)
                if (r, c) in spec.fonts:
                    cell.font = Font(name=spec.fonts[(r, c)])
                if (r, c) in spec.percent_cells:
                    cell.number_format = "0.00%"
        for r0, c0, r1, c1 in spec.merges:
            ws.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1, end_column=c1 + 1)
    wb.save(path)
