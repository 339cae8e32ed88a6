#!/usr/bin/env python3
"""The example server, run for real on loopback.

  server_test.py SERVER RUN_SH

SERVER is the http_server binary; RUN_SH is tools/qemu/run.sh, which runs it
under qemu-aarch64 when it is an arm64 build (and directly otherwise). Every
step is bounded in requests and in time; nothing leaves 127.0.0.1.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

SERVER = None
RUN_SH = None
# Under qemu (arm64) and the sanitizers everything is slower.
START_TIMEOUT = 120
BODY_BYTES = 100


def start_server(*flags, env=None):
    """Starts the server on a free port; returns (process, port)."""
    command = [RUN_SH, SERVER, "--port=0", "--body_bytes=%d" % BODY_BYTES]
    command += list(flags)
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, **(env or {})),
        text=True,
    )
    line = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()))
    reader.start()
    reader.join(START_TIMEOUT)
    if not line or "listening on" not in line[0]:
        process.kill()
        raise AssertionError(
            "server did not start: %r %s" % (line, process.stderr.read())
        )
    port = int(line[0].split("listening on ")[1].split()[0].rsplit(":", 1)[1])
    return process, port


def stop_server(test, process, timeout=120):
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("server did not stop within %d s" % timeout)
    test.assertEqual(process.returncode, 0, "server's stderr:\n" + stderr)
    return stderr


class Client:
    """One keep-alive connection speaking just enough HTTP/1.1."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.pending = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def get(self, path, extra_headers=""):
        self.send(
            ("GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (path, extra_headers)).encode()
        )
        return self.read_response()

    def read_response(self):
        """(status, headers dict, body); raises on a closed connection."""
        while b"\r\n\r\n" not in self.pending:
            self._fill()
        head, self.pending = self.pending.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        length = int(headers["content-length"])
        while len(self.pending) < length:
            self._fill()
        body, self.pending = self.pending[:length], self.pending[length:]
        return status, headers, body

    def at_eof(self):
        """True once the server has closed the connection."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        self.pending += data


def expected_body():
    line = b"poolkit example server\n"
    return (line * (BODY_BYTES // len(line) + 1))[:BODY_BYTES]


def wait_for(predicate, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


class ServerTest(unittest.TestCase):
    def check_pools_add_up(self, port, open_connections):
        """/pools against /stats, read over one extra connection."""
        client = Client(port)
        status, headers, body = client.get("/stats")
        self.assertEqual(status, 200)
        stats = json.loads(body)
        status, headers, body = client.get("/pools")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        dump = json.loads(body)  # well-formed, or this raises
        client.close()
        pools = {p["name"]: p for p in dump["pools"]}
        self.assertTrue({"connection", "session", "buffer"} <= set(pools))
        for pool in pools.values():
            # The other workers are idle, so the approximate thread counts
            # are exact here.
            self.assertEqual(
                pool["allocated"], pool["used"] + pool["shared_cached"], pool
            )
            self.assertEqual(
                pool["used"], pool["in_use"] + pool["thread_cached"], pool
            )
            self.assertEqual(
                pool["allocated"], pool["os_allocs"] - pool["os_releases"], pool
            )
            self.assertEqual(
                pool["allocated_bytes"], pool["allocated"] * pool["object_size"]
            )
        # One connection and one session per open client connection (this
        # one included); the buffer pool holds this request's buffer.
        now_open = stats["accepted"] - stats["closed"]
        self.assertEqual(now_open, open_connections + 1, stats)
        self.assertEqual(pools["connection"]["in_use"], now_open, pools)
        self.assertEqual(pools["session"]["in_use"], now_open, pools)
        self.assertEqual(pools["buffer"]["in_use"], 1, pools["buffer"])
        return stats, pools

    def serve_requests(self, port, clients=4, per_client=500):
        errors = []
        body = expected_body()

        def run():
            try:
                client = Client(port)
                for i in range(per_client):
                    status, _, got = client.get("/")
                    if status != 200 or got != body:
                        errors.append((status, got[:40]))
                        return
                client.close()
            except Exception as error:  # reported below
                errors.append(repr(error))

        threads = [threading.Thread(target=run) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        self.assertEqual(errors, [])

    def test_requests_pools_burst_and_shutdown(self):
        process, port = start_server("--threads=2")
        try:
            self.serve_requests(port)  # 2000 requests on 4 connections
            stats, _ = wait_for(
                lambda: self._settled(port, 0), timeout=60
            ) or self.check_pools_add_up(port, 0)
            self.assertGreaterEqual(stats["requests"], 2000)

            # Protocol corners: pipelining, 404, 405, a bad request, close.
            client = Client(port)
            client.send(b"GET / HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n"
                        b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
            self.assertEqual(client.read_response()[0], 200)
            self.assertEqual(client.read_response()[0], 404)
            self.assertEqual(client.read_response()[0], 405)
            status, headers, _ = client.get("/", "Connection: close\r\n")
            self.assertEqual((status, headers.get("connection")), (200, "close"))
            self.assertTrue(client.at_eof())
            client.close()
            client = Client(port)
            client.send(b"GARBAGE\r\n\r\n")
            self.assertEqual(client.read_response()[0], 400)
            self.assertTrue(client.at_eof())
            client.close()

            # A burst of 1000 connections, opened and dropped: some say
            # nothing, some half a request, some are reset.
            burst = []
            for i in range(1000):
                sock = socket.create_connection(("127.0.0.1", port), timeout=60)
                if i % 3 == 1:
                    sock.sendall(b"GET / HTTP/1.1\r\nHost:")
                burst.append(sock)
            for i, sock in enumerate(burst):
                if i % 3 == 2:  # RST instead of FIN
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0"
                    )
                sock.close()
            # Every one of them is closed and its objects are back.
            settled = wait_for(lambda: self._settled(port, 0), timeout=120)
            self.assertTrue(settled, "connections of the burst still open")
            stats, pools = settled
            self.assertGreaterEqual(stats["accepted"], 1006)
            self.serve_requests(port, clients=2, per_client=100)
        finally:
            if process.poll() is None:
                stop_server(self, process)

    def _settled(self, port, open_connections):
        try:
            return self.check_pools_add_up(port, open_connections)
        except AssertionError:
            return None

    def test_handoff_between_workers(self):
        process, port = start_server("--threads=3", "--handoff")
        try:
            self.serve_requests(port, clients=3, per_client=300)
            stats, pools = wait_for(lambda: self._settled(port, 0)) or (
                self.check_pools_add_up(port, 0)
            )
            # Every request was answered by another worker than the one
            # that read it.
            self.assertEqual(stats["handoffs"], stats["requests"])
            self.assertGreaterEqual(stats["requests"], 900)
        finally:
            stop_server(self, process)

    def test_proxy_to_upstream(self):
        upstream, upstream_port = start_server(
            "--threads=1", "--memory=malloc", "--maintenance=false"
        )
        try:
            process, port = start_server(
                "--threads=2", "--upstream=127.0.0.1:%d" % upstream_port
            )
            try:
                self.serve_requests(port, clients=2, per_client=200)
                client = Client(port)
                status, _, body = client.get("/stats")
                self.assertEqual(json.loads(body)["upstream_errors"], 0)
                client.close()
            finally:
                stop_server(self, process)
        finally:
            stop_server(self, upstream)
        # The upstream answered all the proxied requests.

    def test_master_workers_fork_and_replace(self):
        process, port = start_server("--processes=2", "--threads=2")
        try:
            self.serve_requests(port, clients=4, per_client=100)
            workers = wait_for(lambda: len(children(process.pid)) == 2 and
                               children(process.pid))
            self.assertEqual(len(workers), 2, "two worker processes")
            # A worker dies: the master replaces it and service goes on.
            os.kill(workers[0], signal.SIGKILL)
            replaced = wait_for(
                lambda: (lambda now: len(now) == 2 and workers[0] not in now)(
                    children(process.pid)
                )
            )
            self.assertTrue(replaced, "the dead worker was not replaced")
            self.serve_requests(port, clients=4, per_client=100)
        finally:
            stderr = stop_server(self, process)
        self.assertIn("killed by signal 9", stderr)


def children(pid):
    """The pids whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


if __name__ == "__main__":
    SERVER, RUN_SH = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unittest.main(argv=sys.argv[:1])
