"""The search index of the newest catalog snapshot, built in a worker thread as soon as the snapshot loads.

`prepare(snapshot)` starts the build (call it right after each catalog load); `get(snapshot)` returns the
index, waiting without blocking the event loop only while it is still being built. Builds run one at a
time and share one `TokenMemo`, so after a reload only the texts that changed (say, one connection's
new actions) are tokenised again; the postings, whose weights depend on the whole catalog, are rebuilt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import anyio.to_thread

from membrane_mcp.tools.catalog import CatalogSnapshot, ToolEntry
from membrane_mcp.tools.search import SearchIndex, TokenMemo

EntriesOf = Callable[[CatalogSnapshot], Sequence[ToolEntry]]


class SearchIndexCache:
    def __init__(self, entries_of: EntriesOf | None = None) -> None:
        """`entries_of(snapshot)`: the entries to index (default: all); called on the caller's thread."""
        self._entries_of: EntriesOf = entries_of or (lambda snapshot: snapshot.entries)
        self._memo = TokenMemo()
        self._build_lock = threading.Lock()  # one build at a time: they share the memo
        self._latest: tuple[CatalogSnapshot, Future[SearchIndex]] | None = None

    def warm(self, entries: Sequence[ToolEntry]) -> None:
        """Tokenise these entries' texts now (a catalog load calls it with each connection's entries as they
        arrive), so the index build after the load finds them in the memo. Skipped while a build runs: the
        memo is the build's then."""
        if not self._build_lock.acquire(blocking=False):
            return
        try:
            for entry in entries:
                self._memo.fields(entry)
        finally:
            self._build_lock.release()

    def prepare(self, snapshot: CatalogSnapshot) -> Future[SearchIndex]:
        """Start building the index of `snapshot` in the background, unless it is built or being built."""
        return self._future(snapshot)

    async def get(self, snapshot: CatalogSnapshot) -> SearchIndex:
        """The index of `snapshot`; waits (off the event loop) only if it is not ready yet."""
        future = self._future(snapshot)
        if future.done():
            return future.result()
        return await anyio.to_thread.run_sync(future.result, abandon_on_cancel=True)

    def get_blocking(self, snapshot: CatalogSnapshot) -> SearchIndex:
        """The index of `snapshot` for synchronous callers (tests, tools); blocks until it is built."""
        return self._future(snapshot).result()

    def _future(self, snapshot: CatalogSnapshot) -> Future[SearchIndex]:
        latest = self._latest
        if latest is not None and latest[0] is snapshot:
            return latest[1]
        future: Future[SearchIndex] = Future()
        entries = list(self._entries_of(snapshot))
        self._latest = (snapshot, future)
        threading.Thread(target=self._build, args=(entries, future), name="search-index", daemon=True).start()
        return future

    def _build(self, entries: list[ToolEntry], future: Future[SearchIndex]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            with self._build_lock:
                index = SearchIndex(entries, self._memo)
        except BaseException as exc:  # the waiting caller gets the error; the next `get` tries again
            latest = self._latest
            if latest is not None and latest[1] is future:
                self._latest = None
            future.set_exception(exc)
        else:
            future.set_result(index)
