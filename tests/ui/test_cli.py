"""The `normalcy` console script, through its real entry point in subprocesses."""

import json
import sys

from cli_runner import run_cli


def test_help_starts_without_torch():
    import subprocess

    code = ("import sys; from ui.cli import main; rc = main(['--help']);"
            "heavy = [m for m in ('torch', 'transformers', 'chromadb', 'gradio') if m in sys.modules];"
            "print(heavy); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "ingest" in done.stdout and "inspect" in done.stdout
    assert done.stdout.strip().endswith("[]"), done.stdout


def test_ingest_then_inspect_json_prints_exactly_one_contract_object(tmp_path, texture_set):
    home = str(tmp_path / "cli_home")
    done = run_cli("--home", home, "ingest", str(texture_set / "train"), "--class", "brick")
    assert done.returncode == 0, done.stderr
    assert "brick: 14 added" in done.stdout and "threshold" in done.stdout
    again = run_cli("--home", home, "ingest", str(texture_set / "train"), "--class", "brick")
    assert "brick: 0 added, 14 already present" in again.stdout

    defect = sorted((texture_set / "test" / "defect").glob("*.png"))[0]
    overlay = tmp_path / "overlay.png"
    done = run_cli("--home", home, "inspect", str(defect), "--class", "brick", "--json", "--overlay", str(overlay))
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)                          # the whole stdout is one JSON object
    for key in ("reasoning", "correctness", "anomaly_score", "threshold", "status", "references", "rules"):
        assert key in verdict
    assert verdict["status"] == "vision_only" and verdict["correctness"] in (0, 1)
    assert len(verdict["references"]) == 8 and overlay.is_file()
    log = list((tmp_path / "cli_home" / "runs").glob("*.jsonl"))
    assert log and json.loads(log[0].read_text().splitlines()[-1])["verdict"] == verdict


def test_human_output_shows_the_verdict(tmp_path, ready_home, texture_set):
    good = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    done = run_cli("--home", str(ready_home.root), "inspect", str(good), "--class", "brick")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(("PASS", "FAIL")) and "x threshold" in done.stdout


def _one_line_error(done, *fragments):
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert done.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_bad_input_is_one_line_and_exit_code_2(tmp_path, ready_home, texture_set):
    home = str(ready_home.root)
    good = str(sorted((texture_set / "test" / "good").glob("*.png"))[0])
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"")
    _one_line_error(run_cli("--home", home, "inspect", str(broken), "--class", "brick"), "empty (0 bytes)")
    _one_line_error(run_cli("--home", home, "inspect", good, "--class", "bottle"), "known classes: brick")
    _one_line_error(run_cli("--home", str(tmp_path / "empty"), "inspect", good, "--class", "brick", "--json"),
                    "is empty", "normalcy ingest")
    _one_line_error(run_cli("--home", home, "--config", str(tmp_path / "nope.yaml"), "inspect", good,
                            "--class", "brick"), "does not exist")
    _one_line_error(run_cli("--home", str(tmp_path / "h2"), "ingest", str(tmp_path / "missing"), "--class", "x"),
                    "is not a folder")


def test_rules_add_persists_to_yaml_and_store(tmp_path, texture_set):
    home = tmp_path / "rules_home"
    done = run_cli("--home", str(home), "rules", "add", "A chipped brick corner is a defect.",
                   "--class", "brick", "--kind", "defect", "--severity", "major")
    assert done.returncode == 0, done.stderr
    assert "brick-defect-local-1" in done.stdout and (home / "rules" / "local.yaml").is_file()
    listed = run_cli("--home", str(home), "rules", "list", "--class", "brick", "--json")
    ids = [rule["id"] for rule in json.loads(listed.stdout)]
    assert "brick-defect-local-1" in ids and any(i.startswith("brick-") for i in ids if "local" not in i)


def test_demo_builds_a_store_and_explains_a_rejection(tmp_path):
    home = tmp_path / "demo_home"
    done = run_cli("--home", str(home), "demo", "--source", "textures")
    assert done.returncode == 0, done.stderr
    assert "brick: 14 added" in done.stdout and "as expected" in done.stdout
    assert "Why, for the first rejected part:" in done.stdout and "FAIL" in done.stdout
    assert len(done.stdout.split("score")) >= 7            # six inspected tiles, each with its score
    again = run_cli("--home", str(home), "demo", "--source", "textures")
    assert "brick: 0 added, 14 already present" in again.stdout
