"""The streaming analyser: streaming == offline for any block size, event timing, latency, card decoder
settings, errors, and the live path without torch.

Fixtures are tiny random-weight TaskNets exported to ONNX once per session (torch makes the fixtures;
the analyser itself runs on onnxruntime only).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.annotations.types import DRUM_CLASSES, Annotation
from models.errors import ConfigError, NonFiniteAudioError, SampleRateError
from models.frontend import FrontEnd
from models.runtime.analyzer import AnalysisEvents, Analyzer, HopCost, benchmark_hop_cost, gather_events
from models.runtime.card import save_card
from models.runtime.onnx_model import OnnxTaskModel

REPO = Path(__file__).resolve().parents[3]
SR = 16000
HOP_S = 0.01
#: Model lookahead per task in the fixtures (different on purpose, so alignment bugs show; onsets
#: anticipate by 2 frames, the negative lookahead a model card may state).
LOOKAHEAD = {"pitch": 2, "chords": 0, "drums": 1, "onsets": -2}
N_OUTPUTS = {"pitch": 361, "chords": 133, "drums": 6, "onsets": 1}
#: Decoder settings written into the fixture cards (chosen so random weights still give many events).
DECODER = {
    "pitch": {"f0": {"voicing_on": 0.3, "voicing_off": 0.25}, "notes": {"split_frames": 3, "min_note_frames": 3}},
    "chords": {"min_frames": 3, "self_transition_prob": 0.5},
    "drums": {"threshold": 0.3, "delta": 0.02, "delay_frames": 2},
    "onsets": {"threshold": 0.3, "delta": 0.02},
}


def export_tiny_models(folder: Path) -> dict[str, Path]:
    """One tiny random-weight model per task in ``folder`` (``<task>.onnx`` + card); returns the paths."""
    torch = pytest.importorskip("torch")
    from models.training.export import export_onnx, make_card
    from models.training.nets import NetConfig, TaskNet

    paths = {}
    for seed, task in enumerate(N_OUTPUTS):
        torch.manual_seed(seed)
        config = NetConfig(
            task=task, n_outputs=N_OUTPUTS[task], output_activation="softmax" if task == "chords" else "sigmoid",
            conv2d_channels=(2, 3), temporal_channels=(8, 8), temporal_kernel=(3, 3), temporal_dilation=(1, 2),
            lookahead_frames=LOOKAHEAD[task],
        )
        net = TaskNet(config).eval()
        with torch.no_grad():  # realistic input statistics and larger weights: outputs that move with the input
            net.input_norm.running_mean.fill_(2.0)
            net.input_norm.running_var.fill_(4.0)
            for layer in net.temporal:
                layer.conv.weight.mul_(3.0)
            net.head.weight.mul_(6.0)
        path = export_onnx(net, folder / f"{task}.onnx")
        card = make_card(net, path, training={"data": "random weights (test fixture)"}, metrics={},
                         decoder=DECODER[task])
        save_card(card, path.with_suffix(".json"))
        paths[task] = path
    return paths


@pytest.fixture(scope="session")
def model_paths(tmp_path_factory) -> dict[str, Path]:
    return export_tiny_models(tmp_path_factory.mktemp("tiny_models"))


@pytest.fixture(scope="session")
def models(model_paths) -> dict[str, OnnxTaskModel]:
    return {task: OnnxTaskModel(path) for task, path in model_paths.items()}


def test_signal(duration_s: float = 4.5, seed: int = 0) -> np.ndarray:
    """Tones stepping every 0.5 s (a melody), a triad, clicks every 250 ms, a little noise."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * SR) + 37  # not a whole number of hops
    t = np.arange(n) / SR
    midi = np.array([57, 60, 64, 62, 67, 65, 69, 72, 71, 60])[np.minimum((t * 2).astype(int), 9)]
    phase = 2 * np.pi * np.cumsum(440.0 * 2 ** ((midi - 69) / 12)) / SR
    x = 0.3 * np.sin(phase) * (t % 0.5 < 0.4)
    x += sum(0.1 * np.sin(2 * np.pi * 440.0 * 2 ** ((m - 69) / 12) * t) for m in (48, 52, 55)) * (t > 2.0)
    x += 0.01 * rng.standard_normal(n)
    x[(np.arange(n) % (SR // 4)) < 24] += 0.7
    return x.astype(np.float32)


test_signal.__test__ = False  # a helper, not a test


def stream(analyzer: Analyzer, audio: np.ndarray, block_sizes) -> tuple[Annotation, list[AnalysisEvents]]:
    analyzer.reset()
    events, start, i = [], 0, 0
    while start < audio.size:
        size = block_sizes[i % len(block_sizes)]
        events.append(analyzer.process(audio[start : start + size]))
        start, i = start + size, i + 1
    events.append(analyzer.finish())
    return gather_events(events, tasks=analyzer.tasks, duration_s=audio.size / SR), events


def assert_same_events(a: Annotation, b: Annotation) -> None:
    """Discrete decisions identical; continuous values (f0, sub-frame times) equal to 1e-6."""
    np.testing.assert_array_equal(a.f0.times_s, b.f0.times_s)
    np.testing.assert_array_equal(a.f0.voiced, b.f0.voiced)
    np.testing.assert_allclose(a.f0.f0_hz, b.f0.f0_hz, rtol=1e-6, atol=0)
    np.testing.assert_allclose(a.f0.confidence, b.f0.confidence, rtol=0, atol=1e-6)
    assert [(n.pitch_midi, n.velocity) for n in a.notes] == [(n.pitch_midi, n.velocity) for n in b.notes]
    np.testing.assert_allclose([(n.onset_s, n.offset_s) for n in a.notes], [(n.onset_s, n.offset_s) for n in b.notes],
                               atol=1e-6, rtol=0)
    assert [c.label for c in a.chords] == [c.label for c in b.chords]
    np.testing.assert_allclose([(c.start_s, c.end_s) for c in a.chords], [(c.start_s, c.end_s) for c in b.chords],
                               atol=1e-6, rtol=0)
    assert [(h.drum, h.velocity) for h in a.drums] == [(h.drum, h.velocity) for h in b.drums]
    np.testing.assert_allclose([h.time_s for h in a.drums], [h.time_s for h in b.drums], atol=1e-6, rtol=0)
    assert a.onsets.shape == b.onsets.shape
    np.testing.assert_allclose(a.onsets, b.onsets, atol=1e-6, rtol=0)


# --- streaming == offline --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def offline(models) -> tuple[Analyzer, np.ndarray, Annotation]:
    analyzer = Analyzer(models)
    audio = test_signal()
    return analyzer, audio, analyzer.analyze(audio)


def test_offline_analysis_finds_events_for_every_task(offline):
    _, audio, ann = offline
    n_frames = -(-audio.size // 160)
    assert ann.duration_s == pytest.approx(audio.size / SR)
    assert len(ann.f0) == n_frames
    np.testing.assert_array_equal(ann.f0.times_s, np.arange(n_frames) / 100.0)
    # enough events that the streaming comparison below means something
    assert ann.f0.voiced.sum() > 20 and len(ann.notes) >= 3
    assert len(ann.chords) >= 3 and ann.chords[0].start_s == 0.0
    assert ann.chords[-1].end_s == pytest.approx(n_frames * HOP_S)
    assert all(a.end_s == b.start_s for a, b in zip(ann.chords, ann.chords[1:]))  # they tile the file
    assert len(ann.drums) >= 10 and {h.drum for h in ann.drums} <= set(DRUM_CLASSES)
    assert ann.onsets.size >= 5 and np.all(np.diff(ann.onsets) > 0)
    assert ann.metadata["analyzer"]["models"] == {t: t for t in ("pitch", "chords", "drums", "onsets")}


@pytest.mark.parametrize("block", [1, 7, 160, 1000, 16000, None], ids=lambda b: f"block{b or 'whole'}")
def test_streaming_equals_offline(offline, block):
    analyzer, audio, reference = offline
    streamed, _ = stream(analyzer, audio, [block or audio.size])
    assert_same_events(streamed, reference)


def test_streaming_equals_offline_with_random_block_sizes(offline):
    analyzer, audio, reference = offline
    sizes = list(np.random.default_rng(3).integers(1, 5000, size=97))
    streamed, _ = stream(analyzer, audio, sizes)
    assert_same_events(streamed, reference)


# --- whole-file decoding ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def whole_file(models) -> tuple[Analyzer, np.ndarray, Annotation]:
    analyzer = Analyzer(models, whole_file=True)
    audio = test_signal()
    return analyzer, audio, analyzer.analyze(audio)


def test_whole_file_chords_and_pitch_are_the_viterbi_paths_of_the_offline_outputs(whole_file, models, offline):
    from models.decoders.chords import ChordDecoderConfig, decode_viterbi
    from models.decoders.pitch import F0DecoderConfig, F0ViterbiConfig, NoteConfig, decode_f0_viterbi, segment_notes
    from models.decoders.vocabulary import ChordVocabulary

    _, audio, ann = whole_file
    fe = FrontEnd()
    features = np.concatenate([fe.process(audio), fe.flush()])
    probs = models["chords"].run_offline(features)
    config = ChordDecoderConfig(self_transition_prob=DECODER["chords"]["self_transition_prob"])
    expected = decode_viterbi(probs, ChordVocabulary(), config)
    assert [c.label for c in ann.chords] == [c.label for c in expected]
    np.testing.assert_allclose([(c.start_s, c.end_s) for c in ann.chords], [(c.start_s, c.end_s) for c in expected],
                               atol=1e-9, rtol=0)
    f0_settings = DECODER["pitch"]["f0"]
    f0_config = F0DecoderConfig(**f0_settings)
    threshold = (f0_settings["voicing_on"] + f0_settings["voicing_off"]) / 2  # the middle of the hysteresis
    track = decode_f0_viterbi(models["pitch"].run_offline(features), None, f0_config,
                              F0ViterbiConfig(voicing_threshold=threshold))
    np.testing.assert_array_equal(ann.f0.voiced, track.voiced)
    np.testing.assert_allclose(ann.f0.f0_hz, track.f0_hz, rtol=1e-6, atol=0)
    assert ann.notes == segment_notes(track, NoteConfig(**DECODER["pitch"]["notes"]))
    # different decodings from the online ones (else this test would prove nothing) ...
    online = offline[2]
    assert [(c.label, c.start_s) for c in ann.chords] != [(c.label, c.start_s) for c in online.chords]
    assert not np.array_equal(ann.f0.voiced, online.f0.voiced)
    # ... and drums and onsets decode online either way
    assert_same_events(dataclasses.replace(ann, chords=online.chords, f0=online.f0, notes=online.notes), online)
    assert ann.metadata["analyzer"]["decoding"] == {"pitch": "whole-file viterbi", "chords": "whole-file viterbi",
                                                     "drums": "online", "onsets": "online"}


def test_a_card_can_set_the_pitch_viterbi(models, model_paths, tmp_path):
    import json
    import shutil

    from models.decoders.pitch import F0ViterbiConfig

    path = tmp_path / "pitch.onnx"
    shutil.copy(model_paths["pitch"], path)
    card = json.loads(model_paths["pitch"].with_suffix(".json").read_text())
    card["decoder"]["viterbi"] = {"voicing_threshold": 0.9, "max_step_bins": 5}
    path.with_suffix(".json").write_text(json.dumps(card))
    from models.runtime.analyzer import build_decoder, build_whole_file_decoder

    model = OnnxTaskModel(path)
    assert build_whole_file_decoder(model, 100.0).f0.viterbi == F0ViterbiConfig(max_step_bins=5, voicing_threshold=0.9)
    assert build_decoder(model, 100.0).config.f0.voicing_on == 0.3  # the online settings are unchanged
    assert build_whole_file_decoder(models["drums"], 100.0) is None


@pytest.mark.parametrize("seed", [0, 1])
def test_whole_file_decoding_streams_like_offline(whole_file, seed):
    analyzer, audio, reference = whole_file
    sizes = list(np.random.default_rng(seed).integers(1, 5000, size=61))
    streamed, events = stream(analyzer, audio, sizes)
    assert_same_events(streamed, reference)
    # the live events are the online ones; the whole-file results come once, with finish()
    assert all(e.revised_chords is None and e.revised_f0 is None and e.revised_notes is None for e in events[:-1])
    assert events[-1].revised_chords == reference.chords and events[-1].revised_notes == reference.notes
    online, _ = stream(Analyzer(analyzer.models), audio, sizes)
    assert [c for e in events for c in e.chords] == list(online.chords)
    assert [n for e in events for n in e.notes] == list(online.notes)


def test_whole_file_decoding_of_drums_and_onsets_changes_nothing(models):
    audio = test_signal(2.0)
    tasks = {t: models[t] for t in ("drums", "onsets")}
    a = Analyzer(tasks, whole_file=True).analyze(audio)
    b = Analyzer(tasks).analyze(audio)
    assert a.chords is None and a.f0 is None and b.chords is None
    assert [(h.time_s, h.drum) for h in a.drums] == [(h.time_s, h.drum) for h in b.drums] and len(a.drums) > 0
    np.testing.assert_array_equal(a.onsets, b.onsets)


@pytest.mark.parametrize("blocks", [[1000], [7, 4999, 160, 1], [10**6]], ids=["block1000", "mixed", "whole"])
def test_events_carry_exactly_the_frontend_frames_the_models_saw(offline, blocks):
    analyzer, audio, _ = offline
    _, events = stream(analyzer, audio, blocks)
    reference = FrontEnd(analyzer.config).compute(audio)
    assert reference.shape == (-(-audio.size // 160), 288)
    expected_first = 0
    for e in events:
        assert e.first_frame == expected_first  # contiguous, in stream order
        assert e.features.dtype == np.float32
        expected_first += e.n_features
        if e is not events[-1]:
            assert e.first_frame + e.n_features == e.frames_done
    with_features = [e.features for e in events if e.n_features]
    np.testing.assert_array_equal(np.concatenate(with_features), reference)  # bit-identical, no silent padding
    first = next(e for e in events if e.n_features)
    only_features = dataclasses.replace(first, f0=first.f0.__class__(np.zeros(0), np.zeros(0), np.zeros(0)),
                                        notes=(), chords=(), drums=(), onsets_s=np.zeros(0))
    assert only_features.n_features == first.n_features > 0
    assert only_features.is_empty  # features alone are not events


def test_features_can_be_switched_off(models):
    analyzer = Analyzer(models, keep_features=False)
    audio = test_signal(1.0)
    events = [analyzer.process(audio), analyzer.finish()]
    assert all(e.n_features == 0 and e.features.shape == (0, 0) for e in events)
    assert len(events[0].f0) > 0  # the events themselves are unchanged


def test_onnx_probabilities_differ_only_in_the_last_bits_between_block_sizes(models):
    """Why the comparison above allows 1e-6: MLAS kernels depend on the block length (measured)."""
    features = np.random.default_rng(0).random((300, 288), dtype=np.float32) * 4
    for model in models.values():
        whole, _ = model.run(features, model.initial_state())
        state, parts = model.initial_state(), []
        for start in range(0, 300, 7):
            probs, state = model.run(features[start : start + 7], state)
            parts.append(probs)
        np.testing.assert_allclose(np.concatenate(parts), whole, rtol=0, atol=1e-6)


def test_reset_mid_stream_starts_over(offline):
    analyzer, audio, reference = offline
    analyzer.reset()
    analyzer.process(audio[:20000])
    analyzer.reset()
    again = gather_events([analyzer.process(audio), analyzer.finish()], tasks=analyzer.tasks,
                          duration_s=audio.size / SR)
    assert_same_events(again, reference)


def test_finish_starts_a_new_stream(offline):
    analyzer, audio, reference = offline
    analyzer.reset()
    analyzer.process(audio[:5000])
    analyzer.finish()
    assert analyzer.frames_done == 0 and analyzer.samples_in == 0
    assert_same_events(analyzer.analyze(audio), reference)


# --- timing and latency ----------------------------------------------------------------------------
def test_latency_is_frontend_plus_model_lookahead_plus_decoder_delay(models):
    analyzer = Analyzer(models)
    # front-end: 512 samples = 32 ms; drums: L=1, delay max(post_max 0, post_avg 0, refine off) = 0
    assert analyzer.latency_s["drums"] == pytest.approx(0.032 + 0.01 * (1 + 0))
    assert analyzer.latency_s["onsets"] == pytest.approx(0.032 + 0.01 * (-2 + 0))  # anticipation
    assert analyzer.latency_s["chords"] == pytest.approx(0.032 + 0.01 * (0 + 3))  # min_frames from the card
    # pitch: L=2; f0 delay = min_voiced_frames - 1 = 0; notes add split_frames = 3
    assert analyzer.f0_latency_s == pytest.approx(0.032 + 0.01 * (2 + 0))
    assert analyzer.latency_s["pitch"] == pytest.approx(0.032 + 0.01 * (2 + 0 + 3))


def test_live_events_arrive_exactly_their_latency_after_their_frame(offline):
    """Fed one hop per call, a peak at frame k is returned when frame k + L + delay has been computed
    (before frame k itself for the onsets, whose model anticipates by 2 frames)."""
    analyzer, audio, _ = offline
    _, events = stream(analyzer, audio, [160])
    checked = 0
    for ev in events[:-1]:  # the last one is finish(), which releases the tail early
        last_frame = ev.frames_done - 1
        assert ev.latest_time_s == pytest.approx(ev.frames_done * HOP_S)
        for hit in ev.drums:
            # the hit's frame + L (the default picker decides a frame when it arrives: no delay)
            assert abs(hit.time_s / HOP_S - (last_frame - LOOKAHEAD["drums"])) < 1e-6
            checked += 1
        for onset in ev.onsets_s:
            assert abs(onset / HOP_S - (last_frame - LOOKAHEAD["onsets"])) < 1e-6
            checked += 1
        for seg in ev.chords:  # a segment is final min_frames after its last frame
            assert round(seg.end_s / HOP_S) - 1 + 3 == last_frame
            checked += 1
    assert checked >= 15


def test_current_chord_is_reported_while_streaming(offline):
    analyzer, audio, reference = offline
    _, events = stream(analyzer, audio, [1600])
    labels = {e.current_chord for e in events[:-1]} - {None}
    assert labels and labels <= {c.label for c in reference.chords}
    assert events[-1].current_chord is None  # finish() ends the stream


# --- configuration from cards and errors -----------------------------------------------------------
def test_card_decoder_settings_reach_the_decoders(models, model_paths):
    analyzer = Analyzer(models)
    drums = analyzer._runners["drums"].decoder
    assert drums.config.threshold == 0.3 and drums.config.delta == 0.02
    assert analyzer._runners["chords"].decoder.config.min_frames == 3
    assert analyzer._runners["pitch"].decoder.config.notes.split_frames == 3
    # a threshold nothing reaches: no drum hits at all
    card = dataclasses.replace(models["drums"].card, decoder={"threshold": 1.5})
    silent = Analyzer({"drums": OnnxTaskModel(model_paths["drums"], card=card)})
    assert silent.analyze(test_signal(1.0)).drums == ()


def test_per_class_drum_thresholds_from_a_card(models, model_paths):
    card = dataclasses.replace(models["drums"].card, decoder={"threshold": {"kick": 0.2, "snare": 1.5}})
    analyzer = Analyzer({"drums": OnnxTaskModel(model_paths["drums"], card=card)})
    np.testing.assert_array_equal(
        analyzer._runners["drums"].decoder.config.thresholds_for(6, DRUM_CLASSES), [0.2, 1.5, 0.5, 0.5, 0.5, 0.5])
    assert "snare" not in {h.drum for h in analyzer.analyze(test_signal(2.0)).drums}


def test_task_subset_leaves_other_fields_empty(models):
    analyzer = Analyzer({"onsets": models["onsets"], "chords": models["chords"]})
    assert analyzer.tasks == ("chords", "onsets")
    ann = analyzer.analyze(test_signal(1.0))
    assert ann.f0 is None and ann.notes is None and ann.drums is None
    assert ann.chords and ann.onsets is not None


def test_empty_and_tiny_inputs(models):
    analyzer = Analyzer(models)
    ann = analyzer.analyze(np.zeros(0, dtype=np.float32))
    assert ann.duration_s == 0.0 and len(ann.f0) == 0 and ann.notes == () and ann.chords == ()
    assert ann.drums == () and ann.onsets.size == 0
    one = analyzer.analyze(np.full(1, 0.1, dtype=np.float32))
    assert len(one.f0) == 1 and len(one.chords) == 1 and one.chords[0].end_s == pytest.approx(0.01)


def test_model_under_the_wrong_task_is_refused(models):
    with pytest.raises(ConfigError, match="'drums' model but was given for task 'onsets'"):
        Analyzer({"onsets": models["drums"]})
    with pytest.raises(ConfigError, match="unknown task 'melody'"):
        Analyzer({"melody": models["pitch"]})
    with pytest.raises(ConfigError, match="at least one model"):
        Analyzer({})


def test_wrong_sample_rate_is_refused_with_the_fix(models):
    with pytest.raises(SampleRateError, match=r"16000 Hz.*sample_rate_hz=44100.*resample"):
        Analyzer(models, sample_rate_hz=44100)


def test_stereo_and_non_finite_blocks_are_refused(models):
    analyzer = Analyzer({"onsets": models["onsets"]})
    with pytest.raises(ConfigError, match=r"mono.*\(2, 100\)"):
        analyzer.process(np.zeros((2, 100), dtype=np.float32))
    analyzer.process(np.zeros(50, dtype=np.float32))
    block = np.zeros(10, dtype=np.float32)
    block[4] = np.nan
    with pytest.raises(NonFiniteAudioError, match="audio sample 54 is nan"):
        analyzer.process(block)
    analyzer.reset()
    assert analyzer.process(np.zeros((1, 320), dtype=np.float32)).frames_done == 0  # (1, n) is mono


def test_models_with_different_frontends_are_refused(models, model_paths):
    frontend = dict(models["onsets"].card.frontend, log_gain=10.0)
    card = dataclasses.replace(models["onsets"].card, frontend=frontend)
    odd = OnnxTaskModel(model_paths["onsets"], card=card)
    with pytest.raises(ConfigError, match="different front-ends"):
        Analyzer({"drums": models["drums"], "onsets": odd})


# --- measuring and layering ------------------------------------------------------------------------
def test_benchmark_hop_cost_reports_per_hop_figures(models):
    cost = benchmark_hop_cost(models, duration_s=0.5, warmup_hops=5)
    assert isinstance(cost, HopCost)
    assert cost.tasks == ("pitch", "chords", "drums", "onsets") and cost.n_hops == 50
    assert cost.hop_ms == pytest.approx(10.0)
    assert 0 < cost.frontend_mean_ms and 0 < cost.median_ms <= cost.p95_ms <= cost.max_ms
    assert cost.real_time_factor == pytest.approx(cost.mean_ms / 10.0)


def test_analyzer_runs_without_torch(model_paths, tmp_path):
    """The live path: import and run the analyser in a process where importing torch fails."""
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch': raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np\n"
        "from models.runtime.analyzer import Analyzer\n"
        "from models.runtime.onnx_model import OnnxTaskModel\n"
        f"paths = {dict((t, str(p)) for t, p in model_paths.items())!r}\n"
        "an = Analyzer({t: OnnxTaskModel(p) for t, p in paths.items()})\n"
        "x = (0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)).astype(np.float32)\n"
        "ann = an.analyze(x)\n"
        "assert not any(m.split('.')[0] == 'torch' for m in sys.modules)\n"
        "print(len(ann.f0), len(ann.chords) > 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["100", "True"]
