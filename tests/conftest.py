from __future__ import annotations

import csv
import os
from pathlib import Path

# Playwright's sync API keeps an event loop marked running on the main thread; Django must be
# told that synchronous database access there is fine, before it loads.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CORPUS = Path(os.environ.get("INSPECTOR_CORPUS", ROOT.parent / "shared" / "corpus"))
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(available: bool, what: str) -> None:
    """Fail under CI, where everything must be there; skip with the reason elsewhere."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is missing, and CI must run every test")
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus of real recordings, read in place (never copied into the repo)."""
    need((CORPUS / "recordings").is_dir(), f"the shared corpus ({CORPUS})")
    return CORPUS / "recordings"


@pytest.fixture(scope="session")
def cassette_corpus() -> Path:
    """The shared corpus's VCR.py cassettes, read in place, with their MANIFEST.tsv."""
    need((CORPUS / "cassettes" / "MANIFEST.tsv").is_file(), f"the cassette corpus ({CORPUS})")
    return CORPUS / "cassettes"


@pytest.fixture(scope="session")
def manifest(corpus: Path) -> list[dict[str, str]]:
    with open(corpus.parent / "MANIFEST.tsv", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    need(Path(CHROMIUM).exists(), f"Chromium ({CHROMIUM}; make test installs it)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache: facet counts are kept per data version, and a
    rolled-back test leaves one that the next test's data may share."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def deep_tmp_path() -> Path:
    """A folder for trees deeper or longer than pytest's own clean-up can remove (its
    `shutil.rmtree` recurses): kept out of pytest's temporary folders, so that one left behind
    by a killed run cannot break a later session's clean-up, and removed without recursion."""
    import tempfile

    from tests.bad_files import remove_tree

    folder = Path(tempfile.mkdtemp(prefix="inspector-deep-"))
    yield folder
    remove_tree(folder)


@pytest.fixture
def fixture_recordings(db) -> None:
    """The demo recordings of fixtures/, imported."""
    from inspector.importer import import_paths

    report = import_paths([FIXTURES], max_bytes=64 * 1024 * 1024)
    assert report.failed == 0, report.failures


@pytest.fixture
def client(client):
    """Django's test client, as a browser on this machine would reach the server."""
    client.defaults["HTTP_HOST"] = "127.0.0.1"
    return client


@pytest.fixture
def asgi_server(transactional_db, settings):
    """The app under uvicorn (ASGI) in a thread, as `make serve` runs it: streaming responses
    really stream here, where pytest-django's live_server (WSGI) would buffer them whole."""
    import socket
    import threading
    import time

    import uvicorn

    from inspector.asgi import application

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(application, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=5)
