"""The /v2 account: Alpaca's TradeAccount and AccountConfiguration for the credential's account."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from psycopg import Connection
from pydantic import BaseModel, ConfigDict, Field
from tradeplane import db
from tradeplane.auth import Principal

from tp_core.access import trading_account
from tp_core.alpaca import account_view, configuration_view
from tp_core.ledger import balances
from tp_core.positions import PriceSource, valued_positions

_SETTINGS = (
    "select trading_blocked, shorting_enabled, fractional_trading, trade_confirm_email"
    " from core.risk_settings where account_id = %s"
)


class ConfigurationPatch(BaseModel):
    """The configuration fields Tradeplane honours; Alpaca's others are accepted and ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    no_shorting: bool | None = None
    suspend_trade: bool | None = None
    fractional_trading: bool | None = None
    trade_confirm_email: Literal["all", "none"] | None = None
    max_margin_multiplier: Annotated[str, Field(pattern=r"^1$")] | None = None  # cash accounts only


def _settings(conn: Connection[Any], account_id: uuid.UUID) -> dict[str, Any]:
    row = conn.execute(_SETTINGS, (account_id,)).fetchone()
    assert row is not None
    return dict(row)


def get_trading_account(caller: Principal, *, prices: PriceSource) -> dict[str, Any]:
    account_id = trading_account(caller, "trading:read")
    with db.transaction() as conn:
        book = balances(conn, account_id)
        positions = valued_positions(conn, account_id, prices)
        return account_view(book.account, _settings(conn, account_id), book.cash, book.buying_power, positions)


def get_configurations(caller: Principal) -> dict[str, Any]:
    account_id = trading_account(caller, "trading:read")
    with db.transaction() as conn:
        return configuration_view(_settings(conn, account_id))


def patch_configurations(caller: Principal, patch: ConfigurationPatch) -> dict[str, Any]:
    account_id = trading_account(caller, "trading:write")
    changes = {
        "shorting_enabled": None if patch.no_shorting is None else not patch.no_shorting,
        "trading_blocked": patch.suspend_trade,
        "fractional_trading": patch.fractional_trading,
        "trade_confirm_email": patch.trade_confirm_email,
    }
    with db.transaction() as conn:
        conn.execute(
            "update core.risk_settings set "
            + ", ".join(f"{k} = coalesce(%({k})s, {k})" for k in changes)
            + ", updated_at = now() where account_id = %(a)s",
            {**changes, "a": account_id},
        )
        return configuration_view(_settings(conn, account_id))
