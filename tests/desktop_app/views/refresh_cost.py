"""Measure the timeline's refresh cost per frame with 10 minutes of events already drawn (a script, not a test).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/desktop_app/views/refresh_cost.py [--minutes 10] [--frames 120]

Fills an AnalysisStore with ``--minutes`` of synthetic events at live density (f0 every 10 ms, a note every
0.5 s, a chord every 2 s, four drum hits and two onsets a second, one spectrogram frame per 10 ms when the
analyser's events carry features), draws it once, then adds 16.7 ms of events per frame (what a 60 Hz timer
sees live) and times ``TimelineView.refresh`` alone and refresh + a synchronous repaint of the window, with
the view following the present (a 10 s window). Prints medians in milliseconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))

import numpy as np  # noqa: E402

from models.annotations.types import ChordSegment, DrumHit, F0Track, Note  # noqa: E402
from models.runtime.analyzer import AnalysisEvents  # noqa: E402

HOP_S = 0.01
N_BINS = 288
_HAS_FEATURES = "features" in {f.name for f in dataclasses.fields(AnalysisEvents)}


def events_between(frame0: int, frame1: int, rng: np.random.Generator) -> AnalysisEvents:
    """Events of frames ``frame0 .. frame1-1`` at live density."""
    frames = np.arange(frame0, frame1)
    times = frames * HOP_S
    f0 = np.where(frames % 50 < 40, 220.0 * 2 ** ((frames // 50 % 12) / 12), -220.0)
    notes = tuple(Note(t, t + 0.4, 57 + int(t * 2) % 12) for t in times[frames % 50 == 0])
    chords = tuple(ChordSegment(t - 2.0, t, "C:maj" if int(t) % 4 else "A:min") for t in times[(frames % 200 == 0)
                                                                                               & (frames > 0)])
    drums = tuple(DrumHit(t, ("kick", "snare", "hihat")[int(t * 4) % 3]) for t in times[frames % 25 == 0])
    onsets = times[frames % 50 == 0]
    extra = {}
    if _HAS_FEATURES:
        extra = {"features": rng.random((frames.size, N_BINS), dtype=np.float32) * 6.0, "first_frame": frame0}
    return AnalysisEvents(f0=F0Track(times, f0, np.ones(frames.size)), notes=notes, chords=chords,
                          current_chord="C:maj", drums=drums, onsets_s=onsets, frames_done=frame1,
                          latest_time_s=frame1 * HOP_S, **extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--frames", type=int, default=120)
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from desktop_app.live.store import AnalysisStore
    from desktop_app.views.timeline import TimelineView

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    store = AnalysisStore()
    view = TimelineView()
    view.resize(1200, 800)
    view.show()
    app.processEvents()
    n0 = int(args.minutes * 60 / HOP_S)
    for start in range(0, n0, 6000):  # one minute per batch
        store.add(events_between(start, min(start + 6000, n0), rng))
    t = time.perf_counter()
    view.refresh(store)
    first_ms = (time.perf_counter() - t) * 1e3
    view.set_live(True)
    view.repaint()
    app.processEvents()
    refresh_ms, frame_ms = [], []
    frame = n0
    for i in range(args.frames):
        step = 2 if i % 3 else 1  # 16.7 ms of 10 ms hops on average
        store.add(events_between(frame, frame + step, rng))
        frame += step
        t0 = time.perf_counter()
        view.refresh(store)
        t1 = time.perf_counter()
        view.graphics.repaint()
        app.processEvents()
        t2 = time.perf_counter()
        refresh_ms.append((t1 - t0) * 1e3)
        frame_ms.append((t2 - t0) * 1e3)
    print(f"{args.minutes:g} min of events drawn (first full draw {first_ms:.0f} ms); features: {_HAS_FEATURES}")
    print(f"refresh alone:     median {np.median(refresh_ms):.2f} ms, p90 {np.percentile(refresh_ms, 90):.2f} ms")
    print(f"refresh + repaint: median {np.median(frame_ms):.2f} ms, p90 {np.percentile(frame_ms, 90):.2f} ms")
    view.close()


if __name__ == "__main__":
    main()
