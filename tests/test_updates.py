"""Concurrent updates: different people overlap, one person's updates keep their order."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from bot.app import UnionApplication
from bot.runtime.updates import PerUserUpdateProcessor
from bot.sandbox.server import Person
from tests.flow_helpers import onboard
from tests.test_wages import WORK_Q, start_wages


def _update(update_id: int, user_id: int) -> Update:
    user = User(id=user_id, first_name="工人", is_bot=False)
    chat = Chat(id=user_id, type=Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, None, chat, from_user=user, text="hi"))  # type: ignore[arg-type]


async def test_one_persons_updates_run_in_order_while_others_overlap() -> None:
    processor = PerUserUpdateProcessor(max_concurrent_updates=8)
    log: list[str] = []
    slow_gate = asyncio.Event()

    async def handle(name: str, *, wait: bool = False) -> None:
        log.append(f"start {name}")
        if wait:
            await slow_gate.wait()
        log.append(f"end {name}")

    tasks = [
        asyncio.create_task(processor.process_update(_update(1, 1001), handle("a1", wait=True))),
        asyncio.create_task(processor.process_update(_update(2, 1001), handle("a2"))),
        asyncio.create_task(processor.process_update(_update(3, 1002), handle("b1"))),
    ]
    await asyncio.sleep(0)
    for _ in range(5):
        await asyncio.sleep(0)
    # b1 (another person) finished while a1 waits; a2 waits for a1.
    assert log == ["start a1", "start b1", "end b1"]
    slow_gate.set()
    await asyncio.gather(*tasks)
    assert log == ["start a1", "start b1", "end b1", "end a1", "start a2", "end a2"]
    assert processor._locks == {}  # nothing left behind once nobody waits


async def test_answers_typed_faster_than_the_bot_replies_land_in_their_questions(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker)
    await start_wages(worker)
    # Three answers at once, before the bot has asked the second and third question.
    for answer in ("宏达劳务", "阳光花园 城关镇", "砌砖"):
        worker.send_text(answer)
    await worker.next_message(lambda m: "欠了多长时间" in m.text, timeout=20)
    assert any(WORK_Q in (m.text or "") for m in worker.messages)
    draft = bot.user_data[worker.user_id]["draft"]["answers"]
    assert (draft["employer"], draft["site"], draft["work"]) == ("宏达劳务", "阳光花园 城关镇", "砌砖")
