"""A small stand-in for the tutorial's app-client.py, printing the same lines.

usage: app_client.py HOST PORT ACTION VALUE
"""

import json
import socket
import sys

from wire import frame, json_frame, read_message

host, port, action, value = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
if action == "search":
    request = json_frame({"action": action, "value": value})
else:
    request = frame((action + value).encode("utf-8"), "binary/custom-client-binary-type", "binary")

server = (host, port)
print(f"Starting connection to {server}", flush=True)
with socket.create_connection(server, timeout=10) as sock:
    print(f"Sending {request!r} to {server}", flush=True)
    sock.sendall(request)
    header, content = read_message(sock)
    if header["content-type"] == "text/json":
        response = json.loads(content.decode(header["content-encoding"]))
        print(f"Received response {response!r} from {server}", flush=True)
        print(f"Got result: {response.get('result')}", flush=True)
    else:
        print(f"Received {header['content-type']} response from {server}", flush=True)
        print(f"Got response: {content!r}", flush=True)
    print(f"Closing connection to {server}", flush=True)
