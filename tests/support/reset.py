"""Reset every per-container resource (settings, pools, clients, secret caches).

Tests use it between cases, as a new Lambda container would start empty.
Only modules that were already imported are touched, so this imports nothing heavy.
"""

from __future__ import annotations

import sys

__all__ = ["reset_all"]


def reset_all() -> None:
    """Close pools/clients built so far and forget cached settings and secrets."""
    if "tradeplane.db" in sys.modules:
        sys.modules["tradeplane.db"].close_pools()
    if "tradeplane.redis_client" in sys.modules:
        sys.modules["tradeplane.redis_client"].close_client()
    if "tradeplane.kafka_producer" in sys.modules:
        sys.modules["tradeplane.kafka_producer"].close_producer()
    if "tradeplane.aws_async" in sys.modules:
        sys.modules["tradeplane.aws_async"].reset_clients()
    if "aws_lambda_powertools.utilities.parameters" in sys.modules:
        sys.modules["aws_lambda_powertools.utilities.parameters"].clear_caches()
    from tradeplane.settings import reset_settings

    reset_settings()
