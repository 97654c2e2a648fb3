"""The Core API client's transport keeps one connection per thread and host, and survives the server closing it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from tp_strategy.core_client import KeepAliveTransport


class _Core(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless a handler says otherwise

    def do_GET(self) -> None:
        self.server.ports.append(self.client_address[1])  # type: ignore[attr-defined]
        body = f"{self.path} {self.headers['Authorization']}".encode()
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Length", str(len(body)))
        if self.server.close_after:  # type: ignore[attr-defined]
            self.send_header("Connection", "close")
        self.close_connection = self.server.close_after or self.server.drop_silently  # type: ignore[attr-defined]
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def core() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Core)
    server.ports, server.close_after, server.drop_silently = [], False, False  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: ThreadingHTTPServer, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_calls_from_one_thread_share_one_connection_and_answers_come_back_whole(core: ThreadingHTTPServer) -> None:
    send = KeepAliveTransport()
    first = send("GET", _url(core, "/v2/account?x=1"), {"Authorization": "Bearer a"}, None, 2.0)
    second = send("GET", _url(core, "/missing"), {"Authorization": "Bearer b"}, None, 2.0)
    assert (first.status, first.body) == (200, b"/v2/account?x=1 Bearer a")
    assert (second.status, second.body) == (404, b"/missing Bearer b")
    assert len(set(core.ports)) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("how", ["close_after", "drop_silently"])
def test_a_connection_the_server_closed_is_reopened(core: ThreadingHTTPServer, how: str) -> None:
    """Announced (`Connection: close`) or not, as an idle timeout or a frozen container leaves it: the client
    then believes the connection is open, and its next request meets a closed socket."""
    send = KeepAliveTransport()
    setattr(core, how, True)
    answers = [send("GET", _url(core, f"/{i}"), {"Authorization": "x"}, None, 2.0).status for i in range(3)]
    assert answers == [200, 200, 200]
    assert len(set(core.ports)) == 3  # type: ignore[attr-defined]


def test_other_threads_get_their_own_connection(core: ThreadingHTTPServer) -> None:
    send = KeepAliveTransport()
    send("GET", _url(core, "/a"), {"Authorization": "x"}, None, 2.0)
    other = threading.Thread(target=send, args=("GET", _url(core, "/b"), {"Authorization": "x"}, None, 2.0))
    other.start()
    other.join()
    assert len(set(core.ports)) == 2  # type: ignore[attr-defined]


def test_a_refused_connection_is_an_os_error_for_the_callers_retries() -> None:
    with pytest.raises(OSError):
        KeepAliveTransport()("GET", "http://127.0.0.1:9/v2/account", {}, None, 1.0)


def test_only_http_is_spoken() -> None:
    with pytest.raises(ValueError, match="http"):
        KeepAliveTransport()("GET", "file:///etc/passwd", {}, None, 1.0)
