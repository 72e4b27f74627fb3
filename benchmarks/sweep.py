"""How long the SLA sweep takes with many open cases: it should grow with the cases that are due, not
with all the open ones (issue: "≤ 20 ms per sweep with 100,000 open cases").

Run by hand (not a test):  .venv/bin/python benchmarks/sweep.py [--sizes 10000,100000] [--due 0,10,100]

It files the cases through the storage interface into a throwaway SQLite file (evenly spread over
two hours, so their 75% warnings come due one by one), lets one sweep schedule them all, then moves
the clock so that exactly K warnings are due and times one sweep. Seeding 100,000 cases takes a few
minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bot.core.clock import FakeClock
from bot.core.config import Config, SLAConfig, UnionConfig
from bot.sweeps.reminders import ReminderSweep
from storage import SQLiteStorage
from storage.models import CaseKind, NewCase, OfficerIn

GOAL_MS = 20.0
OFFICER, WORKER = 2001, 1001


async def _grow(storage: SQLiteStorage, clock: FakeClock, count: int, spacing: timedelta) -> None:
    started = time.perf_counter()
    for number in range(count):
        clock.advance(spacing)
        await storage.create_case(
            NewCase(
                kind=CaseKind.WAGES, worker_id=WORKER, fields={"employer": "宏达劳务"}, assignee_id=OFFICER
            )
        )
        if (number + 1) % 20_000 == 0:
            print(f"  … {number + 1:,} filed ({time.perf_counter() - started:.0f} s)", flush=True)


async def _timed_sweep(sweep: ReminderSweep) -> tuple[float, int]:
    started = time.perf_counter()
    queued = await sweep.run()
    return (time.perf_counter() - started) * 1000, queued


async def _measure(size: int, due_counts: list[int], config: Config) -> list[tuple[int, int, float]]:
    """A fresh database of ``size`` open cases; one timed sweep for each count of due cases."""
    results: list[tuple[int, int, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        clock = FakeClock()
        storage = SQLiteStorage(str(Path(scratch) / "sweep.db"), now=clock.now)
        await storage.open()
        await storage.sync_officers(
            [OfficerIn(telegram_id=OFFICER, name="王干事", specialties=[CaseKind.WAGES])]
        )
        await storage.ensure_worker(WORKER)
        sweep = ReminderSweep(storage, config, clock)
        # All filed within 2 h, before the first warning (3 h): the first sweep only schedules them.
        spacing = min(timedelta(seconds=1), timedelta(hours=2) / size)
        print(f"Filing {size:,} cases …", flush=True)
        first = clock.now() + spacing
        await _grow(storage, clock, size, spacing)
        elapsed, _ = await _timed_sweep(sweep)
        print(f"  first sweep, scheduling them all: {elapsed / 1000:.1f} s (one-off)")
        # Case k's warning is due at first + k spacings + 3 h: move the clock K spacings on, K are due.
        base = first + config.sla.first_response * 0.75
        clock.set(base - spacing / 2)
        idle = [await _timed_sweep(sweep) for _ in range(5)]
        results.append((size, 0, statistics.median(run[0] for run in idle)))
        moved = 0
        for due in (count for count in due_counts if count):
            clock.set(base + spacing * (moved + due - 1) + spacing / 2)
            moved += due
            milliseconds, queued = await _timed_sweep(sweep)
            assert queued == due, f"expected {due} reminders, got {queued}"
            results.append((size, due, milliseconds))
        await storage.close()
    for size_, due, ms in results:
        print(f"  {size_:>7,} open, {due:>5} due: {ms:8.2f} ms")
    return results


async def main(sizes: list[int], due_counts: list[int]) -> None:
    # No quiet hours: every warning is due exactly 3 h after its case (75% of the 4 h first response).
    config = Config(union=UnionConfig(name="benchmark"), sla=SLAConfig(quiet_hours=""))
    results = [row for size in sizes for row in await _measure(size, due_counts, config)]

    print("\nResults (goal: an idle sweep ≤ 20 ms, and flat as open cases grow):")
    idle = [(size, ms) for size, due, ms in results if due == 0]
    for size, ms in idle:
        print(f"  idle sweep with {size:>7,} open cases: {ms:.2f} ms = {ms / GOAL_MS:.2f} of the goal")
    if len(idle) > 1:
        print(f"  growth from {idle[0][0]:,} to {idle[-1][0]:,} open cases: ×{idle[-1][1] / idle[0][1]:.2f}")
    for size, due, ms in results:
        if due:
            print(f"  {size:>7,} open, {due:>5} due: {ms / due:.3f} ms per due case")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="open-case counts to measure at, growing")
    parser.add_argument("--due", default="0,10,100", help="how many cases are due in each timed sweep")
    args = parser.parse_args()
    asyncio.run(main([int(n) for n in args.sizes.split(",")], [int(n) for n in args.due.split(",")]))
