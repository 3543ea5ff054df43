"""One browser session's chat state, held in a `gr.State` — never in module or app globals, so two
sessions never see each other's images, inspections or history. It holds only small values (ids, the
logged record, the transcript, paths): the inspection itself is in the server's bounded cache
(`ui.inspection_cache`), found by this state's `key`, and reopened from the run log when evicted."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ChatState:
    """owner: who runs these inspections — "user:NAME" when the app has logins, else "browser:ID" (an id
    kept in the browser's local storage, so History survives a server restart), else "session:HASH".
    key: this state's key in the inspection cache (set when it first keeps an inspection).
    inspection_id: the current inspection's id (None: none, or one opened read-only).
    record: its run-log record (provenance for the report). options: the `InspectOptions` it ran with.
    last_action: what Regenerate re-runs — "verdict", "ask" or "look". class_note: how the class was chosen.
    chat: the transcript shown in the chatbot (kept here, so a client cannot send back an altered one).
    panel: the evidence panel (`PanelValues`) of the last good result, put back when a request fails.
    """

    owner: str | None = None
    key: str | None = None
    inspection_id: str | None = None
    record: dict | None = None
    options: object = None
    last_action: str | None = None
    class_note: str = ""
    chat: list = field(default_factory=list)
    panel: object = None
    actions_for: str | None = None      # the inspection the operator-action form was last set up for

    def owner_for(self, request) -> str:
        """This session's owner id (set on page load; a logged-in user name always wins)."""
        username = getattr(request, "username", None) if request is not None else None
        if username:
            self.owner = f"user:{username}"
        if not self.owner:
            session = getattr(request, "session_hash", None) if request is not None else None
            self.owner = f"session:{session or 'local'}"
        return self.owner

    def start(self, inspection_id: str | None, record: dict | None, options, class_note: str = "") -> None:
        """Go on with another inspection; use `InspectionCache.start`, which also keeps the inspection."""
        self.inspection_id, self.record, self.options = inspection_id, record, options
        self.last_action, self.class_note = "verdict", class_note

    def clear(self) -> None:
        self.inspection_id = self.record = self.options = self.panel = None
        self.last_action, self.class_note, self.chat = None, "", []
