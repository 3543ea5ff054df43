"""An SQLite index beside the run log, so History lists and opens an inspection without re-reading it.

    HOME/runs/index.sqlite3   one row per inspection (its summary columns and where its line is in which
                              JSONL file), one per later line about it (turn, retract, feedback, owner,
                              images_removed), and how many bytes of each JSONL file it has read

The JSONL files stay the record: the index is derived from them and brought up to date before every read
(the bytes appended since, by this process or another, are read; a complete line only). A missing,
unreadable or stale index (a file that shrank or was replaced, another schema) is rebuilt from the JSONL.
Several processes may share it: a refresh takes SQLite's write lock first, so one indexes and the others
then find nothing left to read.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from assistant.verdict import verdict_label

SCHEMA = "normalcy-run-index-3"
EVENTS = ("turn", "retract", "feedback", "owner", "images_removed")
TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE files (name TEXT PRIMARY KEY, size INTEGER, head TEXT);
CREATE TABLE inspections (id TEXT PRIMARY KEY, file TEXT, offset INTEGER, length INTEGER, time TEXT,
    class TEXT, verdict TEXT, score REAL, status TEXT, turns INTEGER DEFAULT 0, image TEXT, overlay TEXT,
    images_removed INTEGER DEFAULT 0, source TEXT, feedback TEXT);
CREATE INDEX inspections_order ON inspections (file, offset);
CREATE INDEX inspections_time ON inspections (time);
CREATE TABLE events (inspection TEXT, kind TEXT, file TEXT, offset INTEGER, length INTEGER);
CREATE INDEX events_of ON events (inspection, file, offset);
CREATE TABLE owners (inspection TEXT, owner TEXT, PRIMARY KEY (inspection, owner));
CREATE INDEX owners_by ON owners (owner);
"""
SUMMARY = "time, id, class, verdict, score, status, turns, source, feedback, image, images_removed"


class RunIndex:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / "index.sqlite3"

    def connect(self) -> sqlite3.Connection:
        """A connection to an index that is current with the JSONL files (rebuilt first when needed)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            con = self._open()
            self._refresh(con)
            return con
        except sqlite3.DatabaseError:           # damaged, another schema, a file rewritten: start over
            self.path.unlink(missing_ok=True)
            con = self._open()
            self._refresh(con)
            return con

    def _open(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        if not con.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone():
            con.execute("BEGIN IMMEDIATE")
            if not con.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone():
                for statement in filter(str.strip, TABLES.split(";")):
                    con.execute(statement)
                con.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA,))
            con.execute("COMMIT")
        found = con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if not found or found[0] != SCHEMA:
            con.close()
            raise sqlite3.DatabaseError(f"index schema {found}")
        return con

    def _refresh(self, con: sqlite3.Connection) -> None:
        files = sorted(self.folder.glob("*.jsonl"))
        known = dict(((n, (s, h)) for n, s, h in con.execute("SELECT name, size, head FROM files")))
        if all(known.get(f.name, (None,))[0] == f.stat().st_size for f in files) and len(known) == len(files):
            return
        con.execute("BEGIN IMMEDIATE")
        try:
            known = dict(((n, (s, h)) for n, s, h in con.execute("SELECT name, size, head FROM files")))
            if set(known) - {f.name for f in files}:
                raise sqlite3.DatabaseError("a run log file went away")
            for file in files:
                self._read_file(con, file, *known.get(file.name, (0, None)))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _read_file(self, con, file: Path, done: int, head: str | None) -> None:
        """Index the complete lines of `file` after byte `done` (its first line's hash must still be `head`)."""
        with open(file, "rb") as handle:
            first = handle.readline()
            if head is not None and _digest(first) != head:
                raise sqlite3.DatabaseError(f"{file.name} was replaced")
            if done and handle.seek(0, 2) < done:
                raise sqlite3.DatabaseError(f"{file.name} shrank")
            handle.seek(done)
            data = handle.read()
        end = data.rfind(b"\n") + 1                 # a line still being written is read next time
        offset = done
        for line in data[:end].splitlines(keepends=True):
            self._line(con, file.name, offset, line)
            offset += len(line)
        con.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", (file.name, done + end, _digest(first)))

    def _line(self, con, name: str, offset: int, line: bytes) -> None:
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return                                  # a truncated or damaged line is skipped, as on read
        if not isinstance(record, dict):
            return
        kind, where = record.get("kind"), (name, offset, len(line))
        if kind == "inspection" and isinstance(record.get("id"), str):
            _add_inspection(con, record, where)
        elif kind in EVENTS and isinstance(record.get("inspection"), str):
            _add_event(con, record, kind, where)

    def read(self, file: str, offset: int, length: int) -> dict:
        with open(self.folder / file, "rb") as handle:
            handle.seek(offset)
            return json.loads(handle.read(length))


def _add_inspection(con, record: dict, where: tuple) -> None:
    """A (re-)logged inspection: its row, replacing an earlier one of the same id with its events."""
    verdict = record.get("verdict") or {}
    try:
        label, score = verdict_label(verdict), float(verdict["anomaly_score"])
    except (KeyError, TypeError, ValueError):
        return
    con.execute("DELETE FROM events WHERE inspection = ?", (record["id"],))
    con.execute("DELETE FROM owners WHERE inspection = ?", (record["id"],))
    con.execute("INSERT OR REPLACE INTO inspections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 0, ?, NULL)",
                (record["id"], *where, record.get("time", ""), record.get("class"), label, score,
                 verdict.get("status"), record.get("image"), record.get("overlay"), record.get("source")))


def _add_event(con, record: dict, kind: str, where: tuple) -> None:
    inspection = record["inspection"]
    if not con.execute("SELECT 1 FROM inspections WHERE id = ?", (inspection,)).fetchone():
        return                                      # about an inspection the log does not hold: ignored
    con.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?)", (inspection, kind, *where))
    if kind == "turn":
        con.execute("UPDATE inspections SET turns = turns + 1 WHERE id = ?", (inspection,))
    elif kind == "retract":
        con.execute("UPDATE inspections SET turns = max(turns - 1, 0) WHERE id = ?", (inspection,))
    elif kind == "owner":
        con.execute("INSERT OR IGNORE INTO owners VALUES (?, ?)", (inspection, str(record.get("owner"))))
    elif kind == "images_removed":
        con.execute("UPDATE inspections SET images_removed = 1 WHERE id = ?", (inspection,))
    elif kind == "feedback":                        # the latest stands: kept on the row for the History list
        standing = {"rating": record.get("rating"), "label": record.get("label")}
        con.execute("UPDATE inspections SET feedback = ? WHERE id = ?", (json.dumps(standing), inspection))


def _digest(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()[:16]


def summaries(con, owner: str | None = None, limit: int | None = None) -> list[dict]:
    """History-list rows, newest first (only `owner`'s when given)."""
    query = f"SELECT {SUMMARY} FROM inspections"
    args: list = []
    if owner is not None:
        query += " WHERE id IN (SELECT inspection FROM owners WHERE owner = ?)"
        args.append(owner)
    query += " ORDER BY file DESC, offset DESC" + (" LIMIT ?" if limit is not None else "")
    args += [limit] if limit is not None else []
    names = [n.strip() for n in SUMMARY.split(",")]
    return [dict(zip(names, row), score=round(row[4], 3)) for row in con.execute(query, args)]
