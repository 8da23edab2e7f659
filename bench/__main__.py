"""`make bench`: every benchmark scenario in turn (or those named: `python -m bench refresh sync`).

Each scenario is a module in bench/ with a `main() -> None` that prints its own figures. They are
benchmarks, not tests: they measure and report, and never run inside `make test`.
"""

from __future__ import annotations

import importlib
import sys
import time

SCENARIOS = ["simulator_startup", "simulator_load", "refresh", "sync", "live", "load", "history"]


def main(argv: list[str]) -> int:
    chosen = argv or SCENARIOS
    for name in chosen:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            print(f"== {name}: not written yet, skipped")
            continue
        print(f"== {name}")
        started = time.perf_counter()
        module.main()
        print(f"== {name}: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
