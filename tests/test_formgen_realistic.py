"""Realistic forms (``tests/formgen/realistic.py``): whole documents must never be misread silently.

A fourth generator, aimed at realism rather than at single traps: Word reports whose "biểu kèm
theo" tables sit between letterhead paragraphs, a budget table and the signature table; workbooks
with a cover sheet, an instructions sheet, a chart-data sheet and hidden helper columns; per-month
sheets; province workbooks whose rows are district committees (sums) with counts of grassroots
organisations per level beside the members'; per-district sheets of grassroots committees under a
"Tổng hợp" sheet of district rows; forms scanned and retyped with OCR errors; counts with footnote
marks and an amounts column; TCVN3/VNI/NFD text. Each form is ingested in its own raw folder and
judged by ``formgen.verdicts.judge`` (exact / reported / silent / unread / crash, the rules of
``test_formgen``).

One test per form (``KNOWN_SILENT`` marks known misreads xfail one by one); the last form to finish
writes ``realistic-summary.txt`` in ``$TMPDIR/hoctap-formgen-realistic/<session>/`` (printed; run
with ``-s``). Run as ``pytest -n 2 tests/test_formgen_realistic.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from formgen.realistic import FAMILIES, RealisticForm, build_forms, write_raw
from formgen.verdicts import Outcome, failure, judge, params, results_dir, save, summarise_by_group

FORMS = build_forms()

#: Forms known to be misread silently (form id -> what goes wrong and the rule that lets it through),
#: marked xfail one by one so that every other form still asserts. Empty: the 9 found on intake 62f92af
#: (a province workbook's summary of districts stored beside their communes listed in other sheets; a
#: chi bộ missing from units.csv filed under a neighbouring commune's chi bộ of the same name) are now
#: read or reported. Remove an entry once fixed.
KNOWN_SILENT: dict[str, str] = {}


def summarise(outcomes: list[Outcome]) -> str:
    """The realistic summary (see :func:`formgen.verdicts.summarise_by_group`)."""
    return summarise_by_group(outcomes, "realistic", [f.name for f in FAMILIES])


# --- the tests -----------------------------------------------------------------------------------

def test_realistic_makes_at_least_120_distinct_forms() -> None:
    assert len(FORMS) >= 120 and len({f.form_id for f in FORMS}) == len(FORMS)
    assert sum(bool(f.must_report) for f in FORMS) >= 15
    assert all(any(f.truth[t] for t in f.truth) for f in FORMS)
    assert {f.encoding for f in FORMS} >= {"unicode", "tcvn3", "vni", "nfd"}
    assert set(KNOWN_SILENT) <= {f.form_id for f in FORMS}


def test_the_same_seed_gives_the_same_realistic_forms() -> None:
    again = build_forms()
    assert [(f.form_id, f.truth, f.must_report, [s.rows for ss in f.files.values() for s in ss]) for f in again[::7]] \
        == [(f.form_id, f.truth, f.must_report, [s.rows for ss in f.files.values() for s in ss]) for f in FORMS[::7]]


@pytest.mark.parametrize("form", params(FORMS, KNOWN_SILENT))
def test_no_realistic_form_is_misread_silently(form: RealisticForm, tmp_path: Path) -> None:
    outcome = judge(form, tmp_path, write_raw)
    summary = save(results_dir("hoctap-formgen-realistic"), outcome, "realistic", len(FORMS), summarise)
    if summary is not None:
        print(summary.read_text(encoding="utf-8"))
        print(f"realistic summary written to {summary}")
    assert outcome.verdict not in ("silent", "crash"), failure(form, outcome)
