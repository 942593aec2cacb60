"""Benchmark the native stack: cold start to all healthy, memory (PSS), trigger-to-success through Celery.

Run by hand (not a test): `.venv/bin/python -m benchmarks.stack_benchmark --runs 20 [--set KEY=VALUE]`
It starts a fresh stack in a temporary folder on free ports, prints a Markdown table, and stops the stack.
"""

from __future__ import annotations

import argparse
import statistics
import time

import psutil

from stacktest.native import NativeStack, new_state_dir, processes_under


def unique_processes(state_dir) -> set[int]:
    pids = set()
    for proc in processes_under(state_dir):
        pids.add(proc.pid)
        try:
            pids.update(child.pid for child in proc.children(recursive=True))
        except psutil.Error:
            pass
    return pids


def pss_mib(pids: set[int]) -> float:
    """Proportional set size of these processes together (shared pages counted once across them)."""
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_full_info().pss
        except psutil.Error:
            pass
    return total / 2**20


def total_pss_mib(state_dir) -> tuple[float, int]:
    pids = unique_processes(state_dir)
    return pss_mib(pids), len(pids)


def by_program(state_dir) -> dict[str, tuple[float, float]]:
    """Program (direct child of supervisord) -> (PSS MiB, CPU % of one core over 10 s idle), whole families."""
    supervisord = [p for p in processes_under(state_dir) if "supervisord" in " ".join(p.cmdline())]
    families = {}
    for child in supervisord[0].children():
        family = [child, *child.children(recursive=True)]
        # setproctitle rewrites some command lines (gunicorn, celery): keep the pid so none collide
        name = f"{' '.join(child.cmdline())[:48].replace(str(state_dir), '$STATE')} ({child.pid})"
        for member in family:
            member.cpu_percent(None)
        families[name] = family
    time.sleep(10)
    result = {}
    for name, family in families.items():
        pss = cpu = 0.0
        for member in family:
            try:
                pss += member.memory_full_info().pss / 2**20
                cpu += member.cpu_percent(None)
            except psutil.Error:
                pass
        result[name] = (pss, cpu)
    return result


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="extra setting for the stack, e.g. AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME=1")
    args = parser.parse_args()
    state_dir = new_state_dir()
    started = time.monotonic()
    stack = NativeStack.start(state_dir, dict(item.split("=", 1) for item in args.set))
    cold = time.monotonic() - started
    try:
        stack.trigger_dag("stack-smoke")  # warm-up run, not counted
        latencies = []
        for _ in range(args.runs):
            begin = time.monotonic()
            run_id = stack.trigger_dag("stack-smoke")
            assert stack.wait_run("stack-smoke", run_id) == "success"
            latencies.append(time.monotonic() - begin)
        time.sleep(2)
        memory, processes = total_pss_mib(state_dir)
        programs = by_program(state_dir)
    finally:
        stack.stop()
    print("| measure | value |")
    print("|---|---|")
    print(f"| cold start to all healthy (fresh state folder, venv installed) | {cold:.1f} s |")
    print(f"| memory, whole stack (PSS, {processes} processes, worker concurrency 4) | {memory:.0f} MiB |")
    print(f"| trigger to success, stack-smoke, {args.runs} runs: p50 / p95 / max | "
          f"{statistics.median(latencies):.2f} / {percentile(latencies, 95):.2f} / {max(latencies):.2f} s |")
    print(f"| idle CPU, whole stack (10 s) | {sum(cpu for _, cpu in programs.values()):.0f} % of one core |")
    print()
    print("| program | PSS MiB | idle CPU % |")
    print("|---|---|---|")
    for name, (pss, cpu) in sorted(programs.items(), key=lambda item: -item[1][0]):
        print(f"| {name} | {pss:.0f} | {cpu:.1f} |")


if __name__ == "__main__":
    main()
