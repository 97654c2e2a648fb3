"""The latest trade price per symbol: the shared reader (`tradeplane.latest_price`), which execution uses too."""

from __future__ import annotations

from tradeplane.latest_price import last_price

__all__ = ["last_price"]
