"""Adversary forms (``tests/formgen/adversary.py``): the intake must never misread one silently.

A third generator, written after ``generator.py`` (which the intake was tuned on) and ``holdout.py``
(which checked it), with traps neither sets: English/spaced thousands, counts with units or marks,
ranges, "x", formulas without cached values, dates in count cells, stacked and transposed tables,
repeated headers, subtotal and section rows carrying sums, hidden rows and columns, data merged over
two units, a unit or campaign in two sheets, titleless "Sheet1", template sheets, this year beside
last year, "Kế hoạch | Thực hiện", absent counts, the campaign only in a sheet or file name, a docx
whose paragraph gives the year, and more (see the module). Each form is written into its own raw
folder and ingested; its outcome is judged with ``test_formgen``'s rules (``differences``,
``what_is_named``) plus ``must_report``:

* **exact** — exit 0, every compared table equals the truth, nothing to report;
* **reported** — exit 1 (or 2) and the manifest names something;
* **silent** — exit 0 with a figure that differs (or a ``must_report`` form), or exit 1 with
  tables that differ and nothing named;
* **unread** — exit 2 with the file not listed; **crash** — ``ingest`` raised.

One test per form (``KNOWN_SILENT`` marks known misreads xfail one by one); the last form to finish
writes ``adversary-summary.txt`` in ``$TMPDIR/hoctap-formgen-adversary/<session>/`` (printed; run
with ``-s``). Run as ``pytest -n 2 tests/test_formgen_adversary.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import traceback
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest
from formgen.adversary import TRAPS, AdversaryForm, build_forms, write_raw
from test_formgen import differences, what_is_named

from analysis.intake.pipeline import ingest

FORMS = build_forms()
VERDICTS = ("exact", "reported", "silent", "unread", "crash")

#: Forms known to be misread silently (form id -> what goes wrong and the rule that lets it through), marked
#: xfail one by one so that every other form still asserts. Empty: the 21 found on intake 95eaf04 (tables
#: stacked in one sheet, a figure merged over two units, a public-only sheet, members and public in one
#: column, a public count above its target) are now read or reported. Remove an entry once fixed.
KNOWN_SILENT: dict[str, str] = {}


@dataclass
class Outcome:
    form_id: str
    layout: str
    carrier: str
    verdict: str
    exit_code: int | None
    differs: bool
    detail: str
    named: str
    must_report: list[str]
    features: list[str]
    extra_columns: list[str] = field(default_factory=list)


def _letters(col: int) -> str:
    out = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def _sheet_entry(manifest: dict, rel: str, sheet: str, carrier: str) -> dict | None:
    files = {f["file"]: f for f in manifest.get("files", []) if f.get("kind") == "data"}
    entry = files.get(rel)
    if entry is None:
        return None
    sheets = entry.get("sheets", [])
    found = next((s for s in sheets if s.get("sheet") == sheet), None)
    if found is None and len(sheets) == 1:
        found = sheets[0]
    return found


def account_extra_columns(form: AdversaryForm, manifest: dict) -> list[str]:
    """How the manifest accounts for each column of figures no canonical table holds."""
    out = []
    for rel, sheet, col, header in form.extra_columns:
        entry = _sheet_entry(manifest, rel, sheet, form.carrier)
        head = header.replace("\n", " ")
        if entry is None or entry.get("status") != "ingested":
            out.append(f"not-ingested: {rel}[{sheet}] {_letters(col)} '{head}'")
            continue
        acc = {a["column"]: a for a in entry.get("column_accounting", [])}
        a = acc.get(_letters(col))
        if a is None:
            out.append(f"unlisted: {rel}[{sheet}] {_letters(col)} '{head}'")
        elif a.get("status") == "mapped":
            out.append(f"mapped:{a.get('field')}: {rel}[{sheet}] {_letters(col)} '{head}'")
        else:
            out.append(f"{a.get('status')}:{a.get('rule') or a.get('reason') or ''}: {rel}[{sheet}] "
                       f"{_letters(col)} '{head}'")
    return out


def judge(form: AdversaryForm, folder: Path) -> Outcome:
    """Write, ingest and classify one held-out form."""
    raw = folder / "raw"
    write_raw(form, raw)
    base = dict(form_id=form.form_id, layout=form.layout, carrier=form.carrier, must_report=form.must_report,
                features=form.features)
    try:
        result = ingest(raw, folder / "out")
    except Exception as exc:  # noqa: BLE001 - a crash is an outcome to report, with its place
        tb = "".join(traceback.format_exception(exc)[-3:]).strip()[-700:]
        return Outcome(verdict="crash", exit_code=None, differs=True, detail=f"{type(exc).__name__}: {exc} | {tb}",
                       named="", **base)
    diffs = differences(form, result.tables)
    named = what_is_named(result.manifest, result.tables.get("quarantine"))
    code = result.exit_code
    listed = any(f.get("kind") == "data" for f in result.manifest.get("files", []))
    detail = " || ".join(diffs)
    if code == 0:
        verdict = "silent" if diffs or form.must_report else "exact"
        if form.must_report and not diffs:
            detail = "exit 0 on a form that must be reported: " + "; ".join(form.must_report)
    elif code == 1:
        verdict = "reported" if named or not (diffs or form.must_report) else "silent"
    else:
        verdict = "reported" if named and listed else "unread"
    return Outcome(verdict=verdict, exit_code=code, differs=bool(diffs), detail=detail, named=named,
                   extra_columns=account_extra_columns(form, result.manifest), **base)


# --- the summary ---------------------------------------------------------------------------------

_SESSION = uuid.uuid4().hex


def _results_dir() -> Path:
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or _SESSION
    parent = Path(os.environ.get("FORMGEN_DIR") or Path(tempfile.gettempdir()) / "hoctap-formgen-adversary")
    folder = parent / run
    folder.mkdir(parents=True, exist_ok=True)
    for old in parent.iterdir():
        if old != folder and old.is_dir() and time.time() - old.stat().st_mtime > 2 * 86400:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def summarise(outcomes: list[Outcome]) -> str:
    """Verdicts per trap, every silent/crash/unread form, the reported forms whose tables differ."""

    def cell(cnt: Counter) -> str:
        text = f"{cnt['exact']}/{cnt['reported']}/{cnt['silent']}"
        extra = "".join(f"{m}{cnt[v]}" for v, m in (("unread", "u"), ("crash", "c")) if cnt[v])
        return text + (f"+{extra}" if extra else "")

    n = len(outcomes)
    total = Counter(o.verdict for o in outcomes)
    lines = ["adversary: exact / reported / silent (+unread, crash) per trap", ""]
    for name in [t.name for t in TRAPS] + ["broad"]:
        c = Counter(o.verdict for o in outcomes if o.layout == name)
        if c:
            lines.append(f"  {name:<28}{cell(c)}")
    lines += ["", f"forms: {n}; forms that must be reported: {sum(bool(o.must_report) for o in outcomes)}",
              "verdicts: " + ", ".join(f"{v} {total[v]}" for v in VERDICTS),
              f"read exactly: {total['exact'] / n:.1%}" if n else ""]
    for verdict in ("silent", "crash", "unread"):
        chosen = sorted((o for o in outcomes if o.verdict == verdict), key=lambda o: o.form_id)
        if chosen:
            lines += ["", f"{verdict.upper()} ({len(chosen)}):"]
            lines += [f"  {o.form_id} [exit {o.exit_code}] {o.detail}" + (f"  <manifest: {o.named}>" if o.named else "")
                      for o in chosen]
    differs = sorted((o for o in outcomes if o.verdict == "reported" and o.differs), key=lambda o: o.form_id)
    if differs:
        lines += ["", f"REPORTED, tables differ ({len(differs)}):"]
        lines += [f"  {o.form_id} [exit {o.exit_code}] {o.detail[:300]}  <manifest: {o.named[:200]}>" for o in differs]
    return "\n".join(lines) + "\n"


def _save(folder: Path, outcome: Outcome) -> Path | None:
    name = outcome.form_id.replace("/", "_")
    tmp = folder / f"{name}.json.tmp"
    tmp.write_text(json.dumps(asdict(outcome), ensure_ascii=False), encoding="utf-8")
    tmp.replace(folder / f"{name}.json")
    done = sorted(folder.glob("adversary_*.json"))
    if len(done) < len(FORMS):
        return None
    everything = [Outcome(**json.loads(p.read_text(encoding="utf-8"))) for p in done]
    out = folder / "adversary-summary.txt"
    out.write_text(summarise(everything), encoding="utf-8")
    counts = Counter(o.verdict for o in everything)
    (folder / "adversary-counts.json").write_text(json.dumps({"forms": len(everything), **counts}), encoding="utf-8")
    return out


# --- the tests -----------------------------------------------------------------------------------

def test_adversary_makes_at_least_120_distinct_forms() -> None:
    assert len(FORMS) >= 120 and len({f.form_id for f in FORMS}) == len(FORMS)
    assert sum(bool(f.must_report) for f in FORMS) >= 20
    assert all(any(f.truth[t] for t in f.truth) for f in FORMS)
    assert set(KNOWN_SILENT) <= {f.form_id for f in FORMS}


def test_the_same_seed_gives_the_same_adversary_forms() -> None:
    again = build_forms()
    assert [(f.form_id, f.truth, f.must_report, [s.rows for ss in f.files.values() for s in ss]) for f in again[::5]] \
        == [(f.form_id, f.truth, f.must_report, [s.rows for ss in f.files.values() for s in ss]) for f in FORMS[::5]]


def _params() -> list:
    return [pytest.param(form, id=form.form_id,
                         marks=[pytest.mark.xfail(strict=False, reason=KNOWN_SILENT[form.form_id])]
                         if form.form_id in KNOWN_SILENT else [])
            for form in FORMS]


@pytest.mark.parametrize("form", _params())
def test_no_adversary_form_is_misread_silently(form: AdversaryForm, tmp_path: Path) -> None:
    outcome = judge(form, tmp_path)
    summary = _save(_results_dir(), outcome)
    if summary is not None:
        print(summary.read_text(encoding="utf-8"))
        print(f"adversary summary written to {summary}")
    assert outcome.verdict not in ("silent", "crash"), (
        f"{outcome.verdict}: {form.form_id} [exit {outcome.exit_code}] {outcome.detail}"
        f"  <manifest: {outcome.named}>  {{{'; '.join(form.features)}}}")
