"""The reconciler: compares what routed venues hold with the book, repairs what is safe, reports the rest.

For every open order the executor routed to another venue (`trading.orders.venue`), the
venue is asked by client order id (outside any transaction: a network call), then the
order is locked and settled against the answer (`tp_execution.follow.settle`): fills the
venue has and the book lacks are booked once, orders the venue ended are ended. This is
the safety net under the venue follower (`tp_execution.follower`), which books the broker's
trade updates from its stream as they happen through the same `settle_order`. For
every account routed to a venue, the venue's positions are compared with the book's and
differences reported: a position is never "repaired" (what caused it is unknown).

The paper venue's state IS the book (its resting orders are book rows the matcher works),
so it has nothing to reconcile.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg import Connection
from tradeplane import db, outbox
from tradeplane.contracts import order_status as st

from tp_execution.alpaca_venue import AlpacaVenue
from tp_execution.follow import settle_order
from tp_execution.venues import PAPER, Router, VenueUnavailableError

PRODUCER = "reconciler"
_OPEN_ROUTED = """
select id, account_id, venue, client_order_id from trading.orders
where venue <> 'paper' and status = any(%s) order by account_id, submitted_at
"""


@dataclass
class Report:
    checked: int = 0
    fills_booked: int = 0
    ended: int = 0
    differences: list[str] = field(default_factory=list)


def reconcile(router: Router) -> Report:
    report, staged = Report(), []
    try:
        with db.connection() as conn:
            rows = conn.execute(_OPEN_ROUTED, (list(st.OPEN - {st.ACCEPTED, st.HELD}),)).fetchall()
            by_account: dict[tuple[UUID, str], list[dict[str, Any]]] = defaultdict(list)
            for row in rows:
                by_account[(row["account_id"], row["venue"])].append(dict(row))
            for account, kind in _accounts_routed(conn):  # positions too, with no open order
                by_account.setdefault((account, kind), [])
            for (account, kind), orders in by_account.items():
                try:
                    venue = router.venue(account, kind)
                    for order in orders:
                        staged += _follow(conn, venue, order, report)
                    report.differences += _positions(conn, venue, account)
                except VenueUnavailableError as error:
                    report.differences.append(f"account {account}: {error}")
                except OSError as error:  # one broker unreachable (requests' errors are OSErrors): the rest go on
                    report.differences.append(f"account {account}: broker unreachable: {error}")
    finally:
        outbox.publish(staged)  # what it could not publish it logged; the relay sends it
    return report


def _accounts_routed(conn: Connection[Any]) -> set[tuple[UUID, str]]:
    rows = conn.execute("select account_id, venue from core.account_venues where venue <> %s", (PAPER,)).fetchall()
    return {(r["account_id"], r["venue"]) for r in rows}


def _follow(conn: Connection[Any], venue: AlpacaVenue, row: dict[str, Any], report: Report) -> list[outbox.Staged]:
    known = venue.query(row["client_order_id"])
    report.checked += 1
    done = settle_order(conn, PRODUCER, row["id"], known)
    report.differences += done.differences
    report.fills_booked += done.fills_booked
    report.ended += done.ended
    return done.staged


def _positions(conn: Connection[Any], venue: AlpacaVenue, account: UUID) -> list[str]:
    theirs = venue.positions()
    rows = conn.execute(
        "select symbol, qty from trading.positions where account_id = %s and qty <> 0", (account,)
    ).fetchall()
    ours = {r["symbol"]: Decimal(r["qty"]) for r in rows}
    return [
        f"account {account} {symbol}: book {ours.get(symbol, 0)}, venue {theirs.get(symbol, 0)}"
        for symbol in sorted(set(ours) | set(theirs))
        if ours.get(symbol, Decimal(0)) != theirs.get(symbol, Decimal(0))
    ]
