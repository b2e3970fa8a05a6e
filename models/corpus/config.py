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


#: The splits of a corpus, in folder order.
ALL_SPLITS: tuple[str, ...] = ("train", "valid", "test")


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
    #: render only the items of these splits (the plan is the full render's, so each item keeps its piece,
    #: font and settings: ``("test",)`` makes a held-out test set at about a tenth of the work). Items are
    #: synthesised in batches, one fluidsynth run each, so an item's audio (and a label measured on it) can
    #: differ in small details from the full render's: measured on a 480-minute pitch plan, 89 of 113 test
    #: files differed, by at most 0.13 in sample value, and 3 f0 label files
    splits: tuple[str, ...] = ALL_SPLITS
    #: seconds of audio (all stems together) rendered per fluidsynth call
    batch_audio_s: float = 300.0
    #: the last notes end this long before an excerpt ends, so render tails fade inside the excerpt
    end_margin_s: float = 0.3
    #: share of pop909 melody items (pitch, onsets) played over their song's accompaniment, 6-20 dB lower
    melody_accompaniment_probability: float = 0.4
    #: share of Groove items (drums, onsets) rendered over a pop909 accompaniment ("music bed"); the bed's
    #: notes are labelled for onsets, never for drums (they teach the drum model what is *not* a drum)
    music_bed_probability: float = 0.3
    #: the bed's level relative to the drums, dB (uniform in this range)
    music_bed_level_db: tuple[float, float] = (-20.0, -6.0)
    #: procedural drum items get a bed too (same probability)
    music_bed_on_procedural: bool = False
    #: one-kit soundfonts (a single drum kit as preset 0 of bank 0, like the acoustic kits of Debian's
    #: avldrums.lv2-soundfont): a drum item (Groove or procedural) plays its drum part on one of them with
    #: probability ``kit_font_probability``; its music bed keeps the item's General MIDI font
    kit_fonts: tuple[str, ...] = field(default=())
    kit_font_probability: float = 0.5
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
        if not (0.0 <= self.melody_accompaniment_probability <= 1.0):
            raise ConfigError(f"--melody-accompaniment-probability must lie in [0, 1], got "
                              f"{self.melody_accompaniment_probability}")
        if not (0.0 <= self.music_bed_probability <= 1.0):
            raise ConfigError(f"--music-bed-probability must lie in [0, 1], got {self.music_bed_probability}")
        low, high = self.music_bed_level_db
        if not (-60.0 <= low <= high <= 20.0):
            raise ConfigError(f"--music-bed-level-db takes LOW HIGH with -60 <= LOW <= HIGH <= 20 (dB relative to "
                              f"the drums), got {low:g} {high:g}")
        object.__setattr__(self, "music_bed_level_db", (float(low), float(high)))
        if not (0.0 <= self.kit_font_probability <= 1.0):
            raise ConfigError(f"--kit-font-probability must lie in [0, 1], got {self.kit_font_probability}")
        if self.seed < 0:
            raise ConfigError(f"--seed must be >= 0, got {self.seed}")
        unknown = [x for x in self.splits if x not in ALL_SPLITS]
        if unknown or not self.splits:
            raise ConfigError(f"--splits takes one or more of {', '.join(ALL_SPLITS)}, got "
                              f"{' '.join(self.splits) or 'none'}")
        object.__setattr__(self, "splits", tuple(x for x in ALL_SPLITS if x in self.splits))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sources"] = list(self.sources)
        d["soundfonts"] = list(self.soundfonts)
        d["kit_fonts"] = list(self.kit_fonts)
        d["music_bed_level_db"] = list(self.music_bed_level_db)
        d["splits"] = list(self.splits)
        return d

    @classmethod
    def defaults_dict(cls) -> dict:
        """The default of every setting that has one (what a manifest written before a setting existed used)."""
        from dataclasses import MISSING, fields

        out = {}
        for f in fields(cls):
            if f.default is not MISSING:
                out[f.name] = list(f.default) if isinstance(f.default, tuple) else f.default
            elif f.default_factory is not MISSING:
                out[f.name] = list(f.default_factory())
        return out
