"""Build the embedded sample in ``data/raw/`` (run once; the output is committed).

The sample is ILLUSTRATIVE. Only the 2014 aggregates of Đảng bộ phường Tân Thanh come from the
article (31 chi bộ, 550 members, study coverage 100% of chi bộ / over 96% of members / nearly 75%
of the public, 31/31 "trong sạch vững mạnh" with 6 "tiêu biểu", nearly 97% of members rated good or
better, of which 20% excellent). Every other figure — other years, other units, and how the 2014
totals split across the 31 chi bộ — is invented by a seeded generator and says so in each workbook.

This script knows the article's targets; the package code that reads the workbooks does not.

Usage: ``python tools/build_sample.py [OUT_DIR]`` (default ``data/raw``).
"""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from analysis.text import encode_legacy

YEARS = range(2012, 2025)
NOTE_VI = "Ghi chú: số liệu minh họa (illustrative), không phải số liệu chính thức."
ARTICLE_NOTE = (
    "Ghi chú: tổng số năm 2014 khớp bài viết về Đảng bộ phường Tân Thanh (2015); "
    "phân bổ theo chi bộ là minh họa."
)


@dataclass
class Unit:
    unit_id: str
    name: str
    parent: str | None
    level: str
    kind: str
    start: int = 2012
    end: int | None = None
    size: int = 0  # typical member count (leaves)
    children: list[str] = field(default_factory=list)


def _tan_thanh_chi_bo() -> list[tuple[str, str, str]]:
    out = [(f"tan-thanh-tdp{i:02d}", f"Chi bộ Tổ dân phố {i}", "khu_dan_cu") for i in range(1, 21)]
    out += [
        ("tan-thanh-co-quan", "Chi bộ Cơ quan phường", "co_quan"),
        ("tan-thanh-cong-an", "Chi bộ Công an phường", "luc_luong_vu_trang"),
        ("tan-thanh-quan-su", "Chi bộ Quân sự phường", "luc_luong_vu_trang"),
        ("tan-thanh-mam-non", "Chi bộ Trường Mầm non Tân Thanh", "truong_hoc"),
        ("tan-thanh-tieu-hoc", "Chi bộ Trường Tiểu học Tân Thanh", "truong_hoc"),
        ("tan-thanh-thcs", "Chi bộ Trường THCS Tân Thanh", "truong_hoc"),
        ("tan-thanh-tram-y-te", "Chi bộ Trạm Y tế phường", "co_quan"),
        ("tan-thanh-cho", "Chi bộ Ban Quản lý chợ Trung tâm", "co_quan"),
        ("tan-thanh-htx", "Chi bộ Hợp tác xã Tân Tiến", "doanh_nghiep"),
        ("tan-thanh-cong-ty-xd", "Chi bộ Công ty Xây dựng số 1", "doanh_nghiep"),
        ("tan-thanh-dien-luc", "Chi bộ Điện lực Tân Thanh", "doanh_nghiep"),
    ]
    return out


def build_units(rng: random.Random) -> dict[str, Unit]:
    units: dict[str, Unit] = {}

    def add(u: Unit) -> None:
        units[u.unit_id] = u
        if u.parent:
            units[u.parent].children.append(u.unit_id)

    add(Unit("dbp", "Thành ủy Điện Biên Phủ", None, "cap_tren", "khac"))
    add(Unit("tan-thanh", "Đảng bộ phường Tân Thanh", "dbp", "co_so", "khu_dan_cu"))
    for uid, name, kind in _tan_thanh_chi_bo():
        end = 2019 if uid in ("tan-thanh-tdp19", "tan-thanh-tdp20") else None
        add(Unit(uid, name, "tan-thanh", "chi_bo", kind, end=end, size=rng.randint(9, 26)))
    # Illustrative 2020 merge of two residential groups (declared in merges.csv).
    add(Unit("tan-thanh-tdp19-20", "Chi bộ Tổ dân phố 19-20", "tan-thanh", "chi_bo", "khu_dan_cu",
             start=2020, size=30))
    add(Unit("him-lam", "Đảng bộ phường Him Lam", "dbp", "co_so", "khu_dan_cu"))
    for i, (suffix, name, kind) in enumerate([
        ("to01", "Chi bộ Tổ dân phố 1", "khu_dan_cu"), ("to02", "Chi bộ Tổ dân phố 2", "khu_dan_cu"),
        ("to03", "Chi bộ Tổ dân phố 3", "khu_dan_cu"), ("to04", "Chi bộ Tổ dân phố 4", "khu_dan_cu"),
        ("to05", "Chi bộ Tổ dân phố 5", "khu_dan_cu"), ("to06", "Chi bộ Tổ dân phố 6", "khu_dan_cu"),
        ("to07", "Chi bộ Tổ dân phố 7", "khu_dan_cu"), ("to08", "Chi bộ Tổ dân phố 8", "khu_dan_cu"),
        ("co-quan", "Chi bộ Cơ quan phường", "co_quan"), ("cong-an", "Chi bộ Công an phường", "luc_luong_vu_trang"),
        ("mam-non", "Chi bộ Trường Mầm non Him Lam", "truong_hoc"),
        ("tieu-hoc", "Chi bộ Trường Tiểu học Him Lam", "truong_hoc"),
    ]):
        add(Unit(f"him-lam-{suffix}", name, "him-lam", "chi_bo", kind, size=8 + (i * 7) % 17))
    add(Unit("thanh-minh", "Đảng bộ xã Thanh Minh", "dbp", "co_so", "khu_dan_cu"))
    for i, (suffix, name, kind) in enumerate([
        ("co-cuom", "Chi bộ bản Co Cượm", "khu_dan_cu"), ("huoi-phuc", "Chi bộ bản Hua Pe", "khu_dan_cu"),
        ("ta-cang", "Chi bộ bản Tà Cang", "khu_dan_cu"), ("pa-pu", "Chi bộ bản Pá Pụ", "khu_dan_cu"),
        ("ke-cang", "Chi bộ bản Kê Nênh", "khu_dan_cu"), ("co-quan", "Chi bộ Cơ quan xã", "co_quan"),
        ("quan-su", "Chi bộ Quân sự xã", "luc_luong_vu_trang"),
        ("truong", "Chi bộ Trường Liên cấp Thanh Minh", "truong_hoc"),
    ]):
        add(Unit(f"thanh-minh-{suffix}", name, "thanh-minh", "chi_bo", kind, size=6 + (i * 5) % 13))
    add(Unit("thpt-pdg", "Chi bộ Trường THPT Phan Đình Giót", "dbp", "co_so", "truong_hoc", size=38))
    return units


CAMPAIGNS = {
    2012: [("12-NQ/TW", "Nghị quyết Trung ương 4 khóa XI về một số vấn đề cấp bách về xây dựng Đảng hiện nay", "2012-03-05"),
           ("03-CT/TW", "Chỉ thị 03-CT/TW, chuyên đề năm 2012", "2012-06-10")],
    2013: [("29-NQ/TW", "Nghị quyết Trung ương 8 khóa XI", "2013-12-16"),
           ("03-CT/TW", "Chỉ thị 03-CT/TW, chuyên đề năm 2013", "2013-05-20")],
    2014: [("03-CT/TW", "Chỉ thị 03-CT/TW về tiếp tục đẩy mạnh việc học tập và làm theo tấm gương đạo đức Hồ Chí Minh, chuyên đề năm 2014", "2014-04-15"),
           ("33-NQ/TW", "Nghị quyết Trung ương 9 khóa XI về xây dựng và phát triển văn hóa, con người Việt Nam", "2014-08-20")],
    2015: [("36-CT/TW", "Chỉ thị 36-CT/TW về đại hội đảng bộ các cấp", "2015-01-15"),
           ("03-CT/TW", "Chỉ thị 03-CT/TW, chuyên đề năm 2015", "2015-05-10")],
    2016: [("NQ-ĐH-XII", "Nghị quyết Đại hội đại biểu toàn quốc lần thứ XII của Đảng", "2016-04-05"),
           ("05-CT/TW", "Chỉ thị 05-CT/TW về đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh", "2016-08-15")],
    2017: [("04-NQ/TW", "Nghị quyết Trung ương 4 khóa XII", "2017-01-10"),
           ("05-CT/TW", "Chỉ thị 05-CT/TW, chuyên đề năm 2017", "2017-06-12")],
    2018: [("18-NQ/TW", "Nghị quyết Trung ương 6 khóa XII", "2018-01-22"),
           ("26-NQ/TW", "Nghị quyết Trung ương 7 khóa XII", "2018-08-06")],
    2019: [("35-NQ/TW", "Nghị quyết 35-NQ/TW về bảo vệ nền tảng tư tưởng của Đảng", "2019-03-11"),
           ("05-CT/TW", "Chỉ thị 05-CT/TW, chuyên đề năm 2019", "2019-06-17")],
    2020: [("35-CT/TW", "Chỉ thị 35-CT/TW về đại hội đảng bộ các cấp", "2020-01-13"),
           ("05-CT/TW", "Chỉ thị 05-CT/TW, chuyên đề năm 2020", "2020-06-08")],
    2021: [("NQ-ĐH-XIII", "Nghị quyết Đại hội đại biểu toàn quốc lần thứ XIII của Đảng", "2021-04-12"),
           ("05-CT/TW", "Chỉ thị 05-CT/TW, chuyên đề năm 2021", "2021-07-05")],
    2022: [("KL-21-KL/TW", "Kết luận 21-KL/TW Hội nghị Trung ương 4 khóa XIII", "2022-01-17"),
           ("05-CT/TW", "Chỉ thị 05-CT/TW, chuyên đề năm 2022", "2022-06-20")],
    2023: [("27-NQ/TW", "Nghị quyết Trung ương 6 khóa XIII", "2023-02-13"),
           ("05-CT/TW", "Chỉ thị 05-CT/TW, chuyên đề năm 2023", "2023-06-19")],
    2024: [("44-NQ/TW", "Nghị quyết Trung ương 8 khóa XIII về chiến lược bảo vệ Tổ quốc", "2024-03-04"),
           ("05-CT/TW", "Chỉ thị 05-CT/TW, chuyên đề năm 2024", "2024-06-24")],
}


def campaign_id(year: int, index: int) -> str:
    return f"{year}-{index + 1:02d}"


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------

def split_total(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` across ``weights`` by largest remainder (sums exactly)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    base = [int(x) for x in raw]
    rest = total - sum(base)
    order = sorted(range(len(raw)), key=lambda i: (raw[i] - base[i], -i), reverse=True)
    for i in order[:rest]:
        base[i] += 1
    return base


def capped_split(total: int, caps: list[int], weights: list[float]) -> list[int]:
    """Split ``total`` proportionally to ``weights`` without exceeding ``caps``."""
    out = [0] * len(caps)
    remaining = total
    active = [i for i in range(len(caps)) if caps[i] > 0]
    while remaining > 0 and active:
        part = split_total(remaining, [weights[i] for i in active])
        overflow = 0
        for i, p in zip(active, part, strict=True):
            take = min(p, caps[i] - out[i])
            out[i] += take
            overflow += p - take
        remaining = overflow
        active = [i for i in active if out[i] < caps[i]]
    if remaining:
        raise ValueError("cannot place total under caps")
    return out


@dataclass
class LeafYear:
    members: int
    exempt: int
    not_assessed: int
    attended: list[int]  # per campaign
    makeup: list[int]
    held: list[bool]
    public_target: list[int]
    public_attended: list[int]
    member_levels: list[int]  # rank 1..4 counts
    unit_rank: int
    exemplary: bool


def _rate(year: int, lo: float, hi: float, rng: random.Random) -> float:
    trend = (year - 2012) / 12
    return min(0.995, lo + (hi - lo) * trend + rng.uniform(-0.012, 0.012))


def figures_for(parent: str, leaves: list[Unit], year: int, rng: random.Random) -> dict[str, LeafYear]:
    """Invent (or, for Tân Thanh 2014, fit to the article) the leaf figures of one committee-year."""
    n = len(leaves)
    growth = 1 + 0.012 * (year - 2012)
    members = [max(3, round(u.size * growth + rng.randint(-1, 2))) for u in leaves]
    article = parent == "tan-thanh" and year == 2014
    if article:
        members = split_total(550, [u.size for u in leaves])
    exempt = [min(m - 2, max(0, round(m * rng.uniform(0.0, 0.07)))) for m in members]
    if article:
        exempt = capped_split(18, [m // 4 for m in members], [m for m in members])
    eligible = [m - e for m, e in zip(members, exempt, strict=True)]
    n_campaigns = len(CAMPAIGNS[year])
    held = [[True] * n_campaigns for _ in leaves]
    if not article and parent == "thanh-minh" and year in (2012, 2013):
        held[n - 1][1] = False  # a remote chi bộ missed the second campaign (illustrative)
    attended, makeup, p_target, p_att = [], [], [], []
    for c in range(n_campaigns):
        rate = _rate(year, 0.925, 0.985, rng)
        att = [0 if not held[i][c] else min(eligible[i], round(eligible[i] * (rate + rng.uniform(-0.03, 0.02))))
               for i in range(n)]
        if article:
            att = capped_split(514 if c == 0 else 512, eligible, [e for e in eligible])
        attended.append(att)
        makeup.append([min(a, rng.randint(0, 2)) for a in att])
        target = [round(m * rng.uniform(6.5, 9.5)) for m in members]
        if article:
            target = split_total(4200, [m for m in members])
        prate = _rate(year, 0.66, 0.84, rng)
        patt = [0 if not held[i][c] else min(t, round(t * (prate + rng.uniform(-0.04, 0.04))))
                for i, t in enumerate(target)]
        if article:
            patt = capped_split(3137 if c == 0 else 3138, target, [t for t in target])
        p_target.append(target)
        p_att.append(patt)
    not_assessed = [min(e_, rng.randint(0, 1)) for e_ in eligible]
    if article:
        not_assessed = capped_split(3, [1] * n, [1.0] * n)
    assessed = [e - na for e, na in zip(eligible, not_assessed, strict=True)]
    total_assessed = sum(assessed)
    if article:
        levels_total = [106, 405, 16, 2]
    else:
        if year <= 2017:
            share1 = rng.uniform(0.14, 0.2)
        else:
            share1 = rng.uniform(0.12, 0.155)  # stays within the 20%-of-level-2 quota
        share34 = rng.uniform(0.02, 0.05)
        l1 = round(total_assessed * share1)
        l4 = min(2, round(total_assessed * 0.004))
        l3 = round(total_assessed * share34) - l4
        levels_total = [l1, total_assessed - l1 - l3 - l4, max(0, l3), l4]
        levels_total[1] = total_assessed - levels_total[0] - levels_total[2] - levels_total[3]
    # distribute each level across leaves under their assessed caps (rank 2 absorbs the rest)
    caps = list(assessed)
    member_levels = [[0, 0, 0, 0] for _ in leaves]
    for rank in (0, 2, 3):
        parts = capped_split(levels_total[rank], [c // 2 if rank else c // 3 for c in caps],
                             [rng.uniform(0.5, 1.5) for _ in leaves])
        for i, p in enumerate(parts):
            member_levels[i][rank] = p
            caps[i] -= p
    for i in range(n):
        member_levels[i][1] = caps[i]
    # unit ratings
    if article:
        ranks = [1] * n
        exemplary_idx = set(sorted(range(n), key=lambda i: -members[i])[:6])
    else:
        p1 = 0.62 + 0.02 * (year - 2012) if year <= 2017 else 0.16 + 0.01 * (year - 2018)
        ranks = []
        for _ in leaves:
            r = rng.random()
            ranks.append(1 if r < p1 else 2 if r < 0.93 else 3 if r < 0.995 else 4)
        ones = [i for i in range(n) if ranks[i] == 1]
        k = round(len(ones) * 0.2)
        exemplary_idx = set(rng.sample(ones, k)) if ones else set()
    return {
        u.unit_id: LeafYear(
            members=members[i], exempt=exempt[i], not_assessed=not_assessed[i],
            attended=[attended[c][i] for c in range(n_campaigns)],
            makeup=[makeup[c][i] for c in range(n_campaigns)],
            held=held[i],
            public_target=[p_target[c][i] for c in range(n_campaigns)],
            public_attended=[p_att[c][i] for c in range(n_campaigns)],
            member_levels=member_levels[i], unit_rank=ranks[i], exemplary=i in exemplary_idx,
        )
        for i, u in enumerate(leaves)
    }


# ---------------------------------------------------------------------------------------------
# Workbook writing
# ---------------------------------------------------------------------------------------------

UNIT_LABELS = {
    "tsvm-2008": {1: ["Trong sạch vững mạnh", "TSVM", "Trong sạch, vững mạnh"],
                  2: ["Hoàn thành tốt nhiệm vụ", "HTTNV"], 3: ["Hoàn thành nhiệm vụ", "HTNV"],
                  4: ["Yếu kém"]},
    "later": {1: ["Hoàn thành xuất sắc nhiệm vụ", "HTXSNV"], 2: ["Hoàn thành tốt nhiệm vụ", "HTTNV"],
              3: ["Hoàn thành nhiệm vụ", "HTNV"], 4: ["Không hoàn thành nhiệm vụ", "KHTNV"]},
}
MEMBER_HEADERS = {
    "tsvm-2008": ["Đủ tư cách, HTXSNV", "Đủ tư cách, HTTNV", "Đủ tư cách, HTNV", "Vi phạm tư cách"],
    "later": ["HTXSNV", "HTTNV", "HTNV", "KHTNV"],
}


def pct_text(num: int, den: int) -> str:
    if den == 0:
        return "-"
    value = round(100 * num / den + 1e-9, 1)
    return f"{value:.1f}".replace(".", ",")


class Sheet:
    """Writes rows to an openpyxl sheet, optionally in a legacy TCVN3 font."""

    def __init__(self, ws, legacy: bool) -> None:
        self.ws = ws
        self.legacy = legacy
        self.row = 1

    def text(self, value: str, caps: bool = False) -> str:
        if not self.legacy:
            return value
        return encode_legacy(value, "tcvn3", caps=caps)

    def put(self, values: list, bold: bool = False, caps: bool = False) -> int:
        for col, value in enumerate(values, start=1):
            cell = self.ws.cell(row=self.row, column=col)
            if isinstance(value, str):
                cell.value = self.text(value, caps=caps)
                if self.legacy:
                    cell.font = Font(name=".VnTimeH" if caps else ".VnTime", bold=bold)
                elif bold:
                    cell.font = Font(bold=True)
            else:
                cell.value = value
        self.row += 1
        return self.row - 1

    def title(self, lines: list[str], width: int) -> None:
        for line in lines:
            r = self.put([line], bold=True, caps=line.isupper())
            self.ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
            self.ws.cell(row=r, column=1).alignment = Alignment(horizontal="center")
        self.row += 1


def committee_title(parent: Unit, year: int) -> list[str]:
    return [parent.name.upper(), f"NĂM {year}"]


def write_membership(wb, parent, leaves, figs, year, legacy) -> None:
    s = Sheet(wb.create_sheet("Đảng viên"), legacy)
    s.title(committee_title(parent, year) + ["BÁO CÁO SỐ LƯỢNG ĐẢNG VIÊN"], 5)
    s.put(["STT", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn sinh hoạt", "Ghi chú"], bold=True)
    for i, u in enumerate(leaves, 1):
        f = figs[u.unit_id]
        s.put([i, u.name, f.members, f.exempt or "-", ""])
    s.put(["", "Tổng cộng", sum(figs[u.unit_id].members for u in leaves),
           sum(figs[u.unit_id].exempt for u in leaves), ""], bold=True)
    s.row += 1
    s.put([NOTE_VI])


def write_study(wb, parent, leaves, figs, year, index, legacy, thousands_text) -> None:
    code, title, _ = CAMPAIGNS[year][index]
    s = Sheet(wb.create_sheet(f"Học tập {index + 1}"), legacy)
    s.title(committee_title(parent, year) + [f"KẾT QUẢ HỌC TẬP, QUÁN TRIỆT {code}", title], 11)
    top = s.put(["STT", "Tên chi bộ", "Tổ chức học tập", "Đảng viên", "", "", "", "Quần chúng", "", "", "Ghi chú"],
                bold=True)
    s.put(["", "", "", "Số ĐV phải học", "Tham gia", "Học bù", "Tỷ lệ (%)", "Số được triển khai", "Tham gia",
           "Tỷ lệ (%)", ""], bold=True)
    for c1, c2 in ((1, 1), (2, 2), (3, 3), (4, 7), (8, 10), (11, 11)):
        if c1 == c2:
            s.ws.merge_cells(start_row=top, start_column=c1, end_row=top + 1, end_column=c2)
        else:
            s.ws.merge_cells(start_row=top, start_column=c1, end_row=top, end_column=c2)
    totals = [0, 0, 0, 0, 0]

    def num(v: int):
        return f"{v:,}".replace(",", ".") if thousands_text and v >= 1000 else v

    for i, u in enumerate(leaves, 1):
        f = figs[u.unit_id]
        elig = f.members - f.exempt
        att, mk, pt, pa = f.attended[index], f.makeup[index], f.public_target[index], f.public_attended[index]
        s.put([i, u.name, "x" if f.held[index] else "", elig, att, mk or "-", pct_text(att, elig), num(pt), pa,
               pct_text(pa, pt), "" if f.held[index] else "Chưa tổ chức"])
        for k, v in enumerate((elig, att, mk, pt, pa)):
            totals[k] += v
    s.put(["", "Tổng cộng", sum(figs[u.unit_id].held[index] for u in leaves), totals[0], totals[1], totals[2],
           pct_text(totals[1], totals[0]), num(totals[3]), totals[4], pct_text(totals[4], totals[3]), ""], bold=True)
    s.row += 1
    s.put([ARTICLE_NOTE if parent.unit_id == "tan-thanh" and year == 2014 else NOTE_VI])


def scheme_key(year: int) -> str:
    return "tsvm-2008" if year <= 2017 else "later"


def write_unit_ratings(wb, parent, rated, ranks, year, legacy, rng, code_col=False) -> None:
    s = Sheet(wb.create_sheet("Xếp loại TCĐ" if not code_col else "Xếp loại TCCSĐ"), legacy)
    what = "CHI BỘ" if not code_col else "TỔ CHỨC CƠ SỞ ĐẢNG"
    s.title(committee_title(parent, year) + [f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI {what}"], 5)
    header = ["STT", "Mã đơn vị" if code_col else "Tên chi bộ", "Tên tổ chức đảng" if code_col else "Xếp loại",
              "Xếp loại" if code_col else "Tiêu biểu", "Tiêu biểu" if code_col else "Ghi chú"]
    s.put(header, bold=True)
    key = scheme_key(year)
    for i, u in enumerate(rated, 1):
        rank, exemplary = ranks[u.unit_id]
        label = rng.choice(UNIT_LABELS[key][rank])
        if code_col:
            s.put([i, u.unit_id, u.name, label, "x" if exemplary else ""])
        else:
            s.put([i, u.name, label, "x" if exemplary else "", ""])
    s.row += 1
    s.put([NOTE_VI])


def write_member_ratings(wb, parent, leaves, figs, year, legacy) -> None:
    s = Sheet(wb.create_sheet("Xếp loại ĐV"), legacy)
    s.title(committee_title(parent, year) + ["KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI ĐẢNG VIÊN"], 9)
    top = s.put(["STT", "Tên chi bộ", "Tổng số ĐV", "Số ĐV miễn sinh hoạt", "Kết quả xếp loại", "", "", "",
                 "Không đánh giá"], bold=True)
    s.put(["", "", "", "", *MEMBER_HEADERS[scheme_key(year)], ""], bold=True)
    for c in (1, 2, 3, 4, 9):
        s.ws.merge_cells(start_row=top, start_column=c, end_row=top + 1, end_column=c)
    s.ws.merge_cells(start_row=top, start_column=5, end_row=top, end_column=8)
    tot = [0] * 7
    for i, u in enumerate(leaves, 1):
        f = figs[u.unit_id]
        vals = [f.members, f.exempt, *f.member_levels, f.not_assessed]
        s.put([i, u.name, *[v if v else "-" for v in vals]])
        tot = [a + b for a, b in zip(tot, vals, strict=True)]
    s.put(["", "Tổng cộng", *tot], bold=True)
    s.row += 1
    s.put([NOTE_VI])


def leaves_of(units: dict[str, Unit], parent: str, year: int) -> list[Unit]:
    out = []
    for cid in units[parent].children:
        u = units[cid]
        if u.start <= year and (u.end is None or year <= u.end):
            out.append(u)
    return out


def build(out: Path) -> None:
    rng = random.Random(20150101)
    units = build_units(rng)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "units.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["unit_id", "unit_name", "parent_id", "unit_level", "unit_kind", "valid_from_year",
                    "valid_to_year"])
        for u in units.values():
            w.writerow([u.unit_id, u.name, u.parent or "", u.level, u.kind, u.start, u.end or ""])
    with (out / "merges.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["from_unit_id", "to_unit_id", "year"])
        w.writerow(["tan-thanh-tdp19", "tan-thanh-tdp19-20", 2020])
        w.writerow(["tan-thanh-tdp20", "tan-thanh-tdp19-20", 2020])
    with (out / "campaigns.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["campaign_id", "year", "title", "document_code", "start_date"])
        for year, items in CAMPAIGNS.items():
            for i, (code, title, start) in enumerate(items):
                w.writerow([campaign_id(year, i), year, title, code, start])
    with (out / "targets.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["unit_id", "indicator", "from_year", "to_year", "threshold_pct"])
        w.writerow(["dbp", "coverage.members", 2012, "", 95])
        w.writerow(["dbp", "coverage.public", 2012, "", 70])
        w.writerow(["dbp", "coverage.units", 2012, "", 100])
    committees = ["tan-thanh", "him-lam", "thanh-minh"]
    for year in YEARS:
        ydir = out / str(year)
        ydir.mkdir(exist_ok=True)
        ranks_co_so: dict[str, tuple[int, bool]] = {}
        for parent_id in committees:
            parent = units[parent_id]
            leaves = leaves_of(units, parent_id, year)
            figs = figures_for(parent_id, leaves, year, rng)
            legacy = parent_id == "him-lam" and year == 2013
            wb = Workbook()
            wb.remove(wb.active)
            write_membership(wb, parent, leaves, figs, year, legacy)
            for c in range(len(CAMPAIGNS[year])):
                write_study(wb, parent, leaves, figs, year, c, legacy, thousands_text=parent_id == "thanh-minh")
            write_unit_ratings(wb, parent, leaves, {u.unit_id: (figs[u.unit_id].unit_rank, figs[u.unit_id].exemplary)
                                                   for u in leaves}, year, legacy, rng)
            write_member_ratings(wb, parent, leaves, figs, year, legacy)
            wb.save(ydir / f"{parent_id}-{year}.xlsx")
            ranks_co_so[parent_id] = (1, False) if (parent_id == "tan-thanh" and year == 2014) \
                else (1 if rng.random() < 0.7 else 2, False)
        # the grassroots chi bộ (chi bộ cơ sở) reports for itself
        school = units["thpt-pdg"]
        figs = figures_for("thpt-pdg", [school], year, rng)
        wb = Workbook()
        wb.remove(wb.active)
        write_membership(wb, school, [school], figs, year, False)
        for c in range(len(CAMPAIGNS[year])):
            write_study(wb, school, [school], figs, year, c, False, thousands_text=False)
        write_member_ratings(wb, school, [school], figs, year, False)
        wb.save(ydir / f"thpt-pdg-{year}.xlsx")
        ranks_co_so["thpt-pdg"] = (figs["thpt-pdg"].unit_rank, figs["thpt-pdg"].exemplary)
        # the city rates its grassroots organisations, with a code column
        wb = Workbook()
        wb.remove(wb.active)
        write_unit_ratings(wb, units["dbp"], [units[k] for k in ranks_co_so], ranks_co_so, year, False, rng,
                           code_col=True)
        wb.save(ydir / f"dbp-xep-loai-{year}.xlsx")
    (out / "README.md").write_text(
        "# Embedded sample (illustrative)\n\n"
        "Built by `tools/build_sample.py` (seeded). Only the 2014 totals of Đảng bộ phường Tân Thanh come "
        "from the article reproduced in the project docs (31 chi bộ, 550 members; study coverage 100% / "
        "over 96% / nearly 75%; 31/31 trong sạch vững mạnh, 6 tiêu biểu; nearly 97% of members good or "
        "better, 20% excellent). Everything else — other years, other units, the split of the 2014 totals "
        "across chi bộ, campaigns' attendance — is invented and marked illustrative in every workbook.\n\n"
        "`him-lam-2013.xlsx` is typed in the legacy TCVN3 font (.VnTime / .VnTimeH) as old files are; "
        "study sheets have two-row merged headers; Thanh Minh writes thousands as text ('1.234').\n",
        encoding="utf-8",
    )
    (out / "dataset.yaml").write_text(
        "name: Mẫu minh họa — Thành ủy Điện Biên Phủ\n"
        "illustrative: true\n"
        "source_note_vi: >-\n"
        "  Số liệu minh họa. Riêng tổng số năm 2014 của Đảng bộ phường Tân Thanh khớp bài viết\n"
        "  'Đảng bộ phường Tân Thanh bước chuyển tích cực trong công tác xây dựng Đảng' (2015).\n"
        "source_note_en: >-\n"
        "  Illustrative data. Only Tân Thanh ward's 2014 totals match the 2015 article about the ward.\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "data/raw"))
