"""Cutting an import file into batches, in a worker process while the caller writes.

Reading, parsing and checking rows needs no database, and on a large file it costs as much as
writing them. :func:`batches` does it in a forked worker process that hands finished batches to
the caller through a pipe, so the caller's process writes batch N while the worker prepares
the next ones (on two cores, both at once). The worker stops when two batches wait to be sent
and the caller is busy: a few batches are in memory at most, whatever the file's size.

The worker never touches the database: it inherits the caller's connection objects but exits
with ``os._exit``, so it never closes (or checkpoints) them. Without ``fork`` (Windows, macOS
defaults), and for small files, the same code runs in the caller's process.
"""
from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import pickle
import queue
import shutil
import signal
import tempfile
import threading
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from crmkit.imports.base import Outcome, Prepared
from crmkit.imports.csvfile import FileProblem

log = logging.getLogger(__name__)


class ReaderFailed(RuntimeError):
    """The reading process died or failed; what was committed stays, and the job resumes."""

Batch = tuple[list, int]  # (items, bytes of the file read after the batch's last row)


def _cut(rows: Iterable[tuple[int, object, int]], importer, size: int) -> Iterator[Batch]:
    """Batches of at most ``size`` items; a row sharing a key (an email, a phone) with a row of
    the current batch starts the next one, so it meets that row stored.

    A :class:`FileProblem` (an unreadable row) ends the batches: the rows before it come first
    as a batch of their own, then the problem is raised.
    """
    precheck = getattr(importer, "precheck", None)
    pending: list = []
    taken: set = set()
    position = 0
    try:
        for row, cells, position in rows:
            # A JSON line can be refused before it has cells (not JSON, a wrong type).
            item = cells if isinstance(cells, Outcome) else importer.prepare(row, cells)
            if precheck is not None and isinstance(item, Prepared):
                item = precheck(item, cells)
            keyed = item is not None and not isinstance(item, Outcome)
            if keyed and (len(pending) >= size or _clashes(item, taken)):
                yield pending, position
                pending, taken = [], set()
            pending.append(item)
            if keyed:
                taken.update(item.keys)
            elif len(pending) >= size:
                yield pending, position
                pending, taken = [], set()
    except (FileProblem, OSError):
        if pending:  # the rows read before the unreadable one are good; keep them
            yield pending, position
        raise
    if pending:
        yield pending, position


def _clashes(item: Prepared, taken: set) -> bool:
    return not taken.isdisjoint(item.keys) or bool(item.needs) and not taken.isdisjoint(
        item.needs)


def batches(rows: Iterable[tuple[int, object, int]], importer, size: int,
            in_worker: bool, stage: bool = False) -> Iterator[Batch]:
    """The batches of ``rows`` (``(row number, cells, bytes read)`` as the file readers yield
    them), prepared by ``importer``; with ``in_worker``, prepared in a worker process, which
    with ``stage`` hands plain rows over as files (``importer.stage``,
    :mod:`crmkit.imports.staging`) that the caller attaches to its SQLite connection.

    ``rows`` must not have been started: the worker reads it, the caller never does.
    """
    # A daemonic process (some job runners' workers) may not start processes of its own. Nor
    # does a job worker's thread: another worker thread may hold a lock at the fork (SQLite's,
    # an allocator's), which would then stay locked forever in the child.
    forks = ("fork" in multiprocessing.get_all_start_methods()
             and not multiprocessing.current_process().daemon
             and threading.current_thread() is threading.main_thread())
    with _fewer_collections():
        if not in_worker or not forks:
            yield from _cut(rows, importer, size)
        else:
            directory = _stage_directory() if stage else None
            try:
                yield from _from_worker(rows, importer, size, directory)
            finally:
                if directory is not None:  # files of batches never written
                    shutil.rmtree(directory, ignore_errors=True)


def _stage_directory() -> str | None:
    """A temporary directory for staged batches, or None (no staging) when none can be made:
    staging only saves the writer work, so the import goes on without it."""
    try:
        return tempfile.mkdtemp(prefix="crmkit-import-")
    except OSError as exc:
        log.warning("import: no temporary directory for staged batches (%s); rows go over "
                    "unstaged", exc)
        return None


@contextmanager
def _fewer_collections():
    """Collect cyclic garbage less often while rows stream through.

    An import makes and drops a dozen containers per row, none of them in cycles, and each
    batch received is thousands of new tuples at once: with the default thresholds the
    collector ran every 700 of them and cost as much as unpickling the batch (measured). What
    was alive before is frozen, so the collections that do run skip it. (The settings are the
    process's: they are put back when the import ends.)
    """
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _from_worker(rows, importer, size: int, directory: str | None) -> Iterator[Batch]:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(target=_work,
                             args=(rows, importer, size, sender, receiver, directory),
                             name="crmkit-import-reader", daemon=True)
    worker.start()
    sender.close()
    try:
        while True:
            try:
                kind, payload = receiver.recv()
            except EOFError:
                raise ReaderFailed(f"the import's reading process ended unexpectedly "
                                   f"(exit code {worker.exitcode})") from None
            if kind == "batch":
                yield payload
            elif kind == "done":
                return
            elif kind == "file":
                raise FileProblem(payload)
            elif kind == "os":
                raise payload
            else:
                raise ReaderFailed(f"reading the import file failed:\n{payload}")
    finally:
        receiver.close()  # a worker still writing gets a broken pipe and stops
        worker.join(timeout=5)
        if worker.is_alive():
            worker.kill()
            worker.join()


def _work(rows, importer, size: int, sender, receiver, directory: str | None) -> None:
    """The worker process: send each batch, then how the file ended."""
    receiver.close()
    # Ctrl-C reaches the whole process group; the caller decides what it means. A server's
    # SIGTERM handler (the job worker's) is not this process's business.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # A thread sends, so the next batch is made while the caller has yet to read this one.
    outbox: queue.Queue = queue.Queue(maxsize=2)
    stopped = threading.Event()
    sending = threading.Thread(target=_send, args=(outbox, sender, stopped), daemon=True)
    sending.start()
    try:
        try:
            for number, batch in enumerate(_cut(rows, importer, size)):
                if stopped.is_set():
                    break  # the caller stopped listening: it failed or was interrupted
                if directory is not None:
                    items, position = batch
                    path = os.path.join(directory, f"{number}.db")
                    try:
                        batch = (importer.stage(items, path), position)
                    except Exception as exc:
                        # A full or unwritable temporary directory, a value the file cannot
                        # hold: this batch and the rest go over as rows (checked and stored
                        # there row by row), and the import goes on. (Files of batches sent
                        # before stay until the caller has written them and removes the
                        # directory.)
                        log.warning("import: staging a batch failed (%r); rows go over "
                                    "unstaged", exc)
                        try:
                            os.remove(path)
                        except OSError:
                            pass
                        directory = None
                outbox.put(pickle.dumps(("batch", batch), pickle.HIGHEST_PROTOCOL))
            message = ("done", None)
        except FileProblem as exc:
            message = ("file", exc.problems)
        except OSError as exc:
            message = ("os", exc)
        except Exception:
            message = ("error", traceback.format_exc())
        outbox.put(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
        outbox.put(None)
        sending.join()
    finally:
        # No interpreter shutdown: finalizers would close the caller's inherited connections.
        os._exit(0)


def _send(outbox: queue.Queue, sender, stopped: threading.Event) -> None:
    try:
        while (message := outbox.get()) is not None:
            sender.send_bytes(message)
        sender.close()
    except OSError:  # a broken pipe: the caller stopped listening
        stopped.set()
        while outbox.get() is not None:  # let the reading thread put its last words
            pass
