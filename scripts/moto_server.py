"""Starts moto's server on 127.0.0.1:PORT, single-threaded unless --threaded is given.

moto_server itself always uses werkzeug's threaded server, and moto's DynamoDB backend does not
lock around a condition check and the write that depends on it: under concurrency two conditional
writes can both succeed (see docs/dynamodb.md, "The emulator"). Serving one request at a time makes
every request atomic, as DynamoDB's conditional writes are.

Throttling, for fault runs: `POST /_throttle` with `{"table": NAME, "share": S, "seed": N}`
makes a share S (0 to 1) of the DynamoDB requests that name table NAME fail with 400
`ProvisionedThroughputExceededException`, as DynamoDB answers when a table's capacity is spent.
Which requests is decided by a pseudo-random sequence seeded with N: the same requests in the
same order are refused the same way on every run, and unlike "every Nth request" a write that
always makes N calls cannot be refused on every attempt. `"share": 0` stops it.
`GET /_throttle?table=NAME` answers `{"requests": R, "throttled": T}`. Only the named table is
affected, so other tests sharing the emulator are not.

With `"api": "streams"` the rule covers the DynamoDB Streams API instead (`DescribeStream`,
`GetShardIterator`, `GetRecords` of the table's stream, whose ARNs and iterators name the table):
the refused share is answered 400 `LimitExceededException`, as the Streams API answers when its
read rate is exceeded, and the table's own requests go through.
"""

import copy
import io
import json
import random
import sys
from typing import Any
from urllib.parse import parse_qs

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

# Throttled tables: name -> {"share": S, "rng": Random, "requests": R, "throttled": T}.
_THROTTLE: dict[str, dict[str, Any]] = {}

_THROTTLED_BODY = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded.",
    }
).encode()

_STREAMS_LIMIT_BODY = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#LimitExceededException",
        "message": "Rate exceeded for shard.",
    }
).encode()

# What a rule covers: the X-Amz-Target prefix of its API, how a request names the table, the
# refusal's body.
_APIS = {
    "dynamodb": ("DynamoDB_20120810.", lambda t: f'"{t}"'.encode(), _THROTTLED_BODY),
    "streams": ("DynamoDBStreams_20120810.", lambda t: f"table/{t}/".encode(), _STREAMS_LIMIT_BODY),
}


def _json(start_response: Any, status: str, body: Any) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _throttling(app: Any) -> Any:
    """Wraps the emulator with the `/_throttle` switch described at the top of this file."""

    def wrapped(environ: Any, start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/_throttle":
            if environ.get("REQUEST_METHOD") == "POST":
                size = int(environ.get("CONTENT_LENGTH") or 0)
                rule = json.loads(environ["wsgi.input"].read(size) or b"{}")
                share = float(rule.get("share", 0))
                if share > 0:
                    _THROTTLE[rule["table"]] = {
                        "api": _APIS[rule.get("api", "dynamodb")],
                        "share": share,
                        "rng": random.Random(int(rule.get("seed", 0))),
                        "requests": 0,
                        "throttled": 0,
                    }
                else:
                    _THROTTLE.pop(rule["table"], None)
                return _json(start_response, "200 OK", {"ok": True})
            table = parse_qs(environ.get("QUERY_STRING", "")).get("table", [""])[0]
            counts = _THROTTLE.get(table, {"requests": 0, "throttled": 0})
            return _json(
                start_response,
                "200 OK",
                {"requests": counts["requests"], "throttled": counts["throttled"]},
            )
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if _THROTTLE and target.startswith(tuple(prefix for prefix, _, _ in _APIS.values())):
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(size)
            environ["wsgi.input"] = io.BytesIO(body)
            for table, rule in _THROTTLE.items():
                prefix, names, refusal = rule["api"]
                if not target.startswith(prefix) or names(table) not in body:
                    continue
                rule["requests"] += 1
                if rule["rng"].random() < rule["share"]:
                    rule["throttled"] += 1
                    start_response(
                        "400 Bad Request",
                        [
                            ("Content-Type", "application/x-amz-json-1.0"),
                            ("Content-Length", str(len(refusal))),
                        ],
                    )
                    return [refusal]
                break
        return app(environ, start_response)

    return wrapped


def main() -> None:
    port = int(sys.argv[1])
    threaded = "--threaded" in sys.argv[2:]
    if not threaded:
        _patch_transaction_snapshots()
    _patch_stream_snapshots()
    app = _throttling(DomainDispatcherApplication(create_backend_app))
    run_simple("127.0.0.1", port, app, threaded=threaded)


if __name__ == "__main__":
    main()
