"""Which venue works an account's orders: `core.account_venues` (no row: the paper venue).

An Alpaca account's key, secret and base URL are the JSON secret `<prefix><account id>`
(prefix from the manifest's `uses.secret_prefixes`, e.g. `tradeplane/prod/venues/`),
read through Powertools' `get_secret` with a max age, so a rotated key is picked up
within that age and the database never holds a broker credential.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from psycopg import Connection

from tp_execution.venue import AMBIGUOUS, Outcome, Venue, VenueOrder
from tp_execution.venue_credentials import Credentials

if TYPE_CHECKING:
    from tp_execution.alpaca_venue import AlpacaVenue

PAPER = "paper"
SecretReader = Callable[[str], Any]


class VenueUnavailableError(RuntimeError):
    """The account is routed to a venue this function cannot reach (no prefix configured, no secret)."""


def powertools_secret(max_age_s: int) -> SecretReader:
    from aws_lambda_powertools.utilities.parameters import get_secret

    return lambda name: get_secret(name, transform="json", max_age=max_age_s)


@dataclass
class UnreachableVenue:
    """An account routed to a venue this function cannot reach: its new orders are refused with the reason
    (a clear rejection that books nothing) instead of failing the batch, which would hold every account that
    shares the partition; what is already at the venue is left for the reconciler."""

    name: str
    reason: str

    def submit(self, order: VenueOrder) -> Outcome:
        return Outcome.rejected(self.reason)

    def cancel(self, client_order_id: str) -> Outcome:
        return AMBIGUOUS

    def replace(self, client_order_id: str, new: VenueOrder) -> Outcome:
        return Outcome.rejected(self.reason)

    def query(self, client_order_id: str) -> Outcome | None:
        return AMBIGUOUS


@dataclass
class Router:
    """Resolves accounts to their venue objects: routed accounts get a venue, the rest use the paper venue."""

    secret_prefix: str | None
    read_secret: SecretReader
    timeout_s: float = 5.0
    _clients: dict[Credentials, AlpacaVenue] = field(default_factory=dict)

    def kinds(self, conn: Connection[Any], account_ids: Iterable[UUID]) -> dict[UUID, str]:
        """The non-paper venue of each of these accounts that has one."""
        rows = conn.execute(
            "select account_id, venue from core.account_venues where account_id = any(%s) and venue <> %s",
            (list(set(account_ids)), PAPER),
        ).fetchall()
        return {r["account_id"]: r["venue"] for r in rows}

    def routed(self, conn: Connection[Any], account_ids: Iterable[UUID]) -> dict[UUID, Venue]:
        """The venue of each routed account among these (paper accounts are absent)."""
        found: dict[UUID, Venue] = {}
        for account, kind in self.kinds(conn, account_ids).items():
            try:
                found[account] = self.venue(account, kind)
            except VenueUnavailableError as error:
                found[account] = UnreachableVenue(kind, f"venue {kind} unavailable: {error}")
        return found

    def venue(self, account_id: UUID, kind: str) -> AlpacaVenue:
        # alpaca-py (seconds of import on a cold container) only once an account is routed: most are paper.
        from tp_execution.alpaca_venue import AlpacaVenue, trading_client

        credentials = self.credentials(account_id, kind)
        venue = self._clients.get(credentials)  # one HTTP session per credential, re-used across invocations
        if venue is None:
            venue = self._clients[credentials] = AlpacaVenue(trading_client(credentials, self.timeout_s))
        return venue

    def credentials(self, account_id: UUID, kind: str) -> Credentials:
        """A missing or malformed secret leaves the account without a venue; any other failure (throttling,
        network) propagates, so the batch is retried rather than its orders refused."""
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

        if kind != "alpaca":
            raise VenueUnavailableError(f"unknown venue {kind!r}")
        if not self.secret_prefix:
            raise VenueUnavailableError("no venue secret prefix configured (uses.secret_prefixes)")
        try:
            return Credentials.from_secret(self.read_secret(f"{self.secret_prefix}{account_id}"))
        except GetParameterError as error:
            if "ResourceNotFoundException" not in str(error):
                raise
            raise VenueUnavailableError("no venue secret for the account") from error
        except (TransformParameterError, KeyError, TypeError, ValueError) as error:
            raise VenueUnavailableError(f"the venue secret is malformed ({type(error).__name__})") from error
