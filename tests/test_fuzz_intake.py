"""Fuzzing intake: generated workbooks and CSVs with random headers, encodings, junk cells.

Whatever arrives, ingest must not crash (other than a clear IngestError), must account for every
body row (manifest identity per sheet) and must give every quarantined row a reason.
Heavier runs: ``pytest --slow`` (more examples).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import unicodedata
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from analysis import store
from analysis.intake.pipeline import IngestError, ingest

#: Examples per property: a few in the normal suite, many with ``pytest --slow``.
EXAMPLES = 60 if os.environ.get("HOCTAP_SLOW") else 6
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "raw"

HEADERS = {
    "unit": ["Tên chi bộ", "Chi bộ", "Đơn vị", "TEN CHI BO", "chi bo", "Tên tổ chức đảng"],
    "total": ["Tổng số đảng viên", "TS ĐV", "Tong so dang vien", "Số đảng viên"],
    "exempt": ["Số ĐV miễn SH", "Miễn sinh hoạt", "so dv mien sinh hoat"],
    "attended": ["Số ĐV tham gia", "Tham gia học tập", "DV tham gia"],
    "label": ["Xếp loại", "Kết quả xếp loại", "XEP LOAI"],
    "junk": ["Ghi chú", "Cột lạ", "", "???", "Tỷ lệ (%)"],
}
NAMES = ["Chi bộ Tổ dân phố 1", "CB TDP 2", "Chi bộ Cơ quan phường", "Chi bộ không tồn tại", "Tổng cộng",
         "Ghi chú: số liệu", "", None, "Chi bộ Tổ dân phố 3", "=HYPERLINK(\"http://x\")"]
LABELS = ["Trong sạch vững mạnh", "TSVM", "HTTNV", "Xuất sắc", "hoàn thành nhiệm vụ", "", None, "???"]

cell_value = st.one_of(
    st.none(), st.integers(-10, 10**12), st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from(["1.234", "96,4", "96,4%", "-", "", " ", "x", "=SUM(A1:A3)", "abc", "1.234,5", "(12)"]),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 1, 1)),
    st.text(max_size=12),
)


def spelling(text: str, mode: int) -> str:
    if mode == 1:
        return text.upper()
    if mode == 2:
        return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    if mode == 3:
        return unicodedata.normalize("NFD", text)
    return text


@st.composite
def sheets(draw) -> dict:
    kinds = draw(st.lists(st.sampled_from(list(HEADERS)), min_size=1, max_size=6))
    header = [spelling(draw(st.sampled_from(HEADERS[k])), draw(st.integers(0, 3))) for k in kinds]
    if draw(st.booleans()):
        header = [spelling(draw(st.sampled_from(HEADERS["unit"])), 0)] + header
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        row = []
        for k in ["unit" if i == 0 else "x" for i in range(len(header))]:
            if k == "unit" and draw(st.booleans()):
                row.append(draw(st.sampled_from(NAMES)))
            elif draw(st.integers(0, 4)) == 0:
                row.append(draw(st.sampled_from(LABELS)))
            else:
                row.append(draw(cell_value))
        rows.append(row)
    return {"titles": draw(st.lists(st.text(max_size=20), max_size=5)), "header": header, "rows": rows,
            "merge": draw(st.booleans()), "two_rows": draw(st.booleans())}


def write_xlsx(path: Path, spec: dict) -> None:
    wb = Workbook()
    ws = wb.active
    for t in spec["titles"]:
        ws.append([_excel_safe(t) or None])
    if spec["two_rows"]:
        ws.append(["Nhóm"] * len(spec["header"]))
    start = ws.max_row + 1
    ws.append(spec["header"])
    for row in spec["rows"]:
        ws.append([_excel_safe(v) for v in row])
    if spec["merge"] and len(spec["header"]) > 2:
        ws.merge_cells(start_row=start, start_column=2, end_row=start, end_column=3)
    wb.save(path)


def _excel_safe(value: object) -> object:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, str):
        return "".join(ch for ch in value if ch.isprintable())
    return value


def write_csv(path: Path, spec: dict, encoding: str) -> None:
    df = pd.DataFrame([[("" if v is None else str(v)) for v in r] for r in spec["rows"]],
                      columns=None if not spec["rows"] else range(len(spec["header"])))
    lines = [",".join(f'"{h}"' for h in spec["header"])]
    lines += [",".join(f'"{str(v).replace(chr(34), "")}"' for v in r) for r in df.itertuples(index=False)]
    text = "\n".join(lines) + "\n"
    path.write_bytes(text.encode(encoding, errors="replace"))


def check_run(raw: Path, out: Path) -> None:
    try:
        result = ingest(raw, out)
    except IngestError:
        return
    for f in result.manifest["files"]:
        for s in f.get("sheets", []):
            assert s["rows_read"] == s["rows_kept"] + s["rows_excluded"] + s["rows_quarantined"], (f["file"], s)
    q = store.load_table(out, "quarantine")
    assert q["reason"].fillna("").str.len().gt(0).all()
    assert q["reason_code"].fillna("").str.len().gt(0).all()


def make_raw(tmp: Path) -> Path:
    raw = tmp / "raw"
    (raw / "2014").mkdir(parents=True)
    for name in ("units.csv", "campaigns.csv"):
        shutil.copy(SAMPLE / name, raw / name)
    return raw


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(sheets(), min_size=1, max_size=3))
def test_generated_workbooks_never_crash_or_lose_rows(specs: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = make_raw(Path(tmp))
        for i, spec in enumerate(specs):
            write_xlsx(raw / "2014" / f"tan-thanh-{i}.xlsx", spec)
        check_run(raw, Path(tmp) / "out")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets(), st.sampled_from(["utf-8", "utf-8-sig", "cp1258"]))
def test_generated_csvs_in_any_encoding_never_crash_or_lose_rows(spec: dict, encoding: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = make_raw(Path(tmp))
        write_csv(raw / "2014" / "tan-thanh.csv", spec, encoding)
        check_run(raw, Path(tmp) / "out")
