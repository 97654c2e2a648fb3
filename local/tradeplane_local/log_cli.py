"""`tradeplane logs`: aggregated log lines from GET /v1/logs (or one order's trace), like `tail` for the platform.

    tradeplane logs --correlation-id flow-1          # lines of one flow, oldest first
    tradeplane logs --service core --level warning -f
    tradeplane logs --order 3f0c...                  # GET /v1/orders/{id}/trace

It talks to the API, so it reads AWS the same way as the local platform: `--api` and
`--token` (or TP_API_URL / TP_TOKEN) for a deployment; without them, the running local
platform's gateway and an admin token minted with its local keyset. On a terminal lines are
colored and aligned; piped, each line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import httpx

from tradeplane_local import stack

POLL_S = 1.0
_COLORS = {"DEBUG": "\033[2m", "INFO": "", "WARNING": "\033[33m", "ERROR": "\033[31m", "CRITICAL": "\033[1;31m"}
_DIM, _RESET = "\033[2m", "\033[0m"
_SHOWN_KEYS = ("account_id", "order_id", "symbol", "event_type", "route", "status")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing lines as they arrive")
    parser.add_argument("--correlation-id", help="lines of one flow")
    parser.add_argument("--service", help="a component: core, etl, logging, ...")
    parser.add_argument("--function", help="one function")
    parser.add_argument("--level", type=str.upper, choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
    parser.add_argument("--account", help="lines naming this account id")
    parser.add_argument("--order", help="the trace of one order (its lines and those of its flows)")
    parser.add_argument("--since", help="RFC 3339 time (default: the API's, 7 days)")
    parser.add_argument("--grep", dest="q", help="text in the message")
    parser.add_argument("-n", "--limit", type=int, default=100, help="lines to show before following")
    parser.add_argument("--json", action="store_true", help="JSON lines even on a terminal")
    parser.add_argument("--api", default=os.environ.get("TP_API_URL"), help="API base URL (default: local platform)")
    parser.add_argument("--token", default=os.environ.get("TP_TOKEN"), help="Bearer token with the admin scope")


def _client(args: argparse.Namespace) -> httpx.Client:
    api, token = args.api, args.token
    if not api or not token:
        state = stack.read_state(Path(args.state_dir).resolve())
        if not state:
            raise stack.StackError("no --api/--token given and the local platform is not up (`tradeplane local up`)")
        if not api:
            api = state["runtime"]["gateway"]
        if not token:
            from tradeplane_local.devtokens import local_token

            token = local_token(Path(args.state_dir).resolve(), subject="tradeplane-cli", scope=["admin"])
    verify = not str(api).startswith("https://127.0.0.1")  # the local gateway's certificate is self-signed
    return httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=30, verify=verify)


def _get(client: httpx.Client, path: str, params: dict[str, Any]) -> dict[str, Any]:
    r = client.get(path, params={k: v for k, v in params.items() if v is not None})
    if r.status_code != 200:
        detail = r.json().get("detail") if r.headers.get("content-type", "").endswith("json") else r.text
        raise stack.StackError(f"GET {path} answered {r.status_code}: {detail}")
    body: dict[str, Any] = r.json()
    return body


def format_line(entry: dict[str, Any], color: bool) -> str:
    """One line for a person: time, level, service/function, short correlation id, message, domain keys."""
    level = str(entry.get("level", "INFO"))
    where = f"{entry.get('service', '?')}/{entry.get('function_name', '?')}"
    corr = str(entry.get("correlation_id") or "-")[:12]
    keys = " ".join(f"{k}={entry[k]}" for k in _SHOWN_KEYS if k in entry)
    stamp = str(entry.get("ts", ""))[11:23]
    if not color:
        return f"{stamp} {level:<8} {where:<28} {corr:<12} {entry.get('message', '')} {keys}".rstrip()
    tint = _COLORS.get(level, "")
    return (
        f"{_DIM}{stamp}{_RESET} {tint}{level:<8}{_RESET} {where:<28} {_DIM}{corr:<12}{_RESET} "
        f"{tint}{entry.get('message', '')}{_RESET} {_DIM}{keys}{_RESET}"
    ).rstrip()


def _pages(client: httpx.Client, args: argparse.Namespace) -> Iterator[list[dict[str, Any]]]:
    if args.order:
        seen: set[int] = set()
        while True:
            trace = _get(client, f"/v1/orders/{args.order}/trace", {})
            fresh = [e for e in trace["lines"] if e["id"] not in seen]
            seen.update(e["id"] for e in fresh)
            yield fresh
            if not args.follow:
                return
            time.sleep(POLL_S)
    params = {
        "correlation_id": args.correlation_id,
        "service": args.service,
        "function": args.function,
        "level": args.level,
        "account_id": args.account,
        "since": args.since,
        "q": args.q,
    }
    newest = _get(client, "/v1/logs", {**params, "limit": args.limit, "order": "desc"})["lines"]
    yield list(reversed(newest))
    if not args.follow:
        return
    ids = {e["id"] for e in newest}
    since = newest[0]["ts"] if newest else args.since
    cursor = None
    while True:
        page = _get(client, "/v1/logs", {**params, "since": since, "order": "asc", "limit": 500, "cursor": cursor})
        cursor = page["next_cursor"] or cursor
        yield [e for e in page["lines"] if e["id"] not in ids]
        ids.clear()  # only the first page can overlap what was already shown
        if len(page["lines"]) < 500:
            time.sleep(POLL_S)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # looked up per call: a default bound at import keeps a stream since replaced
    as_json = args.json or not out.isatty()
    try:
        with _client(args) as client:
            for page in _pages(client, args):
                for entry in page:
                    out.write((json.dumps(entry) if as_json else format_line(entry, color=True)) + "\n")
                out.flush()
    except KeyboardInterrupt:
        pass
    return 0


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def show_order_trace(state_dir: Path, wait_s: float = 20.0) -> int:
    """The demo's last section: the newest order's trace, as `tradeplane logs --order` prints it."""
    import psycopg

    _say("\n== The trace of the last order (GET /v1/orders/{id}/trace: every line of its flows, in time order)")
    state = stack.read_state(state_dir.resolve()) or {}
    with psycopg.connect(state["bindings"]["db_dsn"]) as conn:
        row = conn.execute("select id from trading.orders order by created_at desc limit 1").fetchone()
    if row is None:
        _say("no order was placed")
        return 1
    args = argparse.Namespace(state_dir=state_dir, api=None, token=None)
    deadline = time.monotonic() + wait_s
    with _client(args) as client:
        while True:  # the aggregator stores lines about a second after they are written
            r = client.get(f"/v1/orders/{row[0]}/trace")
            if r.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    if r.status_code != 200:
        _say(f"no trace for order {row[0]}: {r.status_code}")
        return 1
    trace = r.json()
    _say(f"order {row[0]}: {len(trace['lines'])} lines, correlation ids {', '.join(trace['correlation_ids'])}")
    for entry in trace["lines"]:
        _say(format_line(entry, color=sys.stdout.isatty()))
    return 0
