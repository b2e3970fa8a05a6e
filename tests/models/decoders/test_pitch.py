"""Pitch decoding on synthetic salience: known pitches, voicing rules, notes, Viterbi, streaming == offline."""

from __future__ import annotations

import numpy as np
import pytest

from models.annotations.types import F0Track, Note
from models.decoders.pitch import (
    F0DecoderConfig,
    F0OnlineDecoder,
    NoteConfig,
    NoteOnlineDecoder,
    PitchDecoderConfig,
    PitchOnlineDecoder,
    concat_f0,
    decode_f0,
    decode_f0_viterbi,
    decode_offline_streamable,
    segment_notes,
)
from models.decoders.vocabulary import PitchBins
from models.errors import ConfigError

BINS = PitchBins()


def salience_for(midi: np.ndarray, width_bins: float = 1.5, height: float = 0.9, floor: float = 0.02) -> np.ndarray:
    """Gaussian blobs over the bins centred at each frame's MIDI pitch; NaN frames get a flat floor."""
    centres = BINS.midi_to_bin(np.asarray(midi, dtype=np.float64))
    k = np.arange(BINS.n_bins)
    with np.errstate(invalid="ignore"):
        s = height * np.exp(-0.5 * ((k[None, :] - centres[:, None]) / width_bins) ** 2)
    s[np.isnan(centres)] = floor
    return s


def cents_error(f0_hz: np.ndarray, midi: np.ndarray) -> np.ndarray:
    return np.abs(1200.0 * np.log2(np.abs(f0_hz) / 440.0) + 6900.0 - 100.0 * np.asarray(midi))


def midi_line(*parts: tuple[int, float]) -> np.ndarray:
    """Concatenate (n_frames, pitch) parts; pitch NaN = silence."""
    return np.concatenate([np.full(n, p, dtype=np.float64) for n, p in parts])


def stream_pitch(decoder, salience: np.ndarray, rng: np.random.Generator, max_block: int, voicing=None):
    f0, notes, i = [], [], 0
    while i < len(salience):
        size = int(rng.integers(1, max_block + 1))
        v = None if voicing is None else voicing[i : i + size]
        update = decoder.process(salience[i : i + size], v)
        f0.append(update.f0)
        notes += update.notes
        i += size
    tail = decoder.flush()
    return concat_f0(f0 + [tail.f0]), tuple(notes) + tail.notes


def assert_same_track(a: F0Track, b: F0Track) -> None:
    assert np.array_equal(a.times_s, b.times_s)
    assert np.array_equal(a.f0_hz, b.f0_hz)
    assert np.array_equal(a.confidence, b.confidence)


# --- f0 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pitch_midi", [28.37, 45.0, 57.13, 60.0, 69.5, 81.91, 93.25])
def test_f0_of_known_pitches_within_5_cents(pitch_midi):
    midi = np.full(20, pitch_midi)
    track = decode_f0(salience_for(midi))
    assert track.voiced.all()
    assert cents_error(track.f0_hz, midi).max() < 5.0
    assert np.array_equal(track.times_s, np.arange(20) / 100.0)
    position = BINS.midi_to_bin(pitch_midi)
    distance = abs(position - round(position))
    assert np.allclose(track.confidence, 0.9 * np.exp(-0.5 * (distance / 1.5) ** 2), rtol=1e-12)  # peak salience


def test_unvoiced_frames_keep_a_negative_guess_and_silence_has_none():
    midi = midi_line((10, 60.0), (5, np.nan))
    s = salience_for(midi)
    s[12] = 0.0  # no salience at all: no guess
    s[13] = salience_for(np.array([64.0]), height=0.2)[0]  # a weak guess
    track = decode_f0(s)
    assert track.voiced[:10].all() and not track.voiced[10:].any()
    assert track.f0_hz[12] == 0.0
    assert track.f0_hz[13] < 0 and cents_error(track.f0_hz[13:14], [64.0])[0] < 5.0


def test_voicing_hysteresis_and_min_run():
    config = F0DecoderConfig(voicing_on=0.5, voicing_off=0.4, min_voiced_frames=1)
    midi = np.full(6, 60.0)
    heights = [0.45, 0.55, 0.45, 0.35, 0.45, 0.6]
    s = np.concatenate([salience_for(midi[:1], height=h) for h in heights])
    assert decode_f0(s, config=config).voiced.tolist() == [False, True, True, False, False, True]
    # the same confidences through an explicit voicing column (salience height irrelevant then)
    flat = salience_for(midi)
    assert decode_f0(flat, np.array(heights), config).voiced.tolist() == [False, True, True, False, False, True]
    with_column = np.concatenate([flat, np.array(heights)[:, None]], axis=1)
    assert decode_f0(with_column, config=config).voiced.tolist() == [False, True, True, False, False, True]
    # runs shorter than min_voiced_frames become unvoiced, keeping their guess
    runs = np.array([0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.1, 0.9])
    track = decode_f0(flat[:1].repeat(8, axis=0), runs, F0DecoderConfig(min_voiced_frames=3))
    assert track.voiced.tolist() == [False, False, False, True, True, True, False, False]
    assert np.all(np.abs(track.f0_hz) > 0)


def test_f0_config_errors():
    with pytest.raises(ConfigError, match="voicing_off <= voicing_on"):
        F0DecoderConfig(voicing_on=0.3, voicing_off=0.5)
    with pytest.raises(ConfigError, match="359 outputs per frame but the decoder expects 360"):
        decode_f0(np.zeros((4, 359)))
    with pytest.raises(ConfigError, match="voicing has 3 frames but the salience has 4"):
        decode_f0(np.zeros((4, 360)), np.zeros(3))
    with pytest.raises(ConfigError, match="frame_rate_hz"):
        PitchDecoderConfig(notes=NoteConfig(frame_rate_hz=50.0))


# --- notes -----------------------------------------------------------------------------------------
def test_steady_notes_with_gaps():
    midi = midi_line((10, np.nan), (50, 60.0), (5, np.nan), (30, 60.0), (20, 67.0), (10, np.nan))
    result = decode_offline_streamable(salience_for(midi))
    assert result.notes == (
        Note(onset_s=0.10, offset_s=0.60, pitch_midi=60),
        Note(onset_s=0.65, offset_s=0.95, pitch_midi=60),
        Note(onset_s=0.95, offset_s=1.15, pitch_midi=67),
    )
    assert all(isinstance(n.pitch_midi, int) for n in result.notes)


@pytest.mark.parametrize(("extent_midi", "rate_hz", "split_frames"), [
    (0.45, 5.0, 7), (0.45, 5.5, 7), (0.45, 7.0, 7), (0.6, 7.0, 7), (0.8, 5.0, 11), (1.0, 5.5, 11),
])
def test_vibrato_stays_one_note(extent_midi, rate_hz, split_frames):
    t = np.arange(150) / 100.0
    midi = midi_line((10, np.nan), (150, 0.0), (10, np.nan))
    midi[10:160] = 62.0 + extent_midi * np.sin(2 * np.pi * rate_hz * t)
    config = PitchDecoderConfig(notes=NoteConfig(split_frames=split_frames))
    notes = decode_offline_streamable(salience_for(midi), config=config).notes
    assert [(n.onset_s, n.offset_s) for n in notes] == [(0.10, 1.60)]
    if extent_midi < 0.5:
        assert notes[0].pitch_midi == 62


def test_glide_between_two_notes_splits_into_two():
    midi = midi_line((40, 60.0), (6, 0.0), (40, 64.0))
    midi[40:46] = np.linspace(60.0, 64.0, 8)[1:-1]  # a 60 ms glide up a major third
    notes = decode_offline_streamable(salience_for(midi)).notes
    assert [n.pitch_midi for n in notes] == [60, 64]
    assert notes[0].onset_s == 0.0 and notes[1].offset_s == pytest.approx(0.86)
    assert 0.40 <= notes[0].offset_s == notes[1].onset_s <= 0.46  # the boundary lies inside the glide


def test_short_blips_are_dropped():
    midi = midi_line((20, np.nan), (3, 72.0), (20, np.nan), (40, 55.0), (4, 80.0), (40, 55.0), (10, np.nan))
    notes = decode_offline_streamable(salience_for(midi)).notes
    # the 3-frame blip in silence and the 4-frame excursion inside the note leave one note
    assert notes == (Note(onset_s=0.43, offset_s=1.27, pitch_midi=55),)


def test_min_note_duration_and_velocity_from_confidence():
    f0 = F0Track(np.arange(12) / 100.0, np.array([440.0] * 4 + [-440.0] + [220.0] * 7), np.full(12, 0.5))
    assert segment_notes(f0) == (Note(onset_s=0.05, offset_s=0.12, pitch_midi=57),)
    loud = segment_notes(f0, NoteConfig(velocity_from_confidence=True, min_note_frames=4))
    assert loud == (Note(0.0, 0.04, 69, velocity=64), Note(0.05, 0.12, 57, velocity=64))


# --- Viterbi ---------------------------------------------------------------------------------------
def test_viterbi_tracks_known_pitch_and_fixes_an_octave_error():
    midi = midi_line((10, np.nan), (60, 57.3), (10, np.nan))
    s = salience_for(midi)
    s[40] = 0.5 * salience_for(np.array([57.3]))[0] / 0.9 + salience_for(np.array([69.3]))[0]  # octave wins
    greedy = decode_f0(s)
    assert cents_error(greedy.f0_hz[40:41], [69.3])[0] < 5.0
    smooth = decode_f0_viterbi(s)
    assert smooth.voiced.tolist() == [False] * 10 + [True] * 60 + [False] * 10
    assert cents_error(smooth.f0_hz[10:70], midi[10:70]).max() < 5.0
    assert segment_notes(smooth) == (Note(onset_s=0.10, offset_s=0.70, pitch_midi=57),)
    assert len(decode_f0_viterbi(np.zeros((0, 360)))) == 0


def test_viterbi_bridges_a_short_dropout():
    midi = midi_line((50, 64.0))
    s = salience_for(midi)
    s[25:27] *= 0.4  # confidence 0.36 for two frames: unvoiced frame by frame
    assert not decode_f0(s, config=F0DecoderConfig(min_voiced_frames=1)).voiced[25:27].any()
    assert decode_f0_viterbi(s).voiced.all()


# --- streaming == offline --------------------------------------------------------------------------
def random_pitch_salience(rng: np.random.Generator, n: int) -> np.ndarray:
    midi = np.full(n, np.nan)
    i = 0
    while i < n:
        length = int(rng.integers(1, 40))
        if rng.random() < 0.7:
            midi[i : i + length] = rng.uniform(30, 90) + 0.3 * np.sin(np.arange(min(length, n - i)) * 0.6)
        i += length
    s = salience_for(midi, height=float(rng.uniform(0.5, 1.0)))
    s += 0.4 * rng.random(s.shape) ** 8  # spurious peaks
    return np.clip(s * rng.uniform(0.3, 1.0, size=(n, 1)), 0.0, 1.0)


@pytest.mark.parametrize("seed", range(4))
def test_streaming_equals_offline(seed):
    rng = np.random.default_rng(seed)
    s = random_pitch_salience(rng, 600)
    config = PitchDecoderConfig(
        f0=F0DecoderConfig(min_voiced_frames=int(rng.integers(1, 5))),
        notes=NoteConfig(split_frames=int(rng.integers(1, 8)), min_note_frames=int(rng.integers(1, 6))),
    )
    voicing = rng.random(600) if seed % 2 else None
    offline = decode_offline_streamable(s, voicing, config)
    assert len(offline.notes) > 3 and offline.f0.voiced.any() and not offline.f0.voiced.all()
    assert len(offline.f0) == 600
    for max_block in (1, 10, 100):
        f0, notes = stream_pitch(PitchOnlineDecoder(config), s, rng, max_block, voicing)
        assert_same_track(f0, offline.f0)
        assert notes == offline.notes


def test_online_delays_are_bounded():
    rng = np.random.default_rng(5)
    s = random_pitch_salience(rng, 400)
    decoder = PitchOnlineDecoder(PitchDecoderConfig(f0=F0DecoderConfig(min_voiced_frames=4)))
    assert decoder.f0_delay_frames == 3 and decoder.delay_frames == 3 + 7
    n_frames_out = 0
    for i in range(len(s)):
        update = decoder.process(s[i : i + 1])
        n_frames_out += len(update.f0)
        assert n_frames_out >= i + 1 - decoder.f0_delay_frames
        for note in update.notes:
            last_frame = round(note.offset_s * 100) - 1
            assert i - last_frame <= decoder.delay_frames
    decoder.flush()
    assert decoder.process(s[:1]).f0.times_s.tolist() in ([], [0.0])  # flush started over


def test_note_decoder_alone_matches_segment_notes():
    rng = np.random.default_rng(8)
    track = decode_f0(random_pitch_salience(rng, 300))
    decoder = NoteOnlineDecoder()
    notes = []
    for a in range(0, 300, 7):
        piece = F0Track(track.times_s[a : a + 7], track.f0_hz[a : a + 7], track.confidence[a : a + 7])
        notes += decoder.process(piece)
    assert tuple(notes + decoder.flush()) == segment_notes(track)
    f0_decoder = F0OnlineDecoder()
    assert f0_decoder.flush().times_s.size == 0 and f0_decoder.delay_frames == 0


def test_compiled_viterbi_forward_matches_the_numpy_form():
    """The f0 Viterbi's forward pass runs compiled (numba) where it can: the same floats and back-pointers as
    the numpy form, -inf scores and ties included."""
    from models.decoders import pitch as P

    rng = np.random.default_rng(3)
    dec = P.F0ViterbiDecoder()
    n, n_bins = 120, 360
    for trial in range(4):
        log_voiced = np.round(rng.normal(-3, 3, (n, n_bins)), 1 if trial == 3 else 6)  # coarse: ties
        log_voiced[rng.random((n, n_bins)) < 0.05] = -np.inf
        log_unvoiced = rng.normal(-1, 1, n)
        start = np.log(0.5) + log_voiced[0]
        outs = []
        for forward in (P._viterbi_forward_numpy, P._viterbi_forward):
            back_v, back_u = np.zeros((n, n_bins), np.int8), np.zeros(n, np.int16)
            dv, du = forward(start.copy(), -0.7, log_voiced, log_unvoiced, dec._log_move, dec._log_switch,
                             dec._log_stay_unvoiced, 1, back_v, back_u, dec._FROM_UNVOICED)
            outs.append((np.asarray(dv), float(du), back_v, back_u))
        (dv1, du1, bv1, bu1), (dv2, du2, bv2, bu2) = outs
        assert np.array_equal(dv1, dv2) and du1 == du2
        assert np.array_equal(bv1, bv2) and np.array_equal(bu1, bu2)
