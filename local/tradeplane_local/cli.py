"""The `tradeplane` command: the local platform, migrations, manifest checks, demo, backtests and benchmarks."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradeplane_tools.manifest import DEFAULT_MANIFEST, ManifestError, load_manifest

from tradeplane_local import servers, stack
from tradeplane_local.backtest_cli import add_backtest_commands
from tradeplane_local.data_cli import add_data_commands

URL_FLAGS = {"postgres": "--postgres-url", "redis": "--redis-url", "kafka": "--kafka-bootstrap", "moto": "--aws-url"}


def _up(args: argparse.Namespace) -> int:
    urls = {name: getattr(args, flag[2:].replace("-", "_")) for name, flag in URL_FLAGS.items()}
    opts = stack.UpOptions(
        state_dir=args.state_dir,
        manifest=args.manifest,
        urls={k: v for k, v in urls.items() if v},
        gateway_port=args.port,
        tls=args.https,
        prewarm=args.prewarm,
        replica=not args.no_replica,
    )
    t0 = time.perf_counter()
    report = stack.up(opts)
    print(f"Tradeplane is up in {time.perf_counter() - t0:.1f} s")
    for srv in report.servers:
        how = f"started, pid {srv['pid']}" if srv["pid"] else "given"
        print(f"  {srv['name']:<9} {srv['url']:<50} ({how})")
    print(f"  gateway   {report.gateway}")
    print(f"  state     {args.state_dir.resolve()}  (logs: tradeplane local logs -f)")
    for what, items in report.provisioned.items():
        if items:
            print(f"  {'applied' if what == 'migrations' else 'created'} {len(items)} {what}")
    if args.foreground:
        print("Serving in the foreground; Ctrl-C stops everything.")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            _down(args)
    return 0


def _down(args: argparse.Namespace) -> int:
    stopped = stack.down(args.state_dir)
    print("stopped: " + ", ".join(stopped) if stopped else "nothing to stop")
    return 0


def _status(args: argparse.Namespace) -> int:
    info = stack.status(args.state_dir)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0 if info["up"] else 1
    if not info["up"]:
        print("down")
        return 1
    print("servers:")
    for s in info["servers"]:
        print(f"  {s['name']:<16} {s['health']:<10} {s['url']}")
    lag = info.get("replication_lag_s")
    if isinstance(lag, dict):
        shown = ", ".join(f"{name} {'caught up' if v is None else f'{v * 1000:.0f} ms'}" for name, v in lag.items())
        print(f"  replication lag: {shown or 'no standby connected'}")
    rt = info["runtime"]
    if not rt or "functions" not in rt:
        print(f"runtime: not running {rt.get('error', '') if rt else ''}")
        return 1
    print(f"runtime: pid {rt['pid']}, up {rt['uptime_s']} s, gateway {rt['gateway']}")
    print(f"  {'function':<22}{'workers':>8}{'invokes':>9}{'errors':>8}{'timeouts':>9}{'crashes':>8}{'init ms':>9}")
    for name, f in rt["functions"].items():
        init = f"{f['last_init_ms']:.0f}" if f["last_init_ms"] else "-"
        print(
            f"  {name:<22}{f['workers']:>8}{f['invocations']:>9}{f['errors']:>8}{f['timeouts']:>9}"
            f"{f['crashes']:>8}{init:>9}"
        )
    for s in rt["kafka_sources"]:
        print(
            f"  kafka {s['topic']} -> {s['function']}: {s['records']} records, {s['failed_invocations']} failed "
            f"invocations, {s['dead_lettered']} dead-lettered, {s['gaps']} gaps ({s['gap_offsets_skipped']} "
            f"offsets skipped), {s['replays_skipped']} replays dropped, committed {s['committed']}, lag {s['lag']}"
        )
    return 0


def _invoke(args: argparse.Namespace) -> int:
    import urllib.request

    event: Any = json.loads(Path(args.event_file).read_text()) if args.event_file else json.loads(args.event)
    req = urllib.request.Request(  # noqa: S310 - loopback admin API
        f"{stack.admin_url(args.state_dir)}/invoke/{args.function}",
        data=json.dumps(event).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=960) as r:  # noqa: S310 - loopback admin API
        result = json.loads(r.read())
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


def _logs(args: argparse.Namespace) -> int:
    from tradeplane_local.logs import read_logs

    path = args.state_dir.resolve() / "logs" / "functions.jsonl"
    try:
        for rec in read_logs(path, args.function, follow=args.follow):
            stamp = time.strftime("%H:%M:%S", time.gmtime(rec["t"] / 1000))
            print(f"{stamp} {rec['fn']:<18} {rec['msg']}", flush=True)
    except KeyboardInterrupt:
        pass
    return 0


def _logs_api(args: argparse.Namespace) -> int:
    from tradeplane_local import log_cli

    return log_cli.run(args)


def _token(args: argparse.Namespace) -> int:
    from tradeplane_local.devtokens import local_token

    print(local_token(args.state_dir, subject=args.sub, audience=args.aud, scope=args.scope, ttl_s=args.ttl))
    return 0


def _create_user(args: argparse.Namespace) -> int:
    import getpass

    from tradeplane_local.admin import create_user, local_dsn

    dsn = args.dsn or os.environ.get("TP_DB_DSN") or local_dsn(args.state_dir)
    if not dsn:
        print("give --dsn, set TP_DB_DSN, or start the local platform", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    if len(password) < 12:
        print("the password needs at least 12 characters", file=sys.stderr)
        return 2
    user_id = create_user(dsn, args.username, password, args.scope)
    print(f"created user {args.username} ({user_id})")
    return 0


def _paper_account(args: argparse.Namespace) -> int:
    from tradeplane_local.admin import paper_account

    for name, value in paper_account(args.state_dir, args.cash).items():
        print(f"export {name}={value}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from tradeplane_tools.migrate import apply_migrations

    dsn = args.dsn or os.environ.get("TP_DB_DSN")
    if not dsn:
        print("give --dsn or set TP_DB_DSN", file=sys.stderr)
        return 2
    applied = apply_migrations(dsn)
    print(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "schema is up to date")
    return 0


def _manifest_check(args: argparse.Namespace) -> int:
    m = load_manifest(args.manifest)
    print(
        f"{args.manifest}: {len(m.functions)} functions, {len(m.routes())} routes, "
        f"{len(m.kafka_consumers())} Kafka consumers, {len(m.all_topics())} topics: valid"
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tradeplane_local.demo import run_demo

    return run_demo(args.state_dir, keep=args.keep, reuse=args.reuse)


def _bench(args: argparse.Namespace) -> int:
    from tradeplane_local.bench import run_benchmarks

    return run_benchmarks(quick=args.quick)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tradeplane", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def with_state(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("--state-dir", type=Path, default=Path(os.environ.get("TP_LOCAL_STATE", stack.DEFAULT_STATE)))
        return sp

    local = sub.add_parser("local", help="the whole platform on this machine").add_subparsers(
        dest="action", required=True
    )
    up = with_state(local.add_parser("up", help="start servers, provision, serve every function"))
    up.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    for name, flag in URL_FLAGS.items():
        up.add_argument(flag, help=f"use this {name} instead of starting one (env {servers.URL_ENV[name]})")
    up.add_argument("--port", type=int, default=stack.DEFAULT_GATEWAY_PORT, help="gateway port (next free if taken)")
    up.add_argument("--https", action="store_true", help="serve the gateway over TLS (self-signed certificate)")
    up.add_argument("--prewarm", action="store_true", help="start one container per function now, not on first use")
    up.add_argument("--no-replica", action="store_true", help="no streaming read replica beside the PostgreSQL started")
    up.add_argument("--foreground", action="store_true", help="stay attached; Ctrl-C runs `down`")
    up.set_defaults(run=_up)
    with_state(local.add_parser("down", help="stop everything `up` started")).set_defaults(run=_down)
    st = with_state(local.add_parser("status", help="servers and functions with their health"))
    st.add_argument("--json", action="store_true")
    st.set_defaults(run=_status)
    inv = with_state(local.add_parser("invoke", help="invoke a function directly with an event"))
    inv.add_argument("function")
    inv.add_argument("--event", default="{}", help="event JSON")
    inv.add_argument("--event-file", help="file with the event JSON")
    inv.set_defaults(run=_invoke)
    lg = with_state(local.add_parser("logs", help="raw function output as the runtime collected it"))
    lg.add_argument("function", nargs="?")
    lg.add_argument("-f", "--follow", action="store_true")
    lg.set_defaults(run=_logs)
    tok = with_state(local.add_parser("token", help="mint a JWT signed with the local keyset"))
    tok.add_argument("--sub", default="demo-user")
    tok.add_argument("--aud", default="tradeplane-api")
    tok.add_argument("--scope", nargs="*", default=["market-data:write"])
    tok.add_argument("--ttl", type=int, default=900)
    tok.set_defaults(run=_token)

    paper = with_state(local.add_parser("paper-account", help="a paper account + API key; prints APCA_* lines"))
    paper.add_argument("--cash", type=Decimal, default=Decimal("100000"))
    paper.set_defaults(run=_paper_account)

    admin = sub.add_parser("admin", help="administration").add_subparsers(dest="action", required=True)
    cu = with_state(admin.add_parser("create-user", help="create a user (the first admin, or anyone)"))
    cu.add_argument("username")
    cu.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    cu.add_argument("--scope", action="append", help="a scope to grant (repeatable; default: every user scope)")
    cu.add_argument("--dsn", help="database URL (default: TP_DB_DSN, else the running local platform)")
    cu.set_defaults(run=_create_user)

    logs = with_state(sub.add_parser("logs", help="aggregated log lines (GET /v1/logs) or an order's trace"))
    from tradeplane_local.log_cli import add_arguments

    add_arguments(logs)
    logs.set_defaults(run=_logs_api)

    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("--dsn")
    mig.set_defaults(run=_migrate)
    man = sub.add_parser("manifest", help="validate the function manifest")
    man.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    man.set_defaults(run=_manifest_check)
    demo = with_state(sub.add_parser("demo", help="start the platform, show market data flowing, stop it"))
    demo.add_argument("--keep", action="store_true", help="leave the platform running afterwards")
    demo.add_argument("--reuse", action="store_true", help="use an already running platform")
    demo.set_defaults(run=_demo)
    add_data_commands(sub, with_state)
    add_backtest_commands(sub)
    bench = sub.add_parser("bench", help="run the benchmarks and print figures")
    bench.add_argument("--quick", action="store_true")
    bench.set_defaults(run=_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (ManifestError, stack.StackError, servers.ServerStartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
