"""The browser chat: `create_app(inspector)` builds the Gradio app over an injected Inspector; `launch()`
serves it. Nothing here is module-global state: each browser session keeps its small state (ids, transcript,
paths) in a `gr.State`, and its inspection in the app's bounded `InspectionCache`; a closed session is
released at once (`released_on_close`).

Layout: an Inspect tab (chat on the left — class selector, strategy switches, chat, look closer /
regenerate / new, operator actions — and the evidence panel on the right), a Rules tab and a History tab.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from types import SimpleNamespace

import gradio as gr

from assistant.inspect_options import InspectOptions
from retrieval.overlay import STYLES
from ui.chat_handlers import SWITCHES, ChatHandlers, class_choices
from ui.evidence_panel import empty_card, rules_table
from ui.history_tab import HistoryView, build_history_tab, wire_history_tab
from ui.image_folder import ImageFolder
from ui.inspection_cache import INSPECTIONS, InspectionCache
from ui.inspector_queue import InspectorQueue
from ui.login_throttle import LoginThrottle
from ui.operator_actions import NO_LABEL, OperatorActions
from ui.roles import Roles
from ui.rules_tab import RuleEditor, build_rules_tab, wire_rules_tab

CSS = Path(__file__).with_name("chat_app.css").read_text(encoding="utf-8")
CACHE_SWEEP = (600, 3600)   # every 10 min, Gradio's copies of uploads and shown files older than 1 h are deleted
SESSION_IDLE_S = 1800       # a session's state untouched for 30 min is freed (History still reopens it)
DISPLAY_STYLE = "all"       # the app starts on heatmap + limit contour + box, so the defect region is always drawn
CHAT_HEIGHT = "clamp(200px, calc(100vh - 470px), 620px)"   # 1280×720: the message box shows without scrolling
MAP_CHOICES = [("fused", "fused"), ("few-shot", "few_shot"), ("text", "text")]   # `Evidence.maps()`, shown
SESSIONS = 256              # at most this many sessions kept in memory; the least recently used goes first


def mode_notice(inspector) -> str:
    model = inspector.model_id()
    if model:
        return f"Model **`{model}`** reads the evidence and writes the verdict."
    return ("**Vision-only mode** — no language model is configured, so verdicts come from the visual evidence "
            "alone. To add one: `normalcy serve --model PRESET_OR_PATH` (`normalcy models list` shows the presets).")


def browser_secret(home) -> str:
    """The key that encrypts this app's id in the browser's local storage; kept in HOME so ids survive a restart."""
    path = Path(home.root) / "ui" / "browser_secret"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
        path.chmod(0o600)
    return path.read_text().strip()


def _strategy_controls(defaults: InspectOptions, k: int, text_map: bool) -> SimpleNamespace:
    ui = SimpleNamespace()
    with gr.Accordion("Strategy", open=False, elem_id="strategy"):
        on = [name for name, flag in zip(SWITCHES, (defaults.class_context, defaults.rules, defaults.overlay)) if flag]
        ui.switches = gr.CheckboxGroup(list(SWITCHES), value=on, label="Evidence given to the model")
        ui.references = gr.Slider(0, k, value=min(defaults.reference_images, k), step=1,
                                  label="Reference images shown to the model")
        with gr.Row():
            ui.overlay_style = gr.Radio(list(STYLES), value=DISPLAY_STYLE, label="Overlay style")
            ui.overlay_map = gr.Radio(MAP_CHOICES, value="fused", label="Map shown", visible=text_map,
                                      elem_id="overlay-map")
    return ui


def _operator_controls() -> SimpleNamespace:
    ui = SimpleNamespace()
    with gr.Accordion("Operator actions", open=True, elem_id="operator"):
        with gr.Row():
            ui.up = gr.Button("✓ Correct", size="sm", elem_id="thumbs-up", interactive=False)
            ui.down = gr.Button("✗ Wrong", size="sm", elem_id="thumbs-down", interactive=False)
            ui.accept = gr.Button("Accept as normal…", size="sm", elem_id="accept", interactive=False)
            ui.export = gr.Button("Export report", size="sm", elem_id="export", interactive=False)
        with gr.Row():
            ui.label = gr.Radio([NO_LABEL, "normal", "defective"], value=NO_LABEL, label="Correct label", scale=2)
            ui.comment = gr.Textbox(label="Comment", lines=1, scale=3, elem_id="comment")
        ui.feedback_status = gr.Markdown(elem_id="feedback-status")
        with gr.Row(visible=False, elem_id="accept-confirm") as ui.confirm_row:
            ui.confirm = gr.Button("Yes, add to references", variant="primary", size="sm", elem_id="accept-yes")
            ui.cancel = gr.Button("Cancel", size="sm", elem_id="accept-no")
        ui.accept_status = gr.Markdown(elem_id="accept-status")
        with gr.Row(elem_id="normality", visible=False) as ui.normality_row:     # shown on load (`Roles.controls`)
            ui.normality_text = gr.Textbox(label="Acceptable here? What looks like a defect but is normal",
                                           placeholder="thin dark lines along the border are normal", lines=1,
                                           scale=4, elem_id="normality-text")
            ui.acceptable = gr.Button("Acceptable here", size="sm", scale=1, elem_id="acceptable", interactive=False)
        ui.normality_status = gr.Markdown(elem_id="normality-status")
        ui.report = gr.File(label="Report (HTML, images embedded)", interactive=False, visible=False,
                            elem_id="report-file")
    return ui


def _chat_column(inspector) -> SimpleNamespace:
    ui = SimpleNamespace()
    with gr.Row(equal_height=True):
        ui.class_pick = gr.Dropdown(class_choices(inspector), value="auto", label="Product class", scale=2,
                                    elem_id="class-pick")
        ui.class_note = gr.Markdown(elem_id="class-note", container=True)
    config = inspector.config
    ui.strategy = _strategy_controls(InspectOptions.from_config(config), config.retrieval.map.k,
                                     config.retrieval.text_map.provider != "none")
    ui.chatbot = gr.Chatbot(height=CHAT_HEIGHT, buttons=["copy", "copy_all"], elem_id="chat", show_label=False,
                            placeholder="Upload, drop or paste an image of a part below.")
    ui.error = gr.Markdown(visible=False, elem_id="chat-error", elem_classes=["nc-error"])
    ui.message = gr.MultimodalTextbox(file_types=["image", *inspector.input_suffixes()], file_count="single",
                                      sources=["upload"],
                                      placeholder="Drop, paste or attach an image of the part, or ask a follow-up…",
                                      show_label=False, elem_id="message")
    with gr.Row():
        ui.look = gr.Button("Look closer", size="sm", elem_id="look-closer")
        ui.regenerate = gr.Button("↻ Regenerate", size="sm", elem_id="regenerate")
        ui.new = gr.Button("New inspection", size="sm", elem_id="new-inspection")
    ui.operator = _operator_controls()
    return ui


def _evidence_column() -> SimpleNamespace:
    ui = SimpleNamespace()
    ui.card = gr.HTML(empty_card(), elem_id="verdict-card")
    ui.overlay = gr.Image(label="Anomaly overlay", interactive=False, type="filepath", height=280,
                          buttons=["fullscreen"], elem_id="overlay")
    ui.gallery = gr.Gallery(label="Nearest normal references", columns=4, height=210, format="png",
                            buttons=["fullscreen"], object_fit="contain", elem_id="references")
    ui.rules = gr.HTML(rules_table([]), elem_id="rules-panel", max_height=340)
    with gr.Accordion("Raw verdict JSON", open=False, elem_id="raw-accordion"):
        ui.raw = gr.Code(language="json", interactive=False, show_label=False, max_lines=30, wrap_lines=True,
                         buttons=["copy"], elem_id="raw-json")
    return ui


def _handlers(inspector, work_dir: Path, who: Roles, queue: InspectorQueue, inspections: InspectionCache) -> tuple:
    """The tabs' handlers: they share the Inspector lock and the inspection cache (sessions' states hold ids)."""
    images = ImageFolder(work_dir / "images")
    return (ChatHandlers(inspector, images, queue, inspections), HistoryView(inspector, images, who, inspections),
            RuleEditor(inspector, who), OperatorActions(inspector, work_dir / "reports", who, inspections, queue))


def create_app(inspector, *, work_dir: Path | None = None, roles: dict[str, str] | None = None,
               queue: InspectorQueue | None = None) -> gr.Blocks:
    """The Gradio app over `inspector` (not launched); shown images and reports go under `work_dir` (default: a
    new temp folder, which Gradio serves from). roles: each login's (ui/roles.py); none: one local engineer.
    queue: the Inspector lock (shared with the REST API; default a new one)."""
    work_dir = Path(work_dir or tempfile.mkdtemp(prefix="normalcy-ui-"))
    who = Roles(roles, text_map=inspector.config.retrieval.text_map.provider != "none")
    queue, inspections = queue or InspectorQueue(), InspectionCache(inspector, INSPECTIONS)
    chat, history, editor, actions = _handlers(inspector, work_dir, who, queue, inspections)
    with gr.Blocks(title="Normalcy — inspection chat", analytics_enabled=False, fill_width=True,
                   delete_cache=CACHE_SWEEP) as app:
        state = gr.State(None, time_to_live=SESSION_IDLE_S, delete_callback=inspections.release)
        browser_id = gr.BrowserState("", storage_key="normalcy-browser-id", secret=browser_secret(inspector.home))
        gr.Markdown("## Normalcy · is this part defective, and why?", elem_id="title")
        gr.Markdown(mode_notice(inspector), elem_id="mode-notice")
        with gr.Tabs(selected="inspect") as tabs:
            with gr.Tab("Inspect", id="inspect"):
                with gr.Row(equal_height=False, elem_id="inspect-row"):
                    with gr.Column(scale=5, min_width=420):
                        left = _chat_column(inspector)
                    with gr.Column(scale=4, min_width=340, elem_id="evidence-panel"):
                        right = _evidence_column()
            with gr.Tab("Rules", id="rules") as rules_tab:
                rules_ui = build_rules_tab(editor, editor.class_choices())
            with gr.Tab("History", id="history") as history_tab:
                history_ui = build_history_tab()
        outputs = [left.chatbot, left.message, state, left.class_note, right.card, right.overlay, right.gallery,
                   right.rules, right.raw, left.error]
        loaded = app.load(chat.start_session, browser_id, [state, browser_id, left.class_pick],
                          api_visibility="private")
        chat_events = _wire_chat(chat, left, state, outputs)
        _wire_operator(actions, left.operator, state, left.class_pick, left.strategy.overlay_style, queue)
        wire_rules_tab(editor, rules_ui, rules_tab, queue)
        reopened = wire_history_tab(history, history_ui, history_tab, state, outputs, tabs, queue)
        _wire_controls(who, actions, left.operator, rules_ui, state, loaded, [*chat_events, reopened])
        app.unload(released_on_close(app))
    app.inspections = inspections
    return app


def _wire_controls(who: Roles, actions: OperatorActions, ops, rules_ui, state, loaded, events: list) -> None:
    """What a login's role allows is set on load; the operator actions follow whether there is an inspection."""
    loaded.then(who.controls, None, [ops.accept, ops.normality_row, rules_ui.form, rules_ui.save, rules_ui.delete,
                                     rules_ui.read_only], api_visibility="private")
    for event in (loaded, *events):
        event.then(actions.availability, state, [ops.up, ops.down, ops.accept, ops.export, ops.acceptable,
                                                 ops.feedback_status, ops.label, ops.comment, ops.report],
                   api_visibility="private")


def released_on_close(app: gr.Blocks):
    """The app's unload handler: when a session's page (or API client) disconnects, its state and Gradio's
    record of it (a copy of every component's config, ~0.25 MB) are deleted at once, as Gradio does for the
    least recently used session past `SESSIONS` — not kept an hour, as Gradio keeps a closed session's.
    Deleting the state runs its delete callback, which drops the session's inspection from the cache. It is
    a coroutine, so it runs on the server's event loop, between (never during) Gradio's sweeps of expired
    state, which walk the same sessions without a lock."""
    async def release(request: gr.Request):
        holder, session = app.state_holder, request.session_hash
        holder.delete_state(session)
        with holder.lock:
            holder.session_data.pop(session, None)
            holder.time_last_used.pop(session, None)
    return release


def _wire_chat(chat: ChatHandlers, left, state, outputs) -> list:
    """-> the events that can start or end an inspection."""
    strategy = [left.strategy.switches, left.strategy.references, left.strategy.overlay_style]
    redraw = [left.strategy.overlay_style, state, left.strategy.overlay_map]
    left.strategy.overlay_style.change(chat.show_overlay, redraw, outputs[5])
    left.strategy.overlay_map.input(chat.show_overlay, redraw, outputs[5], api_visibility="private")
    left.look.click(chat.queue.serial(chat.look_closer), state, outputs)
    events = [left.message.submit(chat.send_message, [left.message, state, left.class_pick, *strategy], outputs),
              left.regenerate.click(chat.queue.serial(chat.regenerate), [state, *strategy], outputs),
              left.new.click(chat.new_inspection, state, outputs)]
    if left.strategy.overlay_map.visible:       # a new panel shows the fused map: redraw the one chosen
        for event in events[:2]:
            event.then(chat.show_overlay, redraw, outputs[5], api_visibility="private")
    return events


def _wire_operator(actions: OperatorActions, ui, state, class_pick, overlay_style, queue: InspectorQueue) -> None:
    ui.up.click(actions.thumbs_up, [ui.label, ui.comment, state], ui.feedback_status)
    ui.down.click(actions.thumbs_down, [ui.label, ui.comment, state], ui.feedback_status)
    ui.accept.click(actions.request_accept, state, [ui.confirm_row, ui.accept_status])
    ui.confirm.click(queue.serial(actions.confirm_accept), state, [ui.confirm_row, ui.accept_status, class_pick])
    ui.cancel.click(actions.cancel_accept, None, [ui.confirm_row, ui.accept_status])
    ui.acceptable.click(queue.serial(actions.acceptable_here), [ui.normality_text, state], ui.normality_status)
    ui.export.click(actions.export_report, [state, overlay_style], [ui.report, ui.feedback_status]).then(
        lambda report: gr.update(visible=bool(report)), ui.report, ui.report, api_visibility="private")


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int | None = None, auth=None, *,
           block: bool = True, quiet: bool = False, max_file_size: int | None = None, routes: list | None = None):
    """Serve the app: queued, local assets only, no share link, no analytics, no browser-side run history;
    uploads over `max_file_size` bytes are refused before they reach the inspector; with logins, sign-ins
    are throttled (ui/login_throttle.py). routes: served beside the chat (the REST API, ui/rest_api.py)."""
    from starlette.middleware import Middleware

    app.queue(default_concurrency_limit=4)
    extra = {"middleware": [Middleware(LoginThrottle)]} if auth else {}
    if routes:
        extra["routes"] = list(routes)
    return app.launch(server_name=host, server_port=port, share=False, auth=auth, prevent_thread_lock=not block,
                      max_file_size=max_file_size, quiet=quiet, show_error=True, ssr_mode=False, run_history=False,
                      mcp_server=False, pwa=False, enable_monitoring=False, footer_links=["api", "settings"], css=CSS,
                      app_kwargs=extra or None, state_session_capacity=SESSIONS,
                      auth_message="Normalcy: sign in with the user name and password the operator configured.")
