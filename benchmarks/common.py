"""Shared helpers of the benchmarks: timed subprocesses with peak RSS, cached data, reporting.

Every measured command runs in its own wrapper process (``measure.py``) so that
``getrusage(RUSAGE_CHILDREN)`` reports the peak RSS of that command's process tree alone.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT = BENCH_DIR / "out"
PY = sys.executable
HOCTAP = str(Path(PY).with_name("hoctap"))
GB = 1024**3


@dataclass
class Measure:
    """Wall time (s), peak RSS (bytes) and exit code of one command."""

    label: str
    seconds: float
    peak_rss: int
    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def rss_gb(self) -> float:
        return self.peak_rss / GB


def measure(label: str, argv: list[str], env: dict | None = None, timeout: float = 3600,
            stdout_file: Path | None = None) -> Measure:
    """Run ``argv`` under the ``measure.py`` wrapper; return wall time and peak RSS.

    ``stdout_file`` receives the command's output (for large outputs) instead of ``Measure.stdout``.
    """
    wrapper = [PY, str(BENCH_DIR / "measure.py"), *(["--stdout", str(stdout_file)] if stdout_file else []),
               "--", *argv]
    full_env = dict(os.environ, **(env or {}))
    full_env.setdefault("PYTHONHASHSEED", "0")
    proc = subprocess.Popen(wrapper, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the wrapper's own session: the command and its children
        stdout, stderr = proc.communicate()
        return Measure(label, float(timeout), 0, -9, "", f"stopped after the {timeout:.0f} s time budget")
    proc = subprocess.CompletedProcess(wrapper, proc.returncode, stdout, stderr)
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "{}"
    try:
        info = json.loads(last)
    except json.JSONDecodeError:
        info = {}
    body = "\n".join(proc.stdout.strip().splitlines()[:-1])
    return Measure(label, float(info.get("seconds", float("nan"))), int(info.get("maxrss_kb", 0)) * 1024,
                   int(info.get("returncode", proc.returncode)), body, proc.stderr)


#: The floor's one cell: a plotly figure shown as HTML, as a dashboard's smallest chart. Not
#: ``go.Figure(...)`` as the cell's value: plotly's notebook renderer then imports nbformat, hence
#: jsonschema's optional IRI grammar (3 s in a fresh kernel), which no report pays.
FLOOR_CELL = ("import plotly.graph_objects as go\nfrom IPython.display import HTML, display\n"
              "display(HTML(go.Figure(go.Bar(x=[1, 2], y=[3, 4])).to_html(full_html=False, include_plotlyjs=False)))")

#: The floor as a cold process (``python -c COLD_FLOOR OUT_DIR``): papermill executes the one-cell
#: notebook and nbconvert exports it. It skips the optional import ``hoctap`` skips
#: (``analysis.lean``), so that 1,8 s grammar build does not pad the floor.
COLD_FLOOR = f"""
import analysis.lean
import sys, nbformat, papermill
from pathlib import Path
from nbconvert import HTMLExporter
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
nb = nbformat.v4.new_notebook()
nb.metadata["kernelspec"] = {{"name": "python3", "display_name": "Python 3", "language": "python"}}
nb.metadata["language_info"] = {{"name": "python"}}
nb.cells = [nbformat.v4.new_code_cell({FLOOR_CELL!r})]
nbformat.write(nb, out / "floor.ipynb")
papermill.execute_notebook(str(out / "floor.ipynb"), str(out / "floor.out.ipynb"), progress_bar=False)
body, _ = HTMLExporter(exclude_input=True).from_filename(str(out / "floor.out.ipynb"))
(out / "floor.html").write_text(body, encoding="utf-8")
"""


def python_code(code: str) -> list[str]:
    """argv that runs ``code`` in the venv's Python."""
    return [PY, "-c", code]


def machine() -> dict:
    """Cores, memory, CPU model and versions of the machine running the benchmarks."""
    mem = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import duckdb
    import pandas
    import pyarrow

    return {"cores": os.cpu_count(), "memory_gb": round(mem / GB, 1), "cpu": cpu, "python": platform.python_version(),
            "pandas": pandas.__version__, "pyarrow": pyarrow.__version__, "duckdb": duckdb.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M %Z")}


@dataclass
class Result:
    """Outcome of one workload: rows of measurements plus targets and notes."""

    workload: str
    title: str
    rows: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, m: Measure, **extra: object) -> Measure:
        row = {"what": m.label, "seconds": round(m.seconds, 2), "peak_rss_gb": round(m.rss_gb, 2),
               "exit": m.returncode, **extra}
        self.rows.append(row)
        print(f"  {m.label:<58} {m.seconds:9.2f} s  peak RSS {m.rss_gb:6.2f} GB  exit {m.returncode}", flush=True)
        if m.returncode == -9:
            self.notes.append(f"`{m.label}` was stopped at its time budget ({m.seconds:.0f} s): it takes longer")
            print(f"    stopped at the time budget ({m.seconds:.0f} s)", flush=True)
        elif m.returncode not in (0, 1):
            tail = (m.stderr or m.stdout).strip().splitlines()[-3:]
            self.notes.append(f"`{m.label}` exited {m.returncode}: {' / '.join(tail)[:400]}")
            print("    " + "\n    ".join(tail), flush=True)
        return m

    def check(self, name: str, value: float | str | None, target: str, ok: bool | None) -> None:
        self.checks.append({"check": name, "value": value, "target": target, "ok": ok})
        verdict = "n/a" if ok is None else ("OK" if ok else "MISSED")
        print(f"  → {name}: {value} (target {target}) {verdict}", flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  · {text}", flush=True)


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b and b == b and a == a else None


def cached_synth(scale: str, years: str, seed: int, size: float) -> Path:
    """Generate synthetic raw data once and reuse it (``benchmarks/out/<scale>-<years>-s<seed>-x<size>/raw``).

    The cache is regenerated when ``analysis/synth.py`` changed since it was written.
    """
    import hashlib
    import shutil

    from analysis import synth

    folder = OUT / f"{scale}-{years}-s{seed}-x{size:g}"
    raw = folder / "raw"
    stamp = folder / ".complete"
    code = hashlib.sha256(Path(synth.__file__).read_bytes()).hexdigest()[:16]
    if stamp.is_file() and stamp.read_text(encoding="ascii").split()[-1:] != [code]:
        print(f"  {folder.name}: generated by another version of analysis/synth.py — regenerating", flush=True)
        shutil.rmtree(folder)
    if not stamp.is_file():
        t0 = time.perf_counter()
        print(f"  generating {scale} data {years} (seed {seed}, size {size:g}) …", flush=True)
        proc = subprocess.run([HOCTAP, "synth", "--scale", scale, "--years", years, "--seed", str(seed),
                               "--size", str(size), "--out", str(raw)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"hoctap synth failed: {proc.stderr.strip()}")
        stamp.write_text(f"{time.perf_counter() - t0:.1f} {code}\n", encoding="ascii")
    return raw


def year_view(raw: Path, year: int) -> Path:
    """A raw folder holding the reference files and only ``year`` (hard links, no copy).

    ``campaigns.csv`` is filtered to that year's campaigns.
    """
    view = raw.parent / f"raw-{year}"
    if not (view / str(year)).is_dir():
        view.mkdir(exist_ok=True)
        for p in raw.iterdir():
            if p.is_file() and p.name != "campaigns.csv":
                dst = view / p.name
                if not dst.exists():
                    os.link(p, dst)
        # only this year's campaigns: campaigns of other years would be unreported campaigns
        lines = (raw / "campaigns.csv").read_text(encoding="utf-8").splitlines(keepends=True)
        (view / "campaigns.csv").write_text(
            lines[0] + "".join(ln for ln in lines[1:] if ln.split(",")[1] == str(year)), encoding="utf-8")
        (view / str(year)).mkdir()
        for p in (raw / str(year)).iterdir():
            os.link(p, view / str(year) / p.name)
    return view
