"""GET /v2/assets/{symbol_or_asset_id}: one asset by symbol or id, in Alpaca's shape."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities.typing import LambdaContext
from tp_core.instruments import ASSET_KEY_PATTERN, Asset
from tp_core.instruments import get_asset as find_asset
from tradeplane import db
from tradeplane.http_api import api_resolver
from tradeplane.http_guard import resolve
from tradeplane.observability import correlation_paths, instrument
from tradeplane.problems import not_found
from tradeplane.settings import PostgresSettings, RateLimitSettings, load_settings


class Settings(PostgresSettings, RateLimitSettings):
    """Reads instruments from the replica (uses.postgres = "replica"); rate limited per principal."""


SETTINGS = load_settings(Settings)

app = api_resolver(SETTINGS, alpaca=True)


@app.get(
    "/v2/assets/<symbol_or_asset_id>",
    summary="Get an asset by symbol or id",
    tags=["assets"],
    responses={200: {"description": "The asset"}, 404: {"description": "No such asset"}},
)
def get_asset(
    symbol_or_asset_id: Annotated[str, Path(pattern=ASSET_KEY_PATTERN, description="A symbol (AAPL) or asset id")],
) -> Asset:
    with db.connection(read_only=True) as conn:
        asset = find_asset(conn, symbol_or_asset_id)
    if asset is None:
        raise not_found("asset not found")
    return asset


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
