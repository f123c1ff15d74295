#!/usr/bin/env python3
"""Memory of a Disque-compatible server under load and after it falls.

    bench/node_memory.py big  PORT PID    # one 100 MB job: peak RSS, RSS after ACK
    bench/node_memory.py load PORT PID N  # N jobs of 1 KiB, then FASTACK all: RSS after

PID is the server's process id (RSS read from /proc/PID/status). Standard
library only; results in BENCHMARKS.md ("Embedded node: memory under load").
"""
import socket
import sys
import time


def rss_mb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) // 1024
    return -1


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out += [b"$%d\r\n" % len(a), a, b"\r\n"]
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(1 << 20)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(1 << 22)
            value, self.buf = self.buf[:n], self.buf[n + 2:]
            return value
        if kind == b"*":
            return [self.read() for _ in range(max(int(rest), 0))]
        if kind == b"-":
            raise RuntimeError(line.decode())
        return rest

    def cmd(self, *args):
        self.s.sendall(enc(*args))
        return self.read()

    def pipe(self, cmds):
        self.s.sendall(b"".join(enc(*a) for a in cmds))
        return [self.read() for _ in cmds]


def main():
    mode, port, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    c = Conn(port)
    print("start: VmRSS %d MB" % rss_mb(pid, "VmRSS"))
    if mode == "big":
        job = c.cmd("ADDJOB", "bigq", b"x" * (100 * 1024 * 1024), "0", "TTL", "3600")
        got = c.cmd("GETJOB", "FROM", "bigq")
        assert len(got[0][2]) == 100 * 1024 * 1024
        print("ADDJOB + GETJOB of 100 MB: peak VmHWM %d MB" % rss_mb(pid, "VmHWM"))
        c.cmd("ACKJOB", job)
        time.sleep(1.5)
        print("after ACKJOB: VmRSS %d MB" % rss_mb(pid, "VmRSS"))
    else:
        n = int(sys.argv[4])
        body = b"y" * 1024
        ids = []
        for _ in range(0, n, 1000):
            ids += c.pipe([("ADDJOB", "loadq", body, "0", "TTL", "3600")] * 1000)
        print("%d jobs of 1 KiB: VmRSS %d MB" % (len(ids), rss_mb(pid, "VmRSS")))
        for i in range(0, len(ids), 1000):
            c.cmd("FASTACK", *ids[i:i + 1000])
        time.sleep(2.5)
        print("all acked (QLEN %s): VmRSS %d MB" % (c.cmd("QLEN", "loadq").decode(), rss_mb(pid, "VmRSS")))


if __name__ == "__main__":
    main()
