"""The execution bench keeps within the Core API's per-account rate limit instead of asking for it to be lifted."""

from __future__ import annotations

import pytest
from tradeplane.settings import RateLimitSettings
from tradeplane_local import bench_execution


def test_the_limit_is_the_products_own() -> None:
    settings = RateLimitSettings(redis_url="redis://127.0.0.1:9/0")  # everything else as the product defaults
    assert bench_execution.RATE_LIMIT_PER_MINUTE == settings.rate_limit_per_minute == 200


def test_samples_that_would_drain_one_keys_bucket_are_refused_before_any_request() -> None:
    key = {"APCA-API-KEY-ID": "k", "APCA-API-SECRET-KEY": "s"}
    with pytest.raises(ValueError, match="requests per key"):  # 150 samples, 300 requests from one key
        bench_execution.submit_to_filled("http://127.0.0.1:9", [key], "127.0.0.1:9", 150)
