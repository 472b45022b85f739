"""Workload 5: province-scale intake of about 1.000 workbooks — rows per second and a profile.

Peer: the floor of reading the same workbooks (openpyxl, the package's load mode, every cell).
"""

from __future__ import annotations

import json
import shutil

from common import HOCTAP, OUT, PY, Result, cached_synth, measure, python_code, ratio

FLOOR = """
import sys, warnings
from pathlib import Path
from openpyxl import load_workbook
n = 0
for p in sorted(Path(sys.argv[1]).rglob("*.xlsx")):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = load_workbook(p, data_only=True, read_only=False)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                n += c.value is not None and bool(c.font.name)
    wb.close()
print(n)
"""


def run(quick: bool, res: Result) -> None:
    size = 0.2 if quick else 1.0
    raw = cached_synth("province", "2024-2024", 1, size)
    n_files = len(list(raw.rglob("*.xlsx")))
    out = raw.parent / "processed"
    shutil.rmtree(out, ignore_errors=True)
    ing = res.add(measure(f"hoctap ingest ({n_files} workbooks, province scale)",
                          [HOCTAP, "ingest", str(raw), "--out", str(out), "--quiet"]))
    floor = res.add(measure("floor: openpyxl loads the same workbooks, reads every cell", python_code(FLOOR) + [str(raw)]))
    if ing.returncode in (0, 1):
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        t = manifest["totals"]
        rps = t["rows_read"] / ing.seconds
        res.check("rows read per second (body rows of every sheet)", round(rps), "(informative)", None)
        res.check("workbooks per second", round(n_files / ing.seconds, 1), "(informative)", None)
        res.note(f"rows: {t['rows_read']} read = {t['rows_kept']} kept + {t['rows_excluded']} excluded + "
                 f"{t['rows_quarantined']} quarantined")
    res.check("ingest / openpyxl floor", ratio(ing.seconds, floor.seconds), "(informative)", None)
    prof = OUT / "profiles" / "province-ingest.txt"
    prof.parent.mkdir(parents=True, exist_ok=True)
    out2 = raw.parent / "processed-profiled"
    shutil.rmtree(out2, ignore_errors=True)
    p = res.add(measure("same ingest under pyinstrument (profile)",
                        [PY, "-m", "pyinstrument", "--interval", "0.01", "-r", "text", "--no-color",
                         "-o", str(prof), "-m", "analysis", "ingest", str(raw), "--out", str(out2), "--quiet"]))
    if prof.is_file():
        res.note(f"pyinstrument profile: {prof.relative_to(OUT.parent.parent)}")
    del p
