"""Helpers shared by the benchmarks: timing, machine facts, atomic JSON output."""

from __future__ import annotations

import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def machine() -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def best_of(fn, repeat: int = 3, budget: float = 60.0):
    """(best seconds, last result) over up to ``repeat`` runs, stopping after ``budget`` s."""
    best, out, spent = float("inf"), None, 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        spent += dt
        if spent > budget:
            break
    return best, out


def write_json(path: str, data: dict) -> None:
    """``data`` as indented JSON at ``path``, atomically and with the umask's mode (the
    project's one atomic writer, ``cosynth.outputs.write_file``)."""
    from cosynth.outputs import write_file
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_file(path, json.dumps(data, indent=2) + "\n", what="benchmark result")
