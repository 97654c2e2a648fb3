"""The position update the book runs in SQL agrees with the Python rule (`tp_execution.position_math`)."""

from __future__ import annotations

import uuid
from decimal import Decimal as D  # noqa: N817 - short, the tests are full of literals
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row
from support.core_api import Api, new_trader
from tp_execution.book import Book
from tp_execution.position_math import Position
from tradeplane.fill_model import Fill

pytestmark = pytest.mark.integration

fills = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.decimals(min_value=D("0.001"), max_value=D(500), places=3),
        st.decimals(min_value=D("0.01"), max_value=D(1000), places=2),
    ),
    min_size=1,
    max_size=15,
)


@pytest.fixture(scope="module")
def account(api: Api) -> uuid.UUID:
    return uuid.UUID(new_trader(api).account_id)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(fills)
def test_sql_position_matches_the_python_rule(core_env: dict[str, Any], account: uuid.UUID, trades: list[Any]) -> None:
    symbol = "P" + uuid.uuid4().hex[:7].upper()
    expected = Position()
    with psycopg.connect(core_env["dsn"], row_factory=dict_row) as conn:
        book = Book(conn, "test", "cause")
        for side, qty, price in trades:
            order = {"account_id": account, "symbol": symbol, "side": side}
            book._position(order, Fill(qty, price, D(0)))
            expected = expected.after(side, qty, price)
        row = conn.execute(
            "select qty, avg_entry_price, realized_pl from trading.positions where account_id = %s and symbol = %s",
            (account, symbol),
        ).fetchone()
        conn.rollback()  # nothing of this stays in the book
    assert row is not None
    assert (row["qty"], row["avg_entry_price"], row["realized_pl"]) == (
        expected.qty,
        expected.avg_entry_price,
        expected.realized_pl,
    )
