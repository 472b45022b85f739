"""run_claims / run_claims_batch: what the ``hoctap claims`` command prints and returns."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from analysis import claims as cl

TEXT = (
    "Đảng bộ có 31 chi bộ trực thuộc, 550 đảng viên.\n"
    "Năm 2014 đảng bộ tổ chức học tập nghị quyết cho 100% chi bộ, trên 96% đảng viên, gần 75% "
    "quần chúng nhân dân.\n"
    "Có 100% chi bộ đạt trong sạch vững mạnh (trong đó 6/31 chi bộ đạt trong sạch vững mạnh "
    "tiêu biểu). Gần 97% đảng viên hoàn thành tốt nhiệm vụ trở lên (trong đó 20% đảng viên hoàn "
    "thành xuất sắc nhiệm vụ).\n"
)

METRICS = {
    "unit_id": "u1",
    "unit_name": "Đảng bộ thử",
    "year": 2014,
    "units_count": 31,
    "members_count": 550,
    "coverage": {
        "units": {"numerator": 31, "denominator": 31, "pct": 100.0},
        "members": {"numerator": 513, "denominator": 532, "pct": 96.43},
        "public": {"numerator": 747, "denominator": 1000, "pct": 74.7},
    },
    "unit_ratings": {
        "scheme_id": "tsvm-2008",
        "assessed": 31,
        "not_assessed": 0,
        "levels": [
            {
                "rating_code": "tsvm",
                "rating_rank": 1,
                "label": "Trong sạch, vững mạnh",
                "count": 31,
                "pct": 100.0,
                "cumulative_pct": 100.0,
            },
            {
                "rating_code": "httnv",
                "rating_rank": 2,
                "label": "Hoàn thành tốt nhiệm vụ",
                "count": 0,
                "pct": 0.0,
                "cumulative_pct": 100.0,
            },
        ],
        "exemplary": {"count": 6, "pct_of_assessed": 19.35, "pct_of_level": 19.35},
    },
    "member_ratings": {
        "scheme_id": "tsvm-2008",
        "assessed": 532,
        "not_assessed": 0,
        "levels": [
            {
                "rating_code": "htxsnv",
                "rating_rank": 1,
                "label": "x",
                "count": 106,
                "pct": 19.92,
                "cumulative_pct": 19.92,
            },
            {
                "rating_code": "httnv",
                "rating_rank": 2,
                "label": "y",
                "count": 408,
                "pct": 76.69,
                "cumulative_pct": 96.62,
            },
        ],
    },
}


@pytest.fixture
def report(tmp_path: Path) -> Path:
    p = tmp_path / "bao-cao.txt"
    p.write_text(TEXT, encoding="utf-8")
    return p


def test_consistent_text_exits_zero(report: Path) -> None:
    code, out = cl.run_claims(report, METRICS)
    assert code == 0
    assert "Kết luận: ĐẠT" in out
    assert "«trên 96%» → coverage.members" in out


def test_one_wrong_qualifier_exits_one_and_is_listed_first_with_its_sentence(report: Path) -> None:
    report.write_text(TEXT.replace("trên 96%", "trên 97%"), encoding="utf-8")
    code, out = cl.run_claims(report, METRICS)
    assert code == 1
    lines = out.splitlines()
    assert lines[2].startswith("KHÔNG KHỚP VỚI SỐ LIỆU (1)")
    assert "«trên 97%» → coverage.members" in lines[3] and "96,43%" in lines[3]
    assert "trên 97% đảng viên, gần 75%" in lines[4]


def test_json_output_has_the_contract(report: Path) -> None:
    report.write_text(TEXT.replace("trên 96%", "trên 97%"), encoding="utf-8")
    code, out = cl.run_claims(report, METRICS, fmt="json")
    data = json.loads(out)
    assert code == 1
    assert set(data) >= {"claims", "arithmetic"}
    bad = [c for c in data["claims"] if c["consistent"] is False]
    assert [(c["text"], c["indicator"], c["stated"], c["computed"]) for c in bad] == [
        ("trên 97%", "coverage.members", 97.0, 96.43)
    ]
    assert all(
        {"text", "relation", "stated", "implied", "consistent", "hint"} <= set(r)
        for r in data["arithmetic"]
    )


def test_without_metrics_only_the_arithmetic_decides(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_text(
        "Có 439/709 tổ chức cơ sở đảng đạt trong sạch vững mạnh (62,62%).", encoding="utf-8"
    )
    code, out = cl.run_claims(p, None)
    assert code == 1
    assert "SỐ HỌC TRONG VĂN BẢN KHÔNG KHỚP (1)" in out and "701" in out
    ok = tmp_path / "b.txt"
    ok.write_text(TEXT, encoding="utf-8")
    assert cl.run_claims(ok, None)[0] == 0


def test_english_output(report: Path) -> None:
    code, out = cl.run_claims(report, METRICS, lang="en")
    assert code == 0 and "Verdict: PASS" in out


def test_unreadable_file_raises_input_error(tmp_path: Path) -> None:
    p = tmp_path / "bc.pdf"
    p.write_bytes(b"%PDF-1.4")
    with pytest.raises(cl.ClaimsInputError, match="bc.pdf"):
        cl.run_claims(p, None)


def test_batch_mode_one_line_per_file_and_csv(tmp_path: Path) -> None:
    (tmp_path / "01-dung.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "02-sai.md").write_text(
        "Có 2/3 chi bộ đạt trong sạch vững mạnh (66,6%).", encoding="utf-8"
    )
    (tmp_path / "03-hong.docx").write_bytes(b"not a zip")
    (tmp_path / "ghi-chu.pdf").write_bytes(b"%PDF")  # not a text: ignored
    out_csv = tmp_path / "tong-hop.csv"
    code, out = cl.run_claims_batch(tmp_path, None, out_csv)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("01-dung.txt:") and lines[0].endswith("ĐẠT")
    assert lines[1].startswith("02-sai.md:") and "1 quan hệ sai" in lines[1]
    assert lines[2].startswith("03-hong.docx: LỖI")
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8"))))
    assert [(r["file"], r["verdict"]) for r in rows] == [
        ("01-dung.txt", "pass"),
        ("02-sai.md", "fail"),
        ("03-hong.docx", "error"),
    ]
    assert rows[1]["relations_failed"] == "1"


def test_batch_with_metrics_per_file_and_csv_in_output(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(TEXT.replace("trên 96%", "trên 97%"), encoding="utf-8")
    (tmp_path / "b.txt").write_text(TEXT.replace("trên 96%", "trên 97%"), encoding="utf-8")
    code, out = cl.run_claims(tmp_path, {"a.txt": METRICS})
    assert code == 1
    assert "file,claims,consistent,inconsistent" in out
    rows = list(csv.DictReader(io.StringIO(out.split("\n\n", 1)[1])))
    assert [(r["file"], r["inconsistent"], r["verdict"]) for r in rows] == [
        ("a.txt", "1", "fail"),
        ("b.txt", "0", "pass"),
    ]


def test_batch_on_an_empty_folder_cannot_do_its_job(tmp_path: Path) -> None:
    code, _ = cl.run_claims_batch(tmp_path)
    assert code == 2
