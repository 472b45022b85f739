"""User-facing texts of the gate's own checks (Vietnamese first, English on request).

The table-level checks carry their message templates in the suite JSON (``expectations/``);
the cross-table and over-time checks take theirs from :data:`MESSAGES`. Templates are
``str.format`` strings; numbers are formatted before they are passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

MESSAGES: dict[str, dict[str, str]] = {
    "cross.unit_unknown": {
        "vi": "Bảng {table}: đơn vị '{unit}' không có trong danh mục đơn vị (units) — {count} dòng, "
              "năm {years}",
        "en": "Table {table}: unit '{unit}' is not in the units table — {count} rows, years {years}"},
    "cross.unit_inactive": {
        "vi": "Bảng {table}: đơn vị '{unit}' không hoạt động trong năm {years} nhưng có số liệu",
        "en": "Table {table}: unit '{unit}' is not active in {years} but has figures"},
    "cross.facts_not_leaf": {
        "vi": "Bảng {table}: đơn vị '{unit}' có đơn vị trực thuộc trong năm {years} nhưng vẫn nhập số "
              "liệu riêng (số liệu chỉ nhập ở chi bộ/đơn vị cơ sở, cấp trên là số cộng dồn: sẽ bị "
              "tính hai lần)",
        "en": "Table {table}: unit '{unit}' has sub-units in {years} but carries figures of its own "
              "(figures belong to leaf units; higher figures are roll-ups: they would count twice)"},
    "cross.campaign_unknown": {
        "vi": "Bảng study_participation: đợt học tập '{campaign}' không có trong danh mục đợt học "
              "(campaigns) — {count} dòng",
        "en": "Table study_participation: campaign '{campaign}' is not in the campaigns table — "
              "{count} rows"},
    "cross.completeness": {
        "vi": "Báo cáo chưa đủ: bảng {table} năm {year}{campaign} có {reported}/{expected} đơn vị "
              "({rate}); thiếu {missing_count} đơn vị: {missing}",
        "en": "Incomplete reporting: table {table}, {year}{campaign}: {reported}/{expected} units "
              "({rate}); {missing_count} missing: {missing}"},
    "cross.completeness_above": {
        "vi": "Chưa có xếp loại năm {year} của {missing_count} tổ chức do '{committee}' đánh giá, xếp loại: "
              "{missing}. Thư mục không có kết quả xếp loại nào của '{committee}' năm này (thư mục của "
              "đơn vị cấp dưới chỉ gửi kèm cấp trên để đủ cây đơn vị); khi kiểm tra '{committee}' "
              "(--unit {committee}) thì đây là lỗi nghiêm trọng",
        "en": "No {year} rating of {missing_count} organisations rated by '{committee}': {missing}. The "
              "folder holds no rating decided by '{committee}' that year (a sub-unit's folder carries its "
              "parent only to complete the tree); a run for '{committee}' (--unit {committee}) treats "
              "this as critical"},
    "cross.member_ratings_sum": {
        "vi": "Đơn vị '{unit}' năm {year}: tổng số xếp loại ({rated}) + chưa đánh giá ({not_assessed}) "
              "= {lhs}, khác số đảng viên phải đánh giá = tổng số ({total}) − miễn ({exempt}) = {rhs}",
        "en": "Unit '{unit}' {year}: rated ({rated}) + not assessed ({not_assessed}) = {lhs}, differs "
              "from members to assess = total ({total}) − exempt ({exempt}) = {rhs}"},
    "cross.member_ratings_without_membership": {
        "vi": "Đơn vị '{unit}' năm {year} có xếp loại đảng viên nhưng không có số đảng viên (bảng "
              "membership): không kiểm tra được tổng",
        "en": "Unit '{unit}' {year} has member ratings but no membership row: the totals cannot be "
              "checked"},
    "cross.not_assessed_varies": {
        "vi": "Đơn vị '{unit}' năm {year}: số chưa đánh giá (members_not_assessed) khác nhau giữa các "
              "dòng mức xếp loại: {values}",
        "en": "Unit '{unit}' {year}: members_not_assessed differs between level rows: {values}"},
    "cross.exemplary_subset": {
        "vi": "Đơn vị '{unit}' năm {year} được ghi 'tiêu biểu' nhưng xếp loại '{code}' (mức {rank}); "
              "tiêu biểu chỉ chọn trong các tổ chức mức 1",
        "en": "Unit '{unit}' {year} is marked exemplary but rated '{code}' (rank {rank}); exemplary "
              "organisations are chosen among level 1 only"},
    "cross.member_quota": {
        "vi": "Tổ chức cơ sở '{unit}' năm {year} ({scheme}): {level1} đảng viên hoàn thành xuất sắc "
              "nhiệm vụ, vượt tỷ lệ {pct}% của {level2} đảng viên hoàn thành tốt nhiệm vụ (tối đa "
              "{limit}){note}",
        "en": "Grassroots organisation '{unit}' {year} ({scheme}): {level1} members rated excellent "
              "exceed {pct}% of the {level2} rated good (at most {limit}){note}"},
    "trend.consistency": {
        "vi": "{indicator} của '{unit}' năm {year} là {value}, lệch {change} so với trung bình 3 năm "
              "trước ({mean}; {history}) — vượt ngưỡng ±{threshold}: kiểm tra lại số liệu",
        "en": "{indicator} of '{unit}' in {year} is {value}, {change} from the mean of the three "
              "previous years ({mean}; {history}) — beyond ±{threshold}: check the figures"},
    "trend.outlier": {
        "vi": "{indicator} của '{unit}' năm {year} là {value}, khác thường so với {n} đơn vị cùng cấp "
              "trực thuộc '{parent}' (trung vị {median}; z cải tiến {z}, ngưỡng {threshold})",
        "en": "{indicator} of '{unit}' in {year} is {value}, an outlier among the {n} sibling units "
              "under '{parent}' (median {median}; modified z-score {z}, threshold {threshold})"},
}

INDICATORS: dict[str, dict[str, str]] = {
    "members": {"vi": "Số đảng viên", "en": "Members"},
    "coverage_members": {"vi": "Tỷ lệ đảng viên tham gia học tập",
                         "en": "Share of members attending study"},
    "member_rank1_share": {"vi": "Tỷ lệ đảng viên xếp loại mức 1",
                           "en": "Share of members rated level 1"},
    "unit_rank1_share": {"vi": "Tỷ lệ tổ chức đảng trực thuộc xếp loại mức 1",
                         "en": "Share of sub-organisations rated level 1"},
}

WORDS: dict[str, dict[str, str]] = {
    "campaign": {"vi": ", đợt {campaign}", "en": ", campaign {campaign}"},
    "and_more": {"vi": " và {n} đơn vị khác", "en": " and {n} more"},
    "rows_more": {"vi": " và {n} dòng khác", "en": " and {n} more"},
    "quota_unconfirmed": {
        "vi": " (quy định nhắc lại theo nguồn thứ cấp, chưa đối chiếu được văn bản gốc: {source})",
        "en": " (rule repeated by secondary sources, not confirmed in the primary text: {source})"},
    "quota_source": {"vi": " — {source}", "en": " — {source}"},
}


def say(check: str, lang: str, **fields: object) -> str:
    """Format the message of ``check`` in ``lang`` (Vietnamese unless ``lang == "en"``)."""
    return MESSAGES[check]["en" if lang == "en" else "vi"].format(**fields)


def word(key: str, lang: str, **fields: object) -> str:
    """Format a small phrase of :data:`WORDS`."""
    return WORDS[key]["en" if lang == "en" else "vi"].format(**fields)


def indicator_name(indicator: str, lang: str) -> str:
    """Display name of an over-time indicator."""
    return INDICATORS[indicator]["en" if lang == "en" else "vi"]


def list_ids(ids: Iterable[str], lang: str, limit: int = 10) -> str:
    """``'a', 'b' … and N more`` — ids quoted, at most ``limit`` shown."""
    items = list(ids)
    shown = ", ".join(f"'{u}'" for u in items[:limit])
    if len(items) > limit:
        shown += word("and_more", lang, n=len(items) - limit)
    return shown


def list_rows(rows: Iterable[Mapping[str, object]], lang: str, limit: int = 5) -> str:
    """Rows shown by their key values: ``(unit_id=a, year=2014); …`` — at most ``limit``."""
    items = list(rows)
    parts = ["(" + ", ".join(f"{k}={v}" for k, v in r.items()) + ")" for r in items[:limit]]
    text = "; ".join(parts)
    if len(items) > limit:
        text += word("rows_more", lang, n=len(items) - limit)
    return text
