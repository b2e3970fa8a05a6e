"""The model card: everything the runtime needs to know about an ONNX model, in a JSON file beside it.

A model on disk is ``<name>.onnx`` plus ``<name>.json`` (this card). The card says which task the model
solves, what each output column means (``labels``), which front-end produces its input, how much
lookahead and latency it adds, the streaming state shapes, its size and cost, how it was trained, how it
scored on validation data, the decoder settings tuned for it and the pruning history that produced it.

numpy/json only: the live path reads cards without torch. The network configuration is kept as the
plain dict that :class:`models.training.nets.NetConfig` writes, so reading a card never imports torch.

Schema version 1 (every key required unless noted)::

    schema_version          1
    task                    one of TASKS
    name                    model name (the file stem by convention)
    labels                  output column names, len == net["n_outputs"]
    sample_rate_hz          audio rate the front-end expects (== frontend["sample_rate_hz"])
    hop_samples             hop between frames (== frontend["hop_samples"])
    frontend                FrontEndConfig as a dict
    net                     NetConfig as a dict (task, n_outputs, n_bins, widths, lookahead_frames, ...)
    lookahead_frames        output frame t describes input frame t - lookahead_frames (negative:
                            anticipation, see models.training.nets; at least -3 with the default front-end)
    receptive_field_frames  past frames (including the current one) an output depends on
    latency_ms              front-end lookahead + model lookahead + decoder delay
    state_shapes            shapes of the ONNX state inputs, batch 1, in order
    n_parameters            trainable parameters
    macs_per_second         multiply-accumulates per second of audio
    file_bytes              size of the .onnx file
    training                how it was trained (data, command, seed, epochs, best_epoch, ...)
    metrics                 validation metrics {name: number}
    decoder                 decoder settings tuned on validation (may hold "delay_frames")
    pruning_history         list of rounds (empty for a dense model)
    featherlight_version    version of the package that wrote the card
    created_utc             ISO 8601 time the card was written
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import logging
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from models.annotations.types import DRUM_CLASSES, TASKS
from models.errors import ConfigError
from models.fileio import atomic_write_text
from models.frontend import FrontEndConfig

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

#: Number of outputs each task's model must have (chords: any ChordVocabulary size, checked by labels).
PITCH_N_OUTPUTS = 361
ONSET_LABELS: tuple[str, ...] = ("onset",)

__all__ = [
    "SCHEMA_VERSION",
    "ModelCard",
    "default_labels",
    "featherlight_version",
    "load_card",
    "save_card",
    "utc_now",
]


def featherlight_version() -> str:
    """The installed package version ("unknown" when running from a bare checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("featherlight")
    except PackageNotFoundError:
        return "unknown"


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def default_labels(task: str, n_outputs: int) -> tuple[str, ...]:
    """The output names a task's model uses when its NetConfig names none.

    pitch: ``bin_000`` .. ``bin_359`` (the 20-cent PitchBins from C1) and ``voicing``;
    chords: the :class:`~models.decoders.vocabulary.ChordVocabulary` labels of that size (133 or 25);
    drums: the first ``n_outputs`` of DRUM_CLASSES; onsets: ``onset``.
    """
    if task == "pitch":
        return tuple(f"bin_{k:03d}" for k in range(n_outputs - 1)) + ("voicing",)
    if task == "chords":
        from models.decoders.vocabulary import ChordVocabulary

        for vocabulary in (ChordVocabulary(), ChordVocabulary.majmin()):
            if vocabulary.n_classes == n_outputs:
                return tuple(vocabulary.labels)
        raise ConfigError(
            f"a chord model with {n_outputs} outputs matches no chord vocabulary (133 or 25 classes); "
            "name its outputs in NetConfig.output_names"
        )
    if task == "drums":
        if not 1 <= n_outputs <= len(DRUM_CLASSES):
            raise ConfigError(f"a drum model has 1..{len(DRUM_CLASSES)} outputs, got {n_outputs}")
        return DRUM_CLASSES[:n_outputs]
    if task == "onsets":
        return ONSET_LABELS[:n_outputs] if n_outputs == 1 else tuple(f"onset_{k}" for k in range(n_outputs))
    raise ConfigError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")


@dataclass(frozen=True)
class ModelCard:
    """The parsed model card. Build it with :func:`load_card` or the training side's ``make_card``."""

    task: str
    name: str
    labels: tuple[str, ...]
    sample_rate_hz: int
    hop_samples: int
    frontend: dict[str, Any]
    net: dict[str, Any]
    lookahead_frames: int
    receptive_field_frames: int
    latency_ms: float
    state_shapes: tuple[tuple[int, ...], ...]
    n_parameters: int
    macs_per_second: int
    file_bytes: int
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    decoder: dict[str, Any] = field(default_factory=dict)
    pruning_history: tuple[dict[str, Any], ...] = ()
    featherlight_version: str = "unknown"
    created_utc: str = ""
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(str(x) for x in self.labels))
        object.__setattr__(self, "state_shapes", tuple(tuple(int(d) for d in s) for s in self.state_shapes))
        object.__setattr__(self, "pruning_history", tuple(self.pruning_history))
        self.validate()

    # --- derived --------------------------------------------------------------------------------
    @property
    def n_outputs(self) -> int:
        return len(self.labels)

    @property
    def n_bins(self) -> int:
        return int(self.frontend.get("n_bins", 0))

    @property
    def frame_rate_hz(self) -> float:
        return self.sample_rate_hz / self.hop_samples

    @property
    def hop_s(self) -> float:
        return self.hop_samples / self.sample_rate_hz

    def frontend_config(self) -> FrontEndConfig:
        return FrontEndConfig(**self.frontend)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists for tuples), keys in schema order, ``schema_version`` first."""
        out: dict[str, Any] = {"schema_version": self.schema_version}
        for f in fields(self):
            if f.name == "schema_version":
                continue
            value = copy.deepcopy(getattr(self, f.name))
            if f.name in ("labels", "pruning_history"):
                value = list(value)
            elif f.name == "state_shapes":
                value = [list(s) for s in value]
            out[f.name] = value
        return out

    # --- validation -----------------------------------------------------------------------------
    def validate(self, source: str = "model card") -> None:
        """Raise :class:`ConfigError` naming the first inconsistent field and the fix."""

        def bad(field_name: str, problem: str, fix: str) -> ConfigError:
            return ConfigError(f"{source}: field {field_name!r} {problem}; {fix}")

        if self.schema_version != SCHEMA_VERSION:
            raise bad("schema_version", f"is {self.schema_version!r}, this Featherlight reads version {SCHEMA_VERSION}",
                      "re-export the model with this version (featherlight export RUN_DIR)")
        if self.task not in TASKS:
            raise bad("task", f"is {self.task!r}", f"use one of {', '.join(TASKS)}")
        if not self.name:
            raise bad("name", "is empty", "give the model a name (the file stem)")
        try:
            frontend = self.frontend_config()
        except (TypeError, ConfigError) as exc:
            raise bad("frontend", f"does not describe a valid front-end ({exc})",
                      "write FrontEndConfig().to_dict() with valid values") from None
        if self.sample_rate_hz != frontend.sample_rate_hz or self.hop_samples != frontend.hop_samples:
            raise bad("sample_rate_hz/hop_samples",
                      f"({self.sample_rate_hz}, {self.hop_samples}) disagree with the frontend "
                      f"({frontend.sample_rate_hz}, {frontend.hop_samples})", "make them equal")
        for key in ("task", "n_outputs", "n_bins", "lookahead_frames"):
            if key not in self.net:
                raise bad("net", f"has no {key!r}", "write NetConfig.to_dict() into the card")
        if self.net["task"] != self.task:
            raise bad("net", f"is for task {self.net['task']!r} but the card says {self.task!r}", "make them agree")
        if self.net["n_bins"] != frontend.n_bins:
            raise bad("net", f"takes {self.net['n_bins']} bins but the front-end makes {frontend.n_bins}",
                      "export with the front-end the model was trained on")
        if self.net["n_outputs"] != len(self.labels):
            raise bad("labels", f"names {len(self.labels)} outputs but the network has {self.net['n_outputs']}",
                      "give one label per output")
        if len(set(self.labels)) != len(self.labels):
            raise bad("labels", "repeats a name", "give every output a distinct label")
        self._validate_task_outputs(bad)
        max_ahead = int(frontend.lookahead_samples // frontend.hop_samples)
        if self.net["lookahead_frames"] != self.lookahead_frames or self.lookahead_frames < -max_ahead:
            raise bad("lookahead_frames", f"is {self.lookahead_frames}, the network's is {self.net['lookahead_frames']}",
                      f"make them equal and >= -{max_ahead} (the front-end sees {max_ahead} hops ahead)")
        if self.receptive_field_frames < 1:
            raise bad("receptive_field_frames", f"is {self.receptive_field_frames}", "it is at least 1")
        if not (isinstance(self.latency_ms, (int, float)) and math.isfinite(self.latency_ms) and self.latency_ms >= 0):
            raise bad("latency_ms", f"is {self.latency_ms!r}", "give a finite number >= 0")
        for i, shape in enumerate(self.state_shapes):
            if len(shape) < 2 or shape[0] != 1 or any(d < 1 for d in shape):
                raise bad("state_shapes", f"entry {i} is {list(shape)}", "shapes have batch 1 and positive sizes")
        for key in ("n_parameters", "macs_per_second", "file_bytes"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise bad(key, f"is {value!r}", "give a whole number >= 0")
        for key in ("training", "metrics", "decoder", "frontend", "net"):
            if not isinstance(getattr(self, key), dict):
                raise bad(key, f"is a {type(getattr(self, key)).__name__}", "write a JSON object")
        if not all(isinstance(r, dict) for r in self.pruning_history):
            raise bad("pruning_history", "holds something other than objects", "write a list of round objects")

    def _validate_task_outputs(self, bad) -> None:
        n = len(self.labels)
        if self.task == "pitch" and n != PITCH_N_OUTPUTS:
            raise bad("labels", f"names {n} outputs, a pitch model has {PITCH_N_OUTPUTS} "
                      "(360 pitch bins + voicing)", "export a 361-output pitch network")
        if self.task == "chords" and (n < 2 or self.labels[-1] != "N"):
            raise bad("labels", f"ends with {self.labels[-1:]!r}, a chord model's last class is 'N'",
                      "order the outputs as ChordVocabulary.labels")
        if self.task == "drums" and self.labels != DRUM_CLASSES[:n]:
            raise bad("labels", f"are {list(self.labels)}, drum outputs follow DRUM_CLASSES "
                      f"{list(DRUM_CLASSES)}", "use the first n drum classes in that order")
        if self.task == "onsets" and n != 1:
            raise bad("labels", f"names {n} outputs, an onset model has 1", "export a 1-output onset network")


def _required_fields() -> tuple[str, ...]:
    from dataclasses import MISSING

    return tuple(f.name for f in fields(ModelCard) if f.default is MISSING and f.default_factory is MISSING)


def load_card(path: str | os.PathLike) -> ModelCard:
    """Read and validate a model card; :class:`ConfigError` names the file, the field and the fix."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"model card {path} not found; a model needs <name>.onnx and <name>.json side by side "
                          "(re-export it with featherlight export)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"model card {path} cannot be read ({exc}); check the file's permissions") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"model card {path} is not valid JSON (line {exc.lineno}: {exc.msg}); "
                          "re-export the model or fix the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"model card {path} holds a {type(data).__name__}, expected a JSON object")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ConfigError(f"model card {path}: field 'schema_version' is {version!r}, this Featherlight reads "
                          f"version {SCHEMA_VERSION}; re-export the model with featherlight export")
    missing = [k for k in _required_fields() if k not in data]
    if missing:
        raise ConfigError(f"model card {path} lacks field(s) {', '.join(missing)}; re-export the model")
    known = {f.name for f in fields(ModelCard)}
    unknown = sorted(set(data) - known)
    if unknown:
        log.warning("model card %s: ignoring unknown field(s) %s", path, ", ".join(unknown))
    return _build(data, known, path)


def _build(data: dict, known: set[str], path: Path) -> ModelCard:
    values = {k: v for k, v in data.items() if k in known}
    for key in ("labels", "state_shapes", "pruning_history"):
        if not isinstance(values.get(key, []), list):
            raise ConfigError(f"model card {path}: field {key!r} is a {type(values[key]).__name__}, expected a list")
    try:
        return _construct(values, f"model card {path}")
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"model card {path} has a malformed field ({exc}); re-export the model") from None


def _construct(values: dict, source: str) -> ModelCard:
    card = object.__new__(ModelCard)
    for f in fields(ModelCard):
        if f.name in values:
            object.__setattr__(card, f.name, values[f.name])
        else:  # optional field
            default = f.default_factory() if callable(f.default_factory) else f.default
            object.__setattr__(card, f.name, default)
    object.__setattr__(card, "labels", tuple(str(x) for x in card.labels))
    object.__setattr__(card, "state_shapes", tuple(tuple(int(d) for d in s) for s in card.state_shapes))
    object.__setattr__(card, "pruning_history", tuple(card.pruning_history))
    card.validate(source)
    return card


def save_card(card: ModelCard, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``card`` as indented JSON, atomically; refuses to replace a file unless ``overwrite``."""
    text = json.dumps(card.to_dict(), indent=2, allow_nan=False) + "\n"
    return atomic_write_text(path, text, overwrite=overwrite)
