"""A y axis in MIDI numbers labelled with note names (C4 = 60), for the piano roll."""

from __future__ import annotations

import math

from desktop_app.live.store import note_name
from desktop_app.views.lane_axis import LaneAxis

__all__ = ["NoteAxis"]


class NoteAxis(LaneAxis):
    """Major ticks on every C, minor ticks on every semitone when zoomed in enough; labels are note names."""

    def tickValues(self, minVal: float, maxVal: float, size: float):  # noqa: N802 - pyqtgraph API
        lo, hi = math.ceil(min(minVal, maxVal)), math.floor(max(minVal, maxVal))
        if hi < lo:
            return []
        span = max(hi - lo, 1)
        octaves = [m for m in range(lo, hi + 1) if m % 12 == 0]
        px_per_semitone = size / span if size else 0.0
        if px_per_semitone >= 14:
            minor = [m for m in range(lo, hi + 1) if m % 12 != 0]
        elif px_per_semitone >= 5:
            minor = [m for m in range(lo, hi + 1) if m % 12 in (4, 7)]  # E and G
        else:
            minor = []
        return [(12.0, octaves), (1.0, minor)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        return [note_name(int(round(v))) if 0 <= round(v) <= 127 else "" for v in values]
