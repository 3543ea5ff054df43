"""Many line machines, one Chroma server: a real `chroma run` on loopback, homes in separate processes.

Two homes share the server and one shared folder: each inspects with the references the other ingested,
adding references from one never breaks the other, rules and calibration are one set for both, and a
line's own shipped rules survive another line's sync. `normalcy store migrate` moves an embedded home onto
a server (twice = once), refuses an unreachable server or another encoder's data, and a server that dies
mid-way leaves nothing visible on it.
"""

from __future__ import annotations

import json

import pytest
import yaml
from PIL import Image

from chroma_server import ChromaServer, HomeProcess
from conftest import brick_tiles


@pytest.fixture()
def server(tmp_path):
    chroma = ChromaServer(tmp_path / "chroma")
    yield chroma
    chroma.stop()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("line_images")
    tiles = brick_tiles()
    for folder, indices in (("a", range(0, 8)), ("b", range(8, 14)), ("q", range(14, 15))):
        (root / folder).mkdir()
        for i in indices:
            Image.fromarray(tiles[i]).save(root / folder / f"{folder}{i}.png")
    return root


def rules_folder(path, *rules):
    path.mkdir(parents=True)
    (path / "rules.yaml").write_text(yaml.safe_dump({"rules": [
        {"id": rid, "class": "brick", "kind": "defect", "severity": "major", "text": text} for rid, text in rules]}))
    return str(path)


def verdict(result) -> dict:
    assert result["rc"] == 0, result["err"][-600:]
    found = json.loads(result["out"])
    return {key: found[key] for key in ("correctness", "anomaly_score", "threshold", "map_score")}


def test_two_lines_share_references_rules_and_calibration(server, tmp_path, images):
    shared = tmp_path / "shared"
    shared.mkdir()
    shipped = rules_folder(tmp_path / "shipped", ("brick-defect-crack", "A crack is a defect."))
    line_two = rules_folder(tmp_path / "line2-shipped", ("brick-defect-crack", "A crack is a defect."),
                            ("brick-defect-line2-burn", "Burn marks from kiln 2 are a defect."))
    a = HomeProcess(tmp_path / "home_a", server.config(tmp_path, shared, rules_dir=shipped))
    b = HomeProcess(tmp_path / "home_b", server.config(tmp_path, shared, rules_dir=line_two))
    try:
        query = str(images / "q" / "q14.png")
        assert a.run("ingest", str(images / "a"), "--class", "brick")["rc"] == 0
        seen_by_b = verdict(b.run("inspect", query, "--class", "brick", "--json"))
        assert seen_by_b == verdict(a.run("inspect", query, "--class", "brick", "--json"))

        added = b.run("ingest", str(images / "b"), "--class", "brick")
        assert added["rc"] == 0 and "6 added" in added["out"], added["err"][-600:]
        after = verdict(a.run("inspect", query, "--class", "brick", "--json"))
        assert after == verdict(b.run("inspect", query, "--class", "brick", "--json"))
        assert after["threshold"] != seen_by_b["threshold"]          # A sees B's references, recalibrated once

        assert b.run("rules", "add", "Chipped corners are a defect.", "--class", "brick", "--kind", "defect",
                     "--id", "brick-defect-chip")["rc"] == 0
        listed_by_a = a.run("rules", "list", "--class", "brick", "--json")        # A's rule sync runs here
        ids = {rule["id"] for rule in json.loads(listed_by_a["out"])}
        assert {"brick-defect-chip", "brick-defect-line2-burn", "brick-defect-crack"} <= ids
        assert a.run("rules", "add", "Glaze drips are a defect.", "--class", "brick", "--kind", "defect")["rc"] == 0
        ids_b = {rule["id"] for rule in json.loads(b.run("rules", "list", "--class", "brick", "--json")["out"])}
        assert ids | {"brick-defect-local-1"} <= ids_b      # nothing of B's went with A's sync and add

        record_a = json.loads(a.run("calibration", "show", "brick", "--json")["out"])
        record_b = json.loads(b.run("calibration", "show", "brick", "--json")["out"])
        assert record_a == record_b and record_a["n_references"] == 14
        assert json.loads((shared / "calibration.json").read_text())["brick"]["digest"] == record_a["digest"]
        assert not any((tmp_path / home / "calibration.json").exists() for home in ("home_a", "home_b"))
    finally:
        a.close()
        b.close()


def test_server_needs_a_shared_folder_that_exists(server, tmp_path, images):
    from assistant.config import load_config
    from assistant.home import Home
    from assistant.inspector import Inspector
    from retrieval.errors import BadInput

    line = Inspector(load_config(server.config(tmp_path, tmp_path / "not-mounted")), Home(tmp_path / "home"))
    with pytest.raises(BadInput, match="not-mounted.*does not exist") as refused:
        line.references.ingest([("brick", images / "a" / "a0.png")])
    assert refused.value.exit_code == 2 and "\n" not in str(refused.value)
    assert not (tmp_path / "not-mounted").exists()


def test_migrate_an_embedded_home_then_inspect_from_another(server, tmp_path, home_copy, inspector, texture_set):
    shared = tmp_path / "shared"
    shared.mkdir()
    embedded_home = HomeProcess(home_copy)
    try:
        moved = embedded_home.run("store", "migrate", "--to", server.address, "--shared", str(shared))
        again = embedded_home.run("store", "migrate", "--to", server.address, "--shared", str(shared))
    finally:
        embedded_home.close()
    assert moved["rc"] == 0 and "brick: +14" in moved["out"] and "calibration kept for 1" in moved["out"], moved["err"]
    assert again["rc"] == 0 and "brick: +0" in again["out"] and " 0 file(s)" in again["out"], again["err"]

    from assistant.config import load_config
    from assistant.home import Home
    from assistant.inspector import Inspector

    query = texture_set / "test" / "defect" / "defect_0.png"
    line_two = Inspector(load_config(server.config(tmp_path, shared)), Home(tmp_path / "line2"))
    found = line_two.inspect(query, "brick").verdict        # this process is not the one that migrated
    embedded = inspector.inspect(query, "brick").verdict
    assert found.correctness == embedded.correctness == 0
    assert found.anomaly_score == pytest.approx(embedded.anomaly_score, abs=1e-3)
    assert not (tmp_path / "line2" / "features").exists()   # line 2 reads the shared copies and features



def test_migrate_refuses_in_one_line_and_a_server_dying_mid_way_changes_nothing(server, tmp_path, home_copy):
    from dataclasses import replace

    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.inspector import Inspector
    from chroma_server import free_port
    from retrieval.chroma_client import open_client
    from retrieval.config import StoreConfig
    from retrieval.errors import BadInput, NormalcyError
    from retrieval.reference_layout import collection_name

    shared = tmp_path / "shared"
    shared.mkdir()
    embedded = Inspector(replace(NormalcyConfig(), rules_dir=rules_folder(tmp_path / "shipped", ("brick-defect-crack",
                                                                                                 "A crack is a defect."))),
                         Home(home_copy))
    embedded.rule_book.list()                     # the embedded store gets its rules collection: two to move
    library = embedded.references
    with pytest.raises(NormalcyError, match="cannot reach the Chroma server") as unreachable:
        library.migrate_to(f"127.0.0.1:{free_port()}", str(shared))
    assert unreachable.value.exit_code == 2
    client = open_client(None, StoreConfig(host=server.host, port=server.port))
    client.create_collection(collection_name("brick"), embedding_function=None,
                             metadata={"class": "brick", "encoder": "another-encoder", "version": 0})
    with pytest.raises(BadInput, match="another encoder.*another-encoder"):
        library.migrate_to(server.address, str(shared))
    assert not (shared / "features").exists() and not (shared / "references").exists()    # nothing copied
    client.delete_collection(collection_name("brick"))

    with pytest.raises(NormalcyError, match="was not changed: run it again"):
        library.migrate_to(server.address, str(shared), progress=lambda name: server.stop())
    server.start()
    client = open_client(None, StoreConfig(host=server.host, port=server.port))
    assert not [c.name for c in client.list_collections() if not c.name.startswith("migrate-")]
    assert not (shared / "calibration.json").exists()
    report = library.migrate_to(server.address, str(shared))
    assert report.added == {"brick": 14, "rules": 1}
    assert sorted(c.name for c in client.list_collections()) == sorted([collection_name("brick"), "rules"])
    assert json.loads((shared / "calibration.json").read_text())["brick"]["n_references"] == 14
