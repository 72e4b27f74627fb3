"""Officers work a case from its alert, end to end over the sandbox: the worker hears of every change."""

from __future__ import annotations

from decimal import Decimal

from bot.app import UnionApplication
from bot.officers.casework import suggested_member_number
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import ADMIN_ID, BACKUP_ID, OFFICER_ID
from storage.models import CaseStatus, Outcome
from tests.flow_helpers import answer, onboard
from tests.test_alerts import HOSTILE, _fill_wages


async def _report_wages(worker: Person, wang: Person, *, workers: str | None = None) -> None:
    """The worker reports unpaid wages in zh-Hans; Wang gets the alert (first case, fewest open)."""
    await onboard(worker)
    await _fill_wages(worker, employer=HOSTILE, workers=workers, disclose=False)
    worker.press("✅ 提交")
    await worker.next_message(lambda m: "W-000001" in m.text)
    await wang.next_message(lambda m: "🆕 新案件 W-000001" in (m.text or ""))


async def _apply_to_join(worker: Person, language: str) -> None:
    """Fill the join form up to its summary, in zh-Hans or English."""
    chinese = language == "简体中文"
    await onboard(worker, language)
    worker.send_command("/join")
    await worker.next_message()
    await answer(worker, "张三" if chinese else "Li Wei")
    await answer(worker, "13812345678")
    await worker.next_message()
    await answer(worker, "宏达建筑劳务公司")
    worker.press("建筑工地" if chinese else "Construction")
    await worker.next_message(lambda m: ("老家" if chinese else "hometown") in m.text)
    await answer(worker, "四川广安")
    await answer(worker, "城关镇")
    worker.press("✅ 提交" if chinese else "✅ Submit")
    await worker.next_message(lambda m: "M-000001" in m.text)


async def _status(bot: UnionApplication) -> CaseStatus:
    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None
    return case.status


async def test_taking_a_case_tells_the_worker_and_a_second_press_says_it_is_taken(
    bot: UnionApplication, worker: Person, wang: Person, chen: Person
) -> None:
    await _report_wages(worker, wang)

    wang.press("✋ 接手")
    await wang.next_message(lambda m: "您已接手 W-000001" in m.text)
    news = await worker.next_message(lambda m: "W-000001" in m.text)
    assert news.text == "📌 W-000001：工会干事已接手您的求助，会在这里联系您。"
    assert "王" not in news.text  # the worker never learns which officer
    assert await _status(bot) == CaseStatus.ACKNOWLEDGED

    query = wang.press("✋ 接手")
    answer = await wang.next_answer(query)
    assert answer["text"] == "W-000001 已经有人接手了。" and answer["show_alert"]


async def test_a_reply_reaches_the_worker_intact_and_their_answer_reaches_the_officer(
    bot: UnionApplication, worker: Person, wang: Person
) -> None:
    await _report_wages(worker, wang)

    wang.press("↩️ 回复工人")
    await wang.next_message(lambda m: "请写下给工人的回复" in m.text)
    wang.send_text("长" * 4000)  # over the 3,000 a relayed message may have
    await wang.next_message(lambda m: "太长了" in m.text)
    wang.send_text("请把 <b>工资条</b> & 合同拍照发来 *急* [1]")
    await wang.next_message(lambda m: "已发给工人（案件 W-000001）" in m.text)
    message = await worker.next_message(lambda m: "工会关于 W-000001" in m.text)
    assert "请把 <b>工资条</b> & 合同拍照发来 *急* [1]" in message.text
    assert message.button_labels == ["✉️ 回复", "📂 查看这个求助"]
    assert await _status(bot) == CaseStatus.IN_PROGRESS

    worker.press("✉️ 回复")
    await worker.next_message(lambda m: "请写下您要对工会干事说的话" in m.text)
    worker.send_photo(caption="工资条")
    await worker.next_message(lambda m: "已发送" in m.text)
    relayed = await wang.next_message(
        lambda m: m.kind == "photo" and "工人就 W-000001 留言" in (m.text or "")
    )
    assert "工资条" in (relayed.text or "")
    assert relayed.button_labels == ["↩️ 回复工人", "📂 查看案件"]


async def test_asking_for_information_waits_for_the_worker_whose_answer_resumes_the_case(
    bot: UnionApplication, worker: Person, wang: Person
) -> None:
    await _report_wages(worker, wang)

    wang.press("❓ 请工人补充信息")
    await wang.next_message(lambda m: "您需要工人补充什么" in m.text)
    wang.send_sticker()
    await wang.next_message(lambda m: m.text == "请用文字输入。")
    wang.send_command("/cases")
    await wang.next_message(lambda m: "您正在写关于 W-000001 的内容" in m.text)
    wang.send_text("老板叫什么名字？")
    await wang.next_message(lambda m: "正在等待工人回答" in m.text)
    question = await worker.next_message(lambda m: "工会需要您再说" in m.text)
    assert "老板叫什么名字？" in question.text and "请点“回复”来回答。" in question.text
    assert await _status(bot) == CaseStatus.WAITING_FOR_WORKER

    worker.press("✉️ 回复")
    await worker.next_message(lambda m: "请写下您要对工会干事说的话" in m.text)
    worker.send_text("张老板")
    await worker.next_message(lambda m: "已发送" in m.text)
    relayed = await wang.next_message(lambda m: "工人就 W-000001 留言" in m.text)
    assert relayed.text.endswith("张老板")
    assert await _status(bot) == CaseStatus.IN_PROGRESS


async def test_an_internal_note_never_reaches_the_worker(
    bot: UnionApplication, worker: Person, wang: Person
) -> None:
    await _report_wages(worker, wang)
    seen = len(worker.messages)

    wang.press("📝 内部备注")
    await wang.next_message(lambda m: "内部备注" in m.text)
    wang.send_text("老板有前科，小心")
    await wang.next_message(lambda m: "内部备注已保存到 W-000001" in m.text)

    await bot.outbox.send_due()
    assert len(worker.messages) == seen
    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None
    visible = await bot.storage.list_case_events(case.id, worker_visible_only=True)
    assert all("前科" not in (event.note or "") for event in visible)
    worker.send_command("/mycases")
    await worker.next_message(lambda m: "W-000001" in m.text)
    worker.press("W-000001 · 欠薪")
    timeline = await worker.next_message(lambda m: "状态" in m.text)
    assert "前科" not in timeline.text


async def test_resolving_with_wages_recovered_records_the_amount_and_tells_the_worker(
    bot: UnionApplication, worker: Person, wang: Person
) -> None:
    await _report_wages(worker, wang, workers="12")

    wang.press("✅ 办结")
    await wang.next_message(lambda m: "W-000001 的办理结果是什么" in m.text)
    wang.press("欠薪部分追回")
    await wang.next_message(lambda m: "追回了多少钱" in m.text)
    wang.send_text("零")  # read (as 0), and refused as no money recovered
    await wang.next_message(lambda m: m.text.startswith("金额要大于0。"))
    wang.send_text("一千万零一")
    await wang.next_message(lambda m: m.text.startswith("超过了1000万元"))
    wang.send_text("¥4,000元")
    ask_workers = await wang.next_message(lambda m: "有几名工人拿回了钱" in m.text)
    assert ask_workers.button_labels == ["12名工人（按工人反映的人数）"]
    wang.send_text("3人")
    done = await wang.next_message(lambda m: "W-000001 已办结：欠薪部分追回。已通知工人。" in m.text)
    assert done.text.splitlines()[-1] == "记录的金额：4000元"  # what was read from what was typed

    news = await worker.next_message(lambda m: "W-000001：工会办完了" in m.text)
    assert news.text == (
        "W-000001：工会办完了。只要回来一部分工资。\n追回的钱：4000元\n\n"
        "没要回来的钱，您还可以自己去要：\n"
        "• 申请劳动仲裁，不收钱。\n"
        "• 一般要在不干了那天起1年内申请。\n"
        "想让工会干事帮您，请点“回复”。"
    )
    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None and case.status == CaseStatus.RESOLVED
    assert (case.outcome, case.amount_recovered, case.workers_helped) == (
        Outcome.RECOVERED_PART,
        Decimal("4000.00"),
        3,
    )

    # Closing comes after resolving, and the alert's buttons no longer apply.
    query = wang.press("✋ 接手")
    assert "不能这样操作" in (await wang.next_answer(query))["text"]
    wang.send_command("/case w1")
    card = await wang.next_message(lambda m: "W-000001 · 欠薪 · 已办结" in m.text)
    assert "结果：欠薪部分追回" in card.text and "追回：4000元，涉及3名工人" in card.text
    wang.press("🗂 结案", message_id=card.message_id)
    await wang.next_message(lambda m: m.text == "W-000001 现在是“已结案”。")
    assert "已结束" in (await worker.next_message(lambda m: "W-000001 已结束" in m.text)).text


async def test_approving_membership_gives_the_worker_a_member_number(
    bot: UnionApplication, worker: Person, wang: Person, chen: Person, admin: Person
) -> None:
    await _apply_to_join(worker, "简体中文")
    case = await bot.storage.get_case_by_reference("M-000001")
    assert case is not None and case.assignee_id is not None
    officer = {OFFICER_ID: wang, BACKUP_ID: chen, ADMIN_ID: admin}[case.assignee_id]
    await officer.next_message(lambda m: "M-000001" in (m.text or ""))

    officer.press("✅ 办结")
    await officer.next_message(lambda m: "M-000001 的办理结果是什么" in m.text)
    officer.press("批准入会")
    await officer.next_message(lambda m: "请输入新会员的编号" in m.text)
    officer.send_text("编号<1>")
    await officer.next_message(lambda m: "会员编号只能用字母、数字和横线" in m.text)
    number = suggested_member_number(case)
    officer.press(f"使用 {number}")
    await officer.next_message(lambda m: "M-000001 已办结：批准入会" in m.text)
    welcome = await worker.next_message(lambda m: "欢迎加入工会" in m.text)
    assert number in welcome.text

    worker.send_command("/join")
    already = await worker.next_message()
    assert number in already.text


async def test_buttons_from_non_officers_and_officers_not_on_the_case_are_refused(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, wang: Person, chen: Person
) -> None:
    await _report_wages(worker, wang)
    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None and case.backup_id == BACKUP_ID

    # The worker forges the officer's button: refused in their language, nothing changes.
    query = worker.press_data(f"oc:take:{case.id}")
    assert (await worker.next_answer(query))["text"] == "这个功能只供工会干事使用。"
    # A third officer, not on the case.
    await bot.storage.sync_officers([])
    from storage.models import CaseKind, OfficerIn

    await bot.storage.upsert_officer(OfficerIn(telegram_id=2009, name="赵干事", specialties=[CaseKind.WAGES]))
    outsider = sandbox.person(2009, first_name="赵干事")
    outsider.send_command("/cases")
    await outsider.next_message()
    query = outsider.press_data(f"oc:resolve:{case.id}")
    assert (await outsider.next_answer(query))["text"] == "这个案件不是分给您的。"
    outsider.send_command("/case W-000001")
    assert (await outsider.next_message()).text == "这个案件不是分给您的。"
    # Forged data that is not even a case action.
    query = wang.press_data("oc:delete:1")
    assert (await wang.next_answer(query))["text"] == "这个按钮已经失效了。"
    assert await _status(bot) == CaseStatus.NEW

    # A deactivated officer's old alert stops working at once.
    await bot.storage.set_officer_active(OFFICER_ID, False)
    query = wang.press("✋ 接手")
    assert (await wang.next_answer(query))["text"] == "这个功能只供工会干事使用。"
    assert await _status(bot) == CaseStatus.NEW


async def test_the_backup_hears_the_worker_while_the_primary_is_inactive_and_can_take_over(
    bot: UnionApplication, worker: Person, wang: Person, chen: Person
) -> None:
    await _report_wages(worker, wang)
    await bot.storage.set_officer_active(OFFICER_ID, False)

    worker.send_command("/mycases")
    await worker.next_message(lambda m: "W-000001" in m.text)
    worker.press("W-000001 · 欠薪")
    await worker.next_message(lambda m: "状态" in m.text)
    worker.press("✉️ 给工会干事留言")
    await worker.next_message(lambda m: "请写下您要对工会干事说的话" in m.text)
    worker.send_text("还没人联系我")
    await worker.next_message(lambda m: "已发送" in m.text)
    relayed = await chen.next_message(lambda m: "工人就 W-000001 留言" in m.text)
    assert relayed.text.endswith("还没人联系我")

    relayed_id = relayed.message_id
    chen.press("📂 查看案件", message_id=relayed_id)
    card = await chen.next_message(lambda m: "W-000001 · 欠薪" in m.text)
    chen.press("✋ 接手", message_id=card.message_id)
    await chen.next_message(lambda m: "您已接手 W-000001" in m.text)
    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None
    assert (case.assignee_id, case.backup_id, case.status) == (BACKUP_ID, OFFICER_ID, CaseStatus.ACKNOWLEDGED)


async def test_an_admin_reassigns_and_an_officer_can_only_ask_for_it(
    bot: UnionApplication, worker: Person, wang: Person, chen: Person, admin: Person
) -> None:
    await _report_wages(worker, wang)

    wang.press("🔀 改派")
    await wang.next_message(lambda m: "已请管理员改派 W-000001" in m.text)
    request = await admin.next_message(lambda m: "王干事请求改派 W-000001" in m.text)
    admin.press("🔀 改派", message_id=request.message_id)
    choices = await admin.next_message(lambda m: "W-000001 改派给谁" in m.text)
    assert "王干事" not in choices.button_labels
    admin.press("陈干事")
    await admin.next_message(lambda m: "W-000001 已改派给陈干事" in m.text)
    alert = await chen.next_message(lambda m: "🆕 新案件 W-000001" in (m.text or ""))
    assert "替补：王干事" in alert.text
    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None and (case.assignee_id, case.backup_id) == (BACKUP_ID, OFFICER_ID)
    events = await bot.storage.list_case_events(case.id)
    assert [(e.action, e.actor_id) for e in events][-1] == ("assigned", ADMIN_ID)

    # A forged reassignment by a non-admin does nothing.
    query = wang.press_data(f"or:{case.id}:{OFFICER_ID}")
    assert (await wang.next_answer(query))["text"] == "只有工会管理员可以这样做。"


async def test_withdrawal_is_announced_to_the_officers(
    bot: UnionApplication, worker: Person, wang: Person, chen: Person
) -> None:
    await _report_wages(worker, wang)

    worker.send_command("/mycases")
    await worker.next_message(lambda m: "W-000001" in m.text)
    worker.press("W-000001 · 欠薪")
    await worker.next_message(lambda m: "状态" in m.text)
    worker.press("撤回这个求助")
    await worker.next_message()
    worker.press("是的，撤回")
    await worker.next_message(lambda m: "已撤回" in m.text)

    for officer in (wang, chen):
        note = await officer.next_message(lambda m: "工人撤回了 W-000001" in (m.text or ""))
        assert note.button_labels == []
    query = wang.press("↩️ 回复工人")
    assert "不能这样操作" in (await wang.next_answer(query))["text"]


async def test_an_english_speaking_worker_hears_the_news_in_english(
    bot: UnionApplication, worker: Person, wang: Person
) -> None:
    await _apply_to_join(worker, "English")
    case = await bot.storage.get_case_by_reference("M-000001")
    assert case is not None and case.assignee_id == OFFICER_ID
    await wang.next_message(lambda m: "M-000001" in (m.text or ""))
    wang.press("✋ 接手")
    news = await worker.next_message(lambda m: "M-000001" in m.text)
    assert news.text == "📌 M-000001: an officer has taken your case. You will hear from them here."
    assert news.button_labels == ["📂 See this case"]


async def test_a_resolved_case_can_be_reopened_and_a_forged_close_is_refused(
    bot: UnionApplication, worker: Person, wang: Person
) -> None:
    await _report_wages(worker, wang)
    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None

    query = wang.press_data(f"oc:close:{case.id}")
    assert (await wang.next_answer(query))["text"] == "W-000001 现在是“新案件”，不能这样操作。"
    wang.press("✅ 办结")
    await wang.next_message(lambda m: "的办理结果是什么" in m.text)
    wang.press("转交劳动监察")
    await wang.next_message(lambda m: "W-000001 已办结：转交劳动监察" in m.text)
    referred = await worker.next_message(lambda m: "劳动监察" in m.text)
    assert referred.button_labels == ["✉️ 回复", "📂 查看这个求助"]

    wang.send_command("/case W-000001")
    card = await wang.next_message(lambda m: "· 已办结" in m.text)
    assert card.button_labels == ["🗂 结案", "🔄 重新办理", "📝 内部备注", "📎 把文件发给我", "📁 工人档案"]
    wang.press("🔄 重新办理", message_id=card.message_id)
    await wang.next_message(lambda m: m.text == "W-000001 现在是“已重新办理”。")
    assert (await worker.next_message(lambda m: "又重新在办了" in m.text)).text.startswith("🔄 W-000001")
    wang.send_command("/case W-000001")
    card = await wang.next_message(lambda m: "W-000001 · 欠薪 · 已重新办理" in m.text)
    assert "✋ 接手" in card.button_labels


async def test_with_every_specialist_away_the_admin_gets_the_case(
    bot: UnionApplication, worker: Person, wang: Person, chen: Person, admin: Person
) -> None:
    await bot.storage.set_officer_active(OFFICER_ID, False)
    await bot.storage.set_officer_active(BACKUP_ID, False)

    await onboard(worker)
    await _fill_wages(worker, employer="宏达劳务", workers=None, disclose=True)
    worker.press("✅ 提交")
    await worker.next_message(lambda m: "W-000001" in m.text)

    alert = await admin.next_message(lambda m: "🆕 新案件 W-000001" in (m.text or ""))
    assert "您是主办人。本案没有替补。" in alert.text
    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None and (case.assignee_id, case.backup_id) == (ADMIN_ID, None)
    await bot.outbox.send_due()
    assert wang.messages == [] and chen.messages == []
