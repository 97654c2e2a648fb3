"""GET /v2/assets, GET /v2/assets/{symbol_or_asset_id} and PUT /v1/instruments against the real Postgres."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import ModuleType

import psycopg
import pytest
from alpaca.trading.models import Asset as AlpacaAsset
from support.routes import call, load_handler
from tp_core.instruments import asset_id
from tradeplane_tools.migrate import apply_migrations

pytestmark = pytest.mark.integration

ADMIN = {"sub": "admin-1", "scope": "admin"}


@pytest.fixture(scope="module")
def dsn(pg_dsn: str) -> str:
    apply_migrations(pg_dsn)
    return pg_dsn


@pytest.fixture
def env(dsn: str, redis_url: str) -> dict[str, str]:
    return {"TP_DB_DSN": dsn, "TP_REDIS_URL": redis_url, "TP_RATE_LIMIT_PER_MINUTE": "100000"}


@pytest.fixture
def handlers(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ModuleType]]:
    from support.reset import reset_all

    yield {name: load_handler(name, monkeypatch, env) for name in ("assets_list", "assets_get", "instruments_put")}
    reset_all()


@pytest.mark.parametrize("key", ["x" * 13, "A-B", "1ABC"])
def test_malformed_asset_key_is_422(handlers: dict[str, ModuleType], key: str) -> None:
    r = call(
        handlers["assets_get"],
        "GET /v2/assets/{symbol_or_asset_id}",
        f"/v2/assets/{key}",
        path_parameters={"symbol_or_asset_id": key},
    )
    assert r.status == 422 and r.json()["code"] == 42210000


def test_seeded_assets_parse_as_alpaca_py_assets(handlers: dict[str, ModuleType]) -> None:
    r = call(handlers["assets_list"], "GET /v2/assets", "/v2/assets")
    assert r.status == 200, r.text
    assets = [AlpacaAsset(**a) for a in r.json()]
    symbols = [a.symbol for a in assets]
    assert len(assets) >= 30 and {"AAPL", "MSFT", "SPY", "QQQ", "BRK.B"} <= set(symbols)
    assert symbols == sorted(symbols)
    spy = next(a for a in assets if a.symbol == "SPY")
    assert spy.exchange == "NYSEARCA" and spy.asset_class == "us_equity" and spy.id == asset_id("SPY")


@pytest.mark.parametrize(
    ("query", "expect_in", "expect_out"),
    [
        ("exchange=NYSEARCA", {"SPY", "IWM"}, {"AAPL", "JPM"}),
        ("exchange=NASDAQ&status=active", {"AAPL", "QQQ"}, {"SPY"}),
        ("attributes=options_late_close", {"SPY", "QQQ", "IWM"}, {"AAPL"}),
        ("asset_class=us_equity", {"AAPL", "SPY"}, set()),
    ],
)
def test_filters(handlers: dict[str, ModuleType], query: str, expect_in: set[str], expect_out: set[str]) -> None:
    r = call(handlers["assets_list"], "GET /v2/assets", "/v2/assets", query=query)
    assert r.status == 200, r.text
    symbols = {a["symbol"] for a in r.json()}
    assert expect_in <= symbols and not (expect_out & symbols)


def test_filters_with_no_match_answer_an_empty_list(handlers: dict[str, ModuleType]) -> None:
    for query in ("asset_class=crypto", "status=inactive", "exchange=OTC"):
        r = call(handlers["assets_list"], "GET /v2/assets", "/v2/assets", query=query)
        assert (r.status, r.json()) == (200, [])


@pytest.mark.parametrize("query", ["status=halted", "exchange=IEX", "attributes=has_options,bogus", "asset_class="])
def test_bad_filters_are_422_in_alpaca_shape(handlers: dict[str, ModuleType], query: str) -> None:
    r = call(handlers["assets_list"], "GET /v2/assets", "/v2/assets", query=query)
    assert r.status == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == 42210000 and r.json()["message"]


@pytest.mark.parametrize("key", ["AAPL", "aapl", str(asset_id("AAPL"))])
def test_get_by_symbol_or_id(handlers: dict[str, ModuleType], key: str) -> None:
    r = call(
        handlers["assets_get"],
        "GET /v2/assets/{symbol_or_asset_id}",
        f"/v2/assets/{key}",
        path_parameters={"symbol_or_asset_id": key},
    )
    assert r.status == 200, r.text
    asset = AlpacaAsset(**r.json())
    assert asset.symbol == "AAPL" and asset.exchange == "NASDAQ" and r.json()["class"] == "us_equity"


@pytest.mark.parametrize("key", ["ZZZZ", str(uuid.uuid4())])
def test_unknown_asset_is_404_with_alpaca_code(handlers: dict[str, ModuleType], key: str) -> None:
    r = call(
        handlers["assets_get"],
        "GET /v2/assets/{symbol_or_asset_id}",
        f"/v2/assets/{key}",
        path_parameters={"symbol_or_asset_id": key},
    )
    assert r.status == 404 and r.json() == {**r.json(), "code": 40410000, "message": "asset not found"}


def test_admin_upsert_is_idempotent(handlers: dict[str, ModuleType], dsn: str) -> None:
    put = handlers["instruments_put"]
    batch = {
        "instruments": {
            "PLTR": {"exchange": "NASDAQ", "name": "Palantir Technologies Inc.", "shortable": False},
            "AAPL": {"exchange": "NASDAQ", "name": "Apple Inc. Common Stock", "attributes": ["has_options"]},
        }
    }
    first = call(put, "PUT /v1/instruments", "/v1/instruments", body=batch, authorizer=ADMIN)
    assert first.status == 200, first.text
    assert (first.json()["created"], first.json()["updated"], first.json()["unchanged"]) == (1, 0, 1)
    again = call(put, "PUT /v1/instruments", "/v1/instruments", body=batch, authorizer=ADMIN)
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 2)
    assert again.json()["assets"] == first.json()["assets"]
    batch["instruments"]["PLTR"]["status"] = "inactive"
    changed = call(put, "PUT /v1/instruments", "/v1/instruments", body=batch, authorizer=ADMIN)
    assert (changed.json()["created"], changed.json()["updated"]) == (0, 1)
    got = call(
        handlers["assets_get"],
        "GET /v2/assets/{symbol_or_asset_id}",
        "/v2/assets/PLTR",
        path_parameters={"symbol_or_asset_id": "PLTR"},
    )
    assert got.json()["status"] == "inactive" and got.json()["shortable"] is False
    assert got.json()["id"] == str(asset_id("PLTR"))
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select count(*) from market.instruments where symbol = 'PLTR'").fetchone() == (1,)


def test_upsert_needs_the_admin_scope_and_changes_nothing(handlers: dict[str, ModuleType], dsn: str) -> None:
    batch = {"instruments": {"ROKU": {"exchange": "NASDAQ"}}}
    r = call(
        handlers["instruments_put"],
        "PUT /v1/instruments",
        "/v1/instruments",
        body=batch,
        authorizer={"sub": "trader", "scope": "trading"},
    )
    assert r.status == 403 and r.json()["status"] == 403
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select count(*) from market.instruments where symbol = 'ROKU'").fetchone() == (0,)


@pytest.mark.parametrize(
    "batch",
    [
        {"instruments": {}},
        {"instruments": [{"symbol": "NEW", "exchange": "NYSE"}]},
        {"instruments": {"aapl": {"exchange": "NASDAQ"}}},
        {"instruments": {"NEW": {"exchange": "IEX"}}},
        {"instruments": {"NEW": {"exchange": "NYSE", "extra": 1}}},
        {"instruments": {"NEW": {"exchange": "NYSE", "name": "n" * 201}}},
        {"instruments": {"NEW": {"exchange": "NYSE", "attributes": ["unknown"]}}},
        {"instruments": {"NEW": {"exchange": "NYSE", "name": "nul\u0000inside"}}},  # Postgres text cannot hold NUL
        {"instruments": {"NEW": {"exchange": "NYSE", "name": "lone \ud800 surrogate"}}},
    ],
)
def test_bad_batches_are_422_and_change_nothing(handlers: dict[str, ModuleType], dsn: str, batch: object) -> None:
    with psycopg.connect(dsn) as conn:
        before = conn.execute("select count(*), max(updated_at) from market.instruments").fetchone()
    r = call(handlers["instruments_put"], "PUT /v1/instruments", "/v1/instruments", body=batch, authorizer=ADMIN)
    assert r.status == 422, r.text
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select count(*), max(updated_at) from market.instruments").fetchone() == before


def test_a_body_that_is_not_utf8_is_400_and_changes_nothing(handlers: dict[str, ModuleType]) -> None:
    r = call(handlers["instruments_put"], "PUT /v1/instruments", "/v1/instruments", body=b"\xff\xfe{", authorizer=ADMIN)
    assert r.status == 400 and r.headers["content-type"] == "application/problem+json"
