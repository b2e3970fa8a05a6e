"""Chord baseline "chroma-templates": CQT chroma matched to 24 triad templates plus N, Viterbi-smoothed."""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from models.annotations.types import Annotation, ChordSegment
from models.baselines._frames import DEFAULT_HOP_S, check_input, duration_s

PITCH_CLASS_NAMES: tuple[str, ...] = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class ChordTemplateConfig:
    hop_s: float = DEFAULT_HOP_S
    fmin_hz: float = 65.406  # C2
    n_octaves: int = 5  # C2..C7
    self_transition: float = 0.995  # Viterbi probability of staying on a chord for one more frame
    sharpness: float = 12.0  # softmax temperature applied to template cosine similarities
    no_chord_similarity: float = 0.55  # N wins when no triad template matches better than this
    silence_floor_db: float = -40.0  # frames this far below the loudest frame are N
    absolute_floor_db: float = -65.0  # frames below this RMS level (dBFS) are N


def chord_labels() -> tuple[str, ...]:
    """The 25 labels in state order: 12 major, 12 minor, N."""
    return tuple(f"{p}:maj" for p in PITCH_CLASS_NAMES) + tuple(f"{p}:min" for p in PITCH_CLASS_NAMES) + ("N",)


def chord_templates() -> np.ndarray:
    """(24, 12) unit-norm binary triad templates in :func:`chord_labels` order (N excluded)."""
    rows = []
    for third in (4, 3):
        for root in range(12):
            t = np.zeros(12)
            t[[root, (root + third) % 12, (root + 7) % 12]] = 1.0
            rows.append(t / np.linalg.norm(t))
    return np.stack(rows)


def _cqt_hop(sample_rate_hz: int, hop_s: float, n_octaves: int) -> int:
    """A hop near ``hop_s`` that the multi-rate CQT accepts (a multiple of 2**(n_octaves-1))."""
    step = 2 ** (n_octaves - 1)
    return max(step, int(round(hop_s * sample_rate_hz / step)) * step)


def chroma_templates_baseline(
    audio: np.ndarray, sample_rate_hz: int, config: ChordTemplateConfig = ChordTemplateConfig()
) -> Annotation:
    """Chord segments over the whole file (labels from :func:`chord_labels`)."""
    y = check_input(audio, sample_rate_hz)
    total_s = duration_s(y, sample_rate_hz)
    if y.size == 0:
        return Annotation(duration_s=0.0, chords=())
    if not np.any(y):
        return Annotation(duration_s=total_s, chords=(ChordSegment(0.0, total_s, "N"),))
    hop = _cqt_hop(sample_rate_hz, config.hop_s, config.n_octaves)
    chroma = librosa.feature.chroma_cqt(
        y=y, sr=sample_rate_hz, hop_length=hop, fmin=config.fmin_hz, n_octaves=config.n_octaves,
        bins_per_octave=36, norm=None,
    )
    n_frames = chroma.shape[1]
    rms = librosa.feature.rms(y=y, frame_length=4 * hop, hop_length=hop)[0]
    rms = np.pad(rms, (0, max(0, n_frames - rms.size)), mode="edge")[:n_frames]
    rms_db = 20.0 * np.log10(np.maximum(rms, 1e-10))
    quiet = (rms_db < rms_db.max() + config.silence_floor_db) | (rms_db < config.absolute_floor_db)

    unit = chroma / np.maximum(np.linalg.norm(chroma, axis=0, keepdims=True), 1e-12)
    similarity = chord_templates() @ unit  # (24, T)
    scores = np.vstack([similarity, np.full((1, n_frames), config.no_chord_similarity)])
    scores[-1, quiet] = 2.0  # silent frames: N dominates
    prob = np.exp(config.sharpness * (scores - scores.max(axis=0, keepdims=True)))
    prob /= prob.sum(axis=0, keepdims=True)
    transition = librosa.sequence.transition_loop(25, config.self_transition)
    path = librosa.sequence.viterbi_discriminative(prob, transition)

    labels = chord_labels()
    segments: list[ChordSegment] = []
    change = np.flatnonzero(np.diff(path)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [n_frames]])
    for a, b in zip(starts, ends):
        start_s = 0.0 if a == 0 else float(a * hop / sample_rate_hz)
        end_s = total_s if b == n_frames else float(b * hop / sample_rate_hz)
        if end_s > start_s:
            segments.append(ChordSegment(start_s, min(end_s, total_s), labels[int(path[a])]))
    return Annotation(duration_s=total_s, chords=tuple(segments))
