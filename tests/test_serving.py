"""`manage.py serve` (what `make serve` runs), `check --deploy`, and /errors' paths."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from inspector.importer import import_paths
from inspector.management.commands import serve

ROOT = Path(__file__).resolve().parent.parent
SECRET = "a-long-random-secret-for-the-tests-" + "x7Q" * 10
# What README "Configuration" gives for serving to others over HTTPS.
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": SECRET,
    "ALLOWED_HOSTS": "inspector.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
}


@pytest.fixture
def started(monkeypatch) -> list[dict]:
    """What `serve` would have given uvicorn, instead of starting it."""
    import uvicorn

    runs: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda **options: runs.append(options))
    monkeypatch.delenv("INSPECTOR_ALLOW_INSECURE", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    return runs


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "inspector.example.com"])
def test_it_refuses_debug_beyond_loopback(settings, started, host):
    settings.DEBUG, settings.SECRET_KEY = True, SECRET
    with pytest.raises(CommandError, match=f"refusing to serve on {re.escape(host)} with DEBUG on"):
        call_command("serve", host=host)
    assert started == []


def test_it_refuses_the_builtin_secret_key_beyond_loopback(settings, started):
    settings.DEBUG = False
    settings.SECRET_KEY = settings.INSECURE_SECRET_KEY
    with pytest.raises(CommandError, match="with the built-in SECRET_KEY"):
        call_command("serve", host="0.0.0.0")
    assert started == []


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_it_serves_loopback_with_debug_and_the_builtin_key(settings, started, host):
    settings.DEBUG, settings.SECRET_KEY = True, settings.INSECURE_SECRET_KEY
    call_command("serve", host=host, port=9001)
    assert started == [
        {
            "app": "inspector.asgi:application",
            "host": host,
            "port": 9001,
            "workers": 1,
            "lifespan": "off",
            "timeout_graceful_shutdown": serve.GRACE_SECONDS,
        }
    ]


def test_it_checks_without_serving_for_make_serve(settings, started):
    """`make serve` checks before it migrates and imports: a refusal comes first."""
    settings.DEBUG = True
    with pytest.raises(CommandError, match="with DEBUG on"):
        call_command("serve", host="0.0.0.0", check=True)
    call_command("serve", host="127.0.0.1", check=True)
    assert started == []


def test_it_serves_beyond_loopback_with_a_key_and_debug_off(settings, started):
    settings.DEBUG, settings.SECRET_KEY = False, SECRET
    call_command("serve", host="0.0.0.0")
    assert [(run["host"], run["port"]) for run in started] == [("0.0.0.0", 8000)]


def test_it_serves_insecurely_beyond_loopback_only_when_told_to(settings, started, monkeypatch):
    settings.DEBUG, settings.SECRET_KEY = True, settings.INSECURE_SECRET_KEY
    monkeypatch.setenv("INSPECTOR_ALLOW_INSECURE", "1")
    call_command("serve", host="0.0.0.0")
    assert [run["host"] for run in started] == ["0.0.0.0"]


def test_it_takes_the_worker_count_from_web_concurrency_or_the_option(started, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    call_command("serve")
    call_command("serve", workers=2)
    assert [run["workers"] for run in started] == [3, 2]
    monkeypatch.setenv("WEB_CONCURRENCY", "many")
    with pytest.raises(CommandError, match="WEB_CONCURRENCY='many' is not a whole number"):
        call_command("serve")


def test_it_says_how_many_database_connections_the_workers_may_open(
    settings, started, capsys, monkeypatch
):
    monkeypatch.setitem(settings.DATABASES["default"], "OPTIONS", {"pool": {"max_size": 8}})
    call_command("serve", workers=4)
    assert "4 worker process(es), up to 32 PostgreSQL connections" in capsys.readouterr().out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_it_starts_several_worker_processes_that_answer(tmp_path):
    """The real thing, once: `manage.py serve --workers 2` on a free loopback port."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("WEB_CONCURRENCY", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while len(re.findall(r"Started server process \[\d+\]", log.read_text())) < 2:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/static/inspector/app.css"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "2 worker process(es)" in log.read_text()


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Without what the tests' conftest sets (async.E001 refuses it in deployment).
    unset = {*PRODUCTION, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_it_passes_check_deploy_with_the_documented_production_settings():
    done = check_deploy(PRODUCTION)
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout
    # Today's local defaults are what the checks are about.
    local = check_deploy({})
    assert local.returncode != 0
    for check in ("W004", "W008", "W009", "W016"):
        assert f"security.{check}" in local.stderr


@pytest.mark.django_db
def test_it_shows_import_errors_under_their_root_not_the_servers_folders(client, tmp_path):
    first, second = tmp_path / "one" / "recordings", tmp_path / "two" / "recordings"
    for root in (first, second):
        root.mkdir(parents=True)
        (root / "bad.json").write_bytes(b'{"request": {')
    # A legacy index that is gone when read: its OSError's reason quotes its full path.
    (first / "index.sqlite").symlink_to(tmp_path / "nowhere")
    import_paths([first, second], max_bytes=10**6)
    body = client.get("/errors").content.decode()
    assert str(tmp_path) not in body
    assert "No such file or directory: &#x27;index.sqlite&#x27;" in body
    assert body.count("<code>bad.json</code>") == 2
    # Both roots are called `recordings`: their numbers tell them apart.
    names = re.findall(r"<td>(recordings #\d+)</td>", body)
    assert len(names) == 3
    assert len(set(names)) == 2


def test_it_serves_with_djangos_asgi_handler_and_static_storage():
    """Django's request cycle and static storage: the handler only keeps the threads requests
    run in (inspector/asgi.py says what that is worth), and `/static/` goes through a handler
    of ours for the pages' security headers (tests/test_hostile_requests.py)."""
    from django.contrib.staticfiles.storage import StaticFilesStorage
    from django.core.files.storage import storages
    from django.core.handlers.asgi import ASGIHandler

    from inspector import asgi

    assert type(asgi.application) is asgi.StaticFilesHandler
    assert type(asgi.application.application) is asgi.Handler
    assert asgi.Handler.__bases__ == (ASGIHandler,)
    overridden = {name for name in vars(asgi.Handler) if callable(vars(asgi.Handler)[name])}
    assert overridden == {"__init__", "__call__"}
    assert type(storages["staticfiles"]) is StaticFilesStorage


def test_it_keeps_its_request_threads_and_a_request_under_way_its_own():
    """A request takes an idle thread (and its database connections) and gives it back once its
    response is closed: one still under way keeps its own, and the next takes one of theirs.
    Django would start a new thread for each, and one more to wait for it to end."""
    import asyncio
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.core.signals import request_started

    from inspector.asgi import Handler

    handler, ran, second_started = Handler(), {}, threading.Event()

    def started(scope, **kwargs):
        # request_started's receivers run in the request's thread.
        ran[scope["path"]] = threading.current_thread()
        if scope["path"] == "/first":
            assert second_started.wait(5), "the second request waited for the first"
        elif scope["path"] == "/second":
            second_started.set()

    async def request(path: str) -> int:
        scope = {
            "type": "http", "method": "GET", "path": path, "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1")], "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 5000), "scheme": "http", "http_version": "1.1",
        }  # fmt: skip
        received, sent = False, []

        async def receive():
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # the client stays connected

        async def send(message):
            sent.append(message)

        await handler(scope, receive, send)
        return sent[0]["status"]

    async def main() -> list[int]:
        first = asyncio.create_task(request("/first"))
        second = await request("/second")
        return [await first, second, await request("/third")]

    request_started.connect(started)
    try:
        # In a thread of its own: after the browser tests this thread has a running loop.
        with ThreadPoolExecutor(max_workers=1) as loop_thread:
            assert loop_thread.submit(asyncio.run, main()).result() == [404, 404, 404]
    finally:
        request_started.disconnect(started)
    assert ran["/second"] is not ran["/first"]
    assert ran["/third"] in (ran["/first"], ran["/second"])
    assert threading.main_thread() not in ran.values()
    assert len(handler.threads) == 2


def database_settings(monkeypatch, url: str) -> dict:
    """The DATABASES["default"] inspector/settings.py makes for `url`."""
    import runpy

    import inspector.settings

    monkeypatch.setenv("DATABASE_URL", url)
    return runpy.run_path(inspector.settings.__file__)["DATABASES"]["default"]


def test_it_keeps_sqlite_connections_and_pools_postgresqls(monkeypatch):
    """The server keeps its request threads, and with them their SQLite connections (Django
    keeps them per thread); PostgreSQL's go back to a pool after each request."""
    sqlite = database_settings(monkeypatch, "sqlite:///db.sqlite3")
    assert sqlite["CONN_MAX_AGE"] == 60
    assert "pool" not in sqlite["OPTIONS"]
    postgres = database_settings(monkeypatch, "postgres://u:p@127.0.0.1:5432/db")
    assert postgres["CONN_MAX_AGE"] == 0  # Django refuses it with a pool
    assert postgres["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 8, "timeout": 10}
