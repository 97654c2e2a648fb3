"""The streaming functions in-process with their manifest environment, against real Postgres and Redis and a
recording management endpoint: Alpaca's handshake, fan-out once per connection, refusals, slow and gone clients,
and replay from the outbox."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import redis
from support.core_api import Trader
from support.execution import call, msk_event, outbox_envelopes, submit_and_execute
from tradeplane.contracts.topics import ORDERS_EVENTS
from tradeplane_local import events
from tradeplane_tools.manifest import Bindings

pytestmark = pytest.mark.integration


def _peer(cid: str) -> events.WebSocketPeer:
    return events.WebSocketPeer(cid, "127.0.0.1", "test", "127.0.0.1", "local", int(time.time() * 1000))


def connect(bindings: Bindings) -> str:
    cid = uuid.uuid4().hex[:16] + "="
    assert call("ws_connect", bindings, events.websocket_event(_peer(cid), "$connect")) == {"statusCode": 200}
    return cid


def say(bindings: Bindings, cid: str, frame: dict[str, Any]) -> None:
    call("ws_message", bindings, events.websocket_event(_peer(cid), "$default", json.dumps(frame)))


def listening(bindings: Bindings, trader: Trader, **listen: Any) -> str:
    cid = connect(bindings)
    say(bindings, cid, {"action": "authenticate", "data": {"key_id": trader.key_id, "secret_key": trader.secret}})
    say(bindings, cid, {"action": "listen", "data": {"streams": ["trade_updates"], **listen}})
    return cid


def fan_out(core_env: dict[str, Any], bindings: Bindings, trader: Trader, last: int | None = None) -> Any:
    updates = outbox_envelopes(core_env["dsn"], trader.account_id, ORDERS_EVENTS)
    return call("trade_updates_fanout", bindings, msk_event(updates[-last:] if last else updates, "k", ORDERS_EVENTS))


def test_handshake_is_one_reply_each_and_fills_arrive_once_with_the_full_order(
    core_env: dict[str, Any], bindings: Bindings, endpoint: Any, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "190.00")
    cid = listening(bindings, trader)
    assert endpoint.frames[cid] == [
        {"stream": "authorization", "data": {"status": "authorized", "action": "authenticate"}},
        {"stream": "listening", "data": {"streams": ["trade_updates"]}},
    ]
    placed = submit_and_execute(trader, core_env, bindings, qty="3")
    assert fan_out(core_env, bindings, trader)["sent"] == 2
    assert fan_out(core_env, bindings, trader)["sent"] == 0  # a retried batch: nobody gets a duplicate
    new, fill = endpoint.trade_updates(cid)
    assert (new["event"], fill["event"]) == ("new", "fill")
    assert fill["order"]["id"] == placed["id"] and fill["order"]["status"] == "filled"
    assert fill["qty"] == "3" and fill["position_qty"] == "3" and fill["execution_id"]
    assert fill["price"] == fill["order"]["filled_avg_price"]  # the paper venue's price, with its slippage
    for field in ("created_at", "submitted_at", "updated_at", "time_in_force", "extended_hours", "client_order_id"):
        assert fill["order"][field] is not None, field
    assert new["order"]["status"] == "new" and new["order"]["filled_at"] is None  # as it stood at `new`


def test_a_wrong_secret_is_refused_with_one_frame_and_the_connection_closed(
    bindings: Bindings, endpoint: Any, trader: Trader, core_env: dict[str, Any]
) -> None:
    cid = connect(bindings)
    say(bindings, cid, {"action": "authenticate", "data": {"key_id": trader.key_id, "secret_key": "wrong"}})
    assert endpoint.frames[cid] == [
        {"stream": "authorization", "data": {"status": "unauthorized", "action": "authenticate"}}
    ]
    assert cid in endpoint.deleted
    assert not redis.Redis.from_url(core_env["redis_url"]).keys(f"ws:*{cid}*")
    other = connect(bindings)
    say(bindings, other, {"action": "listen", "data": {"streams": ["trade_updates"]}})  # before authenticating
    assert endpoint.frames[other] == [
        {"stream": "authorization", "data": {"status": "unauthorized", "action": "listen"}}
    ]


def test_a_bearer_token_for_the_account_authenticates(bindings: Bindings, endpoint: Any, api: Any) -> None:
    from support.core_api import new_trader, sign_in

    trader = new_trader(api)
    token = sign_in(api, trader.username, trader.password, trader.account_id)["access_token"]
    cid = connect(bindings)
    say(bindings, cid, {"action": "authenticate", "data": {"oauth_token": token}})
    assert endpoint.frames[cid][0]["data"]["status"] == "authorized"
    unbound = connect(bindings)  # a token bound to no account has no stream of its own
    say(bindings, unbound, {"action": "authenticate", "data": {"oauth_token": trader.token}})
    assert endpoint.frames[unbound][0]["data"]["status"] == "unauthorized"


def test_another_accounts_events_never_arrive(
    core_env: dict[str, Any], bindings: Bindings, endpoint: Any, api: Any, set_price: Any
) -> None:
    from support.core_api import new_trader

    set_price("AAPL", "190.00")
    a, b = new_trader(api), new_trader(api)
    mine, theirs = listening(bindings, a), listening(bindings, b)
    submit_and_execute(a, core_env, bindings, qty="1")
    fan_out(core_env, bindings, a)
    assert [u["event"] for u in endpoint.trade_updates(mine)] == ["new", "fill"]
    assert endpoint.trade_updates(theirs) == []


def test_gone_and_slow_connections_never_hold_the_batch_or_raise(
    core_env: dict[str, Any], bindings: Bindings, endpoint: Any, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "190.00")
    healthy, gone, slow = (listening(bindings, trader) for _ in range(3))
    endpoint.gone.add(gone)
    endpoint.slow.add(slow)
    submit_and_execute(trader, core_env, bindings, qty="1")
    updates = outbox_envelopes(core_env["dsn"], trader.account_id, ORDERS_EVENTS)
    event = msk_event(updates, "k", ORDERS_EVENTS)
    result = call("trade_updates_fanout", bindings, event, TP_WS_READ_TIMEOUT_S="0.5")
    assert result["gone"] == 1 and result["failed"] == 1  # reported, not raised into a batch retry
    assert [u["event"] for u in endpoint.trade_updates(healthy)] == ["new", "fill"]
    assert not redis.Redis.from_url(core_env["redis_url"]).exists(f"ws:conn:{{{gone}}}")  # a 410 forgets it
    endpoint.slow.discard(slow)


def test_replay_from_an_event_id_sends_what_was_missed_in_order_then_goes_live(
    core_env: dict[str, Any], bindings: Bindings, endpoint: Any, trader: Trader, set_price: Any
) -> None:
    set_price("AAPL", "190.00")
    first = listening(bindings, trader)
    submit_and_execute(trader, core_env, bindings, qty="1")
    fan_out(core_env, bindings, trader)
    seen = endpoint.trade_updates(first)
    assert [u["event"] for u in seen] == ["new", "fill"]
    # The client drops; two more orders fill while it is away.
    call("ws_disconnect", bindings, events.websocket_event(_peer(first), "$disconnect", disconnect=(1006, "gone")))
    submit_and_execute(trader, core_env, bindings, qty="2")
    submit_and_execute(trader, core_env, bindings, qty="4")
    back = listening(bindings, trader, since={"event_id": seen[-1]["event_id"]})
    replayed = endpoint.trade_updates(back)
    assert [(u["event"], u["order"]["qty"]) for u in replayed] == [
        ("new", "2"),
        ("fill", "2"),
        ("new", "4"),
        ("fill", "4"),
    ]
    assert endpoint.frames[back][1]["data"]["replay"] == {"since": {"event_id": seen[-1]["event_id"]}}
    fan_out(core_env, bindings, trader, last=4)  # the same events arriving live now: already delivered, not again
    assert len(endpoint.trade_updates(back)) == 4
    submit_and_execute(trader, core_env, bindings, qty="5")
    fan_out(core_env, bindings, trader, last=2)
    assert [u["order"]["qty"] for u in endpoint.trade_updates(back)][4:] == ["5", "5"]


def test_replay_of_an_unknown_event_id_is_refused_and_changes_nothing(
    bindings: Bindings, endpoint: Any, trader: Trader, core_env: dict[str, Any]
) -> None:
    cid = listening(bindings, trader, since={"event_id": str(uuid.uuid4())})
    assert endpoint.frames[cid][-1] == {
        "stream": "error",
        "data": {"error": "since.event_id is not an event of this account"},
    }
    assert redis.Redis.from_url(core_env["redis_url"]).hget(f"ws:conn:{{{cid}}}", "state") == b"authed"
