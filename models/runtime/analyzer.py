"""The streaming analyser: audio blocks in, timestamped pitch / note / chord / drum / onset events out.

numpy + onnxruntime only (the live path never imports torch). One :class:`~models.frontend.FrontEnd`
computes each 10 ms frame once for every task; each task's ONNX model (:class:`OnnxTaskModel`, run with
explicit streaming state) turns the new frames into probabilities, and the task's online decoder from
:mod:`models.decoders` turns those into events that are final.

Timing. A model with ``lookahead_frames = L`` emits, for input frame ``j``, the output row describing
frame ``j - L``; the analyser drops the first ``L`` rows of a stream (they describe frames before t = 0)
and, at :meth:`Analyzer.finish`, feeds ``L`` silent frames (all-zero features, which is what digital
silence gives) so the last ``L`` frames are described too. Row ``k`` handed to a decoder therefore
describes frame ``k``, time ``k * hop_s``, and the decoders' times need no correction. A model with
anticipation (``L = -a``: row ``j`` describes frame ``j + a``, drums and onsets) gets ``a`` all-zero rows
in front of its stream instead (no row describes frames ``0 .. a-1``) and nothing at the end; its last
``a`` rows describe frames just past the last one (at most ``a`` hops, inside the front-end's padding).

Latency of a task (:attr:`Analyzer.latency_s`): front-end lookahead (half a window, 32 ms) + model
lookahead (``L`` hops) + decoder delay (frames after an event before it is final), in seconds. Pitch
f0 frames are final sooner than notes; :attr:`Analyzer.f0_latency_s` gives that figure.

Streaming == offline: :meth:`Analyzer.analyze` is :meth:`Analyzer.process` over the whole file then
:meth:`Analyzer.finish`, so both run the same code; only the batch shapes differ (frames per front-end
call and per ONNX call), which can change the last float bits of features and probabilities (BLAS and
MLAS kernels differ by shape), never the arithmetic of the decoders. Measured with random-weight models
(tests/models/runtime/test_analyzer.py): the front-end frames are bit-identical for every block size;
the ONNX probabilities differ by at most ~6e-8 in 1-8 % of their entries between block lengths, so the
events are identical in every discrete decision (counts, labels, classes, note pitches, velocities, frame
times) while sub-frame peak times and f0 values agree to about 4e-8 s and 3e-9 relative.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from models.annotations.types import DRUM_CLASSES, TASKS, Annotation, ChordSegment, DrumHit, F0Track, Note
from models.decoders.chords import ChordDecoderConfig, ChordOnlineDecoder, ChordViterbiDecoder
from models.decoders.peaks import DrumOnlineDecoder, OnsetOnlineDecoder, PeakPickingConfig
from models.decoders.pitch import (
    F0DecoderConfig,
    F0ViterbiConfig,
    F0ViterbiDecoder,
    NoteConfig,
    PitchDecoderConfig,
    PitchOnlineDecoder,
    concat_f0,
    segment_notes,
)
from models.decoders.vocabulary import ChordVocabulary, PitchBins
from models.errors import ConfigError, NonFiniteAudioError, SampleRateError
from models.frontend import FrontEnd, FrontEndConfig

__all__ = [
    "AnalysisEvents",
    "Analyzer",
    "HopCost",
    "TaskModel",
    "benchmark_hop_cost",
    "build_decoder",
    "build_whole_file_decoder",
    "gather_events",
]

log = logging.getLogger(__name__)

#: Samples handed to the front-end at once: bounds the memory of one call on a long block (4 s at 16 kHz).
_CHUNK_SAMPLES = 64000
#: Card decoder keys that describe the decoder rather than configure it (ignored silently).
_INFORMATIONAL_KEYS = frozenset({"delay_frames"})


class TaskModel(Protocol):
    """What the analyser needs from a model (:class:`models.runtime.onnx_model.OnnxTaskModel` has it)."""

    task: str
    card: Any
    labels: Any
    n_outputs: int
    lookahead_frames: int
    n_bins: int

    def initial_state(self) -> list[np.ndarray]: ...

    def run(self, features: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]: ...


#: Shared, read-only "no features" value (0 rows; the bin count is unknown without frames).
_NO_FEATURES = np.zeros((0, 0), dtype=np.float32)
_NO_FEATURES.flags.writeable = False


def _empty_f0() -> F0Track:
    return F0Track(np.zeros(0), np.zeros(0), np.zeros(0))


@dataclass(frozen=True, eq=False)
class AnalysisEvents:
    """What became final during one :meth:`Analyzer.process` / :meth:`Analyzer.finish` call.

    ``f0``: the new f0 frames (times, f0_hz with the negative-unvoiced convention, confidence).
    ``notes``, ``chords`` (segments now final), ``drums``, ``onsets_s``: new events, in time order per
    task. ``current_chord``: the chord accepted right now (for a live readout; None before the first or
    without a chord model). ``frames_done``: front-end frames computed since the stream started;
    ``latest_time_s``: the stream time they cover (``frames_done * hop_s``).
    ``features``: the front-end frames computed during the call, (n, n_bins) float32, exactly what the
    models saw (for a spectrogram view; empty when none were computed or the analyser was built with
    ``keep_features=False``); ``first_frame``: the stream index of its first row (frame ``k`` describes
    time ``k * hop_s``), so ``first_frame + len(features) == frames_done`` when features are kept.
    ``revised_chords``, ``revised_f0``, ``revised_notes``: only in the batch of :meth:`Analyzer.finish` of
    an analyser with whole-file decoding: the chords, the f0 track and the notes of the whole stream
    decoded again with Viterbi, which *replace* everything of that layer handed out before (the online
    events, including those in this batch's ``chords``, ``f0`` and ``notes``); None otherwise.
    """

    f0: F0Track
    notes: tuple[Note, ...]
    chords: tuple[ChordSegment, ...]
    current_chord: str | None
    drums: tuple[DrumHit, ...]
    onsets_s: np.ndarray
    frames_done: int
    latest_time_s: float
    features: np.ndarray = dataclasses.field(default_factory=lambda: _NO_FEATURES)
    first_frame: int = 0
    revised_chords: tuple[ChordSegment, ...] | None = None
    revised_f0: F0Track | None = None
    revised_notes: tuple[Note, ...] | None = None

    @property
    def is_empty(self) -> bool:
        """No events (features alone do not count: they are not events)."""
        return not (len(self.f0) or self.notes or self.chords or self.drums or self.onsets_s.size
                    or self.revised_chords is not None or self.revised_f0 is not None)

    @property
    def n_features(self) -> int:
        """How many front-end frames :attr:`features` holds."""
        return int(self.features.shape[0])


# --- decoders from model cards ---------------------------------------------------------------------
def _card_value(card: Any, name: str, default: Any = None) -> Any:
    """A model card field, whether the card is a dataclass-like object or a plain dict."""
    if card is None:
        return default
    if isinstance(card, Mapping):
        value = card.get(name, default)
    else:
        value = getattr(card, name, default)
    return default if value is None else value


def _model_name(model: TaskModel) -> str:
    return str(_card_value(model.card, "name", model.task))


def _config_from(cls: type, settings: Mapping[str, Any], fixed: dict[str, Any], where: str) -> Any:
    """``cls(**fixed, **known settings)``; keys ``cls`` does not have are ignored with a warning."""
    names = {f.name for f in dataclasses.fields(cls)} - set(fixed)
    settings = {k: v for k, v in settings.items() if k not in _INFORMATIONAL_KEYS}
    unknown = sorted(set(settings) - names)
    if unknown:
        log.warning("%s: ignoring unknown decoder setting(s) %s (known: %s)", where, ", ".join(unknown),
                    ", ".join(sorted(names)))
    values = {k: (tuple(v) if isinstance(v, list) and k != "threshold" else v)
              for k, v in settings.items() if k in names}
    try:
        return cls(**fixed, **values)
    except TypeError as exc:
        raise ConfigError(f"{where}: bad decoder settings {dict(values)} ({exc}); fix the model card") from exc


def _chord_vocabulary(model: TaskModel) -> ChordVocabulary:
    labels = tuple(model.labels or ())
    for vocabulary in (ChordVocabulary(), ChordVocabulary.majmin()):
        if labels and tuple(vocabulary.labels) == labels:
            return vocabulary
        if not labels and vocabulary.n_classes == model.n_outputs:
            return vocabulary
    raise ConfigError(
        f"chord model {_model_name(model)} has {model.n_outputs} outputs whose labels match neither the full "
        f"{ChordVocabulary().n_classes}-class vocabulary nor the 25-class maj/min one; re-export it with "
        "ChordVocabulary labels"
    )


def build_decoder(model: TaskModel, frame_rate_hz: float) -> Any:
    """The online decoder for ``model.task``, with the settings tuned in ``model.card.decoder``.

    Pitch settings may be nested (``{"f0": {...}, "notes": {...}}``) or flat (each key goes to the
    config that has it); drum/onset settings are :class:`PeakPickingConfig` fields (``threshold`` may be
    a number, a list per class, or ``{class: value}``); chord settings are :class:`ChordDecoderConfig`
    fields.
    """
    settings = dict(_card_value(model.card, "decoder", {}) or {})
    where = f"model {_model_name(model)} ({model.task})"
    fixed = {"frame_rate_hz": frame_rate_hz}
    if model.task == "pitch":
        bins = PitchBins()
        if model.n_outputs != bins.n_bins + 1:
            raise ConfigError(
                f"{where} has {model.n_outputs} outputs; a pitch model needs {bins.n_bins + 1} "
                f"({bins.n_bins} pitch bins + voicing); re-export it"
            )
        f0_settings = dict(settings.pop("f0", {}) or {})
        note_settings = dict(settings.pop("notes", {}) or {})
        settings.pop("viterbi", None)  # the whole-file decoder's (build_whole_file_decoder)
        f0_names = {f.name for f in dataclasses.fields(F0DecoderConfig)}
        for key, value in settings.items():  # flat keys: route to whichever config knows them
            (f0_settings if key in f0_names else note_settings)[key] = value
        f0_settings.pop("bins", None)
        config = PitchDecoderConfig(
            f0=_config_from(F0DecoderConfig, f0_settings, fixed, where),
            notes=_config_from(NoteConfig, note_settings, fixed, where),
        )
        return PitchOnlineDecoder(config)
    if model.task == "chords":
        vocabulary = _chord_vocabulary(model)
        return ChordOnlineDecoder(vocabulary, _config_from(ChordDecoderConfig, settings, fixed, where))
    if model.task == "drums":
        if not 1 <= model.n_outputs <= len(DRUM_CLASSES):
            raise ConfigError(
                f"{where} has {model.n_outputs} outputs; a drum model has 1 to {len(DRUM_CLASSES)} "
                f"(in the order {', '.join(DRUM_CLASSES)})"
            )
        return DrumOnlineDecoder(_config_from(PeakPickingConfig, settings, fixed, where))
    if model.task == "onsets":
        if model.n_outputs != 1:
            raise ConfigError(f"{where} has {model.n_outputs} outputs; an onset model has exactly 1")
        return OnsetOnlineDecoder(_config_from(PeakPickingConfig, settings, fixed, where))
    raise ConfigError(f"model {_model_name(model)} is for unknown task {model.task!r}; expected one of "
                      f"{', '.join(TASKS)}")


class _PitchWholeFile:
    """Whole-file pitch: :class:`F0ViterbiDecoder` over the stream, then notes segmented from its track."""

    def __init__(self, f0: F0ViterbiDecoder, notes: NoteConfig) -> None:
        self.f0, self.notes = f0, notes

    def reset(self) -> None:
        self.f0.reset()

    def process(self, probs: np.ndarray) -> None:
        self.f0.process(probs)

    def flush(self) -> tuple[F0Track, tuple[Note, ...]]:
        track = self.f0.flush()
        return track, segment_notes(track, self.notes)


def build_whole_file_decoder(model: TaskModel, frame_rate_hz: float) -> Any | None:
    """The whole-file decoder of ``model.task``, or None for tasks that have none (drums and onsets keep
    their online decoders: a hit is decided by what is around it).

    Chords: :class:`ChordViterbiDecoder` with the card's settings. Pitch: :class:`F0ViterbiDecoder` whose
    voicing threshold is the middle of the card's online hysteresis (``(voicing_on + voicing_off) / 2``,
    the confidence the model's voicing was tuned around) unless the card's decoder settings hold a
    ``viterbi`` block of :class:`F0ViterbiConfig` fields; notes are segmented from its track with the
    card's note settings.
    """
    fixed = {"frame_rate_hz": frame_rate_hz}
    where = f"model {_model_name(model)} ({model.task})"
    if model.task == "chords":
        settings = dict(_card_value(model.card, "decoder", {}) or {})
        return ChordViterbiDecoder(_chord_vocabulary(model), _config_from(ChordDecoderConfig, settings, fixed, where))
    if model.task == "pitch":
        online = build_decoder(model, frame_rate_hz).config  # the card's settings, checked
        settings = dict(_card_value(model.card, "decoder", {}) or {})
        viterbi_settings = dict(settings.get("viterbi", {}) or {})
        viterbi_settings.setdefault("voicing_threshold",
                                    round(0.5 * (online.f0.voicing_on + online.f0.voicing_off), 6) or 0.5)
        viterbi = _config_from(F0ViterbiConfig, viterbi_settings, {}, where)
        return _PitchWholeFile(F0ViterbiDecoder(online.f0, viterbi), online.notes)
    return None


# --- one task: model + decoder ---------------------------------------------------------------------
class _TaskRunner:
    """Runs one model over new frames with its streaming state, drops the lookahead rows, decodes
    (online, and with ``whole_file`` also with the task's whole-file decoder, given at :meth:`finish`)."""

    def __init__(self, model: TaskModel, frame_rate_hz: float, whole_file: bool = False) -> None:
        self.model = model
        self.task = model.task
        self.decoder = build_decoder(model, frame_rate_hz)
        self.whole_file_decoder = build_whole_file_decoder(model, frame_rate_hz) if whole_file else None
        self.lookahead_frames = int(model.lookahead_frames)
        self.reset()

    def reset(self) -> None:
        self._state = self.model.initial_state()
        self._skip = max(self.lookahead_frames, 0)  # stream rows that describe frames before t = 0
        self._lead = max(-self.lookahead_frames, 0)  # anticipation: frames no row describes
        self.decoder.reset()
        if self.whole_file_decoder is not None:
            self.whole_file_decoder.reset()

    def feed(self, frames: np.ndarray) -> Any:
        if frames.shape[0] == 0:
            return None
        probs, self._state = self.model.run(frames, self._state)
        if self._lead:
            probs = np.concatenate([np.zeros((self._lead, probs.shape[1]), dtype=probs.dtype), probs])
            self._lead = 0
        if self._skip:
            drop = min(self._skip, probs.shape[0])
            probs = probs[drop:]
            self._skip -= drop
        if probs.shape[0] == 0:
            return None
        if self.whole_file_decoder is not None:
            self.whole_file_decoder.process(probs)
        return self.decoder.process(probs)

    def finish(self, n_bins: int) -> tuple[list[Any], Any]:
        """Release the last ``lookahead_frames`` rows with silent frames, then flush the decoders: the
        online decoder's last outputs, and the whole-file decoder's result (None without one)."""
        outputs = []
        if self.lookahead_frames > 0:
            outputs.append(self.feed(np.zeros((self.lookahead_frames, n_bins), dtype=np.float32)))
        outputs.append(self.decoder.flush())
        whole = self.whole_file_decoder.flush() if self.whole_file_decoder is not None else None
        return outputs, whole


class _EventBuilder:
    """Collects the decoder outputs of one call into an :class:`AnalysisEvents`."""

    def __init__(self) -> None:
        self.f0: list[F0Track] = []
        self.notes: list[Note] = []
        self.chords: list[ChordSegment] = []
        self.drums: list[DrumHit] = []
        self.onsets: list[float] = []
        self.features: list[np.ndarray] = []
        self.first_frame: int | None = None
        self.revised_chords: tuple[ChordSegment, ...] | None = None
        self.revised_f0: F0Track | None = None
        self.revised_notes: tuple[Note, ...] | None = None

    def add_features(self, frames: np.ndarray, first_frame: int) -> None:
        if frames.shape[0] == 0:
            return
        if self.first_frame is None:
            self.first_frame = first_frame
        self.features.append(frames)

    def add(self, task: str, output: Any) -> None:
        if output is None:
            return
        if task == "pitch":
            self.f0.append(output.f0)
            self.notes.extend(output.notes)
        elif task == "chords":
            self.chords.extend(output)
        elif task == "drums":
            self.drums.extend(output)
        else:
            self.onsets.extend(output)

    def build(self, current_chord: str | None, frames_done: int, hop_s: float) -> AnalysisEvents:
        if self.features:
            features = self.features[0] if len(self.features) == 1 else np.concatenate(self.features)
            first_frame = int(self.first_frame)
        else:
            features, first_frame = _NO_FEATURES, frames_done
        return AnalysisEvents(
            f0=concat_f0(self.f0) if self.f0 else _empty_f0(),
            notes=tuple(self.notes),
            chords=tuple(self.chords),
            current_chord=current_chord,
            drums=tuple(self.drums),
            onsets_s=np.asarray(self.onsets, dtype=np.float64),
            frames_done=frames_done,
            latest_time_s=frames_done * hop_s,
            features=features,
            first_frame=first_frame,
            revised_chords=self.revised_chords,
            revised_f0=self.revised_f0,
            revised_notes=self.revised_notes,
        )


# --- the analyser ----------------------------------------------------------------------------------
class Analyzer:
    """Stateful analyser over any subset of the four tasks.

    ``process(block)`` takes mono float samples at ``sample_rate_hz`` (1 sample to minutes) and
    returns the events that became final; ``finish()`` ends the stream (flushes the front-end, feeds
    each model its lookahead in silence, flushes the decoders) and starts over; ``reset()`` drops the
    stream; ``analyze(audio)`` is the offline form and returns an :class:`Annotation`.

    ``keep_features``: hand the front-end frames out in :attr:`AnalysisEvents.features` (the spectrogram
    view shows them). They are computed for the models anyway; keeping them costs one reference per
    front-end call (and a concatenation when a call spans several 4 s chunks), so it is on by default.

    ``whole_file``: also decode the stream as a whole, for files. Chords and pitch then run through a
    Viterbi decoder as well as the online one (:func:`build_whole_file_decoder`), and :meth:`finish` hands
    the whole stream's results out in :attr:`AnalysisEvents.revised_chords`, ``revised_f0`` and
    ``revised_notes``, replacing the online events of those layers; :meth:`analyze` and
    :func:`gather_events` return those. The online events of :meth:`process` are the same either way
    (what a live view draws); drums and onsets have one decoding. Off by default (a live stream has no
    end to wait for). Memory kept until the end: 133 bytes a frame for chords, 734 for pitch (48 and 264
    MB per hour of audio). Measured on the test splits with the bundled models (docs/MODELS.md): chords
    majmin 0.736 online -> 0.767; pitch RPA 0.888 -> 0.895, overall accuracy 0.845 -> 0.85, note F1
    0.648 -> 0.66.
    """

    def __init__(self, models: Mapping[str, TaskModel], *, sample_rate_hz: int = 16000,
                 keep_features: bool = True, whole_file: bool = False) -> None:
        if not models:
            raise ConfigError("the analyser needs at least one model; pass {task: model} for one of "
                              f"{', '.join(TASKS)}")
        for task, model in models.items():
            if task not in TASKS:
                raise ConfigError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
            if model.task != task:
                raise ConfigError(
                    f"model {_model_name(model)} is a {model.task!r} model but was given for task {task!r}; "
                    "pass each model under its own task"
                )
        ordered = {t: models[t] for t in TASKS if t in models}
        self.config = self._frontend_config(ordered)
        if int(sample_rate_hz) != self.config.sample_rate_hz:
            raise SampleRateError(
                f"the models expect {self.config.sample_rate_hz} Hz audio but the analyser was given "
                f"sample_rate_hz={sample_rate_hz}; resample the audio (load_audio(path, "
                f"{self.config.sample_rate_hz}) does it)"
            )
        self.sample_rate_hz = self.config.sample_rate_hz
        self.hop_s = self.config.hop_s
        self.frame_rate_hz = self.config.sample_rate_hz / self.config.hop_samples
        self.frontend = FrontEnd(self.config)
        self.keep_features = bool(keep_features)
        self.whole_file = bool(whole_file)
        self._runners = {task: _TaskRunner(model, self.frame_rate_hz, self.whole_file)
                         for task, model in ordered.items()}
        self.reset()

    @staticmethod
    def _frontend_config(models: Mapping[str, TaskModel]) -> FrontEndConfig:
        configs = {}
        for task, model in models.items():
            settings = _card_value(model.card, "frontend", None)
            config = FrontEndConfig(**dict(settings)) if settings else FrontEndConfig()
            if int(model.n_bins) != config.n_bins:
                raise ConfigError(
                    f"model {_model_name(model)} ({task}) takes {model.n_bins} feature bins but its card's "
                    f"front-end gives {config.n_bins}; re-export the model with a matching card"
                )
            configs[task] = config
        first_task, first = next(iter(configs.items()))
        for task, config in configs.items():
            if config != first:
                raise ConfigError(
                    f"the {task} and {first_task} models were trained on different front-ends "
                    f"({config.to_dict()} vs {first.to_dict()}); one analyser needs one front-end, so use "
                    "models exported with the same FrontEndConfig"
                )
        return first

    # --- properties --------------------------------------------------------------------------------
    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self._runners)

    @property
    def models(self) -> dict[str, TaskModel]:
        return {task: runner.model for task, runner in self._runners.items()}

    @property
    def latency_s(self) -> dict[str, float]:
        """Per task: front-end lookahead + model lookahead + decoder delay (notes, for pitch), seconds."""
        return {
            task: self.config.lookahead_s + (r.lookahead_frames + r.decoder.delay_frames) * self.hop_s
            for task, r in self._runners.items()
        }

    @property
    def f0_latency_s(self) -> float | None:
        """Latency of pitch f0 frames (shorter than that of notes); None without a pitch model."""
        runner = self._runners.get("pitch")
        if runner is None:
            return None
        return self.config.lookahead_s + (runner.lookahead_frames + runner.decoder.f0_delay_frames) * self.hop_s

    @property
    def frames_done(self) -> int:
        return self.frontend.frames_emitted

    @property
    def samples_in(self) -> int:
        return self._samples_in

    def current_chord(self) -> str | None:
        runner = self._runners.get("chords")
        return None if runner is None else runner.decoder.current_chord()

    # --- streaming -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the stream: front-end buffer, model states, decoder states."""
        self.frontend.reset()
        for runner in self._runners.values():
            runner.reset()
        self._samples_in = 0

    def process(self, block: np.ndarray) -> AnalysisEvents:
        """Feed mono samples; return the events that became final."""
        x = np.asarray(block)
        if x.ndim != 1:
            if x.ndim == 2 and 1 in x.shape:
                x = x.reshape(-1)
            else:
                raise ConfigError(
                    f"the analyser takes mono samples (a 1-D array), got shape {x.shape}; mix the channels "
                    "down first (load_audio(..., mono=True) does it)"
                )
        if x.size and not np.all(np.isfinite(x)):
            bad = int(np.flatnonzero(~np.isfinite(x))[0])
            raise NonFiniteAudioError(
                f"audio sample {self._samples_in + bad} is {x[bad]} (not finite); clean or clip the signal "
                "before analysing it"
            )
        builder = _EventBuilder()
        for start in range(0, x.size, _CHUNK_SAMPLES):
            chunk = x[start : start + _CHUNK_SAMPLES]
            self._samples_in += chunk.size
            self._advance(self.frontend.process(chunk), builder)
        return builder.build(self.current_chord(), self.frames_done, self.hop_s)

    def finish(self) -> AnalysisEvents:
        """End of stream: everything still pending becomes final; the analyser then starts over."""
        builder = _EventBuilder()
        self._advance(self.frontend.flush(), builder)
        for task, runner in self._runners.items():
            outputs, whole = runner.finish(self.config.n_bins)
            for output in outputs:
                builder.add(task, output)
            if whole is None:
                continue
            if task == "chords":
                builder.revised_chords = tuple(whole)
            else:
                builder.revised_f0, builder.revised_notes = whole[0], tuple(whole[1])
        events = builder.build(None, self.frames_done, self.hop_s)
        self.reset()
        return events

    def _advance(self, frames: np.ndarray, builder: _EventBuilder) -> None:
        if frames.shape[0] == 0:
            return
        if self.keep_features:
            builder.add_features(frames, self.frontend.frames_emitted - frames.shape[0])
        for task, runner in self._runners.items():
            builder.add(task, runner.feed(frames))

    # --- offline -----------------------------------------------------------------------------------
    def analyze(self, audio: np.ndarray) -> Annotation:
        """Offline: reset, the whole signal through :meth:`process`, then :meth:`finish` (with
        ``whole_file``, the chords are the whole-file ones)."""
        self.reset()
        n_samples = int(np.asarray(audio).size)
        events = [self.process(audio), self.finish()]
        return gather_events(events, tasks=self.tasks, duration_s=n_samples / self.sample_rate_hz,
                             metadata=self.metadata())

    def metadata(self) -> dict:
        """JSON-friendly description of the models and settings (stored in the JAMS sandbox)."""
        return {
            "analyzer": {
                "models": {task: _model_name(r.model) for task, r in self._runners.items()},
                "latency_s": {task: round(v, 6) for task, v in self.latency_s.items()},
                "frontend": self.config.to_dict(),
                "decoding": {task: ("whole-file viterbi" if r.whole_file_decoder is not None else "online")
                             for task, r in self._runners.items()},
            }
        }


def gather_events(
    events: Iterable[AnalysisEvents],
    *,
    tasks: Iterable[str],
    duration_s: float | None,
    metadata: dict | None = None,
) -> Annotation:
    """Join the events of a whole stream into one :class:`Annotation` (fields of other tasks stay None).

    A revised layer (:attr:`AnalysisEvents.revised_chords`, ``revised_f0``, ``revised_notes``: whole-file
    decoding) replaces the online events of that layer.
    """
    tasks = tuple(tasks)
    events = list(events)
    f0 = concat_f0([e.f0 for e in events])
    notes = tuple(n for e in events for n in e.notes)
    chords = tuple(c for e in events for c in e.chords)
    for e in events:
        if e.revised_chords is not None:
            chords = tuple(e.revised_chords)
        if e.revised_f0 is not None:
            f0 = e.revised_f0
        if e.revised_notes is not None:
            notes = tuple(e.revised_notes)
    return Annotation(
        duration_s=duration_s,
        f0=f0 if "pitch" in tasks else None,
        notes=notes if "pitch" in tasks else None,
        chords=chords if "chords" in tasks else None,
        drums=tuple(h for e in events for h in e.drums) if "drums" in tasks else None,  # (frame, class) order
        onsets=np.concatenate([np.zeros(0), *[e.onsets_s for e in events]]) if "onsets" in tasks else None,
        metadata=dict(metadata or {}),
    )


# --- measuring ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HopCost:
    """CPU time per 10 ms hop of live analysis (one hop of samples per :meth:`Analyzer.process` call)."""

    tasks: tuple[str, ...]
    n_hops: int
    hop_ms: float
    mean_ms: float
    median_ms: float
    p95_ms: float
    max_ms: float
    frontend_mean_ms: float  # the front-end alone, same blocks

    @property
    def real_time_factor(self) -> float:
        """Mean CPU time / hop duration (below 1: faster than real time)."""
        return self.mean_ms / self.hop_ms


def _benchmark_signal(n_samples: int, sample_rate_hz: int, seed: int) -> np.ndarray:
    """A busy test signal: a stepping tone with harmonics, clicks every 250 ms, and low noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / sample_rate_hz
    midi = 48 + 12 * ((np.floor(t * 2) * 7) % 24) / 24
    phase = 2 * np.pi * np.cumsum(440.0 * 2 ** ((midi - 69) / 12)) / sample_rate_hz
    x = 0.2 * np.sin(phase) + 0.1 * np.sin(2 * phase) + 0.01 * rng.standard_normal(n_samples)
    clicks = (np.arange(n_samples) % (sample_rate_hz // 4)) < 16
    return (x + 0.5 * clicks).astype(np.float32)


def benchmark_hop_cost(
    models: Mapping[str, TaskModel],
    *,
    duration_s: float = 10.0,
    warmup_hops: int = 50,
    seed: int = 0,
) -> HopCost:
    """Mean CPU time (``time.process_time``) per hop when fed one hop of samples per call, as live.

    Builds an :class:`Analyzer` over ``models``, streams ``duration_s`` of a busy synthetic signal
    through it hop by hop (after ``warmup_hops`` untimed hops), and times the front-end alone over the
    same blocks for the share it takes. Use ``intra_op_threads=1`` models for a per-core figure.
    """
    analyzer = Analyzer(models, sample_rate_hz=Analyzer._frontend_config(
        {t: models[t] for t in TASKS if t in models}).sample_rate_hz)
    hop = analyzer.config.hop_samples
    n_hops = max(1, int(round(duration_s / analyzer.hop_s)))
    signal = _benchmark_signal((n_hops + warmup_hops) * hop, analyzer.sample_rate_hz, seed)
    blocks = signal.reshape(-1, hop)
    costs = np.empty(n_hops)
    frontend = FrontEnd(analyzer.config)
    fe_costs = np.empty(n_hops)
    for i, block in enumerate(blocks):
        start = time.process_time()
        analyzer.process(block)
        elapsed = time.process_time() - start
        if i >= warmup_hops:
            costs[i - warmup_hops] = elapsed
    for i, block in enumerate(blocks):
        start = time.process_time()
        frontend.process(block)
        elapsed = time.process_time() - start
        if i >= warmup_hops:
            fe_costs[i - warmup_hops] = elapsed
    analyzer.finish()
    ms = costs * 1e3
    return HopCost(
        tasks=analyzer.tasks,
        n_hops=n_hops,
        hop_ms=analyzer.hop_s * 1e3,
        mean_ms=float(ms.mean()),
        median_ms=float(np.median(ms)),
        p95_ms=float(np.percentile(ms, 95)),
        max_ms=float(ms.max()),
        frontend_mean_ms=float(fe_costs.mean() * 1e3),
    )
