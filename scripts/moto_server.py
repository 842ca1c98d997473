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
        _SNAPSHOTS.clear()
        try:
            original(self, transact_items)
        except Exception:
            # Rolled back: the shards drop what this transaction appended.
            for shard, count in _SNAPSHOTS.values():
                del shard.items[count:]
            raise
        finally:
            dynamodb_models.copy = copy
            _SNAPSHOTS.clear()

    backend.transact_write_items = transact_write_items


def _patch_stream_snapshots() -> None:
    """Keeps a table's stream whole across rolled-back transactions.

    A transaction snapshots each table it touches and, when it fails, puts the snapshot back.
    The stream shard inside the snapshot was a copy, so a reader's shard iterator (which holds
    the shard object) kept reading the discarded original: it saw the records of the write that
    was rolled back and none of the writes after it. The shard now stays the same object and a
    rollback only cuts off the records the failed transaction appended. (It is also cheap: the
    copy used to hold every record since the table was created.)
    """
    from moto.dynamodb.models.table import StreamShard

    def __deepcopy__(self: Any, memo: Any) -> Any:
        _SNAPSHOTS.setdefault(id(self), (self, len(self.items)))
        memo[id(self)] = self
        return self

    StreamShard.__deepcopy__ = __deepcopy__


# Stream shards snapshotted by the transaction being served: id -> (shard, record count).
_SNAPSHOTS: dict[int, Any] = {}


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
