#!/usr/bin/env python3
"""What a system call costs this program: one the seccomp filter lets
through (getppid), and one it stops that the tracer lets go at once (a
1-byte read() from a pipe: fd above 2, not a socket). Listens at HOST:PORT
so `relay --run` starts it, prints the figures, then waits."""

import os
import socket
import sys
import time

HOST, PORT = sys.argv[1], int(sys.argv[2])
N = int(sys.argv[3]) if len(sys.argv) > 3 else 200_000

s = socket.create_server((HOST, PORT))


def per_call(fn, n):
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - start) / n


def nothing():
    pass


r, w = os.pipe()
os.write(w, b"x" * 65536)
loop = per_call(nothing, N)
getppid = per_call(os.getppid, N) - loop
read = per_call(lambda: os.read(r, 1), min(N, 65536)) - loop
print(f"getppid: {getppid:.0f} ns/call; read(pipe, 1): {read:.0f} ns/call", flush=True)
time.sleep(3600)
