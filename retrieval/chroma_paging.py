"""Every metadata read from Chroma goes through here, in pages.

Chroma's embedded store answers a `get` with one SQL statement per call; past 32,766 rows (or ids) it
fails with "too many SQL variables". `get_all` pages a filtered read with limit/offset, `get_ids` reads
a list of ids in chunks, and `in_batches` splits writes the same way, so no class, store or ingest size
ever meets that wall. The caller holds the store lock, so pages see one consistent store.
"""

from __future__ import annotations

PAGE = 5_000          # rows per read: far under SQLite's 32,766 bound variables, and under Chroma's batch limit


def get_all(collection, include: list[str], where: dict | None = None, page: int | None = None) -> dict:
    """collection.get(where=..., include=...) of every matching row, read `page` (default PAGE) rows at a time."""
    page = page or PAGE
    out = _empty(include)
    offset = 0
    while True:
        got = collection.get(where=where, include=include, limit=page, offset=offset)
        _extend(out, got, include)
        if len(got["ids"]) < page:
            return out
        offset += page


def get_ids(collection, ids: list[str], include: list[str], page: int | None = None) -> dict:
    """collection.get(ids=...) for any number of ids, `page` (default PAGE) ids per call."""
    page = page or PAGE
    out = _empty(include)
    for start in range(0, len(ids), page):
        _extend(out, collection.get(ids=ids[start:start + page], include=include), include)
    return out


def in_batches(items: list, page: int | None = None):
    """Consecutive slices of at most `page` (default PAGE) items (for upserts and deletes)."""
    page = page or PAGE
    for start in range(0, len(items), page):
        yield items[start:start + page]


def _empty(include: list[str]) -> dict:
    return {"ids": [], **{key: [] for key in include}}


def _extend(out: dict, got: dict, include: list[str]) -> None:
    out["ids"] += list(got["ids"])
    for key in include:
        values = got.get(key)
        out[key] += list(values) if values is not None else []
