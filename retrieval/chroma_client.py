"""Opening the vector store: Chroma embedded on disk, or a Chroma server for larger sites.

Telemetry is always off, and callers always pass embeddings in (Chroma's default embedder would try to
download a model).
"""

from __future__ import annotations

from pathlib import Path

from retrieval.config import StoreConfig
from retrieval.errors import NormalcyError


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
    Path(path).mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)
