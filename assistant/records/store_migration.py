"""Moving an embedded store to a Chroma server: `normalcy store migrate --to HOST:PORT --shared DIR`.

Checked before anything is written: the home has an embedded store, the server answers, the shared folder
exists and is writable, and the server holds no collection of this store built with another encoder (a
refusal is one line, exit 2). Then, holding the home's store lock and the shared folder's:

1. the files Chroma does not hold (reference copies, cached features, leave-one-out scores) are copied
   into the shared folder, each atomically, skipping what is there (they are named by content);
2. every class collection and the rules are staged on the server and then committed
   (`retrieval.store_copy`): a failure while staging leaves the server's store as it was;
3. calibration (thresholds of classes new on the server, re-sealed for their server collection; engineers'
   overkill targets; the model's calibration), the operator rule files and the normalities added by text
   are merged into the shared folder's — entries already there win — and the shared generation moves, so every line reopens its client.

Running it twice gives the same server and shared folder (nothing is added the second time). The home's
embedded store is left as it was: point the home's config at the server afterwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant.home import Home
from retrieval.atomic_file import write_bytes, write_text
from retrieval.calibration import Calibration
from retrieval.config import StoreConfig
from retrieval.errors import BadInput, EmptyStore, NormalcyError
from retrieval.normality_store import NormalityStore
from retrieval.store_lock import StoreLock


@dataclass
class MigrationReport:
    server: str
    shared: Path
    added: dict[str, int] = field(default_factory=dict)      # collection -> records the server gained
    files: int = 0                                            # files copied into the shared folder
    calibrated: list[str] = field(default_factory=list)       # classes whose threshold moved with them

    def summary(self) -> str:
        gained = ", ".join(f"{name}: +{n}" for name, n in sorted(self.added.items())) or "nothing new"
        return (f"moved to {self.server}: {gained}; {self.files} file(s) copied to {self.shared}; "
                f"calibration kept for {len(self.calibrated)} class(es) (the others recalibrate on first use)")


def parse_server(text: str) -> tuple[str, int]:
    """'HOST:PORT' -> (host, port); anything else is a BadInput."""
    host, _, port = (text or "").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInput(f"--to {text!r}: expected HOST:PORT of a Chroma server, e.g. 10.0.0.5:8000")
    return host, int(port)


def migrate(workspace, to: str, shared: str | Path | None, progress=None) -> MigrationReport:
    """Copy the embedded store of the workspace's home to the server `to` and its files to `shared`.
    progress(name): called after each collection is staged."""
    from retrieval.chroma_client import open_client
    from retrieval.store_copy import conflicts, movable

    host, port = parse_server(to)
    source = workspace.home
    if source.server:
        raise BadInput(f"data home {source.root} already uses the Chroma server {source.server}; migrate runs on "
                       "a home with an embedded store (without retrieval.store.host in its config)")
    if not shared:
        raise BadInput("--shared DIR is needed: the folder every line machine mounts for reference copies, "
                       "features and calibration (the one their retrieval.store.shared names)")
    target = Home(source.root, shared, f"{host}:{port}")
    target.check_shared()
    if not workspace.has_store():
        raise EmptyStore(f"data home {source.root} has no embedded store to migrate")
    for path in (source.calibration, source.calibration_targets, source.model_calibration, target.calibration,
                 target.calibration_targets, target.model_calibration):
        _json(path)                                   # a damaged one stops the run before anything is written
    server = open_client(None, StoreConfig(host=host, port=port))
    report = MigrationReport(f"{host}:{port}", target.shared)
    lock = StoreLock(target.lock_root)
    with workspace.using_store(), lock.held():
        collections = movable(workspace.client)
        refused = conflicts(collections, server)
        if refused:
            raise BadInput(f"the server at {host}:{port} already holds data of another encoder ({refused[0]}); "
                           "nothing was migrated: migrate to another server, or rebuild one side with that encoder")
        report.files = copy_files(source, target)
        new_classes = _move_collections(collections, server, report, progress)
        report.calibrated = merge_calibration(source, target, new_classes, server)
        merge_rules(source, target)
        merge_normalities(source, target)
        lock.changed()
    return report


def _move_collections(collections: dict, server, report: MigrationReport, progress) -> dict[str, str]:
    """Stage every collection, then commit each -> {class: source fingerprint} of classes new on the server."""
    from retrieval.reference_layout import listed_collections
    from retrieval.store_copy import commit, drop_staged, stage

    held = set(listed_collections(server))
    staged = []
    try:
        for name, collection in sorted(collections.items()):
            staged.append(stage(collection, server))
            if progress:
                progress(name)
    except Exception as exc:  # the server went away, a disk filled: its own collections are untouched
        _quietly(drop_staged, server)
        raise NormalcyError(f"migration stopped while copying to the server ({type(exc).__name__}: "
                            f"{str(exc)[:160]}); the server's store was not changed: run it again") from None
    new_classes = {}
    for copy in staged:
        name = copy.name.removeprefix("migrate-")
        meta = collections[name].metadata or {}
        if name not in held and "class" in meta:
            new_classes[meta["class"]] = f"{collections[name].id}:{int(meta.get('version', 0))}"
        report.added[meta.get("class", name)] = commit(copy, server)
    return new_classes


def copy_files(source: Home, target: Home) -> int:
    """Every file of the home's copies, features and leave-one-out scores that the shared folder lacks."""
    copied = 0
    for mine, theirs in ((source.references, target.references), (source.features, target.features),
                         (source.calibration_scores, target.calibration_scores)):
        if not mine.is_dir():
            continue
        for path in sorted(p for p in mine.rglob("*") if p.is_file() and not p.name.startswith(".")):
            destination = theirs / path.relative_to(mine)
            if not destination.exists():
                write_bytes(destination, path.read_bytes())
                copied += 1
    return copied


def merge_calibration(source: Home, target: Home, new_classes: dict[str, str], server) -> list[str]:
    """Thresholds of classes new on the server (current for the reference set that moved), re-sealed for
    their server collection; overkill targets and the model's calibration: entries already shared win."""
    from retrieval.reference_layout import collection_name
    from retrieval.store_copy import fingerprint

    mine, theirs = _json(source.calibration), _json(target.calibration)
    kept = []
    for class_name, was in new_classes.items():
        entry = mine.get(class_name)
        try:
            calibration = Calibration(**entry) if entry else None
        except TypeError:
            calibration = None
        if calibration is None or class_name in theirs or calibration.fingerprint != was or not calibration.usable():
            continue
        now = fingerprint(server, collection_name(class_name))
        theirs[class_name] = replace(calibration, fingerprint=now).sealed().to_dict()
        kept.append(class_name)
    if kept:
        write_text(target.calibration, json.dumps(theirs, indent=2, sort_keys=True, allow_nan=False))
    for mine_path, theirs_path in ((source.calibration_targets, target.calibration_targets),
                                   (source.model_calibration, target.model_calibration)):
        merged = {**_json(mine_path), **_json(theirs_path)}
        if merged and merged != _json(theirs_path):
            write_text(theirs_path, json.dumps(merged, indent=2, sort_keys=True))
    return sorted(kept)


def merge_rules(source: Home, target: Home) -> None:
    """The home's operator rule files join the shared folder's (a rule id already there wins)."""
    from retrieval.rule import load_rules_file, save_rules_file

    if not source.rules.is_dir():
        return
    for path in sorted(source.rules.glob("*.yaml")):
        shared = target.rules / path.name
        theirs = load_rules_file(shared) if shared.is_file() else []
        known = {rule.id for rule in theirs}
        mine = [rule for rule in load_rules_file(path) if rule.id not in known]
        if mine:
            save_rules_file(shared, theirs + mine)


def merge_normalities(source: Home, target: Home) -> None:
    """The home's normalities added by text join the shared folder's (an id already there wins), each as a
    new version there, in their order here."""
    shared = NormalityStore(target.normalities)
    known = {n.id for n in shared.read()[1]}
    for normality in NormalityStore(source.normalities).read()[1]:
        if normality.id not in known:
            shared.add(replace(normality, version=shared.next_version()))


def _json(path: Path) -> dict:
    """A JSON object file ({} when absent); a damaged one is a BadInput naming it (nothing merged)."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict):
        raise BadInput(f"{path} is damaged (not a JSON object); run `normalcy doctor --repair` first")
    return data


def _quietly(action, *args) -> None:
    try:
        action(*args)
    except Exception:  # the server is gone: the leftovers are dropped by the next run
        pass

