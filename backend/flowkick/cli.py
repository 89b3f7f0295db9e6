"""The `flowkick` command: serve, manage clients, refresh once, list settings, back up and restore."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from flowkick import __version__, backups, logs
from flowkick.clients import InvalidHandle, create_client, list_clients, remove_client
from flowkick.clock import SystemClock
from flowkick.database import Database
from flowkick.origins import InvalidOrigin, normalize_entry
from flowkick.plans import Plans
from flowkick.platforms import LABELS, PLATFORMS
from flowkick.published import Publisher
from flowkick.settings import Settings, table

T = TypeVar("T")

HANDLE_OPTIONS = {p: "--" + p.replace("_", "-") for p in PLATFORMS}


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowkick", description="Self-hosted social feed widgets.")
    parser.add_argument("--version", action="version", version=f"flowkick {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server (refresher included)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    serve.add_argument("--log-level", help="overrides FLOWKICK_LOG_LEVEL (debug, info, warning, error)")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="server processes sharing the port and the database (default 1)")
    serve.set_defaults(run=_serve)

    clients = commands.add_parser("clients", help="add, list and remove clients").add_subparsers(
        required=True, metavar="ACTION")
    add = clients.add_parser("add", help="create a client and print its keys (shown only once)")
    add.add_argument("name")
    for platform, option in HANDLE_OPTIONS.items():
        add.add_argument(option, dest=platform, action="append", default=[], metavar="HANDLE",
                         help=f"{LABELS[platform]} account to show (repeatable)")
    add.add_argument("--origin", action="append", default=[], metavar="URL",
                     help="site allowed to use the publishable key (repeatable; none: any)")
    add.add_argument("--plan", default="free")
    add.add_argument("--email", default="")
    add.add_argument("--json", action="store_true", help="print {id, publishable_key, secret_key} as JSON")
    add.set_defaults(run=_clients_add)
    listing = clients.add_parser("list", help="list clients and what they track")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_clients_list)
    remove = clients.add_parser("remove", help="delete a client")
    remove.add_argument("id", type=int)
    remove.set_defaults(run=_clients_remove)

    refresh = commands.add_parser("refresh", help="fetch every due source once, with progress")
    refresh.add_argument("--platform", choices=PLATFORMS, action="append")
    refresh.set_defaults(run=_refresh)

    commands.add_parser("settings", help="list every setting and its value").set_defaults(run=_settings)

    backup = commands.add_parser("backup", help="copy the live SQLite database to FILE, consistently")
    backup.add_argument("file", type=Path)
    backup.set_defaults(run=_backup)
    restore = commands.add_parser("restore", help="replace the SQLite database with a backup FILE")
    restore.add_argument("file", type=Path)
    restore.set_defaults(run=_restore)
    return parser


def _serve(args: argparse.Namespace) -> None:
    from flowkick import workers
    from flowkick.app import create_app

    if args.workers < 1:
        sys.exit("flowkick: --workers must be 1 or more")
    settings = Settings.from_env()
    level = args.log_level or settings.log_level
    handler = logs.configure(level, settings.log_format, worker=args.workers > 1)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)  # connections made as soon as the URL is printed wait for start-up, not fail
    host, port = sock.getsockname()[:2]
    mode = "demo mode: sample data, its keys on the landing page" if settings.demo_mode else "Apify mode"
    banner = logging.makeLogRecord({"name": "flowkick", "levelname": "INFO", "levelno": logging.INFO,
                                    "msg": f"Flowkick {__version__} on http://{host}:{port} ({mode})"})
    print(handler.format(banner), flush=True)  # whatever the level: scripts wait for this line's URL
    if args.workers == 1:
        workers.run(create_app(settings), sock, level)
    else:
        sys.exit(workers.supervise(settings, sock, args.workers, level))


def _clients_add(args: argparse.Namespace) -> None:
    sources = {p: getattr(args, p) for p in PLATFORMS if getattr(args, p)}
    plans = Plans(Settings.from_env().plans)
    if args.plan not in plans.names():
        sys.exit(f"flowkick: unknown plan {args.plan!r}; use one of: {', '.join(plans.names())}")
    try:
        origins = [normalize_entry(o) for o in args.origin]
        new = _with_db(lambda db: create_client(db, args.name, sources, now=SystemClock().now(), origins=origins,
                                                plan=args.plan, email=args.email))
    except (InvalidHandle, InvalidOrigin) as exc:
        sys.exit(f"flowkick: {exc}")
    if args.json:
        print(json.dumps({"id": new.id, "publishable_key": new.publishable_key, "secret_key": new.secret_key}))
        return
    print(f"Client {new.id} created: {args.name}")
    print(f"  publishable key (for web pages): {new.publishable_key}")
    print(f"  secret key (servers, WordPress): {new.secret_key}")
    print("Store the keys now: they are not shown again.")


def _clients_list(args: argparse.Namespace) -> None:
    clients = _with_db(list_clients)
    if args.json:
        print(json.dumps([c.__dict__ for c in clients]))
        return
    for c in clients:
        tracked = ", ".join(f"{p}:{h}" for p, h in c.sources) or "nothing"
        state = "" if c.active else " (inactive)"
        print(f"{c.id:>4}  {c.name}{state}  plan={c.plan}  tracks {tracked}")


def _clients_remove(args: argparse.Namespace) -> None:
    if not _with_db(lambda db: remove_client(db, args.id)):
        sys.exit(f"flowkick: no client with id {args.id}")
    print(f"Client {args.id} removed.")


def _refresh(args: argparse.Namespace) -> None:
    from flowkick.app import default_media, default_sources
    from flowkick.refresher import Refresher

    settings = Settings.from_env()
    clock = SystemClock()
    bar = ProgressBar(sys.stderr)

    async def work(db: Database) -> Any:
        refresher = Refresher(db, default_sources(settings, clock), settings, clock)
        media = default_media(settings, db, clock)
        publisher = Publisher(db, media.store.url)  # a server started next reads the feeds at once
        media.on_update = publisher.notify
        publisher.start()
        await refresher.recover()
        refreshing = asyncio.create_task(refresher.run_once(args.platform, progress=bar.update))
        pictures = await _gather_pictures(media, refreshing)
        await publisher.stop()
        await publisher.publish_lagging()  # feeds whose pictures did not change
        return await refreshing, pictures

    summary, pictures = _with_db(work, settings)
    bar.finish()
    print(f"runs: {summary.runs}  items: {summary.items}  errors: {summary.errors}  "
          f"skipped: {summary.skipped}  cost: ${summary.cost_usd:.4f}  "
          f"pictures: {pictures.stored} stored, {pictures.failed} failed")


async def _gather_pictures(media: Any, refreshing: asyncio.Task[Any]) -> Any:
    """Store the pictures of every feed the refresh stores, as it stores them, then stop.

    Pictures are gathered while the refresh runs (each waits on the database at other
    moments); once it is done, passes go on until one finds nothing left. A feed whose
    items change meanwhile comes back, so the passes after the refresh are bounded rather
    than repeated until none is left.
    """
    from flowkick.media.worker import MediaSummary

    total = MediaSummary()
    passes_after = 0
    try:
        while passes_after < 1000:
            finished = refreshing.done()
            done = await media.run_once()
            total.feeds, total.stored, total.failed = (total.feeds + done.feeds, total.stored + done.stored,
                                                       total.failed + done.failed)
            passes_after += finished
            if not done.feeds and finished:
                break
            if not done.feeds:
                await asyncio.wait([refreshing], timeout=0.2)  # the refresh has stored nothing new yet
    finally:
        await media.stop()
    return total


def _settings(args: argparse.Namespace) -> None:
    current = Settings.from_env()
    for env, default, kind, help_text in table():
        value = getattr(current, env.removeprefix("FLOWKICK_").lower())
        shown = "***" if value and any(word in env for word in _SECRET_WORDS) else value
        print(f"{env}={shown}\n    {help_text} ({kind}, default: {default!r})")


_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "WEBHOOK_URL")  # a Slack webhook URL is a credential too


def _backup(args: argparse.Namespace) -> None:
    try:
        checked = backups.backup(Settings.from_env().database_url, args.file)
    except backups.BackupError as exc:
        sys.exit(f"flowkick: {exc}")
    print(f"Backed up to {args.file} ({checked.size_bytes} bytes, schema {checked.schema}, integrity ok).")


def _restore(args: argparse.Namespace) -> None:
    try:
        checked = backups.restore(args.file, Settings.from_env().database_url)
    except backups.BackupError as exc:
        sys.exit(f"flowkick: {exc}")
    print(f"Restored {args.file} (schema {checked.schema}). Restart running servers so they forget what they "
          "had in memory.")


class ProgressBar:
    """One line per platform, redrawn in place on a terminal, appended otherwise."""

    width = 24

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = stream.isatty()

    def update(self, platform: str, done: int, total: int) -> None:
        filled = self.width * done // max(total, 1)
        line = f"{LABELS[platform]:<15} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} handles"
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _with_db(work: Callable[[Database], Awaitable[T]], settings: Settings | None = None) -> T:
    settings = settings or Settings.from_env()

    async def run() -> T:
        db = Database(settings.database_url)
        try:
            await db.connect()
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(run())
