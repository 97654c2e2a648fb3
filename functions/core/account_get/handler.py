"""GET /v2/account: the credential's account in Alpaca's TradeAccount shape."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.routes import caller, json_response, new_app
from tp_core.trading_account import get_trading_account
from tradeplane.latest_price import last_price
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads the book; values positions at the latest price."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.get("/v2/account")
def account_get() -> Response[Any]:
    return json_response(get_trading_account(caller(app), prices=last_price))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
