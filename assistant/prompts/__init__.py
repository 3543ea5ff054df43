"""Prompt templates as data (YAML of named templates with `{placeholders}`), read by `assistant.prompt_builder`."""
