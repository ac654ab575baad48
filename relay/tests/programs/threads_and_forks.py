#!/usr/bin/env python3
"""An echo server from the standard library's socketserver, one thread (or,
with `fork`, one child process) per connection."""

import socketserver
import sys


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        print(f"Serving {self.client_address}")
        while data := self.request.recv(1024):
            self.request.sendall(data)


HOST, PORT, HOW = sys.argv[1], int(sys.argv[2]), sys.argv[3]
Server = socketserver.ForkingTCPServer if HOW == "fork" else socketserver.ThreadingTCPServer
Server.allow_reuse_address = True
with Server((HOST, PORT), Echo) as server:
    server.serve_forever()
