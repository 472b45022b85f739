"""Timeline forms (``tests/formgen/timeline.py``): time, schemes and flat files must never be misread silently.

A fifth generator, aimed at what the others hold still: a "Năm" column mixing years across a scheme
change, one workbook or one sheet per year, labels valid only in another year's scheme ("Trong sạch,
vững mạnh" as a grade in 2018, "Đủ tư cách, hoàn thành xuất sắc" in 2019, "tiêu biểu" as commendation
or grade), a folder year against a title year, "năm học 2016 - 2017", qd366 ratings and study per
quarter, qd366 scores against their level, the 2025 merger of two communes (forms still naming them),
units not active in the year, member registers and attendance lists (CSV/Parquet) with odd columns,
duplicated or foreign member ids, text flags and labels of the wrong scheme, and campaigns sharing a
document code or belonging to another year. Each form is ingested in its own raw folder and judged by
``formgen.verdicts.judge`` (exact / reported / silent / unread / crash, the rules of ``test_formgen``).

One test per form (``KNOWN_SILENT`` marks known misreads xfail one by one); the last form to finish
writes ``timeline-summary.txt`` in ``$TMPDIR/hoctap-formgen-timeline/<session>/`` (printed; run with
``-s``). Run as ``pytest -n 2 tests/test_formgen_timeline.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from formgen.timeline import TimelineForm, build_forms, write_raw
from formgen.verdicts import Outcome, failure, judge, params, results_dir, save, summarise_by_group

FORMS = build_forms()

#: Forms known to be misread silently (form id -> what goes wrong and the rule that lets it through),
#: marked xfail one by one so that every other form still asserts (first run, intake 6f1119e). Remove an
#: entry once fixed.
KNOWN_SILENT: dict[str, str] = {}  # the 15 of the first run on 6f1119e (a title year against the folder's, a
# committee merged away or not yet formed, one quarter's rating, "tiêu biểu" on a level-2 unit) are now reported


def summarise(outcomes: list[Outcome]) -> str:
    """The timeline summary (see :func:`formgen.verdicts.summarise_by_group`)."""
    return summarise_by_group(outcomes, "timeline", sorted({o.layout for o in outcomes}))


# --- the tests -----------------------------------------------------------------------------------

def test_timeline_makes_at_least_120_distinct_forms() -> None:
    assert len(FORMS) >= 120 and len({f.form_id for f in FORMS}) == len(FORMS)
    assert sum(bool(f.must_report) for f in FORMS) >= 30
    assert all(f.must_report or any(f.truth[t] for t in f.truth) for f in FORMS)
    assert {f.year for f in FORMS} >= {2016, 2017, 2018, 2019, 2022, 2023, 2024, 2025}
    assert any(rel.endswith(".parquet") for f in FORMS for rel in f.files)
    assert set(KNOWN_SILENT) <= {f.form_id for f in FORMS}


def test_the_same_seed_gives_the_same_timeline_forms() -> None:
    again = build_forms()
    assert [(f.form_id, f.truth, f.must_report, f.files) for f in again[::7]] \
        == [(f.form_id, f.truth, f.must_report, f.files) for f in FORMS[::7]]


@pytest.mark.parametrize("form", params(FORMS, KNOWN_SILENT))
def test_no_timeline_form_is_misread_silently(form: TimelineForm, tmp_path: Path) -> None:
    outcome = judge(form, tmp_path, write_raw)
    summary = save(results_dir("hoctap-formgen-timeline"), outcome, "timeline", len(FORMS), summarise)
    if summary is not None:
        print(summary.read_text(encoding="utf-8"))
        print(f"timeline summary written to {summary}")
    assert outcome.verdict not in ("silent", "crash"), failure(form, outcome)
