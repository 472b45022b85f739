"""Rating schemes: raw label → (scheme, level), harmonised rank, score bands and quota rules.

The annual quality classification ("đánh giá, xếp loại chất lượng") changed its grades three
times. The scheme in force is a function of the assessment year:

============  =========  =============================================================
scheme id     years      grades (rank 1 best … 4 worst)
============  =========  =============================================================
tsvm-2008     2008–2017  units ``tsvm`` ``httnv`` ``htnv`` ``yeu-kem``;
                         members ``htxsnv`` ``httnv`` ``htnv`` ``vi-pham``
qd132-2018    2018–2022  ``htxsnv`` ``httnv`` ``htnv`` ``khtnv`` (units and members)
qd124-2023    2023–2024  same four
qd366-2025    2025–      same four, on a 100-point score
============  =========  =============================================================

Everything that is a fact about the schemes (labels, aliases, years, quota, score bands) lives
in ``reference/rating_schemes.yaml``; this module only reads and applies it.

Matching. A raw label is NFC-normalised and folded (:func:`analysis.text.fold`), leading filler
words ("Đạt", "Xếp loại") are dropped, abbreviation tokens expanded ("NV" → "nhiệm vụ",
"HTTNV" → "hoàn thành tốt nhiệm vụ") and spaces removed; the resulting key is looked up among the
aliases of the scheme in force **in the label's year**. A label that is a grade only in another
scheme is *unmatched* with a reason, never guessed: "Trong sạch, vững mạnh" is level 1 in 2016
and unmatched in 2020 ("nhãn của thang tsvm-2008, không phải mức xếp loại năm 2020").

Decision for 2018: the 2018 assessment falls under ``qd132-2018`` (QĐ 132-QĐ/TW of 08/3/2018,
HD 16-HD/BTCTW of 24/9/2018), whose grades are the four new ones. The facts place the
"Trong sạch, vững mạnh" commendation among level-1 organisations only from the 2019 assessment
(HD 21-HD/BTCTW), so in 2018 a bare TSVM label is unmatched (other scheme's label) and a combined
"HTXSNV, TSVM" is unmatched with reason code ``commendation-not-in-force``. From 2019 the combined
label is level ``htxsnv`` with ``is_exemplary=True``.

Special codes. Labels saying the subject was not graded ("Không đánh giá", "Chưa xếp loại") match
with ``rating_code == NOT_ASSESSED`` (``"not-assessed"``); labels saying the member was exempt
("Miễn đánh giá", "Miễn sinh hoạt") match with ``rating_code == EXEMPT`` (``"exempt"``). Both have
``rating_rank`` ``None`` (null in frames): they count as *not assessed*, never as a grade.

User settings. :func:`load_schemes` reads an optional YAML settings file that may override the
year ranges, e.g. ``{scheme_years: {qd132-2018: {from: 2018, to: 2022}}}``. Without an explicit
path it uses the file named by the environment variable ``HOCTAP_SETTINGS`` (if set). All other
functions take ``schemes=None`` meaning "the packaged schemes with the user's settings".

Reason codes of unmatched results (stable): ``empty-label``, ``missing-year``,
``no-scheme-for-year``, ``unknown-label``, ``ambiguous-label``, ``other-scheme-label``,
``other-subject-label``, ``commendation-not-in-force``; of score checks: ``score-mismatch``,
``score-out-of-range``, ``unknown-code``.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from analysis.config import load_yaml
from analysis.text import fold, nfc

__all__ = [
    "EXEMPT",
    "NOT_ASSESSED",
    "SETTINGS_ENV",
    "SUBJECTS",
    "Level",
    "QuotaRule",
    "RatingMatch",
    "RatingSchemes",
    "Scheme",
    "SchemeError",
    "ScoreBand",
    "check_member_quota",
    "check_score",
    "label_key",
    "level_from_score",
    "load_schemes",
    "map_labels",
    "match_header_level",
    "match_label",
    "quota_applies",
    "scheme_breaks",
    "scheme_for_year",
    "scheme_levels",
]

Subject = Literal["unit", "member"]
#: The two rated subjects: party organisations and party members.
SUBJECTS: tuple[str, ...] = ("unit", "member")
#: Special rating code: the subject was not assessed that year (rank is null).
NOT_ASSESSED = "not-assessed"
#: Special rating code: the member was exempt from assessment (rank is null).
EXEMPT = "exempt"
#: Environment variable naming a user settings YAML (year-range overrides).
SETTINGS_ENV = "HOCTAP_SETTINGS"

_REFERENCE_FILE = "rating_schemes.yaml"


class SchemeError(ValueError):
    """A year outside every scheme, an unknown scheme id or an invalid scheme definition.

    The message is Vietnamese; ``message_en`` holds the English text.
    """

    def __init__(self, message_vi: str, message_en: str | None = None) -> None:
        super().__init__(message_vi)
        self.message_vi = message_vi
        self.message_en = message_en or message_vi


@dataclass(frozen=True)
class Level:
    """One grade of one scheme for one subject.

    Attributes:
        scheme_id: Scheme the level belongs to.
        subject: ``"unit"`` (party organisation) or ``"member"``.
        rating_code: Level code within the scheme (``"tsvm"``, ``"htxsnv"`` …) or a special code
            (:data:`NOT_ASSESSED`, :data:`EXEMPT`).
        rating_rank: Harmonised rank, 1 = best … 4 = worst; ``None`` for special codes.
        label_vi: Official label.
        label_en: English label.
        short_vi: Short Vietnamese label for charts.
        short_en: Short English label for charts.
    """

    scheme_id: str
    subject: str
    rating_code: str
    rating_rank: int | None
    label_vi: str
    label_en: str
    short_vi: str
    short_en: str

    @property
    def is_special(self) -> bool:
        """True for the not-graded codes (:data:`NOT_ASSESSED`, :data:`EXEMPT`)."""
        return self.rating_rank is None

    def label(self, lang: str = "vi", short: bool = False) -> str:
        """Return the label in ``lang`` (``"vi"`` or ``"en"``), short or official."""
        if lang == "en":
            return self.short_en if short else self.label_en
        return self.short_vi if short else self.label_vi


@dataclass(frozen=True)
class RatingMatch:
    """Result of matching one raw label (or checking one score).

    Attributes:
        label_raw: The label as given.
        scheme_id: Scheme in force for the year (``None`` if no scheme covers it).
        rating_code: Matched level code, ``None`` when unmatched.
        rating_rank: Harmonised rank of the level (``None`` when unmatched or special).
        is_exemplary: "tiêu biểu" (tsvm-2008) or the TSVM commendation among level 1 (from 2019).
        matched: Whether the label names a level of the scheme in force.
        reason_code: Stable code explaining an unmatched result (``None`` when matched).
        reason: Vietnamese explanation (``None`` when matched).
        reason_en: English explanation (``None`` when matched).
        candidates: Nearest level codes of the scheme in force, best first (unmatched only).
    """

    label_raw: str
    scheme_id: str | None
    rating_code: str | None
    rating_rank: int | None
    is_exemplary: bool
    matched: bool
    reason_code: str | None = None
    reason: str | None = None
    reason_en: str | None = None
    candidates: tuple[str, ...] = ()

    def message(self, lang: str = "vi") -> str | None:
        """Return the reason in ``lang``."""
        return self.reason_en if lang == "en" else self.reason


@dataclass(frozen=True)
class ScoreBand:
    """A score band: ``min_score ≤ score < max_score`` (``max_score`` ``None`` = up to 100 incl.).

    ``may_fall_to`` lists worse codes a score in this band may still carry (the level's other
    conditions were not met); ``any_score`` marks a level any score may carry (e.g. a violation
    gives level 4 whatever the score).
    """

    rating_code: str
    min_score: float
    max_score: float | None
    may_fall_to: tuple[str, ...] = ()
    any_score: bool = False
    condition_vi: str = ""
    condition_en: str = ""

    def contains(self, score: float) -> bool:
        """Whether ``score`` lies in the band."""
        if score < self.min_score:
            return False
        return score <= 100 if self.max_score is None else score < self.max_score

    def describe(self) -> str:
        """Band as text, e.g. ``"70–<90"`` or ``"≥ 90"``."""
        if self.max_score is None:
            return f"≥ {_num(self.min_score)}"
        if self.min_score <= 0:
            return f"< {_num(self.max_score)}"
        return f"{_num(self.min_score)}–<{_num(self.max_score)}"


@dataclass(frozen=True)
class QuotaRule:
    """Cap on level-1 members: ``level1 ≤ max_pct_of_level2 % × level2``.

    Counted within each ``counted_within`` unit (``co_so``: grassroots organisation).
    """

    from_year: int
    level1_code: str
    level2_code: str
    max_pct_of_level2: int
    counted_within: str
    source: str
    confirmed_in_primary_text: bool
    text_vi: str
    text_en: str


@dataclass(frozen=True)
class Commendation:
    """A title chosen among level-1 organisations (not a grade), e.g. TSVM from 2019."""

    from_year: int
    label_vi: str
    label_en: str
    among_code: str
    foreign_levels: tuple[str, ...]
    note_vi: str
    note_en: str


@dataclass(frozen=True)
class Scheme:
    """One rating scheme (see ``reference/rating_schemes.yaml``)."""

    scheme_id: str
    year_from: int
    year_to: int | None
    title_vi: str
    title_en: str
    documents: tuple[str, ...]
    levels: Mapping[str, tuple[Level, ...]]
    quota: QuotaRule | None
    score_bands: tuple[ScoreBand, ...]
    commendation: Commendation | None
    notes_vi: tuple[str, ...] = ()
    notes_en: tuple[str, ...] = ()

    def covers(self, year: int) -> bool:
        """Whether the scheme is in force in ``year``."""
        return self.year_from <= year and (self.year_to is None or year <= self.year_to)

    def years_text(self) -> str:
        """Year range as text, e.g. ``"2018–2022"`` or ``"2025–"``."""
        return f"{self.year_from}–{'' if self.year_to is None else self.year_to}"

    def level(self, subject: str, code: str) -> Level | None:
        """The level with ``code`` for ``subject`` (``None`` if absent)."""
        for lvl in self.levels[subject]:
            if lvl.rating_code == code:
                return lvl
        return None


@dataclass(frozen=True)
class _Entry:
    """Alias-index entry: the level an alias key names."""

    rating_code: str
    is_exemplary: bool
    from_year: int | None = None


@dataclass(frozen=True)
class _Normaliser:
    synonyms: Mapping[str, tuple[str, ...]]
    drop_prefixes: tuple[tuple[str, ...], ...]
    header_prefixes: tuple[tuple[str, ...], ...]

    def key(self, text: str, header: bool = False) -> str:
        tokens = fold(nfc(text)).split()
        prefixes = self.header_prefixes + self.drop_prefixes if header else self.drop_prefixes
        changed = True
        while changed:
            changed = False
            for prefix in prefixes:
                n = len(prefix)
                if len(tokens) > n and tuple(tokens[:n]) == prefix:
                    tokens = tokens[n:]
                    changed = True
                    break
        out: list[str] = []
        for tok in tokens:
            out.extend(self.synonyms.get(tok, (tok,)))
        return "".join(out)


@dataclass(frozen=True)
class RatingSchemes:
    """All schemes with their alias indexes; build with :func:`load_schemes`.

    Attributes:
        schemes: Schemes sorted by first year.
        special_levels: Not-graded pseudo-levels (scheme_id ``""``), by code.
        source: Where the definitions came from (for provenance).
    """

    schemes: tuple[Scheme, ...]
    special_levels: Mapping[str, Level]
    source: str
    _norm: _Normaliser = field(repr=False, compare=False)
    _special_index: Mapping[str, str] = field(repr=False, compare=False)
    _index: Mapping[tuple[str, str], Mapping[str, _Entry]] = field(repr=False, compare=False)
    _ambiguous: Mapping[tuple[str, str], Mapping[str, tuple[str, ...]]] = field(
        repr=False, compare=False)

    def get(self, scheme_id: str) -> Scheme:
        """Return the scheme with ``scheme_id``.

        Raises:
            SchemeError: Unknown scheme id.
        """
        for s in self.schemes:
            if s.scheme_id == scheme_id:
                return s
        known = ", ".join(s.scheme_id for s in self.schemes)
        raise SchemeError(f"Không có thang xếp loại '{scheme_id}' (các thang đã biết: {known})",
                          f"Unknown rating scheme '{scheme_id}' (known: {known})")

    @property
    def ids(self) -> list[str]:
        """Scheme ids, oldest first."""
        return [s.scheme_id for s in self.schemes]

    def ranges_text(self) -> str:
        """Known ranges, e.g. ``"tsvm-2008 (2008–2017), …"``."""
        return ", ".join(f"{s.scheme_id} ({s.years_text()})" for s in self.schemes)

    def key(self, text: str, header: bool = False) -> str:
        """Matching key of ``text`` (see :func:`label_key`)."""
        return self._norm.key(text, header=header)

    def alias_index(self, scheme_id: str, subject: str) -> Mapping[str, _Entry]:
        """Alias key → level entry for one scheme and subject (for tests and tools)."""
        return self._index[(scheme_id, subject)]


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def _read_reference() -> dict[str, Any]:
    text = importlib.resources.files("analysis").joinpath("reference", _REFERENCE_FILE).read_text(
        encoding="utf-8")
    return load_yaml(text)


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(fold(text).split())


def _build(raw: Mapping[str, Any], overrides: Mapping[str, Any], source: str) -> RatingSchemes:
    norm_raw = raw.get("normalisation", {}) or {}
    norm = _Normaliser(
        synonyms={fold(k): _tokens(v) for k, v in (norm_raw.get("token_synonyms") or {}).items()},
        drop_prefixes=tuple(sorted((_tokens(p) for p in norm_raw.get("drop_prefixes") or []),
                                   key=len, reverse=True)),
        header_prefixes=tuple(sorted((_tokens(p) for p in norm_raw.get("header_drop_prefixes")
                                      or []), key=len, reverse=True)),
    )
    special: dict[str, Level] = {}
    special_index: dict[str, str] = {}
    for item in raw.get("special_levels") or []:
        code = item["rating_code"]
        special[code] = Level("", "", code, None, item["label_vi"], item["label_en"],
                              item["short_vi"], item["short_en"])
        for alias in [item["label_vi"], *item.get("aliases", [])]:
            _add_unique(special_index, norm.key(alias), code, f"special/{code}", alias)

    unknown = set(overrides) - {s["id"] for s in raw["schemes"]}
    if unknown:
        names = ", ".join(sorted(unknown))
        raise SchemeError(f"Thiết lập scheme_years nêu thang không tồn tại: {names}",
                          f"scheme_years names unknown schemes: {names}")

    schemes: list[Scheme] = []
    index: dict[tuple[str, str], dict[str, _Entry]] = {}
    ambiguous: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {}
    for s in raw["schemes"]:
        sid = s["id"]
        years = {**s["years"], **(overrides.get(sid) or {})}
        y_from, y_to = _year_value(years.get("from"), sid), _year_value(years.get("to"), sid)
        if y_from is None or (y_to is not None and y_to < y_from):
            raise SchemeError(f"Khoảng năm không hợp lệ cho thang {sid}: {y_from}–{y_to}",
                              f"Invalid year range for scheme {sid}: {y_from}–{y_to}")
        rules = s.get("rules") or {}
        comm = _commendation(rules.get("commendation"))
        levels: dict[str, tuple[Level, ...]] = {}
        for subject in SUBJECTS:
            items = sorted(s["levels"][subject], key=lambda d: int(d["rank"]))
            lv = tuple(Level(sid, subject, d["code"], int(d["rank"]), d["label_vi"], d["label_en"],
                             d["short_vi"], d["short_en"]) for d in items)
            if [x.rating_rank for x in lv] != list(range(1, len(lv) + 1)):
                raise SchemeError(f"Thang {sid} ({subject}): hạng phải là 1…{len(lv)}",
                                  f"Scheme {sid} ({subject}): ranks must be 1…{len(lv)}")
            levels[subject] = lv
            idx: dict[str, _Entry] = {}
            for d in items:
                where = f"{sid}/{subject}/{d['code']}"
                for alias in [d["label_vi"], *d.get("aliases", [])]:
                    _add_unique(idx, norm.key(alias), _Entry(d["code"], False), where, alias)
                ex_from = comm.from_year if comm and comm.among_code == d["code"] else None
                for alias in d.get("exemplary_aliases", []) or []:
                    _add_unique(idx, norm.key(alias), _Entry(d["code"], True, ex_from), where,
                                alias)
            for k in idx:
                if k in special_index:
                    raise SchemeError(
                        f"Bí danh '{k}' vừa là mức của {sid} vừa là mã đặc biệt",
                        f"Alias key '{k}' is both a level of {sid} and a special code")
            index[(sid, subject)] = idx
            amb = {}
            for d in ((s.get("ambiguous") or {}).get(subject) or []):
                amb[norm.key(d["alias"])] = tuple(d["codes"])
            ambiguous[(sid, subject)] = amb
        quota = rules.get("quota")
        schemes.append(Scheme(
            scheme_id=sid, year_from=y_from, year_to=y_to,
            title_vi=s.get("title_vi", sid), title_en=s.get("title_en", sid),
            documents=tuple(s.get("documents") or ()), levels=levels,
            quota=QuotaRule(
                from_year=int(quota["from_year"]), level1_code=quota["level1_code"],
                level2_code=quota["level2_code"], max_pct_of_level2=int(quota["max_pct_of_level2"]),
                counted_within=quota["counted_within"], source=quota["source"],
                confirmed_in_primary_text=bool(quota["confirmed_in_primary_text"]),
                text_vi=quota["text_vi"], text_en=quota["text_en"]) if quota else None,
            score_bands=tuple(
                ScoreBand(b["code"], float(b["min"]),
                          None if b.get("max") is None else float(b["max"]),
                          tuple(b.get("may_fall_to") or ()), bool(b.get("any_score", False)),
                          b.get("condition_vi", ""), b.get("condition_en", ""))
                for b in rules.get("score_bands") or ()),
            commendation=comm,
            notes_vi=tuple(s.get("notes_vi") or ()), notes_en=tuple(s.get("notes_en") or ()),
        ))
    schemes.sort(key=lambda x: x.year_from)
    for a, b in zip(schemes, schemes[1:], strict=False):
        if a.year_to is None or a.year_to >= b.year_from:
            raise SchemeError(
                f"Khoảng năm của thang {a.scheme_id} ({a.years_text()}) chồng lên "
                f"{b.scheme_id} ({b.years_text()})",
                f"Year range of {a.scheme_id} ({a.years_text()}) overlaps {b.scheme_id} "
                f"({b.years_text()})")
    return RatingSchemes(tuple(schemes), special, source, norm, special_index, index, ambiguous)


def _commendation(c: Mapping[str, Any] | None) -> Commendation | None:
    if not c:
        return None
    return Commendation(int(c["from_year"]), c["label_vi"], c["label_en"], c["among_code"],
                        tuple(c.get("foreign_levels") or ()), c["note_vi"], c["note_en"])


def _year_value(value: Any, sid: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise SchemeError(f"Năm không hợp lệ cho thang {sid}: {value!r}",
                          f"Invalid year for scheme {sid}: {value!r}")
    return int(value)


def _add_unique(index: dict[str, Any], key: str, value: Any, where: str, alias: str) -> None:
    if not key:
        raise SchemeError(f"Bí danh rỗng sau chuẩn hoá: '{alias}' ({where})",
                          f"Alias is empty after normalisation: '{alias}' ({where})")
    old = index.get(key)
    if old is not None and old != value:
        raise SchemeError(
            f"Bí danh '{alias}' ({where}) trùng khoá '{key}' với một mức khác",
            f"Alias '{alias}' ({where}) has key '{key}' already naming another level")
    index[key] = value


def _read_settings(settings_path: Path | None) -> tuple[dict[str, Any], str]:
    path = settings_path
    if path is None and os.environ.get(SETTINGS_ENV):
        path = Path(os.environ[SETTINGS_ENV])
    if path is None:
        return {}, "packaged"
    path = Path(path)
    if not path.is_file():
        raise SchemeError(f"Không tìm thấy tệp thiết lập: {path}",
                          f"Settings file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SchemeError(f"Tệp thiết lập {path} không đọc được: {exc}",
                          f"Settings file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SchemeError(f"Tệp thiết lập {path} phải là một bảng khoá: giá trị",
                          f"Settings file {path} must be a mapping")
    years = data.get("scheme_years") or {}
    if not isinstance(years, dict) or not all(isinstance(v, dict) for v in years.values()):
        raise SchemeError(f"Mục scheme_years trong {path} phải có dạng {{thang: {{from:, to:}}}}",
                          f"scheme_years in {path} must look like {{scheme: {{from:, to:}}}}")
    return years, f"packaged + {path}"


def load_schemes(settings_path: Path | None = None) -> RatingSchemes:
    """Load the packaged schemes, applying the user's year-range overrides.

    The settings file is YAML; only the key ``scheme_years`` is read here (other keys are left to
    other modules). Without ``settings_path`` the file named by the environment variable
    ``HOCTAP_SETTINGS`` is used if set. Overrides must keep the ranges disjoint.

    Args:
        settings_path: Optional settings YAML, e.g. ``{scheme_years: {qd132-2018: {from: 2018,
            to: 2022}}}`` (``to: null`` = still in force).

    Returns:
        The schemes with their alias indexes.

    Raises:
        SchemeError: Missing or invalid settings file, unknown scheme id, overlapping ranges, or an
            alias naming two levels of one scheme.

    Example:
        >>> load_schemes().get("qd132-2018").years_text()
        '2018–2022'
    """
    overrides, source = _read_settings(settings_path)
    return _build(_read_reference(), overrides, source)


@functools.lru_cache(maxsize=8)
def _cached_default(env_value: str | None, mtime: float | None) -> RatingSchemes:
    return load_schemes(Path(env_value) if env_value else None)


def _default_schemes() -> RatingSchemes:
    env_value = os.environ.get(SETTINGS_ENV) or None
    mtime = None
    if env_value and Path(env_value).is_file():
        mtime = Path(env_value).stat().st_mtime
    return _cached_default(env_value, mtime)


def _resolve(schemes: RatingSchemes | None) -> RatingSchemes:
    return _default_schemes() if schemes is None else schemes


# ---------------------------------------------------------------------------------------------
# Schemes by year
# ---------------------------------------------------------------------------------------------


def _scheme_or_none(year: int, rs: RatingSchemes) -> Scheme | None:
    for s in rs.schemes:
        if s.covers(year):
            return s
    return None


def _no_scheme_messages(year: Any, rs: RatingSchemes) -> tuple[str, str]:
    ranges = rs.ranges_text()
    return (f"Năm {year} không thuộc thang xếp loại nào (các thang đã biết: {ranges})",
            f"Year {year} is outside every rating scheme (known: {ranges})")


def scheme_for_year(year: int, schemes: RatingSchemes | None = None) -> str:
    """Return the id of the scheme in force in assessment ``year``.

    Raises:
        SchemeError: No scheme covers ``year`` (the message names the year and known ranges).

    Example:
        >>> scheme_for_year(2014), scheme_for_year(2018), scheme_for_year(2030)
        ('tsvm-2008', 'qd132-2018', 'qd366-2025')
    """
    rs = _resolve(schemes)
    s = _scheme_or_none(int(year), rs)
    if s is None:
        raise SchemeError(*_no_scheme_messages(year, rs))
    return s.scheme_id


def _check_subject(subject: str) -> None:
    if subject not in SUBJECTS:
        raise ValueError(f"subject phải là 'unit' hoặc 'member', không phải {subject!r}")


def scheme_levels(scheme_id: str, subject: Subject,
                  schemes: RatingSchemes | None = None) -> list[Level]:
    """Return the levels of a scheme for ``subject``, best first (special codes excluded).

    Example:
        >>> [lv.rating_code for lv in scheme_levels("tsvm-2008", "unit")]
        ['tsvm', 'httnv', 'htnv', 'yeu-kem']
    """
    _check_subject(subject)
    return list(_resolve(schemes).get(scheme_id).levels[subject])


def scheme_breaks(years: Iterable[int], schemes: RatingSchemes | None = None) -> list[int]:
    """Return the first year of each scheme that starts inside the span of ``years``.

    A scheme starting at the first year of the span is no break (nothing precedes it).

    Example:
        >>> scheme_breaks(range(2012, 2025))
        [2018, 2023]
        >>> scheme_breaks([2018, 2019])
        []
    """
    ys = [int(y) for y in years if not _is_missing(y)]
    if not ys:
        return []
    lo, hi = min(ys), max(ys)
    return [s.year_from for s in _resolve(schemes).schemes if lo < s.year_from <= hi]


# ---------------------------------------------------------------------------------------------
# Label matching
# ---------------------------------------------------------------------------------------------


def label_key(text: str, schemes: RatingSchemes | None = None) -> str:
    """Return the matching key of a label (folded, fillers dropped, abbreviations expanded).

    Example:
        >>> label_key("HT tốt NV") == label_key("Hoàn thành tốt nhiệm vụ") == label_key("HTTNV")
        True
    """
    return _resolve(schemes).key(text)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, float | np.floating) and math.isnan(value))
    except TypeError:  # pragma: no cover - defensive
        return False


def _unmatched(label: str, sid: str | None, code: str, vi: str, en: str,
               candidates: tuple[str, ...] = (), rating_code: str | None = None,
               rank: int | None = None) -> RatingMatch:
    return RatingMatch(label, sid, rating_code, rank, False, False, code, vi, en, candidates)


def _candidates(key: str, scheme: Scheme, subject: str, rs: RatingSchemes) -> tuple[str, ...]:
    """Nearest level codes by similarity of alias keys; all levels if nothing is close."""
    idx = rs.alias_index(scheme.scheme_id, subject)
    ranked: dict[str, float] = {}
    for alias_key, entry in idx.items():
        ratio = difflib.SequenceMatcher(None, key, alias_key).ratio()
        if ratio > ranked.get(entry.rating_code, -1.0):
            ranked[entry.rating_code] = ratio
    rank_of = {lv.rating_code: lv.rating_rank for lv in scheme.levels[subject]}
    close = [c for c, r in ranked.items() if r >= 0.6]
    if not close:
        return tuple(lv.rating_code for lv in scheme.levels[subject])
    close.sort(key=lambda c: (-ranked[c], rank_of.get(c) or 99))
    return tuple(close[:3])


def _describe_codes(codes: Iterable[str], scheme: Scheme, subject: str, lang: str) -> str:
    parts = []
    for c in codes:
        lv = scheme.level(subject, c)
        parts.append(f"'{lv.label(lang) if lv else c}' ({c})")
    return ", ".join(parts)


def _match(label: Any, year: Any, subject: str, rs: RatingSchemes) -> RatingMatch:
    raw = "" if _is_missing(label) else str(label)
    if _is_missing(year):
        return _unmatched(raw, None, "missing-year", "thiếu năm đánh giá",
                          "the assessment year is missing")
    try:
        y = int(year)
        if y != float(year):
            raise ValueError
    except (TypeError, ValueError):
        return _unmatched(raw, None, "missing-year", f"năm đánh giá không hợp lệ: {year!r}",
                          f"invalid assessment year: {year!r}")
    scheme = _scheme_or_none(y, rs)
    if scheme is None:
        vi, en = _no_scheme_messages(y, rs)
        return _unmatched(raw, None, "no-scheme-for-year", vi, en)
    sid = scheme.scheme_id
    key = rs.key(raw) if raw.strip() else ""
    if not key:
        return _unmatched(raw, sid, "empty-label", "nhãn xếp loại trống", "empty rating label",
                          tuple(lv.rating_code for lv in scheme.levels[subject]))
    special = rs._special_index.get(key)
    if special is not None:
        return RatingMatch(raw, sid, special, None, False, True)
    entry = rs.alias_index(sid, subject).get(key)
    if entry is not None:
        lv = scheme.level(subject, entry.rating_code)
        assert lv is not None
        if entry.from_year is not None and y < entry.from_year:
            comm = scheme.commendation
            title_vi = comm.label_vi if comm else ""
            title_en = comm.label_en if comm else ""
            return _unmatched(
                raw, sid, "commendation-not-in-force",
                f"danh hiệu '{title_vi}' trong các tổ chức mức '{lv.label_vi}' chỉ áp dụng từ "
                f"năm {entry.from_year}, chưa có trong năm {y}",
                f"the '{title_en}' commendation among level '{lv.label_en}' applies only from "
                f"{entry.from_year}, not in {y}",
                (lv.rating_code,))
        return RatingMatch(raw, sid, lv.rating_code, lv.rating_rank, entry.is_exemplary, True)
    amb = rs._ambiguous.get((sid, subject), {}).get(key)
    if amb:
        return _unmatched(
            raw, sid, "ambiguous-label",
            f"nhãn không xác định được một mức của thang {sid}; có thể là: "
            f"{_describe_codes(amb, scheme, subject, 'vi')}",
            f"the label does not name one level of {sid}; it may be: "
            f"{_describe_codes(amb, scheme, subject, 'en')}", amb)
    candidates = _candidates(key, scheme, subject, rs)
    for other in rs.schemes:
        if other.scheme_id == sid:
            continue
        hit = rs.alias_index(other.scheme_id, subject).get(key)
        if hit is None:
            continue
        vi = f"nhãn của thang {other.scheme_id}, không phải mức xếp loại năm {y}"
        en = f"a label of scheme {other.scheme_id}, not a rating level in {y}"
        comm = scheme.commendation
        if comm and f"{other.scheme_id}/{hit.rating_code}" in comm.foreign_levels:
            vi += f" ({comm.note_vi})"
            en += f" ({comm.note_en})"
        return _unmatched(raw, sid, "other-scheme-label", vi, en, candidates)
    other_subject = "member" if subject == "unit" else "unit"
    if key in rs.alias_index(sid, other_subject):
        who_vi = "đảng viên" if other_subject == "member" else "tổ chức đảng"
        who_en = "party members" if other_subject == "member" else "party organisations"
        return _unmatched(raw, sid, "other-subject-label",
                          f"nhãn xếp loại {who_vi} của thang {sid}, không dùng cho đối tượng này",
                          f"a rating label for {who_en} in {sid}, not for this subject",
                          candidates)
    return _unmatched(
        raw, sid, "unknown-label",
        f"nhãn không khớp mức nào của thang {sid} (năm {y}); gần nhất: "
        f"{_describe_codes(candidates, scheme, subject, 'vi')}",
        f"the label matches no level of {sid} (year {y}); nearest: "
        f"{_describe_codes(candidates, scheme, subject, 'en')}", candidates)


def match_label(label: str, year: int, subject: Subject,
                schemes: RatingSchemes | None = None) -> RatingMatch:
    """Match one raw label against the scheme in force in ``year``.

    Never raises on data: a year outside every scheme, an empty label or a label of another
    scheme gives ``matched=False`` with a reason code and Vietnamese/English reasons.

    Args:
        label: Label as written in the source.
        year: Assessment year.
        subject: ``"unit"`` (party organisation) or ``"member"``.
        schemes: Schemes to use (default: packaged + user settings).

    Example:
        >>> m = match_label("Trong sạch vững mạnh", 2016, "unit")
        >>> (m.scheme_id, m.rating_code, m.rating_rank, m.matched)
        ('tsvm-2008', 'tsvm', 1, True)
        >>> m = match_label("Trong sạch vững mạnh", 2020, "unit")
        >>> (m.matched, m.reason_code)
        (False, 'other-scheme-label')
        >>> match_label("TSVM tiêu biểu", 2014, "unit").is_exemplary
        True
    """
    _check_subject(subject)
    return _match(label, year, subject, _resolve(schemes))


_MAP_COLUMNS = ("scheme_id", "rating_code", "rating_rank", "is_exemplary", "matched",
                "reason_code", "reason")


def map_labels(df: pd.DataFrame, label_col: str, year_col: str, subject: Subject,
               schemes: RatingSchemes | None = None, lang: str = "vi") -> pd.DataFrame:
    """Map a column of raw labels to levels of the scheme of each row's year.

    Vectorised: each distinct (label, year) pair is matched once, then spread back with integer
    codes, so millions of rows with few distinct labels take about a second.

    Args:
        df: Input frame (not modified).
        label_col: Column of raw labels.
        year_col: Column of assessment years (ints; floats/strings are coerced, others unmatched).
        subject: ``"unit"`` or ``"member"``.
        schemes: Schemes to use (default: packaged + user settings).
        lang: Language of ``reason`` (``"vi"`` or ``"en"``).

    Returns:
        A new frame aligned to ``df.index`` with columns ``scheme_id``, ``rating_code`` (string),
        ``rating_rank`` (Int64), ``is_exemplary`` (boolean), ``matched`` (bool), ``reason_code``,
        ``reason`` (string).

    Example:
        >>> df = pd.DataFrame({"label": ["TSVM", "TSVM"], "year": [2016, 2020]})
        >>> out = map_labels(df, "label", "year", "unit")
        >>> out["matched"].tolist(), out["reason_code"].iloc[1]
        ([True, False], 'other-scheme-label')
    """
    _check_subject(subject)
    rs = _resolve(schemes)
    n = len(df)
    labels = df[label_col]
    years = pd.to_numeric(df[year_col], errors="coerce")
    lab_codes, lab_uniques = pd.factorize(labels, use_na_sentinel=True)
    yr_codes, yr_uniques = pd.factorize(years, use_na_sentinel=True)
    n_years = len(yr_uniques) + 1
    pair = (lab_codes.astype(np.int64) + 1) * n_years + (yr_codes.astype(np.int64) + 1)
    pair_codes, pair_uniques = pd.factorize(pair)
    lab_vals = np.asarray(lab_uniques, dtype=object)
    yr_vals = np.asarray(yr_uniques, dtype=object)
    results = []
    for p in pair_uniques:
        li, yi = divmod(int(p), n_years)
        label = lab_vals[li - 1] if li > 0 else None
        year = yr_vals[yi - 1] if yi > 0 else None
        results.append(_match(label, year, subject, rs))
    reasons = [r.message(lang) for r in results]
    out = {
        "scheme_id": _spread([r.scheme_id for r in results], pair_codes, "string"),
        "rating_code": _spread([r.rating_code for r in results], pair_codes, "string"),
        "rating_rank": _spread([r.rating_rank for r in results], pair_codes, "Int64"),
        "is_exemplary": _spread([r.is_exemplary for r in results], pair_codes, "boolean"),
        "matched": _spread([r.matched for r in results], pair_codes, "bool"),
        "reason_code": _spread([r.reason_code for r in results], pair_codes, "string"),
        "reason": _spread(reasons, pair_codes, "string"),
    }
    frame = pd.DataFrame({k: v for k, v in out.items()}, index=df.index)
    assert len(frame) == n
    return frame[list(_MAP_COLUMNS)]


def _spread(values: list[Any], codes: np.ndarray, dtype: str) -> Any:
    """Take per-pair ``values`` at ``codes`` (one per row) into an array of ``dtype``.

    Strings go through an Arrow dictionary (decoding is the cheapest way to materialise millions
    of repeated strings); an all-null string column is built without touching the codes.
    """
    if dtype == "string":
        import pyarrow as pa

        if all(v is None for v in values):
            return pd.array(pa.nulls(len(codes), pa.large_string()), dtype="string")
        dictionary = pa.array(values, pa.large_string())
        indices = pa.array(codes.astype(np.int32, copy=False))
        decoded = pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()
        try:
            return pd.array(decoded, dtype="string")
        except (TypeError, ValueError):  # pragma: no cover - string storage without Arrow
            return pd.array(values, dtype="string").take(codes)
    small = pd.array(values, dtype=dtype)
    return small.take(codes)


# ---------------------------------------------------------------------------------------------
# Column headers of wide sheets
# ---------------------------------------------------------------------------------------------


def match_header_level(header: str, year: int, subject: Subject,
                       schemes: RatingSchemes | None = None) -> Level | None:
    """Return the level a column header names, or ``None``.

    Used by intake for wide member-rating sheets (one column per level). Leading count words
    ("Số đảng viên", "SL", "Trong đó") are ignored. Headers naming "not graded" return the special
    level with ``rating_code`` :data:`NOT_ASSESSED` (or :data:`EXEMPT` for "Miễn đánh giá") and
    ``rating_rank`` ``None``; its ``scheme_id`` is the scheme of the year. Headers naming an
    exemplary subset ("TSVM tiêu biểu") return ``None``: they are a subset column, not a level.
    Headers of another scheme, percentages ("Tỷ lệ …") and unrelated headers return ``None``.

    Raises:
        SchemeError: No scheme covers ``year``.

    Example:
        >>> match_header_level("Số ĐV HTXSNV", 2020, "member").rating_code
        'htxsnv'
        >>> match_header_level("Vi phạm", 2015, "member").rating_code
        'vi-pham'
        >>> match_header_level("Chưa đánh giá", 2015, "member").rating_code
        'not-assessed'
        >>> match_header_level("Tỷ lệ HTXSNV", 2020, "member") is None
        True
    """
    _check_subject(subject)
    rs = _resolve(schemes)
    scheme = rs.get(scheme_for_year(year, rs))
    if _is_missing(header):
        return None
    key = rs.key(str(header), header=True)
    if not key:
        return None
    special = rs._special_index.get(key)
    if special is not None:
        return replace(rs.special_levels[special], scheme_id=scheme.scheme_id, subject=subject)
    entry = rs.alias_index(scheme.scheme_id, subject).get(key)
    if entry is None or entry.is_exemplary:
        return None
    return scheme.level(subject, entry.rating_code)


# ---------------------------------------------------------------------------------------------
# Scores (qd366-2025)
# ---------------------------------------------------------------------------------------------


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x).replace(".", ",")


def _band_for(score: float, scheme: Scheme) -> ScoreBand:
    for band in scheme.score_bands:
        if band.contains(score):
            return band
    raise ValueError(f"điểm {score} không thuộc khoảng nào của thang {scheme.scheme_id}")


def level_from_score(score: float, scheme_id: str = "qd366-2025",
                     schemes: RatingSchemes | None = None) -> str:
    """Return the rating code of the score band ``score`` falls in.

    The band is necessary, not sufficient (level 1 also needs all tasks done, ≥ 30% exceeded and
    no discipline; a violation gives level 4): see :func:`check_score` for consistency.

    Raises:
        ValueError: ``score`` is missing or outside 0–100, or the scheme has no score bands.

    Example:
        >>> [level_from_score(s) for s in (95, 90, 89.9, 70, 50, 49.99, 0)]
        ['htxsnv', 'htxsnv', 'httnv', 'httnv', 'htnv', 'khtnv', 'khtnv']
    """
    scheme = _resolve(schemes).get(scheme_id)
    if not scheme.score_bands:
        raise ValueError(f"Thang {scheme_id} không xếp loại theo điểm")
    if _is_missing(score) or not 0 <= float(score) <= 100:
        raise ValueError(f"Điểm phải nằm trong khoảng 0–100, nhận được {score!r}")
    return _band_for(float(score), scheme).rating_code


def check_score(score: float, stated_code: str, year: int,
                schemes: RatingSchemes | None = None) -> RatingMatch | None:
    """Check a stated level against its score; ``None`` when consistent or not checkable.

    Consistent means: the stated level is the band's level, a level the band may fall to
    (``may_fall_to``, e.g. a 95-point unit rated level 2 because level 1's other conditions were
    not met), or a level any score may carry (level 4 for a violation). A missing score or year,
    or a year whose scheme has no score bands, returns ``None``. ``stated_code`` may also be a
    raw label.

    Returns:
        ``None``, or a :class:`RatingMatch` with ``matched=False`` whose ``rating_code`` is the
        stated level, ``candidates`` the levels the score allows, and ``reason_code`` one of
        ``score-mismatch``, ``score-out-of-range``, ``unknown-code``.

    Example:
        >>> check_score(85, "httnv", 2025) is None
        True
        >>> check_score(85, "htxsnv", 2025).candidates
        ('httnv', 'khtnv')
    """
    rs = _resolve(schemes)
    if _is_missing(year) or _is_missing(score):
        return None
    scheme = _scheme_or_none(int(year), rs)
    if scheme is None or not scheme.score_bands:
        return None
    sid = scheme.scheme_id
    raw = "" if _is_missing(stated_code) else str(stated_code)
    subject = "unit"
    lv = scheme.level(subject, raw)
    if lv is None:
        m = _match(raw, year, subject, rs)
        lv = scheme.level(subject, m.rating_code) if m.matched and m.rating_code else None
    if lv is None:
        return _unmatched(raw, sid, "unknown-code",
                          f"mức '{raw}' không có trong thang {sid}",
                          f"level '{raw}' does not exist in {sid}",
                          tuple(x.rating_code for x in scheme.levels[subject]))
    s = float(score)
    if not 0 <= s <= 100:
        return _unmatched(raw, sid, "score-out-of-range",
                          f"điểm {_num(s)} nằm ngoài khoảng 0–100",
                          f"score {_num(s)} is outside 0–100", (), lv.rating_code,
                          lv.rating_rank)
    band = _band_for(s, scheme)
    allowed = [band.rating_code, *band.may_fall_to,
               *(b.rating_code for b in scheme.score_bands if b.any_score)]
    allowed = list(dict.fromkeys(allowed))
    if lv.rating_code in allowed:
        return None
    return _unmatched(
        raw, sid, "score-mismatch",
        f"điểm {_num(s)} thuộc khoảng {band.describe()} (mức {band.rating_code}), "
        f"không khớp mức ghi '{lv.rating_code}'",
        f"score {_num(s)} lies in band {band.describe()} (level {band.rating_code}), "
        f"inconsistent with the stated level '{lv.rating_code}'",
        tuple(allowed), lv.rating_code, lv.rating_rank)


# ---------------------------------------------------------------------------------------------
# Quota of level-1 members
# ---------------------------------------------------------------------------------------------


def _quota_rule(year: int, rs: RatingSchemes) -> QuotaRule | None:
    scheme = _scheme_or_none(int(year), rs)
    if scheme is None or scheme.quota is None or int(year) < scheme.quota.from_year:
        return None
    return scheme.quota


def quota_applies(year: int, schemes: RatingSchemes | None = None) -> bool:
    """Whether the level-1 member quota applies to assessment ``year``.

    From the 2019 assessment (HD 21-HD/BTCTW): members rated level 1 may not exceed 20% of those
    rated level 2, counted within each grassroots organisation. It did not apply under tsvm-2008
    nor in 2018; for qd124-2023 and qd366-2025 secondary sources repeat it (not confirmed in their
    primary text; see ``QuotaRule.confirmed_in_primary_text``).

    Example:
        >>> [quota_applies(y) for y in (2017, 2018, 2019, 2024, 2025)]
        [False, False, True, True, True]
    """
    return _quota_rule(year, _resolve(schemes)) is not None


_QUOTA_COLUMNS = ["unit_id", "year", "scheme_id", "level1_count", "level2_count", "limit_count",
                  "is_within"]


def check_member_quota(member_ratings: pd.DataFrame,
                       schemes: RatingSchemes | None = None) -> pd.DataFrame:
    """Check the level-1 member quota per grassroots organisation and year.

    Args:
        member_ratings: Canonical member_ratings rows (``unit_id``, ``year``, ``rating_rank``,
            ``members_count``; ``rating_code`` optional) already rolled up to grassroots
            organisations (``unit_id`` holds co_so ids). Rows with a null rank (not assessed)
            are ignored. Not modified.
        schemes: Schemes to use (default: packaged + user settings).

    Returns:
        One row per (unit_id, year) where the quota applies, sorted: ``unit_id``, ``year``,
        ``scheme_id``, ``level1_count``, ``level2_count``, ``limit_count`` (the largest level-1
        count allowed: ⌊pct × level2 / 100⌋, exact integer arithmetic), ``is_within``
        (level1 ≤ limit). A unit-year with members but none at level 2 has limit 0.

    Example:
        >>> mr = pd.DataFrame({"unit_id": ["a", "a"], "year": [2020, 2020],
        ...                    "rating_rank": [1, 2], "members_count": [3, 10]})
        >>> check_member_quota(mr)[["limit_count", "is_within"]].to_dict("records")
        [{'limit_count': 2, 'is_within': False}]
    """
    rs = _resolve(schemes)
    missing = {"unit_id", "year", "rating_rank", "members_count"} - set(member_ratings.columns)
    if missing:
        raise KeyError(f"Thiếu cột của member_ratings: {', '.join(sorted(missing))}")
    df = member_ratings[["unit_id", "year", "rating_rank", "members_count"]]
    years = sorted(int(y) for y in pd.unique(df["year"].dropna()))
    rules = {y: _quota_rule(y, rs) for y in years}
    applies = [y for y, r in rules.items() if r is not None]
    df = df[df["year"].isin(applies)]
    if df.empty:
        out = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            _QUOTA_COLUMNS, ["string", "Int64", "string", "Int64", "Int64", "Int64", "bool"],
            strict=True)})
        return out
    rank = pd.to_numeric(df["rating_rank"], errors="coerce")
    count = pd.to_numeric(df["members_count"], errors="coerce").fillna(0).astype("int64")
    work = pd.DataFrame({
        "unit_id": df["unit_id"].astype("string"),
        "year": df["year"].astype("int64"),
        "level1_count": count.where(rank == 1, 0),
        "level2_count": count.where(rank == 2, 0),
    })
    g = work.groupby(["unit_id", "year"], sort=True, as_index=False)[
        ["level1_count", "level2_count"]].sum()
    pct = g["year"].map({y: r.max_pct_of_level2 for y, r in rules.items() if r is not None})
    sid = g["year"].map({y: _scheme_or_none(y, rs).scheme_id for y in applies})
    g["limit_count"] = (g["level2_count"] * pct.astype("int64")) // 100
    g["is_within"] = (g["level1_count"] <= g["limit_count"]).astype(bool)
    g["scheme_id"] = sid.astype("string")
    for c in ("year", "level1_count", "level2_count", "limit_count"):
        g[c] = g[c].astype("Int64")
    return g[_QUOTA_COLUMNS].reset_index(drop=True)
