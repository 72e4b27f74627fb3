"""The ``union-bot`` command: a thin layer over library functions."""

from __future__ import annotations

import argparse
import asyncio
import html
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

from telegram.error import InvalidToken, TelegramError

from bot import __version__
from bot.app import build_application, serve
from bot.broadcasts import dispatch as broadcasts
from bot.broadcasts.schedule import ScheduleError, describe, parse_moment, parse_rule
from bot.cases import privacy
from bot.cases.vocabulary import Trade
from bot.core.clock import SystemClock
from bot.core.config import Config, ConfigError, load_config
from bot.core.dates import local_time
from bot.core.i18n import LANGUAGES
from bot.core.logs import configure_logging
from bot.reports.exports import Audience, ExportFormat, ExportKind, ThirdPartyRoster, build_export, save
from bot.reports.figures import Period, parse_date
from bot.runtime.delivery import failure_of
from bot.runtime.status import StatusReport, read_status, status_lines
from bot.sandbox.session import run_sandbox_session
from bot.trainings import admin as training_admin
from bot.trainings import publishing as trainings_publishing
from bot.trainings.times import TimeError, default_deadline, parse_deadline, parse_end, parse_start
from flows.training import FALLBACK_LANGUAGE
from storage import SQLiteStorage
from storage.base import StorageError
from storage.models import CaseKind, NewTraining, Schedule, ScheduleKind

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = "config.toml"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="union-bot",
        description="Telegram bot for trade unions: join the union, report unpaid wages, ask for legal aid.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(name: str, help_text: str, *, required: bool = True) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument(
            "--config",
            default=DEFAULT_CONFIG if required else None,
            metavar="FILE",
            help=f"the TOML config file (default: {DEFAULT_CONFIG})"
            if required
            else "optional TOML config file",
        )
        return command

    with_config("run", "Run the bot with long polling (real Telegram or any Bot API-compatible server).")
    with_config("check-config", "Validate the config file and say what is wrong, naming the key.")
    with_config(
        "status",
        "How delivery stands: the bot's last sweep and update, Telegram, the outbox, broadcasts in flight. "
        "Exits 1 when something is stuck (a health check).",
    )
    with_config("migrate", "Create or upgrade the database to the current schema.")
    backup = with_config("backup", "Copy the database to PATH, safely while the bot is running.")
    backup.add_argument("path", metavar="PATH", help="the copy to write (missing folders are created)")
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")
    _broadcast_parser(commands)
    _training_parser(commands)
    export = with_config(
        "export",
        "Write the cases received, the members who joined, the trainings held or who came to them, in a"
        " period as XLSX or CSV.",
    )
    export.add_argument(
        "what",
        choices=[kind.value for kind in ExportKind],
        help="cases, the member roster, trainings, or training attendance (the last three: the union only)",
    )
    export.add_argument("--from", dest="first", required=True, type=_date, metavar="DATE", help="first day")
    export.add_argument(
        "--to", dest="last", required=True, type=_date, metavar="DATE", help="last day (included)"
    )
    export.add_argument("--format", choices=[fmt.value for fmt in ExportFormat], default="xlsx")
    export.add_argument(
        "--for",
        dest="audience",
        choices=[audience.value for audience in Audience],
        default=Audience.UNION.value,
        help="third-party: workers who asked that the employer must not learn who reported are not "
        "named, and no officer is (cases only; default: union)",
    )
    export.add_argument(
        "--language", choices=LANGUAGES, help="of the headers and labels (default: union.default_language)"
    )
    export.add_argument(
        "--output", metavar="PATH", help="where to write (default: a name like cases-FROM-TO.xlsx)"
    )
    export.add_argument("--force", action="store_true", help="replace the output file if it exists")
    sandbox = with_config(
        "sandbox",
        "Chat with the bot in this terminal against a local stand-in for Telegram (no token, no network).",
        required=False,
    )
    sandbox.add_argument(
        "--database", metavar="PATH", help="keep the sandbox database here (default: throwaway)"
    )
    return parser


def _with_actions(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help_text: str,
    description: str,
) -> Callable[[str, str], argparse.ArgumentParser]:
    """A command of several actions (``broadcast create``): what adds one action, each with --config."""
    command = commands.add_parser(name, help=help_text, description=description)
    actions = command.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(action_name: str, action_help: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(action_name, help=action_help, description=action_help)
        parser.add_argument(
            "--config",
            default=DEFAULT_CONFIG,
            metavar="FILE",
            help=f"the TOML config file (default: {DEFAULT_CONFIG})",
        )
        return parser

    return action


def _broadcast_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    action = _with_actions(
        commands,
        "broadcast",
        help_text="Create, list or cancel broadcasts to workers (the running bot sends them).",
        description="Create, list or cancel broadcasts to workers; the running bot sends them when due.",
    )
    create = action("create", "Schedule a broadcast: now, once at a time, or every week or day.")
    create.add_argument(
        "--text",
        action="append",
        required=True,
        metavar="LANGUAGE=TEXT",
        help="the news in one language (zh-Hans, zh-Hant, en), as plain text; the default language's is "
        "required, workers of other languages get it when theirs is missing. Repeat for each language.",
    )
    create.add_argument(
        "--audience",
        default="everyone",
        help="everyone (default), members, open-case, language:CODE, trade:NAME (e.g. trade:construction) "
        "or region:TEXT (workplaces containing TEXT)",
    )
    when = create.add_mutually_exclusive_group()
    when.add_argument("--at", metavar="'YYYY-MM-DD HH:MM'", help="once, at this time in union.timezone")
    when.add_argument(
        "--every", metavar="'DAY HH:MM'", help="every week ('monday 09:00') or every day ('day 08:30')"
    )
    create.add_argument("--attend", action="store_true", help="add an 'I will attend' button")
    action("list", "The latest broadcasts with their delivery counts.")
    cancel = action("cancel", "Cancel a broadcast: nothing more of it goes out.")
    cancel.add_argument("id", type=int, metavar="ID", help="the broadcast's number, from 'broadcast list'")


def _training_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    action = _with_actions(
        commands,
        "training",
        help_text="Create, list or cancel trainings workers sign up for (the running bot tells them).",
        description="Create, list or cancel trainings; workers sign up in the bot with /training.",
    )
    create = action("create", "Publish a training, and announce it to its workers with --announce.")
    create.add_argument(
        "--title", required=True, help=f"the title in {FALLBACK_LANGUAGE}, which every reader falls back to"
    )
    for code in LANGUAGES:
        if code == FALLBACK_LANGUAGE:
            continue
        create.add_argument(
            f"--title-{code.lower()}",
            dest=f"title_{code}",
            metavar="TITLE",
            help=f"the title in {code} (else its readers see the {FALLBACK_LANGUAGE} title)",
        )
    create.add_argument(
        "--starts", required=True, metavar="'YYYY-MM-DD HH:MM'", help="the start, in union.timezone"
    )
    create.add_argument(
        "--ends",
        required=True,
        metavar="WHEN",
        help="the end: 'YYYY-MM-DD HH:MM', a time on the start's day ('12:00') or a length ('3h')",
    )
    create.add_argument("--place", required=True, help="the address, as workers should read it")
    create.add_argument("--location", metavar="LAT,LON", help="the place on a map, like 34.26,108.94")
    create.add_argument("--seats", required=True, type=int, metavar="N", help="how many can take part")
    create.add_argument("--trade", choices=[trade.value for trade in Trade], help="only for this trade")
    create.add_argument(
        "--region", metavar="TEXT", help="only for workplaces containing TEXT, like a township"
    )
    create.add_argument(
        "--allowance", metavar="TEXT", help="travel or lost-work allowance, as workers read it"
    )
    create.add_argument(
        "--deadline",
        metavar="'YYYY-MM-DD HH:MM'",
        help="the end of sign-up (default: 18:00 the day before the start)",
    )
    create.add_argument(
        "--announce", action="store_true", help="also send it now to its workers, with a sign-up button"
    )
    action("list", "Trainings from the last month on, with sign-ups.")
    cancel = action("cancel", "Cancel a training: everyone signed up or waiting is told.")
    cancel.add_argument("id", type=int, metavar="ID", help="the training's number, from 'training list'")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args.config)
        if args.command == "check-config":
            return _check_config(args.config)
        if args.command == "status":
            return _status(args.config)
        if args.command == "migrate":
            return asyncio.run(_migrate(args.config))
        if args.command == "backup":
            return asyncio.run(_backup(args.config, args.path, force=args.force))
        if args.command == "broadcast":
            return asyncio.run(_broadcast(args))
        if args.command == "training":
            return asyncio.run(_training(args))
        if args.command == "export":
            return asyncio.run(_export(args))
        if args.command == "sandbox":
            return asyncio.run(run_sandbox_session(config_path=args.config, database=args.database))
    except ConfigError as error:
        for problem in error.problems:
            print(f"union-bot: config error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {args.command}")


def _run(config_path: str) -> int:
    config = load_config(config_path)
    token = config.require_token(config_path)
    configure_logging(secrets=[token])
    application = build_application(config, token=token)
    logger.info("Starting %s against %s", config.union.name, _host_of(config.telegram.api_base_url))
    try:
        asyncio.run(serve(application))
    except InvalidToken:
        print("union-bot: Telegram refused the bot token: check it with @BotFather", file=sys.stderr)
        return 1
    except TelegramError as error:  # not a passing failure (those are waited out): nothing to wait for
        print(f"union-bot: Telegram refused to start the bot ({failure_of(error)})", file=sys.stderr)
        return 1
    return 0


def _date(text: str) -> date:
    day = parse_date(text)
    if day is None:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)")
    return day


async def _export(args: argparse.Namespace) -> int:

    if args.first > args.last:
        print("union-bot: --from must not be after --to", file=sys.stderr)
        return 2
    config = load_config(args.config)
    storage = SQLiteStorage(config.storage.database)
    await storage.open()
    try:
        exported = await build_export(
            storage,
            what=ExportKind(args.what),
            period=Period(first=args.first, last=args.last),
            format=ExportFormat(args.format),
            language=args.language or config.union.default_language,
            zone=config.union.zone,
            audience=Audience(args.audience),
        )
        await privacy.record_exports(
            storage,
            exported.case_ids,
            actor_id=None,
            actor_role="command line",
            third_party=args.audience == Audience.THIRD_PARTY,
        )
    except ThirdPartyRoster as error:
        print(f"union-bot: {error}", file=sys.stderr)
        return 2
    finally:
        await storage.close()
    try:
        path = save(exported, args.output or exported.file_name, overwrite=args.force)
    except FileExistsError as error:
        print(f"union-bot: {error} (--force replaces it)", file=sys.stderr)
        return 1
    print(f"{path}: {exported.rows} row(s)")
    return 0


def _host_of(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _check_config(config_path: str) -> int:
    """OK and a summary; otherwise main prints every problem the file has, one line each."""
    config: Config = load_config(config_path)
    config.require_token(config_path)
    print(
        f"{config_path}: OK — union {config.union.name!r}, {len(config.officers)} officer(s), "
        f"database {config.storage.database}"
    )
    # Not an error (the admins get such cases), but worth knowing before a worker files one.
    for kind in unhandled_kinds(config):
        print(f"note: no active officer here has the {kind.value!r} specialty; those cases go to the admins")
    return 0


def unhandled_kinds(config: Config) -> list[CaseKind]:
    """The case kinds no active officer of the file handles (admins added in the bot are not counted)."""
    handled = {kind for officer in config.officers if officer.active for kind in officer.specialties}
    return [kind for kind in CaseKind if kind not in handled]


def _status(config_path: str) -> int:
    """``union-bot status``: read from the database, so it works beside the running bot."""
    config = load_config(config_path)
    database = config.storage.database
    if database == ":memory:" or not Path(database).exists():
        print(f"union-bot: no database at {database}: the bot has not run with this config", file=sys.stderr)
        return 1
    status = asyncio.run(_read_status(config))
    print("\n".join(status_lines(status, config)))
    return 1 if status.problems else 0


async def _read_status(config: Config) -> StatusReport:

    clock = SystemClock()
    storage = SQLiteStorage(config.storage.database, now=clock.now)
    await storage.open()
    try:
        return await read_status(storage, config, clock.now())
    finally:
        await storage.close()


async def _migrate(config_path: str) -> int:

    config = load_config(config_path)
    storage = SQLiteStorage(config.storage.database)
    await storage.open()  # open() applies pending migrations
    try:
        version = await storage.schema_version()
    finally:
        await storage.close()
    print(f"{config.storage.database}: schema at version {version}")
    return 0


async def _broadcast(args: argparse.Namespace) -> int:
    """``union-bot broadcast create|list|cancel``: the library does the work (bot/broadcasts.py)."""

    config = load_config(args.config)
    zone = config.union.zone
    clock = SystemClock()
    storage = SQLiteStorage(config.storage.database, now=clock.now)
    await storage.open()
    try:
        if args.action == "list":
            for broadcast in await storage.list_broadcasts(limit=50):
                report = await storage.latest_broadcast_report(broadcast.id)
                print(html.unescape(broadcasts.summary_line(broadcast, report, config, "en")))
            return 0
        if args.action == "cancel":
            try:
                broadcast = await storage.cancel_broadcast(args.id)
            except StorageError as error:
                print(f"union-bot: {error}", file=sys.stderr)
                return 1
            print(f"Broadcast #{broadcast.id}: {broadcast.status}")
            return 0
        try:
            texts = _texts(args.text)
            audience = broadcasts.parse_audience(args.audience)
            if args.at:
                schedule = parse_moment(args.at, zone, clock.now())
            elif args.every:
                schedule = parse_rule(args.every)
            else:
                schedule = Schedule(kind=ScheduleKind.ONCE, at=clock.now())
            broadcast = await broadcasts.create(
                storage,
                config,
                clock,
                created_by=None,
                texts=texts,
                audience=audience,
                schedule=schedule,
                attend_button=args.attend,
            )
        except (ScheduleError, ValueError) as error:
            print(f"union-bot: {error}", file=sys.stderr)
            return 2
        count = await storage.count_audience(audience, default_language=config.union.default_language)
        assert broadcast.next_run_at is not None
        first = f"{local_time(broadcast.next_run_at, zone)} ({config.union.timezone})"
        plan = (
            f"once at {first}"
            if schedule.kind == ScheduleKind.ONCE
            else f"{describe(schedule, zone, 'en')}, first at {first}"
        )
        print(
            f"Broadcast #{broadcast.id}: {plan}, to {broadcasts.audience_label(audience, 'en')}"
            f" ({count} worker(s) now). "
            "The running bot sends it; the admins get the report."
        )
        return 0
    finally:
        await storage.close()


def _texts(options: list[str]) -> dict[str, str]:
    """``--text zh-Hans=...`` options as {language: HTML}: the plain text is escaped, shown as typed."""
    texts: dict[str, str] = {}
    for option in options:
        language, separator, text = option.partition("=")
        if not separator or not text.strip():
            raise ValueError(f"--text {option!r}: write LANGUAGE=TEXT, like zh-Hans=明天培训")
        texts[language.strip()] = html.escape(text.strip(), quote=False)
    return texts


async def _training(args: argparse.Namespace) -> int:
    """``union-bot training create|list|cancel``: the library does the work (bot/trainings/publishing.py)."""

    config = load_config(args.config)
    clock = SystemClock()
    storage = SQLiteStorage(config.storage.database, now=clock.now)
    await storage.open()
    try:
        if args.action == "list":
            trainings = await storage.list_trainings(
                starting_after=clock.now() - training_admin.RECENT, include_cancelled=True
            )
            for training in trainings:
                signups = await storage.list_signups(training.id)
                print(
                    trainings_publishing.plain_text(
                        trainings_publishing.summary_line(training, signups, "en", config)
                    )
                )
            return 0
        if args.action == "cancel":
            try:
                cancelled, told = await trainings_publishing.cancel(storage, config, args.id)
            except trainings_publishing.PublishError as error:
                print(f"union-bot: {error}", file=sys.stderr)
                return 1
            print(
                f"Training #{cancelled.id}: cancelled. {told} worker(s) signed up or waiting will be told "
                "by the running bot."
            )
            return 0
        try:
            new = _new_training(args, config, clock.now())
        except ValueError as error:
            print(f"union-bot: {error}", file=sys.stderr)
            return 2
        training = await storage.create_training(new)
        zone = config.union.zone
        print(
            f"Training #{training.id}: {local_time(training.starts_at, zone)} to "
            f"{local_time(training.ends_at, zone)} ({config.union.timezone}), {training.seats} seat(s), "
            f"sign-up until {local_time(training.signup_deadline, zone)}."
        )
        if args.announce:
            try:
                broadcast = await trainings_publishing.announce(
                    storage, config, clock, training, created_by=None
                )
            except trainings_publishing.PublishError as error:
                print(f"union-bot: not announced: {error}", file=sys.stderr)
                return 1
            count = await storage.count_audience(
                broadcast.audience, default_language=config.union.default_language
            )
            audience = broadcasts.audience_label(broadcast.audience, "en")
            print(
                f"Announced as broadcast #{broadcast.id} to {audience} ({count} worker(s) now). "
                "The running bot sends it; the admins get the report."
            )
        return 0
    finally:
        await storage.close()


def _new_training(args: argparse.Namespace, config: Config, now: datetime) -> NewTraining:
    """The training the options describe; ValueError naming the option that is wrong."""
    zone = config.union.zone
    titles = {FALLBACK_LANGUAGE: args.title.strip()}
    for code in LANGUAGES:
        title = getattr(args, f"title_{code}", None)
        if code != FALLBACK_LANGUAGE and title is not None:
            titles[code] = title.strip()
    for code, title in titles.items():
        option = "--title" if code == FALLBACK_LANGUAGE else f"--title-{code.lower()}"
        if not 1 <= len(title) <= training_admin.TITLE_LIMIT:
            raise ValueError(f"{option}: write 1 to {training_admin.TITLE_LIMIT} characters")
    try:
        starts_at = parse_start(args.starts, zone, now)
    except TimeError as error:
        raise ValueError(f"--starts: {error}") from None
    try:
        ends_at = parse_end(args.ends, starts_at, zone)
    except TimeError as error:
        raise ValueError(f"--ends: {error}") from None
    try:
        deadline = (
            parse_deadline(args.deadline, starts_at, zone, now)
            if args.deadline
            else default_deadline(starts_at, zone, now)
        )
    except TimeError as error:
        raise ValueError(f"--deadline: {error}") from None
    place = " ".join(args.place.split())
    if not 1 <= len(place) <= training_admin.PLACE_LIMIT:
        raise ValueError(f"--place: write 1 to {training_admin.PLACE_LIMIT} characters")
    if not 1 <= args.seats <= training_admin.SEATS_LIMIT:
        raise ValueError(f"--seats: from 1 to {training_admin.SEATS_LIMIT}")
    region = " ".join(args.region.split()) if args.region is not None else None
    if region is not None and not 1 <= len(region) <= trainings_publishing.REGION_LIMIT:
        raise ValueError(f"--region: write 1 to {trainings_publishing.REGION_LIMIT} characters")
    allowance = args.allowance.strip() if args.allowance else None
    if allowance is not None and len(allowance) > training_admin.ALLOWANCE_LIMIT:
        raise ValueError(f"--allowance: write at most {training_admin.ALLOWANCE_LIMIT} characters")
    latitude, longitude = _location(args.location) if args.location else (None, None)
    return NewTraining(
        titles=titles,
        starts_at=starts_at,
        ends_at=ends_at,
        place=place,
        latitude=latitude,
        longitude=longitude,
        seats=args.seats,
        trade=args.trade,
        region=region,
        allowance_note=allowance,
        signup_deadline=deadline,
        created_by=None,
    )


def _location(text: str) -> tuple[float, float]:
    latitude, separator, longitude = text.partition(",")
    try:
        if not separator:
            raise ValueError
        lat, lon = float(latitude), float(longitude)
    except ValueError:
        raise ValueError(f"--location {text!r}: write LAT,LON, like 34.26,108.94") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"--location {text!r}: the latitude is -90 to 90, the longitude -180 to 180")
    return lat, lon


async def _backup(config_path: str, path: str, *, force: bool) -> int:

    config = load_config(config_path)
    # Not opened: open() would create or migrate the database, and a backup must copy it as it is.
    storage = SQLiteStorage(config.storage.database)
    try:
        backup = await storage.backup(path, overwrite=force)
    except FileExistsError as error:
        print(f"union-bot: {error} (--force replaces it)", file=sys.stderr)
        return 1
    except StorageError as error:
        print(f"union-bot: {error}", file=sys.stderr)
        return 1
    print(f"{backup.path}: {backup.size:,} bytes, schema at version {backup.schema_version}")
    return 0
