"""Opening the vector store: Chroma embedded on disk, or a Chroma server for larger sites.

Telemetry is always off, and callers always pass embeddings in (Chroma's default embedder would try to
download a model). Before the embedded store is opened its database file is checked (SQLite header,
`PRAGMA quick_check`): a damaged store is a `CorruptState` that says so, not a library traceback.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from retrieval.config import StoreConfig
from retrieval.errors import CorruptState, NormalcyError

DATABASE = "chroma.sqlite3"
SQLITE_HEADER = b"SQLite format 3\x00"
REBUILD_HINT = "move the store folder aside and re-ingest the references (`normalcy ingest ... --rebuild`)"


def store_problem(path: Path) -> str | None:
    """What is wrong with the embedded store's database file at `path` (a folder), None if it reads."""
    db = Path(path) / DATABASE
    if not db.exists():
        return None
    with db.open("rb") as fh:
        head = fh.read(len(SQLITE_HEADER))
    if not head:
        return f"{db} is empty (0 bytes)"
    if head != SQLITE_HEADER:
        return f"{db} is not an SQLite database"
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            result = con.execute("PRAGMA quick_check").fetchone()[0]
            con.execute("SELECT count(*) FROM collections").fetchone()
    except sqlite3.DatabaseError as exc:
        return f"{db} is damaged ({exc})"
    return None if result == "ok" else f"{db} is damaged ({result})"


def open_client(path: Path, store: StoreConfig):
    """A Chroma client: `PersistentClient(path)` by default, `HttpClient(host, port)` when a host is set."""
    import retrieval.offline  # noqa: F401  (telemetry off before chromadb is imported)
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    if store.host:
        try:
            return chromadb.HttpClient(host=store.host, port=store.port, settings=settings)
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError here
            raise NormalcyError(f"cannot reach the Chroma server at {store.host}:{store.port} ({exc}); "
                                "start it or unset retrieval.store.host to use the embedded store") from None
    problem = store_problem(path)
    if problem:
        raise CorruptState(f"the reference store is damaged: {problem}; {REBUILD_HINT}")
    Path(path).mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:  # chromadb raises its own and sqlite's errors on a store it cannot use
        raise CorruptState(f"the reference store in {path} cannot be opened ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''}); {REBUILD_HINT}") from None


class SharedClients:
    """One embedded Chroma client per store folder in this process, reopened when the store's generation
    (`store_lock.StoreLock`) says another process changed it. Every Workspace of a folder in this
    process shares that client, so a change made here is seen by all of them at once."""

    _clients: dict[str, tuple[object, str]] = {}      # folder -> (client, generation it reflects)
    _guard = threading.Lock()

    @classmethod
    def get(cls, path: Path, store: StoreConfig, generation: str):
        """A server's client is cached too (per host:port), and replaced when the generation moves, so the
        stores opened over it list the collections another line made or replaced."""
        key = _key(path, store)
        with cls._guard:
            known = cls._clients.get(key)
            if known is not None and known[1] == generation:
                return known[0]
            if known is not None and not store.host:
                _close(known[0])
            client = open_client(path, store)
            cls._clients[key] = (client, generation)
            return client

    @classmethod
    def advance(cls, path: Path, store: StoreConfig, generation: str) -> None:
        """This process changed the store itself: its client is current at the new generation."""
        key = _key(path, store)
        with cls._guard:
            if key in cls._clients:
                cls._clients[key] = (cls._clients[key][0], generation)


def _key(path: Path, store: StoreConfig) -> str:
    return f"http://{store.host}:{store.port}" if store.host else str(Path(path).resolve())


def _close(client) -> None:
    """Release a stale embedded client so the next one loads the index from disk anew."""
    from chromadb.api.shared_system_client import SharedSystemClient

    client.close()
    stale = SharedSystemClient._identifier_to_system.pop(getattr(client, "_identifier", ""), None)
    if stale is not None:          # another client object of this folder still held it: stop it anyway
        stale.stop()
