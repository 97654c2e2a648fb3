"""The local runtime: every function of the manifest, wired to local servers like AWS wires it.

It owns one FunctionHost per function (started lazily: the first invocation is
a cold start), the HTTP gateway, a Kafka event source per consumer trigger, the
scheduler, S3 notifications and the log router, plus a small admin API on
loopback that `tradeplane local status|invoke` talk to.

Run as a daemon by `tradeplane local up` (`python -m tradeplane_local.runtime
CONFIG`), or in-process by tests via `Runtime(...).start()`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tradeplane_tools.edge_limits import LAMBDA_SYNC_PAYLOAD
from tradeplane_tools.manifest import REPO_ROOT as DEFAULT_REPO_ROOT
from tradeplane_tools.manifest import (
    Bindings,
    Manifest,
    S3Trigger,
    environment_for,
    load_manifest,
    local_state_machine_arn,
)
from tradeplane_tools.wiring import wiring

from tradeplane_local import events
from tradeplane_local.aws_apis import AwsApis
from tradeplane_local.gateway import (
    AsgiServer,
    EdgeSettings,
    Gateway,
    GatewayServer,
    HttpApp,
    Response,
    gateway_error,
    self_signed_certificate,
)
from tradeplane_local.host import FunctionConfig, FunctionHost, InvokeResult
from tradeplane_local.kafka_source import KafkaEventSource, SourceConfig
from tradeplane_local.logs import LogRouter
from tradeplane_local.provision import aws_client
from tradeplane_local.s3_source import S3NotificationSource
from tradeplane_local.scheduler import Scheduler
from tradeplane_local.websocket_api import WebSocketApi


@dataclass
class RuntimeConfig:
    manifest: str
    state_dir: str
    bindings: dict[str, Any]
    aws_endpoint: str | None = None
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 0
    tls: bool = False
    admin_port: int = 0
    # The gateway's own timeouts (seconds); AWS's documented limits come from the edge table.
    gateway_idle_timeout_s: float = 30.0
    gateway_read_timeout_s: int = 30
    gateway_body_timeout_s: float = 30.0
    max_concurrency: int = 4
    prewarm: bool = False
    repo_root: str = str(DEFAULT_REPO_ROOT)
    extra_env: dict[str, str] = field(default_factory=dict)

    def bindings_obj(self) -> Bindings:
        return Bindings(**self.bindings)


def aws_client_env(endpoint: str | None) -> dict[str, str]:
    """What a Lambda's execution role gives it; locally, moto's endpoint and dummy credentials."""
    if not endpoint:
        return {}
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
    }


class Runtime:
    def __init__(self, config: RuntimeConfig, manifest: Manifest | None = None) -> None:
        self.config = config
        self.manifest_path = Path(config.manifest)
        self.manifest = manifest or load_manifest(self.manifest_path)
        self.wiring = wiring(self.manifest)
        self.state_dir = Path(config.state_dir)
        bindings = config.bindings_obj()
        # The runtime answers for the manifest's state machines itself (`aws_apis`), at local ARNs.
        local_arns = {name: local_state_machine_arn(name) for name in self.manifest.state_machines}
        bindings = replace(bindings, state_machine_arns={**local_arns, **bindings.state_machine_arns})
        self.bindings = self._with_websocket_endpoint(bindings)
        self.logs = LogRouter(self.state_dir / "logs" / "functions.jsonl")
        self.hosts: dict[str, FunctionHost] = {
            fn.name: FunctionHost(self._function_config(fn.name), self.logs) for fn in self.manifest.functions.values()
        }
        self.gateway = Gateway.from_manifest(self.manifest, self.hosts.__getitem__, self._edge_settings())
        self.gateway.on_error = self._report_error
        self.websocket = WebSocketApi.from_manifest(self.manifest, self.hosts.__getitem__)
        if self.websocket is not None:
            self.websocket.on_error = self._report_error
            self.gateway.websocket = self.websocket
        self.sources: list[KafkaEventSource] = []
        self.s3_sources: list[S3NotificationSource] = []
        self.scheduler = Scheduler(lambda fn, ev: self.hosts[fn].invoke(ev), self.runtime_log)
        # Registered now, run by start(): what the runtime will serve is inspectable before it runs.
        for schedule in self.wiring.schedules:
            self.scheduler.add(schedule)
        for subscription in self.wiring.log_subscriptions:
            self.logs.subscribe(subscription, self.hosts[subscription.subscriber].invoke)
        self.aws_apis = AwsApis(
            self.manifest,
            lambda fn, ev: self.hosts[fn].invoke(ev),
            lambda fn: self.hosts[fn].cfg.max_concurrency,
            self.runtime_log,
        )
        self.gateway_server: GatewayServer | None = None
        self.admin_server: AsgiServer | None = None
        self.started_at = time.time()

    # ------------------------------------------------------------------ wiring

    def _with_websocket_endpoint(self, bindings: Bindings) -> Bindings:
        """The management API is the gateway itself (`/@connections`): its port is fixed now, before any
        function's environment is built, so the functions know where to post."""
        if bindings.websocket_endpoint or not self.manifest.websocket_routes():
            return bindings
        if not self.config.gateway_port:
            with socket.create_server(("127.0.0.1", 0)) as probe:  # a free port, bound again by start()
                self.config.gateway_port = int(probe.getsockname()[1])
        scheme = "https" if self.config.tls else "http"
        return replace(bindings, websocket_endpoint=f"{scheme}://127.0.0.1:{self.config.gateway_port}")

    def _function_config(self, name: str) -> FunctionConfig:
        fn = self.manifest.function(name)
        repo = Path(self.config.repo_root)
        layer_dirs = tuple(
            repo / spec.source
            for spec in (self.manifest.layers[layer] for layer in self.manifest.layers_of(fn))
            if spec.kind == "source" and spec.source
        )
        env = environment_for(self.manifest, fn, self.bindings)
        env.update(aws_client_env(self.config.aws_endpoint))
        env.update(self.config.extra_env)
        return FunctionConfig(
            name=name,
            code_dir=self.manifest_path.parent / fn.code_root,
            handler=fn.lambda_handler,
            layer_dirs=layer_dirs,
            environment=env,
            memory_mb=self.manifest.memory_of(fn),
            timeout_s=float(self.manifest.timeout_of(fn)),
            max_concurrency=min(self.config.max_concurrency, fn.reserved_concurrency or self.config.max_concurrency)
            or 1,
        )

    def _edge_settings(self) -> EdgeSettings:
        return EdgeSettings(
            idle_timeout_s=self.config.gateway_idle_timeout_s,
            read_timeout_s=self.config.gateway_read_timeout_s,
            body_timeout_s=self.config.gateway_body_timeout_s,
        )

    def source_configs(self) -> list[SourceConfig]:
        """One local event source per Kafka trigger, configured from the wiring the CDK app also reads.

        Partitions run side by side up to the rule's concurrency, capped by the containers the
        runtime gives the function here.
        """
        return [
            SourceConfig(
                **{
                    **asdict(rule),
                    "max_concurrency": min(rule.max_concurrency, self.hosts[rule.function].cfg.max_concurrency),
                }
            )
            for rule in self.wiring.event_sources
        ]

    def runtime_log(self, line: str) -> None:
        self.logs("runtime", "runtime", line)

    def _report_error(self, function: str, result: InvokeResult) -> None:
        self.runtime_log(f"{function} failed: {result.error_type}: {(result.error or {}).get('errorMessage', '')}")

    # ------------------------------------------------------------------ lifecycle

    def _point_aws_apis_at_admin(self) -> None:
        """Lambda Invoke and Step Functions go to the admin server (`aws_apis`), before any function starts."""
        endpoints = {"AWS_ENDPOINT_URL_LAMBDA": self.admin_url, "AWS_ENDPOINT_URL_SFN": self.admin_url}
        for host in self.hosts.values():
            host.cfg = replace(host.cfg, environment={**host.cfg.environment, **endpoints})

    def start(self) -> None:
        cert = self_signed_certificate(self.state_dir / "tls") if self.config.tls else None
        self.admin_server = _admin_server(self, self.config.admin_port)
        self.admin_server.start()
        self._point_aws_apis_at_admin()
        self.gateway_server = GatewayServer(
            self.gateway, self.config.gateway_host, self.config.gateway_port, cert, self.runtime_log
        )
        self.gateway_server.start()

        for cfg in self.source_configs() if self.bindings.kafka_bootstrap else []:
            assert self.bindings.kafka_bootstrap is not None
            host = self.hosts[cfg.function]
            source = KafkaEventSource(cfg, self.bindings.kafka_bootstrap, host.invoke, self.runtime_log)
            source.start()
            self.sources.append(source)
        self.scheduler.start()
        self._start_s3()
        self.logs.start()
        for source in self.sources:
            source.ready.wait(15)
        if self.config.prewarm:
            for host in self.hosts.values():
                host.warm()

    def _start_s3(self) -> None:
        triggers = self.manifest.s3_notifications()
        if not triggers or not self.config.aws_endpoint:
            return

        def client(service: str) -> Any:
            assert self.config.aws_endpoint is not None
            return aws_client(service, self.config.aws_endpoint)

        by_bucket: dict[str, list[dict[str, Any]]] = {}
        for trig, fn in triggers:
            assert isinstance(trig, S3Trigger)
            bucket = self.bindings.bucket_names.get(trig.bucket, trig.bucket)
            source = S3NotificationSource(
                fn.name, bucket, trig.prefix, trig.suffix, client, self.hosts[fn.name].invoke, self.runtime_log
            )
            source.subscribe(by_bucket.setdefault(bucket, []))
            self.s3_sources.append(source)
        s3 = client("s3")
        for bucket, entries in by_bucket.items():
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": entries}
            )
        for source in self.s3_sources:
            source.start()

    def stop(self) -> None:
        for source in self.sources:
            source.stop()
        for s3_source in self.s3_sources:
            s3_source.stop()
        self.scheduler.stop()
        for server in (self.gateway_server, self.admin_server):
            if server is not None:
                server.stop()
        if self.websocket is not None:
            self.websocket.close()
        self.aws_apis.wait_idle()
        self.logs.stop()  # its last flush invokes the log subscribers: before their containers go
        for host in self.hosts.values():
            host.shutdown()
        self.logs.close()  # after the containers' last lines

    # ------------------------------------------------------------------ views

    @property
    def gateway_url(self) -> str:
        assert self.gateway_server is not None
        return self.gateway_server.url

    @property
    def admin_url(self) -> str:
        assert self.admin_server is not None
        return self.admin_server.url

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started_at, 1),
            "gateway": self.gateway_url,
            "functions": {
                name: {"workers": host.workers(), **asdict(host.stats)} for name, host in sorted(self.hosts.items())
            },
            "kafka_sources": [
                {"function": s.cfg.function, "topic": s.cfg.topic, "group": s.cfg.group, **asdict(s.stats)}
                for s in self.sources
            ],
            "schedules": [
                {
                    "function": s.rule.function,
                    "expression": s.rule.expression,
                    "next_at": s.next_at.isoformat(),
                    "fired": s.fired,
                    "failures": s.failures,
                }
                for s in self.scheduler.schedules
            ],
            "s3_notifications": [
                {
                    "function": s.function,
                    "bucket": s.bucket,
                    "prefix": s.prefix,
                    "delivered": s.delivered,
                    "failed": s.failed,
                }
                for s in self.s3_sources
            ],
        }


def _json(status: int, body: Any) -> Response:
    return status, [("Content-Type", "application/json")], json.dumps(body, default=str).encode()


def _admin_server(runtime: Runtime, port: int) -> AsgiServer:
    """`tradeplane local status|invoke` talk to this, on loopback, through the same server as the gateway."""

    async def handle(req: events.HttpRequest) -> Response:
        headers = {name.lower(): value for name, value in req.headers}
        if runtime.aws_apis.handles(req.method, req.path, headers):
            return await asyncio.get_running_loop().run_in_executor(
                None, runtime.aws_apis.handle, req.path, headers, req.body
            )
        if req.method == "GET" and req.path == "/status":
            return _json(200, runtime.status())
        name = req.path.removeprefix("/invoke/")
        if req.method != "POST" or not req.path.startswith("/invoke/") or name not in runtime.hosts:
            return gateway_error(404, "Not Found")
        try:
            event = json.loads(req.body or b"{}")
        except ValueError:
            return gateway_error(400, "the event is not JSON")
        result = await asyncio.get_running_loop().run_in_executor(None, runtime.hosts[name].invoke, event)
        return _json(200, asdict(result))

    edge = EdgeSettings(max_body_bytes=LAMBDA_SYNC_PAYLOAD.value)
    app = HttpApp(handle, edge, lambda: runtime.runtime_log("admin: request failed"))
    return AsgiServer(app, "127.0.0.1", port, edge, name="admin", log=runtime.runtime_log)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(path)


def main() -> None:
    """Daemon entry: run until SIGTERM/SIGINT, announcing readiness in runtime.json."""
    config = RuntimeConfig(**json.loads(Path(sys.argv[1]).read_text()))
    runtime = Runtime(config)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    t0 = time.perf_counter()
    runtime.start()
    write_json(
        Path(config.state_dir) / "runtime.json",
        {
            "pid": os.getpid(),
            "gateway": runtime.gateway_url,
            "admin": runtime.admin_url,
            "started_in_s": round(time.perf_counter() - t0, 3),
        },
    )
    runtime.runtime_log(f"runtime ready: gateway {runtime.gateway_url}, admin {runtime.admin_url}")
    stop.wait()
    runtime.stop()


if __name__ == "__main__":
    main()
