"""The gateway's edge, attacked as an outsider would: framing, sizes, timeouts, error pages.

Raw sockets where the framing itself is under test (an HTTP client library would
refuse to send these requests). The runtime here runs with small read/idle/body
timeouts so a stalled client is cut off well inside the client's own timeout.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest
from tradeplane_local import provision
from tradeplane_local.runtime import Runtime, RuntimeConfig
from tradeplane_tools.edge_limits import HTTP_API_PAYLOAD, LAMBDA_SYNC_PAYLOAD, REQUEST_HEADERS
from tradeplane_tools.manifest import load_manifest

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "functions" / "manifest.toml"
READ_TIMEOUT_S = 1  # the gateway's, configured small here
IDLE_TIMEOUT_S = 2.0
BODY_TIMEOUT_S = 2.0
CLIENT_TIMEOUT_S = 15.0  # the test's own patience: far above the gateway's timeouts


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    manifest = load_manifest(FIXTURES)
    bindings = provision.local_bindings(manifest, db_dsn=None, redis_url=None, kafka_bootstrap=None)
    state = tmp_path_factory.mktemp("edge")
    config = RuntimeConfig(
        manifest=str(FIXTURES),
        state_dir=str(state),
        bindings=asdict(bindings),
        extra_env={"SINK_FILE": str(state / "sink.jsonl")},  # the fixture log subscriber writes there
        gateway_idle_timeout_s=IDLE_TIMEOUT_S,
        gateway_read_timeout_s=READ_TIMEOUT_S,
        gateway_body_timeout_s=BODY_TIMEOUT_S,
        max_concurrency=2,
    )
    rt = Runtime(config, manifest)
    rt.start()
    yield rt
    rt.stop()


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=runtime.gateway_url, timeout=CLIENT_TIMEOUT_S) as c:
        yield c


@pytest.fixture
def conn(runtime: Runtime) -> Iterator[socket.socket]:
    host, port = runtime.gateway_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=CLIENT_TIMEOUT_S) as s:
        yield s


def read_response(stream: BinaryIO) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body (all the gateway sends)."""
    status_line = stream.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers: dict[str, str] = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = stream.read(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


def closed_or_answered(sock: socket.socket) -> bytes:
    """What the server sends before closing; raises TimeoutError if it keeps the connection hanging."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:  # closed with unread data in flight: closed all the same
        pass
    return data


def echo_invocations(runtime: Runtime) -> int:
    return runtime.hosts["echo"].stats.invocations


# --------------------------------------------------------------------------- sizes


def test_body_over_lambdas_6_mb_is_413_json_and_not_invoked(client: httpx.Client, runtime: Runtime) -> None:
    before = echo_invocations(runtime)
    r = client.post("/v1/echo/1", content=b"\x01" * (7 * 1024 * 1024), headers={"Content-Type": "text/plain"})
    assert r.status_code == LAMBDA_SYNC_PAYLOAD.status == 413
    assert r.json() == {"message": "Request Entity Too Large"}
    assert echo_invocations(runtime) == before


def test_binary_body_counts_at_its_base64_size(client: httpx.Client, runtime: Runtime) -> None:
    # 5 MiB is under 6 MiB as bytes but ~6.7 MiB as the base64 the event carries.
    before = echo_invocations(runtime)
    r = client.post("/v1/echo/1", content=b"\xff" * (5 * 1024 * 1024), headers={"Content-Type": "image/png"})
    assert r.status_code == 413
    assert echo_invocations(runtime) == before


def test_body_under_the_limits_still_arrives_whole(client: httpx.Client) -> None:
    payload = b"x" * (2 * 1024 * 1024)
    r = client.post("/v1/echo/1", content=payload, headers={"Content-Type": "text/plain"})
    assert r.status_code == 201
    assert r.json()["event"]["body"] == payload.decode()


def test_declared_length_over_10_mb_is_refused_before_the_body_is_sent(conn: socket.socket) -> None:
    conn.sendall(b"POST /v1/echo/1 HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % (HTTP_API_PAYLOAD.value + 1))
    status, headers, body = read_response(conn.makefile("rb"))
    assert status == HTTP_API_PAYLOAD.status == 413
    assert json.loads(body) == {"message": "Request Entity Too Large"}
    assert headers["connection"] == "close"


def test_chunked_body_over_10_mb_is_cut_off(conn: socket.socket, runtime: Runtime) -> None:
    before = echo_invocations(runtime)
    conn.sendall(b"POST /v1/echo/1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (1024 * 1024, b"a" * 1024 * 1024)

    def send_11_mib() -> None:
        with contextlib.suppress(OSError):  # the server may answer and close while we still send
            for _ in range(11):
                conn.sendall(chunk)
            conn.sendall(b"0\r\n\r\n")

    sender = threading.Thread(target=send_11_mib)
    sender.start()
    status, _, body = read_response(conn.makefile("rb"))
    sender.join(CLIENT_TIMEOUT_S)
    assert status == 413 and json.loads(body) == {"message": "Request Entity Too Large"}
    assert echo_invocations(runtime) == before


def test_40_kb_of_headers_is_431_json(client: httpx.Client, runtime: Runtime) -> None:
    before = echo_invocations(runtime)
    r = client.get("/v1/echo/1", headers={"X-Padding": "p" * 40_000})
    assert r.status_code == REQUEST_HEADERS.status == 431
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"message": "Request Header Fields Too Large"}
    assert echo_invocations(runtime) == before


def test_headers_at_the_limit_pass(client: httpx.Client) -> None:
    r = client.get("/v1/echo/1", headers={"X-Padding": "p" * 9_000})
    assert r.status_code == 201


def test_head_beyond_the_servers_hard_cap_is_refused_without_html(conn: socket.socket) -> None:
    conn.sendall(b"GET /v1/echo/1 HTTP/1.1\r\nHost: t\r\nX-Padding: " + b"p" * 100_000 + b"\r\n\r\n")
    data = closed_or_answered(conn)
    assert data.startswith(b"HTTP/1.1 431 ")
    assert b"<" not in data and b"server:" not in data.lower()


# --------------------------------------------------------------------------- framing


def test_chunked_body_is_read_and_a_pipelined_request_answered_in_order(conn: socket.socket, runtime: Runtime) -> None:
    smuggled = b"GET /v1/counter HTTP/1.1\r\nHost: t\r\n\r\n"
    counter_before = runtime.hosts["counter"].stats.invocations
    conn.sendall(
        b"POST /v1/echo/1 HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(smuggled), smuggled)
        + b"GET /v1/echo/2 HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    stream = conn.makefile("rb")
    first, second = read_response(stream), read_response(stream)
    assert first[0] == 201 and json.loads(first[2])["event"]["body"] == smuggled.decode()
    assert second[0] == 201 and json.loads(second[2])["event"]["rawPath"] == "/v1/echo/2"
    assert runtime.hosts["counter"].stats.invocations == counter_before  # nothing smuggled through
    assert stream.read() == b""  # and no third answer: the idle connection is then closed


@pytest.mark.parametrize("length", [b"-1", b"abc", b"1, 2", b"+5"])
def test_invalid_content_length_is_400(conn: socket.socket, runtime: Runtime, length: bytes) -> None:
    before = echo_invocations(runtime)
    conn.sendall(b"POST /v1/echo/1 HTTP/1.1\r\nHost: t\r\nContent-Length: " + length + b"\r\n\r\nab")
    data = closed_or_answered(conn)
    assert data.startswith(b"HTTP/1.1 400 ")
    assert b"<" not in data
    assert echo_invocations(runtime) == before


# --------------------------------------------------------------------------- timeouts


def test_short_body_is_closed_by_the_read_timeout(conn: socket.socket, runtime: Runtime) -> None:
    before = echo_invocations(runtime)
    conn.sendall(b"POST /v1/echo/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\nab")
    data = closed_or_answered(conn)  # TimeoutError (the old gateway hung) fails the test
    assert data == b"" or data.startswith(b"HTTP/1.1 408 ")
    assert echo_invocations(runtime) == before


def test_trickled_body_gets_408_at_the_body_deadline(conn: socket.socket) -> None:
    conn.sendall(b"POST /v1/echo/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n")
    # One byte per half read-timeout: the read timeout never fires, the body deadline does.
    for _ in range(40):
        readable, _, _ = select.select([conn], [], [], READ_TIMEOUT_S / 2)
        if readable:
            break
        conn.sendall(b"a")
    status, headers, body = read_response(conn.makefile("rb"))
    assert status == 408 and json.loads(body) == {"message": "Request Timeout"}
    assert headers["connection"] == "close"


def test_trickled_head_is_closed_by_the_idle_timeout(conn: socket.socket) -> None:
    conn.sendall(b"GET /v1/echo/1 HTTP/1.1\r\nHost: t\r\n")
    for _ in range(40):
        readable, _, _ = select.select([conn], [], [], READ_TIMEOUT_S / 2)
        if readable:
            break
        try:
            conn.sendall(b"X-A: b\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the server closed it between two header lines
            break
    assert closed_or_answered(conn) == b""


def test_idle_connection_is_closed(conn: socket.socket) -> None:
    assert closed_or_answered(conn) == b""


# --------------------------------------------------------------------------- answers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v1/nowhere", 404), ("DELETE", "/v1/echo/1", 405), ("GET", "/v1/private/echo", 401)],
)
def test_gateway_errors_are_json_without_a_server_version(
    client: httpx.Client, method: str, path: str, status: int
) -> None:
    r = client.request(method, path)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    assert set(r.json()) == {"message"}
    assert "server" not in r.headers


def test_head_request_gets_headers_only(client: httpx.Client) -> None:
    r = client.head("/v1/nowhere")
    assert r.status_code == 404 and r.content == b""


def test_keep_alive_serves_many_requests_on_one_connection(conn: socket.socket) -> None:
    stream = conn.makefile("rb")
    for i in range(20):
        conn.sendall(b"GET /v1/echo/%d HTTP/1.1\r\nHost: t\r\n\r\n" % i)
        status, _, body = read_response(stream)
        assert status == 201 and json.loads(body)["event"]["pathParameters"] == {"id": str(i)}


def test_a_slow_function_does_not_hold_up_another(client: httpx.Client, runtime: Runtime) -> None:
    client.get("/v1/echo/warm")
    sleepy = runtime.hosts["sleepy"]
    timeouts_before = sleepy.stats.timeouts
    answers: list[int] = []
    slow = threading.Thread(target=lambda: answers.append(client.get("/v1/sleepy").status_code))
    slow.start()
    while sleepy.workers() == 0 and slow.is_alive():
        slow.join(0.01)  # the sleepy container is starting: its invocation is in flight
    assert client.get("/v1/echo/meanwhile").status_code == 201
    assert sleepy.stats.timeouts == timeouts_before  # the slow one was still running
    slow.join(CLIENT_TIMEOUT_S)
    assert answers == [503]


def test_admin_api_runs_on_the_same_server_and_refuses_bad_events(runtime: Runtime) -> None:
    with httpx.Client(base_url=runtime.admin_url, timeout=CLIENT_TIMEOUT_S) as admin:
        assert admin.get("/status").json()["gateway"] == runtime.gateway_url
        r = admin.post("/invoke/echo", content=b"{not json")
        assert r.status_code == 400 and r.json() == {"message": "the event is not JSON"}
        assert admin.post("/invoke/nobody", content=b"{}").status_code == 404
        r = admin.post("/invoke/counter", content=b"{}")
        assert r.status_code == 200 and r.json()["ok"] is True
        assert "server" not in r.headers
