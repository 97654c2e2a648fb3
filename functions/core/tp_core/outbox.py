"""The transactional outbox, shared with execution: see `tradeplane.outbox`."""

from __future__ import annotations

from tradeplane.outbox import Staged, publish, stage

__all__ = ["Staged", "publish", "stage"]
