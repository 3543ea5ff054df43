"""Resuming the conversation of an inspection reopened from the run log (e.g. after a restart).

The model's session is rebuilt from re-gathered evidence: the same prompt (query, a video's frame sheet or a
point cloud's views as the run log kept them, references, overlay, rules), then the logged verdict as the
model's first answer, then the logged turns, so a follow-up question is asked with the images and the
earlier conversation in context.
The zoomed crops of earlier "look closer" turns are not logged, so those turns come back as text only.
"""

from __future__ import annotations

import json


def resume_session(reasoner, evidence, verdict: dict, turns: list[tuple[str, str]], question: str | None,
                   options=None, sheet=None):
    """-> a `Session` positioned after the logged verdict and turns, prompted with the logged `options`
    (`InspectOptions` the inspection was made with; None: the configured ones) and the stored `Sheet`."""
    from assistant.vlm.messages import assistant, user

    session = reasoner.session(evidence, question, options=options, sheet=sheet)
    answer = {"reasoning": verdict["reasoning"], "correctness": verdict["correctness"]}
    session.history.append(assistant(json.dumps(answer)))
    for asked, answered in turns:
        session.history += [user(asked), assistant(answered)]
    return session
