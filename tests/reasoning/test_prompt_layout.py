"""Messages and prompt strategies: parts, order, and how each family's chat template renders them."""

from __future__ import annotations

import pytest
from tiny_vlm_factory import BUILDERS, IMAGE_MARKERS
from vlm_test_images import solid

from assistant.inspection.evidence import Sheet
from assistant.reasoning.prompt_builder import STRATEGIES, Strategy, build_messages, format_prompt, strategy
from assistant.verdict import MODEL_SCHEMA
from assistant.vlm.messages import ImagePart, Message, TextPart, count_images, layout_chunks, user
from retrieval.errors import ConfigError
from retrieval.rule import Rule

FAMILIES = list(BUILDERS)

RULES = [Rule("b-1", "bottle", "The rim is a smooth, unbroken circle.", "normality"),
         Rule("b-2", "bottle", "A crack or chip on the rim is a defect.", "defect", "critical"),
         Rule("b-3", "bottle", "Small reflections on the glass are fine.", "accepted_noise")]
# (strategy, images in the user turn) with 2 references and an overlay available
EXPECTED_IMAGES = {"naive": 1, "class": 1, "rules": 1, "reference": 3, "rules_reference": 3, "overlay": 4}


def _build(name, images):
    return build_messages(STRATEGIES[name], query=images["query"], class_name="bottle", question="Is the rim ok?",
                          rules=RULES, references=images["references"], overlay=images["overlay"])


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_each_strategy_has_the_parts_of_the_paper_ablation(name, images):
    messages = _build(name, images)
    assert [m.role for m in messages] == ["system", "user"]
    turn = messages[1]
    assert count_images(messages) == EXPECTED_IMAGES[name]
    text = turn.text
    assert ("bottle" in text) == (name != "naive")
    assert ("A crack or chip on the rim" in text) == (name in ("rules", "overlay", "rules_reference"))
    assert ("normal references of bottle" in text) == (name in ("reference", "rules_reference", "overlay"))
    assert ("hint from a patch-distance model" in text) == (name == "overlay")
    assert "Is the rim ok?" in text and format_prompt() in text


def test_image_order_is_references_then_query_then_overlay(images):
    turn = _build("overlay", images)[1]
    order = [p.image for p in turn.parts if isinstance(p, ImagePart)]
    assert order == [*images["references"], images["query"], images["overlay"]]
    labels = [p.label for p in turn.parts if isinstance(p, ImagePart)]
    assert labels[0].startswith("Reference 1") and labels[2] == "Image to inspect:" and "overlay" in labels[3]


@pytest.mark.parametrize("name, intro", [("overlay", "followed by the frame sheet of that video, and the last image is the "
                                                   "anomaly map overlay"),
                                         ("reference", "and the last image is the frame sheet of that video"),
                                         ("naive", None)])
def test_a_video_frame_sheet_follows_the_query_and_the_intro_says_where_it_lies(images, name, intro):
    sheet = solid((30, 30, 30), (200, 90))
    turn = build_messages(STRATEGIES[name], query=images["query"], class_name="bottle", references=images["references"],
                          overlay=images["overlay"], sheet=Sheet(sheet, "video"))[1]
    parts = [p for p in turn.parts if isinstance(p, ImagePart)]
    order = [p.image for p in parts]
    assert order[order.index(images["query"]) + 1] is sheet and len(order) == EXPECTED_IMAGES[name] + 1
    assert parts[order.index(sheet)].label.startswith("Frame sheet of the video")
    text = " ".join(turn.text.split())
    assert (intro in text) if intro else "The first" not in text
    still = " ".join(_build(name, images)[1].text.split())
    assert "frame sheet" not in still.lower()


# The video's sheet wording as it was before a point cloud's views shared the sheet (commit 0b6a2bc), verbatim
VIDEO_LABEL = ("Frame sheet of the video the image to inspect comes from (that image is its highest-scoring frame): "
               "every sampled frame in time order, each labelled with its time (mm:ss.s) and its anomaly score "
               "(1.00 = the class limit; \"scene\" marks a scene change); frames outlined in red score at or over "
               "the class limit.")
VIDEO_INTROS = {
    "reference": "The first 2 images are normal references of bottle; the next image is the one to inspect (a frame "
                 "of a video), and the last image is the frame sheet of that video.",
    "overlay": "The first 2 images are normal references of bottle; the next image is the one to inspect (a frame of "
               "a video), followed by the frame sheet of that video, and the last image is the anomaly map overlay "
               "of the image to inspect.",
    "overlay_only": "The image to inspect (a frame of a video) is followed by the frame sheet of that video and then "
                    "by the anomaly map overlay of the image to inspect.",
    "naive": None}


def _turn(name, images, sheet=None):
    chosen = Strategy("overlay_only", class_context=True, overlay=True) if name == "overlay_only" else STRATEGIES[name]
    return build_messages(chosen, query=images["query"], class_name="bottle", question="Is the rim ok?", rules=RULES,
                          references=images["references"], overlay=images["overlay"], sheet=sheet)[1]


@pytest.mark.parametrize("name", list(VIDEO_INTROS))
def test_the_video_prompt_is_word_for_word_what_it_was(images, name):
    """The still image's prompt, its intro swapped for the video's and the sheet's label after the query: nothing
    else of the text moved."""
    still, video = _turn(name, images), _turn(name, images, Sheet(solid((30, 30, 30), (200, 90)), "video"))
    words = [getattr(part, "text", None) or part.label for part in video.parts]
    expected = [getattr(part, "text", None) or part.label for part in still.parts]
    expected.insert(expected.index("Image to inspect:") + 1, VIDEO_LABEL)
    if VIDEO_INTROS[name]:
        intro = next(i for i, text in enumerate(expected) if text.startswith(("The first", "The image to inspect is")))
        expected[intro] = VIDEO_INTROS[name]
    assert words == expected


@pytest.mark.parametrize("name", list(VIDEO_INTROS))
def test_a_point_cloud_s_views_follow_the_query_in_the_words_of_a_point_cloud(images, name):
    views = solid((30, 30, 90), (200, 220))
    turn = _turn(name, images, Sheet(views, "point_cloud"))
    order = [p.image for p in turn.parts if isinstance(p, ImagePart)]
    assert order[order.index(images["query"]) + 1] is views
    label = next(p.label for p in turn.parts if isinstance(p, ImagePart) and p.image is views)
    assert label.startswith("Views of the point cloud the image to inspect is rendered from: top (the image to "
                            "inspect), front, side and oblique") and "red box" in label
    text = " ".join(turn.text.split())
    assert "video" not in text.lower() and "frame" not in text.lower()
    if VIDEO_INTROS[name]:
        assert "views of that point cloud" in text and "(a depth render of a point cloud, seen from above)" in text


def test_a_sheet_of_a_modality_without_wording_is_a_config_error(images):
    with pytest.raises(ConfigError, match="no prompt wording for a sheet of modality 'time_series'"):
        _turn("overlay", images, Sheet(solid((0, 0, 0), (8, 8)), "time_series"))


def test_rules_are_grouped_by_kind_in_a_fixed_order(images):
    text = _build("rules", images)[1].text
    assert text.index("smooth, unbroken") < text.index("crack or chip") < text.index("reflections")
    assert "(severity: critical)" in text


def test_format_prompt_is_generated_from_the_schema():
    import json

    prompt = format_prompt()
    assert json.dumps(MODEL_SCHEMA, separators=(", ", ": ")) in prompt
    assert all(field in prompt for field in MODEL_SCHEMA["properties"])


def test_switched_on_evidence_that_is_missing_is_left_out(images):
    messages = build_messages(Strategy(references=True, overlay=True, rules=True), query=images["query"])
    assert count_images(messages) == 1 and "Expert rules" not in messages[1].text


def test_unknown_strategy_is_a_config_error():
    with pytest.raises(ConfigError, match="naive"):
        strategy("everything")


def test_message_rejects_unknown_roles_and_parts():
    with pytest.raises(ValueError):
        Message("tool", (TextPart("x"),))
    with pytest.raises(TypeError):
        Message("user", ("plain string",))


def test_images_first_layout_turns_labels_into_a_numbered_legend():
    a, b = solid((1, 2, 3)), solid((4, 5, 6))
    chunks = layout_chunks(user(ImagePart(a, "Reference 1"), ImagePart(b, "Query"), "Defective?"), "images_first")
    assert [kind for kind, _ in chunks] == ["image", "image", "text"]
    assert chunks[2][1] == "Image 1: Reference 1\nImage 2: Query\nDefective?"


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("name", ["naive", "reference", "overlay"])
def test_chat_template_renders_one_image_marker_per_image_in_order(tiny_backend, images, family, name):
    backend = tiny_backend(family)
    messages = _build(name, images)
    rendered = backend.render(messages)
    assert rendered.count(IMAGE_MARKERS[family]) == EXPECTED_IMAGES[name]
    assert rendered.index("Operator's question") > rendered.index("Image to inspect")
    if name != "naive":
        assert rendered.index("Reference 1") < rendered.index("Reference 2") < rendered.index("Image to inspect")
    inputs = backend.encode(messages)  # the processor expands each marker into the image's tokens
    config = backend.model.config
    image_token = getattr(config, "image_token_id", None) or config.image_token_index
    n_image_tokens = int((inputs["input_ids"] == image_token).sum())
    per_image = n_image_tokens // EXPECTED_IMAGES[name]  # all test images have the same size
    assert per_image >= 1 and n_image_tokens == per_image * EXPECTED_IMAGES[name]
