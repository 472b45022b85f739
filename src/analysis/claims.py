"""Figures stated in report texts: extraction, reconciliation, arithmetic, drafting.

Committees publish their results as prose ("100% tổ chức cơ sở Đảng, trên 96% cán bộ, đảng
viên, gần 75% quần chúng nhân dân"). This module reads such a text, finds every stated figure,
works out what it is about, and checks it

* against the data (:func:`reconcile`, given the metrics dict that ``hoctap metrics --format
  json`` prints), and
* against the text itself (:func:`check_arithmetic`: count ÷ base = stated %, levels adding up,
  "trong đó" parts not exceeding their parent, one share stated against two bases);

and, in reverse, writes the sentence a report should say (:func:`draft_paragraph`).

Decisions (see also ``reference/claim_subjects.yaml`` and ``reference/claim_qualifiers.csv``):

* A *figure* is a percentage, a fraction ("6/31", "117 trên 120"), a range ("từ 95% đến 97%")
  or a count (a number followed by a noun: "550 đảng viên", "gần 100 đồng chí"). Years
  ("năm 2014", "2013- 2015"), dates, document numbers ("27-HD/BTCTW", "Chỉ thị 03"), ordinals
  ("lần thứ 3") and labels ("tổ 5") are not figures and are skipped. Roman numerals are never
  figures. A bare number with no noun after it and no such prefix is reported as unattributed.
* Every figure that cannot be tied to a contract indicator is kept with
  ``indicator="unattributed"`` and a reason (counts of other things such as "gần 100 đồng chí
  Bí thư", changes such as "tăng 2%", shares with no subject or no context).
* Qualifiers and their meaning are data (``claim_qualifiers.csv``), applied at the stated
  precision: "96,4%" is good to ±0,05, "13%" to ±0,5. A count compared with the data is read at
  its stated precision too: a round count of 100 or more ("550 đảng viên", "1.400 đảng viên") is
  taken as rounded to its last non-zero digit; in the text's own arithmetic counts are exact.
* "trong đó X%" is a share of the same base as the figure it follows unless the text names
  another base ("so với số hoàn thành tốt nhiệm vụ", "6/31"). A rating figure with a "trong đó"
  part of a better level is cumulative ("gần 97% … hoàn thành tốt nhiệm vụ (trong đó 20% …
  xuất sắc)" is ``rank1-2``).
* Indicators beyond the DESIGN.md list, added (the contract allows adding): ``rank1-3``
  (cumulative to level 3) and ``unit_ratings.assessed`` / ``member_ratings.assessed`` (the
  number assessed, needed as a base).

Example:
    >>> claims = extract("Năm 2014, 100% chi bộ và 96,4% đảng viên tham gia học tập.")
    >>> [(c.text, c.indicator) for c in claims]
    [('100%', 'coverage.units'), ('96,4%', 'coverage.members')]
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from analysis.config import load_yaml
from analysis.text import (
    decode_legacy,
    detect_legacy_encoding,
    fold,
    format_number,
    format_pct,
    nfc,
    parse_vi_number,
    repair_column,
    round_half_up,
    strip_diacritics,
)

__all__ = [
    "Claim",
    "ClaimsInputError",
    "QualifierRule",
    "check_arithmetic",
    "claim_interval",
    "draft_paragraph",
    "extract",
    "load_qualifiers",
    "read_text",
    "reconcile",
    "run_claims",
    "run_claims_batch",
]

_EPS = 1e-9
TEXT_SUFFIXES = (".txt", ".md", ".docx")


class ClaimsInputError(ValueError):
    """A text that cannot be read (missing, unsupported format, undecodable).

    The message is Vietnamese and names the file; ``message_en`` holds the English text.
    """

    def __init__(self, message_vi: str, message_en: str | None = None) -> None:
        super().__init__(message_vi)
        self.message_vi = message_vi
        self.message_en = message_en or message_vi


# ---------------------------------------------------------------------------------------------
# Vocabulary (reference data)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualifierRule:
    """One qualifier and the interval it claims around the stated value X.

    Bounds are ``X + lo_units*u`` and ``X + hi_units*u`` with ``u`` one unit of the stated
    precision; infinite units mean no bound.
    """

    qualifier_id: str
    position: str
    phrases: tuple[str, ...]
    lo_units: float
    lo_closed: bool
    hi_units: float
    hi_closed: bool
    label_vi: str
    label_en: str
    meaning_vi: str
    meaning_en: str


def _reference_text(name: str) -> str:
    return importlib.resources.files("analysis").joinpath("reference", name).read_text("utf-8")


@functools.cache
def load_qualifiers() -> dict[str, QualifierRule]:
    """Return the qualifiers of ``reference/claim_qualifiers.csv`` keyed by id.

    Example:
        >>> q = load_qualifiers()["tren"]
        >>> (q.lo_units, q.lo_closed, q.hi_units, q.hi_closed)
        (0.0, False, 1.0, False)
    """
    lines = [
        ln
        for ln in _reference_text("claim_qualifiers.csv").splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    rules: dict[str, QualifierRule] = {}
    for row in csv.DictReader(lines):
        rules[row["qualifier_id"]] = QualifierRule(
            qualifier_id=row["qualifier_id"],
            position=row["position"],
            phrases=tuple(p.strip() for p in row["phrases"].split("|") if p.strip()),
            lo_units=float(row["lo_units"]),
            lo_closed=row["lo_closed"] == "1",
            hi_units=float(row["hi_units"]),
            hi_closed=row["hi_closed"] == "1",
            label_vi=row["label_vi"],
            label_en=row["label_en"],
            meaning_vi=row["meaning_vi"],
            meaning_en=row["meaning_en"],
        )
    return rules


def _phrase_regex(phrase: str) -> str:
    """Regex (on aligned-folded text) for a phrase: words separated by spaces/commas/hyphens."""
    words = fold(phrase).split()
    return r"[\s,\-–—]+".join(re.escape(w) for w in words)


def _key(text: str) -> str:
    return " ".join(fold(text).split())


class _PhraseSet:
    """A set of phrases → values, matched on whole words, longest first, without overlaps."""

    def __init__(self, items: Iterable[tuple[str, Any]]) -> None:
        self.values: dict[str, Any] = {}
        for phrase, value in items:
            k = _key(phrase)
            if k and k not in self.values:
                self.values[k] = value
        alts = sorted(self.values, key=lambda k: (-len(k), k))
        body = "|".join(_phrase_regex(k) for k in alts) or r"(?!x)x"
        self.regex = re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")
        self.body = body

    def finditer(
        self, f: str, start: int = 0, end: int | None = None
    ) -> list[tuple[int, int, Any]]:
        end = len(f) if end is None else end
        out = []
        for m in self.regex.finditer(f, start, end):
            out.append((m.start(), m.end(), self.values[_key(m.group(0))]))
        return out


@dataclass(frozen=True)
class _LevelInfo:
    rank: int
    units: tuple[str, ...]
    members: tuple[str, ...]
    phrase: str


@dataclass(frozen=True)
class _Vocab:
    subjects: _PhraseSet
    fillers: str
    coverage: _PhraseSet
    rating: _PhraseSet
    assessed: _PhraseSet
    excluded: _PhraseSet
    exemplary: _PhraseSet
    cumulative: _PhraseSet
    levels: _PhraseSet
    nest: _PhraseSet
    partition: _PhraseSet
    apposition: _PhraseSet
    base: _PhraseSet
    weak_base: _PhraseSet
    subjects_right: _PhraseSet
    counters: _PhraseSet
    change: str
    non_figure: str
    pre_qualifiers: dict[str, str]
    pre_qualifier_re: re.Pattern[str]
    post_qualifier_re: re.Pattern[str]
    post_qualifiers: dict[str, str]
    draft: dict[str, Any]


@functools.cache
def _vocab() -> _Vocab:
    data = load_yaml(_reference_text("claim_subjects.yaml"))
    subjects = _PhraseSet((p, s) for s, ps in data["subjects"].items() for p in ps)
    levels = []
    for lv in data["levels"]:
        for p in lv["phrases"]:
            levels.append(
                (
                    p,
                    _LevelInfo(
                        int(lv["rank"]),
                        tuple(lv.get("units") or ()),
                        tuple(lv.get("members") or ()),
                        str(p),
                    ),
                )
            )
    quals = load_qualifiers()
    pre = {
        _key(p): q.qualifier_id for q in quals.values() if q.position == "before" for p in q.phrases
    }
    post = {
        _key(p): q.qualifier_id for q in quals.values() if q.position == "after" for p in q.phrases
    }
    pre_alts = "|".join(_phrase_regex(k) for k in sorted(pre, key=lambda k: (-len(k), k)))
    post_alts = "|".join(_phrase_regex(k) for k in sorted(post, key=lambda k: (-len(k), k)))
    change = "|".join(
        _phrase_regex(p)
        for p in sorted((_key(x) for x in data["change_words"]), key=lambda k: (-len(k), k))
    )
    nonfig = "|".join(
        _phrase_regex(p)
        for p in sorted((_key(x) for x in data["non_figure_prefixes"]), key=lambda k: (-len(k), k))
    )
    fillers = "|".join(
        _phrase_regex(p)
        for p in sorted((_key(x) for x in data["subject_fillers"]), key=lambda k: (-len(k), k))
    )

    def ps(name: str) -> _PhraseSet:
        return _PhraseSet((p, _key(p)) for p in data[name])

    return _Vocab(
        subjects=subjects,
        fillers=fillers,
        coverage=ps("coverage_words"),
        rating=ps("rating_words"),
        assessed=ps("assessed_words"),
        excluded=ps("excluded_words"),
        exemplary=ps("exemplary_words"),
        cumulative=ps("cumulative_words"),
        levels=_PhraseSet(levels),
        nest=ps("nest_markers"),
        partition=ps("partition_markers"),
        apposition=ps("apposition_words"),
        base=ps("base_markers"),
        weak_base=ps("weak_base_markers"),
        subjects_right=_PhraseSet(
            (p, s) for s, ps_ in data["subjects_after_figure_only"].items() for p in ps_
        ),
        counters=ps("person_counters"),
        change=change,
        non_figure=nonfig,
        pre_qualifiers=pre,
        pre_qualifier_re=re.compile(rf"(?:^|(?<=[^a-z0-9]))(?P<q>{pre_alts})\s*$"),
        post_qualifier_re=re.compile(rf"\s*(?P<q>{post_alts})(?![a-z0-9])"),
        post_qualifiers=post,
        draft=data["draft"],
    )


# ---------------------------------------------------------------------------------------------
# The claim
# ---------------------------------------------------------------------------------------------


@dataclass
class Claim:
    """One figure stated in a text.

    Attributes:
        text: The figure as written, with its qualifier ("trên 96%", "6/31", "95% trở lên").
        sentence: The whole sentence it stands in.
        start: Offset of ``text`` in the NFC text.
        end: End offset of ``text`` in the NFC text.
        value: The figure: a percentage as 96.0, a fraction as its percentage, a count as a
            count, a range as its midpoint.
        kind: ``"percent"``, ``"fraction"``, ``"count"`` or ``"range"``.
        qualifier: Canonical qualifier id (``exact``, ``dat``, ``tren`` … see
            ``claim_qualifiers.csv``).
        decimals: Stated precision (digits after the decimal comma).
        subject: ``"units"``, ``"members"``, ``"public"``, ``"other"`` (a count of something
            else) or ``None``.
        indicator: Contract indicator id or ``"unattributed"``.
        parent_index: Index of the claim this one is nested under ("trong đó", "gồm").
        base: What a share is of, when named: ``"assessed"``, ``"total"``, ``"denominator"``
            (fractions) or a level (``"unit_ratings.rank2"``).
        numerator: Numerator of a fraction.
        denominator: Denominator of a fraction.
        unattributed_reason: Why no indicator could be given (Vietnamese).
        low: Lower end of a range.
        high: Upper end of a range.
        same_as: Index of the claim that states the same quantity in another form ("15 cơ sở
            đảng, chiếm 12,82%": the 12,82% is ``same_as`` the 15).
        level_phrase: The rating level phrase the claim was attributed with (vocabulary spelling).
        level_schemes: Schemes in which that phrase names the claim's level.
        partition: The claim's parent was introduced by "gồm"/":" (the parts make the whole).
        noun: The noun after a count of something else ("đồng chí").
        unattributed_reason_en: English reason.
    """

    text: str
    sentence: str
    start: int
    end: int
    value: float
    kind: str
    qualifier: str = "exact"
    decimals: int = 0
    subject: str | None = None
    indicator: str = "unattributed"
    parent_index: int | None = None
    base: str | None = None
    numerator: int | None = None
    denominator: int | None = None
    unattributed_reason: str | None = None
    low: float | None = None
    high: float | None = None
    same_as: int | None = None
    level_phrase: str | None = None
    level_schemes: tuple[str, ...] = ()
    partition: bool = False
    noun: str | None = None
    unattributed_reason_en: str | None = None
    sentence_start: int = 0
    # internal bookkeeping, not part of the public record
    _ctx: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (internal fields left out)."""
        d = asdict(self)
        d.pop("_ctx", None)
        d["level_schemes"] = list(self.level_schemes)
        return d


# ---------------------------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------------------------


def _fold_aligned(text: str) -> str:
    """Lower-case, diacritic-free copy of ``text`` with exactly the same length (offsets align).

    Punctuation is kept (the figure patterns need %, /, commas); whitespace becomes a space.
    """
    out = []
    for ch in text:
        if ch.isspace():
            out.append(" ")
            continue
        s = strip_diacritics(ch.casefold()) if not ch.isascii() else ch.lower()
        if len(s) != 1:
            s = ch if len(ch) == 1 else "?"
        if unicodedata.category(s) == "Nd" and not s.isascii():
            s = str(unicodedata.digit(s, 0))
        out.append(s)
    return "".join(out)


_SENT_END_RE = re.compile(r"(?<=[.!?…])[\"'”’»)]*\s+|\n+")


def _split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans: a stop followed by space, or a line break, ends a sentence."""
    spans = []
    pos = 0
    for m in _SENT_END_RE.finditer(text):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


_NUM = r"(?:[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?|\d+\.\d{1,2}(?![\d.])|\d+(?:,\d+)?)"
_INT = r"(?:[1-9]\d{0,2}(?:\.\d{3})+|\d+)"
_PCT_SIGN = r"(?:\s?%|\s+phan\s+tram(?![a-z]))"
_FIG_RE = re.compile(
    r"(?<![\w./])(?<!\d,)(?:"
    rf"(?P<date>\d{{1,2}}[/.\-]\d{{1,2}}[/.\-]\d{{2,4}}(?![\d/]))"
    rf"|(?P<range>(?:tu\s+)?(?P<r1>{_NUM})\s*%?\s*(?:-|–|—|den|toi)\s*(?P<r2>{_NUM}){_PCT_SIGN})"
    rf"|(?P<frac>(?P<f1>{_INT})\s*/\s*(?P<f2>{_INT})(?![\d/]|[.,]\d))"
    rf"|(?P<xtreny>(?P<t1>{_INT})\s+tren\s+(?:tong\s+so\s+)?(?P<t2>{_INT})(?![\d%]|[.,]\d|\s*%))"
    rf"|(?P<pct>(?P<p>{_NUM}){_PCT_SIGN})"
    rf"|(?P<bare>(?P<n>{_NUM})(?![\d%/]|[.,]\d))"
    r")"
)


def _parse_num(token: str) -> tuple[float, int]:
    """Value and stated decimals of a number token ("96,4" → (96.4, 1); "1.388" → (1388.0, 0))."""
    if re.fullmatch(r"\d+\.\d{1,2}", token):
        return float(token), len(token.split(".")[1])
    value = parse_vi_number(token)
    if value is None:  # pragma: no cover - the pattern never matches a blank
        raise ValueError(token)
    decimals = len(token.split(",")[1]) if "," in token else 0
    return value, decimals


@dataclass
class _Fig:
    start: int  # start of the number (or of the range/fraction)
    end: int  # end of the figure incl. % sign
    kind: str
    value: float
    decimals: int
    low: float | None = None
    high: float | None = None
    num: int | None = None
    den: int | None = None
    q_start: int = 0  # start incl. the qualifier before it
    q_end: int = 0  # end incl. a qualifier after it
    qualifier: str = "exact"
    change: bool = False


def _is_non_figure_number(f: str, start: int, end: int, token: str) -> bool:
    """Years, document numbers, ordinals, labels: numbers that are not figures."""
    v = _vocab()
    right = f[end : end + 12]
    left = f[max(0, start - 40) : start]
    if re.match(r"\s?[-–/]\s?[a-z]", right):  # 27-HD/BTCTW, 132/QĐ
        return True
    if re.match(r"\s?[-–]\s?\d{4}(?!\d)", right) and re.fullmatch(r"\d{4}", token):
        return True  # 2013-2015
    if re.search(rf"(?:^|[^a-z0-9])(?:{v.non_figure})\s*(?:so\s*)?[:.]?\s*$", left):
        if re.search(r"tong\s+so\s*$", left):  # "tổng số 31 chi bộ" is a figure
            return False
        return True
    if re.search(r"[-–]\s?$", left) and re.search(r"\d{4}\s?[-–]\s?$", left):
        return True  # second year of 2013- 2015
    if re.fullmatch(r"\d{4}", token) and 1900 <= int(token) <= 2100:
        return True  # a bare year
    return False


def _scan_figures(f: str) -> list[_Fig]:
    """Every figure in the aligned-folded text, in order (non-figures dropped)."""
    v = _vocab()
    figs: list[_Fig] = []
    for m in _FIG_RE.finditer(f):
        if m.group("date"):
            continue
        fig: _Fig | None = None
        if m.group("range"):
            lo, d1 = _parse_num(m.group("r1"))
            hi, d2 = _parse_num(m.group("r2"))
            if lo > hi or (re.fullmatch(r"\d{4}", m.group("r1")) and 1900 <= lo <= 2100):
                continue
            fig = _Fig(
                m.start("range"),
                m.end("range"),
                "range",
                (lo + hi) / 2,
                max(d1, d2),
                low=lo,
                high=hi,
            )
        elif m.group("frac") or m.group("xtreny"):
            a, b = (
                (m.group("f1"), m.group("f2"))
                if m.group("frac")
                else (m.group("t1"), m.group("t2"))
            )
            num, den = int(_parse_num(a)[0]), int(_parse_num(b)[0])
            start = m.start()
            if den == 0 or num > den:
                continue
            if m.group("frac") and (1900 <= den <= 2100 and num <= 12):
                continue  # month/year
            if _is_non_figure_number(f, start, start, a):
                if not re.search(r"tong\s+so\s*$", f[max(0, start - 20) : start]):
                    continue
            fig = _Fig(
                start, m.end(), "fraction", round_half_up(num / den * 100, 2), 2, num=num, den=den
            )
        elif m.group("pct"):
            val, dec = _parse_num(m.group("p"))
            fig = _Fig(m.start(), m.end(), "percent", val, dec)
        else:
            tok = m.group("n")
            if _is_non_figure_number(f, m.start(), m.end(), tok):
                continue
            val, dec = _parse_num(tok)
            fig = _Fig(m.start(), m.end(), "count", val, dec)
        fig.q_start, fig.q_end = fig.start, fig.end
        left = f[max(0, fig.start - 30) : fig.start]
        if fig.kind != "range" or not f[fig.start : fig.start + 3] == "tu ":
            qm = v.pre_qualifier_re.search(left)
            if qm:
                fig.qualifier = v.pre_qualifiers[_key(qm.group("q"))]
                fig.q_start = fig.start - (len(left) - qm.start("q"))
        pm = v.post_qualifier_re.match(f, fig.end)
        if pm and fig.kind != "fraction":
            fig.qualifier = v.post_qualifiers[_key(pm.group("q"))]
            fig.q_end = pm.end("q")
        before = f[max(0, fig.q_start - 25) : fig.q_start]
        if re.search(rf"(?:^|[^a-z0-9])(?:{v.change})\s*(?:tu\s*)?$", before):
            fig.change = True
        figs.append(fig)
    return figs


# ---------------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------------

_RATINGS_OF = {"units": "unit_ratings", "members": "member_ratings"}
_WS_FILL_RE_CACHE: dict[str, re.Pattern[str]] = {}


def _fillers_re() -> re.Pattern[str]:
    v = _vocab()
    if "f" not in _WS_FILL_RE_CACHE:
        _WS_FILL_RE_CACHE["f"] = re.compile(rf"\s*(?:(?:tong\s+so|{v.fillers})\s+)?")
    return _WS_FILL_RE_CACHE["f"]


@dataclass
class _Ctx:
    """What a figure is about, as read from the words around it."""

    kind: str | None = None  # level | exemplary | coverage | assessed | rating | None
    level: _LevelInfo | None = None
    cumulative: bool = False
    exemplary: bool = False
    source: str = ""


def _items(
    f: str, a: int, b: int, exclude: Sequence[tuple[int, int]] = ()
) -> list[tuple[int, int, str, Any]]:
    """Context items (levels, coverage/rating words …) in f[a:b], non-overlapping, longest first."""
    if b <= a:
        return []
    v = _vocab()
    found: list[tuple[int, int, str, Any]] = []
    for name, ps in (
        ("excluded", v.excluded),
        ("assessed", v.assessed),
        ("level", v.levels),
        ("exemplary", v.exemplary),
        ("coverage", v.coverage),
        ("rating", v.rating),
        ("cumulative", v.cumulative),
    ):
        for s, e, val in ps.finditer(f, a, b):
            if any(s < xe and e > xs for xs, xe in exclude):
                continue
            found.append((s, e, name, val))
    found.sort(key=lambda t: (t[0], -(t[1] - t[0])))
    out: list[tuple[int, int, str, Any]] = []
    last_end = -1
    for it in found:
        if it[0] >= last_end:
            out.append(it)
            last_end = it[1]
    return out


def _ctx_from(items: list[tuple[int, int, str, Any]], f: str, from_left: bool) -> _Ctx | None:
    """Pick the context nearest to the figure among ``items`` (right: first; left: last)."""
    if not items:
        return None
    seq = list(reversed(items)) if from_left else items
    lev = next((it for it in seq if it[2] in ("level", "exemplary")), None)
    cov = next((it for it in seq if it[2] == "coverage"), None)
    exc = next((it for it in seq if it[2] == "excluded"), None)
    present = [it for it in (lev, cov, exc) if it is not None]
    chosen = min(present, key=lambda it: seq.index(it)) if present else None
    if chosen is None:
        chosen = next((it for it in seq if it[2] == "assessed"), None) or next(
            (it for it in seq if it[2] == "rating"), None
        )
    if chosen is None:
        return None
    ctx = _Ctx(kind=chosen[2], source="left" if from_left else "right")
    if chosen[2] == "level":
        ctx.level = chosen[3]
        idx = items.index(chosen)
        for nxt in items[idx + 1 : idx + 3]:
            gap = f[items[idx][1] : nxt[0]]
            if nxt[2] == "cumulative" and re.fullmatch(r"[\s,]*", gap):
                ctx.cumulative = True
            if nxt[2] == "exemplary" and re.fullmatch(r"[\s,()\-]*", gap):
                ctx.exemplary = True
                ctx.kind = "exemplary"
    elif chosen[2] == "exemplary":
        ctx.exemplary = True
    return ctx


def _clause_bounds(f: str, ss: int, se: int) -> list[tuple[int, int]]:
    bounds = []
    pos = ss
    for m in re.finditer(r"[;|]", f[ss:se]):
        bounds.append((pos, ss + m.start()))
        pos = ss + m.end()
    bounds.append((pos, se))
    return bounds


def _first_pos(ps: _PhraseSet, f: str, a: int, b: int) -> tuple[int, int] | None:
    hits = ps.finditer(f, a, b)
    return (hits[0][0], hits[0][1]) if hits else None


def _last_pos(ps: _PhraseSet, f: str, a: int, b: int) -> tuple[int, int] | None:
    hits = ps.finditer(f, a, b)
    return (hits[-1][0], hits[-1][1]) if hits else None


def _base_at(f: str, pos: int, end: int) -> tuple[str, str | None, int, _Ctx | None] | None:
    """A base phrase starting at ``pos`` ("so với tổng số được đánh giá", "tổng số đảng viên").

    Returns (base kind, subject named in it, end offset, level context) or None.
    """
    v = _vocab()
    m = re.compile(r"\s*").match(f, pos)
    p = m.end() if m else pos
    bm = v.base.regex.match(f, p, end)
    if bm:
        return _base_tail(f, bm.end(), end)
    wm = v.weak_base.regex.match(f, p, end)
    if wm:
        tail = _base_tail(f, wm.end(), end, read_level=False)
        return tail
    return None


def _base_tail(
    f: str,
    q: int,
    end: int,
    read_level: bool = True,
) -> tuple[str, str | None, int, _Ctx | None]:
    """Read what follows a base marker: [số] [subject] [được] level | assessed words | nothing."""
    v = _vocab()
    subject = None
    m = re.compile(r"\s*(?:so\s+)?").match(f, q, end)
    q2 = m.end() if m else q
    sm = v.subjects.regex.match(f, q2, end)
    if sm:
        subject = v.subjects.values[_key(sm.group(0))]
        q2 = sm.end()
    m = re.compile(r"\s*(?:duoc\s+|dat\s+|xep\s+loai\s+)?").match(f, q2, end)
    q3 = m.end() if m else q2
    lm = v.levels.regex.match(f, q3, end) if read_level else None
    if lm:
        info = v.levels.values[_key(lm.group(0))]
        ctx = _Ctx(kind="level", level=info)
        e = lm.end()
        cm = re.compile(r"[\s,]*").match(f, e, end)
        cq = cm.end() if cm else e
        cum = v.cumulative.regex.match(f, cq, end)
        if cum:
            ctx.cumulative = True
            e = cum.end()
        return "level", subject, e, ctx
    am = (
        v.assessed.regex.match(f, q2, end)
        or v.assessed.regex.match(f, q3, end)
        or v.rating.regex.match(f, q3, end)
    )
    if am and read_level:
        return "assessed", subject, am.end(), None
    return "total", subject, q2, None


def _subject_at(f: str, pos: int, end: int) -> tuple[str, int] | None:
    v = _vocab()
    m = _fillers_re().match(f, pos, end)
    p = m.end() if m else pos
    sm = v.subjects.regex.match(f, p, end)
    if sm:
        return v.subjects.values[_key(sm.group(0))], sm.end()
    for ps in (v.subjects, v.subjects_right):
        sm = ps.regex.match(f, p, end)
        if sm:
            return ps.values[_key(sm.group(0))], sm.end()
    return None


def _noun_at(text: str, f: str, pos: int, end: int) -> tuple[str, int] | None:
    """The noun right after a count ("đồng chí", "lượt", "lớp"): its first one or two words."""
    m = re.compile(r"\s*([a-z]+)(?:\s+([a-z]+))?").match(f, pos, end)
    if not m:
        return None
    items = _items(f, m.start(1), end)
    if items and items[0][0] == m.start(1):
        return None
    v = _vocab()
    if (
        m.group(2)
        and not v.subjects.regex.match(f, m.start(2), end)
        and not (items and items[0][0] == m.start(2))
    ):
        cm = v.counters.regex.match(f, m.start(1), end)
        if not cm:
            return text[m.start(1) : m.end(2)], m.end(2)
    cm = _vocab().counters.regex.match(f, m.start(1), end)
    if cm:
        return text[cm.start() : cm.end()], cm.end()
    return text[m.start(1) : m.end(1)], m.end(1)


def _right_cut(f: str, a: int, b: int) -> int:
    """End of the text that belongs to a figure: the next "(" / ")" / nest marker / colon."""
    v = _vocab()
    cut = b
    m = re.compile(r"[():]").search(f, a, b)
    if m:
        cut = m.start()
    for ps in (v.nest, v.partition):
        p = _first_pos(ps, f, a, cut)
        if p:
            cut = min(cut, p[0])
    return cut


def _comma_cut(f: str, a: int, b: int) -> int:
    """First comma/semicolon in f[a:b] that is not inside a subject or level phrase."""
    v = _vocab()
    protected = [(s, e) for s, e, _ in v.subjects.finditer(f, a, b)]
    protected += [(s, e) for s, e, _ in v.levels.finditer(f, a, b)]
    protected += [(s, e) for s, e, _ in v.assessed.finditer(f, a, b)]
    for m in re.finditer(r"[,;]", f[a:b]):
        pos = a + m.start()
        if not any(s <= pos < e for s, e in protected):
            return pos
    return b


def _near_left_start(f: str, a: int, b: int) -> int:
    """Start of the text right before a figure that belongs to it (after the last separator)."""
    v = _vocab()
    protected = [(s, e) for s, e, _ in v.subjects.finditer(f, a, b)]
    protected += [(s, e) for s, e, _ in v.levels.finditer(f, a, b)]
    start = a
    for m in re.finditer(r"[,(:)]", f[a:b]):
        pos = a + m.start()
        if not any(s <= pos < e for s, e in protected):
            start = pos + 1
    for ps in (v.nest, v.partition):
        p = _last_pos(ps, f, start, b)
        if p:
            start = max(start, p[1])
    return start


def _only_links(f: str, a: int, b: int, allow_and: bool) -> tuple[bool, bool]:
    """(gap holds only linking words/punctuation, it holds an explicit linker)."""
    v = _vocab()
    gap = f[a:b]
    linker = "(" in gap or "=" in gap
    rest = gap
    for s, e, _ in reversed(v.apposition.finditer(f, a, b)):
        linker = True
        rest = rest[: s - a] + " " * (e - s) + rest[e - a :]
    rest = re.sub(r"(?<![a-z])(?:va|cung|voi)(?![a-z])", " ", rest) if allow_and else rest
    return re.fullmatch(r"[\s,(=:\-–]*", rest) is not None, linker


def _unit_size(value: float) -> float:
    """Stated precision of a count compared with data: round counts ≥ 100 are rounded figures."""
    if value < 100 or value != int(value):
        return 1.0
    n = int(value)
    u = 1
    while n % 10 == 0 and n >= 100:
        n //= 10
        u *= 10
    return float(u)


def extract(text: str) -> list[Claim]:
    """Find every figure stated in ``text``, with its qualifier, subject and indicator.

    Args:
        text: Report prose (any normal form; it is NFC-normalised first, offsets refer to the
            NFC text).

    Returns:
        The claims in text order. Figures that cannot be tied to an indicator are kept with
        ``indicator="unattributed"`` and a reason.

    Example:
        >>> c = extract("Gần 97% đảng viên hoàn thành tốt nhiệm vụ (trong đó 20% đảng viên "
        ...             "hoàn thành xuất sắc nhiệm vụ).")
        >>> [(x.text, x.qualifier, x.indicator, x.parent_index) for x in c]  # doctest: +NORMALIZE_WHITESPACE
        [('Gần 97%', 'gan', 'member_ratings.rank1-2', None),
         ('20%', 'exact', 'member_ratings.rank1', 0)]
    """
    text = nfc(text)
    f = _fold_aligned(text)
    figs = _scan_figures(f)
    claims: list[Claim] = []
    prev_sentence_line_end: tuple[int, int] | None = None  # (last claim index, sentence end)
    for ss, se in _split_sentences(text):
        sfigs = [g for g in figs if ss <= g.start < se]
        if sfigs:
            _analyse_sentence(text, f, ss, se, sfigs, claims, prev_sentence_line_end)
            prev_sentence_line_end = (len(claims) - 1, se)
        elif "\n" in text[(prev_sentence_line_end or (0, 0))[1] : ss]:
            prev_sentence_line_end = None
    _post_pass(claims)
    for c in claims:
        c._ctx.clear()
    return claims


def _analyse_sentence(
    text: str,
    f: str,
    ss: int,
    se: int,
    sfigs: list[_Fig],
    claims: list[Claim],
    prev_sentence: tuple[int, int] | None,
) -> None:
    v = _vocab()
    sentence = text[ss:se]
    clauses = _clause_bounds(f, ss, se)
    depth = [0] * (se - ss + 1)
    d = 0
    for k, ch in enumerate(f[ss:se]):
        depth[k] = d
        d += (ch == "(") - (ch == ")")
        d = max(d, 0)
    depth[se - ss] = d

    def clause_of(pos: int) -> tuple[int, int]:
        return next(c for c in clauses if c[0] <= pos <= c[1])

    first = len(claims)
    cur_parent: int | None = None
    cur_partition = False
    nest_depth = 0
    for i, g in enumerate(sfigs):
        g.q_start = max(g.q_start, ss)
        cs, ce = clause_of(g.start)
        prev = sfigs[i - 1] if i > 0 else None
        nxt = sfigs[i + 1] if i + 1 < len(sfigs) else None
        prev_same = prev is not None and clause_of(prev.start) == (cs, ce)
        nxt_same = nxt is not None and clause_of(nxt.start) == (cs, ce)
        left_lim = prev.q_end if prev_same else cs
        right_lim = nxt.q_start if nxt_same else ce
        idx = len(claims)
        prev_idx = idx - 1 if prev is not None else None
        claim = Claim(
            text=text[g.q_start : g.q_end],
            sentence=sentence,
            start=g.q_start,
            end=g.q_end,
            value=g.value,
            kind=g.kind,
            qualifier=g.qualifier,
            decimals=g.decimals,
            low=g.low,
            high=g.high,
            numerator=g.num,
            denominator=g.den,
            sentence_start=ss,
        )
        if g.kind == "fraction":
            claim.base = "denominator"
        # ---- nesting ------------------------------------------------------------------------
        between_a = prev.q_end if prev is not None else ss
        between = f[between_a : g.q_start]
        if prev is not None and not prev_same:
            cur_parent, cur_partition = None, False
        if cur_parent is not None and ")" in between and depth[g.start - ss] < nest_depth:
            cur_parent, cur_partition = None, False
        nest_hit = _last_pos(v.nest, f, between_a, g.q_start)
        part_hit = _last_pos(v.partition, f, between_a, g.q_start)
        colon = prev is not None and prev_same and prev.kind == "count" and ":" in between
        nested_now = False
        if prev is not None and (nest_hit or part_hit or colon):
            cur_parent = _resolve(claims, prev_idx)  # type: ignore[arg-type]
            cur_partition = bool(part_hit or colon) and not nest_hit
            nest_depth = depth[g.start - ss]
            nested_now = True
        elif prev is None and nest_hit and prev_sentence is not None:
            cur_parent = _resolve(claims, prev_sentence[0])
            cur_partition = False
            nest_depth = 0
            nested_now = True
        # ---- right side: base, subject ------------------------------------------------------
        r_end = _right_cut(f, g.q_end, right_lim)
        base = _base_at(f, g.q_end, r_end)
        consumed = g.q_end
        subject: str | None = None
        base_span: tuple[int, int] | None = None
        base_ctx: _Ctx | None = None
        if base:
            claim.base = base[0] if base[0] != "level" else "level"
            subject = base[1]
            base_span = (g.q_end, base[2])
            base_ctx = base[3]
            consumed = base[2]
        else:
            sub = _subject_at(f, g.q_end, r_end)
            if sub:
                subject, consumed = sub
        noun = None
        if subject is None and g.kind in ("count", "fraction", "range") and not base:
            nn = _noun_at(text, f, g.q_end, r_end)
            if nn:
                noun, consumed = nn
        r_ctx_end = _comma_cut(f, consumed, r_end)
        excl = [base_span] if base_span else []
        right_items = _items(f, g.q_end, r_ctx_end, excl)
        if right_items:
            consumed = max(consumed, right_items[-1][1])
        claim._ctx["consumed"] = consumed
        near_a = _near_left_start(f, left_lim, g.q_start)
        # ---- apposition ---------------------------------------------------------------------
        same_as = None
        if prev is not None and prev_same and not nested_now and prev_idx is not None:
            pc = claims[prev_idx]
            gap_a = max(pc._ctx.get("consumed", prev.q_end), near_a)
            only, linker = _only_links(f, gap_a, g.q_start, allow_and=pc.same_as is not None)
            linker = (
                linker
                or f[gap_a - 1 : gap_a] == "("
                or "(" in f[prev.q_end : g.q_start]
                or g.qualifier == "dat"
            )
            kinds_ok = (
                (pc.kind in ("count", "fraction") and g.kind == "percent")
                or (pc.kind == "percent" and g.kind == "fraction")
                or (
                    pc.kind == "percent"
                    and g.kind == "percent"
                    and (base is not None or pc.same_as is not None)
                )
            )
            if (
                only
                and (linker or pc.same_as is not None)
                and kinds_ok
                and (subject is None or subject == pc.subject or base is not None)
            ):
                same_as = _resolve(claims, prev_idx)
        if same_as is not None:
            target = claims[same_as]
            claim.same_as = same_as
            claim.parent_index = target.parent_index
            claim.partition = target.partition
            claim.subject = target.subject
            claim._ctx["ctx"] = target._ctx.get("ctx")
            # a level named after an apposition is its base ("19,35% số chi bộ TSVM")
            if not base:
                lv = _base_tail(f, g.q_end, r_end)
                if lv[0] == "level":
                    claim.base, base_ctx = "level", lv[3]
                    claim._ctx["consumed"] = lv[2]
            if claim.base == "level" and base_ctx is not None:
                claim._ctx["base_ctx"] = base_ctx
            if g.change:
                claim._ctx["change"] = True
            claims.append(claim)
            continue
        claim.parent_index = cur_parent
        claim.partition = cur_partition if cur_parent is not None else False
        if base_ctx is not None:
            claim._ctx["base_ctx"] = base_ctx
        # ---- subject fallbacks --------------------------------------------------------------
        if subject is None and noun is None:
            if claim.parent_index is not None:
                subject = claims[claim.parent_index].subject
                if subject == "other":
                    subject = None
            if subject is None:
                hit = _last_pos(v.subjects, f, near_a, g.q_start)
                if hit is None and not (nested_now or claim.parent_index is not None):
                    hit = _last_pos(v.subjects, f, cs, g.q_start)
                if hit is not None:
                    subject = v.subjects.values[_key(f[hit[0] : hit[1]])]
        if noun is not None and v.counters.regex.fullmatch(_fold_aligned(noun)):
            people = [
                h for h in v.subjects.finditer(f, cs, g.q_start) if h[2] in ("members", "public")
            ]
            if people:
                subject = people[-1][2]
                noun = None
        if noun is not None:
            subject = "other"
            claim.noun = noun
        claim.subject = subject
        # ---- context ------------------------------------------------------------------------
        ctx = _ctx_from(right_items, f, from_left=False)
        if ctx is None:
            ctx = _ctx_from(_items(f, near_a, g.q_start), f, from_left=True)
        if ctx is None and prev_same and prev_idx is not None and not nested_now:
            pc = claims[prev_idx]
            pcr = claims[_resolve(claims, prev_idx)]
            gap = f[pc._ctx.get("consumed", prev.q_end) : g.q_start]
            gap = re.sub(r"(?<![a-z])(?:va|cung|con)(?![a-z])", " ", gap)
            if re.fullmatch(r"[\s,]*", gap) and pcr.parent_index == claim.parent_index:
                ctx = pcr._ctx.get("ctx")
        if ctx is None and claim.parent_index is None and (not prev_same or prev is None):
            ctx = _ctx_from(_items(f, cs, g.q_start), f, from_left=True)
        if ctx is None and g.kind != "count":
            after = _items(f, g.q_end, ce)
            ctx = _ctx_from(
                [it for it in after if it[2] in ("level", "exemplary", "coverage", "cumulative")],
                f,
                from_left=False,
            )
        claim._ctx["ctx"] = ctx
        if g.change:
            claim._ctx["change"] = True
        claims.append(claim)
    # indicators for this sentence
    for c in claims[first:]:
        _attribute(c, claims)


def _resolve(claims: list[Claim], idx: int) -> int:
    """Follow ``same_as`` links to the claim that carries the quantity."""
    seen = set()
    while claims[idx].same_as is not None and idx not in seen:
        seen.add(idx)
        idx = claims[idx].same_as  # type: ignore[assignment]
    return idx


_REASONS = {
    "change": (
        "là mức tăng/giảm, không phải một tỷ lệ hay số lượng của chỉ tiêu",
        "a change, not a share or a count of an indicator",
    ),
    "other": (
        "đếm «{noun}», không phải chỉ tiêu có trong số liệu",
        'counts "{noun}", not an indicator in the data',
    ),
    "no_subject": (
        "không xác định được số liệu nói về chi bộ, đảng viên hay quần chúng",
        "cannot tell whether the figure is about party cells, members or the public",
    ),
    "no_context": (
        "không rõ là tỷ lệ học tập hay kết quả xếp loại",
        "cannot tell whether it is study coverage or a rating result",
    ),
    "public_rating": ("quần chúng không được đánh giá, xếp loại", "the public is not rated"),
    "rating_no_level": (
        "nói về đánh giá, xếp loại nhưng không nêu mức xếp loại",
        "about the assessment but names no level",
    ),
    "public_count": (
        "số quần chúng không có trong số liệu",
        "a number of people of the public is not in the data",
    ),
    "assessed_share": (
        "tỷ lệ được đánh giá không có trong danh mục chỉ tiêu",
        "the share assessed is not a contract indicator",
    ),
    "excluded": (
        "số được miễn hoặc chưa đánh giá, chưa tham gia không có trong danh mục chỉ tiêu",
        "people exempt, not assessed or not taking part are not a contract indicator",
    ),
}


def _set_unattributed(c: Claim, key: str) -> None:
    vi, en = _REASONS[key]
    c.indicator = "unattributed"
    c.unattributed_reason = vi.format(noun=c.noun or "")
    c.unattributed_reason_en = en.format(noun=c.noun or "")


def _attribute(c: Claim, claims: list[Claim]) -> None:
    ctx: _Ctx | None = c._ctx.get("ctx")
    if c.same_as is not None:
        t = claims[c.same_as]
        c.indicator = t.indicator
        c.unattributed_reason, c.unattributed_reason_en = (
            t.unattributed_reason,
            t.unattributed_reason_en,
        )
        c.level_phrase, c.level_schemes = t.level_phrase, t.level_schemes
        _attach_base(c)
        if c._ctx.get("change"):
            _set_unattributed(c, "change")
        return
    if c._ctx.get("change"):
        _set_unattributed(c, "change")
        return
    if c.subject == "other":
        _set_unattributed(c, "other")
        return
    if c.subject is None:
        _set_unattributed(c, "no_subject")
        return
    kind = ctx.kind if ctx else None
    if kind == "excluded":
        _set_unattributed(c, "excluded")
        return
    if kind in ("level", "exemplary"):
        if c.subject == "public":
            _set_unattributed(c, "public_rating")
            return
        fam = _RATINGS_OF[c.subject]
        if ctx.exemplary or kind == "exemplary":  # type: ignore[union-attr]
            c.indicator = f"{fam}.exemplary"
        else:
            rank = ctx.level.rank  # type: ignore[union-attr]
            c.indicator = (
                f"{fam}.rank1-{rank}" if ctx.cumulative and rank > 1 else f"{fam}.rank{rank}"
            )  # type: ignore[union-attr]
        if ctx.level is not None:  # type: ignore[union-attr]
            c.level_phrase = ctx.level.phrase  # type: ignore[union-attr]
            c.level_schemes = ctx.level.units if c.subject == "units" else ctx.level.members  # type: ignore[union-attr]
    elif kind == "coverage":
        c.indicator = f"coverage.{c.subject}"
    elif kind == "assessed" and c.kind == "count" and c.subject in _RATINGS_OF:
        c.indicator = f"{_RATINGS_OF[c.subject]}.assessed"
    elif kind in ("assessed", "rating"):
        _set_unattributed(c, "assessed_share" if kind == "assessed" else "rating_no_level")
        if c.kind == "count" and c.subject in _RATINGS_OF and kind == "rating":
            c.indicator = f"{_RATINGS_OF[c.subject]}.assessed"
            c.unattributed_reason = c.unattributed_reason_en = None
    elif c.kind == "count":
        if c.subject == "public":
            _set_unattributed(c, "public_count")
        else:
            c.indicator = f"count.{c.subject}"
    else:
        _set_unattributed(c, "no_context")
    _attach_base(c)


def _attach_base(c: Claim) -> None:
    """Turn a level base read from the text into an indicator-style id."""
    if c.base == "level":
        bctx: _Ctx | None = c._ctx.get("base_ctx")
        if bctx is None or bctx.level is None or c.subject not in _RATINGS_OF:
            c.base = "total"
            return
        rank = bctx.level.rank
        fam = _RATINGS_OF[c.subject]
        c.base = f"{fam}.rank1-{rank}" if bctx.cumulative and rank > 1 else f"{fam}.rank{rank}"


def _rank_span(indicator: str) -> tuple[int, int] | None:
    """(best, worst) rank an indicator covers.

    rank2 → (2, 2), rank1-2 → (1, 2), exemplary → (1, 1).
    """
    m = re.search(r"\.rank(\d)(?:-(\d))?$", indicator)
    if m:
        a = int(m.group(1))
        return a, int(m.group(2) or a)
    if indicator.endswith(".exemplary"):
        return 1, 1
    return None


def _post_pass(claims: list[Claim]) -> None:
    """Cumulative parents and impossible nestings, once every claim is attributed."""
    for c in claims:
        if c.parent_index is None or c.same_as is not None:
            continue
        p = claims[c.parent_index]
        cs, ps = _rank_span(c.indicator), _rank_span(p.indicator)
        if cs is None or ps is None or c.indicator.split(".")[0] != p.indicator.split(".")[0]:
            continue
        if cs[0] < ps[0] and ps[0] == ps[1] and not c.indicator.endswith(".exemplary"):
            # a better level listed under a level: the parent is "this level or better"
            p.indicator = p.indicator.rsplit(".", 1)[0] + f".rank1-{ps[1]}"
            for a in claims:
                if a.same_as is not None and _resolve(claims, a.same_as) == claims.index(p):
                    a.indicator = p.indicator
        elif cs[0] > ps[1]:
            c.parent_index = None  # a worse level cannot be part of a better one
            c.partition = False


# ---------------------------------------------------------------------------------------------
# Intervals: what a stated figure claims
# ---------------------------------------------------------------------------------------------


def _fmt(x: float | None, decimals: int, lang: str = "vi", pct: bool = False) -> str:
    if x is None:
        return "—"
    d = max(decimals, 0)
    return format_pct(x, d, lang) if pct else format_number(x, d, lang)


def _fmt_auto(x: float | None, lang: str = "vi", pct: bool = True) -> str:
    """A computed value with up to two decimals, trailing zeros dropped."""
    if x is None:
        return "—"
    for d in (0, 1, 2):
        if abs(round_half_up(x, d) - x) < _EPS:
            return _fmt(x, d, lang, pct)
    return _fmt(x, 2, lang, pct)


def claim_interval(claim: Claim, against_data: bool = True) -> tuple[float, bool, float, bool]:
    """The values a stated figure allows, as ``(lo, lo_closed, hi, hi_closed)``.

    Percentages use the qualifier's interval at the stated precision (``claim_qualifiers.csv``)
    and stay within 0–100; a fraction is exact; a range "từ a% đến b%" allows what rounds into
    [a, b]. A count compared with data is read at its stated precision (round counts ≥ 100 are
    rounded figures); in the text's own arithmetic (``against_data=False``) an unqualified count
    is exact.

    Example:
        >>> c = extract("trên 96% đảng viên tham gia học tập")[0]
        >>> claim_interval(c)
        (96.0, False, 97.0, False)
    """
    if claim.kind == "fraction":
        v = claim.numerator / claim.denominator * 100  # type: ignore[operator]
        return v, True, v, True
    u = 10.0 ** (-claim.decimals)
    if claim.kind == "range":
        return claim.low - u / 2, True, claim.high + u / 2, False  # type: ignore[operator]
    rule = load_qualifiers()[claim.qualifier]
    x = claim.value
    if claim.kind == "count":
        if claim.qualifier == "exact" and not against_data:
            return x, True, x, True
        u = _unit_size(x)
    lo = -math.inf if math.isinf(rule.lo_units) else x + rule.lo_units * u
    hi = math.inf if math.isinf(rule.hi_units) else x + rule.hi_units * u
    lo_c, hi_c = rule.lo_closed, rule.hi_closed
    if claim.kind in ("percent", "range"):
        if lo < 0:
            lo, lo_c = 0.0, True
        if hi > 100:
            hi, hi_c = 100.0, True
    elif lo < 0:
        lo, lo_c = 0.0, True
    return lo, lo_c, hi, hi_c


def _inside(v: float, iv: tuple[float, bool, float, bool]) -> bool:
    lo, lo_c, hi, hi_c = iv
    ok_lo = v >= lo - _EPS if lo_c else v > lo + _EPS
    ok_hi = v <= hi + _EPS if hi_c else v < hi - _EPS
    return ok_lo and ok_hi


def _meaning(claim: Claim, lang: str) -> str:
    """Human reading of what the claim allows, e.g. "96% < giá trị < 97%"."""
    pct = claim.kind in ("percent", "range")
    if claim.kind == "fraction":
        return ""
    if claim.kind == "range":
        lo, _, hi, _ = claim_interval(claim)
        d = claim.decimals + 1
        return (
            f"{_fmt(lo, d, lang, True)} ≤ giá trị < {_fmt(hi, d, lang, True)}"
            if lang == "vi"
            else f"{_fmt(lo, d, lang, True)} ≤ value < {_fmt(hi, d, lang, True)}"
        )
    rule = load_qualifiers()[claim.qualifier]
    lo, _, hi, _ = claim_interval(claim)
    d = claim.decimals + (1 if claim.qualifier in ("exact", "dat") else 0)
    if claim.kind == "count":
        if claim.qualifier in ("exact", "dat") and _unit_size(claim.value) == 1:
            return ("giá trị = " if lang == "vi" else "value = ") + _fmt(claim.value, 0, lang)
        d = 0
    tmpl = rule.meaning_vi if lang == "vi" else rule.meaning_en
    lo_s = _fmt_auto(lo, lang, pct) if pct else _fmt(lo, d, lang)
    hi_s = _fmt_auto(hi, lang, pct) if pct else _fmt(hi, d, lang)
    out = tmpl.format(x=_fmt(claim.value, claim.decimals, lang, pct), lo=lo_s, hi=hi_s)
    if pct and hi >= 100 and not math.isinf(rule.hi_units) and not rule.hi_closed:
        out = out.replace(f"< {hi_s}", f"≤ {hi_s}")
    return out


# ---------------------------------------------------------------------------------------------
# Reconciliation with the data
# ---------------------------------------------------------------------------------------------

_MSG = {
    "no_metrics": (
        "không có số liệu để đối chiếu (chưa chọn đơn vị và năm)",
        "no data to compare with (no unit and year given)",
    ),
    "no_data": (
        "số liệu không có giá trị cho chỉ tiêu này (không có mẫu số)",
        "the data have no value for this indicator (no denominator)",
    ),
    "scheme": (
        "«{phrase}» không phải mức xếp loại của thang {scheme} áp dụng năm {year}",
        '"{phrase}" is not a level of the {scheme} scheme in force in {year}',
    ),
    "ok": (
        "số liệu {computed}; «{text}» nghĩa là {meaning}",
        'data {computed}; "{text}" means {meaning}',
    ),
    "bad": (
        "số liệu {computed}, không khớp: «{text}» nghĩa là {meaning}",
        'data {computed}, does not match: "{text}" means {meaning}',
    ),
    "frac_ok": ("số liệu {cn}/{cd} ({computed})", "data {cn}/{cd} ({computed})"),
    "frac_bad": (
        "số liệu {cn}/{cd} ({computed}), không phải {text}",
        "data {cn}/{cd} ({computed}), not {text}",
    ),
}


def _msg(key: str, lang: str, **kw: Any) -> str:
    vi, en = _MSG[key]
    return (vi if lang == "vi" else en).format(**kw)


def _levels(fam: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [lv for lv in (fam.get("levels") or []) if lv.get("rating_rank") is not None]


def _rank_count(fam: Mapping[str, Any], lo: int, hi: int) -> int | None:
    lvs = [lv for lv in _levels(fam) if lo <= int(lv["rating_rank"]) <= hi]
    if not lvs or any(lv.get("count") is None for lv in lvs):
        return None
    return int(sum(int(lv["count"]) for lv in lvs))


def _pct(num: float | None, den: float | None) -> float | None:
    if num is None or not den:
        return None
    return round_half_up(num / den * 100, 2)


def _lookup(
    metrics: Mapping[str, Any],
    indicator: str,
    base: str | None,
) -> dict[str, Any] | None:
    """Computed figures for an indicator: pct, count, denominators a fraction may use."""
    if indicator.startswith("coverage."):
        e = (metrics.get("coverage") or {}).get(indicator.split(".", 1)[1])
        if not e:
            return None
        return {"pct": e.get("pct"), "count": e.get("numerator"), "dens": [e.get("denominator")]}
    if indicator == "count.units":
        return {"pct": None, "count": metrics.get("units_count"), "dens": []}
    if indicator == "count.members":
        return {"pct": None, "count": metrics.get("members_count"), "dens": []}
    fam_name, what = indicator.split(".", 1)
    fam = metrics.get(fam_name)
    if not fam:
        return None
    assessed = fam.get("assessed")
    out: dict[str, Any] = {"scheme_id": fam.get("scheme_id"), "dens": [assessed]}
    if what == "assessed":
        out.update(pct=None, count=assessed)
        return out
    if what == "exemplary":
        ex = fam.get("exemplary") or {}
        out.update(count=ex.get("count"), pct=ex.get("pct_of_assessed"))
        level1 = _rank_count(fam, 1, 1)
        out["dens"] = [assessed, level1]
        if base in (f"{fam_name}.rank1",):
            out["pct"] = ex.get("pct_of_level", _pct(ex.get("count"), level1))
            out["dens"] = [level1]
        elif base and base.startswith(fam_name + ".rank"):
            span = _rank_span(base)
            out["pct"] = _pct(ex.get("count"), _rank_count(fam, *span))  # type: ignore[misc]
        return out
    span = _rank_span(indicator)
    if span is None:
        return None
    count = _rank_count(fam, *span)
    if span[0] == span[1]:
        lv = next((x for x in _levels(fam) if int(x["rating_rank"]) == span[0]), None)
        pct = lv.get("pct") if lv else None
    else:
        lv = next((x for x in _levels(fam) if int(x["rating_rank"]) == span[1]), None)
        pct = lv.get("cumulative_pct") if lv else None
        if span[0] != 1:
            pct = _pct(count, assessed)
    if base and base.startswith(fam_name + ".rank"):
        bspan = _rank_span(base)
        bcount = _rank_count(fam, *bspan)  # type: ignore[misc]
        pct = _pct(count, bcount)
        out["dens"] = [bcount]
    out.update(count=count, pct=pct)
    return out


def reconcile(
    claims: Sequence[Claim], metrics: Mapping[str, Any] | None, lang: str = "vi"
) -> list[dict[str, Any]]:
    """Compare each claim with the computed indicator for the unit and year.

    Args:
        claims: Output of :func:`extract`.
        metrics: The dict ``hoctap metrics --format json`` prints, or ``None`` (then nothing
            is checkable against data).
        lang: Language of ``reason`` ("vi" or "en").

    Returns:
        One record per claim with the contract keys ``text``, ``indicator``, ``qualifier``,
        ``stated``, ``computed``, ``consistent`` (True/False/None) plus ``sentence``,
        ``verdict`` ("consistent" | "inconsistent" | "not_checkable"), ``reason`` and the
        claim's other fields.

    Example:
        >>> m = {"coverage": {"members": {"numerator": 531, "denominator": 551, "pct": 96.37}}}
        >>> r = reconcile(extract("trên 96% đảng viên tham gia học tập."), m)[0]
        >>> (r["stated"], r["computed"], r["verdict"])
        (96.0, 96.37, 'consistent')
    """
    out = []
    for c in claims:
        rec: dict[str, Any] = {
            "text": c.text,
            "indicator": c.indicator,
            "qualifier": c.qualifier,
            "stated": c.value,
            "computed": None,
            "consistent": None,
            "sentence": c.sentence,
            "verdict": "not_checkable",
            "reason": None,
            "kind": c.kind,
            "decimals": c.decimals,
            "subject": c.subject,
            "base": c.base,
            "parent_index": c.parent_index,
            "same_as": c.same_as,
            "start": c.start,
            "end": c.end,
            "numerator": c.numerator,
            "denominator": c.denominator,
            "low": c.low,
            "high": c.high,
            "meaning": _meaning(c, lang),
        }
        out.append(rec)
        if c.indicator == "unattributed":
            rec["reason"] = c.unattributed_reason if lang == "vi" else c.unattributed_reason_en
            continue
        if metrics is None:
            rec["reason"] = _msg("no_metrics", lang)
            continue
        data = _lookup(metrics, c.indicator, c.base if c.kind != "fraction" else None)
        scheme = (data or {}).get("scheme_id")
        if c.level_phrase and scheme and scheme not in c.level_schemes:
            rec["reason"] = _msg(
                "scheme", lang, phrase=c.level_phrase, scheme=scheme, year=metrics.get("year", "?")
            )
            continue
        if data is None:
            rec["reason"] = _msg("no_data", lang)
            continue
        if c.kind == "fraction":
            cn = data.get("count")
            dens = [d for d in data.get("dens", []) if d]
            rec["computed"] = data.get("pct")
            if cn is None or not dens:
                rec["reason"] = _msg("no_data", lang)
                continue
            cd = c.denominator if c.denominator in dens else dens[0]
            ok = int(cn) == c.numerator and c.denominator in dens
            rec["computed"] = _pct(cn, cd)
            rec["computed_numerator"], rec["computed_denominator"] = int(cn), int(cd)
            rec["consistent"] = ok
            rec["reason"] = _msg(
                "frac_ok" if ok else "frac_bad",
                lang,
                cn=int(cn),
                cd=int(cd),
                computed=_fmt_auto(rec["computed"], lang),
                text=c.text,
            )
        else:
            v = data.get("count") if c.kind == "count" else data.get("pct")
            rec["computed"] = v
            if v is None:
                rec["reason"] = _msg("no_data", lang)
                continue
            ok = _inside(float(v), claim_interval(c, against_data=True))
            rec["consistent"] = ok
            rec["reason"] = _msg(
                "ok" if ok else "bad",
                lang,
                computed=_fmt_auto(v, lang, pct=c.kind != "count"),
                text=c.text,
                meaning=rec["meaning"],
            )
        rec["verdict"] = "consistent" if rec["consistent"] else "inconsistent"
    return out


# ---------------------------------------------------------------------------------------------
# The text's own arithmetic (issue 10)
# ---------------------------------------------------------------------------------------------

_ALL_BASES = (None, "total", "assessed", "denominator")

_HINTS = {
    "ratio": ("{c}/{b} = {implied}, không phải {stated}", "{c}/{b} = {implied}, not {stated}"),
    "ratio_base_lt": (
        "; {stated} ứng với mẫu số {b2} — phải chăng có {diff} {noun} không được "
        "tính (không được đánh giá, miễn)?",
        "; {stated} fits {b2} — were {diff} {noun} left out (not assessed, exempt)?",
    ),
    "ratio_base_gt": (
        "; {stated} ứng với mẫu số {b2} — phải chăng mẫu số gồm thêm {diff} {noun}?",
        "; {stated} fits {b2} — does the base include {diff} more {noun}?",
    ),
    "ratio_num": (" (hoặc tử số {c2} thay cho {c})", " (or a numerator of {c2} instead of {c})"),
    "ratio_none": (
        "; không có mẫu số nguyên nào gần {b} cho {stated} với tử số {c}",
        "; no whole base near {b} gives {stated} with {c}",
    ),
    "part": (
        "phần «trong đó» {child} lớn hơn số chung {parent}: phải chăng {child} tính trên "
        "số của mức cha (khi đó bằng khoảng {rebased} của tổng số) chứ không phải trên tổng số?",
        'the "trong đó" part {child} exceeds its whole {parent}: is {child} a share of the '
        "parent level (then about {rebased} of all) rather than of all?",
    ),
    "part_count": (
        "phần «trong đó» {child} lớn hơn số chung {parent}",
        'the "trong đó" part {child} exceeds its whole {parent}',
    ),
    "sum100_low": (
        "các mức cộng lại {sum}, thiếu {gap} so với 100% (sai số làm tròn cho phép "
        "±{tol}) — có mức nào bị bỏ sót, hay các tỷ lệ tính trên mẫu số khác nhau?",
        "the levels add up to {sum}, {gap} short of 100% (rounding allows ±{tol}) — is "
        "a level missing, or are the shares of different bases?",
    ),
    "sum100_high": (
        "các mức cộng lại {sum}, vượt 100% {gap} (sai số làm tròn cho phép ±{tol}) — "
        "phải chăng một mức đã được tính trong mức khác (tiêu biểu trong mức 1), hay "
        "các tỷ lệ tính trên mẫu số khác nhau?",
        "the levels add up to {sum}, {gap} over 100% (rounding allows ±{tol}) — is "
        "one level counted inside another (exemplary within level 1), or are the "
        "shares of different bases?",
    ),
    "sum_total": (
        "{parts} = {sum}, không phải {total} (chênh {diff}) — có {noun} nào chưa được "
        "xếp loại, hay một số đã được tính hai lần?",
        "{parts} = {sum}, not {total} (off by {diff}) — are some {noun} not rated, or "
        "counted twice?",
    ),
    "sum_parts": (
        "{parts} = {sum}, không phải {total} (chênh {diff}) — các phần nêu ra không "
        "cộng lại thành tổng số",
        "{parts} = {sum}, not {total} (off by {diff}) — the parts do not add up to the whole",
    ),
    "sum_le": (
        "{parts} = {sum}, lớn hơn tổng số {total}",
        "{parts} = {sum}, more than the total {total}",
    ),
    "two_none": (
        "với tử số {c}, {stated} không ứng với mẫu số nguyên nào (gần nhất {near})",
        "with {c}, {stated} fits no whole base (nearest {near})",
    ),
    "two_order": (
        "{p1} (trên tổng số) và {p2} (trên {base2}) không thể cùng đúng: mẫu số của {p2} "
        "phải nhỏ hơn tổng số, nên {p2} phải lớn hơn {p1}",
        "{p1} (of all) and {p2} (of {base2}) cannot both hold: the base of {p2} is part "
        "of the total, so {p2} must exceed {p1}",
    ),
}


def _hint(key: str, lang: str, **kw: Any) -> str:
    vi, en = _HINTS[key]
    return (vi if lang == "vi" else en).format(**kw)


def _noun(subject: str | None, lang: str) -> str:
    d = _vocab().draft["hint_noun" if lang == "vi" else "hint_noun_en"]
    return d.get(subject or "", "đơn vị" if lang == "vi" else "units")


def _whole_in(lo: float, hi: float) -> list[int]:
    """Integers in [lo, hi] (small tolerance)."""
    if math.isinf(hi) or hi - lo > 1e7:
        return []
    a = math.ceil(lo - 1e-9)
    b = math.floor(hi + 1e-9)
    return list(range(max(a, 1), b + 1))


def _bases_for(c: float, iv: tuple[float, bool, float, bool]) -> list[int]:
    """Whole bases B with c/B·100 inside the interval ``iv``."""
    lo, _, hi, _ = iv
    if c <= 0 or hi <= 0:
        return []
    b_lo = c * 100 / hi if hi > 0 else math.inf
    b_hi = c * 100 / lo if lo > 0 else c * 1000
    return [b for b in _whole_in(b_lo, b_hi) if _inside(c / b * 100, iv)]


def _rel(
    claims: Sequence[Claim],
    idx: Sequence[int],
    relation: str,
    stated: float | None,
    implied: float | None,
    ok: bool,
    hint: str | None,
    detail: str,
) -> dict[str, Any]:
    cs = [claims[i] for i in idx]
    return {
        "text": " … ".join(c.text for c in cs),
        "relation": relation,
        "stated": None if stated is None else round_half_up(stated, 4),
        "implied": None if implied is None else round_half_up(implied, 4),
        "consistent": ok,
        "hint": None if ok else hint,
        "detail": detail,
        "sentence": cs[-1].sentence,
        "claims": list(idx),
    }


def _count_value(c: Claim) -> float | None:
    if c.kind == "count" and c.qualifier in ("exact", "dat"):
        return c.value
    if c.kind == "fraction":
        return float(c.numerator)  # type: ignore[arg-type]
    return None


def _family(c: Claim) -> str:
    return c.indicator.split(".")[0] if c.indicator != "unattributed" else ""


def _same_paragraph(claims: Sequence[Claim], i: int, t: int, text: str | None) -> bool:
    """Claim i (before t) stands in t's sentence or, given the text, in the same paragraph."""
    a, b = claims[i], claims[t]
    if a.sentence_start == b.sentence_start:
        return True
    return text is not None and "\n" not in text[a.start : b.start]


def _find_base_count(
    claims: Sequence[Claim], t: int, p: Claim, text: str | None = None
) -> tuple[int, float] | None:
    """The stated count a percentage of claim ``t`` is taken of, by the base the text names.

    A named level → a count of that level stated before; "được đánh giá" → the number
    assessed stated before; "tổng số" → the stated total; no base → the count the figure is
    nested under ("trong đó"), else the number assessed stated before. Never guessed further:
    coverage is a share of the eligible members, not of all members.
    """
    target = claims[t]
    fam = _family(target)
    if target.parent_index is not None and p.base in (None, "total", "assessed"):
        par = claims[target.parent_index]
        pv = _count_value(par)
        if pv is not None and par.kind == "count" and par.subject == target.subject:
            return target.parent_index, pv
    if p.base and p.base not in _ALL_BASES:
        want = {p.base}
    elif p.base == "total":
        want = {f"count.{target.subject}", f"{fam}.assessed"}
    elif fam in ("unit_ratings", "member_ratings"):
        want = {f"{fam}.assessed"}
    else:
        return None
    cands = [
        (i, c)
        for i, c in enumerate(claims[:t])
        if c.indicator in want
        and c.kind == "count"
        and c.same_as is None
        and c.qualifier in ("exact", "dat")
        and _same_paragraph(claims, i, t, text)
    ]
    if not cands:
        return None
    i, c = cands[-1]
    return i, c.value


def _ratio_relation(
    claims: Sequence[Claim],
    idx: list[int],
    c: float,
    b: float,
    p: Claim,
    lang: str,
    subject: str | None,
) -> dict[str, Any]:
    iv = claim_interval(p, against_data=False)
    v = c / b * 100
    ok = _inside(v, iv)
    implied = round_half_up(v, 2)
    hint = None
    cs, bs = _fmt(c, 0, lang), _fmt(b, 0, lang)
    if not ok:
        hint = _hint("ratio", lang, c=cs, b=bs, implied=_fmt(v, 2, lang, True), stated=p.text)
        bases = _bases_for(c, iv)
        if bases:
            b2 = min(bases, key=lambda x: (abs(x - b), x))
            key = "ratio_base_lt" if b2 < b else "ratio_base_gt"
            hint += _hint(
                key,
                lang,
                stated=p.text,
                b2=_fmt(b2, 0, lang),
                diff=_fmt(abs(b - b2), 0, lang),
                noun=_noun(subject, lang),
            )
        else:
            hint += _hint("ratio_none", lang, stated=p.text, c=cs, b=bs)
        nums = _whole_in(iv[0] * b / 100, iv[2] * b / 100)
        nums = [n for n in nums if _inside(n / b * 100, iv)]
        if nums:
            c2 = min(nums, key=lambda x: (abs(x - c), x))
            hint += _hint("ratio_num", lang, c2=_fmt(c2, 0, lang), c=cs)
    detail = f"{cs}/{bs} = {_fmt(v, 2, lang, True)}; {p.text}"
    return _rel(claims, idx, "ratio", p.value, implied, ok, hint, detail)


def _two_bases(
    claims: Sequence[Claim], t: int, p1: int, p2: int, lang: str
) -> dict[str, Any] | None:
    """One quantity stated as a share of all (p1) and of a part (p2, a level)."""
    a, b = claims[p1], claims[p2]
    iv1, iv2 = claim_interval(a, False), claim_interval(b, False)
    target = claims[t]
    c = _count_value(target) if target.kind in ("count", "fraction") else None
    base2 = b.base or ""
    if c is not None:
        b1s, b2s = _bases_for(c, iv1), _bases_for(c, iv2)
        ok = bool(b1s) and bool(b2s) and min(b2s) <= max(b1s)
        hint = None
        implied = None
        if b2s:
            implied = c / min(b2s, key=lambda x: x) * 100
        if not ok:
            bad, ivb = (b, iv2) if not b2s else (a, iv1)
            if not b1s or not b2s:
                guess = round(c * 100 / bad.value) if bad.value else 0
                near = ", ".join(
                    f"{_fmt(c, 0, lang)}/{_fmt(g, 0, lang)} = {_fmt(c / g * 100, 2, lang, True)}"
                    for g in (guess - 1, guess, guess + 1)
                    if g > 0
                )
                hint = _hint("two_none", lang, c=_fmt(c, 0, lang), stated=bad.text, near=near)
                implied = c / guess * 100 if guess > 0 else None
            else:
                hint = _hint("two_order", lang, p1=a.text, p2=b.text, base2=base2)
        cs_ = _fmt(c, 0, lang)
        detail = f"{cs_}/B₁ = {a.text}, {cs_}/B₂ = {b.text}, B₂ ≤ B₁" + (
            f" (B₁ = {_fmt(max(b1s), 0, lang)}, B₂ = {_fmt(min(b2s), 0, lang)})" if ok else ""
        )
        return _rel(
            claims,
            [t, p1, p2] if t not in (p1, p2) else [p1, p2],
            "two_bases",
            b.value,
            implied,
            ok,
            hint,
            detail,
        )
    # no count: is there any whole count with both bases whole and base2 ≤ base1?
    found = None
    for n in range(1, 20001):
        b1s, b2s = _bases_for(n, iv1), _bases_for(n, iv2)
        if b1s and b2s and min(b2s) <= max(b1s):
            found = (n, max(b1s), min(b2s))
            break
    ok = found is not None
    if found:
        b1s = _bases_for(found[0], iv1)
        found = (
            found[0],
            min(b1s, key=lambda x: abs(x - found[0] * 100 / a.value) if a.value else x),
            found[2],
        )
    implied = found[0] / found[2] * 100 if found else None
    detail = (
        f"{found[0]}/{found[1]} = {_fmt(found[0] / found[1] * 100, 2, lang, True)}, "
        f"{found[0]}/{found[2]} = {_fmt(found[0] / found[2] * 100, 2, lang, True)}"
        if found
        else f"{a.text} / {b.text}"
    )
    hint = None if ok else _hint("two_order", lang, p1=a.text, p2=b.text, base2=base2)
    return _rel(claims, [p1, p2], "two_bases", b.value, implied, ok, hint, detail)


def _level_set(ind: str) -> frozenset[int] | None:
    span = _rank_span(ind)
    if span is None or ind.endswith(".exemplary"):
        return None
    return frozenset(range(span[0], span[1] + 1))


def _sum_relations(
    claims: Sequence[Claim],
    lang: str,
    text: str | None = None,
) -> list[dict[str, Any]]:
    """Levels of one classification adding up (to 100% or to the total), parts to their whole."""
    rels: list[dict[str, Any]] = []
    groups: dict[tuple, list[list[int]]] = {}
    for i, c in enumerate(claims):
        if c.same_as is not None or c.indicator == "unattributed":
            continue
        fam = _family(c)
        if fam not in ("unit_ratings", "member_ratings"):
            continue
        is_ex = c.indicator.endswith(".exemplary")
        ls = _level_set(c.indicator)
        if ls is None and not is_ex:
            continue
        if c.base not in _ALL_BASES:
            continue
        kind = "pct" if c.kind == "percent" else ("count" if _count_value(c) is not None else None)
        if kind is None:
            continue
        key = (c.sentence_start, c.parent_index, fam, kind)
        lists = groups.setdefault(key, [[]])
        cur = lists[-1]
        taken: set[int] = set()
        has_ex = False
        for j in cur:
            s = _level_set(claims[j].indicator)
            if s:
                taken |= s
            else:
                has_ex = True
        if (ls and ls & taken) or (is_ex and has_ex):
            lists.append([])
            cur = lists[-1]
        cur.append(i)
    for (_, parent, fam, kind), lists in groups.items():
        for g in lists:
            levels = [j for j in g if _level_set(claims[j].indicator)]
            exs = [j for j in g if claims[j].indicator.endswith(".exemplary")]
            if not levels:
                continue
            covered: set[int] = set()
            for j in levels:
                covered |= _level_set(claims[j].indicator)  # type: ignore[arg-type]
            complete = covered == {1, 2, 3, 4}
            variants = [levels] + ([levels + exs] if exs else [])
            if kind == "pct":
                if len(g) < 2:
                    continue
                rels.append(_pct_sum(claims, g, variants, complete, lang))
            else:
                total = None
                par = claims[parent] if parent is not None else None
                partition = any(claims[j].partition for j in g)
                if par is not None and _count_value(par) is not None and par.kind == "count":
                    total = (parent, _count_value(par))
                else:
                    dens = {claims[j].denominator for j in g if claims[j].kind == "fraction"}
                    cands = [
                        k
                        for k, c in enumerate(claims)
                        if c.indicator == f"{fam}.assessed"
                        and c.kind == "count"
                        and k < g[0]
                        and c.same_as is None
                        and _same_paragraph(claims, k, g[0], text)
                    ]
                    if cands:
                        total = (cands[-1], claims[cands[-1]].value)
                    elif len(dens) == 1 and all(claims[j].kind == "fraction" for j in g):
                        total = (None, float(dens.pop()))  # type: ignore[arg-type]
                if total is None or (len(g) < 2 and not complete):
                    continue
                rels.append(_count_sum(claims, g, variants, complete or partition, total, lang))
    # non-rating partitions ("550 đảng viên, gồm 300 nam và 250 nữ")
    kids: dict[int, list[int]] = {}
    for i, c in enumerate(claims):
        if c.parent_index is not None and c.partition and c.same_as is None and c.kind == "count":
            kids.setdefault(c.parent_index, []).append(i)
    for p, ks in kids.items():
        par = claims[p]
        if any(_family(claims[k]) in ("unit_ratings", "member_ratings") for k in ks):
            continue
        pv = _count_value(par)
        if pv is None or len(ks) < 2:
            continue
        rels.append(_count_sum(claims, ks, [ks], True, (p, pv), lang))
    return rels


def _pct_sum(
    claims: Sequence[Claim], g: list[int], variants: list[list[int]], complete: bool, lang: str
) -> dict[str, Any]:
    best = None
    for var in variants:
        ivs = [claim_interval(claims[j], False) for j in var]
        lo = sum(x[0] for x in ivs)
        hi = sum(min(x[2], 100.0) for x in ivs)
        total = sum(claims[j].value for j in var)
        ok = (lo - _EPS <= 100 <= hi + _EPS) if complete else lo <= 100 + _EPS
        if best is None or ok:
            best = (ok, var, lo, hi, total)
        if ok:
            break
    ok, var, lo, hi, total = best  # type: ignore[misc]
    tol = max(total - lo, hi - total)
    hint = None
    if not ok:
        key = "sum100_low" if complete and hi < 100 else "sum100_high"
        hint = _hint(
            key,
            lang,
            sum=_fmt_auto(total, lang),
            gap=_fmt_auto(abs(100 - total), lang),
            tol=_fmt_auto(round_half_up(tol, 3), lang),
        )
    rel = "levels_sum_100" if complete else "levels_sum_le_100"
    detail = " + ".join(claims[j].text for j in var) + f" = {_fmt_auto(total, lang)}"
    return _rel(claims, var, rel, total, 100.0, ok, hint, detail)


def _count_sum(
    claims: Sequence[Claim],
    g: list[int],
    variants: list[list[int]],
    equal: bool,
    total: tuple[int | None, float],
    lang: str,
) -> dict[str, Any]:
    t_idx, t_val = total
    options = []
    for var in variants:
        s = sum(_count_value(claims[j]) or 0 for j in var)
        ok = abs(s - t_val) < _EPS if equal else s <= t_val + _EPS
        options.append((not ok, abs(s - t_val), len(options), ok, var, s))
    _, _, _, ok, var, s = min(options)
    parts = " + ".join(_fmt(_count_value(claims[j]), 0, lang) for j in var)
    subject = claims[var[0]].subject if var else None
    hint = None
    if not ok:
        rated = any(_family(claims[j]) in ("unit_ratings", "member_ratings") for j in var)
        hint = (
            _hint(
                "sum_total" if rated else "sum_parts",
                lang,
                parts=parts,
                sum=_fmt(s, 0, lang),
                total=_fmt(t_val, 0, lang),
                diff=_fmt(abs(s - t_val), 0, lang),
                noun=_noun(subject, lang),
            )
            if equal
            else _hint(
                "sum_le", lang, parts=parts, sum=_fmt(s, 0, lang), total=_fmt(t_val, 0, lang)
            )
        )
    rel = (
        (
            "parts_sum_total"
            if t_idx is not None and claims[var[0]].parent_index == t_idx
            else "levels_sum_total"
        )
        if equal
        else "parts_le_total"
    )
    idx = ([t_idx] if t_idx is not None else []) + list(var)
    detail = f"{parts} = {_fmt(s, 0, lang)}; {_fmt(t_val, 0, lang)}"
    return _rel(claims, idx, rel, t_val, s, ok, hint, detail)


def check_arithmetic(
    claims: Sequence[Claim], text: str | None = None, lang: str = "vi"
) -> list[dict[str, Any]]:
    """Check the relations a text implies between its own figures, at their stated precision.

    Relations: ``ratio`` (a count or fraction and the percentage stated for it: count ÷ base =
    %), ``two_bases`` (one quantity as a share of all and of a level), ``part_le_parent`` ("trong
    đó" never exceeds its parent), ``levels_sum_100`` / ``levels_sum_le_100`` (the levels of one
    classification add up to 100%, within the summed rounding error, or stay under it when
    some levels are missing), ``levels_sum_total`` / ``parts_sum_total`` / ``parts_le_total``
    (stated counts add up to the stated total).

    Args:
        claims: Output of :func:`extract` for ``text``.
        text: The text the claims come from; with it, a base count may be taken from an
            earlier sentence of the same paragraph (without it, only from the same sentence).
        lang: Language of hints.

    Returns:
        One record per relation: ``text``, ``relation``, ``stated``, ``implied``,
        ``consistent``, ``hint`` (what base or value would make a failing relation hold), plus
        ``detail``, ``sentence`` and ``claims`` (indices).

    Example:
        >>> t = "Có 439/709 tổ chức cơ sở đảng đạt trong sạch vững mạnh (62,62%)."
        >>> r = check_arithmetic(extract(t))[0]
        >>> (r["relation"], r["implied"], r["consistent"])
        ('ratio', 61.92, False)
        >>> "701" in r["hint"]
        True
    """
    rels: list[dict[str, Any]] = []
    # ratio and two bases, per quantity stated in several forms
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(claims):
        if c.same_as is not None:
            groups.setdefault(_resolve(list(claims), i), []).append(i)
    for t, members in groups.items():
        target = claims[t]
        pcts = [j for j in members if claims[j].kind == "percent"]
        if target.kind == "percent":
            for j in members:
                if claims[j].kind == "fraction":
                    f = claims[j]
                    rels.append(
                        _ratio_relation(
                            claims,
                            [j, t],
                            f.numerator,
                            f.denominator,  # type: ignore[arg-type]
                            target,
                            lang,
                            target.subject,
                        )
                    )
            pcts = [t] + pcts
        elif target.kind == "fraction":
            for j in pcts:
                p = claims[j]
                if p.base in _ALL_BASES:
                    rels.append(
                        _ratio_relation(
                            claims,
                            [t, j],
                            target.numerator,
                            target.denominator,  # type: ignore[arg-type]
                            p,
                            lang,
                            target.subject,
                        )
                    )
        elif target.kind == "count" and _count_value(target) is not None:
            for j in pcts:
                p = claims[j]
                found = _find_base_count(claims, t, p, text)
                if found is not None:
                    rels.append(
                        _ratio_relation(
                            claims,
                            sorted({found[0], t, j}),
                            target.value,
                            found[1],
                            p,
                            lang,
                            target.subject,
                        )
                    )
        alls = [j for j in pcts if claims[j].base in _ALL_BASES]
        parts = [j for j in pcts if claims[j].base not in _ALL_BASES]
        for a in alls[:1]:
            for b in parts:
                rel = _two_bases(claims, t, a, b, lang)
                if rel is not None:
                    rels.append(rel)
    # "trong đó" never exceeds its parent
    for i, c in enumerate(claims):
        if c.parent_index is None or c.same_as is not None:
            continue
        p = claims[c.parent_index]
        if c.subject != p.subject or c.subject in (None, "other"):
            continue
        if _family(c) and _family(p) and _family(c) != _family(p):
            continue
        pct_like = ("percent", "fraction", "range")
        if (
            c.kind in pct_like
            and p.kind in pct_like
            and c.base in _ALL_BASES
            and p.base in _ALL_BASES
        ):
            civ, piv = claim_interval(c, False), claim_interval(p, False)
            ok = civ[0] <= piv[2] + _EPS
            hint = _hint(
                "part",
                lang,
                child=c.text,
                parent=p.text,
                rebased=_fmt(c.value * p.value / 100, 1, lang, True),
            )
            rels.append(
                _rel(
                    claims,
                    [c.parent_index, i],
                    "part_le_parent",
                    c.value,
                    p.value,
                    ok,
                    hint,
                    f"{c.text} ≤ {p.text}",
                )
            )
        elif (
            _count_value(c) is not None
            and _count_value(p) is not None
            and c.kind == "count"
            and sum(
                1
                for k in claims
                if k.parent_index == c.parent_index and k.same_as is None and k.kind == "count"
            )
            == 1
        ):
            ok = _count_value(c) <= _count_value(p) + _EPS  # type: ignore[operator]
            hint = _hint("part_count", lang, child=c.text, parent=p.text)
            rels.append(
                _rel(
                    claims,
                    [c.parent_index, i],
                    "part_le_parent",
                    _count_value(c),
                    _count_value(p),
                    ok,
                    hint,
                    f"{c.text} ≤ {p.text}",
                )
            )
    rels.extend(_sum_relations(claims, lang, text))
    return rels


# ---------------------------------------------------------------------------------------------
# Drafting the sentence a report should say
# ---------------------------------------------------------------------------------------------


def _draft_pct(v: float, lang: str) -> str:
    """A share written the way reports write it, and true at its stated precision.

    One decimal ("96,4%"), none when it is a whole number ("100%"); two decimals when one would
    round a share below 100 up to "100%" or a share above 0 down to "0%".
    """
    r = round_half_up(v, 1)
    if (r >= 100 and v < 100) or (r <= 0 < v):
        return _fmt(v, 2, lang, True)
    if abs(r - round(r)) < _EPS:
        return _fmt(r, 0, lang, True)
    return _fmt(r, 1, lang, True)


def _lower_first(label: str) -> str:
    return label[:1].lower() + label[1:] if label else label


def _label_for(level: Mapping[str, Any], subject: str, scheme: str | None) -> str:
    """The level's own label from the metrics, lower-cased, if the extractor reads it back as
    that level; otherwise the vocabulary's phrase for the rank in that scheme."""
    rank = int(level["rating_rank"])
    label = _lower_first(str(level.get("label") or "")).strip()
    v = _vocab()
    hits = v.levels.finditer(_fold_aligned(label)) if label else []
    if (
        hits
        and all(h[2].rank == rank for h in hits)
        and (scheme is None or scheme in getattr(hits[0][2], subject))
    ):
        return label
    for info in v.levels.values.values():
        if info.rank == rank and (scheme is None or scheme in getattr(info, subject)):
            return info.phrase
    return label


def draft_paragraph(metrics: Mapping[str, Any], lang: str = "vi") -> str:
    """Write the sentence(s) a report should say for the unit-year, in the register of reports.

    Level labels are those of the scheme in the metrics (their ``label`` fields). Figures with
    no data (``pct`` null, nobody assessed) are left out. In Vietnamese the paragraph passes its
    own check: every figure :func:`extract` finds in it is consistent with ``metrics`` and its
    arithmetic holds.

    Args:
        metrics: The dict ``hoctap metrics --format json`` prints.
        lang: "vi" (checked) or "en" (a translation for English dashboards).

    Returns:
        The paragraph, or "" when the metrics hold no figure.

    Example:
        >>> m = {"year": 2014, "coverage": {"units": {"numerator": 31, "denominator": 31,
        ...      "pct": 100.0}, "members": {"numerator": 513, "denominator": 532, "pct": 96.43}}}
        >>> draft_paragraph(m)
        'Năm 2014, 100% chi bộ và 96,4% đảng viên tham gia học tập các chỉ thị, nghị quyết.'
    """
    v = _vocab()
    ur = metrics.get("unit_ratings") or {}
    mr = metrics.get("member_ratings") or {}
    rated = ur.get("rated_level") or "default"
    nouns = v.draft["units_noun" if lang == "vi" else "units_noun_en"]
    unoun = nouns.get(rated, nouns["default"])
    clauses: list[str] = []
    cov = metrics.get("coverage") or {}
    items = []
    for key, vi, en in (
        ("units", unoun, unoun),
        ("members", "đảng viên", "of members"),
        ("public", "quần chúng nhân dân", "of the public"),
    ):
        pct = (cov.get(key) or {}).get("pct")
        if pct is None:
            continue
        noun = vi if lang == "vi" else (f"of {unoun}" if key == "units" else en)
        items.append(f"{_draft_pct(float(pct), lang)} {noun}")
    if items:
        joined = (
            items[0]
            if len(items) == 1
            else ", ".join(items[:-1]) + (" và " if lang == "vi" else " and ") + items[-1]
        )
        clauses.append(
            joined
            + (
                " tham gia học tập các chỉ thị, nghị quyết"
                if lang == "vi"
                else " took part in studying the directives and resolutions"
            )
        )
    # party organisations
    assessed = ur.get("assessed") or 0
    levels = sorted(_levels(ur), key=lambda lv: int(lv["rating_rank"]))
    if assessed and levels and all(lv.get("count") is not None for lv in levels):
        scheme = ur.get("scheme_id")
        shown = [lv for lv in levels if int(lv["count"]) > 0]
        parts = []
        for k, lv in enumerate(shown):
            label = _label_for(lv, "units", scheme)
            n = int(lv["count"])
            if k == 0:
                extra = (
                    ("được đánh giá " if lang == "vi" else "assessed ")
                    if ur.get("not_assessed")
                    else ""
                )
                if lang == "vi":
                    part = (
                        f"{_fmt(n, 0, lang)}/{_fmt(assessed, 0, lang)} {unoun} {extra}đạt {label}"
                    )
                else:
                    frac = f"{_fmt(n, 0, lang)}/{_fmt(assessed, 0, lang)}"
                    part = f'{frac} {unoun} {extra}were rated "{label}"'
                ex = (ur.get("exemplary") or {}).get("count")
                if int(lv["rating_rank"]) == 1 and ex:
                    part += (
                        f" (trong đó {_fmt(ex, 0, lang)} {unoun} tiêu biểu)"
                        if lang == "vi"
                        else f" ({_fmt(ex, 0, lang)} of them exemplary)"
                    )
            else:
                part = (
                    f"{_fmt(n, 0, lang)} {unoun} {label}"
                    if lang == "vi"
                    else f'{_fmt(n, 0, lang)} "{label}"'
                )
            parts.append(part)
        if parts:
            clauses.append(", ".join(parts))
    # members
    m_assessed = mr.get("assessed") or 0
    mlevels = sorted(_levels(mr), key=lambda lv: int(lv["rating_rank"]))
    by_rank = {int(lv["rating_rank"]): lv for lv in mlevels}
    if m_assessed and 1 in by_rank and 2 in by_rank:
        scheme = mr.get("scheme_id")
        parts = []
        cum2 = by_rank[2].get("cumulative_pct")
        p1 = by_rank[1].get("pct")
        if cum2:
            l2 = _label_for(by_rank[2], "members", scheme)
            part = (
                f"{_draft_pct(cum2, lang)} đảng viên {l2} trở lên"
                if lang == "vi"
                else f'{_draft_pct(cum2, lang)} of members were rated "{l2}" or better'
            )
            if p1:
                l1 = _label_for(by_rank[1], "members", scheme)
                part += (
                    f", trong đó {_draft_pct(p1, lang)} {l1}"
                    if lang == "vi"
                    else f', including {_draft_pct(p1, lang)} "{l1}"'
                )
            parts.append(part)
        for r in (3, 4):
            lv = by_rank.get(r)
            if lv and lv.get("count") and lv.get("pct") is not None:
                lab = _label_for(lv, "members", scheme)
                parts.append(
                    f"{_draft_pct(lv['pct'], lang)} đảng viên {lab}"
                    if lang == "vi"
                    else f'{_draft_pct(lv["pct"], lang)} "{lab}"'
                )
        if parts:
            clauses.append(", ".join(parts))
    if not clauses:
        return ""
    year = metrics.get("year")
    lead = (f"Năm {year}, " if lang == "vi" else f"In {year}, ") if year is not None else ""
    body = "; ".join(clauses)
    if not lead:
        body = body[:1].upper() + body[1:]
    return lead + body + "."


# ---------------------------------------------------------------------------------------------
# Reading texts
# ---------------------------------------------------------------------------------------------


def _decode_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1258 (decomposed, so NFC afterwards)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1258", errors="strict")


def _repair_lines(text: str) -> tuple[str, str | None]:
    """Repair a whole plain text typed in a legacy font (judged on all its lines together)."""
    lines = text.split("\n")
    enc = detect_legacy_encoding(lines)
    if enc is None:
        return text, None
    return "\n".join(decode_legacy(ln, enc) for ln in lines), enc


def _docx_blocks(doc: Any) -> list[list[tuple[str, str | None]]]:
    """Paragraphs (and table rows) of a document in order, each as its runs (text, font)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    def para_runs(p: Any) -> list[tuple[str, str | None]]:
        style_font = None
        try:
            style_font = p.style.font.name if p.style is not None else None
        except (AttributeError, KeyError):  # pragma: no cover - odd styles
            style_font = None
        runs = [(r.text, r.font.name or style_font) for r in p.runs if r.text]
        if not runs and p.text:
            runs = [(p.text, style_font)]
        return runs

    blocks: list[list[tuple[str, str | None]]] = []
    body = doc.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            blocks.append(para_runs(Paragraph(child, doc)))
        elif tag == "tbl":
            table = Table(child, doc)
            for row in table.rows:
                cells: list[tuple[str, str | None]] = []
                seen: set[int] = set()
                for cell in row.cells:
                    if id(cell._tc) in seen:
                        continue
                    seen.add(id(cell._tc))
                    if cells:
                        cells.append((" | ", None))
                    for k, p in enumerate(cell.paragraphs):
                        if k:
                            cells.append((" ", None))
                        cells.extend(para_runs(p))
                blocks.append(cells)
    return blocks


def _read_docx(path: Path) -> str:
    import docx  # python-docx

    try:
        doc = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several kinds (zip, xml, key errors)
        raise ClaimsInputError(
            f"Không đọc được tệp Word {path}: {exc}", f"Cannot read the Word file {path}: {exc}"
        ) from exc
    blocks = _docx_blocks(doc)
    runs = [r for b in blocks for r in b]
    # repair legacy-font runs font by font (a document may mix Unicode and legacy fonts)
    by_font: dict[str | None, list[int]] = {}
    for k, (t, font) in enumerate(runs):
        if t.strip(" |"):
            by_font.setdefault(font.strip() if font else None, []).append(k)
    fixed = [t for t, _ in runs]
    for font, ks in by_font.items():
        texts, _enc = repair_column([runs[k][0] for k in ks], [font] * len(ks))
        for k, t in zip(ks, texts, strict=True):
            fixed[k] = t if t is not None else ""
    out, k = [], 0
    for b in blocks:
        out.append("".join(fixed[k : k + len(b)]))
        k += len(b)
    return "\n".join(out)


def read_text(path: Path) -> str:
    """Read a report text as NFC Unicode.

    ``.txt`` and ``.md`` are read as UTF-8 (a BOM is dropped), falling back to Windows-1258;
    text typed in a legacy font (TCVN3, VNI, VISCII) is repaired when the whole text reads as
    such. ``.docx`` is read with python-docx: paragraphs and tables in document order (table
    cells separated by " | "), runs in a legacy font (``.VnTime``, ``VNI-Times``…) repaired as
    intake does.

    Raises:
        ClaimsInputError: missing file, unsupported format or undecodable bytes (the message
            names the file).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "bc.txt"
        >>> _ = p.write_bytes("\\ufeffTrên 96% đảng viên".encode("utf-8"))
        >>> read_text(p)
        'Trên 96% đảng viên'
    """
    path = Path(path)
    if not path.is_file():
        raise ClaimsInputError(
            f"Không tìm thấy tệp văn bản: {path}", f"Text file not found: {path}"
        )
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return nfc(_read_docx(path))
    if suffix not in (".txt", ".md"):
        raise ClaimsInputError(
            f"Không đọc được {path}: chỉ hỗ trợ tệp .txt, .md và .docx"
            + (" (hãy lưu tệp .doc thành .docx)" if suffix == ".doc" else ""),
            f"Cannot read {path}: only .txt, .md and .docx files are supported"
            + (" (save the .doc file as .docx)" if suffix == ".doc" else ""),
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ClaimsInputError(
            f"Không đọc được tệp {path}: {exc}", f"Cannot read {path}: {exc}"
        ) from exc
    try:
        text = _decode_bytes(raw)
    except UnicodeDecodeError as exc:
        raise ClaimsInputError(
            f"Không giải mã được tệp {path} (không phải UTF-8 hay Windows-1258)",
            f"Cannot decode {path} (neither UTF-8 nor Windows-1258)",
        ) from exc
    text = nfc(text.replace("\r\n", "\n").replace("\r", "\n"))
    text, _ = _repair_lines(text)
    return nfc(text)


# ---------------------------------------------------------------------------------------------
# Command-line helpers (the CLI wires these)
# ---------------------------------------------------------------------------------------------

_TXT = {
    "vi": {
        "file": "Văn bản: {path}",
        "against": "Đối chiếu với số liệu: {unit} ({uid}), năm {year}",
        "self_only": "Không có số liệu đối chiếu: chỉ kiểm tra các số trong văn bản với nhau.",
        "bad": "KHÔNG KHỚP VỚI SỐ LIỆU ({n}):",
        "bad_rel": "SỐ HỌC TRONG VĂN BẢN KHÔNG KHỚP ({n}):",
        "ok": "Khớp với số liệu ({n}):",
        "ok_rel": "Số học đúng ({n}):",
        "nc": "Không kiểm tra được ({n}):",
        "un": "Chưa xác định được chỉ tiêu ({n}):",
        "sentence": "Câu",
        "hint": "Gợi ý",
        "verdict_bad": "Kết luận: KHÔNG ĐẠT — {a} số liệu không khớp, {b} quan hệ số học sai.",
        "verdict_ok": "Kết luận: ĐẠT — không có số liệu nào mâu thuẫn.",
        "none": "Không tìm thấy số liệu nào trong văn bản.",
        "batch_line": "{file}: {claims} số liệu, {bad} không khớp, {bad_rel} quan hệ sai, "
        "{un} chưa xác định — {verdict}",
        "batch_err": "{file}: LỖI — {error}",
        "pass": "ĐẠT",
        "fail": "KHÔNG ĐẠT",
        "batch_total": "Tổng cộng: {n} tệp, {fail} không đạt, {err} lỗi.",
    },
    "en": {
        "file": "Text: {path}",
        "against": "Checked against the data of: {unit} ({uid}), year {year}",
        "self_only": "No data given: the text's figures are checked against each other only.",
        "bad": "INCONSISTENT WITH THE DATA ({n}):",
        "bad_rel": "ARITHMETIC IN THE TEXT DOES NOT HOLD ({n}):",
        "ok": "Consistent with the data ({n}):",
        "ok_rel": "Arithmetic holds ({n}):",
        "nc": "Not checkable ({n}):",
        "un": "Not attributed to an indicator ({n}):",
        "sentence": "Sentence",
        "hint": "Hint",
        "verdict_bad": "Verdict: FAIL — {a} inconsistent figures, {b} failing relations.",
        "verdict_ok": "Verdict: PASS — no figure contradicts the data or the text.",
        "none": "No figures found in the text.",
        "batch_line": "{file}: {claims} figures, {bad} inconsistent, {bad_rel} failing relations, "
        "{un} unattributed — {verdict}",
        "batch_err": "{file}: ERROR — {error}",
        "pass": "PASS",
        "fail": "FAIL",
        "batch_total": "Total: {n} files, {fail} failing, {err} errors.",
    },
}


def _check_text(
    text: str,
    metrics: Mapping[str, Any] | None,
    lang: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    claims = extract(text)
    return reconcile(claims, metrics, lang), check_arithmetic(claims, text, lang)


def _render_text(
    path: Path,
    metrics: Mapping[str, Any] | None,
    recs: list[dict[str, Any]],
    rels: list[dict[str, Any]],
    lang: str,
) -> str:
    t = _TXT[lang]
    lines = [t["file"].format(path=path)]
    if metrics is not None:
        lines.append(
            t["against"].format(
                unit=metrics.get("unit_name", "?"),
                uid=metrics.get("unit_id", "?"),
                year=metrics.get("year", "?"),
            )
        )
    else:
        lines.append(t["self_only"])
    if not recs:
        lines.append(t["none"])
    bad = [r for r in recs if r["verdict"] == "inconsistent"]
    bad_rel = [r for r in rels if not r["consistent"]]
    ok = [r for r in recs if r["verdict"] == "consistent"]
    ok_rel = [r for r in rels if r["consistent"]]
    nc = [r for r in recs if r["verdict"] == "not_checkable" and r["indicator"] != "unattributed"]
    un = [r for r in recs if r["indicator"] == "unattributed"]
    if bad:
        lines.append(t["bad"].format(n=len(bad)))
        for r in bad:
            lines.append(f"  ✗ «{r['text']}» → {r['indicator']}: {r['reason']}")
            lines.append(f"    {t['sentence']}: «{r['sentence']}»")
    if bad_rel:
        lines.append(t["bad_rel"].format(n=len(bad_rel)))
        for r in bad_rel:
            lines.append(f"  ✗ [{r['relation']}] {r['detail']}")
            lines.append(f"    {t['hint']}: {r['hint']}")
            lines.append(f"    {t['sentence']}: «{r['sentence']}»")
    if ok:
        lines.append(t["ok"].format(n=len(ok)))
        lines.extend(f"  ✓ «{r['text']}» → {r['indicator']}: {r['reason']}" for r in ok)
    if ok_rel:
        lines.append(t["ok_rel"].format(n=len(ok_rel)))
        lines.extend(f"  ✓ [{r['relation']}] {r['detail']}" for r in ok_rel)
    if nc:
        lines.append(t["nc"].format(n=len(nc)))
        lines.extend(f"  – «{r['text']}» → {r['indicator']}: {r['reason']}" for r in nc)
    if un:
        lines.append(t["un"].format(n=len(un)))
        for r in un:
            lines.append(f"  ? «{r['text']}»: {r['reason']}")
            lines.append(f"    {t['sentence']}: «{r['sentence']}»")
    lines.append(
        t["verdict_bad"].format(a=len(bad), b=len(bad_rel)) if bad or bad_rel else t["verdict_ok"]
    )
    return "\n".join(lines) + "\n"


def _summary(recs: list[dict[str, Any]], rels: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "claims": len(recs),
        "consistent": sum(r["verdict"] == "consistent" for r in recs),
        "inconsistent": sum(r["verdict"] == "inconsistent" for r in recs),
        "not_checkable": sum(
            r["verdict"] == "not_checkable" and r["indicator"] != "unattributed" for r in recs
        ),
        "unattributed": sum(r["indicator"] == "unattributed" for r in recs),
        "relations": len(rels),
        "relations_failed": sum(not r["consistent"] for r in rels),
    }


def run_claims(
    path_or_dir: Path, metrics: Mapping[str, Any] | None, fmt: str = "text", lang: str = "vi"
) -> tuple[int, str]:
    """Check one text (or, for a folder, every text in it) and render the result.

    Args:
        path_or_dir: A .txt/.md/.docx file, or a folder of them (batch mode, see
            :func:`run_claims_batch`).
        metrics: The unit-year metrics dict to check against, or ``None`` (the text is then
            checked against itself only). In batch mode it may also map file names to metrics.
        fmt: "text" (failing items first, each with its sentence) or "json"
            (``{"claims": [...], "arithmetic": [...], "summary": {...}}``).
        lang: "vi" or "en".

    Returns:
        ``(exit_code, output)``: 0 when nothing is inconsistent, 1 when any claim contradicts
        the data or any relation in the text fails.

    Raises:
        ClaimsInputError: the file cannot be read (the CLI turns it into exit code 2).
    """
    path = Path(path_or_dir)
    if path.is_dir():
        return run_claims_batch(path, metrics, None, fmt=fmt, lang=lang)
    text = read_text(path)
    recs, rels = _check_text(text, metrics, lang)
    summary = _summary(recs, rels)
    code = 1 if summary["inconsistent"] or summary["relations_failed"] else 0
    if fmt == "json":
        return code, json.dumps(
            {"file": str(path), "claims": recs, "arithmetic": rels, "summary": summary},
            ensure_ascii=False,
            indent=2,
        ) + "\n"
    return code, _render_text(path, metrics, recs, rels, lang)


_CSV_COLUMNS = [
    "file",
    "claims",
    "consistent",
    "inconsistent",
    "not_checkable",
    "unattributed",
    "relations",
    "relations_failed",
    "verdict",
    "error",
]


def run_claims_batch(
    directory: Path,
    metrics: Mapping[str, Any] | None = None,
    out_csv: Path | None = None,
    fmt: str = "text",
    lang: str = "vi",
) -> tuple[int, str]:
    """Check every .txt/.md/.docx file of a folder (not recursive, sorted by name).

    Args:
        directory: The folder.
        metrics: ``None`` (self-checks only), one metrics dict for every file, or a mapping
            from file name to metrics dict (files missing from it are checked against
            themselves only).
        out_csv: Where to write the CSV summary (optional).
        fmt: "text" (one line per file and a total) or "json" (``{"files": [...]}``).
        lang: "vi" or "en".

    Returns:
        ``(exit_code, output)``: 1 when any file fails or cannot be read, 2 when the folder
        holds no text file, else 0. The text output is one line per file and a total line,
        followed by the CSV summary (columns ``file, claims, consistent, inconsistent,
        not_checkable, unattributed, relations, relations_failed, verdict, error``) unless
        ``out_csv`` is given, in which case the CSV is written there instead.
    """
    directory = Path(directory)
    files = sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES and not p.name.startswith("~$")
    )
    t = _TXT[lang]
    single = metrics is not None and ("coverage" in metrics or "unit_id" in metrics)
    rows: list[dict[str, Any]] = []
    lines: list[str] = []
    for p in files:
        m = metrics if single else (metrics or {}).get(p.name)  # type: ignore[union-attr]
        row: dict[str, Any] = {"file": p.name}
        try:
            recs, rels = _check_text(read_text(p), m, lang)
        except ClaimsInputError as exc:
            row.update({k: "" for k in _CSV_COLUMNS if k not in ("file",)})
            row["verdict"], row["error"] = (
                "error",
                exc.message_vi if lang == "vi" else exc.message_en,
            )
            lines.append(t["batch_err"].format(file=p.name, error=row["error"]))
            rows.append(row)
            continue
        s = _summary(recs, rels)
        failed = s["inconsistent"] or s["relations_failed"]
        row.update(s)
        row["verdict"], row["error"] = ("fail" if failed else "pass"), ""
        rows.append(row)
        lines.append(
            t["batch_line"].format(
                file=p.name,
                claims=s["claims"],
                bad=s["inconsistent"],
                bad_rel=s["relations_failed"],
                un=s["unattributed"],
                verdict=t["fail"] if failed else t["pass"],
            )
        )
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    csv_text = buf.getvalue()
    if out_csv is not None:
        Path(out_csv).write_text(csv_text, encoding="utf-8")
    n_fail = sum(r["verdict"] == "fail" for r in rows)
    n_err = sum(r["verdict"] == "error" for r in rows)
    code = 2 if not files else (1 if n_fail or n_err else 0)
    if fmt == "json":
        out = json.dumps({"files": rows}, ensure_ascii=False, indent=2) + "\n"
    else:
        lines.append(t["batch_total"].format(n=len(files), fail=n_fail, err=n_err))
        out = "\n".join(lines) + "\n"
        out += f"\nCSV: {out_csv}\n" if out_csv is not None else "\n" + csv_text
    return code, out
