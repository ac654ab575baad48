"""A small stand-in for the tutorial's multiconn-client.py, printing the same lines.

usage: multiconn_client.py HOST PORT NUM_CONNECTIONS

Like the tutorial's client: non-blocking sockets under one selectors loop,
each connection sending "Message 1 from client." and "Message 2 from
client." one send() per writable event, and closing once it has received as
many bytes as it sent.
"""

import selectors
import socket
import sys

MESSAGES = [b"Message 1 from client.", b"Message 2 from client."]

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
server = (host, port)
selector = selectors.DefaultSelector()


class Connection:
    def __init__(self, number):
        self.number = number
        self.to_send = list(MESSAGES)
        self.pending = b""
        self.expected = sum(len(m) for m in MESSAGES)
        self.received = 0


for number in range(1, count + 1):
    print(f"Starting connection {number} to {server}", flush=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.connect_ex(server)
    selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, Connection(number))

open_connections = count
while open_connections:
    events = selector.select(timeout=10)
    if not events:
        sys.exit("no socket ready for 10 seconds")
    for key, mask in events:
        sock, conn = key.fileobj, key.data
        if mask & selectors.EVENT_READ:
            data = sock.recv(1024)
            if data:
                print(f"Received {data!r} from connection {conn.number}", flush=True)
                conn.received += len(data)
            if not data or conn.received == conn.expected:
                print(f"Closing connection {conn.number}", flush=True)
                selector.unregister(sock)
                sock.close()
                open_connections -= 1
                continue
        if mask & selectors.EVENT_WRITE:
            if not conn.pending and conn.to_send:
                conn.pending = conn.to_send.pop(0)
            if conn.pending:
                print(f"Sending {conn.pending!r} to connection {conn.number}", flush=True)
                sent = sock.send(conn.pending)
                conn.pending = conn.pending[sent:]
selector.close()
