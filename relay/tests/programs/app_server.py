#!/usr/bin/env python3
"""An app server in the tutorial's style, written here: `selectors`,
non-blocking sockets, `recv(4096)`, and the tutorial's protocol (a 2-byte
big-endian header length, a JSON header, JSON content). It answers a
search and closes the connection, as the tutorial's server does."""

import json
import selectors
import socket
import struct
import sys

ANSWERS = {
    "morpheus": "Follow the white rabbit. \U0001f430",
    "ring": "In the caves beneath the Misty Mountains. \U0001f48d",
    "\U0001f436": "\U0001f43e Playing ball! \U0001f3d0",
}

sel = selectors.DefaultSelector()


class Connection:
    def __init__(self, sock, addr):
        self.sock = sock
        self.addr = addr
        self.inbox = b""
        self.outbox = b""

    def read(self):
        data = self.sock.recv(4096)
        if not data:
            print(f"Closing connection to {self.addr}")
            self.close()
            return
        self.inbox += data
        if len(self.inbox) < 2:
            return
        (header_len,) = struct.unpack(">H", self.inbox[:2])
        if len(self.inbox) < 2 + header_len:
            return
        header = json.loads(self.inbox[2 : 2 + header_len].decode("utf-8"))
        end = 2 + header_len + header["content-length"]
        if len(self.inbox) < end:
            return
        content = self.inbox[2 + header_len : end]
        self.inbox = self.inbox[end:]
        request = json.loads(content.decode(header["content-encoding"]))
        print(f"Received request {request!r} from {self.addr}")
        self.answer(request)

    def answer(self, request):
        if request.get("action") == "search":
            query = request.get("value")
            result = ANSWERS.get(query) or f"No match for '{query}'."
        else:
            result = f"Error: invalid action '{request.get('action')}'."
        content = json.dumps({"result": result}, ensure_ascii=False).encode("utf-8")
        header = json.dumps(
            {
                "byteorder": sys.byteorder,
                "content-type": "text/json",
                "content-encoding": "utf-8",
                "content-length": len(content),
            },
            ensure_ascii=False,
        ).encode("utf-8")
        self.outbox = struct.pack(">H", len(header)) + header + content
        sel.modify(self.sock, selectors.EVENT_WRITE, data=self)

    def write(self):
        sent = self.sock.send(self.outbox)
        self.outbox = self.outbox[sent:]
        if not self.outbox:
            print(f"Closing connection to {self.addr}")
            self.close()

    def close(self):
        sel.unregister(self.sock)
        self.sock.close()


host, port = sys.argv[1], int(sys.argv[2])
lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind((host, port))
lsock.listen()
print(f"Listening on {(host, port)}")
lsock.setblocking(False)
sel.register(lsock, selectors.EVENT_READ, data=None)

while True:
    for key, mask in sel.select(timeout=None):
        if key.data is None:
            conn, addr = key.fileobj.accept()
            print(f"Accepted connection from {addr}")
            conn.setblocking(False)
            sel.register(conn, selectors.EVENT_READ, data=Connection(conn, addr))
        elif mask & selectors.EVENT_READ:
            key.data.read()
        elif mask & selectors.EVENT_WRITE:
            key.data.write()
