"""The Alpaca venue: an account's orders routed to an Alpaca-compatible broker with alpaca-py.

Every call is keyed by the client order id (the broker refuses a second order under it).
A transport failure (timeout, reset, 5xx) is an AMBIGUOUS answer: the broker may hold the
order. `tp_execution.venue.submit_resolved` then asks `query` (get by client order id)
and submits again only when the broker answers 404. alpaca-py's own retry is limited to
429 (the request was refused, not processed), so it never resubmits after a lost answer.

An answer maps to an `Outcome` whose decision carries the broker's CUMULATIVE fill as one
fill (filled quantity at its average price; the broker's fees are not on its orders, so
zero): the executor books it on a new order, the reconciler books only what the book lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    OrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
    TrailingStopOrderRequest,
)
from requests.adapters import HTTPAdapter
from tradeplane.fill_model import Decision, Fill

from tp_execution.venue import AMBIGUOUS, Outcome, VenueOrder
from tp_execution.venue_credentials import Credentials

# Broker statuses that end an order without (more) fills; `rejected` is answered as a rejection.
# `done_for_day` is not here: Alpaca's order is done for today and resumes next session (the book keeps it
# working); ending it in the book would release a reservation the broker may still fill against.
_ENDED = frozenset({"canceled", "expired", "replaced"})
_REQUESTS: dict[str, type[OrderRequest]] = {
    "market": MarketOrderRequest,
    "limit": LimitOrderRequest,
    "stop": StopOrderRequest,
    "stop_limit": StopLimitOrderRequest,
    "trailing_stop": TrailingStopOrderRequest,
}


class _TimeoutAdapter(HTTPAdapter):
    """alpaca-py sends without a timeout; a venue call must never hang a Lambda invocation."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout_s
        return super().send(request, **kwargs)


def trading_client(credentials: Credentials, timeout_s: float) -> TradingClient:
    client = TradingClient(
        credentials.key_id,
        credentials.secret_key,
        raw_data=True,
        url_override=credentials.base_url,
    )
    client._retry_codes = [429]  # a 504 may have been processed: ambiguous, resolved by query, never resent
    adapter = _TimeoutAdapter(timeout_s)
    client._session.mount("https://", adapter)
    client._session.mount("http://", adapter)
    return client


def order_request(order: VenueOrder) -> OrderRequest:
    spec = order.spec
    fields: dict[str, Any] = {
        "symbol": order.symbol,
        "side": OrderSide(spec.side),
        "time_in_force": TimeInForce(spec.time_in_force),
        "client_order_id": order.client_order_id,
    }
    if spec.qty is not None:
        fields["qty"] = float(spec.qty)  # alpaca-py's request models take floats; the broker sends strings back
    else:
        fields["notional"] = float(spec.notional or 0)
    for name in ("limit_price", "stop_price", "trail_price", "trail_percent"):
        value = getattr(spec, name)
        if value is not None:
            fields[name] = float(value)
    return _REQUESTS[spec.type](**fields)


def outcome_of(broker_order: Mapping[str, Any]) -> Outcome:
    """The broker's order (Alpaca's JSON) as an outcome whose one fill is the cumulative fill so far."""
    status = str(broker_order.get("status"))
    if status == "rejected":
        return Outcome.rejected(f"rejected by the venue ({broker_order.get('id')})")
    filled = Decimal(str(broker_order.get("filled_qty") or 0))
    price = broker_order.get("filled_avg_price")
    fills = (Fill(filled, Decimal(str(price)), Decimal(0)),) if filled > 0 and price is not None else ()
    if status == "filled":
        return Outcome.accepted(Decision("filled", fills))
    if status == "partially_filled":
        return Outcome.accepted(Decision("partially_filled", fills))
    if status in _ENDED:
        return Outcome.accepted(Decision("canceled", fills, reason=f"{status} at the venue"))
    return Outcome.accepted(Decision("new", fills))  # new, accepted, pending_*: working at the venue


_TRANSPORT = (requests.Timeout, requests.ConnectionError)


@dataclass
class AlpacaVenue:
    client: TradingClient
    name: str = "alpaca"

    def submit(self, order: VenueOrder) -> Outcome:
        try:
            answer = self.client.submit_order(order_request(order))
        except _TRANSPORT:
            return AMBIGUOUS
        except APIError as error:
            if _ambiguous(error):
                return AMBIGUOUS
            if _status(error) in (409, 422) and self.query(order.client_order_id) is not None:
                return AMBIGUOUS  # the id is already taken there: resolved by query, as after a timeout
            return Outcome.rejected(f"refused by the venue: {error.message or _status(error)}")
        return outcome_of(_as_dict(answer))

    def cancel(self, client_order_id: str) -> Outcome:
        broker = self._get(client_order_id)
        if broker is None or broker["status"] in _ENDED | {"filled", "rejected"}:
            return outcome_of(broker) if broker else Outcome.rejected("unknown at the venue")
        try:
            self.client.cancel_order_by_id(str(broker["id"]))
        except _TRANSPORT:
            return AMBIGUOUS
        except APIError as error:  # 422: it filled (or ended) first; the reconciler books what it has
            return AMBIGUOUS if _ambiguous(error) else Outcome.rejected(f"cancel refused: {error.message}")
        return Outcome.accepted(Decision("canceled"))

    def replace(self, client_order_id: str, new: VenueOrder) -> Outcome:
        broker = self._get(client_order_id)
        if broker is None:
            return Outcome.rejected("unknown at the venue")
        spec = new.spec
        change = ReplaceOrderRequest(
            qty=int(spec.qty) if spec.qty is not None else None,
            limit_price=float(spec.limit_price) if spec.limit_price is not None else None,
            stop_price=float(spec.stop_price) if spec.stop_price is not None else None,
            client_order_id=new.client_order_id,
        )
        try:
            answer = self.client.replace_order_by_id(str(broker["id"]), change)
        except _TRANSPORT:
            return AMBIGUOUS
        except APIError as error:
            return AMBIGUOUS if _ambiguous(error) else Outcome.rejected(f"replace refused: {error.message}")
        return outcome_of(_as_dict(answer))

    def query(self, client_order_id: str) -> Outcome | None:
        try:
            broker = self._get(client_order_id)
        except _TRANSPORT:
            return AMBIGUOUS
        except APIError:
            return AMBIGUOUS
        return None if broker is None else outcome_of(broker)

    def positions(self) -> dict[str, Decimal]:
        """The broker's positions, signed quantity per symbol."""
        rows = self.client.get_all_positions()
        return {str(p["symbol"]): Decimal(str(p["qty"])) for p in _as_list(rows)}

    def _get(self, client_order_id: str) -> dict[str, Any] | None:
        try:
            return _as_dict(self.client.get_order_by_client_id(client_order_id))
        except APIError as error:
            if _status(error) == 404:
                return None
            raise


def _status(error: APIError) -> int | None:
    try:
        return int(error.status_code)
    except (AttributeError, TypeError, ValueError):
        return None


def _ambiguous(error: APIError) -> bool:
    status = _status(error)
    return status is None or status >= 500 or status == 429


def _as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else dict(value.model_dump(mode="json"))


def _as_list(value: Any) -> list[Any]:
    return [r if isinstance(r, Mapping) else r.model_dump(mode="json") for r in value]
