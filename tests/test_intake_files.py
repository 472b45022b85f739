"""Intake at the file level: CSV encodings, .xls, unreadable files, exit codes, raw never written,
byte-identical re-runs."""

from __future__ import annotations

import hashlib
import shutil
import unicodedata
from pathlib import Path

import pytest
from openpyxl import Workbook

from analysis import store
from analysis.cli import main
from analysis.intake.pipeline import ingest
from analysis.intake.readers import decode_csv_bytes
from analysis.text import encode_legacy

UNITS = """unit_id,unit_name,parent_id,unit_level,unit_kind,valid_from_year,valid_to_year
tt,Đảng bộ phường Tân Thanh,,co_so,khu_dan_cu,2010,
tt-1,Chi bộ Tổ dân phố 1,tt,chi_bo,khu_dan_cu,2010,
tt-2,Chi bộ Tổ dân phố 2,tt,chi_bo,khu_dan_cu,2010,
"""
CAMPAIGNS = "campaign_id,year,title,document_code,start_date\n2016-01,2016,Chỉ thị 05-CT/TW năm 2016,05-CT/TW,\n"
CSV_TEXT = "STT,Tên chi bộ,Tổng số đảng viên,Số ĐV miễn SH\n1,Chi bộ Tổ dân phố 1,\"1.234\",2\n2,Chi bộ Tổ dân phố 2,15,-\n"
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def encode_cp1258(text: str) -> bytes:
    """Windows-1258 bytes: a toned vowel is its base letter then a combining tone mark."""
    out = b""
    for ch in text:
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tone = "".join(c for c in parts if c in _TONES)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
        out += base.encode("cp1258") + tone.encode("cp1258")
    return out


def raw_folder(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    (raw / "2016").mkdir(parents=True)
    (raw / "units.csv").write_text(UNITS, encoding="utf-8")
    (raw / "campaigns.csv").write_text(CAMPAIGNS, encoding="utf-8")
    return raw


def good_workbook(path: Path) -> Path:
    wb = Workbook()
    for row in (["ĐẢNG BỘ PHƯỜNG TÂN THANH"], [], ["STT", "Tên chi bộ", "Tổng số đảng viên"],
                [1, "Chi bộ Tổ dân phố 1", 10], [2, "Chi bộ Tổ dân phố 2", 12]):
        wb.active.append(row)
    wb.save(path)
    return path


# --- CSV encodings ----------------------------------------------------------------------------

@pytest.mark.parametrize("encoding,data", [
    ("utf-8", CSV_TEXT.encode("utf-8")),
    ("utf-8-sig", CSV_TEXT.encode("utf-8-sig")),
    ("utf-16", CSV_TEXT.encode("utf-16")),
    ("cp1258", encode_cp1258(CSV_TEXT)),
    ("tcvn3", encode_legacy(CSV_TEXT, "tcvn3").encode("cp1252")),
])
def test_csv_in_every_encoding_is_read_and_the_encoding_reported(tmp_path: Path, encoding: str, data: bytes) -> None:
    raw = raw_folder(tmp_path)
    (raw / "2016" / "tt.csv").write_bytes(data)
    result = ingest(raw, tmp_path / "out")
    f = result.manifest["files"][-1]
    assert f["encoding"] == encoding and f["status"] == "ingested"
    m = store.load_table(tmp_path / "out", "membership")
    assert m[["unit_id", "members_total", "members_exempt"]].values.tolist() == [["tt-1", 1234, 2], ["tt-2", 15, 0]]


def test_windows_1258_is_not_taken_for_vni() -> None:
    assert decode_csv_bytes(encode_cp1258("Chi bộ Tổ dân phố 1,Đảng viên")) == ("Chi bộ Tổ dân phố 1,Đảng viên",
                                                                                "cp1258")


def test_semicolon_csv(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    (raw / "2016" / "tt.csv").write_text(CSV_TEXT.replace(",", ";").replace('"1.234"', "1.234"), encoding="utf-8")
    ingest(raw, tmp_path / "out")
    assert store.load_table(tmp_path / "out", "membership")["members_total"].tolist() == [1234, 15]


# --- .xls -------------------------------------------------------------------------------------

def test_xls_with_a_legacy_font_is_read_and_repaired(tmp_path: Path) -> None:
    xlwt = pytest.importorskip("xlwt")
    pytest.importorskip("xlrd")
    raw = raw_folder(tmp_path)
    book = xlwt.Workbook()
    sheet = book.add_sheet("Dang vien")
    style = xlwt.XFStyle()
    style.font = xlwt.Font()
    style.font.name = ".VnTime"
    rows = [["§¶ng bé ph­êng T©n Thanh"], [], ["STT", "Tªn chi bé", "Tæng sè ®¶ng viªn"],
            [1, "Chi bé Tæ d©n phè 1", 10], [2, "Chi bé Tæ d©n phè 2", 12]]
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            sheet.write(r, c, v, style)
    book.save(str(raw / "2016" / "tt.xls"))
    result = ingest(raw, tmp_path / "out")
    s = result.manifest["files"][-1]["sheets"][0]
    assert s["legacy_encoding"] == "tcvn3" and s["scope"] == "tt"
    assert store.load_table(tmp_path / "out", "membership")["members_total"].tolist() == [10, 12]


def test_xls_without_xlrd_gives_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real = builtins.__import__

    def no_xlrd(name, *args, **kwargs):
        if name == "xlrd":
            raise ImportError("no xlrd")
        return real(name, *args, **kwargs)

    raw = raw_folder(tmp_path)
    (raw / "2016" / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    monkeypatch.setattr(builtins, "__import__", no_xlrd)
    result = ingest(raw, tmp_path / "out")
    f = result.manifest["files"][-1]
    assert f["status"] == "unreadable" and "xlrd" in f["reason"] and "2016/old.xls" in f["reason"]


# --- unreadable files, exit codes -------------------------------------------------------------

def broken_files(raw: Path) -> dict[str, bytes]:
    files = {"2016/hong.xlsx": b"PK\x03\x04 this is not a zip at all",
             "2016/mat-khau.xlsx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,  # encrypted OOXML is OLE2
             "2016/rong.xlsx": b"",
             "2016/rong.csv": b"\n\n"}
    for rel, data in files.items():
        (raw / rel).write_bytes(data)
    return files


def test_unreadable_files_are_reported_and_the_rest_ingested(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    raw = raw_folder(tmp_path)
    good_workbook(raw / "2016" / "tt.xlsx")
    broken = broken_files(raw)
    code = main(["ingest", str(raw), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    manifest = store.read_manifest(tmp_path / "out")
    status = {f["file"]: f["status"] for f in manifest["files"] if f["kind"] == "data"}
    assert status == {**{rel: "unreadable" for rel in broken}, "2016/tt.xlsx": "ingested"}
    for rel in broken:
        assert rel in err
    reasons = {f["file"]: f["reason"] for f in manifest["files"] if f.get("status") == "unreadable"}
    assert "mật khẩu" in reasons["2016/mat-khau.xlsx"] and "rỗng" in reasons["2016/rong.xlsx"]
    assert manifest["totals"]["files_unreadable"] == 4
    assert len(store.load_table(tmp_path / "out", "membership")) == 2


def test_exit_2_only_when_nothing_could_be_read(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    raw = raw_folder(tmp_path)
    broken_files(raw)
    assert main(["ingest", str(raw), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "hong.xlsx" in capsys.readouterr().err


def test_exit_0_when_everything_went_in(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    good_workbook(raw / "2016" / "tt.xlsx")
    assert main(["ingest", str(raw), "--out", str(tmp_path / "out"), "--quiet"]) == 0


def test_exit_1_when_a_row_is_quarantined(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    path = good_workbook(raw / "2016" / "tt.xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(path)
    wb.active.append([3, "Chi bộ không có", 4])
    wb.save(path)
    assert main(["ingest", str(raw), "--out", str(tmp_path / "out"), "--quiet"]) == 1


# --- raw never written, byte-identical re-runs ---------------------------------------------------

def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_raw_is_never_written_and_reruns_are_byte_identical(sample_raw: Path, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("units.csv", "campaigns.csv", "merges.csv", "targets.csv", "dataset.yaml"):
        shutil.copy(sample_raw / name, raw / name)
    for year in ("2013", "2014"):  # 2013 has the TCVN3 workbook
        shutil.copytree(sample_raw / year, raw / year)
    (raw / "2014" / "extra.csv").write_bytes(encode_cp1258(CSV_TEXT))
    before = digest(raw)
    ingest(raw, tmp_path / "a")
    ingest(raw, tmp_path / "b")
    assert digest(raw) == before
    tables_a = {k: v for k, v in digest(tmp_path / "a").items() if k.endswith(".parquet")}
    tables_b = {k: v for k, v in digest(tmp_path / "b").items() if k.endswith(".parquet")}
    assert tables_a == tables_b and "membership.parquet" in tables_a
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()
