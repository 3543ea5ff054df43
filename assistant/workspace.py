"""The open resources of one data home: encoders, stores, caches — each built on first use.

Front ends build one `Workspace` and keep it (the server holds it for its lifetime), so weights load once.
Other processes may use the same home at the same time (a CLI beside `normalcy serve`): every use case
that touches the store runs inside `using_store()`, which holds the home's store lock, reopens the Chroma
client when another process changed the store, and announces this process's own changes
(`retrieval.store_lock`). Opening the store checks the home first (`Home.check`); only a workspace marked `for_writing` (ingest,
rules) may create a missing home or store — an inspection of a home that holds nothing creates nothing.
With a Chroma server the lock and generation live in the shared folder (`Home.lock_root`), so every line
machine's processes take turns on the store and see each other's changes.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from assistant.config import NormalcyConfig
from assistant.home import Home
from retrieval.errors import BadInput, EmptyStore
from retrieval.rule import load_rules_file
from retrieval.store_lock import StoreLock


class Workspace:
    def __init__(self, config: NormalcyConfig, home: Home):
        self.config = config
        self.home = home
        self.lock = StoreLock(home.lock_root)      # the shared folder's with a server: one lock per store
        self._client = None
        self._dirty = False
        self.writing = False

    @contextmanager
    def using_store(self):
        """Hold the store for one use case: the client is current on entry (reopened if another process
        changed the store), and a change made inside is announced on exit. Re-entrant."""
        if not self.lock.depth:
            self.home.check(create=self.writing)     # the lock file lives in the home: make it first
        with self.lock.held() as outer:
            if outer:
                self._refresh()
            try:
                yield self
            finally:
                if outer and self._dirty:
                    self._announce()

    def changed(self) -> None:
        """The store was changed by this process (references or rules written)."""
        if self.lock.depth:
            self._dirty = True
        else:
            with self.using_store():
                self._dirty = True

    def _refresh(self) -> None:
        from retrieval.chroma_client import SharedClients

        self.home.check(create=self.writing)
        if not self.writing and not self.has_store():
            raise EmptyStore(f"the reference store in {self.home.root} is empty; add normal images with "
                             "`normalcy ingest DIR --class NAME` (or run `normalcy demo`)")
        client = SharedClients.get(self.home.store, self.config.retrieval.store, self.lock.generation())
        if client is not self._client:
            self._client = client
            for opened in ("references", "rules"):
                self.__dict__.pop(opened, None)

    def _announce(self) -> None:
        from retrieval.chroma_client import SharedClients

        SharedClients.advance(self.home.store, self.config.retrieval.store, self.lock.changed())
        self._dirty = False

    def for_writing(self) -> Workspace:
        """Mark this workspace as one that adds to the home (a missing home or store is created)."""
        self.writing = True
        return self

    def has_store(self) -> bool:
        """Whether a store was ever created here (or one is configured on a server)."""
        return bool(self.config.retrieval.store.host) or (self.home.store / "chroma.sqlite3").is_file()

    @cached_property
    def encoder(self):
        from retrieval.encoders.image_encoder import load_image_encoder

        return load_image_encoder(self.config.retrieval.encoder)

    @cached_property
    def text_encoder(self):
        from retrieval.encoders.text_encoder import TextEncoder

        return TextEncoder()

    @property
    def client(self):
        """The Chroma client of this home (shared in this process; see `using_store`)."""
        if self._client is None:
            self._refresh()
        return self._client

    @cached_property
    def references(self):
        from retrieval.reference_store import ReferenceStore

        store = ReferenceStore(self.client, self.encoder.id, location=str(self.home.root))
        if store.migrated:                       # the older one-collection layout was moved on opening
            self.changed()
        return store

    def reopen_references(self) -> None:
        """Forget the open reference store (its collection was dropped); the next use opens it anew."""
        self.__dict__.pop("references", None)

    @cached_property
    def features(self):
        """The feature cache of the configured encoding (`retrieval.features`)."""
        from retrieval.feature_cache import FeatureCache

        return FeatureCache(self.home.features, self.encoder.id, self.config.retrieval.features)

    def features_for(self, class_name: str):
        """The feature cache of the class's encoding (its own `classes.NAME.coreset`, else `features`)."""
        from retrieval.feature_cache import FeatureCache

        encoding = self.config.features_for(class_name)
        if encoding == self.config.retrieval.features:
            return self.features
        if encoding.id not in self._class_features:
            self._class_features[encoding.id] = FeatureCache(self.home.features, self.encoder.id, encoding)
        return self._class_features[encoding.id]

    @cached_property
    def _class_features(self) -> dict:
        """Feature caches of class-specific encodings, by encoding id (`features_for`)."""
        return {}

    @cached_property
    def rules(self):
        """The rule store, synced with the YAML files on first use (only changed rules re-embed)."""
        from retrieval.rule_store import RuleStore

        store = RuleStore(self.client, self.text_encoder, shared=bool(self.home.server))
        if store.sync(self.rule_files_content()):
            self.changed()
        return store

    def rule_files(self) -> list[Path]:
        """Shipped rule files (config.rules_dir) then operator rule files (HOME/rules)."""
        files = []
        for folder in (Path(self.config.rules_dir), self.home.rules):
            if folder.is_dir():
                files += sorted(folder.glob("*.yaml"))
        return files

    def rule_files_content(self):
        rules, seen = [], {}
        for path in self.rule_files():
            for rule in load_rules_file(path):
                if rule.id in seen:
                    raise BadInput(f"rule id {rule.id} appears in both {seen[rule.id]} and {path}; ids must be unique")
                seen[rule.id] = path
                rules.append(rule)
        return rules
