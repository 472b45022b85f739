"""A fifth generator of committee forms: time, rating schemes and flat files.

The other generators hold the year still. This one moves it: forms whose figures belong to several
years, to a year other than their folder's, to a scheme other than the year's, to a quarter rather
than the year, to units that did not exist that year; member registers and attendance lists
(CSV/Parquet) with the faults real exports have; campaigns that share a document code.

World: Đảng bộ huyện Phong Thổ with four grassroots committees. Xã Mường So and xã Khổng Lào are
merged into xã Sì Lở Lầu from 2025 (the two-tier reform): their chi bộ keep their names under the new
committee with new ids (``valid_to_year`` 2024 / ``valid_from_year`` 2025). Xã Bản Lang keeps going;
its "Chi bộ bản Cũ" is dissolved after 2019 and "Chi bộ Khu tái định cư" starts in 2021. A school
(Đảng bộ Trường THPT Phong Thổ) has chi bộ by subject group.

Families (``layout``): ``year-column`` (one long sheet, a "Năm" column mixing years across a scheme
change), ``workbook-per-year``, ``sheet-per-year``, ``scheme-labels`` (labels valid only in another
scheme, "tiêu biểu" as a commendation or a grade), ``folder-title-conflict``, ``school-year``
("năm học 2016 - 2017"), ``quarterly`` (qd366 ratings and study per quarter), ``score-bands``
(qd366 scores against the stated level), ``merge-2025`` (forms naming the merged communes),
``inactive-unit``, ``register`` (member registers and attendance lists), ``campaigns`` (two
campaigns of one document code, a campaign of another year, a title naming two campaigns).

Truth is what a careful analyst would type (columns of ``generator.COMPARED``); ``must_report`` when
a figure cannot be read with confidence (two readings of the year, a label of another scheme, a
quarter, a unit not active that year, an ambiguous campaign, a register fault).

Sources: the scheme facts of ``shared/reference/rating-schemes.md`` (beside the repository) (QĐ 132-QĐ/TW, HD
21-HD/BTCTW from 2019 on "tiêu biểu", QĐ 124-QĐ/TW, QĐ 366-QĐ/TW score bands and quarters) and the
realistic generator's campaigns (``realistic.CAMPAIGNS``), with 2025's added.

Example:
    >>> forms = build_forms()
    >>> len(forms) >= 120 and len({f.form_id for f in forms}) == len(forms)
    True
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .carriers import SheetSpec, write_form
from .generator import COMPARED
from .realistic import CAMPAIGNS as _REAL_CAMPAIGNS
from .realistic import MEMBER_OLD, NEW, UNIT_OLD, legacy, scheme_of, slug

SEED = 52025
WRITERS = {".xlsx": "xlsx", ".xls": "xls", ".ods": "ods", ".docx": "docx", ".csv": "csv-utf8"}

CAMPAIGNS: dict[int, tuple[tuple[str, str, str], ...]] = dict(_REAL_CAMPAIGNS)
CAMPAIGNS[2025] = (("66-NQ/TW", "Nghị quyết", "về đổi mới công tác xây dựng và thi hành pháp luật"),
                   ("68-NQ/TW", "Nghị quyết", "về phát triển kinh tế tư nhân"))
YEARS = tuple(sorted(CAMPAIGNS))


@dataclass(frozen=True)
class Camp:
    year: int
    code: str
    kind: str
    topic: str
    suffix: str = ""

    @property
    def campaign_id(self) -> str:
        return f"{self.year}-{slug(self.code)}{self.suffix}"

    @property
    def title(self) -> str:
        return f"{self.kind} số {self.code} {self.topic}"


def camps_of(year: int) -> list[Camp]:
    return [Camp(year, *c) for c in CAMPAIGNS[year]]


def unit_levels(year: int) -> tuple:
    return UNIT_OLD if year <= 2017 else NEW


def member_levels(year: int) -> tuple:
    return MEMBER_OLD if year <= 2017 else NEW


def band(score: float) -> str:
    return "htxsnv" if score >= 90 else "httnv" if score >= 70 else "htnv" if score >= 50 else "khtnv"


# ---------------------------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------------------------


@dataclass(eq=False)
class U:
    unit_id: str
    name: str
    level: str
    kind: str
    parent: str | None
    start: int = 2010
    end: int | None = None

    def active(self, year: int) -> bool:
        return self.start <= year and (self.end is None or year <= self.end)


@dataclass
class Fig:
    total: int
    exempt: int
    na: int
    members: dict[str, int]
    rating: str
    exemplary: bool
    score: float | None
    att: dict[str, int]


DISTRICT = U("phong-tho", "Đảng bộ huyện Phong Thổ", "cap_tren", "khac", None)
COMMUNES = {"muong-so": ("Mường So", ("bản Mới", "bản Nà Củng", "bản Pa Pe", "Trạm Y tế xã Mường So")),
            "khong-lao": ("Khổng Lào", ("bản Nậm Cáy", "bản Phiêng Ngài", "bản Khổng Lào", "Trường Tiểu học Khổng Lào")),
            "ban-lang": ("Bản Lang", ("bản Xin Chải", "bản Na Pó", "bản Thèn Sin", "bản Nậm Pảng"))}
MERGED = ("si-lo-lau", "Sì Lở Lầu")


class World:
    """Units (with validity) and their figures per year, drawn once per form."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seed = rng.random()
        self.units: list[U] = [DISTRICT]
        self.by_commune: dict[str, list[U]] = {}
        for cid, (cname, villages) in COMMUNES.items():
            end = 2024 if cid != "ban-lang" else None
            self.units.append(U(f"phong-tho.{cid}", f"Đảng bộ xã {cname}", "co_so", "khu_dan_cu", "phong-tho", 2010, end))
            kids = [U(f"phong-tho.{cid}.{slug(v)}", f"Chi bộ {v}", "chi_bo",
                      "co_quan" if "Trạm" in v else "truong_hoc" if "Trường" in v else "khu_dan_cu",
                      f"phong-tho.{cid}", 2010, end) for v in villages]
            if cid == "ban-lang":
                kids.append(U("phong-tho.ban-lang.ban-cu", "Chi bộ bản Cũ", "chi_bo", "khu_dan_cu", "phong-tho.ban-lang",
                              2010, 2019))
                kids.append(U("phong-tho.ban-lang.khu-tai-dinh-cu", "Chi bộ Khu tái định cư", "chi_bo", "khu_dan_cu",
                              "phong-tho.ban-lang", 2021, None))
            self.by_commune[cid] = kids
            self.units += kids
        mid, mname = MERGED
        self.units.append(U(f"phong-tho.{mid}", f"Đảng bộ xã {mname}", "co_so", "khu_dan_cu", "phong-tho", 2025, None))
        merged = []
        for cid in ("muong-so", "khong-lao"):
            for old in self.by_commune[cid]:
                merged.append(U(f"phong-tho.{mid}.{old.unit_id.rsplit('.', 1)[1]}", old.name, "chi_bo", old.kind,
                                f"phong-tho.{mid}", 2025, None))
        self.by_commune[mid] = merged
        self.units += merged
        school = U("phong-tho.thpt", "Đảng bộ Trường THPT Phong Thổ", "co_so", "truong_hoc", "phong-tho")
        self.units.append(school)
        self.by_commune["thpt"] = [U(f"phong-tho.thpt.{slug(g)}", f"Chi bộ {g}", "chi_bo", "truong_hoc", "phong-tho.thpt")
                                   for g in ("Tổ Toán - Tin", "Tổ Ngữ văn", "Tổ Khoa học tự nhiên")]
        self.units += self.by_commune["thpt"]
        self.figs: dict[tuple[str, int], Fig] = {}

    def commune(self, cid: str) -> U:
        return next(u for u in self.units if u.unit_id == f"phong-tho.{cid}")

    def kids(self, cid: str, year: int) -> list[U]:
        return [u for u in self.by_commune[cid] if u.active(year)]

    def fig(self, u: U, year: int) -> Fig:
        key = (u.unit_id, year)
        if key not in self.figs:
            rng = random.Random(f"{self.seed}/{u.unit_id}/{year}")
            total = rng.randint(12, 70)
            exempt = min(rng.choice([0, 1, 2, 3]), total // 6)
            na = rng.choice([0, 0, 1])
            assessed = total - exempt - na
            c4 = 1 if rng.random() < 0.1 else 0
            c3 = rng.randint(0, assessed // 8)
            c1 = max(1, int((assessed - c3 - c4) * rng.uniform(0.1, 0.17)))
            c2 = assessed - c1 - c3 - c4
            members = dict(zip([c for c, *_ in member_levels(year)], (c1, c2, c3, c4), strict=True))
            rating = rng.choices([c for c, *_ in unit_levels(year)], (30, 55, 12, 3))[0]
            exemplary = rating in ("tsvm", "htxsnv") and rng.random() < 0.4 and year != 2018
            score = None
            if year >= 2025:
                lo, hi = {"htxsnv": (90, 99), "httnv": (70, 89), "htnv": (50, 69), "khtnv": (30, 49)}[rating]
                score = float(rng.randint(lo, hi)) + rng.choice([0.0, 0.5])
            att = {c.campaign_id: rng.randint((total - exempt) * 17 // 20, total - exempt) for c in camps_of(year)}
            self.figs[key] = Fig(total, exempt, na, members, rating, exemplary, score, att)
        return self.figs[key]

    def units_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["unit_id", "unit_name", "parent_id", "unit_level", "unit_kind", "valid_from_year", "valid_to_year"])
        for u in self.units:
            w.writerow([u.unit_id, u.name, u.parent or "", u.level, u.kind, u.start, u.end or ""])
        return out.getvalue()


def campaigns_csv(extra: list[Camp] | None = None) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["campaign_id", "year", "title", "document_code", "start_date"])
    for y in YEARS:
        for c in camps_of(y):
            w.writerow([c.campaign_id, c.year, c.title, c.code, f"{c.year}-04-10"])
    for c in extra or []:
        w.writerow([c.campaign_id, c.year, c.title, c.code, f"{c.year}-09-15"])
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Forms
# ---------------------------------------------------------------------------------------------


@dataclass
class Flat:
    """A flat file (CSV or Parquet): columns in order, values per column."""

    columns: dict[str, list]
    sep: str = ","


@dataclass
class TimelineForm:
    form_id: str
    layout: str
    carrier: str
    encoding: str
    year: int
    files: dict[str, list[SheetSpec] | Flat]
    units_csv: str
    campaigns_csv: str
    truth: dict[str, set[tuple]]
    optional: dict[str, set[tuple]] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    must_report: list[str] = field(default_factory=list)
    extra_columns: list[tuple[str, str, int, str]] = field(default_factory=list)


class Doc:
    def __init__(self, rng: random.Random, carrier: str, w: World) -> None:
        self.rng, self.carrier, self.w = rng, carrier, w
        self.files: dict[str, list[SheetSpec] | Flat] = {}
        self.rows: dict[str, set[tuple]] = {t: set() for t in COMPARED}
        self.maybe: dict[str, set[tuple]] = {t: set() for t in COMPARED}
        self.must: list[str] = []
        self.features: list[str] = []
        self.extra_camps: list[Camp] = []
        self.year = 0
        self.encoding = "unicode"
        if carrier in ("xlsx", "xls", "ods") and rng.random() < 0.25:
            self.encoding = rng.choice(["tcvn3", "nfd"])

    @property
    def suffix(self) -> str:
        return {"csv-utf8": ".csv"}.get(self.carrier, f".{self.carrier}")

    def add(self, rel: str, sheets: list[SheetSpec]) -> str:
        if self.carrier.startswith("csv"):
            sheets = sheets[:1]
            sheets[0].name = ""
        if self.encoding != "unicode":
            sheets = [legacy(s, self.encoding, self.rng) for s in sheets]
        self.files[rel + self.suffix] = sheets
        return rel + self.suffix

    # truth
    def membership(self, u: U, year: int, required: bool = True) -> None:
        f = self.w.fig(u, year)
        (self.rows if required else self.maybe)["membership"].add((u.unit_id, year, f.total, f.exempt))

    def urating(self, u: U, year: int, required: bool = True, exemplary: bool | None = None) -> None:
        f = self.w.fig(u, year)
        ex = f.exemplary if exemplary is None else exemplary
        (self.rows if required else self.maybe)["unit_ratings"].add((u.unit_id, year, scheme_of(year), f.rating, ex))

    def mrating(self, u: U, year: int, required: bool = True) -> None:
        f = self.w.fig(u, year)
        for code, n in f.members.items():
            (self.rows if required else self.maybe)["member_ratings"].add(
                (u.unit_id, year, scheme_of(year), code, n, f.na))

    def study(self, u: U, c: Camp, required: bool = True) -> None:
        a = self.w.fig(u, c.year).att[c.campaign_id]
        (self.rows if required else self.maybe)["study_participation"].add(
            (u.unit_id, c.campaign_id, a > 0, a, None, None, None))


def sheet(name: str, titles: list[str], header: list[list[object]], body: list[list[object]],
          merges: list[tuple[int, int, int, int]] | None = None) -> SheetSpec:
    t = len(titles)
    rows = [[x] for x in titles] + [list(r) for r in header] + [list(r) for r in body]
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    return SheetSpec(name, rows, [(a + t, b, c + t, d) for a, b, c, d in (merges or [])], title_rows=t)


def heads(d: Doc, cid: str, what: str) -> list[str]:
    c = d.w.commune(cid)
    name = c.name.replace("Đảng bộ", "Đảng ủy").upper()
    return ["ĐẢNG BỘ HUYỆN PHONG THỔ", name, what]


def label_of(code: str, year: int, subject: str = "unit", short: bool = False) -> str:
    lv = unit_levels(year) if subject == "unit" else member_levels(year)
    full, abbr = next((f, s) for c, f, s in lv if c == code)
    return abbr if short else full


def membership_sheet(d: Doc, name: str, titles: list[str], units: list[U], year: int,
                     rating: bool = False, short: bool = False) -> SheetSpec:
    header = [["STT", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn sinh hoạt"] + (["Kết quả xếp loại"] if rating else [])]
    body = []
    for i, u in enumerate(units):
        f = d.w.fig(u, year)
        row: list[object] = [i + 1, u.name, f.total, f.exempt]
        if rating:
            row.append(label_of(f.rating, year, short=short))
        body.append(row)
    return sheet(name, titles, header, body)


def urating_sheet(d: Doc, name: str, titles: list[str], units: list[U], year: int,
                  labels: dict[str, str] | None = None, exemplary_col: dict[str, bool] | None = None,
                  score: dict[str, object] | None = None, label_col: bool = True) -> SheetSpec:
    h = ["STT", "Tên chi bộ"] + (["Điểm"] if score is not None else []) + (["Xếp loại chất lượng"] if label_col else [])
    h += ["Tiêu biểu"] if exemplary_col is not None else []
    body = []
    for i, u in enumerate(units):
        f = d.w.fig(u, year)
        row: list[object] = [i + 1, u.name]
        if score is not None:
            row.append(score.get(u.unit_id, f.score))
        if label_col:
            row.append((labels or {}).get(u.unit_id) or label_of(f.rating, year))
        if exemplary_col is not None:
            row.append("x" if exemplary_col.get(u.unit_id, f.exemplary) else None)
        body.append(row)
    return sheet(name, titles, [h], body)


def beside(d: Doc, units: list[U], year: int | None) -> None:
    """Members' total and exempt count beside other figures: intake may store them (README), never must."""
    if year is not None:
        for u in units:
            if u.active(year):
                d.membership(u, year, required=False)


def mrating_sheet(d: Doc, name: str, titles: list[str], units: list[U], year: int,
                  level_labels: list[str] | None = None) -> SheetSpec:
    beside(d, units, year)
    lv = member_levels(year)
    labels = level_labels or [full for _c, full, _s in lv]
    top = ["STT", "Tên chi bộ", "Tổng số đảng viên", "Miễn đánh giá", "Không đánh giá, xếp loại",
           "Kết quả xếp loại đảng viên", None, None, None]
    sub = [None] * 5 + labels
    merges = [(0, c, 1, c) for c in range(5)] + [(0, 5, 0, 8)]
    body = []
    for i, u in enumerate(units):
        f = d.w.fig(u, year)
        body.append([i + 1, u.name, f.total, f.exempt, f.na] + [f.members[c] for c, *_ in lv])
    return sheet(name, titles, [top, sub], body, merges)


def study_sheet(d: Doc, name: str, titles: list[str], units: list[U], camp: Camp,
                att: Callable[[U], object] | None = None, att_header: str = "Số ĐV tham gia học tập",
                members_year: int | None = -1) -> SheetSpec:
    beside(d, units, camp.year if members_year == -1 else members_year)
    header = [["STT", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn sinh hoạt", att_header, "Tỷ lệ (%)"]]
    body = []
    for i, u in enumerate(units):
        f = d.w.fig(u, camp.year)
        a = att(u) if att else f.att[camp.campaign_id]
        p = round(100 * a / (f.total - f.exempt), 2) if isinstance(a, int) else None
        body.append([i + 1, u.name, f.total, f.exempt, a, p])
    return sheet(name, titles, header, body)


# --- families ---------------------------------------------------------------------------------


def f_year_column(d: Doc) -> None:
    """One long sheet with a "Năm" column mixing two or three years across a scheme change."""
    start = d.rng.choice([2016, 2017, 2021, 2022, 2023, 2024])
    years = [y for y in range(start, start + d.rng.choice([2, 3])) if y in CAMPAIGNS]
    cid = d.rng.choice(["ban-lang", "thpt"])
    rating = d.rng.random() < 0.6
    header = [["STT", "Năm", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn sinh hoạt"]
              + (["Kết quả xếp loại"] if rating else [])]
    body = []
    order = [(y, u) for y in years for u in d.w.kids(cid, y)]
    if d.rng.random() < 0.5:
        order.sort(key=lambda t: t[1].unit_id)
    for i, (y, u) in enumerate(order):
        f = d.w.fig(u, y)
        body.append([i + 1, y, u.name, f.total, f.exempt] + ([label_of(f.rating, y)] if rating else []))
        d.membership(u, y)
        if rating:
            d.urating(u, y, exemplary=False)
    where = d.rng.choice(["root", "last", "first"])
    folder = "" if where == "root" else f"{years[-1] if where == 'last' else years[0]}/"
    title = f"SỐ LIỆU ĐẢNG VIÊN VÀ XẾP LOẠI CÁC CHI BỘ GIAI ĐOẠN {years[0]} - {years[-1]}"
    d.add(f"{folder}so-lieu-{years[0]}-{years[-1]}", [sheet("Số liệu", heads(d, cid, title), header, body)])
    d.year = years[-1]
    d.features.append(f"years {years} in a column, file at {where}")


def f_workbook_per_year(d: Doc) -> None:
    y0 = d.rng.choice([2017, 2022, 2024])
    cid = "ban-lang"
    for y in (y0, y0 + 1):
        units = d.w.kids(cid, y)
        d.add(f"{y}/xep-loai-{slug(d.w.commune(cid).name)}",
              [membership_sheet(d, "Biểu 1", heads(d, cid, f"BÁO CÁO SỐ LƯỢNG ĐẢNG VIÊN VÀ XẾP LOẠI CHI BỘ NĂM {y}"),
                                units, y, rating=True),
               mrating_sheet(d, "Biểu 2", heads(d, cid, f"KẾT QUẢ XẾP LOẠI ĐẢNG VIÊN NĂM {y}"), units, y)])
        for u in units:
            d.membership(u, y)
            d.urating(u, y, exemplary=False)
            d.mrating(u, y)
    d.year = y0 + 1
    d.features.append(f"workbooks {y0} and {y0 + 1}")


def f_sheet_per_year(d: Doc) -> None:
    y0 = d.rng.choice([2016, 2021, 2023])
    years = [y0, y0 + 1, y0 + 2]
    cid = "ban-lang"
    titled = d.rng.random() < 0.5
    sheets = []
    for y in years:
        units = d.w.kids(cid, y)
        name = f"Năm {y}" if d.rng.random() < 0.5 else str(y)
        title = f"XẾP LOẠI CHI BỘ VÀ ĐẢNG VIÊN NĂM {y}" if titled else "XẾP LOẠI CHI BỘ VÀ ĐẢNG VIÊN"
        sheets.append(membership_sheet(d, name, heads(d, cid, title), units, y, rating=True))
        for u in units:
            d.membership(u, y)
            d.urating(u, y, exemplary=False)
    folder = d.rng.choice(["", f"{years[-1]}/"])
    d.add(f"{folder}tong-hop-{years[0]}-{years[-1]}", sheets)
    d.year = years[-1]
    d.features.append(f"sheets per year {years}, {'titled' if titled else 'untitled'}, folder '{folder}'")


SCHEME_TRAPS = ("tsvm-2018", "tsvm-tsvm-2018", "old-member-wording-2019", "new-label-2017", "tsvm-tb-2016",
                "htxs-tb-2020", "tb-on-level2-2021", "tsvm-2024", "yeu-kem-2025", "dtc-abbrev-2017",
                "dtc-abbrev-2018", "tsvm-grade-2019", "tb-label-2020", "khtnv-2016", "member-tsvm-words-2022",
                "htxs-2018")


def f_scheme_labels(d: Doc, trap: str) -> None:
    year = int(trap.rsplit("-", 1)[1])
    d.year = year
    cid = "ban-lang"
    units = d.w.kids(cid, year)
    figs = {u.unit_id: d.w.fig(u, year) for u in units}
    victim = units[1]
    titles = heads(d, cid, f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG CHI BỘ NĂM {year}")
    labels: dict[str, str] = {}
    exemplary_col = None
    for fg in figs.values():
        fg.exemplary = False
    if trap in ("tsvm-2018", "tsvm-2024", "tsvm-grade-2019"):
        figs[victim.unit_id].rating = "htxsnv"
        labels[victim.unit_id] = d.rng.choice(["Trong sạch, vững mạnh", "TSVM"])
        d.must.append(f"'{labels[victim.unit_id]}' is no grade in {year} ({scheme_of(year)})")
    elif trap == "tsvm-tsvm-2018":
        figs[victim.unit_id].rating = "htxsnv"
        labels[victim.unit_id] = "HTXSNV, TSVM"
        d.must.append("the TSVM commendation is not in force in 2018")
    elif trap in ("new-label-2017", "khtnv-2016"):
        labels[victim.unit_id] = "Hoàn thành xuất sắc nhiệm vụ" if trap == "new-label-2017" else "Không hoàn thành nhiệm vụ"
        d.must.append(f"'{labels[victim.unit_id]}' is a label of qd132-2018, not of {year}")
    elif trap == "yeu-kem-2025":
        labels[victim.unit_id] = "Yếu kém"
        d.must.append("'Yếu kém' is a tsvm-2008 label, not of qd366-2025")
    elif trap == "htxs-2018":
        figs[victim.unit_id].rating = "htxsnv"
    elif trap == "tsvm-tb-2016":
        for u in units[:2]:
            figs[u.unit_id].rating, figs[u.unit_id].exemplary = "tsvm", True
            labels[u.unit_id] = d.rng.choice(["Trong sạch, vững mạnh tiêu biểu", "TSVM tiêu biểu"])
    elif trap == "htxs-tb-2020":
        exemplary_col = {}
        figs[units[0].unit_id].rating, figs[units[0].unit_id].exemplary = "htxsnv", True
    elif trap == "tb-on-level2-2021":
        figs[victim.unit_id].rating, figs[victim.unit_id].exemplary = "httnv", False
        exemplary_col = {victim.unit_id: True}
        figs[victim.unit_id].exemplary = True  # as the form says; the form contradicts itself
        d.must.append("'tiêu biểu' marked on a level-2 organisation (the commendation is among level 1 only)")
    elif trap == "tb-label-2020":
        figs[victim.unit_id].rating, figs[victim.unit_id].exemplary = "htxsnv", True
        labels[victim.unit_id] = "Hoàn thành xuất sắc nhiệm vụ (TSVM tiêu biểu)"
    if trap.startswith(("old-member", "dtc-abbrev", "member-tsvm")):
        if trap == "dtc-abbrev-2017":
            words = [s for _c, _f, s in MEMBER_OLD]
        elif trap == "dtc-abbrev-2018":
            words = ["ĐTC, HTXSNV", "ĐTC, HTTNV", "ĐTC, HTNV", "VPTC"]
            d.must.append("member levels written in tsvm-2008 wording (ĐTC, VPTC) in 2018")
        elif trap == "member-tsvm-words-2022":
            words = ["Đủ tư cách, HTXSNV", "Đủ tư cách, HTTNV", "Đủ tư cách, HTNV", "Vi phạm tư cách"]
            d.must.append("member levels written in tsvm-2008 wording in 2022")
        else:
            words = [f for _c, f, _s in MEMBER_OLD]
            d.must.append("member levels 'Đủ tư cách, hoàn thành …' (tsvm-2008) in 2019")
        d.add(f"{year}/xep-loai-dang-vien", [mrating_sheet(
            d, "Đảng viên", heads(d, cid, f"KẾT QUẢ XẾP LOẠI ĐẢNG VIÊN NĂM {year}"), units, year, words)])
        if not d.must:
            for u in units:
                d.mrating(u, year)
        else:
            for u in units:
                d.mrating(u, year, required=False)
    else:
        d.add(f"{year}/xep-loai-chi-bo", [urating_sheet(d, "Chi bộ", titles, units, year, labels, exemplary_col)])
        for u in units:
            ok = not (d.must and (u is victim))
            d.urating(u, year, required=ok)
    d.features.append(trap)


def f_folder_title(d: Doc) -> None:
    title_year, folder_year = d.rng.choice([(2017, 2018), (2018, 2017), (2019, 2020), (2024, 2025), (2022, 2023),
                                            (2021, 2021)])
    cid = "ban-lang"
    units = d.w.kids(cid, title_year)
    what = d.rng.choice(["membership", "ratings"])
    titles = heads(d, cid, f"BÁO CÁO KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI NĂM {title_year}")
    if what == "membership":
        d.add(f"{folder_year}/bao-cao", [membership_sheet(d, "Biểu 1", titles, units, title_year, rating=True)])
    else:
        d.add(f"{folder_year}/bao-cao", [mrating_sheet(d, "Biểu 1", titles, units, title_year)])
    same = title_year == folder_year
    for u in units:
        if what == "membership":
            d.membership(u, title_year, required=same)
            d.urating(u, title_year, required=same, exemplary=False)
        else:
            d.mrating(u, title_year, required=same)
    if not same:
        d.must.append(f"folder {folder_year} but the title says {title_year}")
    d.year = folder_year
    d.features.append(f"title {title_year}, folder {folder_year}, {what}")


def f_school_year(d: Doc) -> None:
    y1 = d.rng.choice([2016, 2019, 2022])
    camp = camps_of(y1)[1]
    units = d.w.kids("thpt", y1)
    dash = d.rng.choice(["-", "–", "- "])
    folder = d.rng.choice(["", f"{y1 + 1}/", f"{y1}/"])
    titles = ["ĐẢNG BỘ HUYỆN PHONG THỔ", "ĐẢNG ỦY TRƯỜNG THPT PHONG THỔ",
              f"KẾT QUẢ HỌC TẬP, QUÁN TRIỆT {camp.title.upper()}", f"NĂM HỌC {y1} {dash}{y1 + 1}"]
    d.add(f"{folder}hoc-tap-nam-hoc", [study_sheet(d, "Học tập", titles, units, camp, members_year=None)])
    for u in units:
        d.study(u, camp)
        if folder:  # the members beside the study: the folder's year at best; at the root a year would be a guess
            f = d.w.fig(u, y1)
            d.maybe["membership"].add((u.unit_id, int(folder[:4]), f.total, f.exempt))
    d.year = y1
    d.features.append(f"school year {y1}-{y1 + 1}, folder '{folder}'")


QUARTERS = ("I", "II", "III", "IV")


def f_quarterly(d: Doc, variant: str) -> None:
    year = 2025
    d.year = year
    cid = MERGED[0]
    units = d.w.kids(cid, year)
    rng = d.rng
    if variant in ("ratings", "ratings+year"):
        sheets = []
        for q in QUARTERS:
            scores = {u.unit_id: float(rng.randint(55, 98)) for u in units}
            labels = {uid: label_of(band(s), year) for uid, s in scores.items()}
            sheets.append(urating_sheet(d, f"Quý {q}", heads(d, cid, f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG QUÝ {q}/{year}"),
                                        units, year, labels, score=scores))
        if variant == "ratings+year":
            sheets.append(urating_sheet(d, "Cả năm", heads(d, cid, f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG NĂM {year}"),
                                        units, year))
            for u in units:
                d.urating(u, year, exemplary=False)
        else:
            d.must.append("ratings per quarter only: no rating of the year")
        sheets.append(membership_sheet(d, "Đảng viên", heads(d, cid, f"SỐ LƯỢNG ĐẢNG VIÊN NĂM {year}"), units, year))
        for u in units:
            d.membership(u, year)
        d.add(f"{year}/xep-loai-theo-quy", sheets)
    elif variant == "one-quarter":
        q = rng.choice(QUARTERS)
        d.add(f"{year}/xep-loai-quy-{q}", [urating_sheet(
            d, f"Quý {q}", heads(d, cid, f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG QUÝ {q}/{year}"), units, year,
            score={})])
        d.must.append(f"a rating of quarter {q} is not the year's")
    elif variant == "study-sheets":
        camp = camps_of(year)[0]
        parts = {u.unit_id: [0, 0, 0, 0] for u in units}
        for u in units:
            a = d.w.fig(u, year).att[camp.campaign_id]
            for k in range(a):
                parts[u.unit_id][rng.randrange(4) if k % 3 else 0] += 1
        sheets = [study_sheet(d, f"Quý {q}", heads(d, cid, f"KẾT QUẢ HỌC TẬP {camp.title.upper()} QUÝ {q}/{year}"),
                              units, camp, att=lambda u, i=i: parts[u.unit_id][i]) for i, q in enumerate(QUARTERS)]
        d.add(f"{year}/hoc-tap-theo-quy", sheets)
        d.must.append("attendance of one campaign per quarter: members of several quarters cannot be summed")
    elif variant == "study-columns":
        camp = camps_of(year)[1]
        header = [["STT", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn sinh hoạt", "Số ĐV tham gia học tập",
                   None, None, None], [None] * 4 + [f"Quý {q}" for q in QUARTERS]]
        body = []
        for i, u in enumerate(units):
            f = d.w.fig(u, year)
            a = f.att[camp.campaign_id]
            qs = [max(0, a - rng.randint(0, 4)) for _ in QUARTERS]
            body.append([i + 1, u.name, f.total, f.exempt] + qs)
        titles = heads(d, cid, f"KẾT QUẢ HỌC TẬP {camp.title.upper()} NĂM {year}")
        d.add(f"{year}/hoc-tap-quy", [sheet("Học tập", titles, header, body,
                                             [(0, c, 1, c) for c in range(4)] + [(0, 4, 0, 7)])])
        d.must.append("members attending per quarter: no attendance of the campaign")
    d.features.append(f"quarterly {variant}")


SCORE_CASES = ("consistent", "fall-to-2", "contradict-up", "contradict-down", "over-100", "score-only",
               "decimal-comma", "violation-level-4", "score-text", "score-as-pct")


def f_score_bands(d: Doc, case: str) -> None:
    year = 2025
    d.year = year
    cid = d.rng.choice([MERGED[0], "ban-lang"])
    units = d.w.kids(cid, year)
    victim = units[0]
    f = d.w.fig(victim, year)
    scores: dict[str, object] = {}
    label_col = True
    if case == "fall-to-2":
        f.rating, f.score = "httnv", 93.0
    elif case == "contradict-up":
        f.rating, f.score = "htxsnv", 72.0
        d.must.append("score 72 with level 1 (band 70–<90 is level 2)")
    elif case == "contradict-down":
        f.rating, f.score = "htnv", 91.5
        d.must.append("score 91,5 with level 3 (band ≥ 90)")
    elif case == "over-100":
        f.score = 104.0
        d.must.append("a score above 100")
    elif case == "score-only":
        label_col = False
        d.must.append("scores without levels: level 1 needs more than the band")
    elif case == "decimal-comma":
        scores = {u.unit_id: f"{d.w.fig(u, year).score:.1f}".replace(".", ",") for u in units}
    elif case == "violation-level-4":
        f.rating, f.score = "khtnv", 82.0
    elif case == "score-text":
        scores = {victim.unit_id: f"{f.score:g} điểm"}
    elif case == "score-as-pct":
        scores = {u.unit_id: f"{d.w.fig(u, year).score:g}%" for u in units}
    titles = heads(d, cid, f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG TỔ CHỨC ĐẢNG NĂM {year} (THANG ĐIỂM 100)")
    d.add(f"{year}/diem-xep-loai", [urating_sheet(d, "Xếp loại", titles, units, year, score=scores,
                                                    label_col=label_col)])
    if label_col:
        for u in units:
            d.urating(u, year, required=not (u is victim and d.must), exemplary=False)
    d.features.append(f"score {case}")


MERGE_CASES = ("new-commune", "old-name-2025", "old-name-2024", "mixed-2025", "old-ids-2025", "old-commune-row-2025",
               "new-name-2024", "kids-of-two-old")


def f_merge(d: Doc, case: str) -> None:
    mid = MERGED[0]
    year = 2024 if case in ("old-name-2024", "new-name-2024") else 2025
    d.year = year
    camp = camps_of(year)[0]
    if case == "new-commune":
        units = d.w.kids(mid, year)
        d.add(f"{year}/bao-cao-{mid}", [study_sheet(d, "Học tập", heads(d, mid, f"KẾT QUẢ HỌC TẬP {camp.title.upper()}"),
                                                      units, camp)])
        for u in units:
            d.study(u, camp)
    elif case in ("old-name-2025", "old-name-2024"):
        old = d.rng.choice(["muong-so", "khong-lao"])
        units = d.w.kids(old, 2024)
        titles = heads(d, old, f"BÁO CÁO SỐ LƯỢNG ĐẢNG VIÊN NĂM {year}")
        fig_units = units if year == 2024 else [next(m for m in d.w.by_commune[mid]
                                                     if m.unit_id.endswith("." + u.unit_id.rsplit(".", 1)[1]))
                                                for u in units]
        sh = membership_sheet(d, "Đảng viên", titles, fig_units, year)
        d.add(f"{year}/bao-cao-{old}", [sh])
        for u in fig_units:
            d.membership(u, year, required=year == 2024)
        if year == 2025:
            d.must.append(f"Đảng ủy xã {COMMUNES[old][0]} no longer exists in 2025 (merged into xã {MERGED[1]})")
    elif case == "new-name-2024":
        units = d.w.by_commune[mid]
        d.add(f"{year}/bao-cao-{mid}", [membership_sheet(d, "Đảng viên", heads(d, "ban-lang", "x")[:1]
                                                          + ["ĐẢNG ỦY XÃ SÌ LỞ LẦU", f"SỐ LƯỢNG ĐẢNG VIÊN NĂM {year}"],
                                                          units, 2025)])
        d.must.append("Đảng ủy xã Sì Lở Lầu does not exist in 2024")
    elif case == "mixed-2025":
        units = d.w.kids(mid, year)
        dis = d.w.by_commune["ban-lang"][-2]
        listed = units[:3] + [dis] + units[3:]
        d.add(f"{year}/hoc-tap-{mid}", [study_sheet(d, "Học tập", heads(d, mid, f"KẾT QUẢ HỌC TẬP {camp.title.upper()}"),
                                                      listed, camp)])
        for u in units:
            d.study(u, camp)
        d.must.append("'Chi bộ bản Cũ' (dissolved after 2019, another commune) listed in 2025")
    elif case == "old-ids-2025":
        old = d.w.by_commune["muong-so"]
        header = [["STT", "Mã đơn vị", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn sinh hoạt"]]
        body = [[i + 1, u.unit_id, u.name, d.w.fig(u, year).total, d.w.fig(u, year).exempt] for i, u in enumerate(old)]
        d.add(f"{year}/dang-vien-ma", [sheet("Đảng viên", heads(d, mid, f"SỐ LƯỢNG ĐẢNG VIÊN NĂM {year}"), header, body)])
        d.must.append("unit codes of Mường So's chi bộ (valid to 2024) in a 2025 form")
    elif case == "old-commune-row-2025":
        header = [["STT", "Đơn vị", "Tổng số đảng viên", "Số ĐV miễn sinh hoạt"]]
        bl = d.w.commune("ban-lang")
        others = [d.w.commune("muong-so"), d.w.commune("khong-lao"), bl]
        figs = {u.unit_id: d.w.fig(u, year) for u in others}
        body = [[i + 1, u.name, figs[u.unit_id].total, figs[u.unit_id].exempt] for i, u in enumerate(others)]
        titles = ["ĐẢNG BỘ TỈNH LAI CHÂU", "HUYỆN ỦY PHONG THỔ", f"SỐ LƯỢNG ĐẢNG VIÊN CÁC ĐẢNG BỘ XÃ NĂM {year}"]
        d.add(f"{year}/huyen-dang-vien", [sheet("Đảng viên", titles, header, body)])
        d.membership(bl, year, required=False)
        d.must.append("Đảng bộ xã Mường So and xã Khổng Lào listed in 2025, after their merger")
    elif case == "kids-of-two-old":
        units = d.w.kids(mid, year)
        d.add(f"{year}/xep-loai-{mid}", [urating_sheet(d, "Xếp loại", heads(d, mid, f"XẾP LOẠI CHI BỘ NĂM {year}"),
                                                         units, year, score={})])
        for u in units:
            d.urating(u, year, exemplary=False)
    d.features.append(f"merge {case}")


INACTIVE_CASES = (("dissolved-listed", 2021), ("dissolved-own-year", 2019), ("not-yet-founded", 2020),
                  ("founded-year", 2021), ("dissolved-listed", 2023), ("not-yet-founded", 2018))


def f_inactive(d: Doc, case: str, year: int) -> None:
    d.year = year
    kids = d.w.by_commune["ban-lang"]
    units = [u for u in kids if u.active(year)]
    cu, tdc = kids[-2], kids[-1]
    listed = list(units)
    if case == "dissolved-listed":
        listed.insert(2, cu)
        d.must.append(f"'{cu.name}' is not active in {year} (valid to 2019)")
    elif case == "not-yet-founded":
        listed.append(tdc)
        d.must.append(f"'{tdc.name}' is not active in {year} (valid from 2021)")
    kind = d.rng.choice(["membership", "mrating"])
    titles = heads(d, "ban-lang", f"BÁO CÁO NĂM {year}")
    if kind == "membership":
        d.add(f"{year}/bao-cao", [membership_sheet(d, "Biểu", titles, listed, year, rating=True)])
        for u in units:
            d.membership(u, year)
            d.urating(u, year, exemplary=False)
    else:
        d.add(f"{year}/bao-cao", [mrating_sheet(d, "Biểu", titles, listed, year)])
        for u in units:
            d.mrating(u, year)
    d.features.append(f"inactive {case} {kind}")


# --- flat files --------------------------------------------------------------------------------


REG_CASES = ("clean", "clean-abbrev", "flags-co", "flags-mien", "flags-bool", "duplicate-id", "two-units",
             "attendance-unknown", "wrong-scheme-abbrev", "year-column-mixed", "no-year-root", "year-column-conflict",
             "odd-columns-unknown", "odd-columns-known", "campaign-other-year", "campaign-code", "with-workbook-same",
             "with-workbook-differs", "inactive-unit", "old-ids-2025", "exempt-rated", "flags-number")


def _member_labels(year: int, abbrev: bool) -> dict[str, str]:
    return {c: (s if abbrev else f) for c, f, s in member_levels(year)}


def f_register(d: Doc, case: str) -> None:
    rng = d.rng
    fmt = d.carrier  # "csv" | "parquet"
    year = {"wrong-scheme-abbrev": 2018, "inactive-unit": 2021, "old-ids-2025": 2025}.get(
        case, rng.choice([2016, 2017, 2019, 2020, 2022, 2023, 2024, 2025]))
    years = [year, year + 1] if case == "year-column-mixed" else [year]
    if case == "year-column-mixed":
        year = rng.choice([2017, 2022, 2024])
        years = [year, year + 1]
    d.year = years[-1]
    cid = "ban-lang" if years[-1] < 2025 or case != "old-ids-2025" else MERGED[0]
    col = {"member_id": "Mã đảng viên", "year": "Năm", "unit_id": "Mã chi bộ", "is_exempt": "Miễn sinh hoạt",
           "rating_label": "Xếp loại"}
    if case == "odd-columns-known":
        col = {"member_id": "Số thẻ đảng viên", "year": "Năm đánh giá", "unit_id": "Mã tổ chức đảng",
               "is_exempt": "Miễn công tác và sinh hoạt đảng", "rating_label": "Kết quả xếp loại"}
    if case == "odd-columns-unknown":
        col = {"member_id": "Mã ĐV", "year": "Năm", "unit_id": "Đơn vị", "is_exempt": "Miễn", "rating_label": "Xếp loại"}
    reg: dict[str, list] = {k: [] for k in ("member_id", "year", "unit_id", "is_exempt", "rating_label")}
    att: dict[str, list] = {"member_id": [], "campaign_id": []}
    seq = rng.randint(1000, 90000)
    abbrev = case in ("clean-abbrev", "wrong-scheme-abbrev")
    truth_ok = True
    for y in years:
        units = d.w.kids(cid if case != "old-ids-2025" else "muong-so", y if case != "old-ids-2025" else 2024)
        if case == "inactive-unit":
            units = units + [d.w.by_commune["ban-lang"][-2]]
        labels = _member_labels(y, abbrev)
        if case == "wrong-scheme-abbrev":
            labels = dict(zip([c for c, *_ in member_levels(y)], _member_labels(2017, True).values(), strict=True))
        for u in units:
            n = rng.randint(6, 14)
            members = []
            for _ in range(n):
                seq += 1
                members.append(f"DV{seq:07d}")
            exempt = set(rng.sample(members, rng.choice([0, 1, 1, 2])))
            lab = {}
            counts = {c: 0 for c, *_ in member_levels(y)}
            na = 0
            for m in members:
                if m in exempt:
                    continue
                code = rng.choices([c for c, *_ in member_levels(y)], (15, 70, 12, 3))[0]
                if rng.random() < 0.07:
                    na += 1
                    lab[m] = None
                else:
                    lab[m] = labels[code]
                    counts[code] += 1
            bad = case == "inactive-unit" and u is d.w.by_commune["ban-lang"][-2]
            for m in members:
                reg["member_id"].append(m)
                reg["year"].append(y)
                reg["unit_id"].append(u.name if case == "odd-columns-unknown" else u.unit_id)
                reg["is_exempt"].append(m in exempt)
                reg["rating_label"].append(lab.get(m))
            if not bad and case != "old-ids-2025":
                d.rows["membership"].add((u.unit_id, y, n, len(exempt)))
                for code, k in counts.items():
                    if k:
                        d.rows["member_ratings"].add((u.unit_id, y, scheme_of(y), code, k, na))
            for c in camps_of(y):
                who = [m for m in members if m not in exempt and rng.random() < 0.9] or members[:1]
                if exempt and rng.random() < 0.3:
                    who.append(sorted(exempt)[0])
                for m in who:
                    att["member_id"].append(m)
                    att["campaign_id"].append(c.campaign_id)
                if rng.random() < 0.3:  # the same member twice in one campaign: one attendance
                    att["member_id"].append(who[0])
                    att["campaign_id"].append(c.campaign_id)
                if not bad and case != "old-ids-2025":
                    d.rows["study_participation"].add((u.unit_id, c.campaign_id, True, len(set(who)), None, None, None))
    n = len(reg["member_id"])
    # exempt flags as written
    flags: list[object]
    if case == "flags-co":
        flags = ["Có" if e else rng.choice(["", "Không"]) for e in reg["is_exempt"]]
    elif case == "flags-mien":
        flags = ["miễn" if e else "" for e in reg["is_exempt"]]
        if any(reg["is_exempt"]):
            d.must.append("exempt flag 'miễn' is neither yes nor no to intake's flag reader")
    elif case == "flags-bool":
        flags = list(reg["is_exempt"])
    elif case == "flags-number":
        flags = [1 if e else 0 for e in reg["is_exempt"]]
    else:
        flags = ["x" if e else "" for e in reg["is_exempt"]]
    reg["is_exempt"] = flags
    if case == "exempt-rated":
        i = next((k for k in range(n) if reg["is_exempt"][k] == "x"), None)
        if i is not None:
            reg["rating_label"][i] = _member_labels(reg["year"][i], False)["httnv"]  # ignored (a finding)
    if case == "duplicate-id":
        k = rng.randrange(1, n)
        for key in reg:
            reg[key].insert(k, reg[key][k - 1])
        d.must.append(f"member id {reg['member_id'][k]} given twice")
    if case == "two-units":
        units = d.w.kids(cid, years[0])
        i = next(k for k in range(n) if reg["unit_id"][k] == units[0].unit_id)
        for key in reg:
            reg[key].append(reg[key][i])
        reg["unit_id"][-1] = units[1].unit_id
        d.must.append(f"member {reg['member_id'][i]} listed in two chi bộ")
    if case == "attendance-unknown":
        for _ in range(3):
            att["member_id"].append(f"DV{9900000 + rng.randint(0, 9999):07d}")
            att["campaign_id"].append(camps_of(years[0])[0].campaign_id)
        d.must.append("attendance of members not in the register")
    if case == "wrong-scheme-abbrev":
        d.must.append("2018 register labels in tsvm-2008 abbreviations (ĐTC, HTXSNV …)")
        d.rows["member_ratings"].clear()
    if case == "campaign-other-year":
        other = camps_of(years[0] - 1)[0]
        for _ in range(4):
            att["member_id"].append(reg["member_id"][rng.randrange(n)])
            att["campaign_id"].append(other.campaign_id)
        d.must.append(f"attendance list of {years[0]} naming campaign {other.campaign_id}")
    if case == "campaign-code":
        codes = {c.campaign_id: c.code for c in camps_of(years[0])}
        att["campaign_id"] = [codes[c] for c in att["campaign_id"]]
        d.must.append("attendance names campaigns by document code, not campaign_id")
        d.rows["study_participation"].clear()
    if case == "inactive-unit":
        d.must.append("register rows of 'Chi bộ bản Cũ' (valid to 2019) in 2021")
    if case == "old-ids-2025":
        d.must.append("2025 register filed under Mường So's unit ids (valid to 2024)")
    if case in ("odd-columns-unknown",):
        d.must.append("register columns intake does not know ('Mã ĐV', 'Đơn vị' with names, 'Miễn')")
        truth_ok = False
    # where the files go
    if case == "no-year-root":
        del reg["year"]
        folder = ""
        d.must.append("register with no year column, outside a year folder")
        truth_ok = False
    elif case == "year-column-mixed":
        folder = ""
    elif case == "year-column-conflict":
        folder = f"{years[0] + 1}/"
        d.must.append(f"register in folder {years[0] + 1} with a year column of {years[0]}")
        truth_ok = False
    else:
        folder = f"{years[0]}/" if rng.random() < 0.6 else ""
        if not folder and "year" not in reg:
            folder = f"{years[0]}/"
    if not truth_ok:
        for t in d.rows:
            d.maybe[t] |= d.rows[t] if case != "odd-columns-unknown" else set()
            d.rows[t] = set()
    reg_cols = {col[k]: v for k, v in reg.items()}
    sfx = ".parquet" if fmt == "parquet" else ".csv"
    d.files[f"{folder}danh-sach-dang-vien{sfx}"] = Flat(reg_cols, sep=rng.choice([",", ",", ";"]))
    att_cols = {"Mã đảng viên" if case != "odd-columns-known" else "Số thẻ đảng viên": att["member_id"],
                "Mã đợt học tập" if rng.random() < 0.5 else "campaign_id": att["campaign_id"]}
    att_folder = folder if case != "year-column-mixed" else f"{years[0]}/"
    if case == "year-column-mixed":
        att_cols["Năm"] = [None] * len(att["member_id"])
        camp_year = {c.campaign_id: c.year for y in years for c in camps_of(y)}
        att_cols["Năm"] = [camp_year[c] for c in att["campaign_id"]]
        att_folder = ""
    if att_folder == "" and case not in ("year-column-mixed",) and "Năm" not in att_cols:
        att_cols["Năm"] = [years[0]] * len(att["member_id"])
    d.files[f"{att_folder}diem-danh-hoc-tap{sfx}"] = Flat(att_cols)
    if case in ("with-workbook-same", "with-workbook-differs"):
        y = years[0]
        units = d.w.kids(cid, y)
        counts = {u.unit_id: (0, 0) for u in units}
        for m_unit, e in zip(reg["unit_id"], reg["is_exempt"], strict=True):
            t, x = counts[m_unit]
            counts[m_unit] = (t + 1, x + (e in ("x", True, 1, "Có")))
        header = [["STT", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn sinh hoạt"]]
        body = []
        for i, u in enumerate(units):
            t, x = counts[u.unit_id]
            if case == "with-workbook-differs" and i == 1:
                t += 2
            body.append([i + 1, u.name, t, x])
        if case == "with-workbook-differs":
            d.must.append("the workbook's total of one chi bộ differs from the register's count")
        d.files[f"{y}/bao-cao-dang-vien.xlsx"] = [sheet("Đảng viên", heads(d, cid, f"SỐ LƯỢNG ĐẢNG VIÊN NĂM {y}"),
                                                        header, body)]
    d.features.append(f"register {case} {fmt}")


# --- campaigns ----------------------------------------------------------------------------------


CAMP_CASES = ("same-code-two", "same-code-two-distinct-title", "code-reused-years", "long-other-year",
              "title-two-campaigns", "title-two-groups", "short-collision", "long-two-years", "camp-folder-mismatch",
              "same-code-long")


def f_campaigns(d: Doc, case: str) -> None:
    rng = d.rng
    cid = "ban-lang"
    if case in ("same-code-two", "same-code-two-distinct-title", "same-code-long"):
        year = 2022
        base = camps_of(year)[0]  # 18-NQ/TW
        second = Camp(year, base.code, "Nghị quyết", "(sơ kết 01 năm) " + base.topic, "-so-ket")
        d.extra_camps.append(second)
        units = d.w.kids(cid, year)
        if case == "same-code-long":
            header = [["STT", "Tên chi bộ", "Đợt học tập", "Số ĐV tham gia học tập", "Tổng số đảng viên",
                       "Số ĐV miễn sinh hoạt"]]
            body = [[i + 1, u.name, base.code, d.w.fig(u, year).att[base.campaign_id], d.w.fig(u, year).total,
                     d.w.fig(u, year).exempt] for i, u in enumerate(units)]
            d.add(f"{year}/hoc-tap", [sheet("Học tập", heads(d, cid, f"KẾT QUẢ HỌC TẬP NĂM {year}"), header, body)])
            d.must.append(f"campaign column '{base.code}': two campaigns of {year} have that code")
        elif case == "same-code-two":
            titles = heads(d, cid, f"KẾT QUẢ HỌC TẬP, QUÁN TRIỆT NGHỊ QUYẾT SỐ {base.code}")
            d.add(f"{year}/hoc-tap", [study_sheet(d, "Học tập", titles, units, base)])
            d.must.append(f"title names {base.code}: two campaigns of {year} have that code")
        else:
            titles = heads(d, cid, f"KẾT QUẢ HỌC TẬP, QUÁN TRIỆT {base.title.upper()}")
            d.add(f"{year}/hoc-tap", [study_sheet(d, "Học tập", titles, units, base)])
            for u in units:  # the title is the first campaign's title word for word: that one
                d.study(u, base)
        d.year = year
    elif case == "code-reused-years":
        year = rng.choice([2017, 2022])
        camp = camps_of(year)[0]  # 18-NQ/TW in 2017 and in 2022
        units = d.w.kids(cid, year)
        titles = heads(d, cid, f"KẾT QUẢ HỌC TẬP NGHỊ QUYẾT SỐ {camp.code} NĂM {year}")
        d.add(f"{year}/hoc-tap", [study_sheet(d, "Học tập", titles, units, camp)])
        for u in units:
            d.study(u, camp)
        d.year = year
    elif case in ("long-other-year", "long-two-years"):
        year = rng.choice([2019, 2020, 2023])
        units = d.w.kids(cid, year)
        here, other = camps_of(year)[0], camps_of(year - 1)[1]
        header = [["STT", "Tên chi bộ", "Mã đợt học tập", "Số ĐV tham gia học tập", "Tổng số đảng viên",
                   "Số ĐV miễn sinh hoạt"]]
        body = []
        for i, u in enumerate(units):
            f = d.w.fig(u, year)
            body.append([i + 1, u.name, here.campaign_id, f.att[here.campaign_id], f.total, f.exempt])
            d.study(u, here)
        k = len(body)
        if case == "long-other-year":
            u = units[0]
            f = d.w.fig(u, year)
            body.append([k + 1, u.name, other.campaign_id, f.att[here.campaign_id] - 1, f.total, f.exempt])
            d.must.append(f"a row of campaign {other.campaign_id} in a {year} form")
            d.maybe["study_participation"].add((u.unit_id, other.campaign_id, True, f.att[here.campaign_id] - 1,
                                                None, None, None))
        else:
            for u in units:
                fo = d.w.fig(u, year - 1)
                body.append([len(body) + 1, u.name, other.campaign_id, fo.att[other.campaign_id], fo.total, fo.exempt])
                d.maybe["study_participation"].add((u.unit_id, other.campaign_id, True, fo.att[other.campaign_id],
                                                    None, None, None))
            d.must.append(f"rows of {year - 1}'s campaign {other.campaign_id} with members of that year in a {year} form")
        d.add(f"{year}/hoc-tap-dai", [sheet("Học tập", heads(d, cid, f"KẾT QUẢ HỌC TẬP NĂM {year}"), header, body)])
        d.year = year
    elif case in ("title-two-campaigns", "title-two-groups"):
        year = rng.choice([2019, 2021, 2023])
        a, b = camps_of(year)
        units = d.w.kids(cid, year)
        titles = heads(d, cid, f"KẾT QUẢ HỌC TẬP, QUÁN TRIỆT {a.kind.upper()} SỐ {a.code} VÀ {b.kind.upper()} SỐ {b.code}")
        if case == "title-two-campaigns":
            d.add(f"{year}/hoc-tap", [study_sheet(d, "Học tập", titles, units, a)])
            d.must.append("the title names two campaigns over one attendance column")
        else:
            header = [["STT", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn sinh hoạt", f"{a.kind} {a.code}", None,
                       f"{b.kind} {b.code}", None],
                      [None] * 4 + ["Số ĐV tham gia", "Tỷ lệ (%)", "Số ĐV tham gia", "Tỷ lệ (%)"]]
            body = []
            beside(d, units, year)
            for i, u in enumerate(units):
                f = d.w.fig(u, year)
                el = f.total - f.exempt
                body.append([i + 1, u.name, f.total, f.exempt, f.att[a.campaign_id], round(100 * f.att[a.campaign_id] / el, 2),
                             f.att[b.campaign_id], round(100 * f.att[b.campaign_id] / el, 2)])
                d.study(u, a)
                d.study(u, b)
            d.add(f"{year}/hoc-tap", [sheet("Học tập", titles, header, body,
                                            [(0, c, 1, c) for c in range(4)] + [(0, 4, 0, 5), (0, 6, 0, 7)])])
        d.year = year
    elif case == "short-collision":
        year = 2024
        camp = camps_of(year)[1]  # 35-CT/TW of 2024; 35-NQ/TW is 2019's
        units = d.w.kids(cid, year)
        titles = heads(d, cid, f"KẾT QUẢ HỌC TẬP CHỈ THỊ 35 NĂM {year}")
        d.add(f"{year}/hoc-tap", [study_sheet(d, "Học tập", titles, units, camp)])
        for u in units:
            d.study(u, camp)
        d.year = year
    elif case == "camp-folder-mismatch":
        year = rng.choice([2019, 2021, 2023])
        camp = camps_of(year - 1)[0]
        units = d.w.kids(cid, year)
        titles = heads(d, cid, f"KẾT QUẢ HỌC TẬP, QUÁN TRIỆT {camp.title.upper()}")
        d.add(f"{year}/hoc-tap", [study_sheet(d, "Học tập", titles, units, camp,
                                              att=lambda u: d.w.fig(u, year).att[camps_of(year)[0].campaign_id])])
        d.must.append(f"a {year - 1} campaign ({camp.code}) in a {year} folder with {year}'s members")
        d.year = year
    d.features.append(f"campaigns {case}")


# ---------------------------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    name: str
    fn: Callable[[Doc], None]
    carriers: tuple[str, ...]


def _rep(carriers: dict[str, int]) -> tuple[str, ...]:
    return tuple(c for c, n in carriers.items() for _ in range(n))


def _cases(name: str, fn: Callable, cases: tuple, carriers: tuple[str, ...]) -> list[Family]:
    return [Family(f"{name}/{c if isinstance(c, str) else '-'.join(map(str, c))}",
                   (lambda d, c=c: fn(d, *c)) if isinstance(c, tuple) else (lambda d, c=c: fn(d, c)),
                   carriers) for c in cases]


FAMILIES: tuple[Family, ...] = (
    Family("year-column", f_year_column, _rep({"xlsx": 4, "csv-utf8": 3, "ods": 2, "xls": 1, "docx": 2})),
    Family("workbook-per-year", f_workbook_per_year, _rep({"xlsx": 3, "ods": 1, "xls": 1, "docx": 1})),
    Family("sheet-per-year", f_sheet_per_year, _rep({"xlsx": 4, "ods": 2, "xls": 2})),
    *_cases("scheme-labels", f_scheme_labels, SCHEME_TRAPS, ("xlsx",)),
    *_cases("scheme-labels-csv", f_scheme_labels, SCHEME_TRAPS[::3], ("csv-utf8",)),
    Family("folder-title", f_folder_title, _rep({"xlsx": 5, "csv-utf8": 2, "docx": 2, "ods": 1})),
    Family("school-year", f_school_year, _rep({"xlsx": 3, "csv-utf8": 2, "docx": 2})),
    *_cases("quarterly", f_quarterly, ("ratings", "ratings+year", "one-quarter", "study-sheets", "study-columns"),
            ("xlsx", "ods")),
    *_cases("score-bands", f_score_bands, SCORE_CASES, ("xlsx",)),
    *_cases("score-bands-csv", f_score_bands, SCORE_CASES[1:5], ("csv-utf8",)),
    *_cases("merge-2025", f_merge, MERGE_CASES, ("xlsx",)),
    *_cases("merge-2025-docx", f_merge, MERGE_CASES[:4], ("docx",)),
    *_cases("inactive", f_inactive, INACTIVE_CASES, ("xlsx",)),
    *_cases("register", f_register, REG_CASES, ("csv", "parquet")),
    *_cases("campaigns", f_campaigns, CAMP_CASES, ("xlsx",)),
    *_cases("campaigns-csv", f_campaigns, CAMP_CASES[::2], ("csv-utf8",)),
)


def _make(form_id: str, fam: Family, carrier: str, seed: int) -> TimelineForm:
    rng = random.Random(f"timeline/{seed}/{form_id}")
    w = World(rng)
    d = Doc(rng, carrier, w)
    fam.fn(d)
    truth = {t: set(r) for t, r in d.rows.items()}
    return TimelineForm(form_id, fam.name.split("/")[0], carrier, d.encoding, d.year, d.files, w.units_csv(),
                        campaigns_csv(d.extra_camps), truth, {t: r - truth[t] for t, r in d.maybe.items()},
                        [fam.name, d.encoding] + d.features, list(dict.fromkeys(d.must)))


def build_forms(seed: int = SEED) -> list[TimelineForm]:
    """Every timeline form, in a stable order."""
    forms = []
    for fam in FAMILIES:
        for i, carrier in enumerate(fam.carriers):
            forms.append(_make(f"timeline/{fam.name}/{carrier}/{i}", fam, carrier, seed))
    return forms


def _write_flat(path: Path, flat: Flat) -> None:
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(flat.columns), path)
        return
    out = io.StringIO()
    w = csv.writer(out, delimiter=flat.sep, lineterminator="\n")
    names = list(flat.columns)
    w.writerow(names)
    for row in zip(*flat.columns.values(), strict=True):
        w.writerow(["" if v is None else v for v in row])
    path.write_text(out.getvalue(), encoding="utf-8")


def write_raw(form: TimelineForm, raw: Path) -> None:
    """Write the form's raw folder: units.csv, campaigns.csv and its files."""
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "units.csv").write_text(form.units_csv, encoding="utf-8")
    (raw / "campaigns.csv").write_text(form.campaigns_csv, encoding="utf-8")
    for rel, content in form.files.items():
        path = raw / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Flat):
            _write_flat(path, content)
        else:
            write_form(path, content, WRITERS[path.suffix])


__all__ = ["FAMILIES", "TimelineForm", "build_forms", "write_raw"]
