"""Tests of analysis.ratings: schemes by year, label matching, scores and the member quota."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import ratings
from analysis.ratings import (
    EXEMPT,
    NOT_ASSESSED,
    SETTINGS_ENV,
    Level,
    SchemeError,
    check_member_quota,
    check_score,
    label_key,
    level_from_score,
    load_schemes,
    map_labels,
    match_header_level,
    match_label,
    quota_applies,
    scheme_breaks,
    scheme_for_year,
    scheme_levels,
)


@pytest.fixture(autouse=True)
def _no_user_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SETTINGS_ENV, raising=False)


RAW = yaml.safe_load((Path(ratings.__file__).parent / "reference" / "rating_schemes.yaml")
                     .read_text(encoding="utf-8"))


# --- schemes by year -----------------------------------------------------------------------


@pytest.mark.parametrize(("year", "scheme"), [
    (2008, "tsvm-2008"), (2014, "tsvm-2008"), (2017, "tsvm-2008"), (2018, "qd132-2018"),
    (2022, "qd132-2018"), (2023, "qd124-2023"), (2024, "qd124-2023"), (2025, "qd366-2025"),
    (2040, "qd366-2025")])
def test_scheme_for_year_uses_default_ranges(year: int, scheme: str) -> None:
    assert scheme_for_year(year) == scheme


def test_year_outside_every_scheme_names_year_and_ranges() -> None:
    with pytest.raises(SchemeError) as err:
        scheme_for_year(2007)
    assert "2007" in str(err.value)
    assert "tsvm-2008 (2008–2017)" in str(err.value)
    assert "qd366-2025 (2025–)" in str(err.value)
    assert "2007" in err.value.message_en


@pytest.mark.parametrize(("scheme", "subject", "codes"), [
    ("tsvm-2008", "unit", ["tsvm", "httnv", "htnv", "yeu-kem"]),
    ("tsvm-2008", "member", ["htxsnv", "httnv", "htnv", "vi-pham"]),
    ("qd132-2018", "unit", ["htxsnv", "httnv", "htnv", "khtnv"]),
    ("qd132-2018", "member", ["htxsnv", "httnv", "htnv", "khtnv"]),
    ("qd124-2023", "unit", ["htxsnv", "httnv", "htnv", "khtnv"]),
    ("qd366-2025", "member", ["htxsnv", "httnv", "htnv", "khtnv"]),
])
def test_scheme_levels_contract_codes_best_first(scheme: str, subject: str,
                                                 codes: list[str]) -> None:
    levels = scheme_levels(scheme, subject)
    assert [lv.rating_code for lv in levels] == codes
    assert [lv.rating_rank for lv in levels] == [1, 2, 3, 4]
    assert all(isinstance(lv, Level) and lv.label_vi and lv.label_en and lv.short_vi
               and lv.short_en and lv.scheme_id == scheme for lv in levels)


def test_unknown_scheme_id_raises() -> None:
    with pytest.raises(SchemeError, match="qd999"):
        scheme_levels("qd999", "unit")


def test_scheme_breaks_inside_span_only() -> None:
    assert scheme_breaks(range(2012, 2025)) == [2018, 2023]
    assert scheme_breaks([2018, 2020]) == []
    assert scheme_breaks([2024, 2026, 2025]) == [2025]
    assert scheme_breaks([]) == []


# --- reference data integrity ---------------------------------------------------------------


def _aliases(level: dict) -> list[str]:
    return [level["label_vi"], *level.get("aliases", []), *level.get("exemplary_aliases", [])]


def test_every_alias_maps_to_exactly_one_level_per_scheme() -> None:
    rs = load_schemes()
    for scheme in RAW["schemes"]:
        for subject in ("unit", "member"):
            seen: dict[str, set[str]] = {}
            for level in scheme["levels"][subject]:
                for alias in _aliases(level):
                    seen.setdefault(rs.key(alias), set()).add(level["code"])
            clashes = {k: v for k, v in seen.items() if len(v) != 1}
            assert not clashes, (scheme["id"], subject, clashes)


def test_alias_keys_never_collide_with_special_codes() -> None:
    rs = load_schemes()
    special = {rs.key(a) for item in RAW["special_levels"] for a in item["aliases"]}
    for scheme in rs.schemes:
        for subject in ("unit", "member"):
            assert not special & set(rs.alias_index(scheme.scheme_id, subject))


def test_every_alias_matches_its_own_level_in_its_scheme() -> None:
    rs = load_schemes()
    for scheme in RAW["schemes"]:
        year = 2025 if scheme["years"]["to"] is None else scheme["years"]["to"]
        for subject in ("unit", "member"):
            for level in scheme["levels"][subject]:
                for alias in _aliases(level):
                    m = match_label(alias, year, subject, schemes=rs)
                    assert m.matched and m.rating_code == level["code"], (alias, year, m)
                    assert m.scheme_id == scheme["id"]


def test_conflicting_alias_in_reference_data_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = yaml.safe_load(yaml.safe_dump(RAW))
    raw["schemes"][0]["levels"]["unit"][1]["aliases"].append("TSVM")  # httnv would also be TSVM
    monkeypatch.setattr(ratings, "_read_reference", lambda: raw)
    with pytest.raises(SchemeError, match="TSVM"):
        load_schemes()


def test_quota_and_score_rules_state_the_reference_text() -> None:
    rs = load_schemes()
    quota = rs.get("qd132-2018").quota
    assert quota is not None
    assert (quota.from_year, quota.max_pct_of_level2, quota.counted_within) == (2019, 20, "co_so")
    assert quota.confirmed_in_primary_text and "HD 21-HD/BTCTW" in quota.source
    assert not rs.get("qd124-2023").quota.confirmed_in_primary_text
    assert rs.get("tsvm-2008").quota is None
    bands = [(b.rating_code, b.min_score, b.max_score) for b in rs.get("qd366-2025").score_bands]
    assert bands == [("htxsnv", 90, None), ("httnv", 70, 90), ("htnv", 50, 70), ("khtnv", 0, 50)]


# --- label matching ------------------------------------------------------------------------


def test_same_label_gives_different_results_in_2016_and_2020() -> None:
    m2016 = match_label("Trong sạch, vững mạnh", 2016, "unit")
    m2020 = match_label("Trong sạch, vững mạnh", 2020, "unit")
    assert (m2016.scheme_id, m2016.rating_code, m2016.rating_rank, m2016.matched) == (
        "tsvm-2008", "tsvm", 1, True)
    assert (m2020.scheme_id, m2020.rating_code, m2020.matched) == ("qd132-2018", None, False)


def test_tsvm_as_grade_in_2020_is_unmatched_with_reason() -> None:
    m = match_label("Trong sạch vững mạnh", 2020, "unit")
    assert m.reason_code == "other-scheme-label"
    assert m.reason.startswith("nhãn của thang tsvm-2008, không phải mức xếp loại năm 2020")
    assert "danh hiệu" in m.reason
    assert m.reason_en.startswith("a label of scheme tsvm-2008")


def test_tsvm_exemplary_as_grade_in_2021_is_unmatched() -> None:
    m = match_label("TSVM tiêu biểu", 2021, "unit")
    assert not m.matched and m.reason_code == "other-scheme-label" and not m.is_exemplary


def test_exemplary_under_tsvm_2008_is_level_tsvm() -> None:
    m = match_label("Trong sạch vững mạnh tiêu biểu", 2014, "unit")
    assert (m.rating_code, m.rating_rank, m.is_exemplary, m.matched) == ("tsvm", 1, True, True)


def test_commendation_with_level_one_from_2019_is_exemplary_htxsnv() -> None:
    m = match_label("Hoàn thành xuất sắc nhiệm vụ, trong sạch vững mạnh", 2019, "unit")
    assert (m.rating_code, m.rating_rank, m.is_exemplary, m.matched) == ("htxsnv", 1, True, True)


def test_2018_decision_tsvm_is_no_grade_and_commendation_not_yet() -> None:
    bare = match_label("Trong sạch vững mạnh", 2018, "unit")
    combined = match_label("HTXSNV, TSVM", 2018, "unit")
    assert bare.reason_code == "other-scheme-label" and "2018" in bare.reason
    assert combined.reason_code == "commendation-not-in-force"
    assert combined.candidates == ("htxsnv",) and "2019" in combined.reason


@pytest.mark.parametrize("label", [
    "Đủ tư cách, hoàn thành tốt nhiệm vụ", "Đủ tư cách hoàn thành tốt nhiệm vụ", "ĐTC, HTTNV",
    "HTTNV", "Hoàn thành tốt NV", "  hoàn thành TỐT nhiệm vụ. "])
def test_member_level2_variants_under_tsvm_2008(label: str) -> None:
    m = match_label(label, 2014, "member")
    assert (m.rating_code, m.rating_rank, m.matched) == ("httnv", 2, True)


@pytest.mark.parametrize(("label", "code"), [
    ("Đủ tư cách hoàn thành nhiệm vụ nhưng còn hạn chế", "htnv"),
    ("Vi phạm tư cách hoặc không hoàn thành nhiệm vụ", "vi-pham"), ("VPTC", "vi-pham"),
    ("HTXSNV", "htxsnv"), ("Hoàn thành xuất sắc nhiệm vụ", "htxsnv")])
def test_member_labels_under_tsvm_2008(label: str, code: str) -> None:
    assert match_label(label, 2012, "member").rating_code == code


@pytest.mark.parametrize(("label", "code"), [
    ("Yếu kém", "yeu-kem"), ("YK", "yeu-kem"), ("Đạt TSVM", "tsvm"), ("HTNV", "htnv")])
def test_unit_labels_under_tsvm_2008(label: str, code: str) -> None:
    assert match_label(label, 2012, "unit").rating_code == code


@pytest.mark.parametrize(("label", "code"), [
    ("Không hoàn thành NV", "khtnv"), ("KHTNV", "khtnv"), ("K.HTNV", "khtnv"),
    ("HT xuất sắc NV", "htxsnv"), ("Hoàn thành nhiệm vụ", "htnv")])
def test_later_scheme_labels(label: str, code: str) -> None:
    for year in (2020, 2023, 2025):
        assert match_label(label, year, "unit").rating_code == code
        assert match_label(label, year, "member").rating_code == code


def test_decomposed_unicode_matches_like_composed() -> None:
    nfd = unicodedata.normalize("NFD", "Hoàn thành tốt nhiệm vụ")
    assert match_label(nfd, 2020, "member").rating_code == "httnv"


def test_unmatched_label_reports_candidates() -> None:
    m = match_label("hoàn thành tốt", 2020, "unit")
    assert not m.matched and m.reason_code == "unknown-label"
    assert m.candidates[0] == "httnv"
    assert "Hoàn thành tốt nhiệm vụ" in m.reason


def test_garbage_label_lists_all_levels_as_candidates() -> None:
    m = match_label("xyz 123", 2015, "unit")
    assert m.candidates == ("tsvm", "httnv", "htnv", "yeu-kem")


def test_old_member_wording_in_2020_is_not_guessed() -> None:
    m = match_label("Đủ tư cách, hoàn thành tốt nhiệm vụ", 2020, "member")
    assert not m.matched and m.reason_code == "other-scheme-label"
    assert m.candidates[0] == "httnv"


def test_ambiguous_label_is_reported_with_its_levels() -> None:
    m = match_label("Đủ tư cách", 2015, "member")
    assert m.reason_code == "ambiguous-label"
    assert m.candidates == ("htxsnv", "httnv", "htnv")


def test_member_label_for_a_unit_is_other_subject() -> None:
    m = match_label("Vi phạm tư cách", 2015, "unit")
    assert m.reason_code == "other-subject-label" and "đảng viên" in m.reason


@pytest.mark.parametrize(("label", "code"), [
    ("Chưa xếp loại", NOT_ASSESSED), ("Không đánh giá", NOT_ASSESSED), ("Miễn đánh giá", EXEMPT)])
def test_not_graded_labels_match_special_codes_without_rank(label: str, code: str) -> None:
    m = match_label(label, 2016, "member")
    assert (m.rating_code, m.rating_rank, m.matched, m.reason_code) == (code, None, True, None)


@pytest.mark.parametrize(("label", "year", "reason_code"), [
    ("", 2015, "empty-label"), (None, 2015, "empty-label"), ("HTTNV", 2005, "no-scheme-for-year"),
    ("HTTNV", None, "missing-year"), ("HTTNV", 2015.5, "missing-year")])
def test_bad_inputs_are_unmatched_not_raised(label: object, year: object,
                                             reason_code: str) -> None:
    m = match_label(label, year, "unit")  # type: ignore[arg-type]
    assert not m.matched and m.reason_code == reason_code and m.reason and m.reason_en


def test_bad_subject_raises() -> None:
    with pytest.raises(ValueError, match="subject"):
        match_label("HTTNV", 2015, "units")  # type: ignore[arg-type]


def test_label_key_expands_abbreviations() -> None:
    assert label_key("HT tốt NV") == label_key("Hoàn thành tốt nhiệm vụ") == label_key("HTTNV")


@settings(max_examples=200, deadline=None)
@given(label=st.one_of(st.none(), st.text(max_size=40)), year=st.integers(1990, 2040),
       subject=st.sampled_from(["unit", "member"]))
def test_match_never_raises_and_reason_iff_unmatched(label: str | None, year: int,
                                                     subject: str) -> None:
    m = match_label(label, year, subject)  # type: ignore[arg-type]
    assert m.matched == (m.reason_code is None)
    assert (m.reason is None) == m.matched
    if m.matched:
        assert m.rating_code is not None
    else:
        assert m.rating_rank is None or m.reason_code == "score-mismatch"


# --- map_labels ----------------------------------------------------------------------------


def test_map_labels_aligned_to_index_with_dtypes() -> None:
    df = pd.DataFrame({"label": ["TSVM", "TSVM", None, "HTTNV"], "year": [2016, 2020, 2016, 2005]},
                      index=[10, 20, 30, 40])
    out = map_labels(df, "label", "year", "unit")
    assert list(out.index) == [10, 20, 30, 40]
    assert list(out.columns) == ["scheme_id", "rating_code", "rating_rank", "is_exemplary",
                                 "matched", "reason_code", "reason"]
    assert out["matched"].tolist() == [True, False, False, False]
    assert out["reason_code"].tolist()[1:] == ["other-scheme-label", "empty-label",
                                               "no-scheme-for-year"]
    assert str(out["rating_rank"].dtype) == "Int64" and out["matched"].dtype == bool
    assert out.loc[10, "rating_rank"] == 1 and pd.isna(out.loc[20, "rating_rank"])
    assert pd.isna(out.loc[40, "scheme_id"])


def test_map_labels_equals_match_label_row_by_row() -> None:
    labels = ["HTXSNV", "Trong sạch vững mạnh", "xyz", "Vi phạm", "Chưa xếp loại", None]
    rows = [(lab, y) for lab in labels for y in (2012, 2018, 2019, 2024, 2026)]
    df = pd.DataFrame(rows, columns=["l", "y"])
    out = map_labels(df, "l", "y", "member")
    for i, (lab, y) in enumerate(rows):
        m = match_label(lab, y, "member")
        got = out.iloc[i]
        assert got["matched"] == m.matched
        assert (None if pd.isna(got["rating_code"]) else got["rating_code"]) == m.rating_code
        assert (None if pd.isna(got["reason"]) else got["reason"]) == m.reason


def test_map_labels_coerces_year_text_and_float() -> None:
    df = pd.DataFrame({"l": ["HTTNV", "HTTNV", "HTTNV"], "y": ["2015", 2020.0, "năm"]})
    out = map_labels(df, "l", "y", "unit")
    assert out["scheme_id"].tolist()[:2] == ["tsvm-2008", "qd132-2018"]
    assert out["reason_code"].iloc[2] == "missing-year"


def test_map_labels_reason_in_english_on_request() -> None:
    out = map_labels(pd.DataFrame({"l": ["TSVM"], "y": [2020]}), "l", "y", "unit", lang="en")
    assert out["reason"].iloc[0].startswith("a label of scheme tsvm-2008")


def test_map_labels_does_not_mutate_input() -> None:
    df = pd.DataFrame({"l": ["HTTNV", None], "y": [2015, 2020]})
    before = df.copy()
    map_labels(df, "l", "y", "unit")
    pd.testing.assert_frame_equal(df, before)


def test_map_labels_empty_frame() -> None:
    out = map_labels(pd.DataFrame({"l": pd.Series(dtype="string"), "y": pd.Series(dtype="Int64")}),
                     "l", "y", "unit")
    assert len(out) == 0 and "rating_code" in out.columns


def test_map_labels_matches_each_distinct_pair_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, object]] = []
    real = ratings._match

    def counting(label, year, subject, rs):  # type: ignore[no-untyped-def]
        calls.append((label, year))
        return real(label, year, subject, rs)

    monkeypatch.setattr(ratings, "_match", counting)
    rng = np.random.default_rng(1)
    labels = np.array(["HTTNV", "HTXSNV", "htnv", "xyz"], dtype=object)
    df = pd.DataFrame({"l": labels[rng.integers(0, 4, 200_000)],
                       "y": rng.integers(2016, 2021, 200_000)})
    out = map_labels(df, "l", "y", "member")
    assert len(out) == 200_000
    assert len(calls) == len(df.drop_duplicates())


# --- column headers ------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "year", "code"), [
    ("HTXSNV", 2020, "htxsnv"), ("Hoàn thành xuất sắc NV", 2020, "htxsnv"),
    ("Số ĐV HTTNV", 2020, "httnv"), ("Vi phạm", 2015, "vi-pham"),
    ("Đủ tư cách, HTNV nhưng còn hạn chế", 2015, "htnv"), ("Không HTNV", 2023, "khtnv")])
def test_header_names_a_level(header: str, year: int, code: str) -> None:
    lv = match_header_level(header, year, "member")
    assert lv is not None and lv.rating_code == code and lv.rating_rank is not None


@pytest.mark.parametrize("header", ["Không đánh giá", "Chưa đánh giá", "Không xếp loại"])
def test_header_not_assessed_is_special_level(header: str) -> None:
    lv = match_header_level(header, 2020, "member")
    assert lv is not None
    assert (lv.rating_code, lv.rating_rank, lv.is_special, lv.scheme_id) == (
        NOT_ASSESSED, None, True, "qd132-2018")


@pytest.mark.parametrize(("header", "year"), [
    ("Tỷ lệ HTXSNV", 2020), ("Tổng số", 2020), ("Vi phạm", 2020), ("Ghi chú", 2015),
    ("TSVM tiêu biểu", 2014), (None, 2015)])
def test_header_not_a_level_is_none(header: str | None, year: int) -> None:
    subject = "member" if year > 2014 else "unit"
    assert match_header_level(header, year, subject) is None  # type: ignore[arg-type]


# --- scores --------------------------------------------------------------------------------


@pytest.mark.parametrize(("score", "code"), [
    (100, "htxsnv"), (90, "htxsnv"), (89.99, "httnv"), (70, "httnv"), (69.5, "htnv"),
    (50, "htnv"), (49.9, "khtnv"), (0, "khtnv")])
def test_level_from_score_bands(score: float, code: str) -> None:
    assert level_from_score(score) == code


@pytest.mark.parametrize("score", [-0.1, 100.5, float("nan")])
def test_level_from_score_outside_range_raises(score: float) -> None:
    with pytest.raises(ValueError):
        level_from_score(score)


def test_level_from_score_scheme_without_bands_raises() -> None:
    with pytest.raises(ValueError, match="qd132-2018"):
        level_from_score(80, "qd132-2018")


@pytest.mark.parametrize(("score", "code"), [
    (95, "htxsnv"), (95, "httnv"), (95, "khtnv"), (75, "httnv"), (10, "khtnv")])
def test_check_score_consistent(score: float, code: str) -> None:
    assert check_score(score, code, 2025) is None


def test_check_score_level_better_than_band_is_mismatch() -> None:
    m = check_score(85, "htxsnv", 2025)
    assert m is not None and m.reason_code == "score-mismatch" and not m.matched
    assert m.rating_code == "htxsnv" and m.candidates == ("httnv", "khtnv")
    assert "85" in m.reason and "70–<90" in m.reason


def test_check_score_too_high_for_level_3_is_mismatch() -> None:
    m = check_score(80, "htnv", 2026)
    assert m is not None and m.reason_code == "score-mismatch"


def test_check_score_accepts_a_label_and_flags_bad_inputs() -> None:
    assert check_score(92, "Hoàn thành xuất sắc nhiệm vụ", 2025) is None
    assert check_score(92, "tsvm", 2025).reason_code == "unknown-code"
    assert check_score(120, "htxsnv", 2025).reason_code == "score-out-of-range"


def test_check_score_not_checkable_returns_none() -> None:
    assert check_score(10, "htxsnv", 2020) is None  # no score bands before 2025
    assert check_score(float("nan"), "htxsnv", 2025) is None


# --- quota ---------------------------------------------------------------------------------


def test_quota_applies_from_2019() -> None:
    assert [quota_applies(y) for y in (2015, 2017, 2018, 2019, 2022, 2023, 2025)] == [
        False, False, False, True, True, True, True]


def test_check_member_quota_per_unit_year() -> None:
    mr = pd.DataFrame({
        "unit_id": ["a", "a", "a", "b", "b", "c", "c"],
        "year": [2020, 2020, 2020, 2020, 2020, 2017, 2017],
        "rating_code": ["htxsnv", "httnv", "htnv", "htxsnv", "httnv", "htxsnv", "httnv"],
        "rating_rank": [1, 2, 3, 1, 2, 1, 2],
        "members_count": [7, 35, 4, 8, 35, 50, 10],
    })
    out = check_member_quota(mr)
    expected = pd.DataFrame({
        "unit_id": pd.array(["a", "b"], dtype="string"),
        "year": pd.array([2020, 2020], dtype="Int64"),
        "scheme_id": pd.array(["qd132-2018"] * 2, dtype="string"),
        "level1_count": pd.array([7, 8], dtype="Int64"),
        "level2_count": pd.array([35, 35], dtype="Int64"),
        "limit_count": pd.array([7, 7], dtype="Int64"),
        "is_within": [True, False],
    })
    pd.testing.assert_frame_equal(out, expected)


def test_check_member_quota_no_level2_allows_no_level1() -> None:
    mr = pd.DataFrame({"unit_id": ["a", "a"], "year": [2021, 2021], "rating_rank": [1, 3],
                       "members_count": [1, 9]})
    row = check_member_quota(mr).iloc[0]
    assert (row["level2_count"], row["limit_count"], row["is_within"]) == (0, 0, False)


def test_check_member_quota_ignores_not_assessed_rows_and_old_years() -> None:
    mr = pd.DataFrame({"unit_id": ["a", "a", "b"], "year": [2019, 2019, 2016],
                       "rating_rank": pd.array([2, None, 1], dtype="Int64"),
                       "members_count": [10, 5, 3]})
    out = check_member_quota(mr)
    assert out["unit_id"].tolist() == ["a"] and out["limit_count"].tolist() == [2]
    empty = check_member_quota(mr[mr["year"] == 2016])
    assert empty.empty and list(empty.columns) == list(out.columns)


# --- user settings -------------------------------------------------------------------------


def _settings(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_settings_file_overrides_year_ranges(tmp_path: Path) -> None:
    path = _settings(tmp_path, {"scheme_years": {"tsvm-2008": {"to": 2018},
                                                 "qd132-2018": {"from": 2019}}})
    rs = load_schemes(path)
    assert scheme_for_year(2018, rs) == "tsvm-2008"
    assert match_label("TSVM", 2018, "unit", schemes=rs).rating_code == "tsvm"
    assert scheme_for_year(2018) == "qd132-2018"  # the packaged default is unchanged


def test_settings_from_environment_variable(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = _settings(tmp_path, {"scheme_years": {"tsvm-2008": {"from": 2006}}})
    monkeypatch.setenv(SETTINGS_ENV, str(path))
    assert scheme_for_year(2006) == "tsvm-2008"
    assert match_label("YK", 2006, "unit").rating_code == "yeu-kem"


@pytest.mark.parametrize(("data", "message"), [
    ({"scheme_years": {"qd132-2018": {"from": 2016}}}, "chồng"),
    ({"scheme_years": {"qd999": {"from": 2016}}}, "qd999"),
    ({"scheme_years": {"qd124-2023": {"from": 2024, "to": 2023}}}, "qd124-2023"),
    ({"scheme_years": {"qd124-2023": {"from": "x"}}}, "qd124-2023"),
])
def test_invalid_settings_raise_scheme_error(tmp_path: Path, data: dict, message: str) -> None:
    with pytest.raises(SchemeError, match=message):
        load_schemes(_settings(tmp_path, data))


def test_missing_settings_file_raises(tmp_path: Path) -> None:
    with pytest.raises(SchemeError, match="không tìm thấy|Không tìm thấy"):
        load_schemes(tmp_path / "nope.yaml")
