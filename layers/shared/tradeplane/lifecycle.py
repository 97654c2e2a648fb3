"""Reset every per-container resource (settings, pools, clients, secret caches).

For tests and for a local runner that changes the environment between runs.
Only modules that were already imported are touched, so this imports nothing heavy.
"""

from __future__ import annotations

import sys

__all__ = ["reset_all"]


def reset_all() -> None:
    """Close pools/clients built so far and forget cached settings and secrets."""
    if "tradeplane.db" in sys.modules:
        sys.modules["tradeplane.db"].close_pools()
    if "tradeplane.cache" in sys.modules:
        sys.modules["tradeplane.cache"].close_client()
    if "tradeplane.kafka" in sys.modules:
        sys.modules["tradeplane.kafka"].close_producer()
    if "aws_lambda_powertools.utilities.parameters" in sys.modules:
        sys.modules["aws_lambda_powertools.utilities.parameters"].clear_caches()
    from tradeplane.settings import get_settings

    get_settings.cache_clear()
