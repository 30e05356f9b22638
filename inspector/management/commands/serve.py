"""`manage.py serve`: uvicorn with the app, after refusing settings unsafe beyond loopback;
with `--watch`, the import roots' folders watched too (inspector.watching)."""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inspector.watcher import Watcher

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
GRACE_SECONDS = 5


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (a name other than localhost counts as public:
    it may resolve anywhere)."""
    host = host.strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_reason(host: str) -> str | None:
    """Why serving on `host` with these settings would be unsafe; None when it is not."""
    allowed = os.environ.get("INSPECTOR_ALLOW_INSECURE", "").lower() in {"1", "true", "yes", "on"}
    if is_loopback(host) or allowed:
        return None
    if settings.DEBUG:
        return (
            f"refusing to serve on {host} with DEBUG on (it shows settings and code to anyone):"
            " unset DEBUG, or set INSPECTOR_ALLOW_INSECURE=1"
        )
    if settings.SECRET_KEY == settings.INSECURE_SECRET_KEY:
        return (
            f"refusing to serve on {host} with the built-in SECRET_KEY (anyone can sign with"
            " it): set SECRET_KEY, or INSPECTOR_ALLOW_INSECURE=1"
        )
    return None


def from_env(name: str, default: int) -> int:
    """A whole number from the environment (uvicorn's rule for WEB_CONCURRENCY: else one
    process), refused with one line when it is not one."""
    value = os.environ.get(name) or str(default)
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"{name}={value!r} is not a whole number") from None
    if number < 1:
        raise CommandError(f"{name}={value!r}: need at least 1")
    return number


def uvicorn_options(host: str, port: int, workers: int) -> dict[str, Any]:
    """What `uvicorn.run` is given. Several workers need the app as an import string: each
    process imports it itself."""
    return {
        "app": "inspector.asgi:application",
        "host": host,
        "port": port,
        "workers": workers,
        "lifespan": "off",  # Django has no lifespan events
        # Ctrl-C (or a restart) waits this long for open playbacks before closing them.
        "timeout_graceful_shutdown": GRACE_SECONDS,
    }


class Command(BaseCommand):
    help = (
        "Serve the inspector with uvicorn. Refuses a non-loopback --host with DEBUG on or the"
        " built-in SECRET_KEY (INSPECTOR_ALLOW_INSECURE=1 overrides)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST") or "127.0.0.1")
        parser.add_argument("--port", type=int, help="default: PORT, else 8000")
        parser.add_argument(
            "--workers", type=int, help="server processes (default: WEB_CONCURRENCY, else 1)"
        )
        parser.add_argument(
            "--check", action="store_true", help="only refuse unsafe settings for --host, then exit"
        )
        parser.add_argument(
            "--watch",
            action="store_true",
            help="import what changes under the imported folders while serving (not --git roots)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host = options["host"]
        port = options["port"] if options["port"] is not None else from_env("PORT", 8000)
        workers = options["workers"]
        if workers is None:
            workers = from_env("WEB_CONCURRENCY", 1)
        if workers < 1:
            raise CommandError("--workers: need at least 1")
        reason = insecure_reason(host)
        if reason:
            raise CommandError(reason)
        if options["check"]:
            return
        self.stdout.write(self.describe(host, port, workers))
        import uvicorn

        # In this process, once, however many workers: each worker would import every change.
        watcher = self.start_watching() if options["watch"] else None
        try:
            uvicorn.run(**uvicorn_options(host, port, workers))
        finally:
            if watcher is not None:
                watcher.stop()

    def start_watching(self) -> Watcher:
        def say(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()  # a line as it happens, into a log file too

        def failure(path: str, reason: str) -> None:
            self.stderr.write(f"{path}: {reason}")  # as import_recordings says it

        return Watcher(settings.INSPECTOR_MAX_BYTES, say, failure).start()

    def describe(self, host: str, port: int, workers: int) -> str:
        shown = f"[{host}]" if ":" in host else host
        line = f"Recording Inspector on http://{shown}:{port}/, {workers} worker process(es)"
        pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
        if isinstance(pool, dict):
            line += (
                f", up to {workers * pool['max_size']} PostgreSQL connections"
                f" ({pool['max_size']} per process: INSPECTOR_DB_POOL)"
            )
        return line
