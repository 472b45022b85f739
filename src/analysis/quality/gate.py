"""The pre-submission gate: run every check on a processed folder and judge it.

Findings follow the contract of DESIGN.md: ``{"check", "severity", "table", "unit_ids", "rows",
"message"}``; the verdict is ``fail`` when any finding is critical.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from analysis import hierarchy, store

SEVERITIES = ("critical", "warning")


class GateInputError(RuntimeError):
    """The gate cannot run (no processed data, incompatible version, unknown unit or year)."""


@dataclass
class GateResult:
    """Findings of one gate run.

    Attributes:
        findings: Finding dicts (contract keys plus optional ``values``).
        unit: Unit the run was restricted to, if any.
        year: Year the run was restricted to, if any.
    """

    findings: list[dict] = field(default_factory=list)
    unit: str | None = None
    year: int | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Number of findings per severity."""
        return {s: sum(1 for f in self.findings if f["severity"] == s) for s in SEVERITIES}

    @property
    def verdict(self) -> str:
        """``fail`` when any finding is critical, else ``pass``."""
        return "fail" if self.counts["critical"] else "pass"

    def to_json(self) -> dict:
        """The validation JSON contract."""
        return {"verdict": self.verdict, "counts": self.counts, "unit": self.unit, "year": self.year,
                "findings": self.findings}


def _finding(check: str, severity: str, table: str, unit_ids: list[str], rows: list, message: str) -> dict:
    return {"check": check, "severity": severity, "table": table, "unit_ids": sorted(set(unit_ids)),
            "rows": rows, "message": message}


def run_gate(data_dir: Path, unit: str | None = None, year: int | None = None, lang: str = "vi") -> GateResult:
    """Run the gate on a processed folder, optionally restricted to a unit's subtree and a year.

    Raises:
        GateInputError: No processed data, or an unknown unit or year.
    """
    try:
        tables = store.load_tables(Path(data_dir))
    except store.DataMissingError as exc:
        raise GateInputError(str(exc)) from exc
    if unit is not None and unit not in set(tables.units["unit_id"]):
        raise GateInputError(f"Không có đơn vị '{unit}'")
    result = GateResult(unit=unit, year=year)
    scope: set[str] | None = None
    if unit is not None:
        years = [year] if year is not None else hierarchy.years_active(tables.units, unit)
        scope = set()
        for y in years:
            if y in hierarchy.years_active(tables.units, unit):
                scope.update(hierarchy.subtree_ids(tables.units, unit, y))
    quarantine = store.load_table(Path(data_dir), "quarantine")
    for q in quarantine.itertuples(index=False):
        msg = f"{q.source_file} [{q.sheet}] dòng {q.row_number}: {q.reason}" if lang == "vi" else \
            f"{q.source_file} [{q.sheet}] row {q.row_number}: {q.reason}"
        result.findings.append(_finding(f"intake.{q.reason_code}", "critical", str(q.table or ""), [],
                                        [{"source_file": q.source_file, "sheet": q.sheet,
                                          "row_number": int(q.row_number)}], msg))
    for f in tables.manifest.get("findings", []):
        ids = list(f.get("unit_ids") or [])
        if scope is not None and ids and not set(ids) & scope:
            continue
        result.findings.append(_finding(f"intake.{f['check']}", "critical", f.get("table", ""), ids,
                                        [{"source_file": f["source_file"], "sheet": f["sheet"],
                                          "row_number": f["row_number"]}], f["message"]))
    return result


def format_verdict_line(result: GateResult, lang: str = "vi") -> str:
    """One line: verdict and counts."""
    c = result.counts
    if lang == "vi":
        word = "ĐẠT" if result.verdict == "pass" else "KHÔNG ĐẠT"
        return f"Kết quả kiểm tra: {word} ({c['critical']} lỗi nghiêm trọng, {c['warning']} cảnh báo)"
    word = "PASS" if result.verdict == "pass" else "FAIL"
    return f"Validation: {word} ({c['critical']} critical, {c['warning']} warnings)"


def format_text(result: GateResult, lang: str = "vi") -> str:
    """Text summary: critical findings first, then warnings, then the verdict line."""
    lines = []
    for sev in SEVERITIES:
        for f in result.findings:
            if f["severity"] == sev:
                units = f" [{', '.join(f['unit_ids'])}]" if f["unit_ids"] else ""
                lines.append(f"{sev.upper():8} {f['check']}{units}: {f['message']}")
    lines.append(format_verdict_line(result, lang))
    return "\n".join(lines)


def write_reports(result: GateResult, report_dir: Path, lang: str = "vi") -> None:
    """Write ``validation.json`` and an offline ``validation.html`` into ``report_dir``."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    store.atomic_write_text(report_dir / "validation.json",
                            json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n")
    rows = "".join(
        f"<tr class='{html.escape(f['severity'])}'><td>{html.escape(f['severity'])}</td>"
        f"<td>{html.escape(f['check'])}</td><td>{html.escape(', '.join(f['unit_ids']))}</td>"
        f"<td>{html.escape(f['message'])}</td></tr>" for f in result.findings)
    title = "Kiểm tra chất lượng số liệu" if lang == "vi" else "Data-quality validation"
    page = (f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font-family:Arial,sans-serif;margin:2em}td,th{padding:.3em .6em;border-bottom:1px solid #ddd}"
            "tr.critical td:first-child{color:#c0392b;font-weight:bold}</style></head><body>"
            f"<h1>{title}</h1><p>{html.escape(format_verdict_line(result, lang))}</p>"
            f"<table><tr><th>Mức</th><th>Kiểm tra</th><th>Đơn vị</th><th>Nội dung</th></tr>{rows}</table>"
            "</body></html>")
    store.atomic_write_text(report_dir / "validation.html", page)
