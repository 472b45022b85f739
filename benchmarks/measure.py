"""Run a command, then print one JSON line: wall seconds, peak RSS of its process tree, exit code.

Usage: ``python benchmarks/measure.py -- CMD ARGS...`` (the command's own output is passed through).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=None, text=True)
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys.stdout.write(proc.stdout[-20000:])
    if proc.stdout and not proc.stdout.endswith("\n"):
        sys.stdout.write("\n")
    print(json.dumps({"seconds": seconds, "maxrss_kb": usage.ru_maxrss, "returncode": proc.returncode}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
