"""A learner's own app client in the tutorial's style (written here, not
the tutorial's code): one request of the tutorial's protocol, sent with
sendall() in two parts (the server's decoder is seen waiting in between),
then recv() until the whole reply is in, then close().

usage: watch_client.py HOST PORT ACTION VALUE [PAUSE_SECONDS]

Prints one JSON line for the test: the client's own address (the server's
peer), the bytes it sent and the bytes it received, in hex.
"""

import json
import socket
import struct
import sys
import time

host, port, action, value = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
pause = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0

content = json.dumps({"action": action, "value": value}, ensure_ascii=False).encode("utf-8")
header = json.dumps(
    {
        "byteorder": sys.byteorder,
        "content-type": "text/json",
        "content-encoding": "utf-8",
        "content-length": len(content),
    },
    ensure_ascii=False,
).encode("utf-8")
request = struct.pack(">H", len(header)) + header + content

sock = socket.create_connection((host, port), timeout=10)
local = sock.getsockname()
sock.sendall(request[:10])
time.sleep(pause)
sock.sendall(request[10:])

received = b""
while True:
    if len(received) >= 2:
        header_len = struct.unpack(">H", received[:2])[0]
        if len(received) >= 2 + header_len:
            reply_header = json.loads(received[2 : 2 + header_len].decode("utf-8"))
            if len(received) >= 2 + header_len + reply_header["content-length"]:
                break
    data = sock.recv(4096)
    if not data:
        break
    received += data
sock.close()
print(
    json.dumps(
        {
            "local": f"{local[0]}:{local[1]}",
            "sent": request.hex(),
            "received": received.hex(),
        }
    ),
    flush=True,
)
