"""Tiny synthetic training sets written into tmp_path: tones with f0, click trains, triads, drum patterns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.annotations.csv_io import write_drums_csv, write_f0_csv, write_onsets_csv
from models.annotations.lab import write_lab
from models.annotations.types import ChordSegment, DrumHit, F0Track
from models.audio import write_audio

SR = 16000


def _tone(f0_hz: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(duration_s * SR)) / SR
    x = sum((0.5 / k) * np.sin(2 * np.pi * k * f0_hz * t + rng.uniform(0, 2 * np.pi)) for k in (1, 2, 3))
    env = np.minimum(1.0, np.minimum(t / 0.01, (duration_s - t) / 0.01))
    return (0.3 * x * env).astype(np.float32)


def write_tone_file(folder: Path, stem: str, pitches_midi: list[float], rng: np.random.Generator,
                    note_s: float = 0.4, gap_s: float = 0.1) -> None:
    """Notes one after another with silence between; f0.csv at 10 ms."""
    pieces, f0_frames = [], []
    for p in pitches_midi:
        hz = 440.0 * 2 ** ((p - 69) / 12)
        pieces += [_tone(hz, note_s, rng), np.zeros(int(gap_s * SR), dtype=np.float32)]
        f0_frames += [hz] * int(round(note_s * 100)) + [0.0] * int(round(gap_s * 100))
    audio = np.concatenate(pieces)
    folder.mkdir(parents=True, exist_ok=True)
    write_audio(folder / f"{stem}.wav", audio, SR)
    f0 = np.array(f0_frames)
    write_f0_csv(folder / f"{stem}.f0.csv", F0Track(np.arange(f0.size) * 0.01, f0, np.ones_like(f0)))


def _burst(kind: str, rng: np.random.Generator) -> np.ndarray:
    n = int(0.08 * SR)
    t = np.arange(n) / SR
    if kind == "kick":
        return 0.8 * np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.03)
    if kind == "snare":
        return 0.5 * rng.standard_normal(n) * np.exp(-t / 0.02) + 0.3 * np.sin(2 * np.pi * 200 * t) * np.exp(-t / 0.02)
    noise = rng.standard_normal(n)
    hp = np.diff(noise, prepend=0.0)  # crude high-pass
    return 0.3 * hp * np.exp(-t / 0.008)


def _mix(events: list[tuple[float, np.ndarray]], duration_s: float) -> np.ndarray:
    out = np.zeros(int(duration_s * SR))
    for time_s, sound in events:
        a = int(round(time_s * SR))
        b = min(out.size, a + sound.size)
        out[a:b] += sound[: b - a]
    return out.astype(np.float32)


def write_click_file(folder: Path, stem: str, rng: np.random.Generator, duration_s: float = 3.0) -> np.ndarray:
    times = np.round(np.sort(rng.uniform(0.1, duration_s - 0.2, 8)), 2)
    times = times[np.concatenate([[True], np.diff(times) > 0.12])]
    folder.mkdir(parents=True, exist_ok=True)
    write_audio(folder / f"{stem}.wav", _mix([(t, _burst("snare", rng)) for t in times], duration_s), SR)
    write_onsets_csv(folder / f"{stem}.onsets.csv", times)
    return times


def write_drum_file(folder: Path, stem: str, rng: np.random.Generator, duration_s: float = 3.0) -> None:
    hits = []
    step = 0.125
    for i in range(int((duration_s - 0.2) / step)):
        t = 0.1 + i * step
        if i % 4 == 0:
            hits.append(DrumHit(round(t, 3), "kick"))
        if i % 4 == 2:
            hits.append(DrumHit(round(t, 3), "snare"))
        if i % 2 == 1 or rng.uniform() < 0.3:
            hits.append(DrumHit(round(t, 3), "hihat"))
    folder.mkdir(parents=True, exist_ok=True)
    write_audio(folder / f"{stem}.wav", _mix([(h.time_s, _burst(h.drum, rng)) for h in hits], duration_s), SR)
    write_drums_csv(folder / f"{stem}.drums.csv", hits)


def write_chord_file(folder: Path, stem: str, rng: np.random.Generator) -> None:
    roots = {"C": 60, "F": 65, "G": 67, "A": 57}
    sequence = [("C", "maj"), ("A", "min"), ("F", "maj"), ("G", "maj")]
    rng.shuffle(sequence)
    pieces, segments, t0 = [], [], 0.0
    for root, quality in sequence:
        third = 4 if quality == "maj" else 3
        notes = [roots[root], roots[root] + third, roots[root] + 7]
        chord = sum(_tone(440.0 * 2 ** ((n - 69) / 12), 0.6, rng) for n in notes) / 3
        pieces.append(chord)
        segments.append(ChordSegment(t0, t0 + 0.6, f"{root}:{quality}"))
        t0 += 0.6
    folder.mkdir(parents=True, exist_ok=True)
    write_audio(folder / f"{stem}.wav", np.concatenate(pieces), SR)
    write_lab(folder / f"{stem}.chords.lab", segments)


def make_dataset(root: Path, task: str, n_train: int = 3, n_valid: int = 2, seed: int = 0) -> Path:
    """A corpus root with train/ and valid/ for ``task``."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("valid", n_valid)):
        for i in range(n):
            folder = root / split
            if task == "pitch":
                write_tone_file(folder, f"tone{i}", list(rng.integers(45, 80, 4).astype(float)), rng)
            elif task == "onsets":
                write_click_file(folder, f"clicks{i}", rng)
            elif task == "drums":
                write_drum_file(folder, f"beat{i}", rng)
            else:
                write_chord_file(folder, f"triads{i}", rng)
    return root


@pytest.fixture
def dataset_factory(tmp_path):
    def build(task: str, **kwargs) -> Path:
        return make_dataset(tmp_path / f"data_{task}", task, **kwargs)
    return build


def tiny_net(task: str, lookahead_frames: int | None = None):
    """A very small network of the task's output shape (fast tests)."""
    from dataclasses import replace

    from models.training.config import default_net_config

    net = default_net_config(task)
    return replace(net, conv2d_channels=(4,), conv2d_kernel_time=(3,), conv2d_kernel_freq=(5,),
                   conv2d_pool_freq=(4,), temporal_channels=(16, 16), temporal_kernel=(1, 3),
                   temporal_dilation=(1, 2), dropout=0.1,
                   lookahead_frames=net.lookahead_frames if lookahead_frames is None else lookahead_frames)


@pytest.fixture
def tiny_net_for():
    return tiny_net
