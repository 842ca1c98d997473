"""Starts moto's server on 127.0.0.1:PORT, single-threaded unless --threaded is given.

moto_server itself always uses werkzeug's threaded server, and moto's DynamoDB backend does not
lock around a condition check and the write that depends on it: under concurrency two conditional
writes can both succeed (see docs/dynamodb.md, "The emulator"). Serving one request at a time makes
every request atomic, as DynamoDB's conditional writes are.
"""

import sys

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    threaded = "--threaded" in sys.argv[2:]
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=threaded)


if __name__ == "__main__":
    main()
