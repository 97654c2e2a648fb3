"""Kafka topic names. The manifest's `[topics.*]` configures them; a test keeps the two in step."""

from __future__ import annotations

from typing import Final

MARKET_TICKS: Final = "market.ticks"
MARKET_BARS: Final = "market.bars"
SIGNALS: Final = "signals"
ORDERS_SUBMITTED: Final = "orders.submitted"
ORDERS_EVENTS: Final = "orders.events"

ALL: Final = frozenset({MARKET_TICKS, MARKET_BARS, SIGNALS, ORDERS_SUBMITTED, ORDERS_EVENTS})
