"""Who may change what the app knows. A login carries a role: "operator" (inspect, ask, give feedback,
export) or "engineer" (also accept an image as normal, add a normality by text and edit rules, which shape
every later verdict).
Without logins the app is one local user on loopback, an engineer. The handlers check the role of the
request themselves (`require_engineer`), so a hidden button is not the only guard."""

from __future__ import annotations

import gradio as gr

from ui.operator_errors import Refused

DEFAULT_ROLE = "operator"          # a login written without a role (see serve_command.parse_logins)


class Roles:
    def __init__(self, by_user: dict[str, str] | None = None, text_map: bool = True):
        """by_user: each login's role; None or empty: no logins (the single local user is an engineer).
        text_map: whether a text map is configured ("Acceptable here?" needs one, so it is hidden without)."""
        self.by_user = dict(by_user or {})
        self.text_map = text_map

    def of(self, request) -> str:
        username = getattr(request, "username", None) if request is not None else None
        if not self.by_user and not username:
            return "engineer"
        return self.by_user.get(username, DEFAULT_ROLE)

    def require_engineer(self, request, what: str) -> None:
        if self.of(request) != "engineer":
            who = getattr(request, "username", None) or "this login"
            raise Refused(f"Only an engineer may {what}; {who} is signed in as an operator. Ask an engineer, "
                          "or leave a comment with your feedback.")

    def controls(self, request: gr.Request = None):
        """Page load: what an operator may not use is hidden (the handlers refuse it anyway): accept-as-normal,
        "Acceptable here?" (hidden for everyone without a text map), the rule form and its buttons; the
        read-only note shows instead."""
        engineer = self.of(request) == "engineer"
        shown = (engineer, engineer and self.text_map, engineer, engineer, engineer)
        return (*(gr.update(visible=v) for v in shown), gr.update(visible=not engineer))
