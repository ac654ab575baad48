"""A small stand-in for the tutorial's app-server.py (one request per
connection, one connection at a time), printing the same lines.

usage: app_server.py HOST PORT   (port 0 picks one; the Listening line shows it)
"""

import json
import socket
import sys

from wire import ANSWERS, frame, json_frame, read_message


def reply_to(header, content):
    if header["content-type"] == "text/json":
        request = json.loads(content.decode(header["content-encoding"]))
        print(f"Received request {request!r} from {addr}", flush=True)
        if request.get("action") == "search":
            query = request.get("value")
            result = ANSWERS.get(query) or f"No match for '{query}'."
        else:
            result = f"Error: invalid action '{request.get('action')}'."
        return json_frame({"result": result})
    print(f"Received {header['content-type']} request from {addr}", flush=True)
    return frame(
        b"First 10 bytes of request: " + content[:10],
        "binary/custom-server-binary-type",
        "binary",
    )


host, port = sys.argv[1], int(sys.argv[2])
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((host, port))
listener.listen()
print(f"Listening on {(host, listener.getsockname()[1])}", flush=True)
while True:
    conn, addr = listener.accept()
    print(f"Accepted connection from {addr}", flush=True)
    with conn:
        try:
            reply = reply_to(*read_message(conn))
            print(f"Sending {reply!r} to {addr}", flush=True)
            conn.sendall(reply)
        except Exception as e:  # one bad client must not stop the fixture
            print(f"Error: {e} from {addr}", flush=True)
    print(f"Closing connection to {addr}", flush=True)
