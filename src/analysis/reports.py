"""Rendering dashboards: typed parameters, incremental and parallel papermill runs, offline HTML.

One report is ``reports/<unit>/<year>/`` (trends: ``reports/<unit>/trends-A-B/``) holding the HTML
(code hidden, plotly.js inline once, no CDN, no require.js/MathJax), the executed notebook,
``metrics.json``/``metrics.xlsx`` (annual), ``validation.json``/``.html``, ``provenance.json`` and
``input-hash.json``. Everything is written to a temporary folder first and moved into place, so a
failed render leaves the previous report (and ``failed.ipynb``, the partial notebook, beside it).

Concurrent and interrupted runs: a run that writes reports (``render_batch``, ``render_one``,
``hoctap report``) holds an exclusive lock on the reports root (:func:`reports_lock`); a second
run on the same folder stops at once with "đang được một lần chạy khác ghi". A new report replaces
the previous one in a single atomic exchange of the two folders (``renameat2(RENAME_EXCHANGE)``
on Linux; elsewhere two renames, and a report moved aside by a run killed between them is put
back by the next run). Work folders (``<unit>/.<name>.*``) are never read as reports and the next
run removes them; ``index.html`` and ``run-summary.json`` are each replaced atomically.

Incremental runs: a report is skipped when the hash of its inputs equals the one stored in its
folder. The inputs are (:func:`fingerprint`): the rows of processed data the report reads (the
unit's subtree × the years it shows, every table; the unit tree rows of the subtree and its
ancestors; the campaigns of those years; the targets and merges that touch them), the dataset
note, the raw files listed in the provenance, the data-quality inputs (quarantine, intake
findings, expectation suites), the notebook file, the package version and a fingerprint of the
package's code and reference data, and the parameters (without the declared volatile ones).

Reproducible HTML: the only volatile field of a rendered page is the render time
(``<span class="volatile">``); :func:`strip_volatile` removes it. Chart ``div`` ids are
deterministic and cell ids are normalised before export.

Example:
    >>> params = build_params("annual", unit_id="tan-thanh", year=2014, data_dir="data/processed")  # doctest: +SKIP
    >>> render_one("annual", params, Path("reports"))  # doctest: +SKIP
    PosixPath('reports/tan-thanh/2014/dashboard.html')
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as _dt
import errno
import hashlib
import html as _html
import json
import multiprocessing
import multiprocessing.util
import os
import re
import secrets
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from analysis import __version__, hierarchy, kernels, store
from analysis.config import default_paths

#: Declared parameters of each notebook kind: name -> type. Checked before a kernel starts.
PARAMS: dict[str, dict[str, type]] = {
    "annual": {"unit_id": str, "year": int, "data_dir": str, "lang": str, "validation_path": str,
               "rendered_at": str, "out_dir": str},
    "trends": {"unit_id": str, "start_year": int, "end_year": int, "data_dir": str, "lang": str,
               "rendered_at": str},
    "data_quality": {"unit_id": str, "year": int, "data_dir": str, "lang": str, "validation_path": str,
                     "rendered_at": str},
}
NOTEBOOKS = {"annual": "annual_dashboard.ipynb", "trends": "trends.ipynb", "data_quality": "data_quality.ipynb"}
#: The HTML file of each kind inside its report folder.
REPORT_FILES = {"annual": "dashboard.html", "trends": "trends.html", "data_quality": "data_quality.html"}
#: Kinds whose notebooks' markdown cells are notes for notebook users, not part of the page.
HIDE_MARKDOWN = {"annual": True, "trends": True, "data_quality": False}
LANGS = ("vi", "en")
HASH_FILE = "input-hash.json"
PROVENANCE_FILE = "provenance.json"
FAILED_NOTEBOOK = "failed.ipynb"
SUMMARY_FILE = "run-summary.json"
INDEX_FILE = "index.html"
#: Parameters left out of the input hash: volatile (render time) or locations, not content.
UNHASHED_PARAMS = ("rendered_at", "validation_path", "out_dir", "data_dir")
#: The declared volatile fields of a rendered page (see :func:`strip_volatile`).
VOLATILE_PATTERNS = (re.compile(r'(<span class="volatile">)[^<]*(</span>)'),)
#: Blocks of nbconvert's template that would load code from a CDN or from nowhere.
_TEMPLATE_JUNK = (
    re.compile(r'<script src="">\s*</script>'),
    re.compile(r'<script type="text/x-mathjax-config">.*?</script>', re.S),
    re.compile(r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded", async \(\) => \{\s*'
               r'const diagrams = document\.querySelectorAll\("\.jp-Mermaid.*?</script>', re.S),
)


class ReportParamError(ValueError):
    """Parameters are wrong (exit 2 with the valid choices)."""


class ReportError(RuntimeError):
    """A notebook failed to execute or export (the partial notebook is kept beside the error)."""


class ReportsBusyError(RuntimeError):
    """Another run is writing the same reports folder (message in Vietnamese; exit 2)."""


def now_text() -> str:
    """The render time shown in the provenance footer (the declared volatile field)."""
    return _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


# ---------------------------------------------------------------------------------------------
# Concurrent and interrupted runs
# ---------------------------------------------------------------------------------------------

#: Test hook of the kill tests: ``"moment=seconds[,moment=seconds]"`` sleeps at those moments
#: (``locked``, ``swap``, ``index``, ``summary``); each moment reached is first appended as
#: ``"<moment> <pid>"`` to the file named by :data:`TEST_MARK_ENV`. Never set outside tests.
TEST_PAUSE_ENV = "HOCTAP_TEST_REPORT_PAUSE"
TEST_MARK_ENV = "HOCTAP_TEST_REPORT_MARK"
#: Folder names of reports inside a unit folder (annual, data quality, trends).
_REPORT_NAME = r"\d{4}(?:-data-quality)?|trends-\d{4}-\d{4}"
#: A work folder (``tempfile.mkdtemp(prefix=".<name>.")``) or a previous report moved aside.
_WORK_RE = re.compile(rf"^\.({_REPORT_NAME})\.[a-z0-9_]{{8}}$")
_OLD_RE = re.compile(rf"^\.({_REPORT_NAME})\.old-\d+-[0-9a-f]{{8}}$")
#: Temporary files of the atomic writes at the root of the reports folder.
_ROOT_TMP_RE = re.compile(rf"^\.({re.escape(INDEX_FILE)}|{re.escape(SUMMARY_FILE)})\..+\.tmp$")


def _test_pause(moment: str) -> None:
    """Sleep at ``moment`` when the kill tests ask for it (see :data:`TEST_PAUSE_ENV`)."""
    spec = os.environ.get(TEST_PAUSE_ENV)
    if not spec:
        return
    for part in spec.split(","):
        name, _, seconds = part.partition("=")
        if name.strip() != moment:
            continue
        mark = os.environ.get(TEST_MARK_ENV)
        if mark:
            with open(mark, "a", encoding="utf-8") as fh:
                fh.write(f"{moment} {os.getpid()}\n")
        time.sleep(float(seconds or 0))


@contextlib.contextmanager
def reports_lock(out_dir: Path) -> Iterator[None]:
    """Hold the exclusive lock of a reports folder while writing into it, and tidy first what an
    interrupted run left there (:func:`recover_reports`).

    Raises:
        ReportsBusyError: Another run holds the lock (``hoctap report`` exits 2 with this message).
    """
    out_dir = Path(out_dir)
    try:
        with store.folder_lock(out_dir, "hoctap report"):
            recover_reports(out_dir)
            yield
    except store.LockedError:
        owner = ""
        with contextlib.suppress(OSError, ValueError):
            pid = int((out_dir / store.LOCK_FILE).read_text(encoding="utf-8").split()[0])
            owner = f"tiến trình {pid}, "
        raise ReportsBusyError(f"Thư mục báo cáo '{out_dir}' đang được một lần chạy khác ghi ({owner}"
                               f"'hoctap report'); thử lại sau khi lần chạy đó xong") from None


def recover_reports(out_dir: Path) -> dict[str, int]:
    """Put back what a run killed mid-way left in a reports folder (call it holding the lock).

    A previous report moved aside (``<unit>/.<name>.old-*``) whose place is empty goes back; work
    folders (``<unit>/.<name>.*``), other moved-aside reports and temporary index/summary files
    are removed. Nothing else is touched.

    Returns:
        ``{"restored": n, "removed": n}``.
    """
    out_dir = Path(out_dir)
    done = {"restored": 0, "removed": 0}
    if not out_dir.is_dir():
        return done
    for entry in sorted(out_dir.iterdir()):
        if entry.is_file() and _ROOT_TMP_RE.match(entry.name):
            entry.unlink(missing_ok=True)
            done["removed"] += 1
        if entry.name.startswith(".") or not entry.is_dir() or entry.is_symlink():
            continue
        for sub in sorted(entry.iterdir()):
            if not sub.name.startswith(".") or sub.is_symlink() or not sub.is_dir():
                continue
            old, work = _OLD_RE.match(sub.name), _WORK_RE.match(sub.name)
            if old and not (entry / old.group(1)).exists():
                os.replace(sub, entry / old.group(1))
                done["restored"] += 1
            elif old or work:
                shutil.rmtree(sub, ignore_errors=True)
                done["removed"] += 1
    return done


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns:
        False when the system or file system cannot (the caller falls back to two renames).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _worker_init(batch_pid: int) -> None:
    """A batch's worker dies with the batch: a killed ``hoctap report --all`` must not leave
    renders that go on writing into the reports folder once its lock is gone.

    (The workers' parent is the forkserver, which outlives a killed batch as long as the workers
    hold its pipe, so the parent-death signal cannot do this: a thread watches the batch instead.)
    """
    def watch() -> None:
        try:
            fd = os.pidfd_open(batch_pid)
        except (AttributeError, OSError) as exc:  # no pidfd (old kernel, not Linux): poll
            if isinstance(exc, ProcessLookupError):
                os.kill(os.getpid(), signal.SIGKILL)
            while True:
                time.sleep(0.5)
                try:
                    os.kill(batch_pid, 0)
                except ProcessLookupError:
                    break
                except PermissionError:
                    continue
        else:
            select.select([fd], [], [])  # readable once the batch process has ended
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="hoctap-batch-watch", daemon=True).start()
    _WARM.enable()


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DataContext:
    """What parameter checks need from a processed folder, read once per batch.

    Attributes:
        data_dir: The processed folder (absolute).
        units: The unit tree.
        data_years: Years with any data.
    """

    data_dir: Path
    units: pd.DataFrame
    data_years: tuple[int, ...]

    @classmethod
    def load(cls, data_dir: Path | str) -> DataContext:
        """Read the manifest, the unit tree and the data years.

        Raises:
            ReportParamError: No usable processed data.
        """
        data_dir = Path(data_dir).resolve()
        try:
            store.read_manifest(data_dir)
            units = store.load_table(data_dir, "units")
            years = _data_years(data_dir)
        except store.DataMissingError as exc:
            raise ReportParamError(str(exc)) from exc
        return cls(data_dir, units, tuple(years))

    def unit_years(self, unit_id: str) -> list[int]:
        """Years with data in which ``unit_id`` is active."""
        active = set(hierarchy.years_active(self.units, unit_id))
        return [y for y in self.data_years if y in active]


def build_params(kind: str, *, unit_id: str, data_dir: Path | str, lang: str = "vi", year: int | None = None,
                 start_year: int | None = None, end_year: int | None = None,
                 context: DataContext | None = None) -> dict:
    """Typed, validated parameters for a notebook kind (checked before any kernel starts).

    Args:
        kind: ``annual``, ``trends`` or ``data_quality``.
        unit_id: The unit.
        data_dir: Processed folder.
        lang: ``vi`` or ``en``.
        year: The year (annual, data_quality).
        start_year: First year (trends; default the unit's first year with data).
        end_year: Last year (trends; default the unit's last year with data).
        context: The folder's :class:`DataContext` when already loaded (batches).

    Raises:
        ReportParamError: Unknown kind, language, unit or year (the message lists valid choices).
    """
    if kind not in PARAMS:
        raise ReportParamError(f"Loại báo cáo không hợp lệ '{kind}'. Chọn: {', '.join(PARAMS)}")
    if lang not in LANGS:
        raise ReportParamError(f"Ngôn ngữ không hợp lệ '{lang}'. Chọn: {', '.join(LANGS)}")
    if not isinstance(unit_id, str) or not unit_id:
        raise ReportParamError("Tham số 'unit_id' phải là chuỗi khác rỗng")
    ctx = context or DataContext.load(data_dir)
    known = hierarchy.known_unit_ids(ctx.units)
    if unit_id not in known:
        shown = ", ".join(known[:30]) + (" …" if len(known) > 30 else "")
        raise ReportParamError(f"Không có đơn vị '{unit_id}'. Các đơn vị đã biết: {shown}")
    active = ctx.unit_years(unit_id)
    params: dict = {"unit_id": unit_id, "data_dir": str(ctx.data_dir), "lang": lang}
    if kind in ("annual", "data_quality"):
        if year is None:
            raise ReportParamError(f"Cần --year. Các năm có số liệu của '{unit_id}': {', '.join(map(str, active))}")
        if isinstance(year, bool) or not isinstance(year, int) or year not in active:
            raise ReportParamError(f"Không có số liệu của '{unit_id}' năm {year}. Các năm có số liệu: "
                                   f"{', '.join(map(str, active)) or 'không có'}")
        params["year"] = int(year)
    else:
        if not active:
            raise ReportParamError(f"Không có số liệu của '{unit_id}'")
        params["start_year"] = int(start_year if start_year is not None else active[0])
        params["end_year"] = int(end_year if end_year is not None else active[-1])
        if params["start_year"] > params["end_year"]:
            raise ReportParamError(f"start_year ({params['start_year']}) lớn hơn end_year ({params['end_year']})")
        if not [y for y in active if params["start_year"] <= y <= params["end_year"]]:
            raise ReportParamError(f"Không có số liệu của '{unit_id}' trong {params['start_year']}–"
                                   f"{params['end_year']}. Các năm có số liệu: {', '.join(map(str, active))}")
    check_params(kind, params)
    return params


def _data_years(data_dir: Path) -> list[int]:
    years: set[int] = set()
    for name in ("membership", "unit_ratings", "member_ratings", "campaigns"):
        df = store.load_table(data_dir, name, columns=["year"])
        years.update(int(y) for y in df["year"].dropna().unique())
    return sorted(years)


def check_params(kind: str, params: dict) -> None:
    """Reject unknown parameters and wrong types before a kernel starts.

    Raises:
        ReportParamError: Naming the parameter and the declared ones.

    Example:
        >>> try:
        ...     check_params("trends", {"unit_id": "a", "start_year": "2014"})
        ... except ReportParamError as exc:
        ...     print(exc)
        Tham số 'start_year' phải là int, nhận str
    """
    if kind not in PARAMS:
        raise ReportParamError(f"Loại báo cáo không hợp lệ '{kind}'. Chọn: {', '.join(PARAMS)}")
    declared = PARAMS[kind]
    for name, value in params.items():
        if name not in declared:
            raise ReportParamError(f"Tham số không hợp lệ '{name}'. Các tham số: {', '.join(declared)}")
        expected = declared[name]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ReportParamError(f"Tham số '{name}' phải là {expected.__name__}, nhận {type(value).__name__}")


def _safe_name(unit_id: str) -> str:
    safe = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "-_." else "_" for ch in unit_id).strip(".")
    if safe != unit_id or not safe:
        safe = f"{safe[:60] or 'unit'}-{hashlib.sha256(unit_id.encode('utf-8')).hexdigest()[:8]}"
    return safe


def report_dir(out_dir: Path, kind: str, params: dict) -> Path:
    """Where a report goes: ``<out>/<unit>/<year>/`` (trends: ``<out>/<unit>/trends-A-B/``,
    data quality: ``<out>/<unit>/<year>-data-quality/``).

    A unit id that is not a plain file name (quotes, slashes, newlines …) becomes a safe name
    with a short hash, so two ids never share a folder.

    Example:
        >>> report_dir(Path("r"), "annual", {"unit_id": "tan-thanh", "year": 2014})
        PosixPath('r/tan-thanh/2014')
    """
    unit = _safe_name(params["unit_id"])
    if kind == "trends":
        return Path(out_dir) / unit / f"trends-{params['start_year']}-{params['end_year']}"
    sub = str(params["year"]) if kind == "annual" else f"{params['year']}-data-quality"
    return Path(out_dir) / unit / sub


def report_years(units: pd.DataFrame, kind: str, params: dict) -> list[int]:
    """The years a report reads (annual and data quality: every active year up to its year)."""
    from analysis.dashboard import annual_years

    if kind == "trends":
        active = hierarchy.years_active(units, params["unit_id"], until=params["end_year"])
        return [y for y in active if params["start_year"] <= y]
    return annual_years(units, params["unit_id"], params["year"])


# ---------------------------------------------------------------------------------------------
# Input fingerprint (incremental runs)
# ---------------------------------------------------------------------------------------------

def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def _file_sha(path: Path) -> str:
    return store.sha256_file(path) if path.is_file() else "missing"


def frame_digest(df: pd.DataFrame) -> str:
    """An order-independent hash of a frame's rows, columns and dtypes.

    Example:
        >>> a = pd.DataFrame({"x": [1, 2]}); b = pd.DataFrame({"x": [2, 1]})
        >>> frame_digest(a) == frame_digest(b), frame_digest(a) == frame_digest(a.assign(x=[1, 3]))
        (True, False)
    """
    header = "|".join(f"{c}:{t}" for c, t in zip(df.columns, df.dtypes.astype(str), strict=True))
    if len(df) == 0:
        return _sha(header + "|0")
    rows = np.sort(pd.util.hash_pandas_object(df, index=False).to_numpy())
    return _sha(header.encode("utf-8") + rows.tobytes())


@cache
def code_fingerprint() -> str:
    """A hash of the package's code and reference data (changes whenever either changes)."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(__version__.encode("utf-8"))
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".csv", ".yaml", ".yml", ".json", ".tsv") \
                and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode("utf-8"))
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _expectations_digest() -> str:
    folder = default_paths().expectations
    if not folder.is_dir():
        return "none"
    return _sha("".join(f"{p.name}:{_file_sha(p)};" for p in sorted(folder.glob("*.json"))))


class SliceSource:
    """Loads, per unit, the rows any of its reports can read (its subtree over every active year)
    once, and hashes the exact slice of each report from them.

    Args:
        context: The processed folder's :class:`DataContext`.
    """

    def __init__(self, context: DataContext) -> None:
        self.context = context
        self.manifest = store.read_manifest(context.data_dir)
        self._unit: str | None = None
        self._tables: store.Tables | None = None

    def tables_for(self, unit_id: str) -> store.Tables:
        """The unit's subtree over all its active years (cached for the last unit asked)."""
        from analysis.dashboard import slice_units

        if self._unit != unit_id or self._tables is None:
            years = self.context.unit_years(unit_id)
            ids = slice_units(self.context.units, unit_id, years)
            self._tables = store.load_tables(self.context.data_dir, unit_ids=ids, years=years)
            self._unit = unit_id
        return self._tables

    def data_digests(self, kind: str, params: dict) -> dict[str, str]:
        """Hash of every table slice the report reads."""
        from analysis.dashboard import input_files, provenance_scope, slice_units

        units = self.context.units
        uid = params["unit_id"]
        years = [y for y in report_years(units, kind, params) if y in self.context.data_years]
        t = self.tables_for(uid)
        ids = slice_units(units, uid, years)
        scope = provenance_scope(units, uid, years)
        year_set = set(years)
        camp = t.campaigns[t.campaigns["year"].isin(year_set)]
        out = {
            "units": frame_digest(units[units["unit_id"].isin(scope)]),
            "campaigns": frame_digest(camp),
            "membership": frame_digest(_rows(t.membership, ids, year_set)),
            "unit_ratings": frame_digest(_rows(t.unit_ratings, ids, year_set)),
            "member_ratings": frame_digest(_rows(t.member_ratings, ids, year_set)),
            "study_participation": frame_digest(t.study_participation[
                t.study_participation["unit_id"].isin(ids)
                & t.study_participation["campaign_id"].isin(set(camp["campaign_id"]))]),
            "targets": frame_digest(t.targets[t.targets["unit_id"].isin(scope)] if len(t.targets.columns) else t.targets),
            "merges": frame_digest(t.merges[t.merges["from_unit_id"].isin(ids) | t.merges["to_unit_id"].isin(ids)]
                                   if len(t.merges.columns) else t.merges),
            "dataset": _sha(json.dumps(self.manifest.get("dataset") or {}, sort_keys=True, ensure_ascii=False)),
            "input_files": _sha(json.dumps(input_files(self.manifest, scope, _provenance_years(kind, params, years)),
                                           sort_keys=True)),
        }
        if kind in ("annual", "data_quality"):
            tables = self.manifest.get("tables", {})
            out["quality"] = _sha(json.dumps({
                "quarantine": tables.get("quarantine", {}).get("sha256"),
                "findings": self.manifest.get("findings", []),
                "expectations": _expectations_digest()}, sort_keys=True, ensure_ascii=False, default=str))
        return out


def _provenance_years(kind: str, params: dict, years: list[int]) -> list[int]:
    return years if kind == "trends" else [params["year"]]


def _rows(df: pd.DataFrame, ids: list[str], years: set[int]) -> pd.DataFrame:
    return df[df["unit_id"].isin(ids) & df["year"].isin(years)]


def fingerprint(kind: str, params: dict, source: SliceSource, notebooks_dir: Path | None = None) -> dict:
    """The input hash of a report and its components (stored as ``input-hash.json``).

    Returns:
        ``{"input_hash": hex, "components": {name: hex}}``.
    """
    nb = (notebooks_dir or default_paths().notebooks) / NOTEBOOKS[kind]
    hashed = {k: v for k, v in sorted(params.items()) if k not in UNHASHED_PARAMS}
    components = {
        "kind": kind,
        "parameters": _sha(json.dumps(hashed, sort_keys=True, ensure_ascii=False)),
        "notebook": _file_sha(nb),
        "package_version": __version__,
        "code": code_fingerprint(),
        **{f"data.{k}": v for k, v in source.data_digests(kind, params).items()},
    }
    return {"input_hash": _sha(json.dumps(components, sort_keys=True)), "components": components}


def stored_hash(target: Path) -> str | None:
    """The input hash stored in a report folder, or None."""
    try:
        return json.loads((target / HASH_FILE).read_text(encoding="utf-8")).get("input_hash")
    except (OSError, ValueError, AttributeError):
        return None


def is_up_to_date(kind: str, target: Path, input_hash: str) -> bool:
    """Whether ``target`` holds a complete report rendered from inputs with ``input_hash``."""
    return (target / REPORT_FILES[kind]).is_file() and stored_hash(target) == input_hash


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------

@cache
def _exporter(lang: str, hide_markdown: bool) -> Any:
    """One nbconvert HTML exporter per (language, markdown shown) and process: its Jinja templates
    are compiled once, not once per report."""
    from nbconvert import HTMLExporter

    return HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                        exclude_markdown=hide_markdown, mathjax_url="", require_js_url="",
                        embed_images=True, language_code=lang)


def _exporter_for(lang: str, hide_markdown: bool) -> Any:
    """:func:`_exporter` of ``lang`` (Vietnamese for a language the reports do not have)."""
    return _exporter(lang if lang in LANGS else "vi", hide_markdown)


def _warm_exporter(lang: str, hide_markdown: bool) -> None:
    """Build the exporter and compile its templates (an empty notebook's export) ahead of use."""
    import nbformat

    with contextlib.suppress(Exception):  # only a warm-up: the real export reports its own errors
        _exporter_for(lang, hide_markdown).from_notebook_node(nbformat.v4.new_notebook())


def export_html(notebook_path: Path, title: str = "", lang: str = "vi", hide_markdown: bool = True) -> str:
    """Export an executed notebook to offline HTML with the code hidden.

    No require.js, no MathJax, no mermaid loader, no input cells or prompts: what remains is the
    outputs, which embed plotly.js once inline. Cell ids are normalised so the page does not
    change between renders.
    """
    import nbformat

    from analysis import charts

    nb = nbformat.read(notebook_path, as_version=4)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:03d}"
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    nb.metadata.pop("papermill", None)
    if title:
        nb.metadata["title"] = title
    exporter = _exporter_for(lang, hide_markdown)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or notebook_path.stem}})
    return charts.inline_plotlyjs(clean_html(body))


def clean_html(page: str) -> str:
    """Remove nbconvert's template blocks that would load code from a CDN or from nowhere."""
    for pattern in _TEMPLATE_JUNK:
        page = pattern.sub("", page)
    return page


def strip_volatile(page: str) -> str:
    """The page with its declared volatile fields (the render time) emptied.

    Example:
        >>> strip_volatile('<p>x <span class="volatile">2026-01-01 10:00</span></p>')
        '<p>x <span class="volatile"></span></p>'
    """
    for pattern in VOLATILE_PATTERNS:
        page = pattern.sub(r"\1\2", page)
    return page


# ---------------------------------------------------------------------------------------------
# One report
# ---------------------------------------------------------------------------------------------

@dataclass
class ReportResult:
    """What happened to one report.

    Attributes:
        kind: Notebook kind.
        params: Its parameters.
        status: ``rendered``, ``skipped`` or ``failed``.
        path: The HTML (rendered or skipped).
        seconds: Wall time.
        error: The error (failed).
        partial_notebook: The partial notebook kept beside a failure, if any.
        input_hash: The input hash.
    """

    kind: str
    params: dict
    status: str
    path: str | None = None
    seconds: float = 0.0
    error: str | None = None
    partial_notebook: str | None = None
    input_hash: str | None = None

    def to_json(self) -> dict:
        """The summary entry (keys: unit_id, year or start/end_year, status, path, seconds …)."""
        out: dict[str, Any] = {"kind": self.kind, "unit_id": self.params.get("unit_id")}
        for key in ("year", "start_year", "end_year"):
            if key in self.params:
                out[key] = self.params[key]
        out.update({"status": self.status, "path": self.path, "seconds": round(self.seconds, 2),
                    "input_hash": self.input_hash})
        if self.error:
            out["error"] = self.error
        if self.partial_notebook:
            out["partial_notebook"] = self.partial_notebook
        return out


def _label_of(kind: str, params: dict) -> str:
    if kind == "trends":
        return f"{params.get('unit_id')} {params.get('start_year')}–{params.get('end_year')}"
    return f"{params.get('unit_id')} {params.get('year', '')}".strip()


def render_one(kind: str, params: dict, out_dir: Path, force: bool = True, timeout: int = 600,
               notebooks_dir: Path | None = None, rendered_at: str | None = None) -> Path:
    """Execute one notebook with papermill and export it; return the path of the HTML.

    Args:
        kind: ``annual``, ``trends`` or ``data_quality``.
        params: Output of :func:`build_params`.
        out_dir: Reports root.
        force: Re-render even when the stored input hash matches (else an up-to-date report is kept).
        timeout: papermill's per-cell execution timeout in seconds.
        notebooks_dir: Folder of the notebooks (default: the project's).
        rendered_at: The render time to show (volatile); now by default.

    Raises:
        ReportParamError: Parameters are wrong (before any kernel starts).
        ReportError: A cell failed, the kernel died or the export failed; the partial notebook is
            kept as ``<report>/failed.ipynb``.
        ReportsBusyError: Another run is writing ``out_dir`` (:func:`reports_lock`).
    """
    with reports_lock(out_dir):
        result = render_job(kind, params, Path(out_dir), force=force, timeout=timeout,
                            notebooks_dir=notebooks_dir, rendered_at=rendered_at)
    if result.status == "failed":
        raise ReportError(result.error or "lỗi")
    return Path(result.path or "")


def render_job(kind: str, params: dict, out_dir: Path, force: bool = False, timeout: int = 600,
               notebooks_dir: Path | None = None, rendered_at: str | None = None,
               source: SliceSource | None = None, fingerprint_: dict | None = None,
               validation: dict | None = None) -> ReportResult:
    """Render one report unless it is up to date; never raises for a notebook failure.

    It takes no lock: a caller writing into a folder others may write holds :func:`reports_lock`
    (``render_one``, ``render_batch`` and ``hoctap report`` do). ``validation`` is the report's
    gate result when the batch computed it (:func:`batch_validations`).

    Raises:
        ReportParamError: Parameters are wrong (before any kernel starts).
    """
    start = time.perf_counter()
    check_params(kind, params)
    out_dir = Path(out_dir).resolve()
    target = report_dir(out_dir, kind, params)
    if fingerprint_ is None:
        source = source or SliceSource(DataContext.load(params["data_dir"]))
        fingerprint_ = fingerprint(kind, params, source, notebooks_dir)
    input_hash = fingerprint_["input_hash"]
    html_path = target / REPORT_FILES[kind]
    if not force and is_up_to_date(kind, target, input_hash):
        return ReportResult(kind, params, "skipped", str(html_path), time.perf_counter() - start,
                            input_hash=input_hash)
    try:
        _render(kind, params, target, timeout, notebooks_dir, rendered_at, fingerprint_, validation)
    except ReportError as exc:
        partial = target / FAILED_NOTEBOOK
        return ReportResult(kind, params, "failed", None, time.perf_counter() - start, str(exc),
                            str(partial) if partial.is_file() else None, input_hash)
    return ReportResult(kind, params, "rendered", str(html_path), time.perf_counter() - start,
                        input_hash=input_hash)


def _render(kind: str, params: dict, target: Path, timeout: int, notebooks_dir: Path | None,
            rendered_at: str | None, fp: dict, validation: dict | None = None) -> None:
    import papermill as pm

    from analysis import charts

    nb_in = (notebooks_dir or default_paths().notebooks) / NOTEBOOKS[kind]
    what = _label_of(kind, params)
    if not nb_in.is_file():
        raise ReportError(f"{kind} {what}: không có notebook '{nb_in}'")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent)).resolve()
    os.chmod(work, 0o755)
    ending: list[tuple[threading.Thread, _Kernel]] = []  # kernels shutting down while the page is exported
    warming: threading.Thread | None = None
    try:
        full = dict(params)
        full["rendered_at"] = rendered_at if rendered_at is not None else now_text()
        _WARM.prepare(ahead=True)  # this report's kernel starts (and imports) while the gate runs here
        if kind in ("annual", "data_quality"):
            full["validation_path"] = str(_write_validation(params, work, validation))
        if kind == "annual":
            full["out_dir"] = str(work)
        check_params(kind, full)
        executed = work / f"{Path(REPORT_FILES[kind]).stem}.ipynb"
        kernel_log = work / "kernel.log"
        if _WARM.waiting() and _exporter.cache_info().currsize == 0:
            # the exporter's first (slow) use, in a thread while the kernel boots and runs the cells
            warming = threading.Thread(target=_warm_exporter, args=(params["lang"], HIDE_MARKDOWN[kind]),
                                       name="hoctap-exporter", daemon=True)
            warming.start()
        warm = _WARM.take()
        _WARM.prepare()  # in a batch: the next report's kernel starts while this one renders
        try:
            with contextlib.ExitStack() as stack:
                kernel: dict[str, Any] = {}
                if warm is not None:  # a fresh kernel started ahead, the package already imported
                    kernel_log, kernel["km"] = warm.log, warm.km
                    stack.callback(lambda: ending.append((warm.shut_down_meanwhile(), warm)))
                else:  # papermill starts the kernel
                    stack.enter_context(_kernel_env({charts.PLOTLYJS_ENV: "defer"}))
                    stack.enter_context(_stderr_to(kernel_log))
                pm.execute_notebook(str(nb_in), str(executed), parameters=full, kernel_name="python3",
                                    execution_timeout=timeout, progress_bar=False, log_output=False,
                                    cwd=str(work), engine_name=_engine(), **kernel)
        except Exception as exc:  # noqa: BLE001 - papermill raises many kinds; all become a report error
            target.mkdir(parents=True, exist_ok=True)
            partial = ""
            if executed.is_file():
                _copy_beside(executed, target / FAILED_NOTEBOOK)
                partial = f" (notebook dở dang: {target / FAILED_NOTEBOOK})"
            if kernel_log.is_file() and kernel_log.stat().st_size:
                _copy_beside(kernel_log, target / "failed-kernel.log")
            raise ReportError(f"{kind} {what}: notebook lỗi — {_error_line(exc)}{partial}") from exc
        unit_row = _unit_row(params["data_dir"], params["unit_id"])
        title = _page_title(kind, params, work, unit_row[0])
        if warming is not None:
            warming.join()
        try:
            page = export_html(executed, title, params["lang"], HIDE_MARKDOWN[kind])
        except Exception as exc:  # noqa: BLE001 - nbconvert errors vary
            raise ReportError(f"{kind} {what}: không xuất được HTML — {_error_line(exc)}") from exc
        (work / REPORT_FILES[kind]).write_text(page, encoding="utf-8")
        kernel_log.unlink(missing_ok=True)
        (work / PROVENANCE_FILE).write_text(json.dumps(
            {"package_version": __version__, "kind": kind, "parameters": params, "notebook": NOTEBOOKS[kind],
             "rendered_at": full["rendered_at"], "input_hash": fp["input_hash"], "unit_name": unit_row[0],
             "unit_level": unit_row[1], "report_file": REPORT_FILES[kind]},
            ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (work / HASH_FILE).write_text(json.dumps(fp, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        for path in work.iterdir():
            os.chmod(path, 0o644)
        _swap_into_place(work, target)
    finally:
        if warming is not None:
            warming.join()
        for thread, warm in ending:
            thread.join()
            warm.discard()
        shutil.rmtree(work, ignore_errors=True)


@cache
def _engine() -> str:
    """Register (once per process) and name the papermill engine of reports: papermill's nbclient
    engine, but the output notebook is written when execution ends — completed, failed cell or dead
    kernel alike — and every ``autosave_cell_every`` seconds inside a long cell, instead of after
    every cell (each write re-validates and re-serialises the whole notebook)."""
    from papermill.engines import (
        NBClientEngine,
        NotebookExecutionManager,
        logger,
        papermill_engines,
    )

    class SaveAtEnd(NotebookExecutionManager):
        _final = False

        def save(self, **kwargs: Any) -> None:
            if self._final:
                super().save(**kwargs)

        def autosave_cell(self) -> None:
            self._final = True
            try:
                super().autosave_cell()
            finally:
                self._final = False

        def notebook_complete(self, **kwargs: Any) -> None:
            self._final = True
            super().notebook_complete(**kwargs)

    class Engine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                     start_timeout: int = 60, execution_timeout: int | None = None,
                                     **kwargs: Any) -> Any:
            # papermill's own, but the client's channels stop when a kernel started ahead (not
            # nbclient's to shut down) is done with: else each report left a heartbeat thread
            # pinging a dead kernel in this process
            from papermill.clientwrap import PapermillNotebookClient

            kwargs.pop("input_path", None)
            kwargs.pop("startup_timeout", None)
            timeout = kwargs.pop("timeout", None)
            client = PapermillNotebookClient(nb_man, timeout=execution_timeout or timeout, startup_timeout=start_timeout,
                                             kernel_name=kernel_name, log=logger, log_output=log_output, **kwargs)
            try:
                return client.execute()
            finally:
                if not client.owns_km and getattr(client, "kc", None) is not None:
                    with contextlib.suppress(Exception):
                        client.kc.stop_channels()

        @classmethod
        def execute_notebook(cls, nb: Any, kernel_name: str, output_path: str | None = None,
                             progress_bar: bool = True, log_output: bool = False, autosave_cell_every: int = 30,
                             **kwargs: Any) -> Any:
            nb_man = SaveAtEnd(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                               autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register("hoctap", Engine)
    return "hoctap"


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Send this process's standard error (which the kernel inherits) to ``path`` meanwhile, so a
    batch's log is not interleaved with kernel warnings; the file is kept beside a failure."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # pytest capture, notebooks: nothing to redirect
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with path.open("ab") as fh:
            os.dup2(fh.fileno(), fd)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, fd)
    finally:
        os.close(saved)


@contextlib.contextmanager
def _kernel_env(values: dict[str, str]) -> Iterator[None]:
    """Environment variables the kernel inherits while it starts (restored afterwards)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _error_line(exc: BaseException) -> str:
    """One readable line of a papermill/nbclient error (the exception name and message)."""
    ename = getattr(exc, "ename", None)
    evalue = getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}".strip().rstrip(":")
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    detail = lines[-1] if lines else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _unit_row(data_dir: str, unit_id: str) -> tuple[str, str]:
    try:
        units = store.load_table(Path(data_dir), "units")
    except store.DataMissingError:
        return unit_id, ""
    rows = units[units["unit_id"] == unit_id].sort_values("valid_from_year")
    if rows.empty:
        return unit_id, ""
    last = rows.iloc[-1]
    return str(last["unit_name"]), str(last["unit_level"])


def _page_title(kind: str, params: dict, work: Path, name: str) -> str:
    metrics_json = work / "metrics.json"
    if metrics_json.is_file():
        with contextlib.suppress(OSError, ValueError):
            name = json.loads(metrics_json.read_text(encoding="utf-8")).get("unit_name") or name
    if kind == "trends":
        return f"{name} — {params['start_year']}–{params['end_year']}"
    return f"{name} — {params['year']}"


def _swap_into_place(work: Path, target: Path) -> None:
    """Replace ``target`` (a previous report, if any) with the complete folder ``work``.

    With an atomic exchange the place always holds a complete report (the old one, then the new);
    ``work`` then holds the old report and is removed. Otherwise the old report is moved aside
    first; a run killed before the new one is moved in leaves it to :func:`recover_reports`.
    """
    if target.is_dir() and not target.is_symlink() and _exchange(work, target):
        _test_pause("swap")
        shutil.rmtree(work, ignore_errors=True)
        return
    old = None
    if target.exists() or target.is_symlink():
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{secrets.token_hex(4)}")
        os.replace(target, old)
    _test_pause("swap")
    os.replace(work, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _copy_beside(src: Path, dst: Path) -> None:
    """Copy a file next to a report atomically (a kill never leaves half a file)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    store.atomic_write_bytes(dst, src.read_bytes())


def _write_validation(params: dict, work: Path, precomputed: dict | None = None) -> Path:
    """Write ``validation.json``/``.html`` of a report into ``work``.

    Args:
        params: The report's parameters.
        work: Its work folder.
        precomputed: The gate result of the report's unit and year (``GateResult.to_json()``)
            when the batch computed it already (:func:`batch_validations`); else the gate runs here.
    """
    from analysis.quality import gate

    try:
        if precomputed is not None:
            result = gate.result_from_json(precomputed)
        else:
            result = gate.run_gate(Path(params["data_dir"]), unit=params["unit_id"], year=params.get("year"),
                                   lang=params["lang"])
        gate.write_reports(result, work, params["lang"])
    except Exception as exc:  # noqa: BLE001 - a broken gate is a failed report, not a crashed batch
        raise ReportError(f"{_label_of('annual', params)}: kiểm tra chất lượng lỗi — {_error_line(exc)}") from exc
    return work / "validation.json"


# ---------------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """One report of a batch."""

    kind: str
    params: dict = field(hash=False)


def plan_batch(context: DataContext, kind: str = "annual", level: str | None = None,
               years: tuple[int, int] | None = None, lang: str = "vi",
               unit_ids: Iterable[str] | None = None) -> list[Job]:
    """Every report of a batch, with validated parameters, in a stable order (unit, year).

    Args:
        context: The processed folder.
        kind: Notebook kind.
        level: Only units of this level (``cap_tren``, ``co_so``, ``chi_bo``).
        years: Only years in this closed range.
        lang: Language.
        unit_ids: Only these units.

    Raises:
        ReportParamError: Nothing matches (the message lists the levels and years with data).
    """
    units = context.units
    wanted = set(unit_ids) if unit_ids is not None else None
    jobs: list[Job] = []
    for uid in hierarchy.known_unit_ids(units):
        if wanted is not None and uid not in wanted:
            continue
        rows = units[units["unit_id"] == uid]
        if level and level not in set(rows["unit_level"].astype(str)):
            continue
        active = [y for y in context.unit_years(uid) if not years or years[0] <= y <= years[1]]
        if not active:
            continue
        if kind == "trends":
            jobs.append(Job(kind, build_params(kind, unit_id=uid, data_dir=context.data_dir, lang=lang,
                                               start_year=active[0], end_year=active[-1], context=context)))
        else:
            jobs.extend(Job(kind, build_params(kind, unit_id=uid, year=y, data_dir=context.data_dir, lang=lang,
                                               context=context)) for y in active)
    if not jobs:
        levels = ", ".join(sorted(set(units["unit_level"].astype(str))))
        raise ReportParamError(f"Không có báo cáo nào khớp (cấp {level or 'mọi cấp'}, năm "
                               f"{'–'.join(map(str, years)) if years else 'mọi năm'}). Các cấp: {levels}; "
                               f"các năm có số liệu: {', '.join(map(str, context.data_years))}")
    return jobs


class Progress:
    """Progress of a batch: a bar redrawn in place on a terminal, plain log lines otherwise.

    The bar shows reports done / to do, failures, and the last report finished; failures are also
    printed on their own line as they happen.

    Args:
        stream: Where to write (stderr by default).
        tty: Force the bar on or off (default: whether ``stream`` is a terminal).
        lang: ``vi`` or ``en``.
    """

    WIDTH = 28

    def __init__(self, stream: IO[str] | None = None, tty: bool | None = None, lang: str = "vi") -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(self.stream.isatty()) if tty is None else tty
        self.lang = lang
        self.total = 0
        self.done = 0
        self.failed = 0
        self.started = time.perf_counter()
        self._last = ""

    def _say(self, vi: str, en: str) -> str:
        return vi if self.lang == "vi" else en

    def start(self, total: int) -> None:
        """Begin a batch of ``total`` reports."""
        self.total, self.started = total, time.perf_counter()
        if self.tty:
            self._draw()
        else:
            self._line(self._say(f"Bắt đầu: {total} báo cáo", f"Starting: {total} reports"))

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def _draw(self) -> None:
        filled = int(self.WIDTH * self.done / self.total) if self.total else self.WIDTH
        bar = "█" * filled + "░" * (self.WIDTH - filled)
        elapsed = time.perf_counter() - self.started
        text = (f"\r{self._say('Dựng báo cáo', 'Rendering')} [{bar}] {self.done}/{self.total} · "
                f"{self._say('lỗi', 'failed')} {self.failed} · {elapsed:.0f} s"
                + (f" · {self._last}" if self._last else ""))
        self.stream.write(text + "\x1b[K")
        self.stream.flush()

    def update(self, result: ReportResult) -> None:
        """One report finished (rendered, skipped or failed)."""
        self.done += 1
        if result.status == "failed":
            self.failed += 1
        what = _label_of(result.kind, result.params)
        if self.tty:
            if result.status == "failed":
                self.stream.write("\r\x1b[K")
                self._line(self._say(f"LỖI {result.error}", f"FAILED {result.error}"))
            self._last = what
            self._draw()
            return
        words = {"rendered": ("đã dựng", "rendered"), "skipped": ("không đổi, bỏ qua", "unchanged, skipped"),
                 "failed": ("LỖI", "FAILED")}[result.status]
        text = f"[{self.done}/{self.total}] {self._say(*words)} {what} ({result.seconds:.1f} s)"
        if result.error:
            text += f": {result.error}"
        self._line(text)

    def close(self) -> None:
        """End of the batch."""
        if self.tty:
            self._last = ""
            self._draw()
            self.stream.write("\n")
            self.stream.flush()


#: What a warm kernel imports before its report starts (the first cell of every notebook).
WARM_UP = "import " + ", ".join(kernels.REPORT_IMPORTS)


@dataclass
class _Kernel:
    """A kernel started ahead for the next report: its manager, client and stderr log."""

    km: Any
    kc: Any
    msg_id: str
    log: Path

    def shut_down(self) -> None:
        """End the kernel (its log stays)."""
        import asyncio

        with contextlib.suppress(Exception):
            self.kc.stop_channels()
        with contextlib.suppress(Exception):
            asyncio.run(self.km.shutdown_kernel(now=True))

    def shut_down_meanwhile(self) -> threading.Thread:
        """End the kernel in a thread (the report's export goes on meanwhile); join it."""
        thread = threading.Thread(target=self.shut_down, name="hoctap-kernel-shutdown", daemon=True)
        thread.start()
        return thread

    def discard(self) -> None:
        """Remove the ended kernel's folder and log."""
        shutil.rmtree(self.log.parent, ignore_errors=True)

    def close(self) -> None:
        """End the kernel and remove its folder and log."""
        self.shut_down()
        self.discard()


class _WarmKernels:
    """Kernels started ahead; each report still gets a new kernel of its own.

    A single report starts its kernel before its data-quality gate (``prepare(ahead=True)``). In a
    batch (:meth:`enable`) the next report's kernel starts while the current report renders, forked
    from the batch's zygote (:mod:`analysis.kernels`) once it is ready. Any problem falls back to
    papermill starting the kernel itself; ``HOCTAP_WARM_KERNELS=0`` turns all of it off.
    """

    def __init__(self) -> None:
        self.enabled = False
        self._next: _Kernel | None = None
        self._registered = False
        self._zygote: Any = None

    @staticmethod
    def allowed() -> bool:
        """Whether kernels may be started ahead (not when ``HOCTAP_WARM_KERNELS=0``)."""
        return os.environ.get("HOCTAP_WARM_KERNELS", "1") != "0"

    def enable(self, on: bool = True) -> None:
        """Start kernels ahead from now on (``on``), or stop doing so (``HOCTAP_WARM_KERNELS=0``: never)."""
        self.enabled = on and self.allowed()

    def _register(self) -> None:
        """Shut a kernel started ahead down when the process ends (once per process)."""
        if not self._registered:
            import atexit

            self._registered = True
            atexit.register(self.close)
            multiprocessing.util.Finalize(self, self.close, exitpriority=10)

    def prepare(self, ahead: bool = False) -> None:
        """Start the next kernel and send it the warm-up imports (returns at once).

        Args:
            ahead: Start it even outside a batch: a single report starts its own kernel before its
                data-quality gate, so both run at once (``HOCTAP_WARM_KERNELS=0``: never).
        """
        if self._next is not None or not (self.enabled or (ahead and self.allowed())):
            return
        self._register()
        from analysis import charts

        try:
            import asyncio

            # the asynchronous manager, as nbclient's own (its cell timeouts rely on it)
            from jupyter_client.manager import AsyncKernelManager

            folder = Path(tempfile.mkdtemp(prefix="hoctap-kernel-"))
            log = folder / "kernel.log"
            forker = self._forker()
            km = kernels.forked_kernel_manager(forker, log) if forker else AsyncKernelManager(kernel_name="python3")
            try:
                with log.open("wb") as err:
                    asyncio.run(km.start_kernel(env={**os.environ, charts.PLOTLYJS_ENV: "defer"},
                                                cwd=str(folder), stderr=err))
            finally:
                if isinstance(forker, kernels.Prefork):
                    forker.close()  # a child that did not become the kernel exits (nothing if it did)
            km.client_factory = kernels.quick_client_class()  # papermill's client too: ready without the 0,2 s drain
            kc = km.client()
            kc.start_channels()
            msg_id = kc.execute(WARM_UP, silent=True, store_history=False)
            self._next = _Kernel(km, kc, msg_id, log)
        except Exception:  # noqa: BLE001 - no warm kernel: the report starts its own
            self._next = None

    def _forker(self) -> kernels.Zygote | kernels.Prefork | None:
        """What forks the next kernel (:mod:`analysis.kernels`), started: in a batch the batch's
        zygote (the imports paid once per batch); for a single report this process itself, forked
        now; None with ``HOCTAP_FORK_KERNELS=0`` or when neither can start (the ordinary launch)."""
        if os.environ.get("HOCTAP_FORK_KERNELS", "1") == "0":
            return None
        if not self.enabled:
            prefork = kernels.Prefork()
            return prefork if prefork.start() else None
        try:
            if self._zygote is None:
                self._zygote = kernels.Zygote()
            return self._zygote if self._zygote.start() else None
        except Exception:  # noqa: BLE001 - kernels then start the ordinary way
            return None

    def waiting(self) -> bool:
        """Whether a kernel started ahead is on its way (its report will wait for it)."""
        return self._next is not None

    def take(self, timeout: float = 120) -> _Kernel | None:
        """The kernel prepared for this report once its imports are done, or None."""
        warm, self._next = self._next, None
        if warm is None:
            return None
        import asyncio

        async def warm_up_reply() -> dict:
            from queue import Empty

            deadline = time.monotonic() + timeout
            while True:
                try:
                    reply = await warm.kc.get_shell_msg(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
                except Empty:  # a kernel that died while booting is not waited for
                    if time.monotonic() > deadline or not await warm.km.is_alive():
                        raise
                    continue
                if reply.get("parent_header", {}).get("msg_id") == warm.msg_id:
                    return reply

        try:
            reply = asyncio.run(warm_up_reply())
            if reply["content"].get("status") != "ok" or not asyncio.run(warm.km.is_alive()):
                raise RuntimeError("warm-up failed")
            warm.kc.stop_channels()
            return warm
        except Exception:  # noqa: BLE001 - fall back to a kernel started by papermill
            warm.close()
            return None

    def close(self) -> None:
        """Shut down the kernel prepared for a report that will not come, and the zygote."""
        warm, self._next = self._next, None
        if warm is not None:
            warm.close()
        zygote, self._zygote = self._zygote, None
        if zygote is not None:
            zygote.close()


_WARM = _WarmKernels()


def _worker_render(kind: str, params: dict, out_dir: str, force: bool, timeout: int,
                   notebooks_dir: str | None, rendered_at: str, fp: dict,
                   validation: dict | None = None) -> ReportResult:
    try:
        return render_job(kind, params, Path(out_dir), force=True, timeout=timeout,
                          notebooks_dir=Path(notebooks_dir) if notebooks_dir else None,
                          rendered_at=rendered_at, fingerprint_=fp, validation=validation)
    except Exception as exc:  # noqa: BLE001 - a worker must report, never die silently
        return ReportResult(kind, params, "failed", error=f"{_label_of(kind, params)}: {_error_line(exc)}",
                            input_hash=fp.get("input_hash"))


def _pool(jobs: int) -> ProcessPoolExecutor:
    """Worker processes forked from a clean server that has already imported the renderer; each
    dies with the batch (:func:`_worker_init`)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["analysis.lean", "analysis.reports", "analysis.quality.gate", "papermill", "nbconvert"])
    else:  # pragma: no cover - non-POSIX
        ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                               initargs=(os.getpid(),))


#: The function of :mod:`analysis.quality.gate` that judges many (unit, year) scopes in one run,
#: each result equal to ``run_gate(data_dir, unit, year, lang)``; used by :func:`batch_validations`
#: when the gate offers it (until then every report runs the gate for itself).
BATCH_GATE = "run_gate_scopes"


def batch_validations(data_dir: Path, jobs: Iterable[Job], lang: str = "vi") -> dict[tuple[str, int], dict]:
    """The gate result (``GateResult.to_json()``) of every annual/data-quality report of a batch,
    from one run of the gate over all their (unit, year) scopes.

    Returns an empty mapping when the gate module has no batch function (:data:`BATCH_GATE`) or
    when it fails: each report then runs the gate for itself, and reports its own error.
    """
    from analysis.quality import gate

    scopes = sorted({(str(j.params["unit_id"]), int(j.params["year"])) for j in jobs
                     if j.kind in ("annual", "data_quality")})
    many = getattr(gate, BATCH_GATE, None)
    if many is None or not scopes:
        return {}
    try:
        results = many(Path(data_dir), scopes, lang=lang, engine="native")
        return {scope: results[scope].to_json() for scope in scopes}
    except Exception:  # noqa: BLE001 - fall back to one gate run per report (errors reported there)
        return {}


def render_batch(data_dir: Path, out_dir: Path, kind: str = "annual", level: str | None = None,
                 years: tuple[int, int] | None = None, jobs: int = 1, lang: str = "vi", force: bool = False,
                 timeout: int = 600, progress: Progress | None = None, notebooks_dir: Path | None = None,
                 unit_ids: Iterable[str] | None = None, rendered_at: str | None = None) -> dict:
    """Render every (unit, year) of a batch; skip up-to-date reports; one failure does not stop it.

    Parameters of every report are validated before any kernel starts. With ``jobs`` > 1 reports
    render in that many worker processes (each papermill run starts its own kernel); as with any
    multiprocessing code, a Python script calling this with ``jobs`` > 1 must do so under
    ``if __name__ == "__main__":`` (the ``hoctap`` command does). Writes ``<out>/run-summary.json``
    and ``<out>/index.html``. The whole run holds the folder's lock (:func:`reports_lock`).

    Returns:
        The run summary: ``ok``, ``rendered``, ``skipped``, ``failed`` counts, ``reports`` (one entry
        per report with its status, path, seconds, error and partial notebook), ``index``.

    Raises:
        ReportParamError: Bad arguments or nothing to render (before any kernel starts).
        ReportsBusyError: Another run is writing ``out_dir``.
    """
    if jobs < 1:
        raise ReportParamError(f"--jobs phải ≥ 1, nhận {jobs}")
    started = time.perf_counter()
    started_at = now_text()
    rendered_at = rendered_at if rendered_at is not None else started_at
    context = DataContext.load(data_dir)
    plan = plan_batch(context, kind, level, years, lang, unit_ids)
    out_dir = Path(out_dir).resolve()
    with reports_lock(out_dir):
        _test_pause("locked")
        return _run_batch(context, plan, out_dir, kind, level, years, jobs, lang, force, timeout, progress,
                          notebooks_dir, rendered_at, started, started_at)


def _run_batch(context: DataContext, plan: list[Job], out_dir: Path, kind: str, level: str | None,
               years: tuple[int, int] | None, jobs: int, lang: str, force: bool, timeout: int,
               progress: Progress | None, notebooks_dir: Path | None, rendered_at: str, started: float,
               started_at: str) -> dict:
    source = SliceSource(context)
    progress = progress or Progress(tty=False, lang=lang)
    results: list[ReportResult] = []
    todo: list[tuple[Job, dict]] = []
    for job in plan:
        fp = fingerprint(job.kind, job.params, source, notebooks_dir)
        target = report_dir(out_dir, job.kind, job.params)
        if not force and is_up_to_date(job.kind, target, fp["input_hash"]):
            results.append(ReportResult(job.kind, job.params, "skipped", str(target / REPORT_FILES[job.kind]),
                                        input_hash=fp["input_hash"]))
        else:
            todo.append((job, fp))
    if jobs == 1 and todo:  # the first report's kernel (and the zygote) start while the gate runs
        _WARM.enable(len(todo) > 1)
        _WARM.prepare(ahead=True)
    validations = batch_validations(context.data_dir, [job for job, _ in todo], lang)

    def validation_of(job: Job) -> dict | None:
        if job.kind not in ("annual", "data_quality"):
            return None
        return validations.get((str(job.params["unit_id"]), int(job.params["year"])))

    progress.start(len(plan))
    for r in results:
        progress.update(r)
    nb_dir = str(notebooks_dir) if notebooks_dir else None
    try:
        if jobs == 1 or len(todo) <= 1:
            for i, (job, fp) in enumerate(todo):
                _WARM.enable(i < len(todo) - 1)  # each report starts the next report's kernel
                r = _worker_render(job.kind, job.params, str(out_dir), True, timeout, nb_dir, rendered_at, fp,
                                   validation_of(job))
                results.append(r)
                progress.update(r)
            _WARM.close()
        else:
            with _pool(min(jobs, len(todo))) as pool:
                futures: dict[Future, tuple[Job, dict]] = {
                    pool.submit(_worker_render, job.kind, job.params, str(out_dir), True, timeout, nb_dir,
                                rendered_at, fp, validation_of(job)): (job, fp) for job, fp in todo}
                pending = set(futures)
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        try:
                            r = fut.result()
                        except Exception as exc:  # noqa: BLE001 - a worker process died (OOM, killed …)
                            job, fp = futures[fut]
                            r = ReportResult(job.kind, job.params, "failed",
                                             error=f"{_label_of(job.kind, job.params)}: tiến trình dựng báo cáo "
                                                   f"bị dừng — {_error_line(exc)} (gọi từ một script Python thì "
                                                   f"đặt lời gọi trong `if __name__ == \"__main__\":`)",
                                             input_hash=fp["input_hash"])
                        results.append(r)
                        progress.update(r)
    finally:
        progress.close()
    results.sort(key=lambda r: (str(r.params.get("unit_id")), r.params.get("year", r.params.get("start_year", 0))))
    counts = {s: sum(1 for r in results if r.status == s) for s in ("rendered", "skipped", "failed")}
    summary = {
        "ok": counts["failed"] == 0, "kind": kind, "level": level, "years": list(years) if years else None,
        "jobs": jobs, "force": force, "data_dir": str(context.data_dir), "out_dir": str(out_dir),
        "started_at": started_at, "seconds": round(time.perf_counter() - started, 2), **counts,
        "reports": [r.to_json() for r in results],
    }
    _test_pause("index")
    summary["index"] = str(write_index(out_dir, lang, summary))
    _test_pause("summary")
    store.atomic_write_text(out_dir / SUMMARY_FILE, json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    summary["summary_path"] = str(out_dir / SUMMARY_FILE)
    return summary


def format_batch_summary(summary: dict, lang: str = "vi") -> str:
    """One line per failure, then the totals and where the index and summary are."""
    lines = [f"LỖI {r['error']}" if lang == "vi" else f"FAILED {r['error']}"
             for r in summary["reports"] if r["status"] == "failed"]
    if lang == "vi":
        lines.append(f"Đã dựng {summary['rendered']}, bỏ qua {summary['skipped']} (không đổi), "
                     f"lỗi {summary['failed']} — {summary.get('seconds', 0):.1f} s")
        if summary.get("index"):
            lines.append(f"Danh mục: {summary['index']}")
        if summary.get("summary_path"):
            lines.append(f"Tóm tắt lần chạy: {summary['summary_path']}")
    else:
        lines.append(f"Rendered {summary['rendered']}, skipped {summary['skipped']} (unchanged), "
                     f"failed {summary['failed']} — {summary.get('seconds', 0):.1f} s")
        if summary.get("index"):
            lines.append(f"Index: {summary['index']}")
        if summary.get("summary_path"):
            lines.append(f"Run summary: {summary['summary_path']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Index
# ---------------------------------------------------------------------------------------------

INDEX_CSS = """
body { font-family: "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif; color: #1d1d1d; margin: 0; background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 20px 40px 20px; }
h1 { color: #8b0000; font-size: 1.6em; margin: .4em 0 .1em 0; }
h2 { font-size: 1.2em; border-bottom: 2px solid #8b0000; padding-bottom: .2em; margin-top: 1.6em; }
.sub { color: #555; margin: 0 0 1em 0; }
table { border-collapse: collapse; width: 100%; font-size: .9em; margin: .4em 0 1.2em 0; }
th { background: #f0f0f0; text-align: left; padding: .35em .5em; border-bottom: 1px solid #bbb; vertical-align: bottom; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td { padding: .3em .5em; border-bottom: 1px solid #eee; vertical-align: top; }
tr.unit-first td { border-top: 1px solid #ccc; }
td.unit { font-weight: 600; min-width: 14em; }
.pass { color: #1a7f37; font-weight: 600; } .fail { color: #c0392b; font-weight: 600; }
.failed { background: #fdecea; border-left: 4px solid #c0392b; padding: .5em .8em; margin: .6em 0; }
.failed li { margin: .2em 0; word-break: break-word; }
.level { color: #666; font-size: .85em; font-weight: normal; }
a { color: #0b5cad; }
@media print { @page { size: A4 landscape; margin: 12mm; } main { max-width: 100%; padding: 0; }
  table { font-size: 8.5pt; } tr { break-inside: avoid; } a { color: inherit; text-decoration: none; } }
"""


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def collect_reports(out_dir: Path) -> list[dict]:
    """Every report folder under ``out_dir`` with its provenance, headline figures and verdict.

    Hidden folders (work folders of a render in progress or interrupted, a previous report moved
    aside) are not reports.
    """
    found = []
    for prov_path in sorted(Path(out_dir).glob(f"*/*/{PROVENANCE_FILE}")):
        if prov_path.parent.name.startswith(".") or prov_path.parent.parent.name.startswith("."):
            continue
        prov = _read_json(prov_path)
        if not prov or prov.get("kind") not in REPORT_FILES:
            continue
        folder = prov_path.parent
        found.append({"folder": folder, "provenance": prov,
                      "metrics": _read_json(folder / "metrics.json"),
                      "validation": _read_json(folder / "validation.json")})
    return found


def write_index(out_dir: Path, lang: str = "vi", summary: dict | None = None) -> Path:
    """Write ``<out>/index.html``: every report under ``out_dir`` (grouped by unit) with its headline
    figures and data-quality verdict, and the failures of the last run. Offline, no script, every
    value escaped.
    """
    from analysis.render import fmt_pct, label

    out_dir = Path(out_dir)
    e = _html.escape
    reports = collect_reports(out_dir)
    level_order = {"cap_tren": 0, "co_so": 1, "chi_bo": 2}

    def sort_key(r: dict) -> tuple:
        p = r["provenance"]
        params = p.get("parameters", {})
        return (level_order.get(p.get("unit_level", ""), 9), str(p.get("unit_name", "")), str(params.get("unit_id")),
                p.get("kind"), params.get("year", params.get("start_year", 0)))

    reports.sort(key=sort_key)
    parts = [f"<!DOCTYPE html><html lang=\"{e(lang)}\"><head><meta charset=\"utf-8\">"
             f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             f"<title>{e(label('index_title', lang))}</title><style>{INDEX_CSS}</style></head><body><main>",
             f"<h1>{e(label('index_title', lang))}</h1>"]
    if summary is not None:
        parts.append(f'<p class="sub">{e(label("index_generated", lang))} · {e(label("status_rendered", lang))}: '
                     f'{summary["rendered"]} · {e(label("status_skipped", lang))}: {summary["skipped"]} · '
                     f'{e(label("status_failed", lang))}: {summary["failed"]}</p>')
        failed = [r for r in summary["reports"] if r["status"] == "failed"]
        if failed:
            items = "".join(f"<li>{e(str(r.get('error')))}</li>" for r in failed)
            parts.append(f'<div class="failed"><b>{e(label("failed_reports", lang))} ({len(failed)})</b>'
                         f"<ul>{items}</ul></div>")
    for kind in ("annual", "trends", "data_quality"):
        rows = [r for r in reports if r["provenance"].get("kind") == kind]
        if not rows:
            continue
        parts.append(f"<h2>{e(label('kind_' + kind, lang))}</h2>")
        if kind == "annual":
            head = ["unit", "year", "idx_units", "idx_members", "idx_public", "idx_unit_rank1",
                    "idx_member_rank1_2", "idx_quality", "report"]
            num = {"year", "idx_units", "idx_members", "idx_public", "idx_unit_rank1", "idx_member_rank1_2"}
            parts.append(f'<p class="sub">{e(label("idx_legend", lang))}</p>')
        else:
            head = ["unit", "year", "idx_quality", "report"]
            num = {"year"}
        parts.append("<table><thead><tr>" + "".join(
            f'<th class="{"num" if h in num else "txt"}">{e(label(h, lang))}</th>' for h in head)
            + "</tr></thead><tbody>")
        previous_unit = None
        for r in rows:
            p = r["provenance"]
            params = p.get("parameters", {})
            uid = str(params.get("unit_id"))
            first = uid != previous_unit
            previous_unit = uid
            unit_cell = (f'<td class="unit">{e(str(p.get("unit_name", uid)))} '
                         f'<span class="level">{e(label("level_" + str(p.get("unit_level", "")), lang))}</span></td>'
                         if first else "<td></td>")
            year = (f"{params.get('start_year')}–{params.get('end_year')}" if kind == "trends"
                    else str(params.get("year")))
            href = "/".join([r["folder"].parent.name, r["folder"].name, p.get("report_file", REPORT_FILES[kind])])
            link = f'<td><a href="{e(href, quote=True)}">{e(label("open_report", lang))}</a></td>'
            v = r["validation"]
            verdict = (f'<td class="{"pass" if v.get("verdict") == "pass" else "fail"}">'
                       f'{e(label("verdict_short_" + ("pass" if v.get("verdict") == "pass" else "fail"), lang))}'
                       f"</td>") if v else "<td>—</td>"
            cells = [unit_cell, f'<td class="num">{e(year)}</td>']
            if kind == "annual":
                m = r["metrics"] or {}
                cov = m.get("coverage", {})
                ur_levels = (m.get("unit_ratings") or {}).get("levels") or []
                mr_levels = (m.get("member_ratings") or {}).get("levels") or []
                values = [(cov.get(k) or {}).get("pct") for k in ("units", "members", "public")]
                values.append(ur_levels[0].get("pct") if ur_levels else None)
                values.append(mr_levels[1].get("cumulative_pct") if len(mr_levels) > 1 else None)
                cells += [f'<td class="num">{e(fmt_pct(x, lang))}</td>' for x in values]
            cells += [verdict, link]
            parts.append(f'<tr class="{"unit-first" if first else ""}">{"".join(cells)}</tr>')
        parts.append("</tbody></table>")
    if not reports:
        parts.append(f"<p>{e(label('not_available', lang))}</p>")
    parts.append("</main></body></html>\n")
    path = out_dir / INDEX_FILE
    store.atomic_write_text(path, "".join(parts))
    return path


def load_summary(out_dir: Path) -> dict | None:
    """The run summary of the last batch in ``out_dir``, or None."""
    return _read_json(Path(out_dir) / SUMMARY_FILE)

