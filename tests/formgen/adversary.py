"""A third generator of committee report forms: traps the two others do not set.

``generator.py`` taught the intake; ``holdout.py`` checked it on forms nobody tuned for. This
module is a new adversary with its own small world (a mountain district of the north-west, its
own chi bộ names and campaign list) and its own traps, chosen where a careful human analyst reads
a form one way and a rule may read it another:

* **numbers** — English thousands ("1,234") in a Vietnamese form, spaced thousands ("1 234",
  no-break space), "1.234,0", a decimal count, a negative count, "12 đ/c" / "350 người", a
  footnote mark ("45*"), a range ("300-350"), "x" in a count column, formulas without a cached
  value (xlsx as openpyxl writes it), a date typed into a count cell, percentages where counts are
  expected, "% | SL" pairs in that order;
* **structure** — two tables stacked in one sheet, a table transposed (units as columns), the
  header repeated mid-sheet (a printed page break), subtotal rows in the middle, section rows
  carrying sums, hidden columns and rows (xlsx), a data cell merged over two units, a unit (or a
  campaign) in two sheets with different figures, "Sheet1" without a title, an empty template
  sheet, notes with numbers in them, a committee-named totals row, names numbered in the name
  cell, a probationary column, breakdown sub-rows under a unit;
* **meaning** — a public target written "100%", a public-only sheet, this year beside last year,
  "Kế hoạch | Thực hiện", "Số ĐV vắng" (absent), "học bù" only, not-assessed split in two
  columns, the campaign only in the sheet name / the file name / nowhere, the title's year
  against the folder's, a level of the other scheme in a label column, a docx whose table lacks
  the year that its paragraph gives, "(tiêu biểu)" inside a label, members and public in one
  column, last year's campaign in this year's folder.

Every form carries its truth as a careful analyst would type it (``truth``/``optional``: the
columns of ``generator.COMPARED``, same conventions as ``generator.Form``), ``must_report`` when
it cannot be read with confidence (then ``ingest`` exiting 0 is a silent misread whatever its
tables hold), and ``features`` naming its trap. Focused forms (``adversary/<trap>/<carrier>/<n>``)
hold exactly one trap on ordinary wording; broad forms (``adversary/broad/<carrier>/<n>``) put
several safe traps in one multi-sheet workbook.

Example:
    >>> forms = build_forms()
    >>> len(forms) >= 120 and len({f.form_id for f in forms}) == len(forms)
    True
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .carriers import CARRIERS, SheetSpec, write_form
from .generator import COMPARED

SEED = 90317
SUFFIX = {"xlsx": ".xlsx", "xls": ".xls", "ods": ".ods", "docx": ".docx"}
MULTI_SHEET = ("xlsx", "xls", "ods", "docx")


def scheme_of(year: int) -> str:
    """The rating scheme in force for an assessment year (DESIGN.md)."""
    return "tsvm-2008" if year <= 2017 else "qd132-2018" if year <= 2022 else "qd124-2023" if year <= 2024 \
        else "qd366-2025"


UNIT_LV_OLD = (("tsvm", "Trong sạch, vững mạnh"), ("httnv", "Hoàn thành tốt nhiệm vụ"),
               ("htnv", "Hoàn thành nhiệm vụ"), ("yeu-kem", "Yếu kém"))
MEMBER_LV_OLD = (("htxsnv", "Đủ tư cách, hoàn thành xuất sắc nhiệm vụ"),
                 ("httnv", "Đủ tư cách, hoàn thành tốt nhiệm vụ"),
                 ("htnv", "Đủ tư cách, hoàn thành nhiệm vụ"),
                 ("vi-pham", "Vi phạm tư cách hoặc không hoàn thành nhiệm vụ"))
LV_NEW = (("htxsnv", "Hoàn thành xuất sắc nhiệm vụ"), ("httnv", "Hoàn thành tốt nhiệm vụ"),
          ("htnv", "Hoàn thành nhiệm vụ"), ("khtnv", "Không hoàn thành nhiệm vụ"))
SHORT_NEW = {"htxsnv": "HTXSNV", "httnv": "HTTNV", "htnv": "HTNV", "khtnv": "KHTNV", "vi-pham": "Vi phạm"}


def unit_levels(year: int) -> tuple:
    return UNIT_LV_OLD if year <= 2017 else LV_NEW


def member_levels(year: int) -> tuple:
    return MEMBER_LV_OLD if year <= 2017 else LV_NEW


@dataclass(frozen=True)
class Camp:
    year: int
    code: str
    kind: str
    topic: str

    @property
    def campaign_id(self) -> str:
        return f"{self.year}-{_slug(self.code)}"

    @property
    def title(self) -> str:
        return f"{self.kind} số {self.code} {self.topic}"


CAMPS: dict[int, tuple[Camp, ...]] = {y: tuple(Camp(y, *c) for c in cs) for y, cs in {
    2014: (("03-CT/TW", "Chỉ thị", "về tiếp tục đẩy mạnh việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh"),
           ("33-NQ/TW", "Nghị quyết", "về xây dựng và phát triển văn hóa, con người Việt Nam")),
    2015: (("39-NQ/TW", "Nghị quyết", "về tinh giản biên chế và cơ cấu lại đội ngũ cán bộ, công chức, viên chức"),
           ("48-CT/TW", "Chỉ thị", "về tăng cường sự lãnh đạo của Đảng đối với công tác phòng, chống tội phạm")),
    2016: (("04-NQ/TW", "Nghị quyết", "về tăng cường xây dựng, chỉnh đốn Đảng"),
           ("05-CT/TW", "Chỉ thị", "về đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh")),
    2017: (("18-NQ/TW", "Nghị quyết", "về tiếp tục đổi mới, sắp xếp tổ chức bộ máy tinh gọn"),
           ("19-NQ/TW", "Nghị quyết", "về tiếp tục đổi mới hệ thống tổ chức và quản lý đơn vị sự nghiệp công lập")),
    2018: (("26-NQ/TW", "Nghị quyết", "về tập trung xây dựng đội ngũ cán bộ các cấp"),
           ("28-NQ/TW", "Nghị quyết", "về cải cách chính sách bảo hiểm xã hội")),
    2019: (("35-NQ/TW", "Nghị quyết", "về tăng cường bảo vệ nền tảng tư tưởng của Đảng"),
           ("38-CT/TW", "Chỉ thị", "về đẩy mạnh công tác bảo hiểm y tế trong tình hình mới")),
    2020: (("55-NQ/TW", "Nghị quyết", "về định hướng Chiến lược phát triển năng lượng quốc gia"),
           ("42-CT/TW", "Chỉ thị", "về giáo dục lý tưởng cách mạng, đạo đức, lối sống văn hóa cho thế hệ trẻ")),
    2021: (("01-KL/TW", "Kết luận", "về tiếp tục thực hiện Chỉ thị 05-CT/TW"),
           ("05-CT/TW", "Chỉ thị", "về tăng cường công tác phòng, chống buôn lậu")),
    2022: (("19-NQ/TW", "Nghị quyết", "về nông nghiệp, nông dân, nông thôn đến năm 2030"),
           ("20-NQ/TW", "Nghị quyết", "về tiếp tục đổi mới, phát triển và nâng cao hiệu quả kinh tế tập thể")),
    2023: (("42-NQ/TW", "Nghị quyết", "về tiếp tục đổi mới, nâng cao chất lượng chính sách xã hội"),
           ("45-NQ/TW", "Nghị quyết", "về xây dựng và phát huy vai trò của đội ngũ trí thức")),
    2024: (("57-NQ/TW", "Nghị quyết", "về đột phá phát triển khoa học, công nghệ, đổi mới sáng tạo"),
           ("35-CT/TW", "Chỉ thị", "về đại hội đảng bộ các cấp tiến tới Đại hội XIV của Đảng")),
}.items()}
YEARS = tuple(sorted(CAMPS))
COMMUNES = (("xã", "Nậm Chảy"), ("xã", "Tả Van"), ("phường", "Quyết Thắng"), ("thị trấn", "Phong Thổ"),
            ("xã", "Bản Lầu"), ("phường", "Đông Phong"), ("xã", "Mường Hum"), ("xã", "Sà Phìn"))
VILLAGES = ("Na Lốc", "Pờ Sì Ngài", "Cốc Lầy", "Lũng Pù", "Séo Mý Tỷ", "Khe Măng", "Ná Hán", "Pa Khoang",
            "Huổi Lếch", "Nậm Tông")
SERVICES = (("Chi bộ Trường PTDTBT Tiểu học", "truong_hoc"), ("Chi bộ Đồn Biên phòng", "luc_luong_vu_trang"),
            ("Chi bộ Trạm Y tế", "co_quan"), ("Chi bộ Trường Mầm non Hoa Ban", "truong_hoc"),
            ("Chi bộ Ban Chỉ huy Quân sự", "luc_luong_vu_trang"), ("Chi bộ Hợp tác xã chè Shan tuyết", "doanh_nghiep"))


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in plain).split())


def pct(a: int, b: int) -> float:
    return round(100 * a / b, 2) if b else 0.0


@dataclass(eq=False)
class U:
    """A chi bộ and its figures."""

    unit_id: str
    name: str
    kind: str
    total: int = 0
    exempt: int = 0
    probationary: int = 0
    study: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # campaign -> attended, target, public
    level: str = ""
    members: dict[str, int] = field(default_factory=dict)
    na: int = 0

    @property
    def elig(self) -> int:
        return self.total - self.exempt

    def att(self, c: Camp) -> int:
        return self.study[c.campaign_id][0]

    def tgt(self, c: Camp) -> int:
        return self.study[c.campaign_id][1]

    def pub(self, c: Camp) -> int:
        return self.study[c.campaign_id][2]


class World:
    """One commune of one district in one year."""

    def __init__(self, rng: random.Random, year: int, numbered: bool = False, big_public: bool = False,
                 n: int | None = None) -> None:
        self.rng, self.year = rng, year
        self.ckind, self.cname = rng.choice(COMMUNES)
        self.cid = _slug(self.cname)
        self.district, self.district_id = "Huyện ủy Bảo Lâm", "hu-bao-lam"
        n = n or rng.randint(4, 6)
        n_serv = rng.randint(1, 2)
        if numbered:
            word = "thôn"
            nums = [1, 11, 2, 12, 3][: n - n_serv] if n - n_serv >= 3 else [1, 11, 2]
            names = [(f"Chi bộ {word} {k}", "khu_dan_cu") for k in nums]
        elif self.ckind == "xã":
            names = [(f"Chi bộ bản {v}", "khu_dan_cu") for v in rng.sample(VILLAGES, n - n_serv)]
        else:
            names = [(f"Chi bộ tổ dân phố số {k}", "khu_dan_cu") for k in sorted(rng.sample(range(1, 15), n - n_serv))]
        names += rng.sample(SERVICES, n_serv)
        self.units = [U(f"{self.cid}-{i + 1:02d}", nm, kd) for i, (nm, kd) in enumerate(names)]
        self.camps = list(CAMPS[year])
        for u in self.units:
            big = u.kind == "khu_dan_cu"
            u.total = rng.randint(18, 140) if big else rng.randint(7, 32)
            u.exempt = min(rng.choice([0, 1, 2, 3, 5]) if big else rng.choice([0, 0, 1]), u.total // 5)
            u.probationary = rng.randint(0, max(1, u.total // 12))
            for c in self.camps:
                att = rng.randint(max(1, u.elig * 3 // 4), u.elig)
                tgt = (rng.randint(1000, 2600) if big_public else rng.randint(90, 900)) if big else rng.randint(10, 60)
                u.study[c.campaign_id] = (att, tgt, rng.randint(tgt * 3 // 5, tgt))
            codes = [c for c, _ in unit_levels(year)]
            u.level = rng.choices(codes, (30, 55, 12, 3))[0]
            u.na = min(rng.choice([0, 1, 1, 2, 3]), u.elig - 1)
            assessed = u.elig - u.na
            c4 = 1 if assessed > 8 and rng.random() < 0.15 else 0
            c3 = rng.randint(0, assessed // 8)
            c1 = int((assessed - c3 - c4) * rng.uniform(0.1, 0.2))
            u.members = dict(zip([c for c, _ in member_levels(year)], (c1, assessed - c1 - c3 - c4, c3, c4),
                                 strict=True))

    @property
    def committee(self) -> str:
        return f"Đảng bộ {self.ckind} {self.cname}"

    def units_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["unit_id", "unit_name", "parent_id", "unit_level", "unit_kind", "valid_from_year", "valid_to_year"])
        w.writerow([self.district_id, self.district, "", "cap_tren", "khac", 2008, ""])
        w.writerow([self.cid, self.committee, self.district_id, "co_so", "khu_dan_cu", 2008, ""])
        for u in self.units:
            w.writerow([u.unit_id, u.name, self.cid, "chi_bo", u.kind, 2008, ""])
        return out.getvalue()

    @staticmethod
    def campaigns_csv() -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["campaign_id", "year", "title", "document_code", "start_date"])
        for y in YEARS:
            for c in CAMPS[y]:
                w.writerow([c.campaign_id, c.year, c.title, c.code, f"{c.year}-03-15"])
        return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Columns, tables, sheets
# ---------------------------------------------------------------------------------------------


@dataclass
class Col:
    """A column: header cells top to bottom, the value of a unit, how its totals cell is made."""

    head: tuple[str | None, ...]
    get: Callable[[U], object] | None = None
    kind: str = "count"  # count | pct | text | name | stt
    num: Callable[[U], int] | None = None
    den: Callable[[U], int] | None = None


def c_stt() -> Col:
    return Col(("STT",), None, "stt")


def c_name(head: str = "Tên chi bộ") -> Col:
    return Col((head,), lambda u: u.name, "name")


def c_count(head: str | tuple, get: Callable[[U], object]) -> Col:
    return Col(head if isinstance(head, tuple) else (head,), get, "count")


def c_pct(head: str | tuple, num: Callable[[U], int], den: Callable[[U], int]) -> Col:
    return Col(head if isinstance(head, tuple) else (head,), lambda u: pct(num(u), den(u)), "pct", num, den)


def c_text(head: str | tuple, get: Callable[[U], object]) -> Col:
    return Col(head if isinstance(head, tuple) else (head,), get, "text")


def header(cols: list[Col]) -> tuple[list[list[object]], list[tuple[int, int, int, int]]]:
    """Header rows (every column padded to the same height) and their merges."""
    n, h = len(cols), max(len(c.head) for c in cols)
    heads = [tuple(c.head) + (None,) * (h - len(c.head)) for c in cols]
    rows = [[hd[r] for hd in heads] for r in range(h)]
    merges = []
    for r in range(h - 1):  # a group written once over adjacent columns
        c = 0
        while c < n:
            e = c
            if heads[c][r] is not None:
                while e + 1 < n and heads[e + 1][:r + 1] == heads[c][:r + 1]:
                    e += 1
            if e > c:
                merges.append((r, c, r, e))
                for k in range(c + 1, e + 1):
                    rows[r][k] = None
            c = e + 1
    for c in range(n):  # a cell with nothing under it
        for r in range(h - 1):
            if heads[c][r] is not None and all(heads[c][k] is None for k in range(r + 1, h)):
                merges.append((r, c, h - 1, c))
                break
    return rows, merges


def body(cols: list[Col], units: list[U], start: int = 1) -> list[list[object]]:
    out = []
    for i, u in enumerate(units):
        out.append([start + i if c.kind == "stt" else (c.get(u) if c.get else None) for c in cols])
    return out


def totals(cols: list[Col], units: list[U], label: str = "Cộng") -> list[object]:
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


def titles(w: World, heading: str, *extra: str, year: bool = True) -> list[list[object]]:
    rows: list[list[object]] = [
        ["ĐẢNG BỘ HUYỆN BẢO LÂM", None, None, None, "ĐẢNG CỘNG SẢN VIỆT NAM"],
        [f"ĐẢNG ỦY {w.ckind.upper()} {w.cname.upper()}"],
        [f"{heading} NĂM {w.year}" if year else heading]]
    rows += [[e] for e in extra]
    rows.append([])
    return rows


def sheet(name: str, title_rows: list[list[object]], cols: list[Col], units: list[U], total: bool = True,
          label: str = "Cộng") -> SheetSpec:
    head, merges = header(cols)
    t = len(title_rows)
    rows = [list(r) for r in title_rows] + head + body(cols, units)
    if total:
        rows.append(totals(cols, units, label))
    return SheetSpec(name, rows, [(a + t, b, c + t, d) for a, b, c, d in merges], title_rows=t)


# the ordinary columns of each kind of sheet
def membership_cols() -> list[Col]:
    return [c_stt(), c_name(), c_count("Tổng số đảng viên", lambda u: u.total),
            c_count("Số đảng viên được miễn sinh hoạt", lambda u: u.exempt)]


def study_cols(c: Camp, public: bool = True) -> list[Col]:
    cols = [c_stt(), c_name(), c_count("Tổng số đảng viên", lambda u: u.total),
            c_count("Số đảng viên được miễn sinh hoạt", lambda u: u.exempt),
            c_count("Số đảng viên tham gia học tập", lambda u: u.att(c)),
            c_pct("Tỷ lệ (%)", lambda u: u.att(c), lambda u: u.elig)]
    if public:
        cols += [c_count("Số quần chúng phải học", lambda u: u.tgt(c)),
                 c_count("Số quần chúng tham gia", lambda u: u.pub(c))]
    return cols


def urating_cols(year: int) -> list[Col]:
    labels = dict(unit_levels(year))
    return [c_stt(), c_name(), c_text("Kết quả xếp loại", lambda u: labels[u.level])]


def mrating_cols(year: int, na: bool = True) -> list[Col]:
    cols = [c_stt(), c_name()]
    for code, label in member_levels(year):
        cols.append(c_count(label, lambda u, code=code: u.members[code]))
    if na:
        cols.append(c_count("Số đảng viên không xếp loại", lambda u: u.na))
    return cols


# ---------------------------------------------------------------------------------------------
# Forms and truth
# ---------------------------------------------------------------------------------------------


@dataclass
class AdversaryForm:
    """One form (same ``truth``/``optional``/``must_report`` conventions as ``holdout.HoldoutForm``)."""

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
    #: rel -> edits applied to the written xlsx (openpyxl workbook -> None): hidden rows, formulas, dates
    post: dict[str, list[Callable]] = field(default_factory=dict)


class Ctx:
    """What a trap builds: files, truth, reasons to report."""

    def __init__(self, rng: random.Random, year: int, carrier: str, world: World) -> None:
        self.rng, self.year, self.carrier, self.w = rng, year, carrier, world
        self.files: dict[str, list[SheetSpec]] = {}
        self.rows: dict[str, set[tuple]] = {t: set() for t in COMPARED}
        self.maybe: dict[str, set[tuple]] = {t: set() for t in COMPARED}
        self.must: list[str] = []
        self.post: dict[str, list[Callable]] = {}

    @property
    def suffix(self) -> str:
        return SUFFIX.get(self.carrier, ".csv")

    @property
    def one_sheet(self) -> bool:
        return self.carrier.startswith("csv")

    def rel(self, stem: str | None = None, year: int | None = None) -> str:
        return f"{year or self.year}/{stem or self.w.cid}{self.suffix}"

    def add(self, sheets: list[SheetSpec], rel: str | None = None) -> str:
        rel = rel or self.rel()
        if self.one_sheet:
            sheets = sheets[:1]
            sheets[0].name = ""
        self.files[rel] = sheets
        return rel

    # truth
    def membership(self, u: U, required: bool = True, year: int | None = None, total: int | None = None) -> None:
        (self.rows if required else self.maybe)["membership"].add(
            (u.unit_id, year or self.year, u.total if total is None else total, u.exempt))

    def study(self, u: U, c: Camp, public: bool = True, att: int | None = None, target: object = "same",
              pub: object = "same", basis: str | None = "persons", with_members: bool = True) -> None:
        a = u.att(c) if att is None else att
        t = u.tgt(c) if target == "same" else target
        p = u.pub(c) if pub == "same" else pub
        self.rows["study_participation"].add((u.unit_id, c.campaign_id, a > 0, a, t if public else None,
                                              p if public else None, basis if public else None))
        if with_members:  # a total beside its exempt count in a study sheet may feed membership
            self.membership(u, required=False)

    def urating(self, u: U, year: int | None = None, level: str | None = None, exemplary: bool = False,
                required: bool = True) -> None:
        y = year or self.year
        (self.rows if required else self.maybe)["unit_ratings"].add(
            (u.unit_id, y, scheme_of(y), level or u.level, exemplary))

    def mrating(self, u: U, na: int | None | str = "same") -> None:
        for code, n in u.members.items():
            self.rows["member_ratings"].add((u.unit_id, self.year, scheme_of(self.year), code, n,
                                             u.na if na == "same" else na))


# ---------------------------------------------------------------------------------------------
# The traps
# ---------------------------------------------------------------------------------------------


def _study_form(x: Ctx, c: Camp | None = None, cols: list[Col] | None = None, heading: str | None = None,
                extra: tuple[str, ...] | None = None, name: str | None = None, total: bool = True,
                units: list[U] | None = None, public: bool = True) -> SheetSpec:
    c = c or x.w.camps[0]
    ex = (c.title,) if extra is None else extra
    sp = sheet(name if name is not None else c.code.replace("/", "_"),
               titles(x.w, heading or "KẾT QUẢ HỌC TẬP, QUÁN TRIỆT", *ex), cols or study_cols(c, public),
               units or x.w.units, total)
    return sp


def t_baseline_study(x: Ctx) -> None:
    c = x.w.camps[0]
    x.add([_study_form(x, c)])
    for u in x.w.units:
        x.study(u, c)


def t_baseline_membership(x: Ctx) -> None:
    x.add([sheet("Đảng viên", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), membership_cols(), x.w.units)])
    for u in x.w.units:
        x.membership(u)


def t_baseline_urating(x: Ctx) -> None:
    x.add([sheet("Xếp loại TCĐ", titles(x.w, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHI BỘ"), urating_cols(x.year), x.w.units,
                 total=False)])
    for u in x.w.units:
        x.urating(u)


def t_baseline_mrating(x: Ctx) -> None:
    x.add([sheet("Xếp loại ĐV", titles(x.w, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI ĐẢNG VIÊN"), mrating_cols(x.year),
                 x.w.units)])
    for u in x.w.units:
        x.mrating(u)


def _public_text(x: Ctx, fmt: Callable[[int], str], which: str = "tgt") -> None:
    """A study sheet whose public figures (target or attended) are text in ``fmt``."""
    c = x.w.camps[0]
    cols = study_cols(c)
    i = 6 if which == "tgt" else 7
    get = cols[i].get
    cols[i] = c_count(cols[i].head, lambda u: fmt(get(u)))
    sp = _study_form(x, c, cols)
    sp.rows[-1][i] = fmt(sum(get(u) for u in x.w.units))
    x.add([sp])
    for u in x.w.units:
        x.study(u, c)


def t_comma_thousands(x: Ctx) -> None:
    _public_text(x, lambda v: f"{v:,}")


def t_space_thousands(x: Ctx) -> None:
    sep = x.rng.choice([" ", "\u00a0"])
    _public_text(x, lambda v: f"{v:,}".replace(",", sep))


def t_dotted_decimal_zero(x: Ctx) -> None:
    _public_text(x, lambda v: f"{v:,}".replace(",", ".") + ",0")


def t_nguoi_suffix(x: Ctx) -> None:
    _public_text(x, lambda v: f"{v} người", x.rng.choice(["tgt", "pub"]))


def t_dc_suffix(x: Ctx) -> None:
    c = x.w.camps[0]
    cols = study_cols(c, public=False)
    for i in (2, 3, 4):
        get = cols[i].get
        cols[i] = c_count(cols[i].head, lambda u, get=get: f"{get(u)} đ/c")
    sp = _study_form(x, c, cols, total=False)
    x.add([sp])
    for u in x.w.units:
        x.study(u, c, public=False)


def _one_cell(x: Ctx, col: int, value: object, must: str | None, truth_att: int | None = None,
              public: bool = True, footnote: str | None = None, k: int | None = None) -> None:
    """A study sheet with one body cell replaced (unit chosen at random, not the first)."""
    c = x.w.camps[0]
    k = x.rng.randrange(1, len(x.w.units)) if k is None else k
    sp = _study_form(x, c, public=public, total=False)
    r = sp.title_rows + 1 + k
    sp.rows[r][col] = value
    if footnote:
        sp.rows.append([footnote])
    x.add([sp])
    if must:
        x.must.append(must.format(unit=x.w.units[k].name))
    for i, u in enumerate(x.w.units):
        x.study(u, c, public=public, att=truth_att if i == k else None)


def t_decimal_count(x: Ctx) -> None:
    c = x.w.camps[0]
    k = x.rng.randrange(1, len(x.w.units))
    _one_cell(x, 4, f"{x.w.units[k].att(c) - 1},5", "{unit}: members attended written as a decimal", k=k)


def t_negative(x: Ctx) -> None:
    _one_cell(x, 3, -2, "{unit}: a negative exempt count")


def t_footnote_star(x: Ctx) -> None:
    c = x.w.camps[0]
    k = x.rng.randrange(1, len(x.w.units))
    sp = _study_form(x, c, public=False, total=False)
    sp.rows[sp.title_rows + 1 + k][4] = f"{x.w.units[k].att(c)}*"
    sp.rows.append(["(*) Số liệu đã được chi bộ báo cáo bổ sung"])
    x.add([sp])
    for u in x.w.units:
        x.study(u, c, public=False)


def t_range(x: Ctx) -> None:
    c = x.w.camps[0]
    k = x.rng.randrange(0, len(x.w.units))
    sp = _study_form(x, c, total=False)
    t = x.w.units[k].tgt(c)
    sp.rows[sp.title_rows + 1 + k][6] = f"{t - 20}-{t + 20}"
    x.add([sp])
    x.must.append(f"{x.w.units[k].name}: public target given as a range")
    for u in x.w.units:
        x.study(u, c)


def t_x_in_count(x: Ctx) -> None:
    _one_cell(x, 4, "x", "{unit}: 'x' in the members-attended column")


def t_public_over_target(x: Ctx, persons_header: bool = False) -> None:
    c = x.w.camps[0]
    for u in x.w.units[:2]:
        a, t, _ = u.study[c.campaign_id]
        u.study[c.campaign_id] = (a, t, t + x.rng.randint(5, 40))
    cols = study_cols(c) + [c_pct("Tỷ lệ quần chúng (%)", lambda u: u.pub(c), lambda u: u.tgt(c))]
    if persons_header:  # the header says the count is of people
        cols[7] = c_count("Số người (quần chúng) tham gia", cols[7].get)
    x.add([_study_form(x, c, cols)])
    for u in x.w.units:
        x.study(u, c)


def t_formula_total_nocache(x: Ctx) -> None:
    """Total = formula of official + probationary, saved without a cached value (openpyxl does so)."""
    cols = [c_stt(), c_name(), c_count("Tổng số đảng viên", lambda u: u.total),
            c_count("Đảng viên chính thức", lambda u: u.total - u.probationary),
            c_count("Đảng viên dự bị", lambda u: u.probationary),
            c_count("Số đảng viên được miễn sinh hoạt", lambda u: u.exempt)]
    sp = sheet("Đảng viên", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), cols, x.w.units)
    first = sp.title_rows + 2  # 1-based row of the first unit
    n = len(x.w.units)
    rel = x.add([sp])

    def edit(wb) -> None:
        ws = wb.worksheets[0]
        for r in range(first, first + n + 1):
            ws.cell(row=r, column=3).value = f"=D{r}+E{r}"
    x.post[rel] = [edit]
    for u in x.w.units:
        x.membership(u)


def t_formula_pct_nocache(x: Ctx) -> None:
    c = x.w.camps[0]
    sp = _study_form(x, c)
    first = sp.title_rows + 2
    n = len(x.w.units)
    rel = x.add([sp])

    def edit(wb) -> None:
        ws = wb.worksheets[0]
        for r in range(first, first + n + 1):
            ws.cell(row=r, column=6).value = f"=ROUND(E{r}/(C{r}-D{r})*100,2)"
    x.post[rel] = [edit]
    for u in x.w.units:
        x.study(u, c)


def t_date_in_count(x: Ctx) -> None:
    c = x.w.camps[0]
    k = x.rng.randrange(1, len(x.w.units))
    u = x.w.units[k]
    sp = _study_form(x, c, public=False, total=False)
    r = sp.title_rows + 1 + k
    if x.carrier == "xlsx":
        sp.rows[r][3] = 999999  # replaced by a date below
        rel = x.add([sp])

        def edit(wb, r=r) -> None:
            cell = wb.worksheets[0].cell(row=r + 1, column=4)
            cell.value = dt.datetime(x.year, 1, 2)
            cell.number_format = "dd/mm/yyyy"
        x.post[rel] = [edit]
    else:
        sp.rows[r][3] = f"02/01/{x.year}"
        x.add([sp])
    x.must.append(f"{u.name}: a date in the exempt-count column")
    for v in x.w.units:
        x.study(v, c, public=False)


def t_pct_as_attended(x: Ctx) -> None:
    c = x.w.camps[0]
    cols = [c_stt(), c_name(), c_count("Tổng số đảng viên", lambda u: u.total),
            c_count("Số đảng viên được miễn sinh hoạt", lambda u: u.exempt),
            c_count("Đảng viên tham gia học tập (%)", lambda u: pct(u.att(c), u.elig))]
    x.add([_study_form(x, c, cols, total=False)])
    x.must.append("members' attendance given only as a percentage")
    for u in x.w.units:
        x.study(u, c, public=False)


def t_pct_only_mratings(x: Ctx) -> None:
    cols = [c_stt(), c_name(), c_count("Tổng số đảng viên được đánh giá", lambda u: sum(u.members.values()))]
    for code, label in member_levels(x.year):
        cols.append(c_count(f"{label} (%)", lambda u, code=code: pct(u.members[code], sum(u.members.values()))))
    x.add([sheet("Xếp loại ĐV", titles(x.w, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI ĐẢNG VIÊN"), cols, x.w.units, total=False)])
    x.must.append("member levels given only as percentages")
    for u in x.w.units:
        x.mrating(u, na=None)


def t_pct_sl_swapped(x: Ctx) -> None:
    cols = [c_stt(), c_name()]
    for code, label in member_levels(x.year):
        cols.append(c_pct((label, "Tỷ lệ (%)"), lambda u, code=code: u.members[code],
                          lambda u: sum(u.members.values())))
        cols.append(c_count((label, "Số lượng"), lambda u, code=code: u.members[code]))
    x.add([sheet("Xếp loại ĐV", titles(x.w, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI ĐẢNG VIÊN"), cols, x.w.units)])
    for u in x.w.units:
        x.mrating(u, na=None)


# --- structure ------------------------------------------------------------------------------


def _stack(top: SheetSpec, below: SheetSpec) -> SheetSpec:
    t = len(top.rows) + 2
    rows = [list(r) for r in top.rows] + [[], []] + [list(r) for r in below.rows]
    merges = top.merges + [(a + t, b, c + t, d) for a, b, c, d in below.merges]
    return SheetSpec(top.name, rows, merges, title_rows=top.title_rows)


def t_stacked_membership_study(x: Ctx) -> None:
    c = x.w.camps[0]
    top = sheet("Tổng hợp", titles(x.w, "I. SỐ LƯỢNG ĐẢNG VIÊN"), membership_cols(), x.w.units)
    below = sheet("", [["II. KẾT QUẢ HỌC TẬP, QUÁN TRIỆT " + c.title.upper()], []],
                  [c_stt(), c_name(), c_count("Số đảng viên tham gia học tập", lambda u: u.att(c)),
                   c_count("Số quần chúng phải học", lambda u: u.tgt(c)),
                   c_count("Số quần chúng tham gia", lambda u: u.pub(c))], x.w.units)
    x.add([_stack(top, below)])
    for u in x.w.units:
        x.membership(u)
        x.study(u, c, with_members=False)


def t_stacked_ratings(x: Ctx) -> None:
    top = sheet("Xếp loại", titles(x.w, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI", "1. Xếp loại chi bộ"),
                urating_cols(x.year), x.w.units, total=False)
    below = sheet("", [["2. Xếp loại đảng viên"], []], mrating_cols(x.year), x.w.units)
    x.add([_stack(top, below)])
    for u in x.w.units:
        x.urating(u)
        x.mrating(u)


def t_transposed(x: Ctx) -> None:
    units = x.w.units
    rows = titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN")
    t = len(rows)
    rows += [["Chỉ tiêu"] + [u.name for u in units] + ["Cộng"],
             ["Tổng số đảng viên"] + [u.total for u in units] + [sum(u.total for u in units)],
             ["Số đảng viên được miễn sinh hoạt"] + [u.exempt for u in units] + [sum(u.exempt for u in units)]]
    x.add([SheetSpec("Đảng viên", rows, title_rows=t)])
    for u in units:
        x.membership(u)


def t_repeated_header(x: Ctx) -> None:
    sp = sheet("Đảng viên", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), membership_cols(), x.w.units)
    t = sp.title_rows
    k = 1 + x.rng.randrange(2, len(x.w.units))
    head = sp.rows[t]
    sp.rows = sp.rows[:t + k] + [list(head), [f"({i + 1})" for i in range(len(head))]] + sp.rows[t + k:]
    x.add([sp])
    for u in x.w.units:
        x.membership(u)


def _grouped(x: Ctx, c: Camp, subtotal_rows: bool, section_sums: bool) -> None:
    cols = study_cols(c)
    groups = [("Khối dân cư", [u for u in x.w.units if u.kind == "khu_dan_cu"]),
              ("Khối cơ quan, đơn vị", [u for u in x.w.units if u.kind != "khu_dan_cu"])]
    sp = _study_form(x, c, cols, total=False)
    t = sp.title_rows + 1
    rows = sp.rows[:t]
    k = 1
    for i, (label, us) in enumerate(groups):
        if section_sums:
            row = totals(cols, us, f"{('I', 'II')[i]}. {label}")
            rows.append(row)
        else:
            rows.append([("I", "II")[i], label] + [None] * (len(cols) - 2))
        rows += body(cols, us, k)
        k += len(us)
        if subtotal_rows:
            rows.append(totals(cols, us, f"Cộng {label.lower()}"))
    rows.append(totals(cols, x.w.units, "Tổng cộng"))
    sp.rows = rows
    x.add([sp])
    for u in x.w.units:
        x.study(u, c)


def t_subtotal_mid(x: Ctx) -> None:
    _grouped(x, x.w.camps[0], True, False)


def t_section_sums(x: Ctx) -> None:
    _grouped(x, x.w.camps[0], False, True)


def t_hidden_col(x: Ctx) -> None:
    """A hidden column left of the visible one, same header, last year's stale figures."""
    stale = {u.unit_id: u.total - x.rng.randint(1, 4) for u in x.w.units}
    cols = membership_cols()
    cols.insert(2, c_count("Tổng số đảng viên", lambda u: stale[u.unit_id]))
    sp = sheet("Đảng viên", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), cols, x.w.units)
    rel = x.add([sp])

    def edit(wb) -> None:
        wb.worksheets[0].column_dimensions["C"].hidden = True
    x.post[rel] = [edit]
    for u in x.w.units:
        x.membership(u)


def t_hidden_row(x: Ctx) -> None:
    """A hidden row: a stale draft line of a unit listed again, visible, below."""
    sp = sheet("Đảng viên", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), membership_cols(), x.w.units)
    t = sp.title_rows + 1
    k = x.rng.randrange(0, len(x.w.units))
    u = x.w.units[k]
    stale = [None, u.name, u.total + 3, u.exempt + 1]
    sp.rows.insert(t + k, stale)
    rel = x.add([sp])

    def edit(wb, r=t + k + 1) -> None:
        wb.worksheets[0].row_dimensions[r].hidden = True
    x.post[rel] = [edit]
    for v in x.w.units:
        x.membership(v)


def t_merged_data_rows(x: Ctx) -> None:
    c = x.w.camps[0]
    sp = _study_form(x, c, total=False)
    r = sp.title_rows + 1
    k = x.rng.randrange(0, len(x.w.units) - 1)
    sp.merges.append((r + k, 6, r + k + 1, 6))
    sp.rows[r + k + 1][6] = None
    sp.rows[r + k][6] = x.w.units[k].tgt(c) + x.w.units[k + 1].tgt(c)
    x.add([sp])
    x.must.append(f"public target merged over {x.w.units[k].name} and {x.w.units[k + 1].name}")
    for u in x.w.units:
        x.study(u, c)


def t_unit_two_sheets(x: Ctx) -> None:
    k = x.rng.randrange(0, len(x.w.units))
    a = sheet("Đảng viên", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), membership_cols(), x.w.units)
    cols = membership_cols()
    cols[2] = c_count("Tổng số đảng viên", lambda u: u.total + (2 if u is x.w.units[k] else 0))
    b = sheet("Đảng viên (bổ sung)", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN (BỔ SUNG)"), cols, x.w.units)
    x.add([a, b])
    x.must.append(f"{x.w.units[k].name}: two different totals in two sheets")
    for u in x.w.units:
        x.membership(u)


def t_campaign_two_sheets(x: Ctx) -> None:
    c = x.w.camps[0]
    k = x.rng.randrange(0, len(x.w.units))
    a = _study_form(x, c, name="Học tập")
    cols = study_cols(c)
    cols[4] = c_count(cols[4].head, lambda u: u.att(c) - (3 if u is x.w.units[k] else 0))
    cols[5] = c_pct(cols[5].head, lambda u: u.att(c) - (3 if u is x.w.units[k] else 0), lambda u: u.elig)
    b = _study_form(x, c, cols, name="Học tập (2)")
    x.add([a, b])
    x.must.append(f"{c.code} reported twice with different figures for {x.w.units[k].name}")
    for u in x.w.units:
        x.study(u, c)


def t_sheet1_membership(x: Ctx) -> None:
    x.add([sheet("Sheet1", [], membership_cols(), x.w.units)])
    for u in x.w.units:
        x.membership(u)


def t_sheet1_study(x: Ctx) -> None:
    c = x.w.camps[0]
    x.add([sheet("Sheet1", [], study_cols(c), x.w.units)], x.rel("bieu-so-lieu"))
    x.must.append("a study sheet naming no campaign in a year of several")
    for u in x.w.units:
        x.study(u, c)


def t_template_sheet(x: Ctx) -> None:
    empty = sheet("Biểu mẫu trống", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), membership_cols(), [], total=False)
    empty.rows += [[i + 1, None, None, None] for i in range(4)]
    data = sheet("Đảng viên", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), membership_cols(), x.w.units)
    x.add([empty, data] if x.rng.random() < 0.5 else [data, empty])
    for u in x.w.units:
        x.membership(u)


NOTES = ("Có 02 đ/c chuyển sinh hoạt tạm thời", "Học bù 3 đ/c ngày 15/5", "01 đ/c ốm dài ngày",
         "Kết nạp mới 2 đ/c", "Thôn sáp nhập từ 2 thôn cũ")


def t_notes_numbers(x: Ctx) -> None:
    c = x.w.camps[0]
    cols = study_cols(c) + [c_text("Ghi chú", lambda u: None)]
    sp = _study_form(x, c, cols)
    t = sp.title_rows + 1
    for k in x.rng.sample(range(len(x.w.units)), 2):
        sp.rows[t + k][-1] = x.rng.choice(NOTES)
    x.add([sp])
    for u in x.w.units:
        x.study(u, c)


def t_committee_total_row(x: Ctx) -> None:
    cols = membership_cols()
    sp = sheet("Đảng viên", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), cols, x.w.units, total=False)
    t = sp.title_rows + 1
    sp.rows.insert(t, totals(cols, x.w.units, x.w.committee))
    x.add([sp])
    for u in x.w.units:
        x.membership(u)


def t_numbered_names(x: Ctx) -> None:
    cols = [c_name("Chi bộ"), c_count("Tổng số đảng viên", lambda u: u.total),
            c_count("Số đảng viên được miễn sinh hoạt", lambda u: u.exempt)]
    units = x.w.units
    sp = sheet("Đảng viên", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), cols, units)
    t = sp.title_rows + 1
    for i, u in enumerate(units):
        sp.rows[t + i][0] = f"{i + 1}. {u.name}"
    x.add([sp])
    for u in units:
        x.membership(u)


def t_probationary_col(x: Ctx) -> None:
    cols = membership_cols()
    cols.insert(3, c_count(("Trong đó: dự bị",), lambda u: u.probationary))
    x.add([sheet("Đảng viên", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), cols, x.w.units)])
    for u in x.w.units:
        x.membership(u)


def t_exempt_attended_col(x: Ctx) -> None:
    c = x.w.camps[0]
    cols = study_cols(c, public=False)
    cols.insert(5, c_count("Số đảng viên miễn sinh hoạt có tham gia học", lambda u: min(u.exempt, 1)))
    x.add([_study_form(x, c, cols)])
    for u in x.w.units:
        x.study(u, c, public=False)


def t_breakdown_subrows(x: Ctx) -> None:
    cols = membership_cols()
    sp = sheet("Đảng viên", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), cols, x.w.units)
    t = sp.title_rows + 1
    rows = sp.rows[:t]
    for i, u in enumerate(x.w.units):
        rows.append(sp.rows[t + i])
        if i in (0, 2):
            rows.append([None, "- Đảng viên chính thức", u.total - u.probationary, None])
            rows.append([None, "- Đảng viên dự bị", u.probationary, None])
    rows += sp.rows[t + len(x.w.units):]
    sp.rows = rows
    x.add([sp])
    for u in x.w.units:
        x.membership(u)


# --- meaning --------------------------------------------------------------------------------


def t_public_target_pct_text(x: Ctx) -> None:
    c = x.w.camps[0]
    cols = study_cols(c)
    cols[6] = c_text("Chỉ tiêu quần chúng", lambda u: "100%")
    sp = _study_form(x, c, cols)
    sp.rows[-1][6] = "100%"
    x.add([sp])
    for u in x.w.units:
        x.study(u, c, target=None)


def t_public_only_sheet(x: Ctx) -> None:
    c = x.w.camps[0]
    cols = [c_stt(), c_name(), c_count("Đối tượng phải học", lambda u: u.tgt(c)),
            c_count("Số tham gia", lambda u: u.pub(c)), c_pct("Tỷ lệ (%)", lambda u: u.pub(c), lambda u: u.tgt(c))]
    x.add([_study_form(x, c, cols, heading="KẾT QUẢ HỌC TẬP CỦA QUẦN CHÚNG NHÂN DÂN")])
    x.must.append("a public-only study sheet: no members' attendance")
    for u in x.w.units:
        x.study(u, c, with_members=False)


def t_two_years_membership(x: Ctx) -> None:
    y0, y1 = x.year - 1, x.year
    prev = {u.unit_id: (u.total - x.rng.randint(0, 4), max(0, u.exempt - x.rng.randint(0, 1))) for u in x.w.units}
    cols = [c_stt(), c_name(),
            c_count((f"Năm {y0}", "Tổng số đảng viên"), lambda u: prev[u.unit_id][0]),
            c_count((f"Năm {y0}", "Miễn sinh hoạt"), lambda u: prev[u.unit_id][1]),
            c_count((f"Năm {y1}", "Tổng số đảng viên"), lambda u: u.total),
            c_count((f"Năm {y1}", "Miễn sinh hoạt"), lambda u: u.exempt)]
    x.add([sheet("Đảng viên", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN", year=False), cols, x.w.units)])
    for u in x.w.units:
        x.membership(u)
        x.maybe["membership"].add((u.unit_id, y0, *prev[u.unit_id]))


def t_two_years_ratings(x: Ctx) -> None:
    y0, y1 = x.year - 1, x.year
    codes = [c for c, _ in unit_levels(y1)]
    prev = {u.unit_id: x.rng.choice(codes[:3]) for u in x.w.units}
    labels = dict(unit_levels(y1))
    cols = [c_stt(), c_name(), c_text(f"Xếp loại năm {y0}", lambda u: labels[prev[u.unit_id]]),
            c_text(f"Xếp loại năm {y1}", lambda u: labels[u.level])]
    x.add([sheet("Xếp loại", titles(x.w, "KẾT QUẢ XẾP LOẠI CHI BỘ"), cols, x.w.units, total=False)])
    for u in x.w.units:
        x.urating(u)
        x.urating(u, year=y0, level=prev[u.unit_id], required=False)


def t_plan_vs_done(x: Ctx) -> None:
    c = x.w.camps[0]
    cols = [c_stt(), c_name(), c_count(("Đảng viên", "Kế hoạch"), lambda u: u.elig),
            c_count(("Đảng viên", "Thực hiện"), lambda u: u.att(c)),
            c_count(("Quần chúng", "Kế hoạch"), lambda u: u.tgt(c)),
            c_count(("Quần chúng", "Thực hiện"), lambda u: u.pub(c))]
    x.add([_study_form(x, c, cols)])
    for u in x.w.units:
        x.study(u, c, with_members=False)


def t_absent_col(x: Ctx) -> None:
    c = x.w.camps[0]
    cols = [c_stt(), c_name(), c_count("Tổng số đảng viên", lambda u: u.total),
            c_count("Số đảng viên được miễn sinh hoạt", lambda u: u.exempt),
            c_count("Số đảng viên vắng", lambda u: u.elig - u.att(c))]
    x.add([_study_form(x, c, cols)])
    for u in x.w.units:
        x.study(u, c, public=False)


def t_makeup_only(x: Ctx) -> None:
    c = x.w.camps[0]
    cols = [c_stt(), c_name(), c_count("Tổng số đảng viên", lambda u: u.total),
            c_count("Số đảng viên được miễn sinh hoạt", lambda u: u.exempt),
            c_count("Số đảng viên học bù", lambda u: min(3, u.att(c)))]
    x.add([_study_form(x, c, cols)])
    x.must.append("only make-up attendance: no members' attendance")
    for u in x.w.units:
        x.study(u, c, public=False)


def t_na_two_cols(x: Ctx) -> None:
    split = {u.unit_id: x.rng.randint(0, u.na) for u in x.w.units}
    cols = mrating_cols(x.year, na=False)
    cols = [Col((c.head[0], None), c.get, c.kind) if c.kind in ("stt", "name") else
            Col(("Số đảng viên được xếp loại", c.head[0]), c.get, c.kind) for c in cols]
    cols += [c_count(("Không xếp loại", "Mới kết nạp"), lambda u: split[u.unit_id]),
             c_count(("Không xếp loại", "Miễn, tạm hoãn"), lambda u: u.na - split[u.unit_id])]
    x.add([sheet("Xếp loại ĐV", titles(x.w, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI ĐẢNG VIÊN"), cols, x.w.units)])
    for u in x.w.units:
        x.mrating(u)


def t_campaign_sheet_name_only(x: Ctx) -> None:
    c = x.rng.choice(x.w.camps)
    word = {"Nghị quyết": "NQ", "Chỉ thị": "CT", "Kết luận": "KL"}[c.kind]
    x.add([_study_form(x, c, extra=(), name=f"{word} {c.code.split('/')[0]}")])
    for u in x.w.units:
        x.study(u, c)


def t_campaign_file_name_only(x: Ctx) -> None:
    c = x.rng.choice(x.w.camps)
    x.add([_study_form(x, c, extra=(), name="Sheet1")], x.rel(f"hoc-tap-{_slug(c.code)}"))
    for u in x.w.units:
        x.study(u, c)


def t_campaign_nowhere(x: Ctx) -> None:
    c = x.w.camps[0]
    x.add([_study_form(x, c, extra=(), name="Sheet1")], x.rel("bao-cao"))
    x.must.append("a study sheet naming no campaign in a year of several")
    for u in x.w.units:
        x.study(u, c)


def t_title_year_vs_folder(x: Ctx) -> None:
    """Ratings of year Y (title) filed under the folder of Y+1 (sent in January)."""
    x.add([sheet("Xếp loại TCĐ", titles(x.w, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHI BỘ"), urating_cols(x.year), x.w.units,
                 total=False)], x.rel(year=x.year + 1))
    for u in x.w.units:
        x.urating(u)


def t_other_scheme_label(x: Ctx) -> None:
    k = x.rng.randrange(0, len(x.w.units))
    cols = urating_cols(x.year)
    other = "Hoàn thành xuất sắc nhiệm vụ" if x.year <= 2017 else "Trong sạch, vững mạnh"
    labels = dict(unit_levels(x.year))
    cols[2] = c_text("Kết quả xếp loại", lambda u: other if u is x.w.units[k] else labels[u.level])
    x.add([sheet("Xếp loại TCĐ", titles(x.w, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHI BỘ"), cols, x.w.units, total=False)])
    x.must.append(f"{x.w.units[k].name}: a level of another scheme ({other}) in {x.year}")
    for u in x.w.units:
        if u is not x.w.units[k]:
            x.urating(u)


def t_docx_year_in_paragraph(x: Ctx) -> None:
    kind = x.rng.choice(["membership", "urating", "mrating"])
    heading = {"membership": "Biểu 1: Số lượng đảng viên của các chi bộ",
               "urating": "Biểu 2: Kết quả đánh giá, xếp loại chi bộ",
               "mrating": "Biểu 3: Kết quả đánh giá, xếp loại đảng viên"}[kind]
    para = [[f"ĐẢNG ỦY {x.w.ckind.upper()} {x.w.cname.upper()}"],
            [f"Báo cáo kết quả công tác xây dựng Đảng năm {x.year} của Đảng ủy {x.w.ckind} {x.w.cname} như sau:"],
            [heading], []]
    cols = {"membership": membership_cols(), "urating": urating_cols(x.year), "mrating": mrating_cols(x.year)}[kind]
    x.add([sheet("", para, cols, x.w.units, total=kind != "urating")], f"bao-cao/{x.w.cid}-bao-cao.docx")
    for u in x.w.units:
        {"membership": x.membership, "urating": x.urating, "mrating": x.mrating}[kind](u)


def t_exemplary_in_label(x: Ctx) -> None:
    top = [u for u in x.w.units if u.level == unit_levels(x.year)[0][0]]
    if not top:
        x.w.units[0].level = unit_levels(x.year)[0][0]
        top = [x.w.units[0]]
    star = top[0]
    labels = dict(unit_levels(x.year))
    cols = urating_cols(x.year)
    cols[2] = c_text("Kết quả xếp loại",
                     lambda u: f"{labels[u.level]} (tiêu biểu)" if u is star else labels[u.level])
    x.add([sheet("Xếp loại TCĐ", titles(x.w, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHI BỘ"), cols, x.w.units, total=False)])
    for u in x.w.units:
        x.urating(u, exemplary=u is star)


def t_members_and_public_one_col(x: Ctx) -> None:
    c = x.w.camps[0]
    cols = [c_stt(), c_name(), c_count("Tổng số đảng viên", lambda u: u.total),
            c_count("Số đảng viên được miễn sinh hoạt", lambda u: u.exempt),
            c_count("Số cán bộ, đảng viên và quần chúng tham gia", lambda u: u.att(c) + u.pub(c))]
    x.add([_study_form(x, c, cols)])
    x.must.append("members and public counted together in one column")
    for u in x.w.units:
        x.study(u, c, public=False)


def t_sessions_col(x: Ctx) -> None:
    c = x.w.camps[0]
    cols = study_cols(c, public=False)
    cols.insert(2, c_count("Số buổi học", lambda u: 1 + len(u.name) % 3))
    x.add([_study_form(x, c, cols)])
    for u in x.w.units:
        x.study(u, c, public=False)


def t_previous_campaign(x: Ctx) -> None:
    """Last year's campaign studied late, filed in this year's folder with this year's title."""
    prev = CAMPS[x.year - 1][0]
    for u in x.w.units:
        a, t, p = u.study[x.w.camps[0].campaign_id]
        u.study[prev.campaign_id] = (a, t, p)
    x.add([_study_form(x, prev)])
    for u in x.w.units:
        x.study(u, prev)


def t_one_decimal_pct_comma_counts(x: Ctx) -> None:
    """Vietnamese thousands dot in members columns of a small unit: "1.046" members of a large ward cell."""
    c = x.w.camps[0]
    big = x.w.units[0]
    big.total += 1000
    a, t, p = big.study[c.campaign_id]
    big.study[c.campaign_id] = (a + 900, t, p)
    cols = study_cols(c, public=False)
    for i in (2, 4):
        get = cols[i].get
        cols[i] = c_count(cols[i].head, lambda u, get=get: f"{get(u):,}".replace(",", "."))
    x.add([_study_form(x, c, cols, total=False)])
    for u in x.w.units:
        x.study(u, c, public=False)


def t_stacked_study_membership(x: Ctx) -> None:
    """The study table above, the membership table below (the reverse of ``stacked-membership-study``)."""
    c = x.w.camps[0]
    top = _study_form(x, c, [c_stt(), c_name(), c_count("Số đảng viên tham gia học tập", lambda u: u.att(c)),
                             c_count("Số quần chúng phải học", lambda u: u.tgt(c)),
                             c_count("Số quần chúng tham gia", lambda u: u.pub(c))], name="Tổng hợp")
    below = sheet("", [["SỐ LƯỢNG ĐẢNG VIÊN ĐẾN 31/12/" + str(x.year)], []], membership_cols(), x.w.units)
    x.add([_stack(top, below)])
    for u in x.w.units:
        x.membership(u)
        x.study(u, c, with_members=False)


def t_side_by_side_tables(x: Ctx) -> None:
    """Membership on the left, unit ratings on the right of the same rows, an empty column between."""
    left = sheet("Tổng hợp", titles(x.w, "SỐ LƯỢNG VÀ XẾP LOẠI"), membership_cols(), x.w.units, total=False)
    right = sheet("", [], urating_cols(x.year), x.w.units, total=False)
    t = left.title_rows
    for i, r in enumerate(right.rows):
        left.rows[t + i] = list(left.rows[t + i]) + [None] + list(r)
    x.add([left])
    for u in x.w.units:
        x.membership(u)
        x.urating(u)


def t_title_mentions_other_campaign(x: Ctx) -> None:
    """2021: "Kết luận 01-KL/TW về tiếp tục thực hiện Chỉ thị 05-CT/TW" beside "Chỉ thị 05-CT/TW" of the same year."""
    c = x.w.camps[0]
    x.add([_study_form(x, c, name="Kết luận 01")])
    for u in x.w.units:
        x.study(u, c)


def t_hidden_sheet(x: Ctx) -> None:
    """A hidden sheet (an old draft with other figures) before the visible one, same title and header."""
    stale = {u.unit_id: u.total + x.rng.randint(1, 3) for u in x.w.units}
    cols = membership_cols()
    cols[2] = c_count("Tổng số đảng viên", lambda u: stale[u.unit_id])
    draft = sheet("Nháp", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), cols, x.w.units)
    real = sheet("Đảng viên", titles(x.w, "SỐ LƯỢNG ĐẢNG VIÊN"), membership_cols(), x.w.units)
    rel = x.add([draft, real])

    def edit(wb) -> None:
        wb.worksheets[0].sheet_state = "hidden"
        wb.active = 1
    x.post[rel] = [edit]
    for u in x.w.units:
        x.membership(u)


# ---------------------------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trap:
    name: str
    fn: Callable[[Ctx], None]
    carriers: tuple[str, ...]
    years: tuple[int, ...] = ()
    world: dict = field(default_factory=dict)


_ALL_YEARS = YEARS[1:-1]  # a year before and after exists in the catalogue
TRAPS: tuple[Trap, ...] = (
    Trap("baseline-study", t_baseline_study, ("xlsx", "csv-utf8", "docx")),
    Trap("baseline-membership", t_baseline_membership, ("xlsx", "ods", "csv-utf16")),
    Trap("baseline-urating", t_baseline_urating, ("xlsx", "xls", "csv-utf8")),
    Trap("baseline-mrating", t_baseline_mrating, ("xlsx", "docx", "csv-semicolon")),
    # numbers
    Trap("comma-thousands", t_comma_thousands, ("xlsx", "csv-utf8", "docx"), world={"big_public": True}),
    Trap("space-thousands", t_space_thousands, ("xlsx", "csv-utf16", "ods"), world={"big_public": True}),
    Trap("dotted-decimal-zero", t_dotted_decimal_zero, ("xlsx", "csv-semicolon", "docx"), world={"big_public": True}),
    Trap("nguoi-suffix", t_nguoi_suffix, ("xlsx", "ods", "csv-cp1258")),
    Trap("dc-suffix", t_dc_suffix, ("xlsx", "docx", "csv-utf8")),
    Trap("decimal-count", t_decimal_count, ("xlsx", "csv-utf8", "ods")),
    Trap("negative-count", t_negative, ("xlsx", "ods", "csv-utf8-bom")),
    Trap("footnote-star", t_footnote_star, ("xlsx", "xls", "docx")),
    Trap("range", t_range, ("xlsx", "csv-utf8", "ods")),
    Trap("x-in-count", t_x_in_count, ("xlsx", "docx", "csv-semicolon")),
    Trap("public-over-target", t_public_over_target, ("xlsx", "xls", "csv-utf8")),
    Trap("public-over-target-persons", lambda x: t_public_over_target(x, True), ("xlsx", "ods", "csv-utf8")),
    Trap("formula-total-nocache", t_formula_total_nocache, ("xlsx", "xlsx", "xlsx")),
    Trap("formula-pct-nocache", t_formula_pct_nocache, ("xlsx", "xlsx")),
    Trap("date-in-count", t_date_in_count, ("xlsx", "xlsx", "csv-utf8")),
    Trap("pct-as-attended", t_pct_as_attended, ("xlsx", "csv-utf8", "docx")),
    Trap("pct-only-mratings", t_pct_only_mratings, ("xlsx", "ods", "csv-utf8")),
    Trap("pct-sl-swapped", t_pct_sl_swapped, ("xlsx", "ods", "docx")),
    Trap("vi-thousands-members", t_one_decimal_pct_comma_counts, ("xlsx", "csv-utf8", "ods")),
    # structure
    Trap("stacked-membership-study", t_stacked_membership_study, ("xlsx", "ods", "csv-utf8")),
    Trap("stacked-study-membership", t_stacked_study_membership, ("xlsx", "xls", "csv-utf8")),
    Trap("side-by-side-tables", t_side_by_side_tables, ("xlsx", "ods", "csv-utf8")),
    Trap("hidden-sheet", t_hidden_sheet, ("xlsx", "xlsx")),
    Trap("title-mentions-other-campaign", t_title_mentions_other_campaign, ("xlsx", "csv-utf8", "docx"),
         years=(2021,)),
    Trap("stacked-ratings", t_stacked_ratings, ("xlsx", "xls", "csv-utf16")),
    Trap("transposed", t_transposed, ("xlsx", "csv-utf8", "docx")),
    Trap("repeated-header", t_repeated_header, ("xlsx", "csv-utf8-bom", "ods")),
    Trap("subtotal-mid", t_subtotal_mid, ("xlsx", "csv-utf8", "docx")),
    Trap("section-sums", t_section_sums, ("xlsx", "xls", "csv-semicolon")),
    Trap("hidden-col", t_hidden_col, ("xlsx", "xlsx")),
    Trap("hidden-row", t_hidden_row, ("xlsx", "xlsx")),
    Trap("merged-data-rows", t_merged_data_rows, ("xlsx", "ods", "docx")),
    Trap("unit-two-sheets", t_unit_two_sheets, ("xlsx", "ods", "xls")),
    Trap("campaign-two-sheets", t_campaign_two_sheets, ("xlsx", "ods", "docx")),
    Trap("sheet1-membership", t_sheet1_membership, ("xlsx", "csv-utf8", "xls")),
    Trap("sheet1-study", t_sheet1_study, ("xlsx", "csv-utf8", "ods")),
    Trap("template-sheet", t_template_sheet, ("xlsx", "ods", "xls")),
    Trap("notes-numbers", t_notes_numbers, ("xlsx", "csv-utf8", "docx")),
    Trap("committee-total-row", t_committee_total_row, ("xlsx", "csv-utf8", "ods")),
    Trap("numbered-names", t_numbered_names, ("xlsx", "csv-utf8", "docx"), world={"numbered": True, "n": 6}),
    Trap("probationary-col", t_probationary_col, ("xlsx", "ods", "csv-utf8")),
    Trap("exempt-attended-col", t_exempt_attended_col, ("xlsx", "csv-utf8", "docx")),
    Trap("breakdown-subrows", t_breakdown_subrows, ("xlsx", "xls", "csv-utf8")),
    # meaning
    Trap("public-target-100pct", t_public_target_pct_text, ("xlsx", "csv-utf8", "docx")),
    Trap("public-only-sheet", t_public_only_sheet, ("xlsx", "ods", "csv-utf8")),
    Trap("two-years-membership", t_two_years_membership, ("xlsx", "ods", "docx")),
    Trap("two-years-ratings", t_two_years_ratings, ("xlsx", "csv-utf8", "xls"),
         years=(2015, 2016, 2017, 2019, 2020, 2021, 2022, 2024)),
    Trap("plan-vs-done", t_plan_vs_done, ("xlsx", "ods", "csv-utf8")),
    Trap("absent-col", t_absent_col, ("xlsx", "csv-utf8", "docx")),
    Trap("makeup-only", t_makeup_only, ("xlsx", "ods", "csv-utf8-bom")),
    Trap("na-two-cols", t_na_two_cols, ("xlsx", "ods", "docx")),
    Trap("campaign-sheet-name-only", t_campaign_sheet_name_only, ("xlsx", "ods", "xls")),
    Trap("campaign-file-name-only", t_campaign_file_name_only, ("csv-utf8", "xlsx", "docx")),
    Trap("campaign-nowhere", t_campaign_nowhere, ("xlsx", "csv-utf8", "docx")),
    Trap("title-year-vs-folder", t_title_year_vs_folder, ("xlsx", "csv-utf8", "ods"), years=(2017, 2022, 2016, 2020)),
    Trap("other-scheme-label", t_other_scheme_label, ("xlsx", "csv-utf8", "docx"), years=(2015, 2016, 2019, 2021)),
    Trap("docx-year-in-paragraph", t_docx_year_in_paragraph, ("docx", "docx", "docx")),
    Trap("exemplary-in-label", t_exemplary_in_label, ("xlsx", "csv-utf8", "ods"),
         years=(2015, 2016, 2019, 2020, 2021, 2023)),
    Trap("members-and-public-one-col", t_members_and_public_one_col, ("xlsx", "csv-utf8", "docx")),
    Trap("sessions-col", t_sessions_col, ("xlsx", "ods", "csv-utf8")),
    Trap("previous-campaign", t_previous_campaign, ("xlsx", "csv-utf8", "ods")),
)

#: Safe traps (their truth needs no report) that a broad form combines.
BROAD_PARTS = ("dc-suffix", "footnote-star", "notes-numbers", "template-sheet", "repeated-header", "section-sums",
               "probationary-col", "committee-total-row", "plan-vs-done", "space-thousands")


def _make(form_id: str, trap: Trap, carrier: str, seed: int) -> AdversaryForm:
    rng = random.Random(f"adversary/{seed}/{form_id}")
    year = rng.choice(trap.years or _ALL_YEARS)
    world = World(rng, year, **trap.world)
    x = Ctx(rng, year, carrier, world)
    trap.fn(x)
    return AdversaryForm(form_id, trap.name, carrier, "unicode", year, x.files, world.units_csv(),
                         world.campaigns_csv(), {t: set(r) for t, r in x.rows.items()},
                         {t: r - x.rows[t] for t, r in x.maybe.items()}, [trap.name],
                         list(dict.fromkeys(x.must)), [], x.post)


def _broad(form_id: str, carrier: str, seed: int) -> AdversaryForm:
    """A workbook with membership, each campaign, unit and member ratings; several safe traps."""
    rng = random.Random(f"adversary/{seed}/{form_id}")
    year = rng.choice(_ALL_YEARS)
    w = World(rng, year, n=rng.randint(5, 7))
    x = Ctx(rng, year, carrier, w)
    parts = rng.sample(["dc-suffix", "notes-numbers", "repeated-header", "section-sums", "probationary-col",
                        "committee-total-row", "template-sheet"], 3)
    sheets: list[SheetSpec] = []
    mcols = membership_cols()
    if "probationary-col" in parts:
        mcols.insert(3, c_count(("Trong đó: dự bị",), lambda u: u.probationary))
    if "dc-suffix" in parts:
        for i in (2, 3):
            get = mcols[i].get
            mcols[i] = c_count(mcols[i].head, lambda u, get=get: f"{get(u)} đ/c")
    ms = sheet("Đảng viên", titles(w, "SỐ LƯỢNG ĐẢNG VIÊN"), mcols, w.units, total="dc-suffix" not in parts)
    if "committee-total-row" in parts:
        ms.rows.insert(ms.title_rows + 1, totals(membership_cols(), w.units, w.committee)[:2]
                       + [sum(u.total for u in w.units)] + ([sum(u.probationary for u in w.units)]
                                                            if "probationary-col" in parts else [])
                       + [sum(u.exempt for u in w.units)])
    if "repeated-header" in parts:
        t = ms.title_rows
        ms.rows.insert(t + 3, list(ms.rows[t]))
    sheets.append(ms)
    for u in w.units:
        x.membership(u)
    for c in w.camps:
        cols = study_cols(c)
        if "notes-numbers" in parts:
            cols.append(c_text("Ghi chú", lambda u: rng.choice(NOTES) if rng.random() < 0.3 else None))
        sp = _study_form(x, c, cols)
        if "section-sums" in parts:
            res = [u for u in w.units if u.kind == "khu_dan_cu"]
            srv = [u for u in w.units if u.kind != "khu_dan_cu"]
            t = sp.title_rows + 1
            sp.rows = (sp.rows[:t] + [totals(cols, res, "I. Khối dân cư")] + body(cols, res)
                       + [totals(cols, srv, "II. Khối cơ quan")] + body(cols, srv, len(res) + 1)
                       + [totals(cols, w.units, "Tổng cộng")])
        sheets.append(sp)
        for u in w.units:
            x.study(u, c, with_members=False)
    sheets.append(sheet("Xếp loại TCĐ", titles(w, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHI BỘ"), urating_cols(year), w.units,
                        total=False))
    sheets.append(sheet("Xếp loại ĐV", titles(w, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI ĐẢNG VIÊN"), mrating_cols(year),
                        w.units))
    for u in w.units:
        x.urating(u)
        x.mrating(u)
    if "template-sheet" in parts:
        sheets.insert(rng.randrange(len(sheets)), sheet("Mẫu", titles(w, "SỐ LƯỢNG ĐẢNG VIÊN"), membership_cols(),
                                                        [], total=False))
    x.add(sheets)
    return AdversaryForm(form_id, "broad", carrier, "unicode", year, x.files, w.units_csv(), w.campaigns_csv(),
                         {t: set(r) for t, r in x.rows.items()}, {t: r - x.rows[t] for t, r in x.maybe.items()},
                         ["broad"] + sorted(parts), list(dict.fromkeys(x.must)), [], x.post)


def build_forms(seed: int = SEED, broad: int = 12) -> list[AdversaryForm]:
    """Every adversary form, in a stable order: one per (trap, carrier) entry, then ``broad`` forms."""
    forms = []
    for trap in TRAPS:
        for i, carrier in enumerate(trap.carriers):
            forms.append(_make(f"adversary/{trap.name}/{carrier}/{i}", trap, carrier, seed))
    for i in range(broad):
        carrier = MULTI_SHEET[i % len(MULTI_SHEET)]
        forms.append(_broad(f"adversary/broad/{carrier}/{i}", carrier, seed))
    return forms


def write_raw(form: AdversaryForm, raw: Path) -> None:
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


__all__ = ["CARRIERS", "AdversaryForm", "TRAPS", "build_forms", "write_raw"]
