"""Labels of a rendered item, computed from the exact MIDI that was rendered."""

from __future__ import annotations

import numpy as np

from models.annotations.types import GM_DRUM_KEY_TO_CLASS, DrumHit, F0Track, Note
from models.corpus.config import LABEL_HOP_S, ONSET_MERGE_S
from models.corpus.items import ItemContent
from models.corpus.score import Part

#: a note is voiced while its sound stays within this of the note's peak level: a decaying note (marimba,
#: xylophone, plucked strings) turns unvoiced before its note-off once it has died away, and a release
#: tail stays voiced past the note-off while it is still this loud
TAIL_DROP_DB = 30.0
TAIL_MAX_S = 0.3
#: legato: where a note starts while the previous one still sounds (its release, or a slow attack such as
#: a bowed string's), the label keeps the previous pitch until the new note's harmonics reach LEGATO_RATIO
#: of the previous note's, for at most this long (a 64 ms window centred on each 10 ms frame, the
#: models' own front-end window, on the line's own audio)
LEGATO_MAX_S = 0.15
LEGATO_HARMONICS = 8
LEGATO_WINDOW_S = 0.064
#: the new note takes over once its harmonic level reaches this fraction of the previous note's (-6 dB: a
#: struck note, whose attack fills half of the window centred on its note-on, takes over at once)
LEGATO_RATIO = 0.5


def frame_times(duration_s: float, hop_s: float = LABEL_HOP_S) -> np.ndarray:
    n = int(np.floor(duration_s / hop_s + 1e-9)) + 1
    return np.arange(n) * hop_s


def _frame_db(audio: np.ndarray, sample_rate_hz: int, times_s: np.ndarray) -> np.ndarray:
    win = int(round(0.02 * sample_rate_hz))
    padded = np.concatenate([np.zeros(win, np.float32), audio.astype(np.float32), np.zeros(win, np.float32)])
    centres = np.round(times_s * sample_rate_hz).astype(int) + win
    csum = np.concatenate([[0.0], np.cumsum(padded.astype(np.float64) ** 2)])
    lo = np.clip(centres - win // 2, 0, padded.size)
    hi = np.clip(centres + win // 2, 0, padded.size)
    power = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    return 10 * np.log10(power + 1e-12)


def line_f0(line: Part, duration_s: float, line_audio: np.ndarray | None, sample_rate_hz: int) -> F0Track:
    """f0 every 10 ms from t=0: note pitch plus the pitch bend in force; 0 where nothing sounds.

    With the line's own audio (``line_audio``), the sound decides the voicing at both ends of a note:
    a note whose sound falls more than TAIL_DROP_DB below its peak before the note-off is unvoiced from
    there on (a marimba note held for a second sounds for about half of it); a release tail is labelled
    voiced (at the note's pitch) while it stays within TAIL_DROP_DB of the peak, for at most TAIL_MAX_S
    and never past the next note-on. Levels are 20 ms RMS every 10 ms.
    """
    times = frame_times(duration_s)
    f0 = np.zeros_like(times)
    notes = sorted(line.notes, key=lambda n: n.onset_s)
    db = _frame_db(line_audio, sample_rate_hz, times) if line_audio is not None else None
    bend_t = np.array([t for t, _ in line.bends]) if line.bends else np.zeros(0)
    bend_v = np.array([v for _, v in line.bends], dtype=float) if line.bends else np.zeros(0)
    eps = 1e-9
    for i, n in enumerate(notes):
        nxt = notes[i + 1].onset_s if i + 1 < len(notes) else duration_s
        end = min(n.offset_s, nxt)
        idx = np.nonzero((times >= n.onset_s - eps) & (times < end - eps))[0]
        if db is not None and idx.size:
            peak = int(np.argmax(db[idx]))
            ref = float(db[idx[peak]])
            died = np.nonzero(db[idx[peak:]] < ref - TAIL_DROP_DB)[0]
            if died.size:  # the note died away before its note-off: no tail either
                idx = idx[: peak + int(died[0])]
            else:
                tail = np.nonzero((times >= end - eps) & (times < min(nxt, end + TAIL_MAX_S) - eps))[0]
                for j in tail:
                    if db[j] < ref - TAIL_DROP_DB:
                        break
                    idx = np.append(idx, j)
        if not idx.size:
            continue
        semis = np.zeros(idx.size)
        if bend_t.size:
            k = np.searchsorted(bend_t, times[idx] + eps, side="right") - 1
            semis = np.where(k >= 0, bend_v[np.maximum(k, 0)], 0.0) / 8192.0 * line.bend_range_semitones
        f0[idx] = 440.0 * 2.0 ** ((n.pitch + semis - 69.0) / 12.0)
    if line_audio is not None:
        _hold_legato_transitions(f0, notes, times, line_audio, sample_rate_hz)
    return F0Track(times, f0, (f0 > 0).astype(float))


def _harmonic_level(frame: np.ndarray, sample_rate_hz: int, f0_hz: float) -> float:
    """Mean magnitude of the first LEGATO_HARMONICS harmonics of ``f0_hz`` (below 0.45 * the sample rate) in
    the spectrum of one windowed frame: per harmonic the largest bin within a quarter tone of it."""
    n_fft = 1 << int(np.ceil(np.log2(frame.size * 4)))
    mag = np.abs(np.fft.rfft(frame, n_fft))
    bin_hz = sample_rate_hz / n_fft
    levels = []
    for h in range(1, LEGATO_HARMONICS + 1):
        f = h * f0_hz
        if f >= 0.45 * sample_rate_hz:
            break
        lo = int(np.floor(f * 2 ** (-1 / 24) / bin_hz))
        hi = max(int(np.ceil(f * 2 ** (1 / 24) / bin_hz)), lo + 1)
        levels.append(float(mag[lo:hi + 1].max()))
    return float(np.mean(levels)) if levels else 0.0


def _hold_legato_transitions(f0: np.ndarray, notes, times: np.ndarray, audio: np.ndarray,
                             sample_rate_hz: int) -> None:
    """In place: at each legato change of pitch (the frame before the new note voiced at the previous
    note's pitch), keep the previous pitch while its harmonics outweigh the new note's (LEGATO_MAX_S at most)."""
    half = int(round(LEGATO_WINDOW_S * sample_rate_hz / 2))
    window = np.hanning(2 * half)
    padded = np.concatenate([np.zeros(half), np.asarray(audio, dtype=np.float64), np.zeros(half)])
    max_frames = int(round(LEGATO_MAX_S / (times[1] - times[0]))) if times.size > 1 else 0
    for n in notes[1:]:
        j0 = int(np.searchsorted(times, n.onset_s - 1e-9))
        if j0 < 1 or j0 >= times.size or f0[j0] <= 0 or f0[j0 - 1] <= 0:
            continue
        old_hz, new_hz = float(f0[j0 - 1]), float(f0[j0])
        if abs(12 * np.log2(new_hz / old_hz)) < 0.5:
            continue
        j = j0
        while j < min(j0 + max_frames, times.size) and f0[j] == new_hz:
            centre = int(round(times[j] * sample_rate_hz)) + half
            frame = padded[centre - half:centre + half]
            if frame.size < window.size:
                break
            frame = frame * window
            if _harmonic_level(frame, sample_rate_hz, new_hz) >= LEGATO_RATIO * _harmonic_level(frame, sample_rate_hz, old_hz):
                break
            j += 1
        f0[j0:j] = old_hz


def line_notes(line: Part) -> list[Note]:
    return [Note(round(n.onset_s, 6), round(n.offset_s, 6), float(n.pitch), int(n.velocity))
            for n in sorted(line.notes, key=lambda n: (n.onset_s, n.pitch))]


def drum_hits(content: ItemContent) -> list[DrumHit]:
    hits = []
    for i in content.labelled_stems:
        for part in content.stems[i].parts:
            if not part.is_drum:
                continue
            for n in part.notes:
                drum = GM_DRUM_KEY_TO_CLASS.get(n.pitch)
                if drum is not None:
                    hits.append(DrumHit(round(n.onset_s, 6), drum, int(n.velocity)))
    hits.sort(key=lambda h: (h.time_s, h.drum))
    return hits


def merge_onsets(times_s, merge_s: float = ONSET_MERGE_S) -> np.ndarray:
    """Sorted onsets where any onset closer than ``merge_s`` to the last kept one is dropped."""
    kept: list[float] = []
    for t in sorted(float(x) for x in times_s):
        if not kept or t - kept[-1] >= merge_s - 1e-9:
            kept.append(t)
    return np.round(np.array(kept, dtype=float), 6)


def all_onsets(content: ItemContent) -> np.ndarray:
    times = [n.onset_s for i in content.labelled_stems for p in content.stems[i].parts for n in p.notes]
    return merge_onsets(times)
