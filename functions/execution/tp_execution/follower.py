"""The venue follower: books routed orders' fills and ends from the broker's `trade_updates` stream.

One scheduled invocation holds, until its deadline, one stream per routed account that has open
routed orders (re-checked every `refresh_s`, so an account whose first order arrives mid-run is
picked up), each under a Redis lease (`follow_leases`) so overlapping runs never follow one
account twice. Each fill, partial_fill, canceled, expired, rejected or replaced update settles
the order against the order the broker sent with it, through the reconciler's own
`settle_order`: same cause, same execution ids, so an update booked by both the stream and the
poll is booked once, and a replayed or repeated update books nothing.

Nothing between connections is missed: a connection replays from the last event id booked when
the broker has Tradeplane's replay extension (it sends `event_id`; the cursor outlives the
invocation in Redis). Otherwise (plain Alpaca, or a first connection) the follower listens
first and then asks the broker once for each open routed order of the account (the
reconciler's query): subscribe, then snapshot, so an update from before the socket listened
is booked by the snapshot and one after it by the stream (both idempotent). A dropped stream
reconnects with backoff the same way; the reconciler's minute poll remains the safety net.
Refused credentials end that account's following for this invocation (reported, not retried
hot); the next scheduled run tries once more.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from tradeplane import db, outbox
from tradeplane.contracts import order_status as st
from tradeplane.observability import logger
from websockets.exceptions import WebSocketException

from tp_execution.alpaca_venue import outcome_of
from tp_execution.follow import Settled, settle_order
from tp_execution.follow_leases import Leases
from tp_execution.trade_stream import ReplayRefusedError, StreamUnauthorizedError, trade_updates
from tp_execution.venue_credentials import Credentials
from tp_execution.venues import PAPER, Router, VenueUnavailableError

PRODUCER = "venue_follower"
FOLLOWED_EVENTS = frozenset({"fill", "partial_fill", "canceled", "expired", "rejected", "replaced"})
# What the stream may settle: routed and working. Not accepted/held (the executor has not routed it yet) and
# not pending_replace (the executor is replacing it and settles the old order against the broker itself).
SETTLEABLE = st.OPEN - {st.ACCEPTED, st.HELD, st.PENDING_REPLACE}
_ACCOUNTS = """
select distinct o.account_id, o.venue from trading.orders o
where o.venue <> %s and o.status = any(%s)
"""
_ORDER = """
select id, status from trading.orders where account_id = %s and client_order_id = %s and venue <> %s
"""
_ACCOUNT_ORDERS = """
select id, client_order_id from trading.orders where account_id = %s and venue <> %s and status = any(%s)
"""
BACKOFF_S = (0.5, 5.0)


@dataclass
class FollowReport:
    accounts: int = 0
    updates: int = 0
    fills_booked: int = 0
    ended: int = 0
    reconnects: int = 0
    refused: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)


def follow(
    router: Router,
    leases: Leases,
    until: float,
    *,
    refresh_s: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
) -> FollowReport:
    """Follow routed accounts' streams until `until` (on `clock`), booking what they report."""
    follower = _Follower(router, leases, until, refresh_s, clock)
    asyncio.run(follower.run())
    return follower.report


@dataclass
class _Follower:
    router: Router
    leases: Leases
    until: float
    refresh_s: float
    clock: Callable[[], float]
    report: FollowReport = field(default_factory=FollowReport)
    tasks: dict[UUID, asyncio.Task[None]] = field(default_factory=dict)
    refused: set[UUID] = field(default_factory=set)

    def left(self) -> float:
        return self.until - self.clock()

    async def run(self) -> None:
        try:
            while self.left() > 0:
                await self._refresh()
                await asyncio.sleep(max(0.0, min(self.refresh_s, self.left())))
        finally:
            for task in self.tasks.values():
                task.cancel()
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            for account in self.tasks:
                self.leases.release(account)

    async def _refresh(self) -> None:
        """Start following newly routed accounts; keep the leases of those followed, drop what lost its lease."""
        for account, task in list(self.tasks.items()):
            if task.done() or not self.leases.renew(account):
                task.cancel()
                del self.tasks[account]
                self.leases.release(account)
        accounts = await asyncio.to_thread(_routed_accounts)
        for account, kind in accounts.items():
            if account in self.tasks or account in self.refused or not self.leases.take(account):
                continue
            try:
                credentials = await asyncio.to_thread(self.router.credentials, account, kind)
            except VenueUnavailableError as error:
                self._refuse(account, str(error))
                self.leases.release(account)
                continue
            self.report.accounts += 1
            self.tasks[account] = asyncio.create_task(self._follow_account(account, kind, credentials))

    def _refuse(self, account: UUID, reason: str) -> None:
        self.refused.add(account)
        self.report.refused.append(f"account {account}: {reason}")
        logger.warning("venue stream: account not followed", extra={"account_id": str(account), "reason": reason})

    async def _follow_account(self, account: UUID, kind: str, credentials: Credentials) -> None:
        backoff = BACKOFF_S[0]
        while self.left() > 0:
            cursor = self.leases.cursor(account)
            # No replay: what happened before this socket listened is asked for once, after it listens.
            snapshot = None if cursor else functools.partial(asyncio.to_thread, self._snapshot, account, kind)
            try:
                async with asyncio.timeout(self.left()):
                    async for update in trade_updates(credentials, cursor, snapshot):
                        backoff = BACKOFF_S[0]
                        await asyncio.to_thread(self._book, account, update)
            except StreamUnauthorizedError as error:
                self._refuse(account, f"the venue refused the stream credentials ({error})")
                return
            except ReplayRefusedError as error:
                logger.warning("replay cursor refused; listening without it", extra={"error": str(error)})
                self.leases.forget_cursor(account)
                continue
            except (OSError, TimeoutError, WebSocketException) as error:
                if self.left() <= 0:
                    return
                logger.warning("venue stream dropped", extra={"account_id": str(account), "error": repr(error)})
            except Exception:
                logger.exception("venue follower failed; the next refresh starts it again")
                raise
            self.report.reconnects += 1
            await asyncio.sleep(max(0.0, min(backoff, self.left())))
            backoff = min(backoff * 2, BACKOFF_S[1])

    def _book(self, account: UUID, update: dict[str, Any]) -> None:
        """Settle the account's order named by the update against the broker's order it carries."""
        self.report.updates += 1
        broker_order, done = update.get("order") or {}, None
        if update.get("event") in FOLLOWED_EVENTS and broker_order.get("client_order_id"):
            with db.connection() as conn:
                row = conn.execute(_ORDER, (account, broker_order["client_order_id"], PAPER)).fetchone()
                if row is not None:
                    known = outcome_of(broker_order)
                    done = settle_order(conn, PRODUCER, row["id"], known, skip_stale=True, statuses=SETTLEABLE)
            if done is not None:
                self._settled(done)
        if update.get("event_id"):
            self.leases.advance(account, str(update["event_id"]))

    def _snapshot(self, account: UUID, kind: str) -> None:
        """Settle each open routed order of the account against the broker's answer for it (a network call per
        order, outside any transaction), as the reconciler does."""
        venue = self.router.venue(account, kind)
        with db.connection() as conn:
            rows = conn.execute(_ACCOUNT_ORDERS, (account, PAPER, list(SETTLEABLE))).fetchall()
        for row in rows:
            known = venue.query(row["client_order_id"])  # no connection held across the network call
            with db.connection() as conn:
                done = settle_order(conn, PRODUCER, row["id"], known, skip_stale=True, statuses=SETTLEABLE)
            self._settled(done)

    def _settled(self, done: Settled) -> None:
        """Count what a settlement did and publish its trade updates (after its connection went back: publishing
        marks them on a pooled connection of its own; what it could not publish it logged, for the relay)."""
        self.report.fills_booked += done.fills_booked
        self.report.ended += done.ended
        self.report.differences += done.differences
        outbox.publish(done.staged)


def _routed_accounts() -> dict[UUID, str]:
    with db.connection() as conn:
        rows = conn.execute(_ACCOUNTS, (PAPER, list(SETTLEABLE))).fetchall()
    return {r["account_id"]: r["venue"] for r in rows}
