"""Architecture checks: imports point one way, `ui/` goes through the facade, each `assistant/`
subpackage imports only what its docstring's "May import:" line names, heavy libraries stay at their
boundary, size budget."""

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("retrieval", "assistant", "ui")
FORBIDDEN = {"retrieval": ("assistant", "ui"), "assistant": ("ui",), "ui": ()}
# heavy library -> the only places allowed to import it
BOUNDARIES = {
    "transformers": ("assistant/vlm/", "retrieval/encoders/text_encoder.py",
                     "retrieval/encoders/transformers_encoder.py"),
    "gradio": ("ui/",),
    "chromadb": ("retrieval/",),
    "open_clip": ("retrieval/encoders/",),
    "sentence_transformers": ("retrieval/encoders/",),
    "av": ("assistant/modalities/video_frames.py",),
}
# the door `ui/` uses into `assistant/`: the facade and the contracts it hands out
FACADE = ("assistant.inspector", "assistant.model_catalog", "assistant.config", "assistant.home",
          "assistant.inspect_options", "assistant.verdict")
# what `ui/` may use of `retrieval/`: typed errors, vocabularies and file writing — never stores or caches
UI_RETRIEVAL = ("retrieval.errors", "retrieval.rule", "retrieval.overlay", "retrieval.atomic_file",
                "retrieval.offline")
# attributes of the Inspector that are its internals, not its door
INSPECTOR_INTERNALS = ("workspace", "gatherer", "scorer", "thresholds", "reasoner", "_backend", "log")
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


def _ui_sources():
    return sorted((REPO / "ui").rglob("*.py"))


def _subpackages():
    return sorted(p.parent for p in (REPO / "assistant").glob("*/__init__.py"))


def _may_import(package: Path) -> tuple[str, ...]:
    """The names after "May import:" in the package docstring (comma-separated dotted names)."""
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    found = re.search(r"May import:(.*?)\.(?:\s|$)", doc, re.S)   # ends at a full stop, not a dotted name
    assert found, f"{package}/__init__.py: its docstring must say what it may import ('May import: ...')"
    return tuple(name.strip() for name in found.group(1).replace("\n", " ").split(",") if name.strip())


def _within(name: str, allowed) -> bool:
    return any(name == a or name.startswith(a + ".") for a in allowed)


@pytest.mark.parametrize("path", _ui_sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_ui_uses_the_facade_only(path):
    for name in _imports(path):
        if name.split(".")[0] == "assistant":
            assert _within(name, FACADE), f"{path}: ui imports {name}; use the Inspector ({', '.join(FACADE)})"
        if name.split(".")[0] == "retrieval":
            assert _within(name, UI_RETRIEVAL), f"{path}: ui imports {name}; stores and caches are the Inspector's"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in INSPECTOR_INTERNALS:
            pytest.fail(f"{path}:{node.lineno} reaches into .{node.attr}; ask the Inspector instead")


@pytest.mark.parametrize("package", _subpackages(), ids=lambda p: p.name)
def test_subpackages_import_what_their_docstring_allows(package):
    allowed = (*_may_import(package), f"assistant.{package.name}")
    for path in package.rglob("*.py"):
        for name in _imports(path):
            if name.split(".")[0] in ("assistant", "retrieval"):
                assert _within(name, allowed), f"{path}: imports {name}; {package.name}/ may import {allowed}"


def test_the_top_level_docstring_tells_the_flow():
    doc = ast.get_docstring(ast.parse((REPO / "assistant" / "__init__.py").read_text()))
    for where in ("inspector.py", "inspection/", "reasoning/", "records/", "vlm/"):
        assert where in doc


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
