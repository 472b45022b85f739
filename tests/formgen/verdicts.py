"""What became of one generated form: exact, reported, silent, unread or crash (shared by the form tests).

A form is written with its generator's ``write_raw``, ingested, and judged with the rules of
``test_formgen`` (``differences``, ``what_is_named``): **silent** is exit 0 with a figure that differs from
the truth (or on a form that must be reported), or exit 1 with nothing named in the manifest.
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
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest
from test_formgen import differences, what_is_named

from analysis.intake.layout import column_letter
from analysis.intake.pipeline import ingest


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


def sheet_entry(manifest: dict, rel: str, sheet: str, carrier: str) -> dict | None:
    files = {f["file"]: f for f in manifest.get("files", []) if f.get("kind") == "data"}
    entry = files.get(rel)
    if entry is None:
        return None
    sheets = entry.get("sheets", [])
    found = next((s for s in sheets if s.get("sheet") == sheet), None)
    if found is None and len(sheets) == 1:
        found = sheets[0]
    return found


def account_extra_columns(form, manifest: dict) -> list[str]:
    """How the manifest accounts for each column of figures no canonical table holds."""
    out = []
    for rel, sheet, col, header in form.extra_columns:
        entry = sheet_entry(manifest, rel, sheet, form.carrier)
        head = header.replace("\n", " ")
        if entry is None or entry.get("status") != "ingested":
            out.append(f"not-ingested: {rel}[{sheet}] {column_letter(col)} '{head}'")
            continue
        acc = {a["column"]: a for a in entry.get("column_accounting", [])}
        a = acc.get(column_letter(col))
        if a is None:
            out.append(f"unlisted: {rel}[{sheet}] {column_letter(col)} '{head}'")
        elif a.get("status") == "mapped":
            out.append(f"mapped:{a.get('field')}: {rel}[{sheet}] {column_letter(col)} '{head}'")
        else:
            out.append(f"{a.get('status')}:{a.get('rule') or a.get('reason') or ''}: {rel}[{sheet}] "
                       f"{column_letter(col)} '{head}'")
    return out


def judge(form, folder: Path, write_raw: Callable[[object, Path], object]) -> Outcome:
    """Write (with the generator's ``write_raw``), ingest and classify one form."""
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


_SESSION = uuid.uuid4().hex


def results_dir(name: str) -> Path:
    """This run's folder of outcomes under ``$FORMGEN_DIR`` or ``$TMPDIR/<name>`` (older runs pruned)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or _SESSION
    parent = Path(os.environ.get("FORMGEN_DIR") or Path(tempfile.gettempdir()) / name)
    folder = parent / run
    folder.mkdir(parents=True, exist_ok=True)
    for old in parent.iterdir():
        if old != folder and old.is_dir() and time.time() - old.stat().st_mtime > 2 * 86400:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def save(folder: Path, outcome: Outcome, prefix: str, n_forms: int,
         summarise: Callable[[list[Outcome]], str]) -> Path | None:
    """Keep one form's outcome; the last form of the run to finish writes ``<prefix>-summary.txt`` and
    ``<prefix>-counts.json`` (the forms run on several workers) and gets its path back."""
    name = outcome.form_id.replace("/", "_")
    tmp = folder / f"{name}.json.tmp"
    tmp.write_text(json.dumps(asdict(outcome), ensure_ascii=False), encoding="utf-8")
    tmp.replace(folder / f"{name}.json")
    done = sorted(folder.glob(f"{prefix}_*.json"))
    if len(done) < n_forms:
        return None
    everything = [Outcome(**json.loads(p.read_text(encoding="utf-8"))) for p in done]
    out = folder / f"{prefix}-summary.txt"
    out.write_text(summarise(everything), encoding="utf-8")
    counts = Counter(o.verdict for o in everything)
    (folder / f"{prefix}-counts.json").write_text(json.dumps({"forms": len(everything), **counts}), encoding="utf-8")
    return out


def params(forms: list, known_silent: dict[str, str]) -> list:
    """One pytest case per form, a form of ``known_silent`` marked xfail with its reason."""
    return [pytest.param(form, id=form.form_id,
                         marks=[pytest.mark.xfail(strict=False, reason=known_silent[form.form_id])]
                         if form.form_id in known_silent else [])
            for form in forms]


def failure(form, outcome: Outcome) -> str:
    """The assertion message of a silent or crashed form."""
    return (f"{outcome.verdict}: {form.form_id} [exit {outcome.exit_code}] {outcome.detail}"
            f"  <manifest: {outcome.named}>  {{{'; '.join(form.features)}}}")


#: The verdicts a summary counts, in order.
VERDICTS = ("exact", "reported", "silent", "unread", "crash")


def summarise_by_group(outcomes: list[Outcome], title: str, groups: list[str]) -> str:
    """Verdicts per group (a form's ``layout``: its trap or family), every silent/crash/unread form with
    its features, and the reported forms whose tables differ."""

    def cell(cnt: Counter) -> str:
        text = f"{cnt['exact']}/{cnt['reported']}/{cnt['silent']}"
        extra = "".join(f"{m}{cnt[v]}" for v, m in (("unread", "u"), ("crash", "c")) if cnt[v])
        return text + (f"+{extra}" if extra else "")

    n = len(outcomes)
    total = Counter(o.verdict for o in outcomes)
    lines = [f"{title}: exact / reported / silent (+unread, crash) per group", ""]
    for name in groups:
        c = Counter(o.verdict for o in outcomes if o.layout == name)
        if c:
            lines.append(f"  {name:<32}{cell(c)}")
    lines += ["", f"forms: {n}; forms that must be reported: {sum(bool(o.must_report) for o in outcomes)}",
              "verdicts: " + ", ".join(f"{v} {total[v]}" for v in VERDICTS),
              f"read exactly: {total['exact'] / n:.1%}" if n else ""]
    for verdict in ("silent", "crash", "unread"):
        chosen = sorted((o for o in outcomes if o.verdict == verdict), key=lambda o: o.form_id)
        if chosen:
            lines += ["", f"{verdict.upper()} ({len(chosen)}):"]
            lines += [f"  {o.form_id} [exit {o.exit_code}] {{{'; '.join(o.features)}}} {o.detail}"
                      + (f"  <manifest: {o.named}>" if o.named else "") for o in chosen]
    differs = sorted((o for o in outcomes if o.verdict == "reported" and o.differs), key=lambda o: o.form_id)
    if differs:
        lines += ["", f"REPORTED, tables differ ({len(differs)}):"]
        lines += [f"  {o.form_id} [exit {o.exit_code}] {o.detail[:300]}  <manifest: {o.named[:200]}>" for o in differs]
    return "\n".join(lines) + "\n"

