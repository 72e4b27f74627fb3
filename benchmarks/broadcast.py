"""Benchmark: a broadcast to 1,000 and 10,000 workers through the sandbox's 30 messages a second limit.

Run by hand, not a test:  .venv/bin/python benchmarks/broadcast.py [--sizes 1000 10000] [--rate 25]

For each size it seeds a fresh database with that many consenting workers, queues one broadcast, starts
the real bot (``union-bot run``, in its own process) against a local sandbox that throttles like
Telegram (30 sending calls a second), and watches what arrives. It prints:

- the pace reached between the first and the last message, as a share of the configured one
  (goal: at least 95%),
- duplicates: messages a worker got more than once (goal: 0), and refusals (429) from the sandbox,
- the bot process's peak memory (VmHWM) and its growth during the broadcast, and how the peak
  changes between the smallest and the largest size (goal: flat),
- how long an admin waited for a reply to /help sent halfway through (alerts and replies share the
  limiter with the broadcast and must not starve).

The full run (1,000 and 10,000 at 25 a second) takes about eight minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.broadcasts.dispatch import create  # noqa: E402
from bot.core.clock import SystemClock  # noqa: E402
from bot.core.config import load_config  # noqa: E402
from bot.sandbox.server import BotApiSandbox, SentMessage  # noqa: E402
from bot.sandbox.session import SANDBOX_TOKEN  # noqa: E402
from storage import SQLiteStorage  # noqa: E402
from storage.models import Audience, AudienceKind, Schedule, ScheduleKind  # noqa: E402

FIRST_ID = 1_000_001
ADMIN = 2003

CONFIG = """
[telegram]
api_base_url = "{base}"
api_file_url = "{files}"
[storage]
database = "union.db"
[union]
name = "基准测试镇总工会"
[broadcast]
messages_per_second = {rate}
[[officers]]
telegram_id = 2003
name = "李主席"
role = "admin"
"""


@dataclass
class Result:
    size: int
    rate: int
    seconds: float
    achieved: float
    duplicates: int
    missing: int
    refused: int
    peak_kib: int
    growth_kib: int
    reply_seconds: float | None


def _memory_kib(pid: int, field: str) -> int:
    """VmRSS or VmHWM (peak) of a process, from /proc (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def _seed(database: Path, size: int, config_path: Path) -> None:
    storage = SQLiteStorage(str(database))
    await storage.open()
    try:
        for telegram_id in range(FIRST_ID, FIRST_ID + size):
            await storage.ensure_worker(telegram_id, language="zh-Hans")
            await storage.record_consent(telegram_id, "benchmark")
        await create(
            storage,
            load_config(config_path),
            SystemClock(),
            created_by=None,
            texts={"zh-Hans": "周六上午九点，城关镇职工之家，劳动法培训。欢迎参加！"},
            audience=Audience(kind=AudienceKind.EVERYONE),
            schedule=Schedule(kind=ScheduleKind.ONCE, at=SystemClock().now()),
        )
    finally:
        await storage.close()


def run_one(size: int, rate: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="union-bot-bench-") as scratch, BotApiSandbox() as sandbox:
        folder = Path(scratch)
        config_path = folder / "config.toml"
        config_path.write_text(
            CONFIG.format(base=sandbox.base_url, files=sandbox.file_url, rate=rate), encoding="utf-8"
        )
        workers = {
            telegram_id: sandbox.person(telegram_id) for telegram_id in range(FIRST_ID, FIRST_ID + size)
        }
        admin = sandbox.person(ADMIN, first_name="李主席")
        print(f"  seeding {size:,} workers…", flush=True)
        asyncio.run(_seed(folder / "union.db", size, config_path))

        arrivals: list[float] = []
        per_worker: Counter[int] = Counter()
        lock = threading.Lock()
        done = threading.Event()

        def watch(chat_id: int, message: SentMessage, event: str) -> None:
            if event != "new" or chat_id not in workers:
                return
            with lock:
                arrivals.append(time.monotonic())
                per_worker[chat_id] += 1
                if len(per_worker) == size:
                    done.set()

        sandbox.add_listener(watch)
        with (folder / "bot.log").open("ab") as log:
            bot = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(config_path)],
                env={**os.environ, "UNION_BOT_TOKEN": SANDBOX_TOKEN},
                stdout=log,
                stderr=log,
                cwd=REPO,
            )
        try:
            baseline = 0
            reply_seconds: float | None = None
            asked_at: float | None = None
            deadline = time.monotonic() + size / rate * 2 + 60
            while not done.wait(0.25):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {len(per_worker)} of {size} workers reached")
                with lock:
                    count = len(arrivals)
                if count and not baseline:
                    baseline = _memory_kib(bot.pid, "VmRSS")  # started and sending
                if asked_at is None and count >= size // 2:
                    asked_at = time.monotonic()
                    admin.send_command("/help")
                if asked_at is not None and reply_seconds is None and admin.messages:
                    reply_seconds = time.monotonic() - asked_at
            peak = _memory_kib(bot.pid, "VmHWM")
            rss = _memory_kib(bot.pid, "VmRSS")
        finally:
            bot.terminate()
            bot.wait(timeout=30)
            sandbox.remove_listener(watch)
        if reply_seconds is None and admin.messages and asked_at is not None:
            reply_seconds = float("nan")  # arrived after the last broadcast message
        seconds = arrivals[-1] - arrivals[0]
        sent_calls = sum(1 for method, _ in sandbox.calls if method == "sendMessage")
        return Result(
            size=size,
            rate=rate,
            seconds=seconds,
            achieved=(len(arrivals) - 1) / seconds if seconds else float("inf"),
            duplicates=sum(count - 1 for count in per_worker.values()),
            missing=size - len(per_worker),
            refused=sent_calls - len(arrivals) - len(admin.messages),
            peak_kib=peak,
            growth_kib=rss - baseline,
            reply_seconds=reply_seconds,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="recipients per run")
    parser.add_argument("--rate", type=int, default=25, help="broadcast.messages_per_second (1 to 30)")
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        print(f"{size:,} workers at {args.rate} messages a second (sandbox limit: 30 a second)", flush=True)
        result = run_one(size, args.rate)
        results.append(result)
        reply = "n/a" if result.reply_seconds is None else f"{result.reply_seconds:.2f} s"
        print(
            f"  {result.size:,} sent in {result.seconds:.1f} s: {result.achieved:.2f}/s = "
            f"{result.achieved / result.rate:.1%} of the configured rate (goal ≥ 95%)\n"
            f"  duplicates: {result.duplicates} (goal 0), missing: {result.missing}, "
            f"refused by the sandbox (429): {result.refused}\n"
            f"  bot memory: peak {result.peak_kib / 1024:.1f} MiB, growth while sending "
            f"{result.growth_kib / 1024:+.1f} MiB; an admin's /help answered in {reply} mid-broadcast",
            flush=True,
        )
    if len(results) > 1:
        small, large = results[0], results[-1]
        print(
            f"memory: peak {small.peak_kib / 1024:.1f} MiB for {small.size:,}, "
            f"{large.peak_kib / 1024:.1f} MiB for {large.size:,}: "
            f"{(large.peak_kib - small.peak_kib) / 1024:+.1f} MiB for "
            f"{large.size / small.size:.0f}× the recipients (goal: flat)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
