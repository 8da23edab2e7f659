"""The simulator's own header reader gives what http.client's parser gives, and hands anything that is
not a plain `Name: value` line to that parser."""

from __future__ import annotations

import http.client
import io

import pytest

from lms_canvas.simulator.app import _Prefixed, read_headers

PLAIN = [
    b"Host: 127.0.0.1:8001\r\nUser-Agent: python-requests/2.32\r\nAccept: */*\r\n\r\n",
    b"Authorization: Bearer abc\r\nX-Dup: one\r\nx-dup: two\r\nTrailing: spaces kept  \r\n\r\n",
    b"Tab:\tvalue\r\nEmpty:\r\nLatin: caf\xe9\r\nColons: a:b:c\r\n\n",
    b"\r\n",
    b"Content-Length: 5\r\n\r\nhello",
]
UNUSUAL = [
    b"Folded: one\r\n  two\r\nNext: x\r\n\r\n",  # an obsolete continuation line
    b"No colon here\r\nHost: x\r\n\r\n",
    b"Bad Name: x\r\nHost: y\r\n\r\n",
    b"A: " + b"x" * 70000 + b"\r\n\r\n",  # longer than http.client accepts
]


def _pairs(message) -> list[tuple[str, str]]:
    return list(message.items())


@pytest.mark.parametrize("block", PLAIN)
def test_plain_headers_read_as_http_client_reads_them(block):
    lines, message = read_headers(io.BytesIO(block), http.client.HTTPMessage)
    expected = http.client.parse_headers(io.BytesIO(block))
    assert message is not None
    assert _pairs(message) == _pairs(expected)
    assert message.get("x-dup") == expected.get("x-dup") and message.get_all("X-Dup") == expected.get_all("X-Dup")
    assert b"".join(lines) == block[: len(b"".join(lines))] and lines[-1] in (b"\r\n", b"\n")


@pytest.mark.parametrize("block", UNUSUAL)
def test_unusual_headers_are_left_to_http_client_with_the_same_bytes(block):
    source = io.BytesIO(block)
    lines, message = read_headers(source, http.client.HTTPMessage)
    assert message is None
    handed_back = _Prefixed(b"".join(lines), source)
    try:
        expected = _pairs(http.client.parse_headers(io.BytesIO(block)))
    except http.client.LineTooLong:
        with pytest.raises(http.client.LineTooLong):
            http.client.parse_headers(handed_back)
    else:
        assert _pairs(http.client.parse_headers(handed_back)) == expected
