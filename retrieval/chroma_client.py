"""Opening the vector store: Chroma embedded on disk, or a Chroma server for larger sites.

Telemetry is always off, and callers always pass embeddings in (Chroma's default embedder would try to
download a model). Before the embedded store is opened its database file is checked (SQLite header,
`PRAGMA quick_check`): a damaged store is a `CorruptState` that says so, not a library traceback.
"""

from __future__ import annotations

import sqlite3
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
