"""Limits of the ETL's requests. Event payloads (ticks, quotes, bars) are contracts in `tradeplane.contracts.market`."""

from __future__ import annotations

from datetime import timedelta

# Live ticks come from a clock that may run slightly ahead of ours; anything later is a bad timestamp.
MAX_CLOCK_SKEW = timedelta(minutes=5)
