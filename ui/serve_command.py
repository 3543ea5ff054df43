"""`normalcy serve`: the browser chat on 127.0.0.1 (logins required on any other address)."""

from __future__ import annotations

import contextlib
import faulthandler
import ipaddress
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import click

from retrieval.errors import BadInput
from ui.native_heap import HeapTrimmer, limit_malloc_arenas

AUTH_ENV = "NORMALCY_AUTH"
STOP_GRACE_S = 20                   # a stopped server that has not ended after this long exits anyway


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


ROLES = ("operator", "engineer")    # what a login may do: ui/roles.py


def split_role(secret: str) -> tuple[str, str]:
    """"password:engineer" -> ("password", "engineer"); a password without a role suffix keeps its colons
    and is an operator's."""
    password, sep, role = secret.rpartition(":")
    return (password, role) if sep and password and role in ROLES else (secret, "operator")


def parse_logins(text: str, where: str, shape: str = "user:password") -> list[tuple[str, str, str]]:
    """`user:password` or `user:password:role` (operator | engineer; default operator) per line (blank lines
    and # comments skipped) -> [(user, password, role)]. shape: how an error names a line (API tokens:
    "name:token")."""
    logins = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user.strip() or not password:
            raise BadInput(f"{where} line {number}: expected {shape}")
        logins.append((user.strip(), *split_role(password)))
    return logins


def load_logins(auth_file: Path | None) -> list[tuple[str, str]]:
    """From --auth-file, else from $NORMALCY_AUTH (user:password); [] when neither is given."""
    if auth_file is not None:
        if not Path(auth_file).is_file():
            raise BadInput(f"auth file {auth_file} does not exist; give a file with one user:password per line")
        logins = parse_logins(Path(auth_file).read_text(encoding="utf-8"), str(auth_file))
        if not logins:
            raise BadInput(f"auth file {auth_file} holds no user:password line")
        return logins
    value = os.environ.get(AUTH_ENV, "")
    return parse_logins(value.replace(",", "\n"), f"${AUTH_ENV}") if value.strip() else []


def check_exposure(host: str, logins: list) -> None:
    """Any address but loopback exposes the app to the network: refuse without logins."""
    if not is_loopback(host) and not logins:
        raise BadInput(f"--host {host} exposes the app to the network; give --auth-file FILE "
                       f"(one user:password per line) or set {AUTH_ENV}=user:password, or bind 127.0.0.1")


def say(text: str) -> None:
    """A line of start-up progress (stderr): each step before the URL, which comes once the port accepts."""
    click.echo(f"warming up: {text}", err=True)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback needs --auth-file or $NORMALCY_AUTH.")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True)
@click.option("--auth-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Logins, one user:password[:operator|engineer] per line (default role operator; or set "
                   "$NORMALCY_AUTH=user:password).")
@click.option("--api-tokens", type=click.Path(dir_okay=False, path_type=Path),
              help="REST API tokens (/api/v1), one name:token[:operator|engineer] per line. Without it the API "
                   "is open on loopback without logins, else refused.")
@click.option("--model", help="VLM preset name (see `normalcy models list`) or local model folder.")
@click.pass_obj
def serve(obj, host, port, auth_file, api_tokens, model):
    """Serve the inspection chat in the browser (vision-only unless a model is configured), and the REST
    API beside it under /api/v1."""
    from ui.api_access import ApiAccess, load_tokens

    logins = load_logins(auth_file)
    check_exposure(host, logins)
    access = ApiAccess(load_tokens(api_tokens), host, has_logins=bool(logins))
    if model:
        obj.use_model(model)
    inspector = obj.inspector
    # a wrong model path fails here, with one line, not at the first inspection; the model's P(anomalous) is
    # calibrated now for the configured settings, and in the background for any other an operator picks
    inspector.warm_up(calibrate=True, progress=say)
    limit_malloc_arenas()
    trimmer = HeapTrimmer().start()
    with tempfile.TemporaryDirectory(prefix="normalcy-ui-") as work_dir, stopped_by_signals(work_dir):
        try:
            _serve_from(Path(work_dir), obj, host, port, logins, access)
        finally:
            trimmer.stop()


def _serve_from(work_dir: Path, obj, host: str, port: int, logins: list, access) -> None:
    """Build the chat and the API over the warmed-up Inspector, serve them, and say where only once the port
    accepts connections; blocks until stopped."""
    os.environ["GRADIO_TEMP_DIR"] = str(work_dir / "gradio")  # uploads and Gradio's copies live here too
    say("building the chat app")
    from ui.chat_app import create_app, launch  # gradio reads GRADIO_TEMP_DIR when imported
    from ui.inspector_queue import InspectorQueue
    from ui.memory_probe import start_probe
    from ui.rest_api import mounted

    inspector, queue = obj.inspector, InspectorQueue()   # one lock for the chat's handlers and the API's inspections
    app = create_app(inspector, work_dir=work_dir, roles={user: role for user, _, role in logins}, queue=queue)
    start_probe(app)  # only with $NORMALCY_MEMORY_PROBE set
    say("starting the web server")
    try:
        launch(app, host, port, [(user, password) for user, password, _ in logins] or None, quiet=True,
               max_file_size=inspector.config.inputs.max_bytes, block=False, routes=mounted(inspector, queue, access))
    except OSError as exc:
        raise BadInput(f"cannot serve on {host}:{port} ({exc}); pick another --port") from None
    mode = f"model {inspector.model_id()}" if inspector.model_id() else "vision-only"
    try:                # a stop right after the URL, before Gradio's own loop catches it, is a stop too (exit 0)
        click.echo(f"Normalcy chat on http://{host}:{port}  ({mode}; data home {obj.home.root}; Ctrl+C stops)",
                   err=True)
        click.echo(f"REST API on http://{host}:{port}/api/v1  ({access.describe()})", err=True)
        app.block_thread()
    except KeyboardInterrupt:
        app.close()


@contextlib.contextmanager
def stopped_by_signals(work_dir: str):
    """SIGTERM (and SIGHUP) stop the server like Ctrl+C does: Gradio closes it, and the work folder (shown
    images, reports, uploads) is removed on the way out, instead of being left behind by a killed process.
    A stop always ends the process: if it has not ended `STOP_GRACE_S` after the signal (a thread that does
    not finish), the threads' stacks go to stderr, the work folder is removed and the process exits."""
    def interrupt(signum, frame):
        threading.Thread(target=_exit_after_grace, args=(work_dir,), daemon=True, name="stop-watchdog").start()
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit_after_grace(work_dir: str) -> None:
    time.sleep(STOP_GRACE_S)
    click.echo(f"normalcy serve: still not stopped {STOP_GRACE_S} s after the signal; the threads left:", err=True)
    faulthandler.dump_traceback(all_threads=True)
    shutil.rmtree(work_dir, ignore_errors=True)
    os._exit(0)
