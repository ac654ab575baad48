#!/usr/bin/env python3
"""A server that exits (with code 3) after its first connection's first recv()."""

import socket
import sys

HOST, PORT = sys.argv[1], int(sys.argv[2])

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((HOST, PORT))
    s.listen()
    conn, addr = s.accept()
    print(f"Connected by {addr}")
    conn.recv(1024)
    print("Exiting with code 3")
    sys.exit(3)
