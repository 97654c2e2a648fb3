"""Namespaced cache keys (no Redis needed)."""

from __future__ import annotations

import pytest
from tradeplane.redis_client import key


def test_keys() -> None:
    assert key("px", "AAPL") == "px:AAPL"
    assert key("rl", "user", 42) == "rl:user:42"
    assert key("idem", "acct-1", "k-9") == "idem:acct-1:k-9"
    assert key("strat", "s1", "state") == "strat:s1:state"


@pytest.mark.parametrize("bad", ["", "price", "PX"])
def test_unknown_namespace(bad: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        key(bad, "x")  # type: ignore[arg-type]


def test_parts_required() -> None:
    with pytest.raises(ValueError):
        key("px")
    with pytest.raises(ValueError):
        key("px", "")
