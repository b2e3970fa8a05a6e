"""Unit tests of the corpus pieces that need no synthesiser."""

from __future__ import annotations

import numpy as np
import pytest

from models.corpus import augment as aug
from models.corpus.config import CorpusConfig
from models.corpus.harte import QUALITIES, make_label, transpose_label
from models.corpus.labels import line_f0, merge_onsets
from models.corpus.plan import plan_batches, plan_items, split_of
from models.corpus.procedural import random_drums, random_line, random_progression
from models.corpus.score import Part, PartNote, snap_s
from models.errors import ConfigError, CorpusError


def test_transpose_label_moves_the_root_only():
    assert transpose_label("B:maj", 1) == "C:maj"
    assert transpose_label("Gb:min7/b7", 2) == "Ab:min7/b7"
    assert transpose_label("C#:sus4(b7)", -1) == "C:sus4(b7)"
    assert transpose_label("N", 5) == "N"
    assert transpose_label("A:maj/3", 12) == "A:maj/3"
    with pytest.raises(CorpusError, match="H:maj"):
        transpose_label("H:maj", 1)


def test_make_label_slash_degrees():
    assert make_label(0, "maj", 4) == "C:maj/3"
    assert make_label(9, "min", 3) == "A:min/b3"
    assert make_label(2, "dim7", 9) == "D:dim7/bb7"
    assert make_label(11, "7", 0) == "B:7"


def test_merge_onsets_keeps_the_first_of_close_ones():
    merged = merge_onsets([1.0, 0.5, 0.52, 0.529, 0.56, 1.029, 1.031])
    assert merged.tolist() == [0.5, 0.56, 1.0, 1.031]


def test_snap_to_the_synth_block_grid():
    assert snap_s(1.0, 16000) == 1.0
    assert snap_s(1.0001, 16000) == pytest.approx(1.004)
    assert snap_s(0.0039, 16000) == pytest.approx(0.004)


def test_line_f0_follows_notes_and_pitch_bend():
    part = Part(program=0, bend_range_semitones=2,
                notes=[PartNote(0.1, 0.5, 69, 100), PartNote(0.6, 0.9, 57, 100)],
                bends=[(0.2, 4096), (0.3, -8192), (0.5, 0)])
    f0 = line_f0(part, 1.0, None, 16000)
    assert f0.times_s.size == 101 and f0.times_s[1] == pytest.approx(0.01)
    assert f0.f0_hz[5] == 0.0  # before the first note
    assert f0.f0_hz[15] == pytest.approx(440.0)
    assert f0.f0_hz[25] == pytest.approx(440.0 * 2 ** (1 / 12))  # +1 semitone (half the 2-st range)
    assert f0.f0_hz[35] == pytest.approx(440.0 * 2 ** (-2 / 12))
    assert f0.f0_hz[55] == 0.0
    assert f0.f0_hz[70] == pytest.approx(220.0)
    assert f0.f0_hz[95] == 0.0
    assert set(np.unique(f0.confidence)) == {0.0, 1.0}


def test_line_f0_labels_a_loud_release_tail():
    sr = 16000
    part = Part(program=0, notes=[PartNote(0.1, 0.4, 60, 100)])
    audio = np.zeros(sr, dtype=np.float32)
    audio[int(0.1 * sr): int(0.6 * sr)] = 0.5  # sounds 0.2 s past the note-off
    f0 = line_f0(part, 1.0, audio, sr)
    voiced = np.nonzero(f0.f0_hz > 0)[0]
    assert voiced[0] == 10
    assert 55 <= voiced[-1] <= 60  # tail labelled until the sound stops, not the 0.3 s cap (70)


def test_line_f0_unvoices_a_note_that_died_away_before_its_note_off():
    sr = 16000
    part = Part(program=12, notes=[PartNote(0.1, 0.9, 60, 100), PartNote(0.9, 1.2, 62, 100)])
    t = np.arange(int(1.5 * sr)) / sr
    audio = np.zeros_like(t)
    first = (t >= 0.1) & (t < 0.9)
    audio[first] = np.exp(-(t[first] - 0.1) / 0.05)  # -8.7 dB per 50 ms: 30 dB down after about 0.17 s
    second = (t >= 0.9) & (t < 1.2)
    audio[second] = 0.5  # sustained: voiced to its note-off
    f0 = line_f0(part, 1.5, audio.astype(np.float32), sr)
    voiced = f0.f0_hz > 0
    assert voiced[10] and voiced[20]
    assert 24 <= np.nonzero(voiced[:90])[0][-1] <= 30  # the decayed note: silent well before 0.9 s
    assert voiced[90:120].all() and f0.f0_hz[100] == pytest.approx(440.0 * 2 ** (-7 / 12))


def harmonic_tone(f_hz: float, t: np.ndarray) -> np.ndarray:
    return sum(np.sin(2 * np.pi * h * f_hz * t) / h for h in range(1, 6))


@pytest.mark.parametrize("attack_s, expect", [(0.12, (3, 6)), (0.0, (0, 0))])
def test_line_f0_keeps_the_previous_pitch_until_a_legato_note_takes_over(attack_s, expect):
    """A4 released at the note-on of B4 (60 ms decay); B4 comes in with a slow (bowed) or instant (struck)
    attack. The label switches to B4 once B4's harmonics reach half of A4's in the frame's 64 ms window:
    30-60 ms after the note-on for the slow attack, at once for the struck note."""
    sr = 16000
    part = Part(program=40, notes=[PartNote(0.1, 0.5, 69, 100), PartNote(0.5, 0.9, 71, 100)])
    t = np.arange(sr) / sr
    old = np.where(t < 0.1, 0.0, np.where(t < 0.5, 1.0, np.exp(-(t - 0.5) / 0.06))) * harmonic_tone(440.0, t)
    ramp = np.clip((t - 0.5) / attack_s, 0.0, 1.0) if attack_s else (t >= 0.5).astype(float)
    new = np.where(t < 0.9, ramp, 0.0) * harmonic_tone(440.0 * 2 ** (2 / 12), t)
    f0 = line_f0(part, 1.0, (0.3 * (old + new)).astype(np.float32), sr)
    b4 = 440.0 * 2 ** (2 / 12)
    held = int(np.sum(np.isclose(f0.f0_hz[50:70], 440.0)))
    assert expect[0] <= held <= expect[1], f0.f0_hz[45:70]
    assert np.all(np.isclose(f0.f0_hz[50 + held:90], b4))  # then the new note to its note-off
    assert np.all(np.isclose(f0.f0_hz[10:50], 440.0))
    # without the line's audio (or after a rest) the label switches at the note-on
    plain = line_f0(part, 1.0, None, sr)
    assert np.isclose(plain.f0_hz[50], b4)


def test_procedural_generators_cover_the_vocabulary():
    qualities, roots, lows, highs, classes = set(), set(), [], [], set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        _, chords, _ = random_progression(rng, 30.0, 0.3)
        for c in chords:
            if c.label != "N":
                root, quality = c.label.split(":")
                roots.add(root)
                qualities.add(quality.split("/")[0])
        part, _ = random_line(rng, 20.0, 0.3)
        lows.append(min(n.pitch for n in part.notes))
        highs.append(max(n.pitch for n in part.notes))
        assert all(a.offset_s <= b.onset_s + 1e-9 for a, b in zip(part.notes, part.notes[1:]))  # monophonic
        drums, _ = random_drums(rng, 20.0, 0.3)
        from models.annotations.types import GM_DRUM_KEY_TO_CLASS
        classes |= {GM_DRUM_KEY_TO_CLASS[n.pitch] for n in drums.notes}
    assert qualities == set(QUALITIES)
    assert len(roots) == 12
    assert min(lows) <= 30 and max(highs) >= 90  # C1..C7 reached across pieces
    assert classes == {"kick", "snare", "hihat", "tom", "crash", "ride"}


def test_plan_is_deterministic_and_independent_of_piece_order():
    cfg = CorpusConfig(task="onsets", minutes=5, seed=3)
    fonts = ["/x/a.sf2", "/x/b.sf3"]
    a = plan_items(cfg, [], fonts)
    b = plan_items(cfg, [], fonts)
    assert a == b
    assert sum(i["duration_s"] for i in a) == pytest.approx(300.0)
    assert all(15.0 <= i["duration_s"] <= 45.0 for i in a)
    batches = plan_batches(cfg, a, fonts)
    assert sorted(s["index"] for b in batches for s in b.items) == list(range(len(a)))
    assert all(s["font"] == b.font for b in batches for s in b.items)
    assert plan_items(CorpusConfig(task="onsets", minutes=5, seed=4), [], fonts) != a


def test_split_is_a_function_of_the_piece_and_near_80_10_10():
    splits = [split_of(f"pop909/{i:03d}") for i in range(1, 1001)]
    assert split_of("pop909/001") == split_of("pop909/001")
    counts = {s: splits.count(s) for s in ("train", "valid", "test")}
    assert 740 <= counts["train"] <= 860 and 60 <= counts["valid"] <= 140 and 60 <= counts["test"] <= 140


def test_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="tempo"):
        CorpusConfig(task="tempo", minutes=1)
    with pytest.raises(ConfigError, match="-1"):
        CorpusConfig(task="pitch", minutes=-1)
    with pytest.raises(ConfigError, match="1.5"):
        CorpusConfig(task="pitch", minutes=1, procedural_fraction=1.5)
    with pytest.raises(ConfigError, match="--music-bed-probability"):
        CorpusConfig(task="drums", minutes=1, music_bed_probability=-0.1)
    with pytest.raises(ConfigError, match="LOW HIGH"):
        CorpusConfig(task="drums", minutes=1, music_bed_level_db=(0.0, -10.0))


def test_config_defaults_fill_settings_an_older_manifest_lacks():
    defaults = CorpusConfig.defaults_dict()
    assert defaults["music_bed_probability"] == 0.3 and defaults["music_bed_level_db"] == [-20.0, -6.0]
    assert "task" not in defaults and "minutes" not in defaults
    cfg = CorpusConfig(task="drums", minutes=1, music_bed_level_db=[-10, -2])
    assert cfg.music_bed_level_db == (-10.0, -2.0) and cfg.to_dict()["music_bed_level_db"] == [-10.0, -2.0]


def _clicks(sr, times_s, n):
    x = np.zeros(n, dtype=np.float32)
    for t in times_s:
        i = int(t * sr)
        x[i: i + 40] += np.hanning(40).astype(np.float32) * np.sign(np.sin(np.arange(40)))
    return x


def test_augmentation_keeps_onsets_in_place():
    sr = 16000
    times = np.arange(0.5, 9.5, 0.37)
    x = _clicks(sr, times, 10 * sr)
    for seed in range(6):
        rng = np.random.default_rng(seed)
        y, params = aug.augment(x, rng, sr)
        assert y.dtype == np.float32 and np.max(np.abs(y)) <= 0.97 + 1e-6
        env = np.abs(y)
        for t in times:
            i = int(t * sr)
            seg = env[i - 160: i + 480]  # -10 ms .. +30 ms
            assert np.argmax(seg) - 160 < int(0.005 * sr), (seed, t, params)
            assert seg.max() > 5 * np.median(env)


def test_reverb_ir_keeps_direct_sound_first():
    ir = aug.room_ir(np.random.default_rng(0), 0.8, 3.0, 16000)
    assert ir[0] == 1.0
    assert np.all(ir[1:80] == 0.0)  # pre-delay >= 5 ms
    tail = np.sum(ir[1:] ** 2)
    assert 10 * np.log10(1.0 / tail) == pytest.approx(3.0, abs=0.01)


def test_eq_filters_have_the_asked_gain():
    sr = 16000
    sos = np.stack([aug._biquad("peak", 1000.0, 6.0, 1.0, sr)])
    from scipy import signal

    _, h = signal.sosfreqz(sos, worN=[1000.0], fs=sr)
    assert 20 * np.log10(abs(h[0])) == pytest.approx(6.0, abs=0.01)
    sos = np.stack([aug._biquad("lowshelf", 200.0, -6.0, 0.707, sr)])
    _, h = signal.sosfreqz(sos, worN=[20.0], fs=sr)
    assert 20 * np.log10(abs(h[0])) == pytest.approx(-6.0, abs=0.1)


def test_drum_items_of_the_drums_task_never_draw_a_kit_off_the_drum_map():
    from models.corpus.instruments import DRUM_KITS, KITS_OFF_THE_DRUM_MAP, draw_drum_kit

    drums = [draw_drum_kit(np.random.default_rng(s), drum_labels=True) for s in range(200)]
    onsets = [draw_drum_kit(np.random.default_rng(s), drum_labels=False) for s in range(200)]
    assert not set(drums) & set(KITS_OFF_THE_DRUM_MAP)
    assert set(drums) == set(DRUM_KITS) - set(KITS_OFF_THE_DRUM_MAP)
    assert set(onsets) == set(DRUM_KITS)  # onsets keep every kit
    # only the items that drew such a kit change: the others keep theirs
    assert all(d == o for d, o in zip(drums, onsets) if o not in KITS_OFF_THE_DRUM_MAP)


@pytest.mark.needs_fluidsynth
def test_every_kit_the_drums_task_draws_plays_cymbals_and_hats_on_their_keys(tmp_path):
    """In every installed font, the hi-hat, crash and ride keys of each kit the drums task may use sound
    bright (spectral centroid above 1.5 kHz) and kick and low tom do not: the labels name what sounds.
    The Orchestra kit fails this (timpani on 42-53 in three of the four fonts) and is kept out."""
    from pathlib import Path

    from models.corpus.instruments import DRUM_KITS, KITS_OFF_THE_DRUM_MAP
    from models.corpus.score import Stem
    from models.corpus.soundfonts import DEFAULT_SOUNDFONTS
    from models.corpus.synth import render_batch

    fonts = [Path(f) for f in DEFAULT_SOUNDFONTS if Path(f).is_file()]
    if not fonts:
        pytest.skip("no General MIDI soundfont installed")
    bright, low = (42, 46, 49, 51), (36, 41)
    keys = bright + low
    sr = 16000
    kits = list(DRUM_KITS)
    stems = [(Stem("d", [Part(program=kit, is_drum=True,
                              notes=[PartNote(0.1 + 0.5 * i, 0.3 + 0.5 * i, k, 100) for i, k in enumerate(keys)])]),
              0.5 * len(keys) + 0.5) for kit in kits]
    bad, orchestra_caught = [], False
    for font in fonts:
        for kit, audio in zip(kits, render_batch(stems, font, sr, tmp_path / font.stem)):  # one call per font
            c = {}
            for i, k in enumerate(keys):
                seg = np.asarray(audio).ravel()[int((0.1 + 0.5 * i) * sr): int((0.35 + 0.5 * i) * sr)]
                power = np.abs(np.fft.rfft(seg * np.hanning(seg.size))) ** 2
                c[k] = float((power * np.fft.rfftfreq(seg.size, 1 / sr)).sum() / max(power.sum(), 1e-20))
            wrong = [k for k in bright if c[k] < 1500] + [k for k in low if c[k] > 1500]
            if kit in KITS_OFF_THE_DRUM_MAP:
                orchestra_caught |= bool(wrong)
            elif wrong:
                bad.append(f"{font.name} kit {kit}: keys {wrong} ({', '.join(f'{k}: {c[k]:.0f} Hz' for k in wrong)})")
    assert not bad, bad
    if any(f.name != "TimGM6mb.sf2" for f in fonts):  # TimGM6mb's Orchestra kit is its Standard kit
        assert orchestra_caught  # the check tells a kit off the drum map where a font has one
