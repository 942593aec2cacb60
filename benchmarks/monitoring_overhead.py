"""What the `monitoring` profile costs: PSS memory and idle CPU of the native stack with and without it.

Each round starts a fresh stack without the profile, then one with it (COMPOSE_PROFILES=monitoring), in the same
run, runs stack-smoke once in each (so Airflow has sent metrics), lets it idle and measures every program the
way benchmarks/stack_benchmark.py does (benchmarks/processes.py). The overhead is the difference of the totals
(development fakes left out); the profile's own programs are listed too. Goal: under 150 MiB and 5 % of one core.

    .venv/bin/python -m benchmarks.monitoring_overhead [--rounds 1] [--settle 30] [--idle-seconds 60] [--no-record]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from benchmarks import results
from benchmarks.stack_benchmark import Run, idle
from stacktest.native import NativeStack

GOALS = {"memory_pss": ("MiB", 150.0), "idle_cpu": ("% of one core", 5.0)}
PROFILE = {"COMPOSE_PROFILES": "monitoring"}


def measure(extra_env: dict[str, str], settle: float, seconds: float) -> Run:
    run = Run()
    with NativeStack.running(extra_env) as stack:
        run_id = stack.trigger_dag("stack-smoke")
        if stack.wait_run("stack-smoke", run_id, timeout=300) != "success":
            raise RuntimeError("stack-smoke did not succeed; the stack is not fit to measure")
        idle(Path(stack.state_dir), settle, seconds, run)
    return run


def overhead(without: Run, with_profile: Run) -> dict[str, float]:
    a, b = without.figures(), with_profile.figures()
    return {name: b[name] - a[name] for name in GOALS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="pairs of stacks, without then with (default 1)")
    parser.add_argument("--settle", type=float, default=30, help="idle seconds before measuring (default 30)")
    parser.add_argument("--idle-seconds", type=float, default=60, help="idle CPU window (default 60)")
    parser.add_argument("--no-record", action="store_true", help="leave benchmarks/results.json as it is")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    command = shlex.join([".venv/bin/python", "-m", "benchmarks.monitoring_overhead", *sys.argv[1:]])
    load = f"load average {os.getloadavg()[0]:.1f} when it started"
    pairs = []
    for _ in range(args.rounds):
        without = measure({}, args.settle, args.idle_seconds)
        with_profile = measure(PROFILE, args.settle, args.idle_seconds)
        pairs.append((without, with_profile))
        added = overhead(without, with_profile)
        own = {k: v for k, v in with_profile.pss.items() if k not in without.pss}
        print(f"without: {without.figures()['memory_pss']:.0f} MiB PSS, {without.figures()['idle_cpu']:.1f} % CPU; "
              f"with: {with_profile.figures()['memory_pss']:.0f} MiB, {with_profile.figures()['idle_cpu']:.1f} %")
        print(f"monitoring adds {added['memory_pss']:.0f} MiB PSS (goal < 150) and {added['idle_cpu']:.1f} % of one "
              f"core (goal < 5)")
        for name, mib in sorted(own.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<22} {mib:7.1f} MiB  {with_profile.cpu.get(name, 0.0):5.2f} % CPU")
        print(f"  {'the profile alone':<22} {sum(own.values()):7.1f} MiB  "
              f"{sum(with_profile.cpu.get(n, 0.0) for n in own):5.2f} % CPU (the rest of the difference: Airflow's "
              f"StatsD sending, and the noise of two stacks)")
    if not args.no_record:
        figures = [results.figure(f"native.monitoring_overhead.{name}", [overhead(a, b)[name] for a, b in pairs],
                                  unit, goal, command, load) for name, (unit, goal) in GOALS.items()]
        figures.append(results.figure("native.monitoring_overhead.programs_pss",
                                      [sum(v for n, v in b.pss.items() if n not in a.pss) for a, b in pairs],
                                      "MiB", GOALS["memory_pss"][1], command, load))
        figures += [results.figure(f"native.monitoring_overhead.pss.{name}", [b.pss.get(name, 0.0) for a, b in pairs],
                                   "MiB", None, command, load)
                    for name in sorted({n for a, b in pairs for n in b.pss if n not in a.pss})]
        results.record(figures)
    print(f"{load}; {len(pairs)} round(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
