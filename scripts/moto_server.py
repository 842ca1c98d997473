"""Starts moto's server on 127.0.0.1:PORT, single-threaded unless --threaded is given.

moto_server itself always uses werkzeug's threaded server, and moto's DynamoDB backend does not
lock around a condition check and the write that depends on it: under concurrency two conditional
writes can both succeed (see docs/dynamodb.md, "The emulator"). Serving one request at a time makes
every request atomic, as DynamoDB's conditional writes are.
"""

import copy
import sys
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class _CopyEachObjectOnce:
    """Stands in for the `copy` module inside moto's DynamoDB backend during one transaction.

    moto snapshots a table for rollback once per *action* of a TransactWriteItems, so a
    100-action transaction on a table of 10,000 items deep-copies a million items and takes
    many seconds. Copying each object once per transaction gives the same snapshot (the
    actions only run after all snapshots are taken), in 1/100 of the time.
    """

    def __init__(self) -> None:
        self._copies: dict[int, Any] = {}

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        key = id(value)
        if key not in self._copies:
            self._copies[key] = copy.deepcopy(value, memo)
        return self._copies[key]


def _patch_transaction_snapshots() -> None:
    backend = dynamodb_models.DynamoDBBackend
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: Any) -> None:
        # Safe only because the server is single-threaded: the module attribute is swapped
        # for the duration of one request.
        dynamodb_models.copy = _CopyEachObjectOnce()
        try:
            original(self, transact_items)
        finally:
            dynamodb_models.copy = copy

    backend.transact_write_items = transact_write_items


def _patch_stream_snapshots() -> None:
    """A table's stream keeps every record since the table was created, and each transaction's
    rollback snapshot deep-copied all of them: a table's thousandth transaction copied a thousand
    stream records. The records never change once written, so a snapshot needs only a new list
    of the same records, which restores exactly what a rolled-back transaction appended.
    """
    from moto.dynamodb.models.table import StreamShard

    def __deepcopy__(self: Any, memo: Any) -> Any:
        clone = copy.copy(self)
        clone.items = list(self.items)
        memo[id(self)] = clone
        return clone

    StreamShard.__deepcopy__ = __deepcopy__


def main() -> None:
    port = int(sys.argv[1])
    threaded = "--threaded" in sys.argv[2:]
    if not threaded:
        _patch_transaction_snapshots()
    _patch_stream_snapshots()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=threaded)


if __name__ == "__main__":
    main()
