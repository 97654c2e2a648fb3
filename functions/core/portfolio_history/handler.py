"""GET /v2/account/portfolio/history: equity and P&L over time (Alpaca's PortfolioHistory)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.portfolio import HistoryQuery, portfolio_history
from tp_core.routes import caller, json_response, new_app, query
from tradeplane.observability import correlation_paths, instrument
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads equity snapshots and the ledger (replica when configured)."""


SETTINGS = load_settings(Settings)
app = new_app(SETTINGS)


@app.get("/v2/account/portfolio/history")
def get_portfolio_history() -> Response[Any]:
    return json_response(portfolio_history(caller(app), HistoryQuery.model_validate(query(app))))


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
