"""Alpaca Trading API v2 response shapes, built from rows of the book.

Money and quantities leave as JSON strings (TradeAccount and Position require it;
Order accepts it), times as RFC 3339 UTC, ids as UUIDs, enums as Alpaca spells them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from tradeplane.contracts.alpaca_orders import asset_id, plain

_ACCOUNT_STATUS = {"ACTIVE": "ACTIVE", "CLOSED": "ACCOUNT_CLOSED"}


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def position_view(row: Mapping[str, Any], price: Decimal | None) -> dict[str, Any]:
    """A position valued at the latest price (at its entry price when no price is known)."""
    qty, entry = Decimal(row["qty"]), Decimal(row["avg_entry_price"])
    current = price if price is not None else entry
    cost_basis, market_value = qty * entry, qty * current
    unrealized = market_value - cost_basis
    return {
        "asset_id": str(asset_id(row["symbol"])),
        "symbol": row["symbol"],
        # From market.instruments when the symbol is there; "" (which alpaca-py accepts) when it is not.
        "exchange": row.get("exchange") or "",
        "asset_class": row.get("asset_class") or "us_equity",
        "asset_marginable": bool(row.get("asset_marginable")),
        "avg_entry_price": plain(entry),
        "qty": plain(qty),
        "qty_available": plain(qty - Decimal(row.get("held", 0) or 0)),
        "side": "long" if qty >= 0 else "short",
        "market_value": money(market_value),
        "cost_basis": money(cost_basis),
        "unrealized_pl": money(unrealized),
        "unrealized_plpc": plain((unrealized / abs(cost_basis)).quantize(Decimal("0.0000001"))) if cost_basis else "0",
        "unrealized_intraday_pl": money(unrealized),
        "unrealized_intraday_plpc": "0",
        "current_price": plain(current),
        "lastday_price": plain(current),
        "change_today": "0",
        "realized_pl": money(Decimal(row["realized_pl"])),
    }


def account_view(
    account: Mapping[str, Any],
    settings: Mapping[str, Any],
    cash: Decimal,
    buying_power: Decimal,
    positions: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    long_value = sum((Decimal(p["market_value"]) for p in positions if p["side"] == "long"), Decimal(0))
    short_value = sum((Decimal(p["market_value"]) for p in positions if p["side"] == "short"), Decimal(0))
    equity = cash + long_value + short_value
    zero = money(Decimal(0))
    return {
        "id": str(account["id"]),
        "account_number": account["account_number"],
        "status": _ACCOUNT_STATUS.get(account["status"], "INACTIVE"),
        "crypto_status": "INACTIVE",
        "currency": account["currency"],
        "cash": money(cash),
        "buying_power": money(buying_power),
        "regt_buying_power": money(buying_power),
        "daytrading_buying_power": zero,
        "non_marginable_buying_power": money(buying_power),
        "effective_buying_power": money(buying_power),
        "options_buying_power": zero,
        "accrued_fees": zero,
        "pending_transfer_in": zero,
        "pending_transfer_out": zero,
        "portfolio_value": money(equity),
        "equity": money(equity),
        "last_equity": money(equity),
        "long_market_value": money(long_value),
        "short_market_value": money(short_value),
        "position_market_value": money(long_value + short_value),
        "initial_margin": zero,
        "maintenance_margin": zero,
        "last_maintenance_margin": zero,
        "sma": zero,
        "multiplier": "1",
        "daytrade_count": 0,
        "pattern_day_trader": False,
        "trading_blocked": bool(settings["trading_blocked"]),
        "trade_suspended_by_user": bool(settings["trading_blocked"]),
        "transfers_blocked": False,
        "account_blocked": account["status"] != "ACTIVE",
        "shorting_enabled": bool(settings["shorting_enabled"]),
        "created_at": account["created_at"],
    }


def configuration_view(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "dtbp_check": "entry",
        "fractional_trading": bool(settings["fractional_trading"]),
        "max_margin_multiplier": "1",
        "no_shorting": not settings["shorting_enabled"],
        "pdt_check": "entry",
        "suspend_trade": bool(settings["trading_blocked"]),
        "trade_confirm_email": settings["trade_confirm_email"],
        "ptp_no_exception_entry": False,
        "max_options_trading_level": 0,
    }
