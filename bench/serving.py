"""The server as bench/run.py runs it (uvicorn, one process), and a keep-alive HTTP client that
times requests by wall clock on loopback; `Workers`, the server as `make serve` runs it (several
processes), for bench/load.py."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]
# What `make serve` runs.
UVICORN = [sys.executable, "-m", "uvicorn", "inspector.asgi:application"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Timed:
    seconds: float
    status: int
    body: bytes
    server_timing: str | None

    @property
    def bytes(self) -> int:
        return len(self.body)


class Server:
    """`uvicorn inspector.asgi:application` on a free loopback port against `database_url`."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.database_url, self.log = database_url, log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.connection: http.client.HTTPConnection | None = None

    # Seconds to wait for the server to stop once asked.
    stop_seconds = 10

    def command(self) -> list[str]:
        return [*UVICORN, "--host", "127.0.0.1", "--port", str(self.port)]

    def ready(self) -> bool:
        return self.get("/recordings.json?_size=1").status == 200

    def __enter__(self) -> Server:
        env = {**os.environ, "DATABASE_URL": self.database_url}
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.command(), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.log}")
            try:
                if self.ready():
                    return self
            except OSError:
                self.connection = None
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within 60 s; see {self.log}")
            time.sleep(0.2)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=self.stop_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def get(self, url: str) -> Timed:
        """One GET, timed from sending the request to the last byte of the body."""
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                self.connection.connect()
            try:
                start = time.perf_counter()
                self.connection.request("GET", url)
                response = self.connection.getresponse()
                body = response.read()
                seconds = time.perf_counter() - start
            except (http.client.HTTPException, ConnectionError):
                # The server closed a kept-alive connection: reconnect once, untimed.
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.connection.close()
                self.connection = None
            return Timed(seconds, response.status, body, response.getheader("Server-Timing"))
        raise AssertionError("unreachable")


class Workers(Server):
    """`manage.py serve --workers N` (what `make serve` runs) on a free loopback port: the
    server of bench/load.py. Ready once every worker has started."""

    stop_seconds = 30  # each worker waits for its playbacks first

    def __init__(self, database_url: str, workers: int, log: Path) -> None:
        super().__init__(database_url, log)
        self.workers = workers

    def command(self) -> list[str]:
        return [
            *[sys.executable, "manage.py", "serve", "--port", str(self.port)],
            *["--workers", str(self.workers)],
        ]

    def ready(self) -> bool:
        self.get("/recordings.json?_size=1")
        return self.log.read_text().count("Started server process") >= self.workers
