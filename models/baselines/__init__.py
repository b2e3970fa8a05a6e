"""DSP baselines: simple, honest floors for every task (numpy / scipy / librosa only).

Each baseline is ``(audio: np.ndarray, sample_rate_hz: int) -> Annotation`` with the task's fields
filled on 10 ms frames. ``BASELINES[task][name]`` lists them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from models.annotations.types import Annotation
from models.baselines.chords_templates import chroma_templates_baseline
from models.baselines.drums_bands import band_onsets_baseline
from models.baselines.onsets_librosa import librosa_onset_baseline
from models.baselines.pitch_pyin import pyin_baseline
from models.baselines.pitch_yin import yin_baseline
from models.errors import EvaluationError

Baseline = Callable[[np.ndarray, int], Annotation]

BASELINES: dict[str, dict[str, Baseline]] = {
    "pitch": {"pyin": pyin_baseline, "yin": yin_baseline},
    "chords": {"chroma-templates": chroma_templates_baseline},
    "drums": {"band-onsets": band_onsets_baseline},
    "onsets": {"librosa-onset": librosa_onset_baseline},
}


def get_baseline(task: str, name: str) -> Baseline:
    """The baseline ``name`` for ``task``; the error lists the valid names."""
    if task not in BASELINES:
        raise EvaluationError(f"unknown task {task!r}; expected one of {', '.join(BASELINES)}")
    try:
        return BASELINES[task][name]
    except KeyError:
        raise EvaluationError(
            f"no baseline {name!r} for task {task!r}; choose one of: {', '.join(BASELINES[task])}"
        ) from None
