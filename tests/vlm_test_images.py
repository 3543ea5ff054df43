"""Synthetic images for the VLM tests (a module with a unique name: tests/ has no packages)."""

from __future__ import annotations

from PIL import Image


def solid(color=(128, 128, 128), size=(96, 72)) -> Image.Image:
    """A single-colour RGB image; tests tell images apart by colour."""
    return Image.new("RGB", size, color)
