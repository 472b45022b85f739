"""Generated report forms with known truth: the intake must never misread one silently.

Each form of ``tests/formgen/generator.py`` is written into its own raw folder and ingested. Its
outcome is one of:

* **exact** — exit 0 and every compared table equals the truth;
* **reported** — exit 1 (or 2) and the manifest names something (a finding, a skipped sheet or
  file, an unreadable file, a quarantined row); split into *reported-equal* (the tables are right
  anyway) and *reported-differs*;
* **silent** — exit 0 and a figure differs from the truth, or exit 1 with tables that differ and
  nothing named in the manifest: this must never happen;
* **unread** — exit 2 with the file not even listed (e.g. a file type intake does not look at):
  loud, but unexplained;
* **crash** — ``ingest`` raised: a failure.

The forms run in ``N_CHUNKS`` interleaved chunks (pytest-xdist spreads them); each chunk saves its
outcomes and the last one to finish writes the summary table (layout × carrier) and the rate of
forms read exactly to ``formgen-summary.txt`` and ``formgen-exact-rate.json`` in
``$TMPDIR/hoctap-formgen/<session>/`` (path printed; run with ``-s`` to see it). No minimum exact rate is asserted yet: the header reader is being rebuilt.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import traceback
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import pytest
from formgen.carriers import CARRIERS
from formgen.generator import COMPARED, LAYOUTS, Form, build_forms, write_raw

from analysis.intake.layout import column_letter
from analysis.intake.pipeline import ingest

FORMS = build_forms()
N_CHUNKS = 10
CHUNKS = [FORMS[i::N_CHUNKS] for i in range(N_CHUNKS)]
KEYS = {"membership": 2, "study_participation": 2, "unit_ratings": 2, "member_ratings": 4}
VERDICTS = ("exact", "reported", "silent", "unread", "crash")


@dataclass
class Outcome:
    """What happened to one form."""

    form_id: str
    layout: str
    carrier: str
    verdict: str
    exit_code: int | None
    differs: bool
    detail: str
    named: str
    notes: list[str]


# --- comparing ------------------------------------------------------------------------------------

def _plain(value: object) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if hasattr(value, "item"):
        return _plain(value.item())
    return value


def ingested_rows(tables: dict[str, pd.DataFrame], name: str) -> set[tuple]:
    """The rows of one ingested table, as plain tuples of ``COMPARED[name]`` (dtype-insensitive)."""
    df = tables.get(name)
    cols = COMPARED[name]
    if df is None or not len(df):
        return set()
    missing = [c for c in cols if c not in df.columns]
    frame = df.assign(**{c: None for c in missing})[list(cols)]
    rows = {tuple(_plain(v) for v in row) for row in frame.itertuples(index=False)}
    if name == "member_ratings":  # a level with no member is the same fact written or not
        rows = {r for r in rows if r[4] != 0}
    return rows


def _drop_zero_levels(name: str, rows: set[tuple]) -> set[tuple]:
    return {r for r in rows if r[4] != 0} if name == "member_ratings" else rows


def differences(form: Form, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Readable differences between the ingested tables and the truth (empty: all equal).

    Every row of ``form.truth`` must be there; a row of ``form.optional`` may be absent but, when
    present, must be exactly that row; any other row is a misread.
    """
    out = []
    for name, cols in COMPARED.items():
        k = KEYS[name]
        got = ingested_rows(tables, name)
        required = _drop_zero_levels(name, form.truth[name])
        allowed = {r[:k]: r for r in _drop_zero_levels(name, form.optional.get(name, set()))}
        allowed.update({r[:k]: r for r in required})
        g: dict[tuple, tuple] = {}
        duplicated = 0
        for r in got:
            duplicated += r[:k] in g
            g[r[:k]] = r
        changed = []
        for key in sorted(set(g) & set(allowed), key=str):
            if g[key] != allowed[key]:
                fields = [f"{c} {g[key][i]!r}≠{allowed[key][i]!r}" for i, c in enumerate(cols)
                          if g[key][i] != allowed[key][i]]
                changed.append(f"{'/'.join(map(str, key))}: {', '.join(fields)}")
        missing = sorted({r[:k] for r in required} - set(g), key=str)
        extra = sorted(set(g) - set(allowed), key=str)
        parts = []
        if changed:
            parts.append(f"{len(changed)} row(s) misread, e.g. " + "; ".join(changed[:3]))
        if missing:
            parts.append(f"{len(missing)} row(s) missing of {len(required)}, e.g. {'/'.join(map(str, missing[0]))}")
        if extra:
            parts.append(f"{len(extra)} extra row(s), e.g. {g[extra[0]]}")
        if duplicated:
            parts.append(f"{duplicated} key(s) given twice")
        if parts:
            optional = " (rows the form states only in part)" if not required and allowed else ""
            out.append(f"{name}{optional}: " + " | ".join(parts))
    return out


def what_is_named(manifest: dict, quarantine: pd.DataFrame | None = None) -> str:
    """What the manifest names (findings, skipped or unreadable files/sheets, quarantined rows)."""
    named = []
    checks = Counter(f.get("check") for f in manifest.get("findings", []))
    if checks:
        named.append("findings " + ", ".join(f"{k}×{n}" for k, n in sorted(checks.items(), key=str)))
    for f in manifest.get("files", []):
        if f.get("kind") != "data":
            continue
        if f.get("status") in ("skipped", "unreadable"):
            named.append(f"file {f['file']} {f['status']}: {str(f.get('reason', ''))[:120]}")
            continue
        for s in f.get("sheets", []):
            if s.get("status") == "skipped":
                named.append(f"sheet {f['file']}[{s['sheet']}] skipped: {str(s.get('reason', ''))[:120]}")
    quarantined = max(manifest.get("totals", {}).get("rows_quarantined", 0),
                      len(quarantine) if quarantine is not None else 0)
    if quarantined:
        named.append(f"{quarantined} row(s) quarantined")
    return "; ".join(named)


def judge(form: Form, folder: Path) -> Outcome:
    """Write, ingest and classify one form."""
    raw = folder / "raw"
    notes = write_raw(form, raw)
    try:
        result = ingest(raw, folder / "out")
    except Exception as exc:  # noqa: BLE001 - a crash is an outcome to report, with its place
        tb = traceback.format_exception(exc)
        return Outcome(form.form_id, form.layout, form.carrier, "crash", None, True,
                       f"{type(exc).__name__}: {exc} | {''.join(tb[-3:]).strip()[-600:]}", "", notes)
    diffs = differences(form, result.tables)
    named = what_is_named(result.manifest, result.tables.get("quarantine"))
    code = result.exit_code
    listed = any(f.get("kind") == "data" for f in result.manifest.get("files", []))
    if code == 0:
        verdict = "silent" if diffs else "exact"
    elif code == 1:
        verdict = "reported" if named or not diffs else "silent"
    else:
        verdict = "reported" if named and listed else "unread"
    return Outcome(form.form_id, form.layout, form.carrier, verdict, code, bool(diffs), " || ".join(diffs), named,
                   notes)


# --- the summary ---------------------------------------------------------------------------------

_SESSION = uuid.uuid4().hex


def _results_dir() -> Path:
    """A folder shared by the chunks of this session (xdist workers share its run id).

    Kept outside pytest's temporary folders, which concurrent pytest sessions prune. ``FORMGEN_DIR``
    chooses another parent.
    """
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or _SESSION
    parent = Path(os.environ.get("FORMGEN_DIR") or Path(tempfile.gettempdir()) / "hoctap-formgen")
    folder = parent / run
    folder.mkdir(parents=True, exist_ok=True)
    for old in parent.iterdir():  # sessions of more than two days ago
        if old != folder and old.is_dir() and time.time() - old.stat().st_mtime > 2 * 86400:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def summarise(outcomes: list[Outcome]) -> str:
    """The layout × carrier table of verdicts, the exact rate and every silent or differing form."""
    cells: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for o in outcomes:
        cells[(o.layout, o.carrier)][o.verdict] += 1
    lines = ["formgen: exact / reported / silent (+unread, crash) per layout × carrier", ""]
    head = f"{'layout':<14}" + "".join(f"{c[:13]:>14}" for c in CARRIERS) + f"{'all':>14}"
    lines.append(head)

    def cell(cnt: Counter) -> str:
        text = f"{cnt['exact']}/{cnt['reported']}/{cnt['silent']}"
        extra = "".join(f"{m}{cnt[v]}" for v, m in (("unread", "u"), ("crash", "c")) if cnt[v])
        return text + (f"+{extra}" if extra else "")

    for layout in LAYOUTS:
        row = [cells[(layout, c)] for c in CARRIERS]
        lines.append(f"{layout:<14}" + "".join(f"{cell(x):>14}" for x in row) + f"{cell(sum(row, Counter())):>14}")
    per_carrier = [sum((cells[(lay, c)] for lay in LAYOUTS), Counter()) for c in CARRIERS]
    lines.append(f"{'all':<14}" + "".join(f"{cell(x):>14}" for x in per_carrier)
                 + f"{cell(sum(per_carrier, Counter())):>14}")
    total = Counter(o.verdict for o in outcomes)
    n = len(outcomes)
    rate = total["exact"] / n if n else 0.0
    reported_equal = sum(1 for o in outcomes if o.verdict == "reported" and not o.differs)
    lines += ["", f"forms: {n} (distinct ids: {len({o.form_id for o in outcomes})})",
              "verdicts: " + ", ".join(f"{v} {total[v]}" for v in VERDICTS),
              f"reported with the tables right anyway: {reported_equal}; reported with tables that differ: "
              f"{total['reported'] - reported_equal}",
              f"read exactly: {rate:.1%}"]
    fallbacks = sorted({note.split(":")[0] for o in outcomes for note in o.notes})
    if fallbacks:
        lines.append("carriers written as xlsx (writer missing): " + ", ".join(fallbacks))
    for verdict in ("silent", "crash", "unread"):
        chosen = [o for o in outcomes if o.verdict == verdict]
        if chosen:
            lines += ["", f"{verdict.upper()} ({len(chosen)}):"]
            lines += [f"  {o.form_id} [exit {o.exit_code}] {o.detail}"
                      + (f"  <manifest: {o.named}>" if o.named else "") for o in sorted(chosen, key=lambda o: o.form_id)]
    differs = [o for o in outcomes if o.verdict == "reported" and o.differs]
    if differs:
        lines += ["", f"REPORTED, tables differ ({len(differs)}):"]
        lines += [f"  {o.form_id} [exit {o.exit_code}] {o.detail}  <manifest: {o.named}>"
                  for o in sorted(differs, key=lambda o: o.form_id)]
    return "\n".join(lines) + "\n"


def _save_and_maybe_summarise(folder: Path, chunk: int, outcomes: list[Outcome]) -> Path | None:
    tmp = folder / f"chunk-{chunk:02d}.json.tmp"
    tmp.write_text(json.dumps([asdict(o) for o in outcomes], ensure_ascii=False), encoding="utf-8")
    tmp.replace(folder / f"chunk-{chunk:02d}.json")
    done = sorted(folder.glob("chunk-*.json"))
    if len(done) < N_CHUNKS:
        return None
    everything = [Outcome(**d) for p in done for d in json.loads(p.read_text(encoding="utf-8"))]
    text = summarise(everything)
    out = folder / "formgen-summary.txt"
    out.write_text(text, encoding="utf-8")
    exact = sum(o.verdict == "exact" for o in everything)
    (folder / "formgen-exact-rate.json").write_text(json.dumps(
        {"forms": len(everything), "exact": exact, "exact_rate": exact / len(everything)}), encoding="utf-8")
    return out


# --- the tests -----------------------------------------------------------------------------------

def test_generator_makes_at_least_300_distinct_forms() -> None:
    assert len(FORMS) >= 300 and len({f.form_id for f in FORMS}) == len(FORMS)
    assert {f.layout for f in FORMS} == set(LAYOUTS) and {f.carrier for f in FORMS} == set(CARRIERS)
    assert {f.split for f in FORMS} == {"1row", "2rows", "3rows"}
    assert {f.encoding for f in FORMS} == {"unicode", "nfd", "tcvn3", "vni"}
    assert all(any(f.truth[t] for t in COMPARED) for f in FORMS)


def test_the_same_seed_gives_the_same_forms() -> None:
    again = build_forms()
    assert [(f.form_id, f.truth, [s.rows for ss in f.files.values() for s in ss]) for f in again[:40]] == \
        [(f.form_id, f.truth, [s.rows for ss in f.files.values() for s in ss]) for f in FORMS[:40]]


@pytest.mark.parametrize("chunk", range(N_CHUNKS))
def test_no_form_is_misread_silently(chunk: int, tmp_path: Path) -> None:
    outcomes = [judge(form, tmp_path / f"f{i:03d}") for i, form in enumerate(CHUNKS[chunk])]
    summary = _save_and_maybe_summarise(_results_dir(), chunk, outcomes)
    if summary is not None:
        print(summary.read_text(encoding="utf-8"))
        print(f"formgen summary written to {summary}")
    bad = [o for o in outcomes if o.verdict in ("silent", "crash")]
    assert not bad, "\n".join(f"{o.verdict}: {o.form_id} [exit {o.exit_code}] {o.detail}" for o in bad)


# --- column accounting (property over the generated forms) ---------------------------------------

ACCOUNTING_SAMPLE = FORMS[::9]
STATUSES = {"mapped", "set_aside", "reported"}


@pytest.mark.parametrize("part", range(2))
def test_every_column_of_an_ingested_sheet_is_accounted_for_once(part: int, tmp_path: Path) -> None:
    """Each non-empty column of every ingested sheet is exactly one of mapped / set aside / reported."""
    problems: list[str] = []
    seen_key = False
    for i, form in enumerate(ACCOUNTING_SAMPLE[part::2]):
        folder = tmp_path / f"f{i:03d}"
        notes = write_raw(form, folder / "raw")
        try:
            result = ingest(folder / "raw", folder / "out")
        except Exception:  # noqa: BLE001 - crashes are the silent-misread test's to report
            continue
        files = {f["file"]: f for f in result.manifest["files"] if f.get("kind") == "data"}
        for info in form.sheets:
            rel = info.file if info.file in files or not notes else str(Path(info.file).with_suffix(".xlsx"))
            entry = files.get(rel)
            if entry is None:
                continue
            sheets = entry.get("sheets", [])
            sheet = next((s for s in sheets if s.get("sheet") == info.name), None)
            if sheet is None and len(sheets) == 1 and len([s for s in form.sheets if s.file == info.file]) == 1:
                sheet = sheets[0]
            if sheet is None or sheet.get("status") != "ingested":
                continue
            if "column_accounting" not in sheet:
                continue
            seen_key = True
            listed = Counter(a["column"] for a in sheet["column_accounting"])
            where = f"{form.form_id} {info.file}[{info.name}]"
            problems += [f"{where}: column {c} listed {n} times" for c, n in listed.items() if n > 1]
            problems += [f"{where}: column {a['column']} has status {a.get('status')!r}"
                         for a in sheet["column_accounting"] if a.get("status") not in STATUSES]
            problems += [f"{where}: non-empty column {column_letter(c)} not accounted for"
                         for c in info.columns if column_letter(c) not in listed]
    if not seen_key:
        pytest.xfail("column accounting not yet in the manifest")
    assert not problems, "\n".join(problems[:50])
