"""Cold start: the import time of each function's handler module against `import boto3`.

Each figure is the median wall time of a fresh interpreter doing only that import, measured
alternately in the same run, so machine noise hits both sides alike.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").is_file())


def _time(code: str, cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cwd), str(ROOT / "layers" / "shared")])}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, check=True)  # noqa: S603
    return time.perf_counter() - start


def run(rounds: int = 7) -> dict:
    baseline: list[float] = []
    per_function: dict[str, list[float]] = {name: [] for name in FUNCTIONS}
    empty: list[float] = []
    for _ in range(rounds):
        empty.append(_time("pass", ROOT))
        baseline.append(_time("import boto3", ROOT))
        for name in FUNCTIONS:
            per_function[name].append(_time("import app", ROOT / "functions" / name))
    floor = statistics.median(empty)
    boto3_ms = (statistics.median(baseline) - floor) * 1000
    rows = {}
    for name, samples in per_function.items():
        ms = (statistics.median(samples) - floor) * 1000
        rows[name] = {"import_ms": round(ms, 1), "ratio_to_boto3": round(ms / boto3_ms, 2)}
    return {
        "rounds": rounds,
        "interpreter_ms": round(floor * 1000, 1),
        "boto3_ms": round(boto3_ms, 1),
        "functions": rows,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
