"""Hostile raw files: zip bombs, oversized files, XML entity tricks, formula injection, odd paths."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from analysis.cli import main
from analysis.exports import neutralise, neutralise_frame
from analysis.intake import guards


def small_xlsx(path: Path) -> Path:
    wb = Workbook()
    wb.active.append(["STT", "Tên chi bộ", "Tổng số đảng viên"])
    wb.save(path)
    return path


def raw_with(sample_raw: Path, tmp: Path, extra: dict[str, Path]) -> Path:
    raw = tmp / "raw"
    raw.mkdir()
    for name in ("units.csv", "campaigns.csv"):
        shutil.copy(sample_raw / name, raw / name)
    shutil.copytree(sample_raw / "2014", raw / "2014")
    for rel, src in extra.items():
        (raw / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(src, raw / rel)
    return raw


def test_zip_bomb_is_refused_from_its_directory(tmp_path: Path) -> None:
    bomb = small_xlsx(tmp_path / "bomb.xlsx")
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet9.xml", b"\0" * (12 * 1024 * 1024))
    limits = guards.Limits(max_unzipped_mb=1024, max_ratio=100, ratio_floor_mb=5)
    with pytest.raises(guards.GuardError, match="bom zip"):
        guards.check_file(bomb, "bomb.xlsx", limits)
    with pytest.raises(guards.GuardError, match="bom zip"):
        guards.check_file(bomb, "bomb.xlsx", guards.Limits(max_unzipped_mb=5))


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * 300_000)
    with pytest.raises(guards.GuardError, match="quá lớn"):
        guards.check_file(big, "big.csv", guards.Limits(max_file_mb=1))
    guards.check_file(big, "big.csv", guards.Limits(max_file_mb=10))


def test_normal_workbook_passes(tmp_path: Path) -> None:
    guards.check_file(small_xlsx(tmp_path / "ok.xlsx"), "ok.xlsx")


def test_limits_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOCTAP_MAX_FILE_MB", "3")
    assert guards.Limits.from_env().max_file_mb == 3.0


def test_ingest_reports_a_bomb_and_ingests_the_rest(sample_raw: Path, tmp_path: Path, monkeypatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    bomb = small_xlsx(tmp_path / "bomb.xlsx")
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet9.xml", b"\0" * (12 * 1024 * 1024))
    raw = raw_with(sample_raw, tmp_path, {"2014/bom.xlsx": bomb})
    monkeypatch.setenv("HOCTAP_MAX_UNZIPPED_MB", "8")
    code = main(["ingest", str(raw), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "2014/bom.xlsx" in err and "bom zip" in err
    from analysis import store

    assert len(store.load_table(tmp_path / "out", "membership")) == 52  # every 2014 leaf unit


def billion_laughs_xlsx(path: Path) -> Path:
    """A workbook whose sheet XML declares nested entities (the 'billion laughs')."""
    small_xlsx(path)
    doctype = ('<!DOCTYPE worksheet [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'
               '&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>')
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                if text.startswith("<?xml"):
                    head, rest = text.split("?>", 1)
                    head += "?>"
                else:
                    head, rest = '<?xml version="1.0" encoding="UTF-8"?>', text
                data = (head + doctype + rest.replace(">STT<", ">&lol3;<", 1)).encode()
            dst.writestr(item, data)
    tmp.replace(path)
    return path


def test_xml_entity_expansion_does_nothing(sample_raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    evil = billion_laughs_xlsx(tmp_path / "evil.xlsx")
    raw = raw_with(sample_raw, tmp_path, {"2014/evil.xlsx": evil})
    code = main(["ingest", str(raw), "--out", str(tmp_path / "out"), "--quiet"])
    out = capsys.readouterr()
    assert code == 1
    assert "2014/evil.xlsx" in out.err
    assert "lollollol" not in out.out + out.err


def test_formula_injection_is_neutralised_for_excel() -> None:
    assert neutralise('=HYPERLINK("http://evil","x")') == '\'=HYPERLINK("http://evil","x")'
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("Chi bộ 1") == "Chi bộ 1"
    df = neutralise_frame(pd.DataFrame({"unit_name": ["=1+1", "ok"], "n": [1, 2]}))
    assert df["unit_name"].tolist() == ["'=1+1", "ok"] and df["n"].tolist() == [1, 2]


def test_folders_with_spaces_and_vietnamese_characters(sample_raw: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    raw = tmp_path / "Dữ liệu thô" / "năm 2014 (bản gốc)"
    raw.mkdir(parents=True)
    for name in ("units.csv", "campaigns.csv"):
        shutil.copy(sample_raw / name, raw / name)
    shutil.copytree(sample_raw / "2014", raw / "2014")
    out = tmp_path / "Kết quả xử lý"
    assert main(["ingest", str(raw), "--out", str(out), "--quiet"]) == 0
    assert main(["metrics", "--unit", "tan-thanh", "--year", "2014", "--data", str(out), "--format", "json"]) == 0
    assert '"unit_id": "tan-thanh"' in capsys.readouterr().out


def test_symlink_pointing_outside_raw_is_refused(sample_raw: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    secret = tmp_path / "outside.csv"
    secret.write_text("unit_id,secret\nx,1\n", encoding="utf-8")
    raw = raw_with(sample_raw, tmp_path, {})
    (raw / "2014" / "link.csv").symlink_to(secret)
    code = main(["ingest", str(raw), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "link.csv" in err and "ngoài" in err


def test_raw_folder_is_never_written(sample_raw: Path, tmp_path: Path) -> None:
    raw = raw_with(sample_raw, tmp_path, {})

    def snapshot() -> dict[str, tuple[int, bytes]]:
        return {str(p): (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(raw.rglob("*")) if p.is_file()}

    before = snapshot()
    main(["ingest", str(raw), "--out", str(tmp_path / "out"), "--quiet"])
    assert snapshot() == before


def test_metrics_xlsx_holds_hostile_text_as_text(tmp_path: Path) -> None:
    import openpyxl

    from analysis.exports import write_frames_xlsx

    evil = '=HYPERLINK("http://evil","x")'
    path = tmp_path / "metrics.xlsx"
    write_frames_xlsx({"theo_don_vi": pd.DataFrame({"unit_name": [evil, "http://x.vn", "1,5"], "n": [1, 2, 3]})},
                      path, note="@SUM(A1)")
    wb = openpyxl.load_workbook(path)
    cells = [c for row in wb["theo_don_vi"].iter_rows(min_row=2) for c in row]
    assert [c.data_type for c in cells] == ["s", "n", "s", "n", "s", "n"]
    assert cells[0].value == "'" + evil and cells[0].hyperlink is None and cells[2].hyperlink is None
    assert wb["ghi_chu"]["A2"].value == "'@SUM(A1)" and wb["ghi_chu"]["A2"].data_type == "s"
    assert wb["theo_don_vi"].freeze_panes == "A2"
