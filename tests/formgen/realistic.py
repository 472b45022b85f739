"""A fourth generator of committee forms: whole documents imitating what committees really send.

``generator.py`` taught the intake, ``holdout.py`` and ``adversary.py`` set traps one at a time.
This module aims at **realism**: each form is a whole document as a committee office produces it,
several tables and sheets that are not data among the ones that are, in the words of published
reports (sources at the end of this docstring). Its own world is a province of the north-west
(Đảng bộ tỉnh → Đảng bộ huyện → đảng bộ xã / Đảng bộ Quân sự huyện / chi bộ cơ sở → chi bộ thôn,
bản), with names that repeat across communes ("Chi bộ Trạm Y tế", "Chi bộ bản Mới") as they do.

Families (``layout``):

* ``docx-report`` — a Word report of a đảng ủy xã: letterhead paragraphs, a narrative paragraph with
  figures, then "Biểu 01 …" (study), "Biểu 02 …" (chi bộ ratings, "x" marks or a label column),
  "Biểu 03 …" (member ratings), a budget table ("Dự toán kinh phí … Thành tiền (đồng)") and the
  signature table ("Nơi nhận … T/M ĐẢNG ỦY"); TCVN3/VNI fonts in some;
* ``xlsx-workbook`` — a workbook with a cover sheet ("Bìa"), an instructions sheet ("Hướng dẫn",
  numbered lines with figures), data sheets, a chart-data sheet (years as rows) and, in xlsx,
  hidden helper columns;
* ``monthly-sheets`` — one sheet per month ("T10", "Tháng 11" …) listing the chi bộ that studied
  that month, sometimes with a cumulative "Lũy kế" sheet repeating them, sometimes a chi bộ's
  make-up session in a later month (must be reported: its attendance is split over two sheets);
* ``province-districts`` — a province workbook whose rows are district committees and the
  province's direct committees (Quân sự, Công an), figures being their sums, with counts of
  grassroots organisations per level beside the members' ("Tổ chức cơ sở đảng | Đảng viên"): a
  row of a committee whose children are not listed is that committee's own report (stored at it);
  the organisation counts are no canonical figure;
* ``province-district-sheets`` — a province workbook with one sheet per district listing its
  grassroots committees (co_so: "ĐU xã …", "ĐB Quân sự huyện …", "CB Trường THPT …") under the
  district's subtotal row, often with a "Tổng hợp" sheet of district rows first: those rows are sums
  of the committees listed in the other sheets and must not be stored beside them;
* ``ocr-retyped`` — a form scanned and retyped: names without diacritics, and (mostly) a few count
  cells with OCR errors ("1O5", "l2", "I7", "4 5") that must be reported;
* ``province-org-ratings`` — a province sheet of grassroots organisations per level by district
  ("Xếp loại tổ chức cơ sở đảng | TSVM | HTTNV …") beside a plain study sheet: no canonical figure;
* ``register-missing`` — a commune's form lists a chi bộ missing under it in units.csv whose name a
  neighbouring commune's chi bộ bears (must be reported, never filed under the neighbour);
* ``docx-report-shared-names`` — the Word report where chi bộ names repeat across communes;
* ``footnoted-amounts`` — counts with footnote marks ("350²", "45 (1)", "120(*)"), footnote lines
  with figures below the table, and an amounts column ("Kinh phí (đồng)") no canonical table holds.

Truth is what a careful analyst would type (columns of ``generator.COMPARED``); ``must_report``
when a figure cannot be read with confidence.

Sources (the ``search`` tool, corpus "pages", consulted 2026): Tây Ninh, "Trên 99% đảng viên học tập
Nghị quyết Đại hội XI Đảng bộ tỉnh" (baotayninh.vn: "378 lớp, với 35.599/35.900 đảng viên, đạt
99,16% và 5.806 cán bộ, chiến sỹ, quần chúng"); Diễn Châu 2011 (truyenhinhnghean.vn: "619 Chi bộ với
trên 13.000 đảng viên", "82 tổ chức cơ sở Đảng", "95% trở lên đảng viên tham gia"); Hải Dương 2019
(baohaiduong.vn: "662 trong tổng số 686 tổ chức cơ sở đảng (TCCSĐ) được đánh giá", "604 TCCSĐ hoàn
thành tốt nhiệm vụ, đạt 91,2%, trong đó có 23,8% … xuất sắc", "Đảng bộ Quân sự tỉnh", "Công an
tỉnh"); Sơn La 2020 (baomoi.com: TCCSĐ counts per level); HD 16-HD/BTCTW (2018) and HD 11-HD/BTCTW
(2021, biểu mẫu thống kê) on thuvienphapluat.vn; Đảng ủy xã La Bằng, Kế hoạch 09-KH/ĐU (2020,
123docz.net: letterhead "ĐẢNG BỘ TỈNH … ĐẢNG BỘ HUYỆN … ĐẢNG ỦY XÃ … * Số 09 KH/ĐU"); Huyện ủy Hướng
Hóa (tinhuyquangtri.vn: "Bí thư, Phó Bí thư các Chi, Đảng bộ trực thuộc"); Lâm Đồng 2022
(lamdong.dcs.vn, on study of resolutions).

Example:
    >>> forms = build_forms()
    >>> len(forms) >= 120 and len({f.form_id for f in forms}) == len(forms)
    True
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from analysis.text import encode_legacy

from .carriers import SheetSpec, write_form
from .generator import COMPARED

SEED = 41207
SUFFIX = {"xlsx": ".xlsx", "xls": ".xls", "ods": ".ods", "docx": ".docx"}


def scheme_of(year: int) -> str:
    return "tsvm-2008" if year <= 2017 else "qd132-2018" if year <= 2022 else "qd124-2023" if year <= 2024 \
        else "qd366-2025"


UNIT_OLD = (("tsvm", "Trong sạch, vững mạnh", "TSVM"), ("httnv", "Hoàn thành tốt nhiệm vụ", "HTTNV"),
            ("htnv", "Hoàn thành nhiệm vụ", "HTNV"), ("yeu-kem", "Yếu kém", "Yếu kém"))
MEMBER_OLD = (("htxsnv", "Đủ tư cách, hoàn thành xuất sắc nhiệm vụ", "ĐTC, HTXSNV"),
              ("httnv", "Đủ tư cách, hoàn thành tốt nhiệm vụ", "ĐTC, HTTNV"),
              ("htnv", "Đủ tư cách, hoàn thành nhiệm vụ", "ĐTC, HTNV"),
              ("vi-pham", "Vi phạm tư cách hoặc không hoàn thành nhiệm vụ", "Vi phạm tư cách"))
NEW = (("htxsnv", "Hoàn thành xuất sắc nhiệm vụ", "HTXSNV"), ("httnv", "Hoàn thành tốt nhiệm vụ", "HTTNV"),
       ("htnv", "Hoàn thành nhiệm vụ", "HTNV"), ("khtnv", "Không hoàn thành nhiệm vụ", "KHTNV"))


def unit_levels(year: int) -> tuple:
    return UNIT_OLD if year <= 2017 else NEW


def member_levels(year: int) -> tuple:
    return MEMBER_OLD if year <= 2017 else NEW


#: Campaigns studied each year (document code, kind, short name as forms write it, subject).
CAMPAIGNS: dict[int, tuple[tuple[str, str, str], ...]] = {
    2014: (("03-CT/TW", "Chỉ thị", "về tiếp tục đẩy mạnh việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh"),
           ("28-NQ/TW", "Nghị quyết", "về Chiến lược bảo vệ Tổ quốc trong tình hình mới")),
    2015: (("36-CT/TW", "Chỉ thị", "về đại hội đảng bộ các cấp tiến tới Đại hội đại biểu toàn quốc lần thứ XII"),
           ("39-NQ/TW", "Nghị quyết", "về tinh giản biên chế và cơ cấu lại đội ngũ cán bộ, công chức")),
    2016: (("04-NQ/TW", "Nghị quyết", "về tăng cường xây dựng, chỉnh đốn Đảng"),
           ("05-CT/TW", "Chỉ thị", "về đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh")),
    2017: (("18-NQ/TW", "Nghị quyết", "về tiếp tục đổi mới, sắp xếp tổ chức bộ máy của hệ thống chính trị"),
           ("21-NQ/TW", "Nghị quyết", "về công tác dân số trong tình hình mới")),
    2018: (("26-NQ/TW", "Nghị quyết", "về tập trung xây dựng đội ngũ cán bộ các cấp, nhất là cấp chiến lược"),
           ("36-NQ/TW", "Nghị quyết", "về Chiến lược phát triển bền vững kinh tế biển Việt Nam")),
    2019: (("35-NQ/TW", "Nghị quyết", "về tăng cường bảo vệ nền tảng tư tưởng của Đảng"),
           ("33-CT/TW", "Chỉ thị", "về tăng cường sự lãnh đạo của Đảng đối với việc kê khai tài sản")),
    2020: (("52-NQ/TW", "Nghị quyết", "về một số chủ trương, chính sách chủ động tham gia cuộc Cách mạng công nghiệp "
                                      "lần thứ tư"),
           ("45-CT/TW", "Chỉ thị", "về đại hội đảng bộ các cấp tiến tới Đại hội XIII của Đảng")),
    2021: (("01-KL/TW", "Kết luận", "về tiếp tục thực hiện Chỉ thị số 05-CT/TW"),
           ("21-KL/TW", "Kết luận", "về đẩy mạnh xây dựng, chỉnh đốn Đảng và hệ thống chính trị")),
    2022: (("18-NQ/TW", "Nghị quyết", "về tiếp tục đổi mới, hoàn thiện thể chế, chính sách đất đai"),
           ("19-NQ/TW", "Nghị quyết", "về nông nghiệp, nông dân, nông thôn đến năm 2030")),
    2023: (("41-NQ/TW", "Nghị quyết", "về xây dựng và phát huy vai trò của đội ngũ doanh nhân"),
           ("43-NQ/TW", "Nghị quyết", "về tiếp tục phát huy truyền thống, sức mạnh khối đại đoàn kết toàn dân tộc")),
    2024: (("57-NQ/TW", "Nghị quyết", "về đột phá phát triển khoa học, công nghệ, đổi mới sáng tạo"),
           ("35-CT/TW", "Chỉ thị", "về đại hội đảng bộ các cấp tiến tới Đại hội đại biểu toàn quốc lần thứ XIV")),
}
YEARS = tuple(sorted(CAMPAIGNS))


def slug(text: str) -> str:
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in plain).split())


def strip_marks(text: str) -> str:
    """Text as an OCR of a poor scan gives it: no diacritics (đ kept as d)."""
    return slug_keep_case(text)


def slug_keep_case(text: str) -> str:
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in plain if not unicodedata.combining(ch))


@dataclass(frozen=True)
class Camp:
    year: int
    code: str
    kind: str
    topic: str

    @property
    def campaign_id(self) -> str:
        return f"{self.year}-{slug(self.code)}"

    @property
    def title(self) -> str:
        return f"{self.kind} số {self.code} {self.topic}"

    @property
    def short(self) -> str:
        return f"{'NQ' if self.kind == 'Nghị quyết' else 'CT' if self.kind == 'Chỉ thị' else 'KL'} "\
               f"{self.code.split('-')[0]}"


def camps_of(year: int) -> list[Camp]:
    return [Camp(year, *c) for c in CAMPAIGNS[year]]


def pct(a: int, b: int) -> float:
    return round(100 * a / b, 2) if b else 0.0


# ---------------------------------------------------------------------------------------------
# The world: a province, its districts, their grassroots committees and chi bộ
# ---------------------------------------------------------------------------------------------

DISTRICTS = (("huyện", "Sìn Hồ"), ("huyện", "Tam Đường"), ("huyện", "Phong Thổ"), ("huyện", "Than Uyên"),
             ("thành phố", "Lai Châu"), ("huyện", "Tân Uyên"), ("huyện", "Mường Tè"), ("huyện", "Nậm Nhùn"))
COMMUNES = ("Pa Tần", "Nậm Tăm", "Chăn Nưa", "Tả Phìn", "Bản Giang", "Khun Há", "Sơn Bình", "Mường Kim",
            "Pắc Ta", "Trung Đồng", "Mường Mô", "Ka Lăng", "Bum Nưa", "Hua Bum", "Nậm Cuổi", "Hồ Thầu")
VILLAGES = ("bản Mới", "bản Nà Kiêng", "bản Huổi Ke", "bản Pa Tần", "bản Nậm Cười", "bản Phiêng Lúc",
            "thôn 1", "thôn 2", "thôn 3", "bản Hồ Pạc", "bản Tà Chải", "bản Nà Cang", "bản Cốc Pa")
MORE_VILLAGES = ("Lả Mé", "Nà Tăm", "Phiêng Pát", "Sì Thâu Chải", "Ma Sao Phìn", "Chu Va", "Cò Lá", "Nậm Pọng",
                 "Huổi Luông", "Pác Pạt", "Tà Mít", "Nà Ban", "Hô Be", "Thèn Thầu", "Sin Chải", "Pa Pao", "Phai Cát",
                 "Ngải Thầu", "Lùng Thàng", "Khoen On", "Mường Cang", "Nà Khương", "Phúc Than", "Tà Hừa",
                 "Nậm Sỏ", "Khì Hồ", "Nà Luồng", "Vàng Bó", "Hua Nà", "Sàng Ngài", "Pú Đao", "Nậm Hàng",
                 "Lê Lợi", "Pa Vệ Sủ", "Tá Bạ", "Căn Co", "Noong Hẻo", "Nậm Ban", "Xà Dề Phìn", "Ma Quai")
SHARED_DISTRICT_COMMUNE = "Tân Phong"  # a commune name found in two districts


@dataclass(eq=False)
class Unit:
    unit_id: str
    name: str
    level: str
    kind: str
    parent: Unit | None
    short: str
    children: list[Unit] = field(default_factory=list)
    total: int = 0
    exempt: int = 0
    study: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    rating: str = ""
    members: dict[str, int] = field(default_factory=dict)
    na: int = 0

    @property
    def elig(self) -> int:
        return self.total - self.exempt

    def leaves(self) -> list[Unit]:
        return [self] if not self.children else [x for c in self.children for x in c.leaves()]

    def att(self, c: Camp) -> int:
        return self.study[c.campaign_id][0]

    def tgt(self, c: Camp) -> int:
        return self.study[c.campaign_id][1]

    def pub(self, c: Camp) -> int:
        return self.study[c.campaign_id][2]


class Province:
    """Đảng bộ tỉnh Lai Châu (illustrative figures) in one year."""

    def __init__(self, rng: random.Random, year: int, n_districts: int = 3, communes: tuple[int, int] = (2, 3),
                 chibo: tuple[int, int] = (4, 6), shared: bool = False, unique: bool = True) -> None:
        self.rng, self.year = rng, year
        self.camps = camps_of(year)
        self.root = Unit("tinh-lai-chau", "Đảng bộ tỉnh Lai Châu", "cap_tren", "khac", None, "Tỉnh Lai Châu")
        self.units: list[Unit] = [self.root]
        used_communes: set[str] = set()
        pool = list(VILLAGES) + [f"bản {x}" for x in MORE_VILLAGES]
        rng.shuffle(pool)
        for k, (dkind, dname) in enumerate(rng.sample(DISTRICTS, n_districts)):
            did = slug(dname)
            d = self._add(did, f"Đảng bộ {dkind} {dname}", "cap_tren", "khac", self.root,
                          rng.choice([f"{dkind.capitalize()} {dname}", f"ĐB {dkind} {dname}", f"Đảng bộ {dkind} {dname}"]))
            d.dkind, d.dname = dkind, dname  # type: ignore[attr-defined]
            names = [c for c in COMMUNES if c not in used_communes]
            chosen = rng.sample(names, rng.randint(*communes))
            used_communes.update(chosen)
            if shared and k < 2:
                chosen[0] = SHARED_DISTRICT_COMMUNE
            for cname in chosen:
                ckind = "thị trấn" if cname == chosen[-1] and rng.random() < 0.3 else "xã"
                cid = f"{did}.{slug(cname)}"
                com = self._add(cid, f"Đảng bộ {ckind} {cname}", "co_so", "khu_dan_cu", d,
                                rng.choice([f"ĐU {ckind} {cname}", f"Đảng bộ {ckind} {cname}", f"{ckind.capitalize()} {cname}"]))
                com.cname, com.ckind = cname, ckind  # type: ignore[attr-defined]
                n = rng.randint(*chibo)
                if unique:
                    villages = [pool.pop() for _ in range(max(2, n - 2))]
                else:
                    villages = rng.sample(VILLAGES, max(2, n - 2))
                for v in villages:
                    self._add(f"{cid}.{slug(v)}", f"Chi bộ {v}", "chi_bo", "khu_dan_cu", com,
                              rng.choice([f"CB {v}", f"Chi bộ {v}", f"Chi bộ {v}"]))
                services = [("Chi bộ Trạm Y tế", "co_quan", "CB Trạm Y tế"),
                            (f"Chi bộ Trường Tiểu học {cname}", "truong_hoc", f"CB Trường TH {cname}"),
                            ("Chi bộ Quân sự xã", "luc_luong_vu_trang", "CB Quân sự xã"),
                            ("Chi bộ Công an xã", "luc_luong_vu_trang", "CB Công an xã")]
                for nm, kd, sh in rng.sample(services, n - len(villages)):
                    if "TH " in sh and rng.random() < 0.5:
                        sh = nm
                    if unique and not nm.endswith(cname):
                        nm, sh = f"{nm} {cname}", f"{sh} {cname}"
                    self._add(f"{cid}.{slug(nm)}", nm, "chi_bo", kd, com, sh)
            self._add(f"{did}.quan-su", f"Đảng bộ Quân sự {dkind} {dname}", "co_so", "luc_luong_vu_trang", d,
                      rng.choice([f"ĐB Quân sự {dkind} {dname}", f"ĐB Quân sự {dkind} {dname}"]
                                 + ([] if unique else [f"Đảng bộ Quân sự {dkind}"])))
            self._add(f"{did}.thpt", f"Chi bộ Trường THPT {dname}", "co_so", "truong_hoc", d,
                      rng.choice([f"CB Trường THPT {dname}", f"Chi bộ Trường THPT {dname}"]))
        self._add("tinh-lai-chau.quan-su", "Đảng bộ Quân sự tỉnh", "cap_tren", "luc_luong_vu_trang", self.root,
                  rng.choice(["ĐB Quân sự tỉnh", "Đảng bộ Quân sự tỉnh"]))
        self._add("tinh-lai-chau.cong-an", "Đảng bộ Công an tỉnh", "cap_tren", "luc_luong_vu_trang", self.root,
                  rng.choice(["ĐB Công an tỉnh", "Đảng bộ Công an tỉnh"]))
        self._figures()

    def _add(self, uid: str, name: str, level: str, kind: str, parent: Unit | None, short: str) -> Unit:
        u = Unit(uid, name, level, kind, parent, short)
        if parent is not None:
            parent.children.append(u)
        self.units.append(u)
        return u

    def _figures(self) -> None:
        rng, year = self.rng, self.year
        for u in self.units:
            if u.children:
                continue
            big = u.kind == "khu_dan_cu"
            base = rng.randint(18, 95) if big else rng.randint(7, 34)
            if u.level in ("co_so", "cap_tren"):  # a committee listed without chi bộ: its own figures
                base = rng.randint(60, 400)
            u.total = base
            u.exempt = min(rng.choice([0, 1, 2, 3, 4]) if big else rng.choice([0, 0, 1]), base // 6)
            for c in self.camps:
                att = rng.randint(max(1, u.elig * 17 // 20), u.elig)
                tgt = rng.randint(90, 650) if big else rng.randint(12, 60)
                u.study[c.campaign_id] = (att, tgt, rng.randint(tgt * 3 // 5, tgt))
            u.na = min(rng.choice([0, 0, 1, 1, 2]), max(0, u.elig - 3))
            assessed = u.elig - u.na
            c4 = 1 if assessed > 12 and rng.random() < 0.12 else 0
            c3 = rng.randint(0, assessed // 9)
            c2 = assessed - c3 - c4
            c1 = int(c2 * rng.uniform(0.1, 0.19))
            c2 -= c1
            u.members = dict(zip([c for c, *_ in member_levels(year)], (c1, c2, c3, c4), strict=True))
        for u in reversed(self.units):  # sums upward (children were added after their parent)
            if u.children:
                u.total = sum(c.total for c in u.children)
                u.exempt = sum(c.exempt for c in u.children)
                u.na = sum(c.na for c in u.children)
                u.study = {c.campaign_id: tuple(sum(k.study[c.campaign_id][i] for k in u.children) for i in range(3))
                           for c in self.camps}
                u.members = {code: sum(k.members[code] for k in u.children) for code, *_ in member_levels(year)}
        for u in self.units:
            u.rating = rng.choices([c for c, *_ in unit_levels(year)], (28, 57, 12, 3))[0]

    def communes(self) -> list[Unit]:
        return [u for u in self.units if u.level == "co_so" and u.children]

    def districts(self) -> list[Unit]:
        return [u for u in self.root.children if u.children]

    def units_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["unit_id", "unit_name", "parent_id", "unit_level", "unit_kind", "valid_from_year", "valid_to_year"])
        for u in self.units:
            w.writerow([u.unit_id, u.name, u.parent.unit_id if u.parent else "", u.level, u.kind, 2010, ""])
        return out.getvalue()

    @staticmethod
    def campaigns_csv() -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["campaign_id", "year", "title", "document_code", "start_date"])
        for y in YEARS:
            for c in camps_of(y):
                w.writerow([c.campaign_id, c.year, c.title, c.code, f"{c.year}-04-10"])
        return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


@dataclass
class C:
    """A column: header path (top → bottom), value of a unit, kind (stt/name/count/pct/text)."""

    path: tuple[str, ...]
    get: Callable[[Unit], object] | None = None
    kind: str = "count"
    num: Callable[[Unit], int] | None = None
    den: Callable[[Unit], int] | None = None


def header_rows(cols: list[C], numbered: bool) -> tuple[list[list[object]], list[tuple[int, int, int, int]]]:
    h = max(len(c.path) for c in cols)
    paths = [c.path + (None,) * (h - len(c.path)) for c in cols]
    rows: list[list[object]] = [[p[r] for p in paths] for r in range(h)]
    merges = []
    for r in range(h - 1):
        c = 0
        while c < len(cols):
            e = c
            if paths[c][r] is not None:
                while e + 1 < len(cols) and paths[e + 1][: r + 1] == paths[c][: r + 1] and paths[e + 1][r + 1] is not None:
                    e += 1
            if e > c:
                merges.append((r, c, r, e))
                for k in range(c + 1, e + 1):
                    rows[r][k] = None
            c = e + 1
    for c, p in enumerate(paths):
        last = max(i for i, v in enumerate(p) if v is not None)
        if last < h - 1:
            merges.append((last, c, h - 1, c))
    if numbered:
        rows.append([f"({i + 1})" if cols[i].kind != "name" else "(A)" for i in range(len(cols))]
                    if numbered else [])
    return rows, merges


def body_rows(cols: list[C], units: list[Unit], start: int = 1, name: Callable[[Unit], str] | None = None
              ) -> list[list[object]]:
    out = []
    for i, u in enumerate(units):
        row: list[object] = []
        for c in cols:
            if c.kind == "stt":
                row.append(start + i)
            elif c.kind == "name":
                row.append(name(u) if name else u.short)
            elif c.kind == "pct" and c.num and c.den:
                row.append(pct(c.num(u), c.den(u)))
            else:
                row.append(c.get(u) if c.get else None)
        out.append(row)
    return out


def total_row(cols: list[C], units: list[Unit], label: str) -> list[object]:
    row: list[object] = []
    for c in cols:
        if c.kind == "name":
            row.append(label)
        elif c.kind == "count" and c.get:
            vals = [c.get(u) for u in units]
            row.append(sum(vals) if all(isinstance(v, int) for v in vals) else None)
        elif c.kind == "pct" and c.num and c.den:
            row.append(pct(sum(c.num(u) for u in units), sum(c.den(u) for u in units)))
        else:
            row.append(None)
    return row


def make_sheet(name: str, titles: list[list[object]], cols: list[C], rows: list[list[object]],
               numbered: bool = False, after: list[list[object]] | None = None) -> SheetSpec:
    head, merges = header_rows(cols, numbered)
    t = len(titles)
    all_rows = [list(r) for r in titles] + head + [list(r) for r in rows] + [list(r) for r in (after or [])]
    return SheetSpec(name, all_rows, [(a + t, b, c + t, d) for a, b, c, d in merges], title_rows=t)


def legacy(spec: SheetSpec, encoding: str, rng: random.Random) -> SheetSpec:
    """Retype a sheet in a legacy font (TCVN3 .VnTime/.VnTimeH, VNI-Times) or as NFD text."""
    if encoding == "unicode":
        return spec
    out = []
    fonts: dict[tuple[int, int], str] = {}
    for r, row in enumerate(spec.rows):
        new = []
        for c, v in enumerate(row):
            if isinstance(v, str) and v.strip():
                if encoding == "nfd":
                    v = unicodedata.normalize("NFD", v)
                else:
                    caps = encoding == "tcvn3" and r < spec.title_rows and v == v.upper() and any(ch.isalpha() for ch in v)
                    try:
                        v2 = encode_legacy(v, encoding, caps=caps)
                    except ValueError:
                        v2 = None
                    if v2 is not None:
                        v = v2
                        fonts[(r, c)] = (".VnTimeH" if caps else ".VnTime") if encoding == "tcvn3" else "VNI-Times"
            new.append(v)
        out.append(new)
    return SheetSpec(spec.name, out, list(spec.merges), fonts, spec.title_rows, set(spec.percent_cells))


# ---------------------------------------------------------------------------------------------
# Forms and truth
# ---------------------------------------------------------------------------------------------


@dataclass
class RealisticForm:
    """One document set (same ``truth``/``optional``/``must_report`` conventions as the adversary's)."""

    form_id: str
    layout: str
    carrier: str
    encoding: str
    year: int
    files: dict[str, list[SheetSpec]]
    units_csv: str
    campaigns_csv: str
    truth: dict[str, set[tuple]]
    optional: dict[str, set[tuple]] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    must_report: list[str] = field(default_factory=list)
    extra_columns: list[tuple[str, str, int, str]] = field(default_factory=list)
    post: dict[str, list[Callable]] = field(default_factory=dict)


class Doc:
    """What a family builds: files, truth, reasons to report, features."""

    def __init__(self, rng: random.Random, year: int, carrier: str, p: Province) -> None:
        self.rng, self.year, self.carrier, self.p = rng, year, carrier, p
        self.files: dict[str, list[SheetSpec]] = {}
        self.rows: dict[str, set[tuple]] = {t: set() for t in COMPARED}
        self.maybe: dict[str, set[tuple]] = {t: set() for t in COMPARED}
        self.must: list[str] = []
        self.features: list[str] = []
        self.post: dict[str, list[Callable]] = {}
        self.encoding = "unicode"
        if carrier in ("xlsx", "xls", "ods", "docx"):
            self.encoding = rng.choices(["unicode", "tcvn3", "vni", "nfd"], (50, 25, 15, 10))[0]

    @property
    def suffix(self) -> str:
        return SUFFIX.get(self.carrier, ".csv")

    def add(self, stem: str, sheets: list[SheetSpec], legacy_ok: bool = True) -> str:
        rel = f"{self.year}/{stem}{self.suffix}"
        if self.carrier.startswith("csv"):
            sheets = sheets[:1]
            sheets[0].name = ""
        if legacy_ok and self.encoding != "unicode":
            sheets = [legacy(s, self.encoding, self.rng) for s in sheets]
        self.files[rel] = sheets
        return rel

    # truth
    def membership(self, u: Unit, required: bool = True) -> None:
        (self.rows if required else self.maybe)["membership"].add((u.unit_id, self.year, u.total, u.exempt))

    def study(self, u: Unit, c: Camp, public: str = "persons", att: int | None = None) -> None:
        a = u.att(c) if att is None else att
        if public == "persons":
            row = (u.unit_id, c.campaign_id, a > 0, a, u.tgt(c), u.pub(c), "persons")
        elif public == "attendances":
            row = (u.unit_id, c.campaign_id, a > 0, a, None, u.pub(c), "attendances")
        else:
            row = (u.unit_id, c.campaign_id, a > 0, a, None, None, None)
        self.rows["study_participation"].add(row)

    def urating(self, u: Unit) -> None:
        self.rows["unit_ratings"].add((u.unit_id, self.year, scheme_of(self.year), u.rating, False))

    def mrating(self, u: Unit, na: bool = True) -> None:
        for code, n in u.members.items():
            self.rows["member_ratings"].add((u.unit_id, self.year, scheme_of(self.year), code, n,
                                             u.na if na else None))


# --- letterheads and non-data tables ---------------------------------------------------------

SECRETARIES = ("Lò Văn Hùng", "Tòng Thị Pấng", "Vàng A Sử", "Lường Văn Thắng", "Giàng Thị Mai", "Phạm Văn Hòa")


def letterhead(d: Doc, com: Unit, doc_no: str, heading: str, subtitle: str) -> list[list[object]]:
    dist = com.parent
    assert dist is not None
    return [[f"ĐẢNG BỘ {dist.dkind.upper()} {dist.dname.upper()}", None, None, None, "ĐẢNG CỘNG SẢN VIỆT NAM"],  # type: ignore[attr-defined]
            [f"ĐẢNG ỦY {com.ckind.upper()} {com.cname.upper()}"],  # type: ignore[attr-defined]
            ["*", None, None, None, f"{com.cname}, ngày {d.rng.randint(5, 28)} tháng 12 năm {d.year}"],  # type: ignore[attr-defined]
            [f"Số {doc_no}"],
            [heading],
            [subtitle]]


def signature_table(d: Doc) -> SheetSpec:
    who = d.rng.choice(SECRETARIES)
    rows = [["Nơi nhận:\n- Ban Tuyên giáo Huyện ủy (b/c);\n- Các chi bộ trực thuộc;\n- Lưu VP Đảng ủy.",
             "T/M ĐẢNG ỦY\nBÍ THƯ\n\n(Đã ký)\n\n" + who]]
    return SheetSpec("", rows)


def budget_table(d: Doc, people: int) -> SheetSpec:
    items = [("Tài liệu học tập", people, 15000), ("Nước uống, hội trường", d.rng.randint(2, 4), 500000),
             ("Bồi dưỡng báo cáo viên", d.rng.randint(2, 3), 300000)]
    rows = [["Biểu 04: Dự toán kinh phí tổ chức học tập, quán triệt"],
            ["STT", "Nội dung chi", "Số lượng", "Đơn giá (đồng)", "Thành tiền (đồng)"]]
    for i, (what, n, price) in enumerate(items):
        rows.append([i + 1, what, n, price, n * price])
    rows.append([None, "Cộng", None, None, sum(n * p for _, n, p in items)])
    return SheetSpec("", rows, title_rows=1)


# --- column sets ---------------------------------------------------------------------------------

def study_cols(d: Doc, c: Camp, variant: int, public: str = "persons") -> list[C]:
    """Study columns as committees write them (``variant`` picks the wording)."""
    cols = [C(("STT",), kind="stt"), C(("Tên chi bộ",) if variant != 2 else ("Đơn vị",), kind="name")]
    if variant == 0:
        cols += [C(("Tổng số đảng viên",), lambda u: u.total), C(("Số ĐV miễn sinh hoạt",), lambda u: u.exempt),
                 C(("Số ĐV tham gia học tập",), lambda u: u.att(c)),
                 C(("Tỷ lệ (%)",), kind="pct", num=lambda u: u.att(c), den=lambda u: u.elig)]
    elif variant == 1:
        cols += [C(("Đảng viên", "Tổng số"), lambda u: u.total), C(("Đảng viên", "Miễn SH"), lambda u: u.exempt),
                 C(("Đảng viên", "Tham gia"), lambda u: u.att(c)),
                 C(("Đảng viên", "Tỷ lệ %"), kind="pct", num=lambda u: u.att(c), den=lambda u: u.elig)]
    else:
        cols += [C(("Số đảng viên", "Tổng số"), lambda u: u.total),
                 C(("Số đảng viên", "Được miễn sinh hoạt"), lambda u: u.exempt),
                 C(("Số đảng viên", "Đã học tập, quán triệt"), lambda u: u.att(c)),
                 C(("Số đảng viên", "Đạt tỷ lệ (%)"), kind="pct", num=lambda u: u.att(c), den=lambda u: u.elig)]
    if public == "persons":
        top = "Quần chúng" if variant != 2 else "Quần chúng nhân dân"
        cols += [C((top, "Số phải học"), lambda u: u.tgt(c)), C((top, "Số tham gia"), lambda u: u.pub(c))]
    elif public == "attendances":
        cols += [C(("Số lượt quần chúng tham gia",), lambda u: u.pub(c))]
    return cols


def mrating_cols(d: Doc, variant: int, na: bool = True) -> list[C]:
    lv = member_levels(d.year)
    top = "Kết quả xếp loại đảng viên" if variant != 1 else "Xếp loại chất lượng đảng viên"
    cols = [C(("STT",), kind="stt"), C(("Tên chi bộ",), kind="name"),
            C(("Tổng số đảng viên",), lambda u: u.total), C(("Miễn đánh giá",), lambda u: u.exempt)]
    if na:
        cols.append(C(("Không đánh giá, xếp loại",), lambda u: u.na))
    for code, full, short in lv:
        cols.append(C((top, full if variant == 0 else short), lambda u, code=code: u.members[code]))
    return cols


def urating_cols(d: Doc, marks: bool) -> list[C]:
    cols = [C(("STT",), kind="stt"), C(("Tên chi bộ",), kind="name")]
    if marks:
        for code, _full, short in unit_levels(d.year):
            cols.append(C(("Mức xếp loại", short), lambda u, code=code: "x" if u.rating == code else None, "text"))
    else:
        labels = {code: full for code, full, _ in unit_levels(d.year)}
        cols.append(C(("Kết quả xếp loại",), lambda u: labels[u.rating], "text"))
    cols.append(C(("Ghi chú",), lambda u: None, "text"))
    return cols


# ---------------------------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------------------------


def _commune(d: Doc) -> Unit:
    return d.rng.choice(d.p.communes())


def f_docx_report(d: Doc) -> None:
    com = _commune(d)
    kids = com.children
    c = d.rng.choice(d.p.camps)
    v = d.rng.randrange(3)
    cols = study_cols(d, c, v)
    att = sum(u.att(c) for u in kids)
    elig = sum(u.elig for u in kids)
    narrative = (f"Thực hiện Kế hoạch của Ban Thường vụ Huyện ủy, Đảng ủy đã chỉ đạo {len(kids)}/{len(kids)} chi bộ "
                 f"tổ chức học tập {c.title}; có {att}/{elig} đảng viên tham gia, đạt "
                 f"{pct(att, elig):.2f}%".replace(".", ",") + f" và {sum(u.pub(c) for u in kids)} lượt quần chúng.")
    titles = letterhead(d, com, f"{d.rng.randint(40, 190)}-BC/ĐU", "BÁO CÁO",
                        f"Kết quả học tập, quán triệt và đánh giá, xếp loại chất lượng năm {d.year}")
    titles += [[narrative], [f"Biểu 01: Kết quả học tập, quán triệt {c.title}"]]
    sheets = [make_sheet("", titles, cols, body_rows(cols, kids) + [total_row(cols, kids, "Tổng cộng")],
                         numbered=d.rng.random() < 0.4)]
    for u in kids:
        d.study(u, c)
        d.membership(u, required=False)
    d.features.append(f"study-v{v}")
    if d.rng.random() < 0.75:
        marks = d.rng.random() < 0.5
        uc = urating_cols(d, marks)
        sheets.append(make_sheet("", [[f"Biểu 02: Kết quả đánh giá, xếp loại chất lượng chi bộ năm {d.year}"]], uc,
                                 body_rows(uc, kids)))
        for u in kids:
            d.urating(u)
        d.features.append("urating-marks" if marks else "urating-label")
    if d.rng.random() < 0.75:
        mv = d.rng.randrange(2)
        mc = mrating_cols(d, mv)
        sheets.append(make_sheet("", [[f"Biểu 03: Kết quả đánh giá, xếp loại đảng viên năm {d.year}"]], mc,
                                 body_rows(mc, kids) + [total_row(mc, kids, "Cộng")]))
        for u in kids:
            d.mrating(u)
            d.membership(u, required=False)
        d.features.append(f"mrating-v{mv}")
    if d.rng.random() < 0.7:
        sheets.insert(d.rng.randint(1, len(sheets)), budget_table(d, att))
        d.features.append("budget-table")
    sheets.append(signature_table(d))
    d.add(f"bao-cao-{slug(com.cname)}", sheets)  # type: ignore[attr-defined]


def f_xlsx_workbook(d: Doc) -> None:
    com = _commune(d)
    kids = com.children
    sheets: list[SheetSpec] = []
    cover = [["ĐẢNG BỘ " + com.parent.dkind.upper() + " " + com.parent.dname.upper()],  # type: ignore[union-attr,attr-defined]
             [f"ĐẢNG ỦY {com.ckind.upper()} {com.cname.upper()}"], [], [],  # type: ignore[attr-defined]
             ["BIỂU TỔNG HỢP"], [f"KẾT QUẢ HỌC TẬP NGHỊ QUYẾT VÀ ĐÁNH GIÁ, XẾP LOẠI NĂM {d.year}"], [],
             ["Người lập biểu:", d.rng.choice(SECRETARIES)], ["Số điện thoại:", "0213.3876.512"],
             ["Ngày gửi:", f"20/12/{d.year}"]]
    sheets.append(SheetSpec("Bìa", cover))
    guide = [["HƯỚNG DẪN GHI BIỂU"],
             [f"1. Số liệu tính đến ngày 30/11/{d.year}; đơn vị tính: người."],
             ["2. Cột (3) ghi tổng số đảng viên; cột (4) số đảng viên được miễn sinh hoạt."],
             ["3. Tỷ lệ (%) = cột (5) / (cột (3) - cột (4)) x 100."],
             [f"4. Gửi về Ban Tuyên giáo trước ngày 15/12/{d.year}; mọi vướng mắc liên hệ số 0213.3876.512."]]
    if d.rng.random() < 0.8:
        sheets.append(SheetSpec(d.rng.choice(["Hướng dẫn", "HD"]), guide))
        d.features.append("instructions")
    dist = com.parent
    head = [[f"ĐẢNG BỘ {dist.dkind.upper()} {dist.dname.upper()}"],  # type: ignore[union-attr,attr-defined]
            [f"ĐẢNG ỦY {com.ckind.upper()} {com.cname.upper()}"]]  # type: ignore[attr-defined]
    hidden: list[tuple[int, str]] = []
    for c in d.p.camps[: d.rng.randint(1, 2)]:
        v = d.rng.randrange(3)
        cols = study_cols(d, c, v)
        sp = make_sheet(c.short, head + [[f"KẾT QUẢ HỌC TẬP, QUÁN TRIỆT {c.title.upper()}"], [f"Năm {d.year}"], []],
                        cols, body_rows(cols, kids) + [total_row(cols, kids, "Toàn Đảng bộ")], numbered=True)
        sheets.append(sp)
        for u in kids:
            d.study(u, c)
            d.membership(u, required=False)
        d.features.append(f"study-v{v}")
        if d.carrier == "xlsx" and d.rng.random() < 0.6:
            hidden.append((len(sheets) - 1, "elig"))
    mv = d.rng.randrange(2)
    mc = mrating_cols(d, mv)
    sheets.append(make_sheet("XL ĐV", head + [[f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI ĐẢNG VIÊN NĂM {d.year}"], []], mc,
                             body_rows(mc, kids) + [total_row(mc, kids, "Cộng")]))
    for u in kids:
        d.mrating(u)
        d.membership(u, required=False)
    if d.rng.random() < 0.6:
        uc = urating_cols(d, d.rng.random() < 0.5)
        sheets.append(make_sheet("XL TCĐ", head + [[f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHI BỘ NĂM {d.year}"], []], uc,
                                 body_rows(uc, kids)))
        for u in kids:
            d.urating(u)
    chart = [["SỐ LIỆU VẼ BIỂU ĐỒ"], ["Năm", "Tỷ lệ ĐV học tập (%)", "Tỷ lệ ĐV HTTNV trở lên (%)", "Số chi bộ"]]
    for y in range(d.year - 4, d.year + 1):
        chart.append([y, round(d.rng.uniform(93, 99.5), 1), round(d.rng.uniform(85, 96), 1), len(kids)])
    if d.rng.random() < 0.7:
        sheets.append(SheetSpec(d.rng.choice(["Biểu đồ", "Data chart", "Số liệu BĐ"]), chart))
        d.features.append("chart-data")
    rel = d.add(f"tong-hop-{slug(com.cname)}", sheets)  # type: ignore[attr-defined]
    if hidden:
        d.features.append("hidden-helper-column")
        edits = []
        for index, _ in hidden:
            spec = d.files[rel][index]
            width = max(len(r) for r in spec.rows)
            letter = chr(ord("A") + width + 1)
            first = next(r for r in range(spec.title_rows, len(spec.rows)) if spec.rows[r][:1] == [1]) + 1
            n_rows = len(kids)

            def edit(wb, index=index, letter=letter, first=first, n=n_rows) -> None:
                ws = wb.worksheets[index]
                for k in range(n):
                    ws[f"{letter}{first + k}"] = f"=C{first + k}-D{first + k}"
                ws.column_dimensions[letter].hidden = True
            edits.append(edit)
        d.post[rel] = edits


def f_monthly(d: Doc, variant: str) -> None:
    com = _commune(d)
    kids = list(com.children)
    c = d.rng.choice(d.p.camps)
    months = sorted(d.rng.sample(range(3, 13), 3))
    d.rng.shuffle(kids)
    groups = [kids[i::3] for i in range(3)]
    head = [[f"ĐẢNG ỦY {com.ckind.upper()} {com.cname.upper()}"]]  # type: ignore[attr-defined]
    sheets = []
    cols = study_cols(d, c, d.rng.randrange(3))
    makeup_unit, makeup = None, 0
    if variant == "makeup":
        makeup_unit = groups[0][0]
        makeup = d.rng.randint(1, 3)
    for m, g in zip(months, groups, strict=True):
        g = sorted(g, key=lambda u: u.unit_id)
        rows = body_rows(cols, g)
        if variant == "makeup" and m == months[-1]:
            extra = body_rows(cols, [makeup_unit], len(g) + 1)[0]  # type: ignore[list-item]
            extra[4] = makeup
            extra[5] = pct(makeup, makeup_unit.elig)  # type: ignore[union-attr]
            extra[6:] = [None] * len(extra[6:])
            rows.append(extra)
        name = d.rng.choice([f"T{m}", f"Tháng {m}", f"T{m:02d}"])
        sheets.append(make_sheet(name, head + [[f"KẾT QUẢ HỌC TẬP {c.title.upper()} THÁNG {m} NĂM {d.year}"], []],
                                 cols, rows))
    if variant == "cumulative":
        allk = sorted(kids, key=lambda u: u.unit_id)
        sheets.append(make_sheet("Lũy kế", head + [[f"LŨY KẾ KẾT QUẢ HỌC TẬP {c.title.upper()} NĂM {d.year}"], []],
                                 cols, body_rows(cols, allk) + [total_row(cols, allk, "Cộng")]))
    for u in kids:
        if u is makeup_unit:
            continue
        d.study(u, c)
        d.membership(u, required=False)
    if makeup_unit is not None:
        d.must.append(f"{makeup_unit.name}: attendance split over two month sheets (make-up session of {makeup})")
        d.membership(makeup_unit, required=False)
        d.maybe["study_participation"].add((makeup_unit.unit_id, c.campaign_id, True, makeup_unit.att(c) + makeup,
                                            makeup_unit.tgt(c), makeup_unit.pub(c), "persons"))
    d.features.append(f"monthly-{variant}")
    d.add(f"hoc-tap-theo-thang-{slug(com.cname)}", sheets)  # type: ignore[attr-defined]


def _org_count(u: Unit, code: str) -> int:
    """Grassroots organisations of a committee at one level (its co_so's own ratings)."""
    return sum(1 for k in u.children if k.rating == code)


def f_province_districts(d: Doc) -> None:
    p = d.p
    rows_units = p.districts() + [u for u in p.root.children if not u.children]
    c = d.rng.choice(p.camps)
    heads = [["ĐẢNG BỘ TỈNH LAI CHÂU", None, None, None, "ĐẢNG CỘNG SẢN VIỆT NAM"], ["BAN TUYÊN GIÁO"]]
    sc = [C(("STT",), kind="stt"), C(("Đảng bộ trực thuộc",), kind="name"),
          C(("Tổ chức cơ sở đảng", "Tổng số"), lambda u: max(1, len(u.children))),
          C(("Tổ chức cơ sở đảng", "Đã tổ chức học tập"), lambda u: max(1, len(u.children))),
          C(("Đảng viên", "Tổng số"), lambda u: u.total), C(("Đảng viên", "Miễn SH"), lambda u: u.exempt),
          C(("Đảng viên", "Tham gia học tập"), lambda u: u.att(c)),
          C(("Đảng viên", "Tỷ lệ (%)"), kind="pct", num=lambda u: u.att(c), den=lambda u: u.elig),
          C(("Lượt quần chúng tham gia",), lambda u: u.pub(c))]
    total_label = d.rng.choice(["Toàn tỉnh", "Tổng cộng", "Cộng"])
    s1 = make_sheet("Học tập", heads + [[f"TỔNG HỢP KẾT QUẢ HỌC TẬP, QUÁN TRIỆT {c.title.upper()}"],
                                       [f"(Kèm theo Báo cáo số {d.rng.randint(100, 400)}-BC/BTGTU năm {d.year})"], []],
                    sc, body_rows(sc, rows_units) + [total_row(sc, rows_units, total_label)], numbered=True)
    for u in rows_units:
        d.study(u, c, public="attendances")
        d.membership(u, required=False)
    lv = member_levels(d.year)
    ulv = unit_levels(d.year)
    rc = [C(("STT",), kind="stt"), C(("Đơn vị",), kind="name"),
          C(("Tổ chức cơ sở đảng", "Tổng số"), lambda u: max(1, len(u.children)))]
    for code, _f, short in ulv:
        rc.append(C(("Tổ chức cơ sở đảng", short), lambda u, code=code: _org_count(u, code)))
    rc += [C(("Đảng viên", "Tổng số"), lambda u: u.total),
           C(("Đảng viên", "Được đánh giá"), lambda u: u.total - u.exempt - u.na)]
    for code, _f, short in lv:
        rc.append(C(("Đảng viên", short), lambda u, code=code: u.members[code]))
    s2 = make_sheet("Xếp loại", heads + [[f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG TỔ CHỨC CƠ SỞ ĐẢNG VÀ ĐẢNG VIÊN "
                                         f"NĂM {d.year}"], []],
                    rc, body_rows(rc, rows_units) + [total_row(rc, rows_units, "Tổng cộng")])
    which = d.rng.choice(["both", "study", "ratings"]) if not d.carrier.startswith("csv") else \
        d.rng.choice(["study", "ratings"])
    sheets = []
    if which in ("both", "study"):
        sheets.append(s1)
    else:
        d.rows["study_participation"].clear()
        d.maybe["membership"].clear()
    if which in ("both", "ratings"):
        sheets.append(s2)
        for u in rows_units:
            d.mrating(u, na=False)
        d.features.append("org-level-counts")
    d.features.append(f"province-{which}")
    if d.carrier == "docx":
        sheets.append(signature_table(d))
    d.add("tinh-lai-chau-tong-hop", sheets)


def f_province_district_sheets(d: Doc, summary: str) -> None:
    p = d.p
    kind = d.rng.choice(["membership", "study", "mrating"])
    c = d.rng.choice(p.camps)
    if kind == "membership":
        cols = [C(("STT",), kind="stt"), C(("Tên tổ chức cơ sở đảng",), kind="name"),
                C(("Tổng số đảng viên",), lambda u: u.total), C(("Trong đó", "Miễn sinh hoạt"), lambda u: u.exempt)]
        heading = f"SỐ LƯỢNG ĐẢNG VIÊN CÁC TỔ CHỨC CƠ SỞ ĐẢNG NĂM {d.year}"
    elif kind == "study":
        cols = study_cols(d, c, d.rng.randrange(3), public="attendances")
        cols[1] = C(("Tên TCCSĐ",), kind="name")
        heading = f"KẾT QUẢ HỌC TẬP, QUÁN TRIỆT {c.title.upper()}"
    else:
        cols = mrating_cols(d, 1)
        cols[1] = C(("Tổ chức cơ sở đảng",), kind="name")
        heading = f"KẾT QUẢ XẾP LOẠI ĐẢNG VIÊN NĂM {d.year}"
    sheets = []
    for dist in p.districts():
        co = list(dist.children)
        label = d.rng.choice([dist.name, dist.name, f"Cộng {dist.dkind} {dist.dname}", dist.short])  # type: ignore[attr-defined]
        rows = [total_row(cols, co, label)] + body_rows(cols, co)
        sheets.append(make_sheet(dist.dname, [[f"ĐẢNG BỘ {dist.dkind.upper()} {dist.dname.upper()}"],  # type: ignore[attr-defined]
                                               [heading], []], cols, rows))
        for u in co:
            if kind == "membership":
                d.membership(u)
            elif kind == "study":
                d.study(u, c, public="attendances")
                d.membership(u, required=False)
            else:
                d.mrating(u)
                d.membership(u, required=False)
    if summary != "none":
        ds = p.districts()
        scols = [C(("STT",), kind="stt"), C(("Đảng bộ huyện, thành phố",), kind="name")] + cols[2:]
        s = make_sheet("Tổng hợp", [["ĐẢNG BỘ TỈNH LAI CHÂU"], [heading + " (TOÀN TỈNH)"], []], scols,
                       body_rows(scols, ds) + [total_row(scols, ds, d.rng.choice(["Toàn tỉnh", "Tổng cộng", "Cộng"]))])
        if summary == "first":
            sheets.insert(0, s)
        else:
            sheets.append(s)
        d.features.append(f"summary-sheet-{summary}")
    d.features.append(f"district-sheets-{kind}")
    d.add("tinh-lai-chau-theo-huyen", sheets)


def _ocr_digits(value: int, rng: random.Random) -> tuple[str, str] | None:
    """An OCR error in a count: (text, kind), or None when this number offers none."""
    s = str(value)
    options = []
    if "0" in s:
        options.append((s.replace("0", "O", 1), "O-for-0"))
    if "1" in s:
        options.append((s.replace("1", rng.choice("lI"), 1), "l-for-1"))
    if len(s) >= 2:
        cut = rng.randrange(1, len(s))
        if not (len(s) - cut == 3):
            options.append((s[:cut] + " " + s[cut:], "split-digits"))
    return rng.choice(options) if options else None


def f_ocr(d: Doc, errors: int) -> None:
    com = _commune(d)
    kids = com.children
    c = d.rng.choice(d.p.camps)
    what = d.rng.choice(["study", "membership"])
    if what == "study":
        cols = study_cols(d, c, d.rng.randrange(3))
        count_cols = [2, 3, 4, 6, 7]
    else:
        cols = [C(("STT",), kind="stt"), C(("Tên chi bộ",), kind="name"), C(("Tổng số đảng viên",), lambda u: u.total),
                C(("Số đảng viên miễn sinh hoạt",), lambda u: u.exempt)]
        count_cols = [2, 3]
    titles = [[f"DANG UY {com.ckind.upper()} {strip_marks(com.cname).upper()}"],  # type: ignore[attr-defined]
              [("KET QUA HOC TAP, QUAN TRIET " + strip_marks(c.title).upper()) if what == "study"
               else "SO LUONG DANG VIEN CAC CHI BO"], [f"Nam {d.year}"], []]
    rows = body_rows(cols, kids, name=lambda u: strip_marks(u.short) if d.rng.random() < 0.7 else u.short)
    made = 0
    tries = 0
    while made < errors and tries < 50:
        tries += 1
        k = d.rng.randrange(len(kids))
        col = d.rng.choice(count_cols)
        v = rows[k][col]
        if not isinstance(v, int):
            continue
        got = _ocr_digits(v, d.rng)
        if got is None:
            continue
        rows[k][col] = got[0]
        made += 1
        d.must.append(f"{kids[k].name}: count {v} retyped as '{got[0]}' ({got[1]})")
        d.features.append(got[1])
    sp = make_sheet("", titles, cols, rows)
    d.encoding = "unicode"
    d.add(f"scan-{slug(com.cname)}", [sp], legacy_ok=False)  # type: ignore[attr-defined]
    for u in kids:
        if what == "study":
            d.study(u, c)
            d.membership(u, required=False)
        else:
            d.membership(u)
    d.features.append(f"ocr-{what}-{errors}")


FOOTMARKS = ("²", "¹", "³", " (1)", "(*)", " (2)", "*")


def f_footnotes(d: Doc, amounts: bool) -> None:
    com = _commune(d)
    kids = com.children
    c = d.rng.choice(d.p.camps)
    cols = study_cols(d, c, d.rng.randrange(3))
    if amounts:
        unit = d.rng.choice(["Kinh phí (đồng)", "Kinh phí hỗ trợ (1.000 đ)"])
        scale = 1 if "đồng)" in unit else 1000
        cols.append(C((unit,), lambda u: (u.att(c) * 15000 + 500000) // scale, "money"))
        d.features.append("amount-column")
    titles = [[f"ĐẢNG ỦY {com.ckind.upper()} {com.cname.upper()}"],  # type: ignore[attr-defined]
              [f"KẾT QUẢ HỌC TẬP, QUÁN TRIỆT {c.title.upper()} NĂM {d.year}"], []]
    rows = body_rows(cols, kids)
    marks = d.rng.sample(FOOTMARKS, d.rng.randint(1, 2))
    notes = []
    for m in marks:
        k = d.rng.randrange(len(kids))
        col = d.rng.choice([4, 6, 7])
        if not isinstance(rows[k][col], int):
            continue
        rows[k][col] = f"{rows[k][col]}{m}"
        tag = m.strip()
        notes.append([f"{tag} Số liệu tính đến ngày 30/11/{d.year}, kể cả {d.rng.randint(1, 3)} đồng chí học bù "
                      f"ngày {d.rng.randint(2, 28)}/{d.rng.randint(9, 11)}."])
        d.features.append(f"footnote-{slug(tag) or 'sup'}")
    with_total = d.rng.random() < 0.5
    after = ([total_row(cols, kids, "Cộng")] if with_total else []) + [[]] + [["Ghi chú:"]] + notes
    d.features.append("totals-row" if with_total else "no-totals-row")
    sp = make_sheet(c.short, titles, cols, rows, after=after)
    rel = d.add(f"hoc-tap-{slug(c.short)}-{slug(com.cname)}", [sp])  # type: ignore[attr-defined]
    if amounts:
        d.extra = [(rel, sp.name, len(cols) - 1, cols[-1].path[0])]  # type: ignore[attr-defined]
    for u in kids:
        d.study(u, c)
        d.membership(u, required=False)


def f_province_org_ratings(d: Doc) -> None:
    """A province sheet of grassroots organisations per level by district (Sơn La 2020, Hải Dương 2019),
    beside a plain study sheet: organisation counts are no canonical figure (neither a unit's rating
    nor members)."""
    p = d.p
    rows_units = p.districts()
    c = d.rng.choice(p.camps)
    heads = [["ĐẢNG BỘ TỈNH LAI CHÂU"], ["BAN TỔ CHỨC"]]
    sc = [C(("STT",), kind="stt"), C(("Đơn vị",), kind="name"),
          C(("Tổng số đảng viên",), lambda u: u.total), C(("Số ĐV miễn sinh hoạt",), lambda u: u.exempt),
          C(("Số ĐV tham gia học tập",), lambda u: u.att(c)),
          C(("Tỷ lệ (%)",), kind="pct", num=lambda u: u.att(c), den=lambda u: u.elig)]
    s1 = make_sheet("Học tập", heads + [[f"KẾT QUẢ HỌC TẬP {c.title.upper()}"], [f"Năm {d.year}"], []], sc,
                    body_rows(sc, rows_units) + [total_row(sc, rows_units, "Tổng cộng")])
    for u in rows_units:
        d.study(u, c, public="none")
        d.membership(u, required=False)
    top = d.rng.choice(["Số tổ chức cơ sở đảng xếp loại", "Kết quả xếp loại TCCSĐ", "Xếp loại tổ chức cơ sở đảng"])
    rc = [C(("STT",), kind="stt"), C(("Đơn vị",), kind="name"),
          C(("Tổng số TCCSĐ",), lambda u: len(u.children)),
          C(("Số TCCSĐ được đánh giá",), lambda u: len(u.children))]
    for code, _f, short in unit_levels(d.year):
        rc.append(C((top, short), lambda u, code=code: _org_count(u, code)))
    s2 = make_sheet("XL TCCSĐ", heads + [[f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI TỔ CHỨC CƠ SỞ ĐẢNG NĂM {d.year}"], []], rc,
                    body_rows(rc, rows_units) + [total_row(rc, rows_units, "Tổng cộng")])
    sheets = [s1, s2] if d.rng.random() < 0.5 else [s2, s1]
    d.features.append("org-counts-only")
    d.add("tinh-lai-chau-xep-loai-tccsd", sheets)


def f_register_missing(d: Doc) -> None:
    """A commune's form lists a chi bộ units.csv does not have under it (new or renamed), whose name a
    chi bộ of a neighbouring commune bears: it must be reported, never filed under the neighbour."""
    coms = d.p.communes()
    com = d.rng.choice(coms)
    other = d.rng.choice([x for x in coms if x is not com])
    stranger = d.rng.choice([u for u in other.children if u.kind == "khu_dan_cu"])
    kids = list(com.children)
    ghost = Unit(com.unit_id + ".moi", stranger.name, "chi_bo", "khu_dan_cu", com, stranger.short,
                 total=stranger.total + 3, exempt=stranger.exempt, study=dict(stranger.study),
                 members=dict(stranger.members), na=stranger.na, rating=stranger.rating)
    shown = kids + [ghost]
    what = d.rng.choice(["study", "membership", "mrating"])
    c = d.rng.choice(d.p.camps)
    titles = [[f"ĐẢNG ỦY {com.ckind.upper()} {com.cname.upper()}"]]  # type: ignore[attr-defined]
    if what == "study":
        cols = study_cols(d, c, d.rng.randrange(3))
        titles.append([f"KẾT QUẢ HỌC TẬP, QUÁN TRIỆT {c.title.upper()} NĂM {d.year}"])
    elif what == "membership":
        cols = [C(("STT",), kind="stt"), C(("Tên chi bộ",), kind="name"), C(("Tổng số đảng viên",), lambda u: u.total),
                C(("Số đảng viên miễn sinh hoạt",), lambda u: u.exempt)]
        titles.append([f"SỐ LƯỢNG ĐẢNG VIÊN CÁC CHI BỘ NĂM {d.year}"])
    else:
        cols = mrating_cols(d, d.rng.randrange(2))
        titles.append([f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI ĐẢNG VIÊN NĂM {d.year}"])
    titles.append([])
    sp = make_sheet(c.short if what == "study" else "Biểu", titles, cols,
                    body_rows(cols, shown) + [total_row(cols, shown, "Cộng")])
    d.add(f"{what}-{slug(com.cname)}", [sp])  # type: ignore[attr-defined]
    for u in kids:
        if what == "study":
            d.study(u, c)
            d.membership(u, required=False)
        elif what == "membership":
            d.membership(u)
        else:
            d.mrating(u)
            d.membership(u, required=False)
    d.must.append(f"'{ghost.name}' is not a chi bộ of {com.name} in units.csv (a chi bộ of {other.name} has that name)")
    d.features.append(f"register-missing-{what}")


# ---------------------------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    name: str
    fn: Callable[[Doc], None]
    carriers: tuple[str, ...]
    world: dict = field(default_factory=dict)


def _rep(carriers: dict[str, int]) -> tuple[str, ...]:
    return tuple(c for c, n in carriers.items() for _ in range(n))


FAMILIES: tuple[Family, ...] = (
    Family("docx-report", f_docx_report, _rep({"docx": 10}), {"n_districts": 2}),
    Family("docx-report-shared-names", f_docx_report, _rep({"docx": 8}), {"n_districts": 2, "unique": False}),
    Family("xlsx-workbook", f_xlsx_workbook, _rep({"xlsx": 10, "xls": 4, "ods": 6}), {"n_districts": 2}),
    Family("monthly-sheets", lambda d: f_monthly(d, "disjoint"), _rep({"xlsx": 3, "ods": 2}), {"n_districts": 2}),
    Family("monthly-cumulative", lambda d: f_monthly(d, "cumulative"), _rep({"xlsx": 3, "xls": 2}),
           {"n_districts": 2}),
    Family("monthly-makeup", lambda d: f_monthly(d, "makeup"), _rep({"xlsx": 3, "ods": 2}), {"n_districts": 2}),
    Family("province-districts", f_province_districts,
           _rep({"xlsx": 8, "ods": 3, "xls": 2, "docx": 3, "csv-utf8": 2}), {"n_districts": 4}),
    Family("province-district-sheets", lambda d: f_province_district_sheets(d, "first"),
           _rep({"xlsx": 5, "ods": 2, "xls": 2}), {"n_districts": 3, "shared": True}),
    Family("province-district-sheets-last", lambda d: f_province_district_sheets(d, "last"),
           _rep({"xlsx": 3, "ods": 1}), {"n_districts": 3}),
    Family("province-district-sheets-only", lambda d: f_province_district_sheets(d, "none"),
           _rep({"xlsx": 3, "xls": 2}), {"n_districts": 3, "shared": True}),
    Family("ocr-retyped", lambda d: f_ocr(d, d.rng.randint(1, 3)),
           _rep({"csv-utf8": 5, "xlsx": 5, "docx": 3, "csv-cp1258": 3}), {"n_districts": 2}),
    Family("ocr-clean-numbers", lambda d: f_ocr(d, 0), _rep({"csv-utf8": 2, "xlsx": 2}), {"n_districts": 2}),
    Family("footnoted-amounts", lambda d: f_footnotes(d, True),
           _rep({"xlsx": 3, "docx": 3, "ods": 2, "csv-utf8": 1, "csv-semicolon": 1}), {"n_districts": 2}),
    Family("province-org-ratings", f_province_org_ratings, _rep({"xlsx": 4, "ods": 2, "xls": 2}), {"n_districts": 4}),
    Family("register-missing", f_register_missing, _rep({"xlsx": 4, "csv-utf8": 2, "docx": 2}), {"n_districts": 2}),
    Family("footnoted-counts", lambda d: f_footnotes(d, False), _rep({"xlsx": 3, "docx": 2}), {"n_districts": 2}),
)


def _make(form_id: str, fam: Family, carrier: str, seed: int) -> RealisticForm:
    rng = random.Random(f"realistic/{seed}/{form_id}")
    year = rng.choice(YEARS)
    p = Province(rng, year, **fam.world)
    d = Doc(rng, year, carrier, p)
    fam.fn(d)
    return RealisticForm(form_id, fam.name, carrier, d.encoding, year, d.files, p.units_csv(), p.campaigns_csv(),
                         {t: set(r) for t, r in d.rows.items()}, {t: r - d.rows[t] for t, r in d.maybe.items()},
                         [fam.name, d.encoding] + d.features, list(dict.fromkeys(d.must)),
                         list(getattr(d, "extra", [])), d.post)


def build_forms(seed: int = SEED) -> list[RealisticForm]:
    """Every realistic form, in a stable order."""
    forms = []
    for fam in FAMILIES:
        for i, carrier in enumerate(fam.carriers):
            forms.append(_make(f"realistic/{fam.name}/{carrier}/{i}", fam, carrier, seed))
    return forms


def write_raw(form: RealisticForm, raw: Path) -> None:
    """Write the form's raw folder: units.csv, campaigns.csv and its files (xlsx edits applied)."""
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "units.csv").write_text(form.units_csv, encoding="utf-8")
    (raw / "campaigns.csv").write_text(form.campaigns_csv, encoding="utf-8")
    for rel, sheets in form.files.items():
        path = raw / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write_form(path, sheets, form.carrier)
        edits = form.post.get(rel)
        if edits and form.carrier == "xlsx":
            from openpyxl import load_workbook

            wb = load_workbook(path)
            for edit in edits:
                edit(wb)
            wb.save(path)


__all__ = ["FAMILIES", "RealisticForm", "build_forms", "write_raw"]
