"""The tutorial's application protocol, written again in plain Python as an
independent reference for the interop tests (not the tutorial's code).

A frame: 2-byte big-endian length of the JSON header, the header
(json.dumps(ensure_ascii=False), UTF-8) with byteorder, content-type,
content-encoding and content-length, then content-length bytes of content.
"""

import json
import struct
import sys

REQUIRED = ("byteorder", "content-type", "content-encoding", "content-length")

ANSWERS = {
    "morpheus": "Follow the white rabbit. \U0001f430",
    "ring": "In the caves beneath the Misty Mountains. \U0001f48d",
    "\U0001f436": "\U0001f43e Playing ball! \U0001f3d0",
}


def frame(content, content_type, content_encoding):
    header = {
        "byteorder": sys.byteorder,
        "content-type": content_type,
        "content-encoding": content_encoding,
        "content-length": len(content),
    }
    header_bytes = json.dumps(header, ensure_ascii=False).encode("utf-8")
    return struct.pack(">H", len(header_bytes)) + header_bytes + content


def json_frame(obj):
    return frame(json.dumps(obj, ensure_ascii=False).encode("utf-8"), "text/json", "utf-8")


def recv_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError(f"peer closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def read_message(sock):
    """Returns (header dict, content bytes) of the next frame on sock."""
    (header_len,) = struct.unpack(">H", recv_exactly(sock, 2))
    header = json.loads(recv_exactly(sock, header_len).decode("utf-8"))
    for name in REQUIRED:
        if name not in header:
            raise ValueError(f"missing required header {name!r}")
    return header, recv_exactly(sock, header["content-length"])
