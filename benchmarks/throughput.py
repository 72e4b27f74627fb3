"""Throughput: the project's bot against a bare python-telegram-bot echo bot, on the same burst.

Run by hand (not a test):  .venv/bin/python benchmarks/throughput.py [--workers 300] [--rounds 3]
                           [--latency-ms 0]

N new workers each send /start at once: for the union bot that is the first step of onboarding (it
checks the update was not handled before, looks the worker up, asks for their language and commits
the step durably to SQLite); the bare bot echoes the text back. This process plays Telegram: the
project's sandbox, its flood limit lifted so Telegram's 30 messages a second does not hide the bots'
own speed. Each bot runs in a process of its own, as it would in production (the project's own rate
limiter is lifted there too), so neither is charged for the sandbox's work. Printed: updates per second
for each, their ratio (goal: the project ≥ 0.8 of the bare bot), each bot process's CPU time per update
(all threads) and its peak resident memory (VmHWM).

Reading the CPU column: the echo bot handles one update at a time, so it also waits for each answer
from the sandbox (its rate is below 1 / its CPU per update); the union bot overlaps different workers'
updates, so with no latency its rate is its CPU per update.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from telegram import Update
from telegram.ext import ApplicationBuilder, MessageHandler, filters

from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import SANDBOX_TOKEN, default_sandbox_config, sandbox_config

GOAL = 0.8
FIRST_WORKER = 100_000
REPO = Path(__file__).resolve().parent.parent


# -- the two bots, each run in its own process (``--serve``) ---------------------------------------


async def _echo(update: Update, _context: object) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


def serve_bare(base_url: str, file_url: str) -> None:
    """A bare echo bot with python-telegram-bot's defaults."""
    application = ApplicationBuilder().token(SANDBOX_TOKEN).base_url(base_url).base_file_url(file_url).build()
    application.add_handler(MessageHandler(filters.ALL, _echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


def serve_project(base_url: str, file_url: str, database: str) -> None:
    """The union bot as ``union-bot run`` starts it, but without its own rate limiter."""
    from bot.app import build_application, serve
    from bot.core.logs import configure_logging

    class _Urls:  # the sandbox's addresses, in the shape sandbox_config expects
        def __init__(self) -> None:
            self.base_url, self.file_url = base_url, file_url

    config = sandbox_config(default_sandbox_config(), _Urls(), database)  # type: ignore[arg-type]
    # As `union-bot run` does, but only warnings: its start-up lines would bury the results.
    configure_logging(level=logging.WARNING, secrets=[SANDBOX_TOKEN])
    application = build_application(config, token=SANDBOX_TOKEN, rate_limited=False)
    asyncio.run(serve(application))


# -- the measurement ---------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """CPU time the process has used so far, all its threads (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _peak_memory(pid: int) -> int:
    """The process's peak resident memory in bytes (Linux: VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


async def _burst(people: list[Person]) -> float:
    """Every person sends /start at once; seconds until each has had an answer."""
    marks = [person.mark() for person in people]
    started = time.perf_counter()
    for person in people:
        person.send_command("/start")
    await asyncio.gather(
        *(person.next_message(since=mark, timeout=300) for person, mark in zip(people, marks, strict=True))
    )
    return time.perf_counter() - started


async def _measure(kind: str, workers: int, first_id: int, latency: float) -> tuple[float, float, int]:
    """(updates per second, CPU seconds per update, peak bytes) of one bot process on a fresh sandbox."""
    with (
        BotApiSandbox(flood_limit=None, latency=latency) as sandbox,
        tempfile.TemporaryDirectory() as scratch,
    ):
        people = [sandbox.person(first_id + n, first_name=f"工人{n}") for n in range(workers)]
        command = [sys.executable, __file__, "--serve", kind, sandbox.base_url, sandbox.file_url]
        command.append(str(Path(scratch) / "bench.db"))
        bot = subprocess.Popen(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})  # noqa: ASYNC220
        try:
            # Ready once it long-polls; its start-up calls (command menus) are not part of the burst.
            await asyncio.to_thread(sandbox.wait_for_call, "getUpdates", timeout=60)
            await asyncio.sleep(1)
            cpu_before = _cpu_seconds(bot.pid)
            seconds = await _burst(people)
            cpu = _cpu_seconds(bot.pid) - cpu_before
            peak = _peak_memory(bot.pid)
        finally:
            bot.send_signal(signal.SIGINT)
            bot.wait(timeout=60)
    return workers / seconds, cpu / workers, peak


async def main(workers: int, rounds: int, latency: float) -> None:
    rates: dict[str, list[float]] = {"bare": [], "project": []}
    cpus: dict[str, list[float]] = {"bare": [], "project": []}
    peaks: dict[str, int] = {"bare": 0, "project": 0}
    first = FIRST_WORKER
    for number in range(rounds):
        for kind in ("bare", "project"):
            rate, cpu, peak = await _measure(kind, workers, first, latency)
            rates[kind].append(rate)
            cpus[kind].append(cpu)
            peaks[kind] = max(peaks[kind], peak)
            first += workers
        latest = {kind: f"{values[-1]:7.1f}/s" for kind, values in rates.items()}
        print(f"round {number + 1}: bare echo {latest['bare']}   union bot {latest['project']}")
    bare, project = statistics.median(rates["bare"]), statistics.median(rates["project"])
    cpu = {kind: statistics.median(values) * 1000 for kind, values in cpus.items()}
    print(
        f"\n{workers} workers sending /start at once, {latency * 1000:.0f} ms to the Bot API and back, "
        f"median of {rounds} rounds:"
    )
    for name, kind, rate in (("bare PTB echo bot", "bare", bare), ("union bot", "project", project)):
        print(
            f"  {name:<18}: {rate:7.1f} updates/s, {cpu[kind]:.2f} ms of CPU an update, "
            f"peak memory {peaks[kind] / 2**20:6.1f} MiB"
        )
    print(f"  ratio             : {project / bare:.2f} (goal ≥ {GOAL})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="added to every Bot API answer, like the round trip to Telegram (0: the bots' own speed)",
    )
    parser.add_argument(
        "--serve", nargs=4, metavar=("KIND", "BASE_URL", "FILE_URL", "DATABASE"), help="internal"
    )
    arguments = parser.parse_args()
    if arguments.serve:
        kind, base_url, file_url, database = arguments.serve
        if kind == "bare":
            serve_bare(base_url, file_url)
        else:
            serve_project(base_url, file_url, database)
    else:
        asyncio.run(main(arguments.workers, arguments.rounds, arguments.latency_ms / 1000))
