"""Alerts: someone is told when collection goes wrong, once per incident, and when it clears.

Every `alert_check_seconds` (and whenever a worker calls `Alerts.check()`, as the media
worker may after failed downloads) the current conditions are read from the database:

    failing_source   a source failed `alert_failures` refreshes in a row
    stale_source     a source people still ask for is stale past `alert_stale_hours`
    media_failures   a source's pictures failed to download `alert_media_failures` times
    budget_near      Apify spend this month passed `alert_near_percent` of a budget
    budget_reached   … or the whole budget (refreshing stops)
    quota_near       a client passed `alert_near_percent` of its monthly requests
    quota_reached    … or all of them

A condition without an open alert opens one (an `alert` row; a partial unique index keeps
it to one across processes) and sends a notice; an open alert whose condition is gone is
resolved, by whichever process sees it first, with a recovery notice. Notices go to
`FLOWKICK_ALERT_WEBHOOK_URL` as a JSON POST that Slack (`text`), Discord (`content`) and
generic receivers (`alert`) accept, retried with backoff, and by e-mail when SMTP is set up.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from flowkick.budgets import Budgets
from flowkick.clock import Clock, iso
from flowkick.database import Database
from flowkick.outbound import tls_context
from flowkick.plans import Plans
from flowkick.quotas import month_of
from flowkick.settings import Settings
from flowkick.tables import Alert, Client, FeedCache, Source, Usage

if TYPE_CHECKING:
    from flowkick.metrics import Metrics

log = logging.getLogger("flowkick.alerts")

RETRIES = 4
MAX_TEXT = 1500  # Discord refuses content over 2,000 characters


@dataclass(frozen=True)
class Condition:
    """Something wrong right now; `(kind, subject)` names the incident."""

    kind: str
    subject: str
    message: str
    severity: str = "warning"


@dataclass(frozen=True)
class Notice:
    """What is sent: an alert that just opened, or one that just cleared."""

    alert: Alert
    event: str  # opened, resolved

    def text(self) -> str:
        a = self.alert
        head = f"[Flowkick] {a.severity.upper()}: {a.message}" if self.event == "opened" else \
            f"[Flowkick] RESOLVED: {a.message}"
        return head[:MAX_TEXT]

    def payload(self) -> dict[str, Any]:
        a = self.alert
        return {"text": self.text(), "content": self.text(), "alert": {
            "id": a.id, "event": self.event, "kind": a.kind, "subject": a.subject, "severity": a.severity,
            "message": a.message, "opened_at": iso(a.opened_at), "resolved_at": iso(a.resolved_at)}}


# -- what is wrong now --------------------------------------------------------------------------------


async def conditions(session: AsyncSession, settings: Settings, now: float) -> list[Condition]:
    """Every source and client condition the database shows (the budget is read apart)."""
    found = await _source_conditions(session, settings, now)
    return found + await _quota_conditions(session, settings, now)


async def _source_conditions(session: AsyncSession, settings: Settings, now: float) -> list[Condition]:
    rows = (await session.execute(
        select(FeedCache, Source.platform, Source.handle).join(Source, col(Source.id) == FeedCache.source_id)
        .where((col(FeedCache.error_count) >= settings.alert_failures)
               | (col(FeedCache.media_failures) >= settings.alert_media_failures)
               | (col(FeedCache.expires_at) < now - settings.alert_stale_hours * 3600)))).all()
    found: list[Condition] = []
    asked_since = now - settings.active_window_hours * 3600
    for row, platform, handle in rows:
        name, subject = f"{platform} {handle}", f"source:{row.source_id}"
        if row.error_count >= settings.alert_failures:
            found.append(Condition("failing_source", subject, f"{name} failed {row.error_count} refreshes in a row: "
                                                              f"{row.last_error or 'no error text'}"))
        if row.media_failures >= settings.alert_media_failures:
            found.append(Condition("media_failures", subject, f"{name}: {row.media_failures} pictures failed to "
                                                              "download"))
        stale = row.expires_at is not None and row.expires_at < now - settings.alert_stale_hours * 3600
        if stale and (row.last_requested_at or 0) >= asked_since:
            hours = (now - row.expires_at) / 3600 if row.expires_at is not None else 0
            found.append(Condition("stale_source", subject, f"{name} has been stale for {hours:.1f} hours "
                                                            "while people keep asking for it"))
    return found


async def _quota_conditions(session: AsyncSession, settings: Settings, now: float) -> list[Condition]:
    plans = Plans(settings.plans)
    used = (await session.execute(
        select(Client.id, Client.name, Client.plan, func.sum(Usage.requests))
        .join(Usage, col(Usage.client_id) == Client.id)
        .where(col(Usage.day).startswith(month_of(now)), col(Client.active))
        .group_by(col(Client.id), col(Client.name), col(Client.plan)))).all()
    found: list[Condition] = []
    for client_id, name, plan_name, requests in used:
        limit = plans[plan_name].monthly_requests
        if limit is None:
            continue
        share = f"{name} (client {client_id}) used {requests:,} of {limit:,} requests this month"
        if requests >= limit:
            found.append(Condition("quota_reached", f"client:{client_id}", share, "critical"))
        elif requests >= limit * settings.alert_near_percent / 100:
            found.append(Condition("quota_near", f"client:{client_id}", share))
    return found


async def budget_conditions(budgets: Budgets, near_percent: float) -> list[Condition]:
    state = await budgets.state(fresh=True)
    ceilings = [("global", "Apify", state.spent_usd, state.budget_usd)]
    ceilings += [(f"plan:{plan}", f"Apify for the {plan} plan", state.plan_spent_usd.get(plan, 0.0), budget)
                 for plan, budget in state.plan_budgets_usd.items()]
    found: list[Condition] = []
    for subject, what, spent, budget in ceilings:
        if not budget:
            continue
        text = f"{what} spent ${spent:.2f} of its ${budget:.2f} budget this month"
        if spent >= budget:
            found.append(Condition("budget_reached", subject, text + "; refreshing has stopped", "critical"))
        elif spent >= budget * near_percent / 100:
            found.append(Condition("budget_near", subject, text))
    return found


# -- telling people --------------------------------------------------------------------------------


class Notifier:
    """Sends a notice to the webhook (retried with backoff) and by e-mail; returns what failed."""

    def __init__(self, settings: Settings, retry_delay: float = 1.0) -> None:
        self.settings = settings
        self.retry_delay = retry_delay

    @property
    def enabled(self) -> bool:
        return bool(self.settings.alert_webhook_url or self._mail_to())

    async def send(self, notice: Notice) -> str | None:
        errors = []
        if self.settings.alert_webhook_url:
            errors.append(await self._post(notice))
        if self._mail_to():
            errors.append(await self._mail(notice))
        return "; ".join(e for e in errors if e) or None

    async def _post(self, notice: Notice) -> str | None:
        problem = "not sent"
        async with httpx.AsyncClient(timeout=10, follow_redirects=False, verify=tls_context()) as http:
            for attempt in range(RETRIES):
                try:
                    answer = await http.post(self.settings.alert_webhook_url, json=notice.payload())
                except httpx.HTTPError as exc:
                    problem = f"webhook: {type(exc).__name__}"
                else:
                    if answer.is_success:
                        return None
                    problem = f"webhook: HTTP {answer.status_code}"
                    if answer.status_code < 500 and answer.status_code != 429:
                        return problem  # the receiver refuses this message: asking again will not help
                if attempt < RETRIES - 1:
                    await asyncio.sleep(self.retry_delay * 2 ** attempt)
        return problem

    def _mail_to(self) -> list[str]:
        if not self.settings.smtp_host:
            return []
        return [a.strip() for a in self.settings.alert_email_to.split(",") if a.strip()]

    async def _mail(self, notice: Notice) -> str | None:
        message = EmailMessage()
        message["From"], message["To"] = self.settings.smtp_from, ", ".join(self._mail_to())
        message["Subject"] = notice.text()[:200]
        message.set_content(f"{notice.text()}\n\nKind: {notice.alert.kind}\nSubject: {notice.alert.subject}\n"
                            f"Opened: {iso(notice.alert.opened_at)}\nResolved: {iso(notice.alert.resolved_at) or '-'}\n")
        try:
            await asyncio.to_thread(self._deliver, message)
        except (OSError, smtplib.SMTPException) as exc:
            return f"e-mail: {type(exc).__name__}: {exc}"
        return None

    def _deliver(self, message: EmailMessage) -> None:
        s = self.settings
        secure = s.smtp_security.lower()
        factory = smtplib.SMTP_SSL if secure == "tls" else smtplib.SMTP
        with factory(s.smtp_host, s.smtp_port, timeout=20) as smtp:
            if secure == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
            smtp.send_message(message)


# -- the checker ----------------------------------------------------------------------------------------


class Alerts:
    def __init__(self, db: Database, settings: Settings, clock: Clock, notifier: Notifier | None = None,
                 metrics: Metrics | None = None) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.notifier = notifier or Notifier(settings)
        self.metrics = metrics
        self.budgets = Budgets(db, settings, clock)
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> list[Notice]:
        """Open alerts for new conditions, resolve cleared ones, and send their notices."""
        async with self._lock:  # the loop and a worker's call never race each other
            now = self.clock.now()
            found = await self.db.read(lambda s: conditions(s, self.settings, now))
            found += await budget_conditions(self.budgets, self.settings.alert_near_percent)
            notices = await self._transitions(found, now)
            for notice in notices:
                await self._tell(notice)
            return notices

    async def open_and_recent(self, limit: int = 50) -> tuple[list[Alert], list[Alert]]:
        """For /admin: the open alerts, and the latest resolved ones."""
        async def work(session: AsyncSession) -> tuple[list[Alert], list[Alert]]:
            opened = (await session.execute(select(Alert).where(col(Alert.resolved_at).is_(None))
                                            .order_by(col(Alert.opened_at).desc()))).scalars().all()
            resolved = (await session.execute(select(Alert).where(col(Alert.resolved_at).is_not(None))
                                              .order_by(col(Alert.resolved_at).desc()).limit(limit))).scalars().all()
            return list(opened), list(resolved)

        return await self.db.read(work)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="flowkick-alerts")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.alert_check_seconds)
            try:
                await self.check()
            except Exception:  # noqa: BLE001 - a failed check is logged and tried again next time
                log.exception("alert check failed")

    async def _transitions(self, found: list[Condition], now: float) -> list[Notice]:
        wanted = {(c.kind, c.subject): c for c in found}
        current = await self.db.read(_open_alerts)
        notices = []
        for key, alert in current.items():
            if key not in wanted and await self._resolve(alert, now):
                notices.append(Notice(alert, "resolved"))
        for key, condition in wanted.items():
            if key not in current:
                opened = await self._open(condition, now)
                if opened is not None:
                    notices.append(Notice(opened, "opened"))
        return notices

    async def _open(self, condition: Condition, now: float) -> Alert | None:
        alert = Alert(kind=condition.kind, subject=condition.subject, severity=condition.severity,
                      message=condition.message, opened_at=now)

        async def work(session: AsyncSession) -> Alert:
            session.add(alert)
            await session.flush()
            return alert

        try:
            return await self.db.write(work)
        except IntegrityError:  # another process opened it a moment ago, and tells people itself
            return None

    async def _resolve(self, alert: Alert, now: float) -> bool:
        """Resolve the alert unless another process did first (then that one tells people).
        One conditional UPDATE: a read then a write would let two processes both resolve it."""
        async def work(session: AsyncSession) -> bool:
            result = await session.execute(update(Alert).where(col(Alert.id) == alert.id,
                                                               col(Alert.resolved_at).is_(None))
                                           .values(resolved_at=now))
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

        resolved = await self.db.write(work)
        if resolved:
            alert.resolved_at = now
        return resolved

    async def _tell(self, notice: Notice) -> None:
        alert = notice.alert
        fields = {"alert": alert.id, "kind": alert.kind, "subject": alert.subject, "event": notice.event}
        log.log(logging.WARNING if notice.event == "opened" else logging.INFO, "alert %s: %s", notice.event,
                alert.message, extra={"fields": fields})
        if self.metrics is not None:
            self.metrics.alerts.labels(alert.kind, notice.event).inc()
        error = await self.notifier.send(notice) if self.notifier.enabled else None
        if error:
            log.warning("alert notice not delivered: %s", error, extra={"fields": fields})
        await self.db.write(_sent(alert.id, notice.event, self.clock.now(), error))


async def _open_alerts(session: AsyncSession) -> dict[tuple[str, str], Alert]:
    rows = (await session.execute(select(Alert).where(col(Alert.resolved_at).is_(None)))).scalars().all()
    return {(a.kind, a.subject): a for a in rows}


def _sent(alert_id: int | None, event: str, now: float, error: str | None) -> Callable[[AsyncSession], Awaitable[None]]:
    async def work(session: AsyncSession) -> None:
        row = await session.get(Alert, alert_id)
        if row is not None:
            setattr(row, "opened_sent_at" if event == "opened" else "resolved_sent_at", now)
            row.send_error = error

    return work
