"""Who may call the REST API (`ui/rest_api.py`): bearer tokens with roles, read from `serve --api-tokens FILE`.

The file has the auth file's format (`serve_command.parse_logins`): one `name:token[:operator|engineer]`
per line (default role operator; blank lines and # comments skipped). The name is who the token is: its
inspections are logged as owned by "api:NAME". Every token is at least `MIN_TOKEN_CHARS` long and used
once; a bad file stops `normalcy serve` at start with one line (exit 2).

The rule mirrors the chat's: with no tokens and no logins, bound to loopback, the API is one local user,
an engineer (like the chat without logins). Otherwise a request needs `Authorization: Bearer TOKEN`;
a server started without tokens (but with chat logins, or on another address) answers every call 401.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import BadInput
from ui.serve_command import is_loopback, parse_logins

MIN_TOKEN_CHARS = 16
MAKE_ONE = "python -c 'import secrets; print(secrets.token_urlsafe(24))'"


@dataclass(frozen=True)
class Caller:
    name: str
    role: str             # "operator" | "engineer" (ui/roles.py)

    @property
    def owner(self) -> str:
        """The run log's owner of this caller's inspections."""
        return f"api:{self.name}"


class Unauthorized(Exception):
    """401 (no or a wrong token) or 403 (the role may not): the message says what to send instead."""

    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.status = status


def load_tokens(path: Path | None) -> dict[str, Caller]:
    """--api-tokens FILE -> {token: Caller}; {} without a file. Bad file: BadInput naming the line."""
    if path is None:
        return {}
    if not Path(path).is_file():
        raise BadInput(f"API tokens file {path} does not exist; give a file with one name:token per line")
    where = f"API tokens file {path}"
    tokens: dict[str, Caller] = {}
    lines = parse_logins(Path(path).read_text(encoding="utf-8"), where, shape="name:token")
    for number, (name, token, role) in enumerate(lines, start=1):
        if len(token) < MIN_TOKEN_CHARS:
            raise BadInput(f"{where}: the token of {name} is {len(token)} characters; use at least "
                           f"{MIN_TOKEN_CHARS} (make one with: {MAKE_ONE})")
        if token in tokens:
            raise BadInput(f"{where}: {name} and {tokens[token].name} share a token; give each its own")
        tokens[token] = Caller(name, role)
    if not tokens:
        raise BadInput(f"{where} holds no name:token line")
    return tokens


class ApiAccess:
    def __init__(self, tokens: dict[str, Caller], host: str, has_logins: bool):
        self.tokens = dict(tokens)
        self.open_locally = not tokens and not has_logins and is_loopback(host)

    def describe(self) -> str:
        """How the API is guarded, for the start-up line."""
        if self.open_locally:
            return "open to this machine: no tokens and no logins, bound to loopback"
        if not self.tokens:
            return "refused: no --api-tokens file"
        return f"{len(self.tokens)} token(s), Authorization: Bearer TOKEN"

    def caller(self, authorization: str | None) -> Caller:
        """The caller an `Authorization` header names; raises Unauthorized (401) with one line."""
        if self.open_locally:
            return Caller("local", "engineer")
        if not self.tokens:
            raise Unauthorized("this server has no API tokens; start it with `normalcy serve --api-tokens FILE` "
                               "(one name:token[:operator|engineer] per line)")
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send the header Authorization: Bearer TOKEN (a token from the server's "
                               "--api-tokens file)")
        found = None
        for known, caller in self.tokens.items():      # every token compared, in constant time each
            if secrets.compare_digest(known.encode(), token.strip().encode()):
                found = caller
        if found is None:
            raise Unauthorized("unknown API token; use one from the server's --api-tokens file")
        return found

    @staticmethod
    def require_engineer(caller: Caller, what: str) -> None:
        if caller.role != "engineer":
            raise Unauthorized(f"only an engineer may {what}; the token of {caller.name} is an operator's",
                               status=403)
