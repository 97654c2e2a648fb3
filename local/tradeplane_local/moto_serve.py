"""`python -m tradeplane_local.moto_serve FD`: moto's server on a listening socket its parent already bound.

`python -m moto.server -p PORT` binds the port itself, so a port picked as free by
the parent could be taken by another process before moto bound it (the race the
first `make bench` on a fresh clone hit: "Address already in use"). Here the
parent binds and listens first and hands the socket over, so nothing can race.
The app and request handler are moto.server's own.
"""

from __future__ import annotations

import os
import signal
import sys


def main(argv: list[str]) -> None:
    fd = int(argv[0])
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler, fd=fd)
    os.environ.setdefault("MOTO_PORT", str(server.port))  # moto builds some URLs (SQS queue URLs) from it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
