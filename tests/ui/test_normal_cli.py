"""`normalcy normal add | list | remove` in-process (the text space is the projected test space, so it runs
through `ui.cli.main`): exit codes, one-line refusals, and nothing written on bad input."""

import json

import pytest
from projected_text_space import install

from ui.cli import main

LINES = "thin dark lines along the border are normal"


@pytest.fixture
def cli(home_copy, tmp_path, monkeypatch, capsys):
    """-> run(*args, text_map=True) -> (exit code, stdout, stderr) over a private home."""
    install(monkeypatch)
    config = tmp_path / "text_map.yaml"
    config.write_text("retrieval:\n  text_map:\n    provider: clad\n")

    def run(*args, text_map: bool = True):
        options = ["--home", str(home_copy), *(["--config", str(config)] if text_map else [])]
        code = main([*options, *args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def _written(home):
    """What an addition writes: the normalities file, the operator rules file, normality lines in the run log."""
    log = [line for p in sorted((home / "runs").glob("*.jsonl")) for line in p.read_text().splitlines()
           if '"normality_' in line]
    rules = home / "rules" / "local.yaml"
    return ((home / "normalities.json").read_text() if (home / "normalities.json").exists() else None,
            rules.read_text() if rules.exists() else None, log)


def test_add_list_and_remove(cli, home_copy):
    code, out, _ = cli("normal", "add", LINES, "--class", "brick")
    assert code == 0 and "added normality brick-accepted_noise-local-1 to brick (version 1)" in out
    code, out, _ = cli("normal", "list", "--class", "brick")
    assert code == 0 and LINES in out and out.strip().endswith("1 normality")
    listed = json.loads(cli("normal", "list", "--json")[1])
    assert [(n["id"], n["class"], n["version"]) for n in listed] == [("brick-accepted_noise-local-1", "brick", 1)]
    assert listed[0]["who"] and listed[0]["when"].endswith("Z") and len(listed[0]["phrases"]) > 3
    stored = json.loads((home_copy / "normalities.json").read_text())
    assert stored["version"] == 1 and stored["normalities"] == listed
    assert "kind: accepted_noise" in (home_copy / "rules" / "local.yaml").read_text()
    code, out, _ = cli("normal", "remove", "brick-accepted_noise-local-1")
    assert code == 0 and "removed normality" in out
    assert json.loads(cli("normal", "list", "--json")[1]) == []
    assert json.loads((home_copy / "normalities.json").read_text())["version"] == 2
    assert [json.loads(line)["kind"] for line in _written(home_copy)[2]] == ["normality_added", "normality_removed"]


@pytest.mark.parametrize("args, text_map, message", [
    (("normal", "add", LINES, "--class", "marble"), True, "marble"),
    (("normal", "add", "   ", "--class", "brick"), True, "normality text is empty"),
    (("normal", "add", LINES, "--class", "brick"), False, "retrieval.text_map.provider"),
])
def test_a_refused_addition_writes_nothing(cli, home_copy, args, text_map, message):
    before = _written(home_copy)
    code, out, err = cli(*args, text_map=text_map)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
    assert _written(home_copy) == before == (None, None, [])


def test_removing_an_unknown_normality_is_one_line(cli, home_copy):
    cli("normal", "add", LINES, "--class", "brick")
    before = _written(home_copy)
    code, _, err = cli("normal", "remove", "brick-nothing-1")
    assert code == 2 and "no added normality 'brick-nothing-1'" in err and "brick-accepted_noise-local-1" in err
    assert _written(home_copy) == before
