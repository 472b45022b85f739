"""Extraction, reconciliation, reading and drafting of figures in report texts (issue 8).

Every sentence below is written for these tests in the style of committee reports; none is
copied from a real article.
"""

from __future__ import annotations

import copy
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import claims as cl
from analysis.ratings import scheme_levels
from analysis.text import encode_legacy, round_half_up

# --------------------------------------------------------------------------------------------
# Extraction: (sentence, [(text, qualifier, indicator, parent offset or None)])
# parent offset: index of the parent claim within the same sentence's claims.
# --------------------------------------------------------------------------------------------

CASES = [
    # two subjects in one sentence, study coverage after the figures
    (
        "Năm 2016, 100% chi bộ và 97,2% đảng viên tham gia học tập, quán triệt Nghị quyết Đại hội XII.",
        [("100%", "exact", "coverage.units", None), ("97,2%", "exact", "coverage.members", None)],
    ),
    (
        "Có 98,5% cán bộ, đảng viên và trên 80% quần chúng nhân dân được quán triệt Chỉ thị 05-CT/TW.",
        [
            ("98,5%", "exact", "coverage.members", None),
            ("trên 80%", "tren", "coverage.public", None),
        ],
    ),
    # three subjects, study words before the figures, subject words after them
    (
        "Chi bộ tổ chức học tập nghị quyết cho 100% tổ chức cơ sở đảng, trên 95% cán bộ, đảng viên, "
        "gần 80% quần chúng nhân dân.",
        [
            ("100%", "exact", "coverage.units", None),
            ("trên 95%", "tren", "coverage.members", None),
            ("gần 80%", "gan", "coverage.public", None),
        ],
    ),
    (
        "Hơn 90% đảng viên tham gia học tập chuyên đề năm 2017.",
        [("Hơn 90%", "hon", "coverage.members", None)],
    ),
    (
        "Gần 70% quần chúng nhân dân trên địa bàn tham dự học tập nghị quyết.",
        [("Gần 70%", "gan", "coverage.public", None)],
    ),
    (
        "Khoảng 85% quần chúng tham gia học tập các chuyên đề.",
        [("Khoảng 85%", "khoang", "coverage.public", None)],
    ),
    (
        "Chưa đến 3% đảng viên không hoàn thành nhiệm vụ.",
        [("Chưa đến 3%", "chua_den", "member_ratings.rank4", None)],
    ),
    ("Dưới 2% chi bộ xếp loại yếu kém.", [("Dưới 2%", "duoi", "unit_ratings.rank4", None)]),
    (
        "Tỷ lệ đảng viên hoàn thành tốt nhiệm vụ trở lên đạt 95,8%.",
        [("đạt 95,8%", "dat", "member_ratings.rank1-2", None)],
    ),
    (
        "Có 95% trở lên đảng viên tham gia học tập nghị quyết.",
        [("95% trở lên", "tro_len", "coverage.members", None)],
    ),
    (
        "Ước đạt 75% quần chúng nhân dân được phổ biến nghị quyết.",
        [("Ước đạt 75%", "khoang", "coverage.public", None)],
    ),
    # range
    (
        "Tỷ lệ đảng viên tham gia học tập đạt từ 95% đến 98%.",
        [("từ 95% đến 98%", "exact", "coverage.members", None)],
    ),
    # fraction + nested count
    (
        "Có 27/29 chi bộ đạt trong sạch vững mạnh, trong đó 5 chi bộ tiêu biểu.",
        [
            ("27/29", "exact", "unit_ratings.rank1", None),
            ("5", "exact", "unit_ratings.exemplary", 0),
        ],
    ),
    # nested "trong đó" in parentheses; a better level under a level makes it cumulative
    (
        "Gần 96% đảng viên đủ tư cách hoàn thành tốt nhiệm vụ (trong đó 18% đảng viên hoàn thành "
        "xuất sắc nhiệm vụ).",
        [
            ("Gần 96%", "gan", "member_ratings.rank1-2", None),
            ("18%", "exact", "member_ratings.rank1", 0),
        ],
    ),
    (
        "Năm 2015 có 1.204 đảng viên hoàn thành tốt nhiệm vụ trở lên (trong đó 241 đảng viên hoàn "
        "thành xuất sắc nhiệm vụ).",
        [
            ("1.204", "exact", "member_ratings.rank1-2", None),
            ("241", "exact", "member_ratings.rank1", 0),
        ],
    ),
    (
        "Kết quả đánh giá: 92,5% đảng viên hoàn thành tốt nhiệm vụ trở lên, trong đó 18% hoàn thành "
        "xuất sắc nhiệm vụ.",
        [
            ("92,5%", "exact", "member_ratings.rank1-2", None),
            ("18%", "exact", "member_ratings.rank1", 0),
        ],
    ),
    # level named before the figure; exemplary nested
    (
        "Kết quả xếp loại tổ chức cơ sở đảng: trong sạch vững mạnh 86,4% (trong đó tiêu biểu 21,3%).",
        [
            ("86,4%", "exact", "unit_ratings.rank1", None),
            ("21,3%", "exact", "unit_ratings.exemplary", 0),
        ],
    ),
    (
        "Xếp loại tổ chức cơ sở đảng: hoàn thành xuất sắc nhiệm vụ 21,4%, hoàn thành tốt nhiệm vụ "
        "71,4%, hoàn thành nhiệm vụ 7,2%.",
        [
            ("21,4%", "exact", "unit_ratings.rank1", None),
            ("71,4%", "exact", "unit_ratings.rank2", None),
            ("7,2%", "exact", "unit_ratings.rank3", None),
        ],
    ),
    # counts, thousand separators
    (
        "Toàn Đảng bộ có 45 tổ chức cơ sở đảng và 2.314 đảng viên.",
        [("45", "exact", "count.units", None), ("2.314", "exact", "count.members", None)],
    ),
    (
        "Tổng số đảng viên của Đảng bộ là 1.388 đồng chí.",
        [("1.388", "exact", "count.members", None)],
    ),
    (
        "Có 36 chi bộ, 1.150 đảng viên; 100% chi bộ tổ chức học tập Chỉ thị 05.",
        [
            ("36", "exact", "count.units", None),
            ("1.150", "exact", "count.members", None),
            ("100%", "exact", "coverage.units", None),
        ],
    ),
    (
        "Số đảng viên được đánh giá, xếp loại là 6.659 đồng chí.",
        [("6.659", "exact", "member_ratings.assessed", None)],
    ),
    # "trong đó" at the start of the next sentence
    (
        "Năm 2020 có 96% đảng viên hoàn thành tốt nhiệm vụ trở lên. Trong đó, 17,5% hoàn thành xuất "
        "sắc nhiệm vụ.",
        [
            ("96%", "exact", "member_ratings.rank1-2", None),
            ("17,5%", "exact", "member_ratings.rank1", 0),
        ],
    ),
    # a count and its percentage (same quantity), base named
    (
        "Đảng bộ có 117 tổ chức cơ sở đảng được đánh giá, trong đó 15 cơ sở đảng đạt trong sạch vững "
        "mạnh tiêu biểu, bằng 12,82% so với tổng số được đánh giá.",
        [
            ("117", "exact", "unit_ratings.assessed", None),
            ("15", "exact", "unit_ratings.exemplary", 0),
            ("12,82%", "exact", "unit_ratings.exemplary", 0),
        ],
    ),
    (
        "Có 439/709 tổ chức cơ sở đảng đạt trong sạch vững mạnh (62,62%).",
        [
            ("439/709", "exact", "unit_ratings.rank1", None),
            ("62,62%", "exact", "unit_ratings.rank1", None),
        ],
    ),
    (
        "Đảng bộ có 2.314 đảng viên, trong đó 2.250 đảng viên tham gia học tập, đạt 97,23%.",
        [
            ("2.314", "exact", "count.members", None),
            ("2.250", "exact", "coverage.members", 0),
            ("đạt 97,23%", "dat", "coverage.members", 0),
        ],
    ),
    (
        "Kết quả 15,3% chi bộ được xếp loại hoàn thành xuất sắc nhiệm vụ.",
        [("15,3%", "exact", "unit_ratings.rank1", None)],
    ),
    ("Có 95,12 % đảng viên tham gia học tập.", [("95,12 %", "exact", "coverage.members", None)]),
    (
        "Đạt 100% chi bộ tham gia học tập; trên 95% đảng viên hoàn thành tốt nhiệm vụ trở lên.",
        [
            ("Đạt 100%", "dat", "coverage.units", None),
            ("trên 95%", "tren", "member_ratings.rank1-2", None),
        ],
    ),
    # unattributable figures are reported, not dropped
    (
        "Đảng ủy đã tổ chức 14 hội nghị học tập cho gần 200 đồng chí bí thư chi bộ.",
        [("14", "exact", "unattributed", None), ("gần 200", "gan", "unattributed", None)],
    ),
    (
        "Số quần chúng tham gia học tập tăng 12% so với năm 2015.",
        [("12%", "exact", "unattributed", None)],
    ),
    (
        "Đảng bộ tổ chức học tập cho 4.520 lượt quần chúng nhân dân.",
        [("4.520", "exact", "unattributed", None)],
    ),
    (
        "Có 1.388 đảng viên được miễn sinh hoạt và đánh giá.",
        [("1.388", "exact", "unattributed", None)],
    ),
    (
        "Trên 99% đảng viên được đánh giá, xếp loại chất lượng.",
        [("Trên 99%", "tren", "unattributed", None)],
    ),
    # not figures at all: document numbers, dates, years, ordinals
    (
        "Thực hiện Kế hoạch số 12-KH/ĐU ngày 15/3/2016, Nghị quyết Trung ương 4 khóa XII, các chi bộ "
        "tổ chức học tập trong giai đoạn 2016 - 2020, Đại hội lần thứ 3.",
        [],
    ),
    (
        "Tỷ lệ đảng viên tham gia học tập đạt 96.4%.",
        [("đạt 96.4%", "dat", "coverage.members", None)],
    ),
]


def _shape(text: str) -> list[tuple]:
    got = cl.extract(text)
    out = []
    for c in got:
        parent = None if c.parent_index is None else c.parent_index
        out.append((c.text, c.qualifier, c.indicator, parent))
    return out


@pytest.mark.parametrize("sentence,expected", CASES, ids=[str(i) for i in range(len(CASES))])
def test_extract_sentence(sentence: str, expected: list[tuple]) -> None:
    assert _shape(sentence) == expected


def test_at_least_thirty_sentences_cover_every_qualifier() -> None:
    assert len(CASES) >= 30
    quals = {q for _, exp in CASES for _, q, _, _ in exp}
    assert quals >= {"exact", "dat", "tren", "hon", "gan", "khoang", "tro_len", "duoi", "chua_den"}


def test_claim_offsets_point_at_the_figure_in_nfc_text() -> None:
    import unicodedata

    text = unicodedata.normalize("NFD", "Năm 2014 có trên 96% đảng viên tham gia học tập.")
    (c,) = cl.extract(text)
    assert unicodedata.normalize("NFC", text)[c.start : c.end] == "trên 96%"
    assert c.sentence == "Năm 2014 có trên 96% đảng viên tham gia học tập."


def test_fraction_keeps_numerator_and_denominator_and_is_a_percentage() -> None:
    (c,) = cl.extract("Có 6/31 chi bộ đạt trong sạch vững mạnh tiêu biểu.")
    assert (c.kind, c.numerator, c.denominator, c.value) == ("fraction", 6, 31, 19.35)
    assert c.indicator == "unit_ratings.exemplary"


def test_stated_precision_is_the_number_of_decimals() -> None:
    got = cl.extract("Có 96,45% đảng viên và 80% quần chúng tham gia học tập.")
    assert [(c.value, c.decimals) for c in got] == [(96.45, 2), (80.0, 0)]


def test_unattributed_claims_carry_a_reason() -> None:
    (c,) = cl.extract("Đảng ủy mở lớp bồi dưỡng cho gần 100 đồng chí Bí thư chi bộ.")
    assert c.indicator == "unattributed"
    assert "đồng chí" in c.unattributed_reason
    assert c.unattributed_reason_en


def test_qualifier_meanings_are_read_from_the_reference_csv() -> None:
    q = cl.load_qualifiers()
    assert set(q) == {"exact", "dat", "tren", "hon", "gan", "chua_den", "khoang", "tro_len", "duoi"}
    assert (q["gan"].lo_units, q["gan"].hi_units, q["gan"].hi_closed) == (-1.0, 0.0, False)
    assert q["tro_len"].position == "after"


# --------------------------------------------------------------------------------------------
# Reconciliation
# --------------------------------------------------------------------------------------------


def _metrics(scheme: str = "tsvm-2008", year: int = 2014) -> dict:
    unit_levels = scheme_levels(scheme, "unit")
    member_levels = scheme_levels(scheme, "member")
    u_counts = [31, 0, 0, 0]
    m_counts = [106, 408, 16, 2]
    return {
        "unit_id": "u",
        "unit_name": "Đảng bộ thử",
        "year": year,
        "units_count": 31,
        "members_count": 550,
        "coverage": {
            "units": {"numerator": 31, "denominator": 31, "pct": 100.0},
            "members": {"numerator": 513, "denominator": 532, "pct": 96.43},
            "public": {"numerator": 747, "denominator": 1000, "pct": 74.7, "basis": "persons"},
        },
        "unit_ratings": _ratings(scheme, unit_levels, u_counts, exemplary=6),
        "member_ratings": _ratings(scheme, member_levels, m_counts),
    }


def _ratings(scheme: str, levels: list, counts: list[int], exemplary: int | None = None) -> dict:
    assessed = sum(counts)
    out_levels, cum = [], 0
    for lv, n in zip(levels, counts, strict=True):
        cum += n
        out_levels.append(
            {
                "rating_code": lv.rating_code,
                "rating_rank": lv.rating_rank,
                "label": lv.label_vi,
                "count": n,
                "pct": round_half_up(n / assessed * 100, 2) if assessed else None,
                "cumulative_pct": round_half_up(cum / assessed * 100, 2) if assessed else None,
            }
        )
    fam = {"scheme_id": scheme, "assessed": assessed, "not_assessed": 0, "levels": out_levels}
    if exemplary is not None:
        l1 = counts[0]
        fam["exemplary"] = {
            "count": exemplary,
            "pct_of_assessed": round_half_up(exemplary / assessed * 100, 2) if assessed else None,
            "pct_of_level": round_half_up(exemplary / l1 * 100, 2) if l1 else None,
        }
    return fam


def _verdicts(text: str, metrics: dict | None) -> list[tuple]:
    return [(r["text"], r["verdict"]) for r in cl.reconcile(cl.extract(text), metrics)]


@pytest.mark.parametrize(
    "stated,verdict",
    [
        ("trên 96%", "consistent"),
        ("trên 97%", "inconsistent"),
        ("hơn 95%", "inconsistent"),
        ("gần 97%", "consistent"),
        ("gần 96%", "inconsistent"),
        ("khoảng 97%", "consistent"),
        ("khoảng 98%", "inconsistent"),
        ("96,4%", "consistent"),
        ("96,5%", "inconsistent"),
        ("96%", "consistent"),
        ("96,43%", "consistent"),
        ("96% trở lên", "consistent"),
        ("97% trở lên", "inconsistent"),
        ("dưới 97%", "consistent"),
        ("chưa đến 96%", "inconsistent"),
        ("đạt 96,4%", "consistent"),
        ("từ 95% đến 96%", "consistent"),
        ("từ 97% đến 98%", "inconsistent"),
    ],
)
def test_member_coverage_qualifiers_at_stated_precision(stated: str, verdict: str) -> None:
    text = f"Có {stated} đảng viên tham gia học tập nghị quyết."
    assert _verdicts(text, _metrics()) == [(stated, verdict)]


def test_reconcile_reports_computed_value_and_contract_keys() -> None:
    (r,) = cl.reconcile(cl.extract("Có trên 97% đảng viên tham gia học tập."), _metrics())
    assert {
        "text",
        "indicator",
        "qualifier",
        "stated",
        "computed",
        "consistent",
        "sentence",
        "verdict",
        "reason",
    } <= set(r)
    assert (r["stated"], r["computed"], r["consistent"]) == (97.0, 96.43, False)
    assert "96,43%" in r["reason"]


def test_rounding_edge_half_up() -> None:
    m = _metrics()
    m["coverage"]["members"]["pct"] = 96.45
    assert _verdicts("Có 96,5% đảng viên tham gia học tập.", m) == [("96,5%", "consistent")]
    assert _verdicts("Có 96,4% đảng viên tham gia học tập.", m) == [("96,4%", "inconsistent")]


def test_nested_share_is_of_all_assessed_and_parent_is_cumulative() -> None:
    text = (
        "Gần 97% đảng viên đủ tư cách hoàn thành tốt nhiệm vụ (trong đó 20% đảng viên hoàn "
        "thành xuất sắc nhiệm vụ)."
    )
    recs = cl.reconcile(cl.extract(text), _metrics())
    assert [(r["indicator"], r["computed"], r["verdict"]) for r in recs] == [
        ("member_ratings.rank1-2", 96.62, "consistent"),
        ("member_ratings.rank1", 19.92, "consistent"),
    ]


def test_fraction_checks_numerator_and_denominator() -> None:
    m = _metrics()
    assert _verdicts("Có 6/31 chi bộ đạt trong sạch vững mạnh tiêu biểu.", m) == [
        ("6/31", "consistent")
    ]
    assert _verdicts("Có 7/31 chi bộ đạt trong sạch vững mạnh tiêu biểu.", m) == [
        ("7/31", "inconsistent")
    ]
    assert _verdicts("Có 6/30 chi bộ đạt trong sạch vững mạnh tiêu biểu.", m) == [
        ("6/30", "inconsistent")
    ]


def test_exemplary_share_of_its_level_uses_pct_of_level() -> None:
    m = _metrics()
    m["unit_ratings"]["levels"][0]["count"] = 25
    m["unit_ratings"]["levels"][1]["count"] = 6
    m["unit_ratings"]["exemplary"]["pct_of_level"] = 24.0
    text = "Có 6 chi bộ tiêu biểu, chiếm 24% số chi bộ trong sạch vững mạnh."
    recs = cl.reconcile(cl.extract(text), m)
    assert [(r["text"], r["base"], r["computed"], r["verdict"]) for r in recs][-1] == (
        "24%",
        "unit_ratings.rank1",
        24.0,
        "consistent",
    )


def test_round_count_is_read_at_its_precision() -> None:
    m = _metrics()
    m["members_count"] = 552
    assert _verdicts("Đảng bộ có 550 đảng viên.", m) == [("550", "consistent")]
    m["members_count"] = 556
    assert _verdicts("Đảng bộ có 550 đảng viên.", m) == [("550", "inconsistent")]
    assert _verdicts("Đảng bộ có 31 chi bộ.", {**m, "units_count": 32}) == [("31", "inconsistent")]


def test_null_data_is_not_checkable() -> None:
    m = _metrics()
    m["coverage"]["public"] = {"numerator": 0, "denominator": 0, "pct": None}
    (r,) = cl.reconcile(cl.extract("Gần 75% quần chúng tham gia học tập."), m)
    assert (r["verdict"], r["consistent"], r["computed"]) == ("not_checkable", None, None)


def test_label_of_another_scheme_is_not_checkable() -> None:
    m = _metrics("qd132-2018", 2020)
    (r,) = cl.reconcile(cl.extract("Có 100% chi bộ đạt trong sạch vững mạnh."), m)
    assert r["verdict"] == "not_checkable"
    assert "qd132-2018" in r["reason"]


def test_without_metrics_nothing_is_checkable() -> None:
    recs = cl.reconcile(cl.extract("Có trên 96% đảng viên tham gia học tập."), None)
    assert [r["verdict"] for r in recs] == ["not_checkable"]


def test_reconcile_does_not_mutate_metrics() -> None:
    m = _metrics()
    before = copy.deepcopy(m)
    cl.reconcile(cl.extract("Có trên 96% đảng viên tham gia học tập."), m)
    assert m == before


# --------------------------------------------------------------------------------------------
# Drafting: the paragraph passes its own check
# --------------------------------------------------------------------------------------------


def test_draft_paragraph_register_and_labels_from_metrics() -> None:
    text = cl.draft_paragraph(_metrics())
    assert text.startswith(
        "Năm 2014, 100% chi bộ, 96,4% đảng viên và 74,7% quần chúng nhân dân tham gia học tập"
    )
    assert "31/31 chi bộ đạt trong sạch, vững mạnh (trong đó 6 chi bộ tiêu biểu)" in text
    assert "96,6% đảng viên đủ tư cách, hoàn thành tốt nhiệm vụ trở lên, trong đó 19,9%" in text


def test_draft_uses_later_scheme_labels() -> None:
    text = cl.draft_paragraph(_metrics("qd124-2023", 2023))
    assert "trong sạch" not in text
    assert "31/31 chi bộ đạt hoàn thành xuất sắc nhiệm vụ" in text


def test_draft_leaves_out_null_figures() -> None:
    m = _metrics()
    m["coverage"]["public"]["pct"] = None
    m["member_ratings"] = _ratings("tsvm-2008", scheme_levels("tsvm-2008", "member"), [0, 0, 0, 0])
    text = cl.draft_paragraph(m)
    assert "quần chúng" not in text
    assert "đảng viên đủ tư cách" not in text
    assert cl.draft_paragraph({"year": 2014}) == ""


_SCHEMES = [("tsvm-2008", 2014), ("qd132-2018", 2019), ("qd124-2023", 2023), ("qd366-2025", 2025)]


@st.composite
def _metric_dicts(draw: st.DrawFn) -> dict:
    scheme, year = draw(st.sampled_from(_SCHEMES))

    def cov() -> dict:
        den = draw(st.integers(0, 3000))
        num = draw(st.integers(0, den))
        return {
            "numerator": num,
            "denominator": den,
            "pct": round_half_up(num / den * 100, 2) if den else None,
        }

    u = draw(st.lists(st.integers(0, 60), min_size=4, max_size=4))
    mm = draw(st.lists(st.integers(0, 900), min_size=4, max_size=4))
    ex = draw(st.integers(0, u[0]))
    m = {
        "unit_id": "x",
        "unit_name": "X",
        "year": year,
        "units_count": sum(u) or 1,
        "members_count": sum(mm),
        "coverage": {"units": cov(), "members": cov(), "public": cov()},
        "unit_ratings": _ratings(scheme, scheme_levels(scheme, "unit"), u, exemplary=ex),
        "member_ratings": _ratings(scheme, scheme_levels(scheme, "member"), mm),
    }
    m["unit_ratings"]["rated_level"] = draw(st.sampled_from(["chi_bo", "co_so", None]))
    m["unit_ratings"]["not_assessed"] = draw(st.integers(0, 2))
    return m


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_metric_dicts())
def test_drafted_paragraph_is_consistent_by_construction(m: dict) -> None:
    text = cl.draft_paragraph(m)
    found = cl.extract(text)
    recs = cl.reconcile(found, m)
    assert all(r["verdict"] == "consistent" for r in recs), [
        (r["text"], r["indicator"], r["reason"]) for r in recs if r["verdict"] != "consistent"
    ]
    assert all(r["consistent"] for r in cl.check_arithmetic(found, text))
    # every figure the metrics hold with a value appears; none with null data
    for key in ("units", "members", "public"):
        if m["coverage"][key]["pct"] is None:
            assert not any(r["indicator"] == f"coverage.{key}" for r in recs)
        else:
            assert any(r["indicator"] == f"coverage.{key}" for r in recs)


# --------------------------------------------------------------------------------------------
# Reading texts
# --------------------------------------------------------------------------------------------


def test_read_text_utf8_with_bom_and_nfd(tmp_path: Path) -> None:
    import unicodedata

    p = tmp_path / "bao-cao.txt"
    p.write_bytes(b"\xef\xbb\xbf" + unicodedata.normalize("NFD", "Trên 96% đảng viên").encode())
    assert cl.read_text(p) == "Trên 96% đảng viên"


def test_read_text_cp1258_fallback(tmp_path: Path) -> None:
    import unicodedata

    def enc(ch: str) -> bytes:  # Windows-1258 has "â" but tones only as combining marks
        try:
            return ch.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", ch)
            head = unicodedata.normalize("NFC", base + "".join(marks[:-1]))
            return head.encode("cp1258") + marks[-1].encode("cp1258")

    p = tmp_path / "bc.md"
    p.write_bytes(b"".join(enc(ch) for ch in "Gần 75% quần chúng nhân dân"))
    assert cl.read_text(p) == "Gần 75% quần chúng nhân dân"


def test_read_docx_paragraphs_tables_and_legacy_font(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph("Năm 2014 có trên 96% đảng viên tham gia học tập.")
    legacy = d.add_paragraph()
    run = legacy.add_run(encode_legacy("Gần 75% quần chúng nhân dân tham gia học tập.", "tcvn3"))
    run.font.name = ".VnTime"
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Chi bộ"
    table.rows[0].cells[1].text = "31"
    p = tmp_path / "bc.docx"
    d.save(str(p))
    text = cl.read_text(p)
    assert text.split("\n") == [
        "Năm 2014 có trên 96% đảng viên tham gia học tập.",
        "Gần 75% quần chúng nhân dân tham gia học tập.",
        "Chi bộ | 31",
    ]


@pytest.mark.parametrize("name,content", [("bc.pdf", b"%PDF"), ("bc.doc", b"\xd0\xcf")])
def test_read_text_rejects_other_formats_naming_the_file(
    tmp_path: Path, name: str, content: bytes
) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(cl.ClaimsInputError, match=name):
        cl.read_text(p)


def test_read_text_missing_or_broken_docx(tmp_path: Path) -> None:
    with pytest.raises(cl.ClaimsInputError, match="khong-co.txt"):
        cl.read_text(tmp_path / "khong-co.txt")
    broken = tmp_path / "hong.docx"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("x.txt", "not a document")
    with pytest.raises(cl.ClaimsInputError, match="hong.docx"):
        cl.read_text(broken)
