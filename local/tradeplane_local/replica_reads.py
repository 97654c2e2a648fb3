"""Which reads the streaming replica served: the demo's section on it (issue 16).

Every function counts its database checkouts in its metrics by the server that served them
(`tradeplane.db`: `DbReplicaReads`, `DbPrimaryReads`, `DbWriterCheckouts`), and the metrics reach
the function's log as CloudWatch embedded metric format lines, as in AWS. This module sums those
lines from the local log file per function and says which share of the reads the replica served.

A read is a checkout by a function that only reads: an HTTP GET route or the authorizer. Their
checkouts on the writer are the reads that must see their own writes (an order right after its
submit, an API key the moment it is shown); `DbPrimaryReads` are lag-tolerant reads the primary took
because no replica was configured or it was down.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tradeplane_tools.manifest import DEFAULT_MANIFEST, AuthorizerTrigger, HttpTrigger, Manifest, load_manifest

REPLICA, PRIMARY, WRITER = "DbReplicaReads", "DbPrimaryReads", "DbWriterCheckouts"


@dataclass
class Checkouts:
    replica: int = 0
    primary: int = 0  # lag-tolerant reads on the primary (no replica, or it was down)
    writer: int = 0


@dataclass
class ReadShare:
    by_function: dict[str, Checkouts] = field(default_factory=dict)
    readers: set[str] = field(default_factory=set)  # functions that only read

    @property
    def reads(self) -> int:
        return sum(
            c.replica + c.primary + (c.writer if fn in self.readers else 0) for fn, c in self.by_function.items()
        )

    @property
    def on_replica(self) -> int:
        return sum(c.replica for c in self.by_function.values())


def read_only_functions(manifest: Manifest) -> set[str]:
    """Functions every trigger of which is a GET route or the authorizer."""
    out = set()
    for fn in manifest.functions.values():
        triggers = [t for t in fn.triggers if not isinstance(t, HttpTrigger) or t.method != "GET"]
        if fn.triggers and all(isinstance(t, AuthorizerTrigger) for t in triggers):
            out.add(fn.name)
    return out


def _metric_total(value: object) -> int:
    """An EMF metric value: one number, or a list of them when the invocation counted several."""
    values = value if isinstance(value, list) else [value]
    return int(sum(float(v) for v in values if isinstance(v, int | float)))


def tally(lines: Iterable[str], manifest: Manifest) -> ReadShare:
    """Sum the checkout metrics of collected log lines (`logs/functions.jsonl` records)."""
    share = ReadShare(readers=read_only_functions(manifest))
    for line in lines:
        record = json.loads(line)
        msg = record.get("msg", "")
        if '"_aws"' not in msg:
            continue
        try:
            emf = json.loads(msg)
        except ValueError:
            continue
        if not any(name in emf for name in (REPLICA, PRIMARY, WRITER)):
            continue
        c = share.by_function.setdefault(record["fn"], Checkouts())
        c.replica += _metric_total(emf.get(REPLICA, 0))
        c.primary += _metric_total(emf.get(PRIMARY, 0))
        c.writer += _metric_total(emf.get(WRITER, 0))
    return share


def _settled_lines(log: Path, quiet_s: float = 0.3, timeout_s: float = 5.0) -> list[str]:
    """The log's lines once it stopped growing: workers' last lines reach the file a moment after their answer."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while log.exists():
        now = log.read_text().splitlines()
        if now == lines or time.monotonic() > deadline:
            return now
        lines = now
        time.sleep(quiet_s)
    return lines


def read_share(state_dir: Path, manifest_path: Path = DEFAULT_MANIFEST) -> ReadShare:
    return tally(_settled_lines(state_dir / "logs" / "functions.jsonl"), load_manifest(manifest_path))


def _why(fn: str, c: Checkouts, share: ReadShare) -> str:
    if c.primary:
        return "tolerates lag; the primary took some (replica down or not configured)"
    if c.replica:
        return "tolerates lag"
    return "reads its own writes" if fn in share.readers else "writes"


DASHBOARD = ("/v2/assets", "/v2/account/activities", "/v2/account/portfolio/history", "/v2/account", "/v2/positions")


def dashboard_reads(state_dir: Path) -> dict[str, int]:
    """What a portfolio dashboard reads for a fresh paper account: path -> HTTP status."""
    from decimal import Decimal

    import httpx

    from tradeplane_local.admin import paper_account

    env = paper_account(state_dir, Decimal("1000"))
    headers = {"APCA-API-KEY-ID": env["APCA_API_KEY_ID"], "APCA-API-SECRET-KEY": env["APCA_API_SECRET_KEY"]}
    with httpx.Client(base_url=env["APCA_API_BASE_URL"], headers=headers, timeout=30, verify=False) as api:  # noqa: S501 - local self-signed TLS
        return {path: api.get(path).status_code for path in DASHBOARD}


def section(state_dir: Path) -> list[str]:
    """The demo's section: a dashboard's reads, then checkouts per function and the replica's share of reads."""
    statuses = dashboard_reads(state_dir)
    share = read_share(state_dir)
    lines = ["a dashboard reads: " + ", ".join(f"GET {path} {status}" for path, status in statuses.items())]
    lines.append(f"{'function':<24}{'replica':>9}{'primary':>9}{'writer':>8}  why")
    for fn, c in sorted(share.by_function.items()):
        lines.append(f"{fn:<24}{c.replica:>9}{c.primary:>9}{c.writer:>8}  {_why(fn, c, share)}")
    reads = share.reads
    percent = f"{100 * share.on_replica / reads:.0f}%" if reads else "no reads"
    lines.append(f"reads served by the replica: {share.on_replica} of {reads} ({percent})")
    return lines
