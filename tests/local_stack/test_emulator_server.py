"""The emulator process serves moto over keep-alive connections: many calls, one connection."""

from __future__ import annotations

import http.client
import subprocess
import sys
from collections.abc import Iterator

import pytest

_SIGNED = "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=x"


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "commerce_hub.local.emulator_server", "127.0.0.1", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stdin is not None
    line = process.stdout.readline().decode()
    assert line.startswith("READY "), line
    try:
        yield int(line.split()[1])
    finally:
        process.stdin.close()  # the emulator exits when its stdin closes
        process.wait(10)


def test_calls_to_several_services_share_one_connection(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    dynamodb = {
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": _SIGNED.format(service="dynamodb"),
    }
    sqs = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": _SIGNED.format(service="sqs"),
    }
    answers = []
    for headers, body in [(dynamodb, b"{}"), (sqs, b"Action=ListQueues&Version=2012-11-05"), (dynamodb, b"{}")]:
        connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        answers.append((response.status, response.getheader("Connection"), response.read()))
        sock = connection.sock
        assert sock is not None, "the emulator closed the connection"
    assert [a[0] for a in answers] == [200, 200, 200]
    assert all(a[1] != "close" for a in answers)
    assert answers[0][2] == answers[2][2] == b'{"TableNames": []}'


def test_every_connection_stays_open_however_many_callers_hold_one(port: int) -> None:
    """The local stack's workers, pollers and CLI hold dozens of connections at once; each stays
    open for its next call (cheroot's default keeps only 10 and closes the rest after answering)."""
    headers = {
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": _SIGNED.format(service="dynamodb"),
    }
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(40)]
    try:
        for connection in connections:
            connection.request("POST", "/", body=b"{}", headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200 and response.getheader("Connection") != "close"
        sockets = [connection.sock for connection in connections]
        for connection, sock in zip(connections, sockets, strict=True):  # a second call on each, all still open
            connection.request("POST", "/", body=b"{}", headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            assert connection.sock is sock, "the emulator closed a connection and a new one was opened"
    finally:
        for connection in connections:
            connection.close()
