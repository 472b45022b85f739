"""A held-out generator of committee report forms, written independently of ``generator.py``.

The intake was tuned against ``tests/formgen/generator.py``; this module is its adversary. It
shares only the *interface* with it (the raw-folder layout, ``carriers.write_form`` and the
compared columns ``generator.COMPARED``); its vocabulary, layouts, traps and header builder are
its own, and it deliberately does not read ``analysis.reference``.

Vocabulary sources (public pages found with the project's page search, 2025):

* Hàm Thuận Nam 2012 — "cán bộ, đảng viên tham gia học tập, quán triệt là 1.356/1.468, đạt tỷ lệ
  97,8%": an attended/base pair written in one cell (``slash`` columns);
* Quận 9 (TP HCM), NQ TW7 khóa XI — "4.207/4.412 cán bộ, đảng viên … đạt tỷ lệ 95,35%";
* Cần Thơ 2017 — "34.801 đảng viên, đạt tỷ lệ 77,56% so với tổng số đảng viên": a rate against
  the *total*, not the members who had to attend;
* Đức Linh 2021 — "đoàn viên, hội viên, quần chúng 283 người" (public in persons);
* Tây Ninh 2021 — "378 lớp" (classes: a number no canonical table holds);
* Đồng Tháp 2013 — "Chi bộ trực thuộc đảng ủy cơ sở … TSVM … trong đó … tiêu biểu", member
  levels "đủ tư cách, hoàn thành xuất sắc / tốt nhiệm vụ", "vi phạm tư cách hoặc không hoàn
  thành nhiệm vụ";
* Hải Dương 2020 — "662 trong tổng số 686 TCCSĐ được đánh giá";
* HD 21-HD/BTCTW 2019 (lawnet.vn) and QĐ 124-QĐ/TW 2023 (dansinh.vn) — members newly admitted
  (< 6 months), exempt or suspended are not assessed: "Không xếp loại (mới kết nạp)" columns;
* Huyện ủy Cần Giờ, "Phụ lục 3 – Công tác xây dựng Đảng" (hcmcpv.org.vn) — "Tiếp nhận từ nơi
  khác chuyển đến", "Chuyển đi nơi khác", "Đảng viên từ trần", "Phát triển Đảng": the membership
  movement columns (start of year / in / out / end of year);
* HD 11-HD/BTCTW 2021 (thống kê cơ bản) — "Đảng bộ bộ phận", "chi bộ trực thuộc".

Every form carries its truth as the canonical rows a careful analyst would type in
(``truth``/``optional``, same columns and rules as ``test_formgen``), plus:

* ``must_report`` — reasons the form cannot be read with confidence (a unit listed twice with
  different figures, a "Cộng" row that disagrees with its rows, two campaign groups labelled
  alike, a unit rated on the other scheme's levels, a unit absent from ``units.csv``): ``ingest``
  exiting 0 on such a form is a silent misread whatever its tables hold;
* ``extra_columns`` — columns of figures no canonical table holds ("Số lớp", "Kết nạp mới" …):
  the manifest must account for them.

Two families: *broad* forms (``holdout/<layout>/<carrier>/<encoding>/<n>``: every choice seeded,
several traps at once) and *focused* forms (``holdout/focused/<trap>/<layout>/<carrier>/<n>``,
:data:`FOCUSED`: the most ordinary wording and styles, and exactly one trap), so that a misread
can be traced to one rule.

Example:
    >>> forms = build_forms()
    >>> len(forms) >= 150 and len({f.form_id for f in forms}) == len(forms)
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

from .carriers import CARRIERS, SheetSpec, write_form
from .generator import COMPARED

SEED = 4417
PER_PAIR = 3
SUFFIX = {"xlsx": ".xlsx", "xls": ".xls", "ods": ".ods", "docx": ".docx"}
FONT_CARRIERS = ("xlsx", "xls", "ods", "docx")
LAYOUTS = ("per-campaign", "side-by-side", "combined", "unit-x", "member-pairs", "long", "per-committee",
           "membership")

# ---------------------------------------------------------------------------------------------
# Reference world: schemes, campaigns, places
# ---------------------------------------------------------------------------------------------


def scheme_for(year: int) -> str:
    """The rating scheme in force for an assessment year."""
    if year <= 2017:
        return "tsvm-2008"
    if year <= 2022:
        return "qd132-2018"
    if year <= 2024:
        return "qd124-2023"
    return "qd366-2025"


# (code, spellings) best first
UNIT_OLD = (
    ("tsvm", ("Trong sạch, vững mạnh", "TSVM", "Trong sạch - vững mạnh")),
    ("httnv", ("Hoàn thành tốt nhiệm vụ", "HTT nhiệm vụ", "Hoàn thành tốt nhiệm vụ (HTTNV)")),
    ("htnv", ("Hoàn thành nhiệm vụ", "HT nhiệm vụ", "Hoàn thành nhiệm vụ (HTNV)")),
    ("yeu-kem", ("Yếu kém", "Yếu, kém", "Yếu kém (YK)")),
)
MEMBER_OLD = (
    ("htxsnv", ("Đủ tư cách, hoàn thành xuất sắc nhiệm vụ", "ĐTC, HTXS nhiệm vụ", "Đủ TC hoàn thành xuất sắc NV")),
    ("httnv", ("Đủ tư cách, hoàn thành tốt nhiệm vụ", "ĐTC, HTT nhiệm vụ", "Đủ TC hoàn thành tốt NV")),
    ("htnv", ("Đủ tư cách, hoàn thành nhiệm vụ", "Đủ tư cách, HTNV nhưng còn hạn chế", "Đủ TC hoàn thành NV")),
    ("vi-pham", ("Vi phạm tư cách hoặc không hoàn thành nhiệm vụ", "Vi phạm tư cách", "VPTC hoặc không HTNV")),
)
LATER = (
    ("htxsnv", ("Hoàn thành xuất sắc nhiệm vụ", "Hoàn thành xuất sắc NV", "HTXS nhiệm vụ", "HTXSNV")),
    ("httnv", ("Hoàn thành tốt nhiệm vụ", "Hoàn thành tốt NV", "HTTNV")),
    ("htnv", ("Hoàn thành nhiệm vụ", "Hoàn thành NV", "HTNV")),
    ("khtnv", ("Không hoàn thành nhiệm vụ", "Không hoàn thành NV", "KHTNV", "Không HTNV")),
)
EXEMPLARY_OLD = ("Trong đó TSVM tiêu biểu", "Đạt TSVM tiêu biểu", "TSVM tiêu biểu (trong số TSVM)")
EXEMPLARY_NEW = ("Được công nhận tiêu biểu", "Tổ chức đảng tiêu biểu", "Trong đó: tiêu biểu")


def unit_levels(year: int) -> tuple:
    return UNIT_OLD if scheme_for(year) == "tsvm-2008" else LATER


def member_levels(year: int) -> tuple:
    return MEMBER_OLD if scheme_for(year) == "tsvm-2008" else LATER


def exemplary_possible(year: int) -> bool:
    """2008–2017 "TSVM tiêu biểu"; from 2019 the commendation among level-1 organisations."""
    return year <= 2017 or year >= 2019


@dataclass(frozen=True)
class Campaign:
    """A study campaign: a resolution, directive or conclusion studied in ``year``."""

    year: int
    code: str  # "" for a congress resolution without a number
    kind: str  # Nghị quyết | Chỉ thị | Kết luận
    plenum: str  # "Trung ương 7 khóa XI" or ""
    topic: str

    @property
    def campaign_id(self) -> str:
        slug = _slug(self.code or f"{self.kind} {self.topic}")[:24]
        return f"{self.year}-{slug}"

    @property
    def title(self) -> str:
        head = f"{self.kind} số {self.code}" if self.code else self.kind
        return f"{head} {self.topic}".strip()


_C = Campaign
CATALOGUE: dict[int, tuple[Campaign, ...]] = {
    2012: (_C(2012, "15-NQ/TW", "Nghị quyết", "Trung ương 5 khóa XI", "một số vấn đề về chính sách xã hội giai đoạn 2012 - 2020"),
           _C(2012, "19-NQ/TW", "Nghị quyết", "Trung ương 6 khóa XI", "về tiếp tục đổi mới chính sách, pháp luật về đất đai"),
           _C(2012, "20-NQ/TW", "Nghị quyết", "Trung ương 6 khóa XI", "về phát triển khoa học và công nghệ")),
    2013: (_C(2013, "24-NQ/TW", "Nghị quyết", "Trung ương 7 khóa XI", "về chủ động ứng phó với biến đổi khí hậu"),
           _C(2013, "25-NQ/TW", "Nghị quyết", "Trung ương 7 khóa XI", "về công tác dân vận trong tình hình mới"),
           _C(2013, "28-NQ/TW", "Nghị quyết", "Trung ương 8 khóa XI", "về Chiến lược bảo vệ Tổ quốc trong tình hình mới")),
    2014: (_C(2014, "33-NQ/TW", "Nghị quyết", "Trung ương 9 khóa XI", "về xây dựng và phát triển văn hóa, con người Việt Nam"),
           _C(2014, "36-CT/TW", "Chỉ thị", "", "về đại hội đảng bộ các cấp tiến tới Đại hội XII của Đảng")),
    2015: (_C(2015, "39-NQ/TW", "Nghị quyết", "", "về tinh giản biên chế và cơ cấu lại đội ngũ cán bộ, công chức"),
           _C(2015, "", "Nghị quyết Đại hội Đảng bộ huyện", "", "lần thứ XX, nhiệm kỳ 2015 - 2020")),
    2016: (_C(2016, "", "Nghị quyết Đại hội XII", "", "của Đảng"),
           _C(2016, "04-NQ/TW", "Nghị quyết", "Trung ương 4 khóa XII", "về tăng cường xây dựng, chỉnh đốn Đảng"),
           _C(2016, "05-CT/TW", "Chỉ thị", "", "về đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh")),
    2017: (_C(2017, "11-NQ/TW", "Nghị quyết", "Trung ương 5 khóa XII", "về hoàn thiện thể chế kinh tế thị trường"),
           _C(2017, "12-NQ/TW", "Nghị quyết", "Trung ương 5 khóa XII", "về cơ cấu lại, đổi mới doanh nghiệp nhà nước"),
           _C(2017, "18-NQ/TW", "Nghị quyết", "Trung ương 6 khóa XII", "về sắp xếp tổ chức bộ máy của hệ thống chính trị")),
    2018: (_C(2018, "26-NQ/TW", "Nghị quyết", "Trung ương 7 khóa XII", "về xây dựng đội ngũ cán bộ các cấp"),
           _C(2018, "27-NQ/TW", "Nghị quyết", "Trung ương 7 khóa XII", "về cải cách chính sách tiền lương"),
           _C(2018, "36-NQ/TW", "Nghị quyết", "Trung ương 8 khóa XII", "về Chiến lược phát triển bền vững kinh tế biển")),
    2019: (_C(2019, "35-NQ/TW", "Nghị quyết", "", "về bảo vệ nền tảng tư tưởng của Đảng"),
           _C(2019, "52-NQ/TW", "Nghị quyết", "", "về chủ động tham gia cuộc Cách mạng công nghiệp lần thứ tư")),
    2020: (_C(2020, "35-CT/TW", "Chỉ thị", "", "về đại hội đảng bộ các cấp tiến tới Đại hội XIII của Đảng"),
           _C(2020, "55-NQ/TW", "Nghị quyết", "", "về định hướng Chiến lược phát triển năng lượng quốc gia")),
    2021: (_C(2021, "", "Nghị quyết Đại hội XIII", "", "của Đảng"),
           _C(2021, "21-KL/TW", "Kết luận", "Trung ương 4 khóa XIII", "về xây dựng, chỉnh đốn Đảng và hệ thống chính trị")),
    2022: (_C(2022, "18-NQ/TW", "Nghị quyết", "Trung ương 5 khóa XIII", "về đổi mới chính sách, pháp luật về đất đai"),
           _C(2022, "19-NQ/TW", "Nghị quyết", "Trung ương 5 khóa XIII", "về nông nghiệp, nông dân, nông thôn"),
           _C(2022, "21-NQ/TW", "Nghị quyết", "Trung ương 5 khóa XIII", "về củng cố tổ chức cơ sở đảng")),
    2023: (_C(2023, "41-NQ/TW", "Nghị quyết", "", "về phát huy vai trò của đội ngũ doanh nhân"),
           _C(2023, "42-NQ/TW", "Nghị quyết", "Trung ương 8 khóa XIII", "về chính sách xã hội"),
           _C(2023, "43-NQ/TW", "Nghị quyết", "Trung ương 8 khóa XIII", "về phát huy sức mạnh đại đoàn kết toàn dân tộc")),
    2024: (_C(2024, "35-CT/TW", "Chỉ thị", "", "về đại hội đảng bộ các cấp tiến tới Đại hội XIV của Đảng"),
           _C(2024, "57-NQ/TW", "Nghị quyết", "", "về đột phá phát triển khoa học, công nghệ và chuyển đổi số")),
    2025: (_C(2025, "59-NQ/TW", "Nghị quyết", "", "về hội nhập quốc tế trong tình hình mới"),
           _C(2025, "66-NQ/TW", "Nghị quyết", "", "về đổi mới công tác xây dựng và thi hành pháp luật"),
           _C(2025, "68-NQ/TW", "Nghị quyết", "", "về phát triển kinh tế tư nhân")),
}

DISTRICTS = (("Huyện ủy Yên Thế", "HUYỆN YÊN THẾ"), ("Thị ủy Sơn Tây", "THỊ XÃ SƠN TÂY"),
             ("Huyện ủy Hàm Thuận Nam", "HUYỆN HÀM THUẬN NAM"), ("Huyện ủy Krông Pắc", "HUYỆN KRÔNG PẮC"),
             ("Quận ủy Hải Châu", "QUẬN HẢI CHÂU"), ("Huyện ủy Tiên Lữ", "HUYỆN TIÊN LỮ"),
             ("Huyện ủy Chợ Mới", "HUYỆN CHỢ MỚI"))
COMMUNES = (("xã", "Tam Tiến"), ("xã", "Đồng Kỳ"), ("thị trấn", "Cầu Gồ"), ("phường", "Trung Hưng"),
            ("phường", "Hòa Cường Bắc"), ("xã", "Hàm Minh"), ("xã", "Thuận Quý"), ("xã", "Ea Phê"),
            ("xã", "Hòa Tiến"), ("xã", "Dị Chế"), ("xã", "Thiện Phiến"), ("phường", "Viên Sơn"),
            ("xã", "Kiến An"), ("xã", "Mỹ Hiệp"))
HAMLETS = ("Đồng Tâm", "Trại Mới", "Ngòi Lan", "Cầu Rễ", "Hố Sâu", "Tân Hòa", "Đồng Bòng", "Mỹ Lợi", "Long Hưng",
           "An Thạnh", "Ea Kmat", "Bãi Thảo")
INSTITUTIONS = (("Chi bộ Trường Mầm non", "truong_hoc"), ("Chi bộ Trường Tiểu học", "truong_hoc"),
                ("Chi bộ Trường THCS", "truong_hoc"), ("Chi bộ Trạm Y tế", "co_quan"),
                ("Chi bộ Công an", "luc_luong_vu_trang"), ("Chi bộ Quân sự", "luc_luong_vu_trang"),
                ("Chi bộ cơ quan Đảng ủy - HĐND - UBND", "co_quan"),
                ("Chi bộ Hợp tác xã dịch vụ nông nghiệp", "doanh_nghiep"),
                ("Chi bộ Quỹ tín dụng nhân dân", "doanh_nghiep"), ("Chi bộ Khối Mặt trận và các đoàn thể", "co_quan"))


def _strip_marks(text: str) -> str:
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return unicodedata.normalize("NFC", "".join(ch for ch in plain if not unicodedata.combining(ch)))


def _slug(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in _strip_marks(text).lower()).split())


@dataclass(eq=False)
class Unit:
    """A chi bộ (leaf) or a đảng bộ bộ phận (``children`` not empty) and its figures."""

    unit_id: str
    name: str
    kind: str
    children: list[Unit] = field(default_factory=list)
    in_reference: bool = True
    twin: bool = False  # a second, different line for a unit already listed
    start: int = 0
    admitted: int = 0
    moved_in: int = 0
    moved_out: int = 0
    died: int = 0
    exempt: int = 0
    study: dict[str, dict[str, int]] = field(default_factory=dict)
    level: str = ""
    self_level: str = ""
    exemplary: bool = False
    members: dict[str, int] = field(default_factory=dict)
    not_assessed: int = 0
    women: int = 0

    @property
    def total(self) -> int:
        return self.start + self.admitted + self.moved_in - self.moved_out - self.died

    @property
    def eligible(self) -> int:
        return self.total - self.exempt

    @property
    def assessed(self) -> int:
        return sum(self.members.values())


@dataclass(eq=False)
class Commune:
    unit_id: str
    kind: str
    name: str
    units: list[Unit]  # top-level rows in form order (a đảng bộ bộ phận carries its chi bộ)

    @property
    def committee(self) -> str:
        return f"Đảng bộ {self.kind} {self.name}"

    @property
    def leaves(self) -> list[Unit]:
        out = []
        for u in self.units:
            out += u.children if u.children else [u]
        return out


class World:
    """One year of one district: communes, their chi bộ, the year's campaigns and all figures."""

    def __init__(self, rng: random.Random, year: int, n_communes: int, sub_committee: bool,
                 sub_in_reference: bool | None = None) -> None:
        self.sub_in_reference = sub_in_reference
        self.rng, self.year = rng, year
        self.district, self.district_caps = rng.choice(DISTRICTS)
        self.district_id = "hd-" + _slug(self.district.split(" ", 2)[-1])
        self.communes = [self._commune(kind, name, sub_committee and i == 0)
                         for i, (kind, name) in enumerate(rng.sample(COMMUNES, n_communes))]
        self.campaigns = list(CATALOGUE[year])
        # distractors: the year before, and any other year's campaign with the same number
        others = list(CATALOGUE.get(year - 1, ()))
        codes = {c.code for c in self.campaigns if c.code}
        others += [c for y, cs in CATALOGUE.items() if y not in (year, year - 1) for c in cs if c.code in codes]
        self.other_campaigns = others
        for c in self.communes:
            for u in c.units:
                for leaf in u.children or [u]:
                    self._figures(leaf)
                if u.children:
                    self._rate(u)

    def _commune(self, kind: str, name: str, with_sub: bool) -> Commune:
        rng = self.rng
        cid = _slug(name)
        names: list[tuple[str, str]] = []
        if kind == "phường" or kind == "thị trấn":
            word = rng.choice(["tổ dân phố số", "khu phố", "khu dân cư số"])
            nums = sorted(rng.sample(range(1, 14), rng.randint(3, 7)))
            names += [(f"Chi bộ {word} {n}", "khu_dan_cu") for n in nums]
            if rng.random() < 0.4 and nums:
                names.append((f"Chi bộ {word} {nums[0]}A", "khu_dan_cu"))
        else:
            word = rng.choice(["thôn", "ấp", "xóm", "bản"])
            if rng.random() < 0.45:
                nums = sorted(rng.sample(range(1, 13), rng.randint(3, 7)))
                if 1 in nums and rng.random() < 0.6 and 11 not in nums:
                    nums.append(11)  # "thôn 1" beside "thôn 11"
                names += [(f"Chi bộ {word} {n}", "khu_dan_cu") for n in sorted(nums)]
            else:
                names += [(f"Chi bộ {word} {h}", "khu_dan_cu") for h in rng.sample(HAMLETS, rng.randint(3, 6))]
        for nm, kd in rng.sample(INSTITUTIONS, rng.randint(1, 4)):
            suffix = f" {name}" if "Trường" in nm else (f" {kind}" if nm.endswith(("Công an", "Quân sự")) else "")
            names.append((nm + suffix, kd))
        units = [Unit(f"{cid}-{i + 1:02d}", nm, kd) for i, (nm, kd) in enumerate(names)]
        if with_sub:
            n = rng.randint(2, 9)
            in_ref = rng.random() < 0.6 if self.sub_in_reference is None else self.sub_in_reference
            parent = Unit(f"{cid}-bp{n}", f"Đảng bộ bộ phận khu {n}", "khu_dan_cu", in_reference=in_ref)
            parent.children = [Unit(f"{cid}-bp{n}{s.lower()}", f"Chi bộ tổ {n}{s}", "khu_dan_cu")
                               for s in "ABC"[: rng.randint(2, 3)]]
            units.insert(rng.randint(1, len(units)), parent)
        return Commune(cid, kind, name, units)

    def _figures(self, u: Unit) -> None:
        rng, year = self.rng, self.year
        big = u.kind == "khu_dan_cu"
        u.start = rng.randint(14, 150) if big else rng.randint(5, 38)
        u.admitted = rng.choice([0, 0, 1, 2, 3])
        u.moved_in = rng.choice([0, 0, 0, 1, 2])
        u.moved_out = rng.choice([0, 0, 1, 2])
        u.died = rng.choice([0, 0, 0, 1]) if big else 0
        u.exempt = min(rng.choice([0, 0, 1, 2, 4, 6]) if big else rng.choice([0, 0, 1]), u.total // 4)
        u.women = rng.randint(0, u.total // 2)
        for camp in self.campaigns:
            held = rng.random() < 0.92
            att = rng.randint(max(1, (u.eligible * 7) // 10), u.eligible) if held else 0
            target = rng.randint(60, 2600) if big else rng.randint(6, 70)
            public = rng.randint((target * 11) // 20, target) if held else 0
            u.study[camp.campaign_id] = {"attended": att, "makeup": min(att, rng.choice([0, 0, 1, 2, 3])),
                                         "target": target, "public": public,
                                         "classes": 1 if held else 0, "sessions": rng.randint(1, 4) if held else 0}
        self._rate(u)
        codes = [c for c, _ in member_levels(year)]
        u.not_assessed = min(rng.choice([0, 0, 1, 1, 2, 3]), max(0, u.eligible - 1))
        assessed = u.eligible - u.not_assessed
        c4 = 1 if assessed > 6 and rng.random() < 0.12 else 0
        c3 = rng.randint(0, max(0, assessed // 7))
        rest = assessed - c3 - c4
        c1 = int(rest * rng.uniform(0.08, 0.18))
        u.members = dict(zip(codes, (c1, rest - c1, c3, c4), strict=True))

    def _rate(self, u: Unit) -> None:
        rng, year = self.rng, self.year
        codes = [c for c, _ in unit_levels(year)]
        weights = (55, 33, 9, 3) if scheme_for(year) == "tsvm-2008" else (22, 62, 13, 3)
        u.level = rng.choices(codes, weights)[0]
        u.self_level = u.level if rng.random() < 0.7 else codes[max(0, codes.index(u.level) - 1)]
        u.exemplary = u.level == codes[0] and exemplary_possible(year) and rng.random() < 0.4

    def units_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["unit_id", "unit_name", "parent_id", "unit_level", "unit_kind", "valid_from_year", "valid_to_year"])
        w.writerow([self.district_id, self.district, "", "cap_tren", "khac", 2008, ""])
        for c in self.communes:
            w.writerow([c.unit_id, c.committee, self.district_id, "co_so", "khu_dan_cu", 2008, ""])
            for u in c.units:
                if not u.in_reference:
                    if u.children:  # the chi bộ of a đảng bộ bộ phận not listed hang from the commune
                        for ch in u.children:
                            w.writerow([ch.unit_id, ch.name, c.unit_id, "chi_bo", ch.kind, 2008, ""])
                    continue
                w.writerow([u.unit_id, u.name, c.unit_id, "chi_bo", u.kind, 2008, ""])
                for ch in u.children:
                    if ch.in_reference:
                        w.writerow([ch.unit_id, ch.name, u.unit_id, "chi_bo", ch.kind, 2008, ""])
        return out.getvalue()

    def campaigns_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["campaign_id", "year", "title", "document_code", "start_date"])
        for c in sorted(set(self.other_campaigns + self.campaigns), key=lambda c: (c.year, c.campaign_id)):
            w.writerow([c.campaign_id, c.year, c.title, c.code, f"{c.year}-04-01"])
        return out.getvalue()


# ---------------------------------------------------------------------------------------------
# The look of one form: number styles, header noise, names
# ---------------------------------------------------------------------------------------------


@dataclass
class Look:
    rng: random.Random
    counts: str  # int | float | dotted (text "1.250") | text ("12")
    zero: str  # "0" | "-"
    pct: str  # float2 | comma2 | sign | excel | int-sign | comma1
    totals: str  # none | bottom | top
    total_label: str
    headers: str  # merged | repeated | first | bottom
    numbering: str  # none | paren | letters | ints
    noise: str  # none | caps | nomarks | english | breaks | spaces
    names: str  # full | bare | cb | upper | lower | dash
    blank_rows: bool
    sections: bool
    footer: bool
    mark: str
    plain: bool = False  # focused forms: the most ordinary wording, no trap but the forced ones
    force: frozenset = frozenset()  # names of the choices toggled from their plain default

    @property
    def tick(self) -> object:
        """The mark written in a level column: a letter, a check sign, or the number 1 typed as a number."""
        return 1 if self.mark == "1" else self.mark

    def pick(self, options):
        """A wording: at random, or (plain) the ordinary one."""
        if self.plain:
            return next((o for o in options if o in PLAIN), options[0])
        return self.rng.choice(options)

    def maybe(self, p: float, name: str, default: bool = False) -> bool:
        """A seeded coin of probability ``p``; on a plain form, ``default`` toggled when ``name`` is forced."""
        if self.plain:
            return default != (name in self.force)
        return self.rng.random() < p

    @classmethod
    def focused(cls, rng: random.Random, carrier: str, force: frozenset) -> Look:
        """The look of a focused form: plain styles, then the forced ones."""
        look = cls(rng, "int", "0", "float2", "bottom", "Cộng", "merged", "none", "none", "full", False, False, False,
                   "x", True, force)
        for name, attr, value in (("totals-top", "totals", "top"), ("numbering-ints", "numbering", "ints"),
                                  ("english", "noise", "english"), ("nomarks", "noise", "nomarks"),
                                  ("dotted-thousands", "counts", "dotted"), ("tick-1", "mark", "1"),
                                  ("dash-zero", "zero", "-"), ("excel-pct", "pct", "excel"),
                                  ("blank-rows", "blank_rows", True), ("sections", "sections", True),
                                  ("no-totals", "totals", "none"), ("comma-pct", "pct", "comma2"),
                                  ("bare-names", "names", "bare"), ("repeated-groups", "headers", "repeated")):
            if name in force:
                setattr(look, attr, value)
        if carrier.startswith("csv") and look.pct == "excel":
            look.pct = "sign"
        return look

    @classmethod
    def draw(cls, rng: random.Random, carrier: str) -> Look:
        pct = rng.choice(["float2", "comma2", "sign", "excel", "int-sign", "comma1"])
        if carrier.startswith("csv") and pct == "excel":
            pct = "sign"  # a CSV cell has no percent format
        return cls(rng, rng.choice(["int", "int", "float", "dotted", "text"]), rng.choice(["0", "0", "-"]), pct,
                   rng.choices(["none", "bottom", "top"], (30, 55, 15))[0],
                   rng.choice(["Cộng", "Tổng cộng", "TỔNG CỘNG", "Toàn Đảng bộ", "Cộng:", "Tổng"]),
                   rng.choice(["merged", "merged", "repeated", "first", "bottom"]),
                   rng.choices(["none", "paren", "letters", "ints"], (45, 25, 15, 15))[0],
                   rng.choices(["none", "caps", "nomarks", "english", "breaks", "spaces"], (50, 10, 10, 6, 14, 10))[0],
                   rng.choice(["full", "full", "bare", "cb", "upper", "lower", "dash"]),
                   rng.random() < 0.2, rng.random() < 0.2, rng.random() < 0.45,
                   rng.choice(["x", "X", "x", "1"] + (["✓"] if carrier != "csv-cp1258" else [])))

    def n(self, v: int | None) -> object:
        if v is None:
            return None
        if v == 0:
            return 0 if self.zero == "0" else "-"
        if self.counts == "float":
            return float(v)
        if self.counts == "dotted":
            return f"{v:,}".replace(",", ".")
        if self.counts == "text":
            return str(v)
        return v

    def p(self, num: int, den: int) -> object:
        if not den:
            return None
        v = 100 * num / den
        if self.pct == "float2":
            return round(v + 1e-9, 2)
        if self.pct == "excel":
            return round(v / 100 + 1e-12, 4)
        if self.pct == "int-sign":
            return f"{int(v + 0.5)}%"
        if self.pct == "comma1":
            return f"{v + 1e-9:.1f}".replace(".", ",")
        text = f"{v + 1e-9:.2f}".replace(".", ",")
        return text + "%" if self.pct == "sign" else text

    def name(self, u: Unit, child: bool = False) -> str:
        text = u.name
        if self.names == "bare":
            text = text.removeprefix("Chi bộ ")
            text = text[0].upper() + text[1:]
        elif self.names == "cb":
            text = text.replace("Chi bộ ", "CB ", 1).replace("Đảng bộ bộ phận ", "ĐBBP ", 1)
        elif self.names == "upper":
            text = text.upper()
        elif self.names == "lower":
            text = text[0] + text[1:].lower()
        if child and self.names == "dash":
            text = "- " + text
        return text


#: The ordinary wording a plain (focused) form picks when it is among the options.
PLAIN = frozenset({
    "STT", "Tên chi bộ", "Tổng số ĐV", "Tổng số", "Miễn sinh hoạt", "Số ĐV đã học tập, quán triệt", "Dự học",
    "QC thuộc diện học", "Kế hoạch", "QC dự học", "Tỷ lệ (%)", "Không xếp loại", "Trong đó TSVM tiêu biểu",
    "Tổ chức đảng tiêu biểu", "Đảng viên", "Quần chúng", "Xếp loại", "Ghi chú", "SL", "Nghị quyết, chỉ thị được học",
    "Kết quả xếp loại đảng viên", "Tên tổ chức đảng", "Số ĐV hiện có", "Lượt tham gia",
})

ENGLISH = {
    "STT": "No.", "TT": "No.", "Tên chi bộ": "Party cell", "Chi bộ": "Party cell", "Đơn vị": "Unit",
    "Tổng số đảng viên": "Total members", "Tổng số ĐV": "Total members", "Miễn sinh hoạt": "Exempt",
    "ĐV miễn SHĐ": "Exempt members", "Đảng viên": "Party members", "Quần chúng": "Public", "Tổng số": "Total",
    "Dự học": "Attended", "Tham gia": "Attended", "Số ĐV được học tập": "Members studied",
    "QC dự học": "Public attended", "QC (lượt người)": "Public (attendances)", "Số lượt": "Attendances",
    "Tỷ lệ (%)": "Rate (%)", "Ghi chú": "Notes", "Số lớp": "Classes", "Số buổi": "Sessions", "Xếp loại": "Rating",
    "Kết quả xếp loại": "Rating result", "Chưa đánh giá": "Not assessed", "Số lượng": "Number", "Tỷ lệ %": "Percent",
}


def noisy(text: str, look: Look) -> str:
    """Header noise: capitals, no diacritics (typed without a Vietnamese keyboard), line breaks."""
    if look.noise == "caps":
        return text.upper()
    if look.noise == "nomarks":
        return _strip_marks(text).upper()
    if look.noise == "english":
        return ENGLISH.get(text, text)
    if look.noise == "breaks" and len(text) > 10 and " " in text:
        words = text.split()
        k = (len(words) + 1) // 2
        return " ".join(words[:k]) + "\n" + " ".join(words[k:])
    if look.noise == "spaces":
        return " " + text.replace(" ", "  ") + "  "
    return text


# ---------------------------------------------------------------------------------------------
# Tables: lines, columns, header block, rendering
# ---------------------------------------------------------------------------------------------


@dataclass
class Line:
    """One body line: a unit (or a unit × campaign), a đảng bộ bộ phận subtotal, a section."""

    kind: str  # unit | sub | section | blank
    unit: Unit | None = None
    camp: Campaign | None = None
    label: str = ""
    child: bool = False


@dataclass
class Col:
    """One column: header path (top first) and how a line fills it.

    ``kind``: ``stt`` | ``name`` | ``count`` | ``pct`` | ``mark`` | ``text`` | ``slash``.
    ``count``: ``f(line) -> int``; ``pct``: ``f(line) -> (num, den)``; ``mark``: ``f(line) -> bool``;
    ``text``: ``f(line) -> str | None``; ``slash``: ``f(line) -> (a, b)`` written "a/b".
    """

    path: tuple[str, ...]
    kind: str
    f: Callable | None = None
    gid: tuple | None = None  # group identity per level (two groups may share a text)
    extra: bool = False  # a column of figures no canonical table holds
    plain_zero: bool = False  # a zero is written 0, never "-" (a dash could mean "no figure")
    sub_own: bool = False  # a đảng bộ bộ phận line shows its own value, not a subtotal
    no_total: bool = False


@dataclass
class Table:
    sheet: str
    titles: list[list[object]]
    caps_rows: set[int]
    cols: list[Col]
    lines: list[Line]
    height: int
    merge_names: bool = False
    wrong_total: bool = False
    no_totals: bool = False


def _units_of(line: Line) -> list[Unit]:
    if line.kind == "unit":
        return [line.unit]
    if line.kind == "sub":
        return list(line.unit.children)
    return []


def _value(col: Col, line: Line, look: Look, stt: int | str | None) -> object:
    if col.kind == "stt":
        return stt
    if col.kind == "name":
        if line.kind == "section":
            return line.label
        if line.kind == "unit" and line.camp is not None and line.label == "merged-below":
            return None
        return look.name(line.unit, line.child) if line.unit else None
    if line.kind in ("section", "blank"):
        return None
    if col.kind == "text" or col.kind == "campaign":
        return col.f(line)
    units = _units_of(line)
    if line.kind == "sub" and col.sub_own:
        if col.kind == "mark":
            return look.tick if col.f(Line("unit", line.unit)) else None
        return col.f(Line("unit", line.unit))
    if col.kind == "count":
        v = sum(col.f(Line("unit", u, line.camp)) for u in units) if line.kind == "sub" else col.f(line)
        return 0 if v == 0 and col.plain_zero else look.n(v)
    if col.kind == "pct":
        if line.kind == "sub":
            pairs = [col.f(Line("unit", u, line.camp)) for u in units]
            return look.p(sum(a for a, _ in pairs), sum(b for _, b in pairs))
        return look.p(*col.f(line))
    if col.kind == "slash":
        if line.kind == "sub":
            pairs = [col.f(Line("unit", u, line.camp)) for u in units]
            a, b = sum(a for a, _ in pairs), sum(b for _, b in pairs)
        else:
            a, b = col.f(line)
        return f"{a}/{b}"
    if col.kind == "mark":
        if line.kind == "sub":
            return look.n(sum(bool(col.f(Line("unit", u, line.camp))) for u in units)) or None
        return look.tick if col.f(line) else None
    raise ValueError(col.kind)


def _total(col: Col, lines: list[Line], look: Look) -> object:
    leaves = [ln for ln in lines if ln.kind == "unit"]
    subs = [ln for ln in lines if ln.kind == "sub"]
    if col.no_total or col.kind in ("stt", "name", "text", "campaign"):
        return None
    if col.kind == "count":
        return look.n(sum(col.f(ln) for ln in leaves) + sum(col.f(Line("unit", s.unit)) for s in subs if col.sub_own))
    if col.kind == "pct":
        pairs = [col.f(ln) for ln in leaves]
        return look.p(sum(a for a, _ in pairs), sum(b for _, b in pairs))
    if col.kind == "slash":
        pairs = [col.f(ln) for ln in leaves]
        return f"{sum(a for a, _ in pairs)}/{sum(b for _, b in pairs)}"
    if col.kind == "mark":
        n = sum(bool(col.f(ln)) for ln in leaves) + sum(bool(col.f(Line("unit", s.unit))) for s in subs
                                                       if col.sub_own)
        return look.n(n)
    return None


def header_block(cols: list[Col], height: int, mode: str) -> tuple[list[list[object]], list[tuple]]:
    """Header rows and merges. Groups are runs of columns sharing ``gid`` (else ``path``) prefixes.

    ``mode``: ``merged`` (groups merged across, short paths merged down), ``repeated`` (group text in
    every cell of the group, no merges), ``first`` (group text in its first cell only),
    ``bottom`` (like ``first``, and a short path's text sits in the lowest header row).
    """
    rows: list[list[object]] = [[None] * len(cols) for _ in range(height)]
    merges: list[tuple[int, int, int, int]] = []
    for c, col in enumerate(cols):
        p = col.path
        if len(p) > height:
            raise ValueError(f"header path {p} deeper than {height}")
        for r, text in enumerate(p[:-1]):
            rows[r][c] = text
        if len(p) < height and mode == "bottom":
            rows[height - 1][c] = p[-1]
        else:
            rows[len(p) - 1][c] = p[-1]
        if len(p) < height and mode == "merged":
            merges.append((len(p) - 1, c, height - 1, c))
    ident = [col.gid or col.path for col in cols]
    for r in range(height - 1):
        c = 0
        while c < len(cols):
            if len(cols[c].path) > r + 1:
                e = c
                while (e + 1 < len(cols) and len(cols[e + 1].path) > r + 1
                       and ident[e + 1][: r + 1] == ident[c][: r + 1]):
                    e += 1
                if e > c:
                    if mode == "merged":
                        merges.append((r, c, r, e))
                    elif mode in ("first", "bottom"):
                        for cc in range(c + 1, e + 1):
                            rows[r][cc] = None
                c = e + 1
            else:
                c += 1
    return rows, merges


def _numbering(cols: list[Col], kind: str) -> list[object]:
    if kind == "paren":
        return [f"({i + 1})" for i in range(len(cols))]
    if kind == "letters":
        out, k = [], 0
        for i, col in enumerate(cols):
            if col.kind in ("stt", "name", "campaign"):
                out.append("ABC"[i] if i < 3 else "*")
            else:
                k += 1
                out.append(str(k))
        return out
    return list(range(1, len(cols) + 1))


FOOTERS = (["Nơi nhận:", None, None, "T/M ĐẢNG ỦY"], ["- Ban Tổ chức Huyện ủy;", None, None, "PHÓ BÍ THƯ"],
           ["- Lưu Văn phòng Đảng ủy."], [None, "Người lập biểu", None, "(Ký tên, đóng dấu)"])


@dataclass
class Rendered:
    spec: SheetSpec
    extra_cols: list[int]
    header: list[str]
    wrong_total: bool = False


def render(table: Table, look: Look, encoding: str) -> Rendered:
    """Lay a table out as a SheetSpec in the given text encoding."""
    rows: list[list[object]] = [list(t) for t in table.titles]
    caps_rows = set(table.caps_rows)
    if table.titles and look.rng.random() < 0.7:
        rows.append([])
    title_rows = len(rows)
    cols = table.cols
    for col in cols:
        col.path = tuple(noisy(p, look) for p in col.path)
    head, merges = header_block(cols, table.height, look.headers)
    merges = [(r0 + title_rows, c0, r1 + title_rows, c1) for r0, c0, r1, c1 in merges]
    rows.extend(head)
    if look.numbering != "none":
        rows.append(_numbering(cols, look.numbering))
    percent_cells: set[tuple[int, int]] = set()

    def add(row: list[object]) -> None:
        r = len(rows)
        for c, col in enumerate(cols):
            if col.kind == "pct" and look.pct == "excel" and isinstance(row[c], float):
                percent_cells.add((r, c))
        rows.append(row)

    totals = None
    wrong_applied = False
    if look.totals != "none" and not table.no_totals:
        totals = [_total(col, table.lines, look) for col in cols]
        name_at = next(i for i, col in enumerate(cols) if col.kind == "name")
        totals[name_at] = look.total_label
        if table.wrong_total:
            for i, col in enumerate(cols):
                if col.kind in ("count", "mark") and not col.extra and totals[i] not in (None, "-", 0, "0"):
                    v = totals[i]
                    v = int(v.replace(".", "")) if isinstance(v, str) else int(v)
                    totals[i] = look.n(v + 3)
                    wrong_applied = True
                    break
    if totals and look.totals == "top":
        add(totals)
    k = 0
    roman = iter(["I", "II", "III", "IV"])
    name_rows: list[int] = []
    for line in table.lines:
        if line.kind == "blank":
            rows.append([])
            continue
        if line.kind == "section":
            row = [_value(col, line, look, next(roman) if col.kind == "stt" else None) for col in cols]
            rows.append(row)
            continue
        stt: object = None
        if line.kind == "unit" and not line.child:
            k += 1
            stt = k
        elif line.kind == "sub":
            k += 1
            stt = k
        elif line.child:
            stt = look.rng.choice([None, "-", f"{k}.{_child_index(table.lines, line)}"])
        name_rows.append(len(rows))
        add([_value(col, line, look, stt) for col in cols])
    if totals and look.totals == "bottom":
        add(totals)
    if look.footer:
        rows.append([])
        rows.extend([list(r) for r in FOOTERS])
    if table.merge_names:
        name_at = next(i for i, col in enumerate(cols) if col.kind == "name")
        r = 0
        while r < len(name_rows):
            e = r
            while e + 1 < len(name_rows) and name_rows[e + 1] == name_rows[e] + 1 and \
                    rows[name_rows[e + 1]][name_at] is None:
                e += 1
            if e > r:
                merges.append((name_rows[r], name_at, name_rows[e], name_at))
            r = e + 1
    fonts: dict[tuple[int, int], str] = {}
    out: list[list[object]] = []
    mixed = encoding in ("tcvn3", "vni") and look.rng.random() < 0.25  # names typed later in Unicode
    name_at = next(i for i, col in enumerate(cols) if col.kind == "name")
    for r, row in enumerate(rows):
        new = []
        for c, v in enumerate(row):
            if isinstance(v, str) and v:
                if encoding == "nfd":
                    v = unicodedata.normalize("NFD", v)
                elif encoding in ("tcvn3", "vni") and not (mixed and c == name_at and r >= title_rows):
                    caps = encoding == "tcvn3" and r in caps_rows and v == v.upper()
                    v = encode_legacy(v.replace("✓", "x"), encoding, caps=caps)
                    fonts[(r, c)] = (".VnTimeH" if caps else ".VnTime") if encoding == "tcvn3" else "VNI-Times"
            new.append(v)
        out.append(new)
    spec = SheetSpec(table.sheet, out, merges, fonts, title_rows, percent_cells)
    return Rendered(spec, [i for i, col in enumerate(cols) if col.extra],
                    [" / ".join(str(x) for x in col.path) for col in cols], wrong_applied)


def _child_index(lines: list[Line], line: Line) -> int:
    i = lines.index(line)
    n = 1
    while i - n >= 0 and lines[i - n].child:
        n += 1
    return n


# ---------------------------------------------------------------------------------------------
# The form and its truth
# ---------------------------------------------------------------------------------------------


@dataclass
class HoldoutForm:
    """One held-out form (same ``truth``/``optional`` conventions as ``generator.Form``)."""

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
    headers: dict[str, list[str]] = field(default_factory=dict)


class Truth:
    def __init__(self, year: int) -> None:
        self.year = year
        self.rows: dict[str, set[tuple]] = {t: set() for t in COMPARED}
        self.maybe: dict[str, set[tuple]] = {t: set() for t in COMPARED}
        self.must_report: list[str] = []

    def membership(self, u: Unit, required: bool = True) -> None:
        if u.in_reference and not u.twin:
            (self.rows if required else self.maybe)["membership"].add((u.unit_id, self.year, u.total, u.exempt))

    def study(self, u: Unit, camp: Campaign, target: bool, public: bool, visits: bool) -> None:
        if not u.in_reference or u.twin:
            return
        s = u.study[camp.campaign_id]
        basis = ("attendances" if visits else "persons") if (target or public) else None
        self.rows["study_participation"].add((u.unit_id, camp.campaign_id, s["attended"] > 0, s["attended"],
                                              s["target"] if target else None, s["public"] if public else None,
                                              basis))

    def unit_rating(self, u: Unit, exemplary_col: bool) -> None:
        if u.in_reference and not u.twin:
            self.rows["unit_ratings"].add((u.unit_id, self.year, scheme_for(self.year), u.level,
                                           u.exemplary if exemplary_col else False))

    def member_rating(self, u: Unit, not_assessed_stated: bool) -> None:
        if not u.in_reference or u.twin:
            return
        for code, n in u.members.items():
            self.rows["member_ratings"].add((u.unit_id, self.year, scheme_for(self.year), code, n,
                                             u.not_assessed if not_assessed_stated else None))


# ---------------------------------------------------------------------------------------------
# Pieces shared by the layouts
# ---------------------------------------------------------------------------------------------


def camp_text(c: Campaign, look: Look, siblings: list[Campaign], allow_ambiguous: bool = False) -> str:
    """How a form names a campaign: number, short number, plenum, full title, with a date…"""
    rng = look.rng
    if look.plain and "code-only" in look.force and c.code:
        return f"{c.kind} {c.code}"
    choices = [c.title]
    if c.code:
        num = c.code.split("-")[0]
        word = {"Nghị quyết": "NQ", "Chỉ thị": "CT", "Kết luận": "KL"}[c.kind]
        choices += [f"{c.kind} {c.code}", f"{word} {c.code}", f"{c.kind} số {num}-{c.code.split('-')[1]}",
                    f"{c.kind} số {c.code} ngày {rng.randint(2, 28)}/{rng.randint(1, 12)}/{c.year}",
                    f"{word} số {int(num)}"]
    else:
        choices += [f"{c.kind} {c.topic}".strip(), c.kind]
    if c.plenum and (allow_ambiguous or sum(s.plenum == c.plenum for s in siblings) == 1):
        choices += [f"Nghị quyết Hội nghị {c.plenum}", f"NQ {c.plenum.replace('Trung ương', 'TW')}"]
    return look.pick(choices)


def titles(world: World, commune: Commune, heading: str, look: Look, extra: list[str] | None = None,
           year_in_heading: bool = True, dated_next_year: bool = False,
           features: list[str] | None = None) -> tuple[list[list[object]], set[int]]:
    """Title rows (committee, signing place and date, heading) and the rows typed in capitals.

    ``dated_next_year``: the report is signed in January of the following year (as year-end
    reports are), while the heading (when ``year_in_heading``) names the year of the figures.
    """
    if dated_next_year and features is not None:
        features.append("dated-next-year" if year_in_heading else "dated-next-year-only")
    rng = look.rng
    rows: list[list[object]] = []
    caps: set[int] = set()

    def add(row: list[object], capitals: bool = False) -> None:
        if capitals:
            caps.add(len(rows))
        rows.append(row)

    y = world.year
    committee = look.pick(["ĐẢNG ỦY", "ĐẢNG BỘ", "BCH ĐẢNG BỘ"]) + f" {commune.kind.upper()} {commune.name.upper()}"
    if look.maybe(0.75, "no-district-line", default=True):
        add([f"ĐẢNG BỘ {world.district_caps}", None, None, None, None, "ĐẢNG CỘNG SẢN VIỆT NAM"], True)
        add([committee, None, None, None, None, None], True)
        add(["*", None, None, None, None, None])
    else:
        add([committee], True)
    if dated_next_year:
        add([None, None, None, f"{commune.name}, ngày {rng.randint(5, 25)} tháng 01 năm {y + 1}"])
    elif look.maybe(0.4, "date-line"):
        add([None, None, None, f"{commune.name}, ngày {rng.randint(10, 28)} tháng 12 năm {y}"])
    add([f"{heading} NĂM {y}" if year_in_heading else heading], True)
    for e in extra or []:
        add([e])
    if look.maybe(0.3, "unit-line"):
        add([look.pick(["(Số liệu tính đến ngày 15/12)", "Đơn vị tính: đồng chí, người",
                         f"(Kèm theo Báo cáo số {rng.randint(20, 140)}-BC/ĐU)"])])
    return rows, caps


def body_lines(commune: Commune, look: Look, with_subs: bool, dup: str | None = None) -> list[Line]:
    """Unit lines in form order; sections, blank rows, a đảng bộ bộ phận with its chi bộ."""
    lines: list[Line] = []
    residential = [u for u in commune.units if u.kind == "khu_dan_cu"]
    others = [u for u in commune.units if u.kind != "khu_dan_cu"]
    groups = [("KHỐI THÔN, XÓM, KHU DÂN CƯ", residential), ("KHỐI CƠ QUAN, ĐƠN VỊ", others)] \
        if look.sections and residential and others else [("", commune.units)]
    for label, units in groups:
        if label:
            lines.append(Line("section", label=label))
        for u in units:
            if u.children:
                if with_subs:
                    lines.append(Line("sub", u))
                lines += [Line("unit", ch, child=with_subs) for ch in u.children]
            else:
                lines.append(Line("unit", u))
            if look.blank_rows and look.rng.random() < 0.15:
                lines.append(Line("blank"))
    return lines


def stt_name(look: Look, name_head: str | None = None) -> list[Col]:
    return [Col((look.pick(["STT", "TT", "Số TT", "S.TT"]),), "stt"),
            Col((name_head or look.pick(["Tên chi bộ", "Chi bộ", "Tên chi, đảng bộ", "Đơn vị",
                                          "Chi bộ trực thuộc", "Tên tổ chức cơ sở đảng"]),), "name")]


def note_col(look: Look) -> list[Col]:
    rng = look.rng
    if look.maybe(0.5, "notes", default=True):
        return []
    notes = {}

    def f(line: Line) -> str | None:
        if line.unit is None:
            return None
        if line.unit.unit_id not in notes:
            notes[line.unit.unit_id] = rng.choice([None, None, None, "Học bù 02 đ/c", "Ốm", "Mới thành lập",
                                                   "Đi làm ăn xa"])
        return notes[line.unit.unit_id]

    return [Col((look.pick(["Ghi chú", "GHI CHÚ", "Ghi chú (lý do vắng)"]),), "text", f)]


def apply_traps(world: World, commune: Commune, look: Look, lines: list[Line], truth: Truth, features: list[str],
                allow_conflict: bool = True) -> None:
    """Units listed twice, chi bộ missing from units.csv."""
    rng = look.rng
    unit_lines = [ln for ln in lines if ln.kind == "unit" and not ln.child]
    roll = rng.random() if not look.plain else next(
        (r for r, name in ((0.0, "dup-same"), (0.1, "dup-conflict"), (0.2, "unit-not-in-reference"))
         if name in look.force), 1.0)
    if roll < 0.08 and unit_lines:
        ln = rng.choice(unit_lines)
        lines.insert(lines.index(ln) + rng.randint(1, 3), Line("unit", ln.unit, ln.camp))
        features.append("dup-same")
    elif roll < 0.14 and unit_lines and allow_conflict:
        ln = rng.choice(unit_lines)
        twin = _twin(ln.unit, world)
        lines.insert(lines.index(ln) + rng.randint(1, 3), Line("unit", twin, ln.camp))
        features.append("dup-conflict")
        truth.must_report.append(f"'{ln.unit.name}' listed twice with different figures")
    elif roll < 0.22 and unit_lines:
        new = Unit(f"{commune.unit_id}-new", rng.choice(["Chi bộ khu tái định cư", "Chi bộ Doanh nghiệp tư nhân Hưng Phát",
                                                         "Chi bộ thôn Mới"]), "khu_dan_cu", in_reference=False)
        world._figures(new)
        lines.insert(rng.randint(0, len(lines)), Line("unit", new))
        features.append("unit-not-in-reference")
        truth.must_report.append(f"'{new.name}' is not in units.csv")


def _twin(u: Unit, world: World) -> Unit:
    """The same unit with different figures (a second, different line for it)."""
    twin = Unit(u.unit_id, u.name, u.kind, in_reference=u.in_reference)
    twin.__dict__.update({k: (dict(v) if isinstance(v, dict) else v) for k, v in u.__dict__.items()})
    twin.study = {k: dict(v) for k, v in u.study.items()}
    twin.twin = True
    twin.start += 4
    for s in twin.study.values():
        s["attended"] = max(0, s["attended"] - 2)
        s["public"] += 7
    codes = list(twin.members)
    twin.members[codes[1]] += 2
    codes_u = [c for c, _ in unit_levels(world.year)]
    twin.level = codes_u[(codes_u.index(u.level) + 1) % 4]
    return twin


# ---------------------------------------------------------------------------------------------
# Study columns
# ---------------------------------------------------------------------------------------------


@dataclass
class StudyShape:
    total: bool
    exempt: bool
    eligible: bool
    makeup: bool
    pct: str  # none | eligible | total
    target: bool
    public: bool
    visits: bool
    public_pct: bool
    held: bool
    slash: bool
    classes: bool

    @classmethod
    def draw(cls, look: Look, members_base: bool = True) -> StudyShape:
        if look.plain:
            f = look.force
            return cls(members_base and "no-total" not in f, members_base and "no-exempt" not in f,
                       members_base and "eligible-col" in f, "makeup" in f,
                       ("total" if "pct-total" in f else "eligible") if members_base else "none",
                       "no-target" not in f, True, "visits" in f, "public-pct" in f, "held" in f,
                       members_base and "slash" in f, "classes" in f)
        rng = look.rng
        total = members_base and rng.random() < 0.7
        exempt = total and rng.random() < 0.55
        public = rng.random() < 0.8
        target = public and rng.random() < 0.6
        return cls(total, exempt, members_base and rng.random() < 0.3, rng.random() < 0.3,
                   rng.choice(["none", "eligible", "eligible", "total"]) if members_base else "none",
                   target, public, public and rng.random() < 0.35, target and rng.random() < 0.5,
                   rng.random() < 0.2, members_base and rng.random() < 0.12, rng.random() < 0.35)


def study_cols(camp: Campaign | None, shp: StudyShape, look: Look, h: int, group: tuple[str, ...],
               gid: tuple = ()) -> list[Col]:
    """The columns of one campaign (``None``: each line's own); ``group`` is the header text above them."""

    def s(line: Line, k: str) -> int:
        return line.unit.study[(camp or line.camp).campaign_id][k]

    cols: list[Col] = []
    mem_group = look.pick(["Đảng viên", "ĐẢNG VIÊN", "Đảng viên (đ/c)", "Cán bộ, đảng viên"])
    pub_group = look.pick(["Quần chúng", "Quần chúng nhân dân", "Đoàn viên, hội viên, quần chúng",
                            "Nhân dân"])

    def path(subject: str, leaf: str, one: str) -> tuple[str, ...]:
        if h == 1:
            return (f"{one} ({group[-1]})" if group and look.maybe(0.5, "camp-in-leaf") else one,)
        if h == 2:
            return (group[-1], one) if group else (subject, leaf)
        return (group[-1], subject, leaf) if group else ("Kết quả học tập, quán triệt", subject, leaf)

    def col(p: tuple[str, ...], kind: str, f: Callable, **kw) -> Col:
        g = (gid + p[1:]) if group and len(p) > 1 else None
        return Col(p, kind, f, gid=g, **kw)

    if shp.held:
        cols.append(col(path("Chi bộ", look.pick(["Tổ chức học", "Đã tổ chức"]),
                             look.pick(["Số chi bộ tổ chức học", "Chi bộ đã tổ chức học (x)", "Đã tổ chức học tập"])),
                        "mark", lambda ln: s(ln, "attended") > 0))
    if shp.classes:
        cols.append(col(path("Tổ chức", look.pick(["Số lớp", "Số buổi"]),
                             look.pick(["Số lớp", "Số buổi", "Số buổi học", "Số hội nghị"])), "count",
                        lambda ln: s(ln, "sessions"), extra=True))
    if shp.total:
        cols.append(col(path(mem_group, look.pick(["Tổng số", "Hiện có", "TS"]),
                             look.pick(["Tổng số ĐV", "Số ĐV hiện có", "Đảng viên hiện có", "Tổng số đảng viên"])),
                        "count", lambda ln: ln.unit.total))
    if shp.exempt:
        cols.append(col(path(mem_group, look.pick(["Miễn SHĐ", "Được miễn", "Miễn CT&SH"]),
                             look.pick(["ĐV miễn SHĐ", "Số đ/c miễn sinh hoạt", "ĐV được miễn công tác, sinh hoạt"])),
                        "count", lambda ln: ln.unit.exempt))
    if shp.eligible:
        cols.append(col(path(mem_group, look.pick(["Phải học", "Thuộc diện học"]),
                             look.pick(["ĐV phải học", "Số ĐV thuộc diện phải học"])), "count",
                        lambda ln: ln.unit.eligible))
    if shp.slash:
        cols.append(col(path(mem_group, "Đã học/phải học", look.pick(["ĐV học/ĐV phải học", "Số ĐV học tập/tổng số"])),
                        "slash", lambda ln: (s(ln, "attended"), ln.unit.eligible)))
    else:
        cols.append(col(path(mem_group, look.pick(["Dự học", "Đã học", "Được học tập", "Tham gia"]),
                             look.pick(["Số ĐV được học tập", "Đảng viên dự học (đ/c)", "Số ĐV đã học tập, quán triệt",
                                         "ĐV đã học"])), "count", lambda ln: s(ln, "attended")))
    if shp.makeup:
        cols.append(col(path(mem_group, "Trong đó: học bù", look.pick(["Trong đó: học bù", "Số ĐV học bù"])),
                        "count", lambda ln: s(ln, "makeup")))
    if shp.pct == "eligible":
        cols.append(col(path(mem_group, look.pick(["Tỷ lệ (%)", "Đạt %"]),
                             look.pick(["Tỷ lệ ĐV học/ĐV phải học", "Tỷ lệ (%)", "% so với ĐV phải học"])), "pct",
                        lambda ln: (s(ln, "attended"), ln.unit.eligible)))
    elif shp.pct == "total":
        cols.append(col(path(mem_group, "% so với tổng số", "Tỷ lệ so với tổng số ĐV (%)"), "pct",
                        lambda ln: (s(ln, "attended"), ln.unit.total)))
    if shp.target:
        cols.append(col(path(pub_group, look.pick(["Tổng số", "Kế hoạch", "Cần tuyên truyền"]),
                             look.pick(["QC thuộc diện học", "Số QC theo kế hoạch", "Quần chúng cần tuyên truyền"])),
                        "count", lambda ln: s(ln, "target")))
    if shp.public:
        if shp.visits:
            leaf, one = look.pick([("Lượt người", "QC (lượt người)"), ("Số lượt", "Lượt QC dự"),
                                    ("Lượt tham gia", "Số lượt người nghe")])
        elif look.plain and "public-persons-header" in look.force:
            leaf, one = "Tham gia", "QC (người)"
        else:
            leaf, one = look.pick([("Dự học", "QC dự học"), ("Số người", "Quần chúng được học tập (người)"),
                                    ("Tham gia", "QC (người)")])
        cols.append(col(path(pub_group, leaf, one), "count", lambda ln: s(ln, "public"), plain_zero=not shp.target))
    if shp.public_pct:
        cols.append(col(path(pub_group, "Tỷ lệ", "Tỷ lệ QC (%)"), "pct", lambda ln: (s(ln, "public"), s(ln, "target"))))
    return cols


def dotted_public(look: Look) -> None:
    """Counts above 999 as Vietnamese text ("1.250") — the trap of a CSV with decimal points."""
    if look.counts == "int" and not look.plain and look.rng.random() < 0.3:
        look.counts = "dotted"


# ---------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------


def lay_per_campaign(world: World, commune: Commune, look: Look, h: int, truth: Truth, one_sheet: bool,
                     features: list[str]) -> list[Table]:
    rng = look.rng
    camps = [rng.choice(world.campaigns)] if one_sheet else rng.sample(world.campaigns, min(2, len(world.campaigns)))
    tables = []
    for camp in camps:
        shp = StudyShape.draw(look)
        plenum_twins = [c for c in world.campaigns if c.plenum and c.plenum == camp.plenum]
        ambiguous = len(plenum_twins) > 1 and look.maybe(0.15, "plenum-ambiguous")
        name = f"Nghị quyết Hội nghị {camp.plenum}" if ambiguous else camp_text(camp, look, world.campaigns)
        if ambiguous:
            features.append("plenum-ambiguous")
            truth.must_report.append(f"sheet names '{name}', which {len(plenum_twins)} campaigns share")
        top: tuple[str, ...] = (name,) if h == 3 and look.maybe(0.5, "camp-in-header") else ()
        cols = stt_name(look) + study_cols(camp, shp, look, h, top) + note_col(look)
        lines = body_lines(commune, look, with_subs=look.maybe(0.6, "flat-sub", default=True))
        apply_traps(world, commune, look, lines, truth, features)
        for ln in lines:
            if ln.kind == "unit":
                truth.study(ln.unit, camp, shp.target, shp.public, shp.visits)
                if shp.total and shp.exempt:
                    truth.membership(ln.unit, required=False)
        heading = look.pick(["KẾT QUẢ TRIỂN KHAI HỌC TẬP, QUÁN TRIỆT", "BIỂU THỐNG KÊ SỐ LƯỢNG ĐẢNG VIÊN HỌC TẬP",
                              "TỔNG HỢP SỐ LIỆU HỌC TẬP"])
        year_in = look.maybe(0.7, "no-year-in-heading", default=True)
        t, caps = titles(world, commune, heading, look, extra=[name] if not top else [],
                         year_in_heading=year_in, dated_next_year=year_in and look.maybe(0.2, "dated-next-year"),
                         features=features)
        sheet = look.pick([camp.code.replace("/", "_") if camp.code else "NQ Dai hoi", f"Bieu {len(tables) + 1}",
                            f"HT {len(tables) + 1}"])
        tables.append(Table(sheet, t, caps, cols, lines, h))
    return tables


def lay_side_by_side(world: World, commune: Commune, look: Look, h: int, truth: Truth, features: list[str]) -> list[Table]:
    rng = look.rng
    h = max(h, 2)
    camps = list(world.campaigns[: rng.randint(2, len(world.campaigns))])
    cols = stt_name(look)
    base = look.maybe(0.6, "no-total", default=True)
    with_exempt = base and look.maybe(0.6, "no-exempt", default=True)
    if base:
        cols.append(Col((look.pick(["Tổng số ĐV", "Số đảng viên (đ/c)", "ĐV hiện có"]),), "count",
                        lambda ln: ln.unit.total))
        if with_exempt:
            cols.append(Col((look.pick(["Miễn sinh hoạt", "ĐV miễn SH"]),), "count", lambda ln: ln.unit.exempt))
    same_label = len(camps) > 1 and look.maybe(0.15, "same-label-twice")
    names = [camp_text(c, look, world.campaigns) for c in camps]
    if same_label:
        names[1] = names[0]
        features.append("same-label-twice")
        truth.must_report.append(f"two campaign groups both labelled '{names[0]}'")
    shapes = []
    for i, camp in enumerate(camps):
        shp = StudyShape.draw(look, members_base=False)
        shapes.append(shp)
        group = (names[i],) if h >= 2 else ()
        cs = study_cols(camp, shp, look, h, group, gid=(f"g{i}",))
        cols += cs
    cols += note_col(look)
    lines = body_lines(commune, look, with_subs=look.maybe(0.5, "flat-sub", default=True))
    apply_traps(world, commune, look, lines, truth, features)
    for ln in lines:
        if ln.kind != "unit":
            continue
        for camp, shp in zip(camps, shapes, strict=True):
            truth.study(ln.unit, camp, shp.target, shp.public, shp.visits)
        if with_exempt:
            truth.membership(ln.unit, required=False)
    t, caps = titles(world, commune, look.pick(["KẾT QUẢ HỌC TẬP CÁC NGHỊ QUYẾT, CHỈ THỊ CỦA ĐẢNG",
                                                 "BIỂU TỔNG HỢP HỌC TẬP, QUÁN TRIỆT NGHỊ QUYẾT"]), look)
    return [Table(look.pick(["Hoc tap", "TH", "Sheet1"]), t, caps, cols, lines, h)]


def rating_cols_x(world: World, look: Look, h: int, top: str | None, wrong_scheme: bool) -> tuple[list[Col], bool]:
    y = world.year
    levels = unit_levels(y)
    if wrong_scheme:
        levels = LATER if scheme_for(y) == "tsvm-2008" else UNIT_OLD
    group = look.pick(["Xếp loại", "Kết quả xếp loại", "Xếp loại chất lượng", "Mức xếp loại"])
    cols = []
    for i, (_code, spellings) in enumerate(levels):
        label = look.pick(spellings)
        real = unit_levels(y)[i][0]
        path = (label,) if h == 1 else (group, label) if h == 2 or not top else (top, group, label)
        cols.append(Col(path, "mark", (lambda r: lambda ln: ln.unit.level == r)(real), sub_own=True))
    ex_col = exemplary_possible(y) and look.maybe(0.85, "no-exemplary", default=True)
    if ex_col:
        ex = look.pick(EXEMPLARY_OLD if scheme_for(y) == "tsvm-2008" else EXEMPLARY_NEW)
        path = (ex,) if h == 1 or not top else (top, ex) if h == 2 else (top, ex)
        if h == 3 and look.maybe(0.5, "exemplary-in-group"):
            path = (top, group, ex) if top else (group, ex)
        cols.append(Col(path, "mark", lambda ln: ln.unit.exemplary, sub_own=True))
    return cols, ex_col


def lay_unit_x(world: World, commune: Commune, look: Look, h: int, truth: Truth, features: list[str]) -> list[Table]:
    y = world.year
    wrong = look.maybe(0.15, "wrong-scheme-levels") and y != 2018
    if wrong:
        features.append("wrong-scheme-levels")
        truth.must_report.append(f"unit levels of the other scheme for {y}")
    top = look.pick([f"Kết quả đánh giá, xếp loại chất lượng năm {y}", "Đánh giá, xếp loại tổ chức đảng"]) \
        if h == 3 else None
    cols = stt_name(look, look.pick(["Tên tổ chức đảng", "Tổ chức đảng", "Chi, đảng bộ"]))
    if look.maybe(0.3, "unit-x-count"):
        cols.append(Col((look.pick(["Số ĐV", "Tổng số ĐV"]),), "count", lambda ln: ln.unit.total, sub_own=False))
    rc, ex_col = rating_cols_x(world, look, h, top, wrong)
    cols += rc + note_col(look)
    lines = body_lines(commune, look, with_subs=True)
    apply_traps(world, commune, look, lines, truth, features)
    for ln in lines:
        if ln.kind in ("unit", "sub"):
            truth.unit_rating(ln.unit, ex_col)
    year_in = look.maybe(0.8, "no-year-in-heading", default=True)
    dated = look.maybe(0.35, "dated-next-year")
    t, caps = titles(world, commune, look.pick(["KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG TỔ CHỨC ĐẢNG",
                                                 "TỔNG HỢP PHÂN LOẠI CHI BỘ, ĐẢNG BỘ BỘ PHẬN"]), look,
                     year_in_heading=year_in, dated_next_year=dated, features=features)
    return [Table(look.pick(["Xep loai TCD", "XL chi bo", "Sheet1"]), t, caps, cols, lines, h)]


def member_cols(world: World, look: Look, h: int, pairs: bool, na: bool, assessed_col: bool,
                top: str) -> list[Col]:
    y = world.year
    cols: list[Col] = []
    sl, pc = look.pick([("SL", "%"), ("Số lượng", "Tỷ lệ %"), ("Số ĐV", "TL (%)"), ("Số người", "Tỷ lệ")])
    if assessed_col:
        head = "Tổng số ĐV được đánh giá, xếp loại" if look.plain and "assessed-long-header" in look.force else \
            look.pick(["Số ĐV được đánh giá", "ĐV được xếp loại", "Tổng số ĐV được đánh giá, xếp loại"])
        cols.append(Col((head,),
                        "count", lambda ln: ln.unit.assessed))
    for code, spellings in member_levels(y):
        label = look.pick(spellings)
        f = (lambda c: lambda ln: ln.unit.members[c])(code)
        if not pairs:
            cols.append(Col((label,) if h == 1 else (top, label) if h == 2 else (top, "Chia ra", label), "count", f))
            continue
        if h == 1:
            cols.append(Col((f"{label} ({sl})",), "count", f))
            cols.append(Col((f"{label} ({pc})",), "pct", (lambda c: lambda ln: (ln.unit.members[c], ln.unit.assessed))(code)))
        else:
            base = (label,) if h == 2 else (top, label)
            cols.append(Col(base + (sl,), "count", f))
            cols.append(Col(base + (pc,), "pct", (lambda c: lambda ln: (ln.unit.members[c], ln.unit.assessed))(code)))
    if na:
        head = look.pick(["Không xếp loại (mới kết nạp, ốm đau)", "Chưa đánh giá", "ĐV không đánh giá, xếp loại",
                           "Không xếp loại"])
        cols.append(Col((head,) if h < 3 else (top, head), "count", lambda ln: ln.unit.not_assessed))
    return cols


def lay_member_pairs(world: World, commune: Commune, look: Look, h: int, truth: Truth, features: list[str]) -> list[Table]:
    y = world.year
    top = look.pick(["Kết quả xếp loại đảng viên", f"Phân loại đảng viên năm {y}", "Xếp loại chất lượng ĐV"])
    cols = stt_name(look)
    with_total = look.maybe(0.4, "no-total", default=True)
    with_exempt = (with_total and look.maybe(0.5, "no-exempt", default=True)) or \
        (look.plain and "exempt-only" in look.force)
    if with_total:
        cols.append(Col((look.pick(["Tổng số ĐV", "Số ĐV hiện có"]),), "count", lambda ln: ln.unit.total))
    if with_exempt:
        cols.append(Col((look.pick(["Miễn đánh giá (miễn SHĐ)", "ĐV miễn sinh hoạt"]),), "count",
                        lambda ln: ln.unit.exempt))
    if look.plain and "women-col" in look.force:
        cols.append(Col(("Đảng viên nữ",), "count", lambda ln: ln.unit.women, extra=True))
    elif look.maybe(0.25, "women-col"):
        head, f = look.pick([("Kết nạp mới", lambda ln: ln.unit.admitted),
                              ("Trong đó: dự bị", lambda ln: ln.unit.admitted + ln.unit.moved_in),
                              ("Đảng viên nữ", lambda ln: ln.unit.women)])
        cols.append(Col((head,), "count", f, extra=True))
    na = look.maybe(0.8, "no-na", default=True)
    cols += member_cols(world, look, h, look.maybe(0.75, "no-pairs", default=True), na,
                        look.maybe(0.5, "assessed-col"), top) + note_col(look)
    lines = body_lines(commune, look, with_subs=look.maybe(0.5, "flat-sub", default=True))
    apply_traps(world, commune, look, lines, truth, features)
    for ln in lines:
        if ln.kind == "unit":
            truth.member_rating(ln.unit, na)
            if with_exempt:
                truth.membership(ln.unit, required=False)
    t, caps = titles(world, commune, look.pick(["KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG ĐẢNG VIÊN",
                                                 "BIỂU TỔNG HỢP PHÂN LOẠI ĐẢNG VIÊN"]), look,
                     dated_next_year=look.maybe(0.3, "dated-next-year"), features=features)
    return [Table(look.pick(["XL dang vien", "DV", "Sheet1"]), t, caps, cols, lines, h)]


def lay_combined(world: World, commune: Commune, look: Look, h: int, truth: Truth, features: list[str]) -> list[Table]:
    rng = look.rng
    y = world.year
    h = max(h, 2)
    cols = stt_name(look)
    g_mem = look.pick(["Số lượng đảng viên", "Đảng viên", "SỐ LƯỢNG ĐV"])
    cols.append(Col((g_mem, look.pick(["Tổng số", "Hiện có", "Cuối kỳ"])), "count", lambda ln: ln.unit.total))
    cols.append(Col((g_mem, look.pick(["Miễn SH", "Được miễn sinh hoạt", "Trong đó miễn SHĐ"])), "count",
                    lambda ln: ln.unit.exempt))
    if look.maybe(0.35, "movement-col"):
        cols.append(Col((g_mem, look.pick(["Kết nạp mới", "Chuyển đến", "Tăng trong năm"])), "count",
                        lambda ln: ln.unit.admitted + ln.unit.moved_in, extra=True))
    for ln_u in commune.leaves:
        truth.membership(ln_u)
    camps = world.campaigns[: rng.randint(1, min(2, len(world.campaigns)))]
    shapes = []
    for i, camp in enumerate(camps):
        shp = StudyShape(False, False, False, look.maybe(0.2, "makeup"), "none", look.maybe(0.4, "no-target", default=True),
                         True, look.maybe(0.4, "visits"), False, False, False, look.maybe(0.2, "classes"))
        shp.public_pct = shp.target and look.maybe(0.3, "public-pct")
        shapes.append(shp)
        name = camp_text(camp, look, world.campaigns)
        cols += study_cols(camp, shp, look, h, (f"Học tập {name}",), gid=(f"c{i}",))
    ux_cols: list[Col]
    if look.maybe(0.5, "x-levels", default=True):
        g_u = look.pick(["Xếp loại chi bộ", "Đánh giá tổ chức đảng"])
        levels = {code: look.pick(sp) for code, sp in unit_levels(y)}
        two_labels = look.maybe(0.3, "self-vs-decided")
        if two_labels:
            features.append("self-vs-decided")
            ux_cols = [Col((g_u, "Chi bộ tự xếp loại"), "text", lambda ln: levels[ln.unit.self_level] if ln.unit else None),
                       Col((g_u, "Cấp ủy cấp trên công nhận" if look.plain and "decided-upper" in look.force else
                            look.pick(["Đảng ủy quyết định xếp loại", "Cấp ủy cấp trên công nhận"])), "text",
                           lambda ln: levels[ln.unit.level] if ln.unit else None)]
        else:
            ux_cols = [Col((g_u, look.pick(["Xếp loại", "Mức xếp loại"])), "text",
                           lambda ln: levels[ln.unit.level] if ln.unit else None)]
        ex_col = exemplary_possible(y) and look.maybe(0.8, "no-exemplary", default=True)
        if ex_col:
            ux_cols.append(Col((g_u, look.pick(EXEMPLARY_OLD if scheme_for(y) == "tsvm-2008" else EXEMPLARY_NEW)),
                               "mark", lambda ln: ln.unit.exemplary, sub_own=True))
        for c in ux_cols:
            if c.kind == "text":
                c.sub_own = True
    else:
        ux_cols, ex_col = rating_cols_x(world, look, 2, None, False)
        g_u = look.pick(["Xếp loại TCĐ", "Chất lượng chi bộ"])
        for c in ux_cols:
            c.path = (g_u, c.path[-1])
    cols += ux_cols
    na = look.maybe(0.7, "no-na", default=True)
    cols += [Col(("Xếp loại đảng viên",) + c.path[-1:], c.kind, c.f) for c in
             member_cols(world, look, 1, False, na, False, "")]
    cols += note_col(look)
    lines = body_lines(commune, look, with_subs=look.maybe(0.6, "flat-sub", default=True))
    apply_traps(world, commune, look, lines, truth, features)
    for ln in lines:
        if ln.kind == "unit":
            truth.membership(ln.unit)
            for camp, shp in zip(camps, shapes, strict=True):
                truth.study(ln.unit, camp, shp.target, shp.public, shp.visits)
            truth.member_rating(ln.unit, na)
        if ln.kind in ("unit", "sub"):
            truth.unit_rating(ln.unit, ex_col)
    t, caps = titles(world, commune, look.pick(["BIỂU TỔNG HỢP", "BIỂU TỔNG HỢP SỐ LIỆU CÔNG TÁC ĐẢNG",
                                                 "SỐ LIỆU TỔNG HỢP CUỐI NĂM"]), look, dated_next_year=look.maybe(0.3, "dated-next-year"),
                     features=features)
    return [Table(look.pick(["Bieu tong hop", "TH cuoi nam", "Sheet1"]), t, caps, cols, lines, h)]


def lay_long(world: World, commune: Commune, look: Look, h: int, truth: Truth, features: list[str]) -> list[Table]:
    rng = look.rng
    camps = world.campaigns
    by_unit = look.maybe(0.65, "by-campaign", default=True)
    leaves = [u for u in commune.leaves]
    pairs = [(u, c) for u in leaves for c in camps] if by_unit else [(u, c) for c in camps for u in leaves]
    short = look.maybe(0.5, "long-names", default=True)
    names = {c.campaign_id: (c.code if short and c.code else camp_text(c, look, camps)) for c in camps}
    merge_names = by_unit and look.maybe(0.35, "merged-names")
    shp = StudyShape.draw(look)
    shp.held = shp.slash = False
    lines = []
    for i, (u, c) in enumerate(pairs):
        first = i == 0 or pairs[i - 1][0] is not u
        lines.append(Line("unit", u, c, label="" if first or not merge_names else "merged-below"))
    dup = rng.random() if not look.plain else (0.0 if "dup-same" in look.force else 0.15 if "dup-conflict" in look.force else 1.0)
    if dup < 0.1:
        i = rng.randrange(len(lines))
        lines.insert(i + 1, Line("unit", lines[i].unit, lines[i].camp))
        features.append("dup-same")
    elif dup < 0.18:
        i = rng.randrange(len(lines))
        twin = _twin(lines[i].unit, world)
        lines.append(Line("unit", twin, lines[i].camp))
        features.append("dup-conflict")
        truth.must_report.append(f"'{lines[i].unit.name}' × {lines[i].camp.code or lines[i].camp.kind} given twice, "
                                 "differently")
    cols = [Col((look.pick(["STT", "TT"]),), "stt"),
            Col((look.pick(["Chi bộ", "Tên chi bộ", "Đơn vị"]),), "name"),
            Col((look.pick(["Nghị quyết, chỉ thị được học", "Chuyên đề", "Văn bản", "Nội dung học tập"]),), "campaign",
                lambda ln: names[ln.camp.campaign_id])]
    cols += study_cols(None, shp, look, min(h, 2), ()) + note_col(look)
    for ln in lines:
        truth.study(ln.unit, ln.camp, shp.target, shp.public, shp.visits)
        if shp.total and shp.exempt:
            truth.membership(ln.unit, required=False)
    t, caps = titles(world, commune, look.pick(["SỔ THEO DÕI HỌC TẬP NGHỊ QUYẾT", "KẾT QUẢ HỌC TẬP, QUÁN TRIỆT"]),
                     look)
    table = Table(look.pick(["Theo doi", "Sheet1", "Hoc NQ"]), t, caps, cols, lines, min(h, 2),
                  merge_names=merge_names, no_totals=True)
    return [table]


def lay_membership(world: World, commune: Commune, look: Look, h: int, truth: Truth, features: list[str]) -> list[Table]:
    y = world.year
    cols = stt_name(look)
    movement = look.maybe(0.6, "movement")
    if movement:
        h = max(h, 2)
        g_in, g_out = look.pick([("Tăng", "Giảm"), ("Tăng trong năm", "Giảm trong năm")])
        cols.append(Col((look.pick(["Đầu năm", f"Số ĐV đến 31/12/{y - 1}", "Tổng số đầu kỳ"]),), "count",
                        lambda ln: ln.unit.start))
        cols.append(Col((g_in, "Kết nạp mới"), "count", lambda ln: ln.unit.admitted, extra=True))
        cols.append(Col((g_in, "Chuyển đến"), "count", lambda ln: ln.unit.moved_in, extra=True))
        cols.append(Col((g_out, "Chuyển đi"), "count", lambda ln: ln.unit.moved_out, extra=True))
        cols.append(Col((g_out, "Từ trần"), "count", lambda ln: ln.unit.died, extra=True))
        end = look.pick(["Cuối năm", f"Số ĐV đến 31/12/{y}", "Tổng số cuối kỳ", "Hiện có"])
        cols.append(Col((end,), "count", lambda ln: ln.unit.total))
        features.append("movement")
    elif look.plain and "start-end" in look.force:
        h = 1
        cols.append(Col((f"Số ĐV đến 31/12/{y - 1}",), "count", lambda ln: ln.unit.start))
        cols.append(Col((f"Số ĐV đến 31/12/{y}",), "count", lambda ln: ln.unit.total))
        features.append("start-end")
    elif look.plain and "start-end-words" in look.force:
        h = 1
        cols.append(Col(("Đầu năm",), "count", lambda ln: ln.unit.start))
        cols.append(Col(("Cuối năm",), "count", lambda ln: ln.unit.total))
        features.append("start-end")
    else:
        if h == 1:
            cols.append(Col((look.pick(["Tổng số đảng viên", "Số ĐV hiện có (đ/c)", "Đảng viên (tổng)"]),), "count",
                            lambda ln: ln.unit.total))
        else:
            g = look.pick(["Đảng viên", "Số lượng đảng viên"])
            top = (f"Tình hình đảng viên đến 31/12/{y}",) if h == 3 else ()
            cols.append(Col(top + (g, "Tổng số"), "count", lambda ln: ln.unit.total))
            if look.maybe(0.5, "women-col"):
                cols.append(Col(top + (g, look.pick(["Nữ", "Dân tộc thiểu số"])), "count",
                                lambda ln: ln.unit.women, extra=True))
    ex_head = look.pick(["Miễn sinh hoạt", "Số ĐV được miễn công tác và sinh hoạt đảng", "ĐV miễn SHĐ",
                          "Được miễn SH"])
    cols.append(Col((ex_head,), "count", lambda ln: ln.unit.exempt))
    cols += note_col(look)
    lines = body_lines(commune, look, with_subs=look.maybe(0.6, "flat-sub", default=True))
    apply_traps(world, commune, look, lines, truth, features)
    for ln in lines:
        if ln.kind == "unit":
            truth.membership(ln.unit)
    t, caps = titles(world, commune, look.pick(["BÁO CÁO TÌNH HÌNH ĐẢNG VIÊN", "THỐNG KÊ SỐ LƯỢNG ĐẢNG VIÊN",
                                                 "BIỂU SỐ LIỆU ĐẢNG VIÊN"]), look,
                     dated_next_year=look.plain and "dated-next-year" in look.force, features=features)
    return [Table(look.pick(["Dang vien", "So luong", "Sheet1"]), t, caps, cols, lines, h)]


def lay_district(world: World, commune: Commune, look: Look, h: int, truth: Truth,
                 features: list[str]) -> list[Table]:
    """One district sheet: every commune's chi bộ under a section row naming its committee."""
    lines: list[Line] = []
    for c in world.communes:
        lines.append(Line("section", label=c.committee.upper()))
        lines += [Line("unit", u) for u in c.leaves]
        for u in c.leaves:
            truth.membership(u)
    cols = stt_name(look) + [Col(("Tổng số ĐV",), "count", lambda ln: ln.unit.total),
                             Col(("Miễn sinh hoạt",), "count", lambda ln: ln.unit.exempt)]
    t = [[f"HUYỆN ỦY {world.district.split(' ', 2)[-1].upper()}", None, None, None, "ĐẢNG CỘNG SẢN VIỆT NAM"],
         ["*"], [f"TỔNG HỢP SỐ LƯỢNG ĐẢNG VIÊN CÁC ĐẢNG BỘ CƠ SỞ NĂM {world.year}"]]
    return [Table("Tong hop", t, {0, 2}, cols, lines, 1)]


LAYOUT_FNS = {"side-by-side": lay_side_by_side, "combined": lay_combined, "unit-x": lay_unit_x,
              "member-pairs": lay_member_pairs, "long": lay_long, "membership": lay_membership,
              "district": lay_district}
HEIGHTS = {"per-campaign": (1, 2, 3), "side-by-side": (2, 3), "combined": (2, 3), "unit-x": (1, 2, 3),
           "member-pairs": (1, 2, 3), "long": (1, 2), "membership": (1, 2, 3), "per-committee": (1, 2),
           "district": (1,)}


def _tables(layout: str, world: World, commune: Commune, look: Look, h: int, truth: Truth, one_sheet: bool,
            features: list[str]) -> list[Table]:
    if layout == "per-campaign":
        return lay_per_campaign(world, commune, look, h, truth, one_sheet, features)
    return LAYOUT_FNS[layout](world, commune, look, h, truth, features)


def make_form(index: int, layout: str, carrier: str, variant: int, seed: int = SEED,
              focus: Focus | None = None) -> HoldoutForm:
    """One form: broad (every choice seeded) or, with ``focus``, plain with exactly the forced traps."""
    rng = random.Random(f"holdout/{seed}/{layout}/{carrier}/{variant}" + (f"/{focus.name}" if focus else ""))
    h = HEIGHTS[layout][(index + variant) % len(HEIGHTS[layout])]
    encoding = "unicode"
    roll = rng.random()
    if focus is not None:
        encoding = focus.encoding
    elif carrier in FONT_CARRIERS and roll < 0.3:
        encoding = "tcvn3" if roll < 0.17 else "vni"
    elif carrier != "csv-cp1258" and roll > 0.86:
        encoding = "nfd"
    year = rng.randint(2012, 2025)
    if focus is not None and focus.years:
        year = rng.choice(focus.years)
    n_communes = rng.randint(2, 3) if layout == "per-committee" else rng.choice([1, 1, 2])
    if layout == "district":
        n_communes = 2
    sub = rng.random() < 0.35
    sub_in_ref = None
    if focus is not None:
        sub = "sub-committee" in focus.force
        sub_in_ref = "sub-not-in-ref" not in focus.force
        h = focus.height or HEIGHTS[layout][0]
    world = World(rng, year, n_communes, sub_committee=sub, sub_in_reference=sub_in_ref)
    if focus is not None and "shared-names" in focus.force:  # every commune has its "Chi bộ Trạm Y tế"
        for c in world.communes:
            if not any(u.name == "Chi bộ Trạm Y tế" for u in c.units):
                u = Unit(f"{c.unit_id}-yt", "Chi bộ Trạm Y tế", "co_quan")
                world._figures(u)
                c.units.append(u)
    truth = Truth(year)
    one_sheet = carrier.startswith("csv")
    suffix = SUFFIX.get(carrier, ".csv")
    files: dict[str, list[SheetSpec]] = {}
    features: list[str] = []
    extra: list[tuple[str, str, int, str]] = []
    headers: dict[str, list[str]] = {}
    targets = world.communes if layout == "per-committee" else [world.communes[0]]
    for commune in targets:
        sub = layout
        if layout == "per-committee":
            sub = rng.choice(["per-campaign", "unit-x", "member-pairs", "combined", "membership"])
        if focus is not None:
            look = Look.focused(rng, carrier, focus.force)
        else:
            look = Look.draw(rng, carrier)
            if sub in ("per-campaign", "side-by-side", "long"):
                dotted_public(look)
        sh = h if h in HEIGHTS[sub] else HEIGHTS[sub][0]
        tables = _tables(sub, world, commune, look, sh, truth, one_sheet, features)
        if look.totals != "none" and look.maybe(0.12, "wrong-total") and not tables[0].no_totals:
            tables[0].wrong_total = True
        rel = look.pick([f"{year}/{commune.unit_id}{suffix}",
                          f"{year}/bao-cao-{_slug(commune.kind)}-{commune.unit_id}{suffix}",
                          f"{year}/{commune.unit_id}/bieu-{rng.randint(1, 5)}{suffix}"])
        if layout == "district":
            rel = f"{year}/{world.district_id}{suffix}"
        elif layout != "per-committee" and look.maybe(0.3, "generic-file-name"):
            rel = f"{year}/{rng.choice(['bieu-tong-hop', 'so-lieu-cuoi-nam', 'BC'])}{suffix}"
        specs = []
        for tb in tables:
            rd = render(tb, look, encoding)
            if rd.wrong_total:
                features.append("wrong-total")
                truth.must_report.append(f"{rel}: a '{look.total_label}' row that disagrees with the rows above it")
            if one_sheet:
                rd.spec.name = ""
            specs.append(rd.spec)
            extra += [(rel, rd.spec.name, c, rd.header[c]) for c in rd.extra_cols]
            headers[f"{rel}[{rd.spec.name}]"] = rd.header
            if one_sheet:
                break
        files[rel] = specs
        features.append(f"{sub}:h={sh},counts={look.counts},zero={look.zero},pct={look.pct},totals={look.totals},"
                        f"headers={look.headers},num={look.numbering},noise={look.noise},names={look.names},"
                        f"sections={look.sections},blank={look.blank_rows}")
    form_id = f"holdout/{layout}/{carrier}/{encoding}/{index:03d}"
    if focus is not None:
        form_id = f"holdout/focused/{focus.name}/{layout}/{carrier}/{index:03d}"
        features.insert(0, focus.name)
    return HoldoutForm(form_id, layout, carrier, encoding, year, files, world.units_csv(), world.campaigns_csv(),
                       {t: set(r) for t, r in truth.rows.items()},
                       {t: r - truth.rows[t] for t, r in truth.maybe.items()}, features,
                       list(dict.fromkeys(truth.must_report)), extra, headers)


@dataclass(frozen=True)
class Focus:
    """A focused form: ordinary wording and styles, and only the traps named in ``force``."""

    name: str
    layout: str
    force: frozenset
    years: tuple[int, ...] = ()
    carriers: tuple[str, ...] = ()
    encoding: str = "unicode"
    height: int = 0


def _f(name: str, layout: str, *force: str, years: tuple[int, ...] = (), carriers: tuple[str, ...] = (),
       encoding: str = "unicode", height: int = 0) -> Focus:
    return Focus(name, layout, frozenset(force), years, carriers, encoding, height)


_LATER = tuple(range(2019, 2025))
_OLD = tuple(range(2012, 2018))
#: One trap per focused form (two carriers each unless given).
FOCUSED: tuple[Focus, ...] = (
    _f("baseline", "per-campaign"), _f("baseline", "side-by-side", height=2), _f("baseline", "combined", height=2),
    _f("baseline", "unit-x", height=2), _f("baseline", "member-pairs", height=2), _f("baseline", "long"),
    _f("baseline", "membership", height=2),
    _f("dated-next-year", "unit-x", "dated-next-year", height=2),
    _f("dated-next-year", "member-pairs", "dated-next-year", height=2),
    _f("dated-next-year", "per-campaign", "dated-next-year"),
    _f("dated-next-year", "membership", "dated-next-year", height=2),
    _f("tick-1", "unit-x", "tick-1", years=_LATER, height=2),
    _f("tick-1", "unit-x", "tick-1", years=_OLD, height=2),
    _f("tick-1-no-exemplary", "unit-x", "tick-1", "no-exemplary", years=_LATER, height=2),
    _f("tick-1-no-exemplary", "unit-x", "tick-1", "no-exemplary", years=_OLD, height=2),
    _f("no-na", "member-pairs", "no-na", height=2),
    _f("no-na-no-base", "member-pairs", "no-na", "no-total", height=2),
    _f("start-end", "membership", "start-end"),
    _f("start-end-words", "membership", "start-end-words"),
    _f("movement", "membership", "movement"),
    _f("women-exempt", "member-pairs", "women-col", "no-total", "exempt-only", height=2),
    _f("sub-in-ref", "per-campaign", "sub-committee"),
    _f("sub-in-ref", "membership", "sub-committee", height=2),
    _f("sub-in-ref", "member-pairs", "sub-committee", height=2),
    _f("sub-in-ref", "unit-x", "sub-committee", height=2),
    _f("sub-in-ref-no-totals", "per-campaign", "sub-committee", "no-totals"),
    _f("sub-in-ref-no-totals", "membership", "sub-committee", "no-totals", height=2),
    _f("sub-in-ref-no-totals", "member-pairs", "sub-committee", "no-totals", height=2),
    _f("sub-not-in-ref", "unit-x", "sub-committee", "sub-not-in-ref", height=2),
    _f("sub-not-in-ref", "per-campaign", "sub-committee", "sub-not-in-ref"),
    _f("dup-conflict", "per-campaign", "dup-conflict"), _f("dup-conflict", "unit-x", "dup-conflict", height=2),
    _f("dup-same", "membership", "dup-same", height=2),
    _f("wrong-total", "per-campaign", "wrong-total"), _f("wrong-total", "member-pairs", "wrong-total", height=2),
    _f("unit-not-in-reference", "membership", "unit-not-in-reference", height=2),
    _f("unit-not-in-reference", "unit-x", "unit-not-in-reference", height=2),
    _f("same-label-twice", "side-by-side", "same-label-twice", height=2),
    _f("wrong-scheme-levels", "unit-x", "wrong-scheme-levels", years=_OLD + _LATER, height=2),
    _f("self-vs-decided", "combined", "self-vs-decided", height=2),
    _f("makeup", "per-campaign", "makeup"), _f("slash", "per-campaign", "slash"),
    _f("pct-total", "per-campaign", "pct-total"), _f("visits", "per-campaign", "visits"),
    _f("visits", "side-by-side", "visits", height=2), _f("eligible-col", "per-campaign", "eligible-col"),
    _f("held", "per-campaign", "held"), _f("classes", "per-campaign", "classes"),
    _f("public-pct", "per-campaign", "public-pct"),
    _f("code-collision", "per-campaign", "code-only", years=(2017, 2022, 2020, 2024)),
    _f("code-collision", "long", "code-only", years=(2022, 2024)),
    _f("numbering-ints", "per-campaign", "numbering-ints"), _f("numbering-ints", "unit-x", "numbering-ints", height=2),
    _f("dotted-thousands", "per-campaign", "dotted-thousands",
       carriers=("csv-utf8", "csv-utf8-bom", "csv-utf16", "xlsx")),
    _f("english", "per-campaign", "english"), _f("nomarks", "member-pairs", "nomarks", height=2),
    _f("nomarks", "per-campaign", "nomarks"),
    _f("blank-rows", "membership", "blank-rows", height=2), _f("sections", "per-campaign", "sections"),
    _f("totals-top", "per-campaign", "totals-top"), _f("totals-top", "member-pairs", "totals-top", height=2),
    _f("merged-names", "long", "merged-names"), _f("dash-zero", "per-campaign", "dash-zero"),
    _f("excel-pct", "member-pairs", "excel-pct", height=2, carriers=("xlsx", "ods")),
    _f("unit-x-count", "unit-x", "unit-x-count", height=2), _f("assessed-col", "member-pairs", "assessed-col", height=2),
    _f("legacy-tcvn3", "per-campaign", carriers=("xlsx", "xls"), encoding="tcvn3"),
    _f("legacy-vni", "unit-x", carriers=("ods", "docx"), encoding="vni", height=2),
    _f("bare-names", "per-campaign", "bare-names"),
    _f("assessed-as-total", "member-pairs", "assessed-col", "no-total", "exempt-only", "assessed-long-header",
       height=2),
    _f("nomarks-visits", "per-campaign", "nomarks", "visits"),
    _f("public-persons-header", "per-campaign", "public-persons-header"),
    _f("decided-upper", "combined", "self-vs-decided", "decided-upper", height=2),
    _f("district-shared-names", "district", "shared-names"),
    _f("district-shared-names", "district", "shared-names", "bare-names"),
)


def build_forms(seed: int = SEED, per_pair: int = PER_PAIR, focused: bool = True) -> list[HoldoutForm]:
    """Every held-out form, in a stable order: ``len(LAYOUTS) * len(CARRIERS) * per_pair`` broad
    forms, then (``focused``) two forms per entry of :data:`FOCUSED`."""
    forms = []
    index = 0
    for layout in LAYOUTS:
        for carrier in CARRIERS:
            for variant in range(per_pair):
                forms.append(make_form(index, layout, carrier, variant, seed))
                index += 1
    if focused:
        k = 0
        for focus in FOCUSED:
            carriers = focus.carriers[:2] or (CARRIERS[k % len(CARRIERS)], CARRIERS[(k + 4) % len(CARRIERS)])
            k += 1
            for variant, carrier in enumerate(carriers):
                forms.append(make_form(index, focus.layout, carrier, variant, seed, focus))
                index += 1
    return forms


def write_raw(form: HoldoutForm, raw: Path) -> None:
    """Write the form's raw folder: units.csv, campaigns.csv and its files."""
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "units.csv").write_text(form.units_csv, encoding="utf-8")
    (raw / "campaigns.csv").write_text(form.campaigns_csv, encoding="utf-8")
    for rel, sheets in form.files.items():
        path = raw / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write_form(path, sheets, form.carrier)
