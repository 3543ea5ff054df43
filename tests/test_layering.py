"""Architecture checks: imports point one way, heavy libraries stay at their boundary, size budget."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("retrieval", "assistant", "ui")
FORBIDDEN = {"retrieval": ("assistant", "ui"), "assistant": ("ui",), "ui": ()}
# heavy library -> the only places allowed to import it
BOUNDARIES = {
    "transformers": ("assistant/vlm/", "retrieval/encoders/text_encoder.py"),
    "gradio": ("ui/",),
    "chromadb": ("retrieval/",),
    "open_clip": ("retrieval/encoders/",),
    "sentence_transformers": ("retrieval/encoders/",),
}
MAX_FILE_LINES = 300
MAX_FUNCTION_LINES = 40


def _sources():
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_point_one_way(path):
    package = path.relative_to(REPO).parts[0]
    for name in _imports(path):
        assert name.split(".")[0] not in FORBIDDEN[package], f"{path}: {package} must not import {name}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_heavy_libraries_stay_at_their_boundary(path):
    relative = str(path.relative_to(REPO))
    for name in _imports(path):
        allowed = BOUNDARIES.get(name.split(".")[0])
        if allowed is not None:
            assert relative.startswith(allowed), f"{relative} imports {name}; only {allowed} may"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_size_budget(path):
    lines = path.read_text().splitlines()
    assert len(lines) <= MAX_FILE_LINES, f"{path}: {len(lines)} lines (budget {MAX_FILE_LINES})"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{path}:{node.lineno} {node.name} is {length} lines"


def test_no_module_is_named_like_a_junk_drawer():
    junk = [p for p in _sources() if p.stem in ("utils", "helpers", "common", "misc")]
    assert not junk
