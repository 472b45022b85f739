"""Run a command, then print one JSON line: wall seconds, peak RSS of its process tree, exit code.

Usage: ``python benchmarks/measure.py [--stdout FILE] -- CMD ARGS...`` (the command's output is passed
through, or written to FILE).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    out_file = None
    if argv[:1] == ["--stdout"]:
        out_file, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    t0 = time.perf_counter()
    if out_file:
        with open(out_file, "w", encoding="utf-8") as fh:
            proc = subprocess.run(argv, stdout=fh, stderr=None, text=True)
        text = ""
    else:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=None, text=True)
        text = proc.stdout[-20000:]
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys.stdout.write(text)
    if text and not text.endswith("\n"):
        sys.stdout.write("\n")
    print(json.dumps({"seconds": seconds, "maxrss_kb": usage.ru_maxrss, "returncode": proc.returncode}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
