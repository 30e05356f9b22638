"""The watching thread of `manage.py serve --watch` (`inspector.watching` imports each batch).

It is one thread in the serving command's own process (uvicorn's workers are other processes,
each would import the same change), with its own database connection, closed after each batch.
The set of roots is read again every ROOTS_SECONDS: a root imported while the server runs is
watched, a root whose folder went is said gone once and imported again when it comes back."""

from __future__ import annotations

import os
import threading
import time

from django.db import DatabaseError, connections

from inspector.importer import import_paths
from inspector.models import ImportRoot
from inspector.watching import Failure, Say, apply_batch, outermost, watched_roots, within

# watchfiles yields a batch once no change came for STEP_MS, or DEBOUNCE_MS after its first
# change while changes keep coming: a burst of writes (a test run recording) is a few batches,
# and a change shows well within the 2 seconds (~0.1 s plus its import, in the tests).
DEBOUNCE_MS = 500
STEP_MS = 100
# How often the set of roots is read again (one query): a root imported or deleted while the
# server runs is watched, or said gone, within this.
ROOTS_SECONDS = 2.0
# A batch the database refused is tried this many times in all, this far apart.
RETRIES = 3
RETRY_SECONDS = 0.5
# How long stopping waits for a batch under way (its transaction is rolled back if cut short).
STOP_SECONDS = 10.0


class Watcher:
    """The watching thread: `start()`, then `stop()` when the server has stopped."""

    def __init__(self, max_bytes: int, say: Say, on_failure: Failure | None = None) -> None:
        self.max_bytes, self.say, self.on_failure = max_bytes, say, on_failure
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="inspector-watch", daemon=True)
        self.gone: set[str] = set()  # roots said gone, once each
        self.batches = 0  # batches applied, for tests

    def start(self) -> Watcher:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(STOP_SECONDS)

    def run(self) -> None:
        from watchfiles import watch

        said_none = False
        while not self.stopping.is_set():
            try:
                known, folders, _ = self.roots()
            except Exception as exc:  # the database away a moment: try again, say so
                self.say(f"watch: could not read the import roots ({exc})")
                self.stopping.wait(ROOTS_SECONDS)
                continue
            if not folders:
                if not said_none:
                    self.say("watch: no import root to watch yet")
                    said_none = True
                self.stopping.wait(ROOTS_SECONDS)
                continue
            said_none = False
            self.say(f"watch: watching {', '.join(folders)}")
            checked = time.monotonic()
            for batch in watch(
                *folders,
                watch_filter=None,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                stop_event=self.stopping,
                rust_timeout=int(ROOTS_SECONDS * 1000),
                yield_on_timeout=True,
                ignore_permission_denied=True,
            ):
                if batch:
                    self.apply([path for _, path in batch], known)
                if time.monotonic() - checked < ROOTS_SECONDS:
                    continue
                checked = time.monotonic()
                try:
                    known, now, came_back = self.roots()
                except Exception:
                    continue  # said by the next round, if it lasts
                # Watched again only for a folder not watched yet (watchfiles takes no more
                # folders once started; a change in the others while it starts again is
                # missed). A folder that went needs nothing: its watch has ended by itself.
                if came_back or not all(within(folder, folders) for folder in now):
                    break

    def roots(self) -> tuple[list[ImportRoot], list[str], bool]:
        """The roots whose folders exist, the folders to watch, and whether one of them came
        back. A root whose folder went is said once; one that comes back is imported again
        whole, as a re-import would sync it: what changed while it was away came unwatched."""
        try:
            present, came_back = [], False
            for root in watched_roots():
                if os.path.isdir(root.path):
                    present.append(root)
                    if root.path in self.gone:
                        self.gone.discard(root.path)
                        came_back = True
                        self.import_again(root.path)
                elif root.path not in self.gone:
                    self.gone.add(root.path)
                    self.say(f"watch: {root.path} is gone; watched again when it is back")
            return present, outermost(root.path for root in present), came_back
        finally:
            connections.close_all()

    def import_again(self, folder: str) -> None:
        self.say(f"watch: {folder} is back: importing it again")
        try:
            report = import_paths([folder], max_bytes=self.max_bytes, on_failure=self.on_failure)
        except Exception as exc:
            self.say(f"watch: could not import {folder} again ({type(exc).__name__}: {exc})")
            return
        self.say(f"watch: {folder}: {report.line()}")

    def apply(self, changed: list[str], known: list[ImportRoot]) -> None:
        """One batch; whatever goes wrong is said, and the watch goes on. A batch the database
        refused (locked, or its connection lost) is tried again: the files it did write are
        unchanged by then, and the rest would otherwise wait for their next change."""
        began = time.monotonic()
        try:
            for attempt in range(1, RETRIES + 1):
                try:
                    reports = apply_batch(changed, known, self.max_bytes, self.on_failure)
                    break
                except DatabaseError as exc:
                    connections.close_all()
                    if attempt == RETRIES or self.stopping.wait(RETRY_SECONDS):
                        raise
                    self.say(f"watch: the database refused a change ({exc}); trying again")
            took = time.monotonic() - began
            for root, report in reports.items():
                self.say(f"watch: {root.path}: {report.line()} ({took:.2f} s)")
        except Exception as exc:
            self.say(f"watch: could not import a change ({type(exc).__name__}: {exc})")
        finally:
            self.batches += 1
            connections.close_all()
