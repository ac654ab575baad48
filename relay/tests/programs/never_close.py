#!/usr/bin/env python3
"""A server that answers once and then never closes its socket: it waits in
recv() for more, and when the client has closed it keeps the socket open."""

import socket
import sys
import time

HOST, PORT = sys.argv[1], int(sys.argv[2])

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((HOST, PORT))
    s.listen()
    held = []
    while True:
        conn, addr = s.accept()
        print(f"Connected by {addr}")
        held.append(conn)
        conn.sendall(conn.recv(4096).upper())
        if not conn.recv(4096):
            print("The client is done; the socket stays open")
        time.sleep(0.2)
