"""Reasoning: asking a language model about gathered evidence, and holding the conversation after.

`prompt_builder` (with the prose in `prompts/*.yaml`) lays the evidence out under a strategy of the
source paper; `conversation` keeps one inspection's chat over a backend; `answer_parser` turns the model's
words into the verdict schema; `model_reasoner` builds the model's verdict; `model_threshold` calibrates
P(anomalous) per class on normal references; `score_fusion` fuses it with the map score;
`resumed_session` rebuilds a conversation reopened from the log.

May import: retrieval, assistant.vlm, assistant.inspection, assistant.config, assistant.home,
assistant.verdict, assistant.workspace.
"""
