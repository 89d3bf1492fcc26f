"""`make bench`: run the benchmarks in tests/perf/ and report their numbers.

Every `tests/perf/bench_<name>.py` exposes `run() -> dict` of named numbers. Run them all, or
only some: `python tests/perf/run.py import inventory_api` (names without the `bench_` prefix).
A table is printed and the results are written to tests/perf/results/<timestamp>.json.
Benchmarks set up their own data in their own database; they are never collected by pytest.
"""

import importlib
import json
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "results"
CHILD_FLAG = "--child"


def discover() -> list[str]:
    return sorted(path.stem.removeprefix("bench_") for path in HERE.glob("bench_*.py"))


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _run_in_own_process(name: str) -> dict:
    """One benchmark in a fresh interpreter: each sets Django up on its own database, and Django
    reads its settings once per process, so a second benchmark in the same process would run on
    the first one's (already dropped) database."""
    completed = subprocess.run(
        [sys.executable, __file__, CHILD_FLAG, name],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    for line in lines[:-1]:  # what the benchmark printed along the way
        print(line)  # noqa: T201
    if completed.returncode != 0 or not lines:
        return {"error": f"{name} exited with {completed.returncode} (its traceback is above)"}
    return json.loads(lines[-1])


def _child(name: str) -> int:
    """Run one benchmark here and print its numbers as the last line of JSON."""
    sys.path.insert(0, str(ROOT))
    module = importlib.import_module(f"tests.perf.bench_{name}")
    try:
        numbers = module.run()
    except Exception:
        numbers = {"error": traceback.format_exc(limit=5)}
    print(json.dumps(numbers, default=str))  # noqa: T201
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == [CHILD_FLAG]:
        return _child(argv[1])
    sys.path.insert(0, str(ROOT))
    available = discover()
    unknown = [name for name in argv if name not in available]
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}. Available: {', '.join(available)}")  # noqa: T201
        return 2
    selected = argv or available
    results: dict[str, dict] = {}
    failed = False
    for name in selected:
        print(f"▶ {name} …", flush=True)  # noqa: T201
        started = time.perf_counter()
        results[name] = _run_in_own_process(name)
        if "error" in results[name]:
            failed = True
            print(results[name]["error"])  # noqa: T201
        results[name]["benchmark_wall_s"] = round(time.perf_counter() - started, 1)

    width = max((len(key) for numbers in results.values() for key in numbers), default=10)
    for name, numbers in results.items():
        print(f"\n{name}")  # noqa: T201
        for key, value in numbers.items():
            if key != "error":
                print(f"  {key.ljust(width)}  {_format(value)}")  # noqa: T201

    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = RESULTS / f"{stamp}.json"
    output.write_text(
        json.dumps(
            {
                "when": stamp,
                "machine": {"python": platform.python_version(), "platform": platform.platform()},
                "results": results,
            },
            indent=2,
        )
    )
    print(f"\nResults written to {output.relative_to(ROOT)}")  # noqa: T201
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
