"""Use cases behind the browser chat, at the assistant level: per-request options (never mutating the
shared config), the automatic class, the rule book's read-only shipped rules, history read back from the
run log (retracted turns, feedback validation, owners)."""

import dataclasses
import shutil

import pytest
from PIL import Image

from assistant.inspection.class_guess import vote
from assistant.config import NormalcyConfig
from assistant.home import Home
from assistant.inspect_options import InspectOptions
from assistant.inspector import Inspector
from assistant.reasoning.prompt_builder import STRATEGIES
from retrieval.errors import BadInput


def test_options_map_to_the_papers_strategies_or_a_custom_one():
    config = NormalcyConfig()
    assert InspectOptions.from_config(config).strategy_name == config.vlm.strategy == "overlay"
    assert InspectOptions(overlay=False).strategy_name == "rules_reference"
    assert InspectOptions(class_context=False, rules=False, reference_images=0, overlay=False).strategy_name == "naive"
    custom = InspectOptions(class_context=False, rules=True, reference_images=3, overlay_style="box")
    assert custom.strategy_name == "custom-c0r1f1o1" and custom.strategy().rules and not custom.strategy().class_context
    applied = custom.apply(config)
    assert (applied.vlm.reference_images, applied.vlm.overlay_style) == (3, "box")
    assert config.vlm.reference_images == 2 and applied.hash() != config.hash()
    assert InspectOptions.from_dict(custom.to_dict()) == custom
    for name, strategy in STRATEGIES.items():
        options = InspectOptions(strategy.class_context, strategy.rules, 2 if strategy.references else 0,
                                 strategy.overlay)
        assert options.strategy_name == name and dataclasses.replace(options.strategy(), name=name) == strategy
    with pytest.raises(BadInput, match="overlay style"):
        InspectOptions(overlay_style="sparkles")


def test_the_class_vote_is_a_majority_with_ties_to_the_nearest():
    assert vote([("a", 0.1), ("b", 0.2), ("b", 0.3)]).class_name == "b"
    guess = vote([("a", 0.1), ("b", 0.05), ("a", 0.3), ("b", 0.4)])
    assert (guess.class_name, guess.similarity, guess.votes, guess.of) == ("b", 0.95, 2, 4)


@pytest.fixture
def two_class_inspector(ready_home, tmp_path):
    import skimage.data

    from assistant.demo.synthetic_defect import tiles

    shutil.copytree(ready_home.root, tmp_path / "home")
    inspector = Inspector(NormalcyConfig(), Home(tmp_path / "home"))
    grass = tiles(skimage.data.grass(), 96)
    for i, tile in enumerate(grass[:6]):
        Image.fromarray(tile).save(tmp_path / f"grass_{i}.png")
    inspector.references.ingest([("grass", tmp_path / f"grass_{i}.png") for i in range(6)])
    Image.fromarray(grass[10]).save(tmp_path / "grass_query.png")
    return inspector


def test_the_automatic_class_is_the_nearest_over_all_classes(two_class_inspector, texture_set, tmp_path):
    brick = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    assert two_class_inspector.guess_class(brick)[0] == "brick"
    name, similarity = two_class_inspector.guess_class(tmp_path / "grass_query.png")
    assert name == "grass" and 0.0 < similarity <= 1.0


def test_shipped_rules_are_read_only_in_the_rule_book(ready_home, tmp_path):
    shutil.copytree(ready_home.root, tmp_path / "home")
    book = Inspector(NormalcyConfig(), Home(tmp_path / "home")).rule_book
    shipped = [e for e in book.entries("brick") if not e.editable]
    assert shipped and not [e for e in book.entries("brick") if e.editable]
    with pytest.raises(BadInput, match="read-only"):
        book.update(shipped[0].rule.id, "changed", "defect", "major")
    with pytest.raises(BadInput, match="already exists"):
        book.add("again", "brick", "defect", rule_id=shipped[0].rule.id)
    added = book.add("A chip on any edge is a defect.", "*", "defect")
    assert added.id == "any-defect-local-1" and book.entries("brick")[-1].editable


def test_history_applies_retracted_turns_and_validates_feedback(ready_home, texture_set, tmp_path):
    shutil.copytree(ready_home.root, tmp_path / "home")
    inspector = Inspector(NormalcyConfig(), Home(tmp_path / "home"))
    image = sorted((texture_set / "test" / "defect").glob("*.png"))[0]
    inspection = inspector.inspect(image, "brick")
    "".join(inspector.ask(inspection, "first?"))
    "".join(inspector.ask(inspection, "second?"))
    assert inspector.retract_last_turn(inspection)[0] == "second?" and len(inspection.turns) == 1
    "".join(inspector.ask(inspection, "second, again?"))
    inspector.history.claim(inspection.id, "user:alice")
    past = inspector.history.get(inspection.id, "user:alice")
    assert [q for q, _ in past.turns] == ["first?", "second, again?"] and past.summary()["turns"] == 2
    assert inspector.history.list("user:bob") == []
    with pytest.raises(BadInput, match="rating"):
        inspector.feedback(inspection.id, "meh")
    with pytest.raises(BadInput, match="label"):
        inspector.feedback(inspection.id, "down", "broken")
    reopened = inspector.reopen(inspection.id, "user:alice")
    assert reopened.id == inspection.id and reopened.verdict == inspection.verdict and len(reopened.turns) == 2
