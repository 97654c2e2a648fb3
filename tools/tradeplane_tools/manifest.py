"""The function manifest: one declarative source of wiring for every function.

`functions/manifest.toml` lists every Lambda function with its trigger(s),
sizing, environment, layers and the resources it uses. The CDK app builds the
AWS resources from it and the local runtime wires the same functions to local
servers from it, so both read this one model.

Only the standard library and pydantic are imported here: the CDK app, the
local runtime and tests all load it without pulling in the runtime clients.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from tradeplane.settings import env_key

from tradeplane_tools.edge_limits import INTEGRATION_TIMEOUT, WEBSOCKET_INTEGRATION_TIMEOUT

# tools/tradeplane_tools/manifest.py -> the repository root (only meaningful in a checkout).
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MANIFEST = REPO_ROOT / "functions" / "manifest.toml"

NAME_RE = r"^[a-z][a-z0-9_]{1,62}$"
TOPIC_RE = r"^[a-zA-Z0-9._-]{1,249}$"
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Lambda reserves these; setting them is rejected by the service.
RESERVED_ENV = re.compile(r"^(AWS_.*|LAMBDA_.*|_HANDLER|_X_AMZN_TRACE_ID|TZ)$")
MAX_LAYERS = 5  # AWS Lambda limit per function
MAX_LOG_SUBSCRIBERS = 2  # CloudWatch Logs: subscription filters per log group
HTTP_MAX_TIMEOUT = INTEGRATION_TIMEOUT.value  # API Gateway HTTP API integration timeout (seconds)
WS_MAX_TIMEOUT = WEBSOCKET_INTEGRATION_TIMEOUT.value  # and the WebSocket API's
RATE_RE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
CRON_RE = re.compile(r"^cron\((\S+ \S+ \S+ \S+ \S+ \S+)\)$")


class ManifestError(ValueError):
    """The manifest is invalid; each line names the function (or section) and field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid function manifest:\n  " + "\n  ".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- triggers


class HttpTrigger(_Strict):
    """An API Gateway HTTP API route (payload format 2.0)."""

    type: Literal["http"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    # /v1: Tradeplane's own surface; /v2: Alpaca's Trading API shapes (docs/architecture.md). ':' is a
    # literal character in a segment (GET /v2/orders:by_client_order_id), as HTTP APIs allow.
    path: Annotated[str, Field(pattern=r"^/v[12](/[A-Za-z0-9_.{}+:-]+)*/?$")]
    auth: Literal["authorizer", "none"] = "authorizer"
    # Per-route throttling in AWS (requests/second and burst); None uses the API default.
    throttle_rate: Annotated[float, Field(gt=0)] | None = None
    throttle_burst: Annotated[int, Field(gt=0)] | None = None


class KafkaTrigger(_Strict):
    """An MSK event source mapping. Defaults follow AWS where AWS has them."""

    type: Literal["kafka"]
    topic: Annotated[str, Field(pattern=TOPIC_RE)]
    group: Annotated[str, Field(pattern=r"^[a-zA-Z0-9._-]{1,200}$")]
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 100
    batching_window_ms: Annotated[int, Field(ge=0, le=300_000)] = 500
    starting_position: Literal["LATEST", "TRIM_HORIZON"] = "TRIM_HORIZON"
    # Finite on purpose: an endless retry lets one poison record block its partition.
    max_retries: Annotated[int, Field(ge=0, le=10_000)] = 3
    bisect_on_error: bool = True
    # Dead-letter topic for records that still fail; derived from the function name when unset.
    on_failure: Annotated[str, Field(pattern=TOPIC_RE)] | None = None


class ScheduleTrigger(_Strict):
    """An EventBridge schedule: `rate(N unit)` or a six-field `cron(...)`."""

    type: Literal["schedule"]
    expression: str

    @field_validator("expression")
    @classmethod
    def _valid_expression(cls, value: str) -> str:
        if not (RATE_RE.match(value) or CRON_RE.match(value)):
            raise ValueError("must be 'rate(N minute(s)|hour(s)|day(s))' or 'cron(m h dom mon dow year)'")
        return value


class S3Trigger(_Strict):
    """S3 object-created notifications for one bucket and key prefix."""

    type: Literal["s3"]
    bucket: Annotated[str, Field(pattern=r"^[a-z0-9-]{3,40}$")]
    prefix: str = ""
    suffix: str = ""


class LogsTrigger(_Strict):
    """CloudWatch Logs subscription filters on every other function's log group."""

    type: Literal["logs"]
    filter_pattern: str = ""


class AuthorizerTrigger(_Strict):
    """Marks the function as the HTTP API's Lambda authorizer (simple responses)."""

    type: Literal["authorizer"]
    identity_sources: tuple[str, ...] = ("$request.header.Authorization",)
    # Authorizer result cache; bounded so a revoked key stops working within this time.
    result_ttl_s: Annotated[int, Field(ge=0, le=3600)] = 60


class WebSocketTrigger(_Strict):
    """A route of the API Gateway WebSocket API (`$connect`, `$disconnect`, `$default` or an `action` value).

    The API selects routes on `$request.body.action`; the streaming functions route Alpaca's
    `authenticate` and `listen` through `$default`, so a client's unknown action is answered too.
    """

    type: Literal["websocket"]
    route: Annotated[str, Field(pattern=r"^(\$connect|\$disconnect|\$default|[A-Za-z][A-Za-z0-9_.-]{0,63})$")]


Trigger = Annotated[
    HttpTrigger | KafkaTrigger | ScheduleTrigger | S3Trigger | LogsTrigger | AuthorizerTrigger | WebSocketTrigger,
    Field(discriminator="type"),
]

# --------------------------------------------------------------------------- resources


class Uses(_Strict):
    """What a function touches. Drives its environment, VPC placement and IAM policy."""

    postgres: Literal["primary", "replica"] | None = None
    redis: bool = False
    # Topics the function produces to (consumption comes from its kafka triggers).
    produces: tuple[Annotated[str, Field(pattern=TOPIC_RE)], ...] = ()
    secrets: tuple[str, ...] = ()
    # Families of secrets named at run time (e.g. "venues": one per account), read under the prefix
    # `<project>/<stage>/<family>/`; IAM grants that prefix, the function gets TP_SECRET_PREFIX_<FAMILY>.
    secret_prefixes: tuple[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")], ...] = ()
    buckets: Mapping[str, Literal["read", "write", "readwrite"]] = Field(default_factory=dict)
    # Core API routes it calls with a service JWT (their function names).
    calls: tuple[str, ...] = ()
    # Posts to WebSocket connections (API Gateway management API): TP_WS_ENDPOINT, execute-api:ManageConnections.
    websocket: bool = False
    # Functions it invokes asynchronously (Lambda `Event` invocations): it gets TP_FUNCTION_NAME_<NAME>.
    invokes: tuple[str, ...] = ()
    # State machines it starts executions of (`[state_machines.*]`): it gets TP_STATE_MACHINE_<NAME>.
    starts: tuple[str, ...] = ()


class FunctionSpec(_Strict):
    name: str = ""  # filled from the table key
    # The domain: functions of one component share its folder (`functions/<component>/`), which is
    # their code asset and holds the domain package `tp_<component>` next to the handler folders.
    component: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,30}$")]
    path: Annotated[str, Field(pattern=r"^([a-z][a-z0-9_]*/)?[a-z][a-z0-9_]*$")]  # "<component>/<folder>"
    handler: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")] = "handler.handler"
    description: str = ""
    memory: Annotated[int, Field(ge=128, le=10_240)] | None = None
    timeout: Annotated[int, Field(ge=1, le=900)] | None = None
    reserved_concurrency: Annotated[int, Field(ge=0, le=1000)] | None = None
    environment: Mapping[str, str] = Field(default_factory=dict)
    layers: tuple[str, ...] | None = None
    uses: Uses = Field(default_factory=Uses)
    triggers: tuple[Trigger, ...] = ()

    @field_validator("environment")
    @classmethod
    def _env_names(cls, env: Mapping[str, str]) -> Mapping[str, str]:
        for key in env:
            if not ENV_NAME_RE.match(key):
                raise ValueError(f"{key!r} is not a valid environment variable name")
            if RESERVED_ENV.match(key):
                raise ValueError(f"{key!r} is reserved by AWS Lambda")
        return env

    @model_validator(mode="after")
    def _path_in_domain(self) -> FunctionSpec:
        if "/" in self.path and self.code_root != self.component:
            raise ValueError(f"path {self.path!r} must be inside the component's folder ({self.component}/...)")
        return self

    @property
    def code_root(self) -> str:
        """The code asset's folder, relative to the manifest: the domain folder ("." for a flat manifest)."""
        return str(PurePosixPath(self.path).parent)

    @property
    def folder(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def lambda_handler(self) -> str:
        """The handler setting inside the code asset, e.g. `ingest_http/handler.handler` (Lambda imports
        `ingest_http.handler`, as the Python runtime turns `/` into `.`)."""
        return f"{self.folder}/{self.handler}"

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def triggers_of(self, kind: type[Any]) -> list[Any]:
        return [t for t in self.triggers if isinstance(t, kind)]

    def dead_letter_topic(self, trigger: KafkaTrigger) -> str:
        return trigger.on_failure or f"dlq.{self.name}"


class Defaults(_Strict):
    memory: Annotated[int, Field(ge=128, le=10_240)] = 256
    timeout: Annotated[int, Field(ge=1, le=900)] = 10
    layers: tuple[str, ...] = ("shared", "deps-base")
    environment: Mapping[str, str] = Field(default_factory=dict)


class LayerSpec(_Strict):
    name: str = ""
    description: str = ""
    # "source": our own package(s) from `source`; "dependencies": locked third-party packages.
    kind: Literal["source", "dependencies"]
    source: str | None = None
    packages: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _shape(self) -> LayerSpec:
        if self.kind == "source" and not self.source:
            raise ValueError("a source layer needs 'source'")
        if self.kind == "dependencies" and not self.packages:
            raise ValueError("a dependencies layer needs 'packages'")
        return self


class TopicSpec(_Strict):
    name: str = ""
    key: str
    partitions: Annotated[int, Field(ge=1, le=1000)] = 3
    retention_hours: Annotated[int, Field(ge=1)] = 168
    description: str = ""


class SecretSpec(_Strict):
    name: str = ""
    description: str = ""
    # How the local runtime seeds it in moto; AWS generates or is given the value.
    local_seed: Literal["jwt-keyset", "random-token", "none"] = "none"


class BucketSpec(_Strict):
    name: str = ""
    description: str = ""


class StateMachineSpec(_Strict):
    """A Step Functions fan-out: a Distributed Map of `item_function` over the items at `items_path` of the
    execution's input, then `finish_function` (told "succeeded" or "failed"). The CDK app builds it; the
    local runtime runs the same definition through its own invoke (docs/strategy-api.md)."""

    name: str = ""
    description: str = ""
    items_path: Annotated[str, Field(pattern=r"^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$")]
    # Each item's event: key -> "$.<input field>", "$$.Map.Item.Value" or "$$.Map.Item.Index".
    item_selector: Mapping[
        str, Annotated[str, Field(pattern=r"^(\$(\.[A-Za-z_][A-Za-z0-9_]*)+|\$\$\.Map\.Item\.(Value|Index))$")]
    ]
    item_function: str
    item_retries: Annotated[int, Field(ge=0, le=10)] = 2
    finish_function: str
    # The finish event: key -> "$.<input field>"; "outcome" (and "error" on failure) are added.
    finish_payload: Mapping[str, Annotated[str, Field(pattern=r"^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$")]]
    max_concurrency: Annotated[int, Field(ge=1, le=10_000)] = 40
    tolerated_failure_percentage: Annotated[int, Field(ge=0, le=100)] = 0
    timeout_minutes: Annotated[int, Field(ge=1, le=525_600)] = 60


class Project(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")] = "tradeplane"
    runtime: Literal["python3.11", "python3.12", "python3.13"] = "python3.12"
    architecture: Literal["arm64", "x86_64"] = "arm64"
    metrics_namespace: str = "Tradeplane"


class Manifest(_Strict):
    project: Project = Field(default_factory=Project)
    defaults: Defaults = Field(default_factory=Defaults)
    layers: Mapping[str, LayerSpec]
    topics: Mapping[Annotated[str, Field(pattern=TOPIC_RE)], TopicSpec] = Field(default_factory=dict)
    secrets: Mapping[str, SecretSpec] = Field(default_factory=dict)
    buckets: Mapping[Annotated[str, Field(pattern=r"^[a-z0-9-]{3,40}$")], BucketSpec] = Field(default_factory=dict)
    functions: Mapping[Annotated[str, Field(pattern=NAME_RE)], FunctionSpec]
    state_machines: Mapping[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,40}$")], StateMachineSpec] = Field(
        default_factory=dict
    )

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: Any) -> Any:
        # Each table's key is its name; copy it in so specs can be passed around alone.
        if isinstance(data, dict):
            for section in ("layers", "topics", "secrets", "buckets", "functions", "state_machines"):
                table = data.get(section)
                if isinstance(table, dict):
                    data[section] = {k: ({**v, "name": k} if isinstance(v, dict) else v) for k, v in table.items()}
        return data

    # ------------------------------------------------------------------ derived views

    def function(self, name: str) -> FunctionSpec:
        return self.functions[name]

    def domains(self) -> list[str]:
        """The components that have functions: each is a folder, a code asset and a domain package."""
        return sorted({fn.component for fn in self.functions.values()})

    def memory_of(self, fn: FunctionSpec) -> int:
        return fn.memory or self.defaults.memory

    def timeout_of(self, fn: FunctionSpec) -> int:
        return fn.timeout or self.defaults.timeout

    def layers_of(self, fn: FunctionSpec) -> tuple[str, ...]:
        return fn.layers if fn.layers is not None else self.defaults.layers

    def authorizer(self) -> FunctionSpec | None:
        found = [f for f in self.functions.values() if f.triggers_of(AuthorizerTrigger)]
        return found[0] if found else None

    def routes(self) -> list[tuple[HttpTrigger, FunctionSpec]]:
        return [(t, f) for f in self.functions.values() for t in f.triggers_of(HttpTrigger)]

    def kafka_consumers(self) -> list[tuple[KafkaTrigger, FunctionSpec]]:
        return [(t, f) for f in self.functions.values() for t in f.triggers_of(KafkaTrigger)]

    def schedules(self) -> list[tuple[ScheduleTrigger, FunctionSpec]]:
        return [(t, f) for f in self.functions.values() for t in f.triggers_of(ScheduleTrigger)]

    def s3_notifications(self) -> list[tuple[S3Trigger, FunctionSpec]]:
        return [(t, f) for f in self.functions.values() for t in f.triggers_of(S3Trigger)]

    def log_subscribers(self) -> list[tuple[LogsTrigger, FunctionSpec]]:
        return [(t, f) for f in self.functions.values() for t in f.triggers_of(LogsTrigger)]

    def websocket_routes(self) -> list[tuple[WebSocketTrigger, FunctionSpec]]:
        return [(t, f) for f in self.functions.values() for t in f.triggers_of(WebSocketTrigger)]

    def dead_letter_topics(self) -> dict[str, TopicSpec]:
        """One DLQ topic per consumer trigger, partitioned like its source topic."""
        out: dict[str, TopicSpec] = {}
        for trig, fn in self.kafka_consumers():
            name = fn.dead_letter_topic(trig)
            if name not in self.topics:
                src = self.topics[trig.topic]
                out[name] = TopicSpec(
                    name=name, key=src.key, partitions=src.partitions, description=f"dead letters of {fn.name}"
                )
        return out

    def all_topics(self) -> dict[str, TopicSpec]:
        return {**dict(self.topics), **self.dead_letter_topics()}

    # ------------------------------------------------------------------ cross-checks

    @model_validator(mode="after")
    def _cross_check(self) -> Manifest:
        authorizers = [f.name for f in self.functions.values() if f.triggers_of(AuthorizerTrigger)]
        problems: list[str] = []
        if len(authorizers) > 1:
            problems.append(f"functions: more than one authorizer ({', '.join(authorizers)})")
        subscribers = [f.name for f in self.functions.values() if f.triggers_of(LogsTrigger)]
        if len(subscribers) > MAX_LOG_SUBSCRIBERS:
            problems.append(
                f"functions: {len(subscribers)} log subscribers ({', '.join(subscribers)}); CloudWatch Logs allows "
                f"{MAX_LOG_SUBSCRIBERS} subscription filters per log group"
            )
        routes: dict[tuple[str, str], str] = {}
        problems += self._websocket_problems()
        for fn in self.functions.values():
            problems += self._layer_problems(fn) + self._uses_problems(fn)
            problems += self._trigger_problems(fn, routes, has_authorizer=bool(authorizers))
        problems += self._state_machine_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _websocket_problems(self) -> list[str]:
        problems: list[str] = []
        seen: dict[str, str] = {}
        for trig, fn in self.websocket_routes():
            if trig.route in seen:
                problems.append(
                    f"functions.{fn.name}.triggers: WebSocket route {trig.route} is also {seen[trig.route]}'s"
                )
            seen[trig.route] = fn.name
        if seen and "$default" not in seen and not any(not r.startswith("$") for r in seen):
            problems.append("functions: the WebSocket API has routes but none for messages ($default or an action)")
        problems += [
            f"functions.{name}.timeout: {self.timeout_of(self.functions[name])} s exceeds the WebSocket API's "
            f"{WS_MAX_TIMEOUT} s integration limit"
            for name in sorted(set(seen.values()))
            if self.timeout_of(self.functions[name]) > WS_MAX_TIMEOUT
        ]
        return problems

    def _state_machine_problems(self) -> list[str]:
        problems: list[str] = []
        for sm in self.state_machines.values():
            for field_name in ("item_function", "finish_function"):
                callee = getattr(sm, field_name)
                if callee not in self.functions:
                    problems.append(f"state_machines.{sm.name}.{field_name}: unknown function {callee!r}")
                elif self.functions[callee].triggers:
                    problems.append(f"state_machines.{sm.name}.{field_name}: {callee!r} has triggers of its own")
        return problems

    def _layer_problems(self, fn: FunctionSpec) -> list[str]:
        where, layers = f"functions.{fn.name}.layers", self.layers_of(fn)
        problems = [f"{where}: unknown layer {layer!r}" for layer in layers if layer not in self.layers]
        if len(layers) > MAX_LAYERS:
            problems.append(f"{where}: {len(layers)} layers, Lambda allows {MAX_LAYERS}")
        if len(set(layers)) != len(layers):
            problems.append(f"{where}: a layer is listed twice")
        return problems

    def _uses_problems(self, fn: FunctionSpec) -> list[str]:
        where, u = f"functions.{fn.name}.uses", fn.uses
        problems = [f"{where}.produces: unknown topic {t!r}" for t in u.produces if t not in self.topics]
        problems += [f"{where}.secrets: unknown secret {s!r}" for s in u.secrets if s not in self.secrets]
        problems += [f"{where}.buckets: unknown bucket {b!r}" for b in u.buckets if b not in self.buckets]
        problems += [
            f"{where}.calls: {callee!r} is not a function with an HTTP route"
            for callee in u.calls
            if callee not in self.functions or not self.functions[callee].triggers_of(HttpTrigger)
        ]
        problems += [f"{where}.invokes: unknown function {c!r}" for c in u.invokes if c not in self.functions]
        problems += [f"{where}.starts: unknown state machine {s!r}" for s in u.starts if s not in self.state_machines]
        return problems

    def _trigger_problems(
        self, fn: FunctionSpec, routes: dict[tuple[str, str], str], *, has_authorizer: bool
    ) -> list[str]:
        problems: list[str] = []
        for i, trig in enumerate(fn.triggers):
            at = f"functions.{fn.name}.triggers[{i}]"
            if isinstance(trig, HttpTrigger):
                problems += self._route_problems(fn, trig, at, routes, has_authorizer=has_authorizer)
            elif isinstance(trig, KafkaTrigger) and trig.topic not in self.topics:
                problems.append(f"{at}.topic: unknown topic {trig.topic!r}")
            elif isinstance(trig, S3Trigger) and trig.bucket not in self.buckets:
                problems.append(f"{at}.bucket: unknown bucket {trig.bucket!r}")
        return problems

    def _route_problems(
        self, fn: FunctionSpec, trig: HttpTrigger, at: str, routes: dict[tuple[str, str], str], *, has_authorizer: bool
    ) -> list[str]:
        problems: list[str] = []
        key = (trig.method, trig.path.rstrip("/") or "/")
        if key in routes:
            problems.append(f"{at}: route {trig.method} {trig.path} is also {routes[key]}'s")
        routes[key] = fn.name
        if self.timeout_of(fn) > HTTP_MAX_TIMEOUT:
            problems.append(
                f"functions.{fn.name}.timeout: {self.timeout_of(fn)} s exceeds the HTTP API's "
                f"{HTTP_MAX_TIMEOUT} s integration limit"
            )
        if trig.auth == "authorizer" and not has_authorizer:
            problems.append(f"{at}.auth: route needs an authorizer but no function has one")
        return problems


@dataclass(frozen=True)
class Bindings:
    """Where a function's resources are, as the deploying side (CDK or local runtime) knows them.

    `environment_for` turns these into the environment variables the shared layer's
    settings read, so the names live in one place.
    """

    stage: str
    db_dsn: str | None = None  # local: full DSN; AWS: host-only DSN, password from the secret/IAM
    db_read_dsn: str | None = None
    db_secret: str | None = None
    redis_url: str | None = None
    redis_auth_secret: str | None = None
    kafka_bootstrap: str | None = None
    kafka_security: Literal["plaintext", "iam"] = "plaintext"
    secret_ids: Mapping[str, str] = field(default_factory=dict)
    bucket_names: Mapping[str, str] = field(default_factory=dict)
    service_urls: Mapping[str, str] = field(default_factory=dict)  # component -> base URL
    # The WebSocket API's management endpoint (https://{api}.execute-api.{region}.amazonaws.com/{stage}).
    websocket_endpoint: str | None = None
    # Logical -> deployed names: functions another invokes, state machines' ARNs (see `invokes`, `starts`).
    function_names: Mapping[str, str] = field(default_factory=dict)
    state_machine_arns: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)


def placeholder_bindings(manifest: Manifest) -> Bindings:
    """An address for every resource, none of them reachable: enough for every settings model to validate
    (init benchmarks, settings tests), since nothing connects at import."""
    return Bindings(
        stage="local",
        db_dsn="postgresql://tradeplane@127.0.0.1:1/tradeplane",
        db_read_dsn="postgresql://tradeplane@127.0.0.1:2/tradeplane",
        redis_url="redis://127.0.0.1:1/0",
        kafka_bootstrap="127.0.0.1:1",
        secret_ids={name: f"tradeplane/local/{name}" for name in manifest.secrets},
        bucket_names={name: f"tradeplane-local-{name}" for name in manifest.buckets},
        service_urls={
            manifest.functions[callee].component: "http://127.0.0.1:1"
            for fn in manifest.functions.values()
            for callee in fn.uses.calls
        },
        websocket_endpoint="http://127.0.0.1:1",
        state_machine_arns={name: local_state_machine_arn(name) for name in manifest.state_machines},
    )


def local_state_machine_arn(name: str) -> str:
    """The ARN the local runtime answers to for a state machine (its own Step Functions path)."""
    return f"arn:aws:states:us-east-1:000000000000:stateMachine:{name}"


def _data_environment(fn: FunctionSpec, b: Bindings, topics: Mapping[str, TopicSpec]) -> dict[str, str]:
    """Postgres, Redis and Kafka endpoints: only for the resources the function uses."""
    u, env = fn.uses, {}
    if u.postgres and b.db_dsn:
        env["TP_DB_DSN"] = b.db_dsn
        env.update({"TP_DB_SECRET_ID": b.db_secret} if b.db_secret else {})
        if u.postgres == "replica" and b.db_read_dsn:
            env["TP_DB_READ_DSN"] = b.db_read_dsn
    if u.redis and b.redis_url:
        env["TP_REDIS_URL"] = b.redis_url
        env.update({"TP_REDIS_AUTH_SECRET_ID": b.redis_auth_secret} if b.redis_auth_secret else {})
    if (u.produces or fn.triggers_of(KafkaTrigger)) and b.kafka_bootstrap:
        env.update({"TP_KAFKA_BOOTSTRAP": b.kafka_bootstrap, "TP_KAFKA_SECURITY": b.kafka_security})
        # What it may produce, each topic with its partition key: the producer refuses anything else.
        env["TP_KAFKA_PRODUCES"] = json.dumps({t: topics[t].key for t in u.produces}, sort_keys=True)
    return env


def secret_prefix(manifest: Manifest, stage: str, family: str) -> str:
    """Where a family of run-time named secrets lives (the same name locally and in AWS)."""
    return f"{manifest.project.name}/{stage}/{family}/"


def _named_environment(manifest: Manifest, fn: FunctionSpec, b: Bindings) -> dict[str, str]:
    """Secrets, buckets and the services it calls, each by logical name: TP_SECRET_<NAME>, ..."""
    u = fn.uses
    env = {f"TP_SECRET_{env_key(s)}": b.secret_ids[s] for s in u.secrets if s in b.secret_ids}
    env.update({f"TP_SECRET_PREFIX_{env_key(p)}": secret_prefix(manifest, b.stage, p) for p in u.secret_prefixes})
    env.update({f"TP_BUCKET_{env_key(k)}": b.bucket_names[k] for k in u.buckets if k in b.bucket_names})
    if u.websocket and b.websocket_endpoint:
        env["TP_WS_ENDPOINT"] = b.websocket_endpoint
    components = {manifest.functions[callee].component for callee in u.calls}
    env.update({f"TP_SERVICE_URL_{env_key(c)}": b.service_urls[c] for c in sorted(components) if c in b.service_urls})
    # Unless bound otherwise (CDK), a function's deployed name is its manifest name and a state machine
    # is the local runtime's (`local_state_machine_arn`).
    env.update({f"TP_FUNCTION_NAME_{env_key(f)}": b.function_names.get(f, f) for f in u.invokes})
    env.update(
        {f"TP_STATE_MACHINE_{env_key(s)}": b.state_machine_arns.get(s) or local_state_machine_arn(s) for s in u.starts}
    )
    return env


def environment_for(manifest: Manifest, fn: FunctionSpec, b: Bindings) -> dict[str, str]:
    """The complete environment a function gets; the same names locally and in AWS."""
    env: dict[str, str] = {
        "TP_STAGE": b.stage,
        "TP_FUNCTION": fn.name,
        "POWERTOOLS_SERVICE_NAME": fn.component,
        "POWERTOOLS_METRICS_NAMESPACE": manifest.project.metrics_namespace,
        **manifest.defaults.environment,
        **_data_environment(fn, b, manifest.topics),
        **_named_environment(manifest, fn, b),
        **b.extra,
    }
    env.update(fn.environment)  # the function's own settings win
    return env


def parse_manifest(data: Mapping[str, Any]) -> Manifest:
    try:
        return Manifest.model_validate(dict(data))
    except ValidationError as exc:
        problems: list[str] = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
            msg = err["msg"].removeprefix("Value error, ")
            problems.extend(f"{loc}: {m}" if loc else m for m in msg.split("; "))
        raise ManifestError(problems) from None


def load_manifest(path: Path, *, check_files: bool = True, repo_root: Path | None = None) -> Manifest:
    """Load and validate `manifest.toml`; optionally check each handler and layer source exists.

    Function paths are relative to the manifest's folder, layer sources to the repository root.
    """
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError([f"{path}: not valid TOML: {exc}"]) from None
    manifest = parse_manifest(data)
    if check_files:
        root, repo = path.parent, repo_root or REPO_ROOT
        missing = [
            f"functions.{fn.name}.handler: {root / fn.path / (fn.module + '.py')} does not exist"
            for fn in manifest.functions.values()
            if not (root / fn.path / (fn.module + ".py")).is_file()
        ]
        missing += [
            f"layers.{layer.name}.source: {repo / layer.source} does not exist"
            for layer in manifest.layers.values()
            if layer.source and not (repo / layer.source).is_dir()
        ]
        if missing:
            raise ManifestError(missing)
    return manifest


def domain_paths(manifest_path: Path = DEFAULT_MANIFEST) -> list[Path]:
    """The domain folders of a manifest (each holds handler folders and its `tp_<domain>` package).

    Tests and type checks put them on the import path, as Lambda puts a code asset at /var/task.
    """
    manifest = load_manifest(manifest_path, check_files=False)
    return [manifest_path.parent / domain for domain in manifest.domains()]
