"""The caller of a route, as the authorizer described it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tradeplane.problems import forbidden


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]

    @classmethod
    def from_authorizer(cls, context: Mapping[str, Any] | None) -> Principal:
        ctx = context or {}
        return cls(str(ctx.get("sub", "")), frozenset(str(ctx.get("scope", "")).split()))

    def require(self, scope: str) -> None:
        """Raise a 403 problem unless the caller holds `scope`."""
        if scope not in self.scopes:
            raise forbidden(f"this operation needs the '{scope}' scope")
