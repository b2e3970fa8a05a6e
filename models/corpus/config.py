"""Settings of a corpus render: one frozen dataclass, defaults in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from models.annotations.types import TASKS
from models.errors import ConfigError

#: Frames of the f0 labels (the models' hop).
LABEL_HOP_S = 0.01
#: Onsets closer than this are merged into one label (the earliest one is kept).
ONSET_MERGE_S = 0.03
#: fluidsynth renders in blocks of this many samples and starts MIDI events on block boundaries.
SYNTH_BLOCK_SAMPLES = 64


@dataclass(frozen=True)
class CorpusConfig:
    """What to render. Everything that changes the audio or labels lives here (``jobs`` does not)."""

    task: str
    minutes: float
    seed: int = 0
    sample_rate_hz: int = 16000
    procedural_fraction: float = 0.3
    excerpt_min_s: float = 15.0
    excerpt_max_s: float = 40.0
    tempo_min: float = 0.8
    tempo_max: float = 1.25
    #: split boundaries on the piece hash: [0, train) train, [train, valid) valid, rest test
    split_train: float = 0.8
    split_valid: float = 0.9
    #: seconds of audio (all stems together) rendered per fluidsynth call
    batch_audio_s: float = 300.0
    #: the last notes end this long before an excerpt ends, so render tails fade inside the excerpt
    end_margin_s: float = 0.3
    sources: tuple[str, ...] = field(default=())
    soundfonts: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"unknown task {self.task!r}; use one of {', '.join(TASKS)}")
        if not (self.minutes > 0):
            raise ConfigError(f"--minutes must be positive, got {self.minutes}")
        if not (0.0 <= self.procedural_fraction <= 1.0):
            raise ConfigError(
                f"--procedural-fraction must lie in [0, 1], got {self.procedural_fraction}"
            )
        if self.sample_rate_hz < 8000 or self.sample_rate_hz > 48000:
            raise ConfigError(
                f"--sample-rate-hz must lie in 8000..48000, got {self.sample_rate_hz}; the models use 16000"
            )
        if not (5.0 <= self.excerpt_min_s <= self.excerpt_max_s):
            raise ConfigError(
                f"excerpt lengths must satisfy 5 <= min <= max, got {self.excerpt_min_s}..{self.excerpt_max_s} s"
            )
        if self.seed < 0:
            raise ConfigError(f"--seed must be >= 0, got {self.seed}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sources"] = list(self.sources)
        d["soundfonts"] = list(self.soundfonts)
        return d
