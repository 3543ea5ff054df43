"""Prompt templates as data (YAML of named templates with `{placeholders}`), read by `assistant.reasoning.prompt_builder`."""
