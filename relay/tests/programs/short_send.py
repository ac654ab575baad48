#!/usr/bin/env python3
"""The bug the tutorial warns about: send()'s return value ignored. On a
non-blocking socket the reply is bigger than the kernel takes at once, so
most of it is never sent. Before it, a recv() with nothing to read raises
BlockingIOError (EAGAIN)."""

import socket
import sys

HOST, PORT = sys.argv[1], int(sys.argv[2])
REPLY = b"x" * 8_000_000

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((HOST, PORT))
    s.listen()
    while True:
        conn, addr = s.accept()
        print(f"Connected by {addr}")
        conn.recv(1024)
        conn.setblocking(False)
        try:
            conn.recv(1024)
        except BlockingIOError:
            print("BlockingIOError: nothing to read yet")
        conn.send(REPLY)  # the bug: what send() returned is ignored
        print("Sent the reply (or so I think)")
        conn.close()
