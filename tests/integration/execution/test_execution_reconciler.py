"""Routed orders on real Postgres: the executor sends an Alpaca-routed account's orders to its broker,
the reconciler books what the broker filled (once) and ends what it ended, and reports what it cannot repair.

The broker here is a stand-in speaking Alpaca's order JSON through the venue interface
(the e2e suite runs the real alpaca-py adapter against the platform's own /v2 API).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from support.core_api import Api, Trader
from support.execution import as_function, outbox_envelopes, query, submit, trade_events
from support.venue_broker import BrokerRouter
from tp_execution.executor import execute
from tp_execution.paper_venue import PaperVenue
from tp_execution.reconcile import Report, reconcile
from tp_execution.venue import Outcome, StillAmbiguousError
from tp_execution.venues import Router, powertools_secret
from tradeplane.fill_model import FillConfig
from tradeplane_local.provision import aws_client
from tradeplane_tools.manifest import Bindings

pytestmark = pytest.mark.integration


@pytest.fixture
def routed(api: Api, trader: Trader, core_env: dict[str, Any]) -> Trader:
    with psycopg.connect(core_env["dsn"]) as conn:
        conn.execute("insert into core.account_venues (account_id, venue) values (%s, 'alpaca')", (trader.account_id,))
    return trader


@pytest.fixture
def router() -> BrokerRouter:
    return BrokerRouter(secret_prefix="tradeplane/local/venues/", read_secret=lambda _name: {})


def run_executor(core_env: dict[str, Any], bindings: Bindings, trader: Trader, router: Router) -> None:
    paper = PaperVenue(FillConfig(), lambda _s: Decimal(100))
    with as_function("executor", bindings):
        execute(outbox_envelopes(core_env["dsn"], trader.account_id), paper, router=router)


def run_reconciler(bindings: Bindings, router: Router) -> Report:
    with as_function("reconciler", bindings):
        return reconcile(router)


def order_row(dsn: str, coid: str) -> dict[str, Any]:
    return query(dsn, "select * from trading.orders where client_order_id = %s", coid)[0]


def fills(dsn: str, order_id: uuid.UUID) -> list[tuple[Decimal, Decimal]]:
    rows = query(dsn, "select qty, price from trading.fills where order_id = %s order by qty", order_id)
    return [(r["qty"], r["price"]) for r in rows]


def cash(dsn: str, account_id: str) -> Decimal:
    return Decimal(query(dsn, "select coalesce(sum(amount), 0) as c from trading.cash_ledger where account_id = %s",
                         uuid.UUID(account_id))[0]["c"])  # fmt: skip


def limit_buy(trader: Trader, coid: str) -> None:
    submit(trader, client_order_id=coid, type="limit", limit_price="105", qty="10")


def placed(core_env: dict[str, Any], bindings: Bindings, trader: Trader, router: BrokerRouter, coid: str) -> None:
    """A limit buy of 10 the executor has sent to the broker, where it rests."""
    limit_buy(trader, coid)
    run_executor(core_env, bindings, trader, router)


def test_a_routed_order_rests_at_the_broker_and_its_fills_are_booked_once(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, router: BrokerRouter
) -> None:
    dsn, before = core_env["dsn"], cash(core_env["dsn"], routed.account_id)
    limit_buy(routed, "r-1")
    run_executor(core_env, bindings, routed, router)
    row = order_row(dsn, "r-1")
    assert (row["status"], row["venue"], row["filled_qty"]) == ("new", "alpaca", 0)
    assert router.broker.submits == ["r-1"]

    router.broker.fill("r-1", "4", "100", "partially_filled")
    run_reconciler(bindings, router)
    assert (order_row(dsn, "r-1")["status"], order_row(dsn, "r-1")["filled_qty"]) == ("partially_filled", 4)

    router.broker.fill("r-1", "10", "100.6", "filled")
    router.broker.held = {"AAPL": Decimal(10)}
    run_reconciler(bindings, router)
    again = run_reconciler(bindings, router)  # nothing left to book
    row = order_row(dsn, "r-1")
    assert (row["status"], row["filled_qty"], row["filled_avg_price"]) == ("filled", 10, Decimal("100.6"))
    assert fills(dsn, row["id"]) == [(4, Decimal(100)), (6, Decimal(101))]  # the rest at what makes the average
    assert cash(dsn, routed.account_id) == before - Decimal(400) - Decimal(606)
    assert not [d for d in again.differences if routed.account_id in d]  # positions agree
    assert router.broker.submits == ["r-1"]  # the reconciler never submits


def test_a_lost_submit_answer_is_queried_and_the_order_is_sent_once(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, router: BrokerRouter
) -> None:
    limit_buy(routed, "r-lost")
    router.broker.lose_next_answer = True
    run_executor(core_env, bindings, routed, router)
    run_executor(core_env, bindings, routed, router)  # the same intent redelivered: a duplicate
    assert router.broker.submits == ["r-lost"]
    router.broker.fill("r-lost", "10", "100", "filled")
    run_reconciler(bindings, router)
    run_reconciler(bindings, router)
    assert fills(core_env["dsn"], order_row(core_env["dsn"], "r-lost")["id"]) == [(10, Decimal(100))]


def test_an_order_the_broker_ended_is_ended_and_its_reservation_released(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, router: BrokerRouter
) -> None:
    placed(core_env, bindings, routed, router, "r-gone")
    router.broker.fill("r-gone", "0", "0", "expired")
    run_reconciler(bindings, router)
    row = order_row(core_env["dsn"], "r-gone")
    assert row["status"] == "canceled"
    open_reservations = query(
        core_env["dsn"], "select count(*) as n from trading.reservations where order_id = %s and released_at is null",
        row["id"],
    )  # fmt: skip
    assert open_reservations[0]["n"] == 0


def test_a_cancel_waits_for_the_broker_and_books_a_fill_that_came_first(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, router: BrokerRouter
) -> None:
    placed(core_env, bindings, routed, router, "r-cx")
    router.broker.fill("r-cx", "3", "100", "partially_filled")
    order_id = order_row(core_env["dsn"], "r-cx")["id"]
    assert routed.api.delete(f"/v2/orders/{order_id}", headers=routed.key).status == 204
    run_executor(core_env, bindings, routed, router)  # the cancel intent: sent, the broker still working it
    row = order_row(core_env["dsn"], "r-cx")
    assert (row["status"], row["filled_qty"]) == ("partially_filled", 3)
    router.broker.orders["r-cx"]["status"] = "canceled"
    run_reconciler(bindings, router)
    row = order_row(core_env["dsn"], "r-cx")
    assert (row["status"], row["filled_qty"]) == ("canceled", 3)
    assert fills(core_env["dsn"], row["id"]) == [(3, Decimal(100))]


def test_what_cannot_be_repaired_is_reported_and_left_alone(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, router: BrokerRouter
) -> None:
    placed(core_env, bindings, routed, router, "r-unknown")
    del router.broker.orders["r-unknown"]  # the broker lost it
    router.broker.held = {"MSFT": Decimal(5)}
    report = run_reconciler(bindings, router)
    assert any("r-unknown" in d and "unknown at the venue" in d for d in report.differences)
    assert any(routed.account_id in d and "MSFT" in d for d in report.differences)
    assert order_row(core_env["dsn"], "r-unknown")["status"] == "new"  # not touched


@pytest.mark.parametrize("secret", [None, '{"key_id": "k"}'])
def test_an_account_routed_without_a_usable_secret_has_its_orders_refused_with_the_reason(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, aws_env: str, secret: str | None
) -> None:
    """Secrets Manager (moto) has no secret, or one without the secret key and URL: a clear rejection, no fill."""
    prefix = f"tradeplane/test-{uuid.uuid4().hex[:8]}/venues/"
    if secret is not None:
        aws_client("secretsmanager", aws_env).create_secret(Name=f"{prefix}{routed.account_id}", SecretString=secret)
    coid = f"r-nokey-{secret is None}"
    limit_buy(routed, coid)
    run_executor(core_env, bindings, routed, Router(prefix, powertools_secret(0)))
    row = order_row(core_env["dsn"], coid)
    assert (row["status"], row["venue"], row["filled_qty"]) == ("rejected", "paper", 0)
    reasons = query(
        core_env["dsn"],
        "select envelope #>> '{data,reason}' as reason from trading.outbox"
        " where envelope #>> '{data,order,id}' = %s and envelope #>> '{data,event}' = 'rejected'",
        str(row["id"]),
    )
    assert [r["reason"] for r in reasons] == [
        "venue alpaca unavailable: "
        + ("no venue secret for the account" if secret is None else "the venue secret is malformed (KeyError)")
    ]


def replace(trader: Trader, dsn: str, coid: str, new_coid: str) -> None:
    order_id = order_row(dsn, coid)["id"]
    body = {"qty": "5", "client_order_id": new_coid}
    assert trader.api.patch(f"/v2/orders/{order_id}", body, headers=trader.key).status == 200
    assert order_row(dsn, coid)["status"] == "pending_replace"  # until the broker answers


def test_a_routed_replace_waits_for_the_broker_and_a_lost_answer_is_queried_not_resent(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, router: BrokerRouter
) -> None:
    dsn = core_env["dsn"]
    placed(core_env, bindings, routed, router, "r-rp")
    replace(routed, dsn, "r-rp", "r-rp-2")
    router.broker.lose_next_answer = True
    with pytest.raises(StillAmbiguousError):  # the broker made the new order, but its answer was lost
        run_executor(core_env, bindings, routed, router)
    assert (order_row(dsn, "r-rp")["status"], order_row(dsn, "r-rp-2")["status"]) == ("pending_replace", "accepted")
    run_executor(core_env, bindings, routed, router)  # the retry asks first: the new order exists
    assert router.broker.replaces == ["r-rp"]
    old, new = order_row(dsn, "r-rp"), order_row(dsn, "r-rp-2")
    assert (old["status"], new["status"], new["venue"]) == ("replaced", "new", "alpaca")
    router.broker.fill("r-rp-2", "5", "100", "filled")
    run_reconciler(bindings, router)
    assert fills(dsn, new["id"]) == [(5, Decimal(100))]


def test_a_routed_replace_is_rejected_when_the_broker_filled_the_order_first(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, router: BrokerRouter
) -> None:
    dsn = core_env["dsn"]
    placed(core_env, bindings, routed, router, "r-rf")
    router.broker.fill("r-rf", "10", "100", "filled")  # at the broker, before the replace arrives
    replace(routed, dsn, "r-rf", "r-rf-2")
    run_executor(core_env, bindings, routed, router)
    old, new = order_row(dsn, "r-rf"), order_row(dsn, "r-rf-2")
    assert (old["status"], old["filled_qty"], new["status"]) == ("filled", 10, "rejected")
    assert fills(dsn, old["id"]) == [(10, Decimal(100))]
    assert ("r-rf", "order_replace_rejected", "filled") in trade_events(dsn, routed.account_id)
    open_reservations = query(dsn, "select count(*) as n from trading.reservations where order_id = any(%s)"
                              " and released_at is null", [old["id"], new["id"]])  # fmt: skip
    assert open_reservations[0]["n"] == 0


def test_a_refused_routed_replace_leaves_the_old_order_working_with_its_reservation(
    core_env: dict[str, Any], bindings: Bindings, routed: Trader, router: BrokerRouter
) -> None:
    dsn = core_env["dsn"]
    placed(core_env, bindings, routed, router, "r-rr")
    router.broker.fill("r-rr", "2", "100", "partially_filled")
    replace(routed, dsn, "r-rr", "r-rr-2")
    # The broker refuses the change (as Alpaca does while the order is still pending there), order untouched.
    router.broker.replace = lambda _c, _n: Outcome.rejected("replace refused: order is pending")  # type: ignore[method-assign]
    run_executor(core_env, bindings, routed, router)
    old, new = order_row(dsn, "r-rr"), order_row(dsn, "r-rr-2")
    assert (old["status"], old["filled_qty"], new["status"]) == ("partially_filled", 2, "rejected")
    held = query(dsn, "select amount from trading.reservations where order_id = %s and released_at is null", old["id"])
    assert len(held) == 1 and held[0]["amount"] > 0  # the old order's reservation is its own again
