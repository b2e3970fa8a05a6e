import json

import pytest

from models.annotations.types import DRUM_CLASSES
from models.decoders.vocabulary import ChordVocabulary
from models.errors import ConfigError, OverwriteError
from models.frontend import FrontEndConfig
from models.runtime.card import ModelCard, default_labels, load_card, save_card


def card_dict(**changes) -> dict:
    frontend = FrontEndConfig(n_bins=48).to_dict()
    data = {
        "schema_version": 1,
        "task": "drums",
        "name": "drums-tiny",
        "labels": list(DRUM_CLASSES[:3]),
        "sample_rate_hz": 16000,
        "hop_samples": 160,
        "frontend": frontend,
        "net": {"task": "drums", "n_outputs": 3, "n_bins": 48, "lookahead_frames": 2,
                "temporal_channels": [12, 10]},
        "lookahead_frames": 2,
        "receptive_field_frames": 9,
        "latency_ms": 72.0,
        "state_shapes": [[1, 1, 2, 48], [1, 12, 4]],
        "n_parameters": 1234,
        "macs_per_second": 567800,
        "file_bytes": 4096,
        "training": {"data": "synthetic", "seed": 3, "best_epoch": 7},
        "metrics": {"f1": 0.75},
        "decoder": {"threshold": 0.4, "delay_frames": 2},
        "pruning_history": [{"round": 1, "fraction_kept": 0.8}],
        "featherlight_version": "0.1.0",
        "created_utc": "2026-11-24T18:00:00Z",
    }
    data.update(changes)
    return data


def write(tmp_path, data, name="m.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_round_trip_keeps_every_field(tmp_path):
    card = load_card(write(tmp_path, card_dict()))
    assert card.task == "drums"
    assert card.labels == ("kick", "snare", "hihat")
    assert card.state_shapes == ((1, 1, 2, 48), (1, 12, 4))
    assert card.n_outputs == 3 and card.n_bins == 48
    assert card.frame_rate_hz == 100.0
    assert card.frontend_config() == FrontEndConfig(n_bins=48)
    assert card.pruning_history == ({"round": 1, "fraction_kept": 0.8},)
    out = save_card(card, tmp_path / "copy.json")
    again = load_card(out)
    assert again == card
    assert again.to_dict() == card_dict()
    assert list(json.loads(out.read_text()))[0] == "schema_version"


def test_to_dict_is_a_deep_copy(tmp_path):
    card = load_card(write(tmp_path, card_dict()))
    d = card.to_dict()
    d["metrics"]["f1"] = 0.0
    d["labels"].append("x")
    assert card.metrics == {"f1": 0.75}
    assert card.labels == ("kick", "snare", "hihat")


def test_save_refuses_to_overwrite(tmp_path):
    card = load_card(write(tmp_path, card_dict()))
    target = write(tmp_path, {"user": "file"}, "mine.json")
    with pytest.raises(OverwriteError, match="overwrite"):
        save_card(card, target)
    assert json.loads(target.read_text()) == {"user": "file"}
    save_card(card, target, overwrite=True)
    assert load_card(target) == card
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


@pytest.mark.parametrize("changes, words", [
    ({"schema_version": 2}, ["schema_version", "2", "re-export"]),
    ({"task": "melody", "net": {"task": "melody", "n_outputs": 3, "n_bins": 48, "lookahead_frames": 2}},
     ["'task'", "melody", "pitch, chords, drums, onsets"]),
    ({"labels": ["kick", "snare"]}, ["'labels'", "2 outputs", "3"]),
    ({"labels": ["snare", "kick", "hihat"]}, ["'labels'", "DRUM_CLASSES"]),
    ({"labels": ["kick", "kick", "hihat"]}, ["'labels'", "repeats"]),
    ({"frontend": {**FrontEndConfig(n_bins=48).to_dict(), "n_bins": 400}}, ["'frontend'", "Nyquist"]),
    ({"frontend": {"n_bins": 48, "colour": "red"}}, ["'frontend'", "colour"]),
    ({"hop_samples": 128}, ["hop_samples", "128"]),
    ({"net": {"task": "drums", "n_outputs": 3, "n_bins": 96, "lookahead_frames": 2}}, ["'net'", "96 bins"]),
    ({"net": {"task": "onsets", "n_outputs": 3, "n_bins": 48, "lookahead_frames": 2}}, ["'net'", "onsets"]),
    ({"net": {"task": "drums", "n_bins": 48, "lookahead_frames": 2}}, ["'net'", "n_outputs"]),
    ({"lookahead_frames": 5}, ["lookahead_frames", "5"]),
    ({"state_shapes": [[2, 4, 3]]}, ["state_shapes", "[2, 4, 3]"]),
    ({"n_parameters": -1}, ["n_parameters", "-1"]),
    ({"latency_ms": "fast"}, ["latency_ms", "fast"]),
    ({"metrics": [0.5]}, ["metrics", "object"]),
    ({"labels": "kick"}, ["labels", "list"]),
])
def test_validation_names_the_field(tmp_path, changes, words):
    path = write(tmp_path, card_dict(**changes))
    with pytest.raises(ConfigError) as exc:
        load_card(path)
    message = str(exc.value)
    assert "m.json" in message
    for word in words:
        assert word in message


def test_task_output_rules(tmp_path):
    bad_pitch = card_dict(task="pitch", labels=[f"b{i}" for i in range(360)],
                          net={"task": "pitch", "n_outputs": 360, "n_bins": 48, "lookahead_frames": 2})
    with pytest.raises(ConfigError, match="361"):
        load_card(write(tmp_path, bad_pitch))
    chords = list(ChordVocabulary.majmin().labels)
    bad_chords = card_dict(task="chords", labels=chords[::-1],
                           net={"task": "chords", "n_outputs": 25, "n_bins": 48, "lookahead_frames": 2})
    with pytest.raises(ConfigError, match="'N'"):
        load_card(write(tmp_path, bad_chords))
    good_chords = card_dict(task="chords", labels=chords,
                            net={"task": "chords", "n_outputs": 25, "n_bins": 48, "lookahead_frames": 2})
    assert load_card(write(tmp_path, good_chords)).labels[-1] == "N"


def test_missing_fields_and_bad_files(tmp_path):
    data = card_dict()
    del data["labels"], data["file_bytes"]
    with pytest.raises(ConfigError, match="lacks field.*labels, file_bytes"):
        load_card(write(tmp_path, data))
    broken = tmp_path / "broken.json"
    broken.write_text('{"task": "drums",\n  oops}')
    with pytest.raises(ConfigError, match=r"broken.json is not valid JSON \(line 2"):
        load_card(broken)
    with pytest.raises(ConfigError, match="nowhere.json not found"):
        load_card(tmp_path / "nowhere.json")
    with pytest.raises(ConfigError, match="list.*expected a JSON object"):
        load_card(write(tmp_path, [1, 2]))


def test_optional_fields_default_and_unknown_fields_are_ignored(tmp_path, caplog):
    data = card_dict(comment="hand-written")
    for key in ("training", "metrics", "decoder", "pruning_history", "featherlight_version", "created_utc"):
        del data[key]
    card = load_card(write(tmp_path, data))
    assert card.pruning_history == () and card.metrics == {} and card.featherlight_version == "unknown"
    assert "comment" in caplog.text


def test_constructor_validates_too():
    data = card_dict()
    del data["schema_version"]
    data["labels"] = ["kick"]
    with pytest.raises(ConfigError, match="'labels'"):
        ModelCard(**data)


def test_default_labels():
    pitch = default_labels("pitch", 361)
    assert len(pitch) == 361 and pitch[0] == "bin_000" and pitch[-1] == "voicing"
    assert default_labels("chords", 133) == ChordVocabulary().labels
    assert default_labels("chords", 25) == ChordVocabulary.majmin().labels
    assert default_labels("drums", 6) == DRUM_CLASSES
    assert default_labels("onsets", 1) == ("onset",)
    with pytest.raises(ConfigError, match="40 outputs"):
        default_labels("chords", 40)
    with pytest.raises(ConfigError, match="beats"):
        default_labels("beats", 1)
