"""Export a trained :class:`~models.training.nets.TaskNet` to ONNX with its model card.

The graph: input ``features`` float32 (1, T, n_bins), T dynamic, then ``state_in_0 .. state_in_{k-1}``;
outputs ``probs`` (1, T, n_outputs) then ``state_out_0 ..`` in the same order (TaskNet's state order).
The runtime (:class:`models.runtime.onnx_model.OnnxTaskModel`) reads the graph and the card without torch.

Run-folder contract (what a training run writes, and what :func:`export_run` reads)
------------------------------------------------------------------------------------
``RUN_DIR/config.json`` (required)
    The whole training configuration as one JSON object. Read here:
    ``"task"`` (one of TASKS), ``"net"`` (``NetConfig.to_dict()``; its task must equal ``"task"``),
    optional ``"frontend"`` (``FrontEndConfig.to_dict()``; default ``FrontEndConfig()``),
    ``"data"`` (paths or a description of the training data), ``"seed"``, ``"command"`` (the command
    line that trained it), ``"epochs"``. Every other key is kept in the card's ``training.config``.
``RUN_DIR/best.safetensors`` (required)
    The best epoch's ``state_dict()`` saved with ``safetensors.torch.save_file`` (never pickle).
``RUN_DIR/metrics.json`` (optional)
    The best checkpoint's validation metrics, flat: ``{metric name: value, ..., "best_epoch": int,
    "metric": name of the selection metric, "decoder_tuned": bool}`` (the last three go to the card's
    ``training``, the rest to its ``metrics``). ``{"best_epoch": 12, "validation": {...}}`` works too.
``RUN_DIR/decoder.json`` (optional)
    The decoder settings tuned on validation: fields of the task's decoder config (pitch
    ``F0DecoderConfig``/``NoteConfig``, flat or under "f0"/"notes"; chords ``ChordDecoderConfig``;
    drums/onsets ``PeakPickingConfig``). The decoder delay they imply is added to ``latency_ms``.
``RUN_DIR/pruning_history.json`` (optional)
    A JSON list of pruning rounds (empty or absent for a dense model).

By default :func:`export_run` writes ``RUN_DIR/model.onnx`` and ``RUN_DIR/model.json``.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import warnings
from dataclasses import replace
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.annotations.types import TASKS
from models.errors import ConfigError
from models.fileio import atomic_path, check_writable
from models.frontend import FrontEndConfig
from models.runtime.card import ModelCard, default_labels, featherlight_version, save_card, utc_now
from models.runtime.onnx_model import FEATURES_INPUT, PROBS_OUTPUT, OnnxTaskModel, state_input_name, state_output_name
from models.training.nets import NetConfig, TaskNet, count_parameters, macs_per_frame

log = logging.getLogger(__name__)

DEFAULT_OPSET = 17
#: Largest |ONNX - torch| difference export_run accepts when it checks the exported graph.
PARITY_TOLERANCE = 1e-4

RUN_CONFIG = "config.json"
RUN_WEIGHTS = "best.safetensors"
RUN_METRICS = "metrics.json"
RUN_DECODER = "decoder.json"
RUN_PRUNING = "pruning_history.json"

__all__ = ["check_parity", "decoder_delay_frames", "export_onnx", "export_run", "load_run", "make_card"]


class _StreamingGraph(nn.Module):
    """Always (features, *states) -> (probs, *states), even for a network without states."""

    def __init__(self, model: TaskNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, features: torch.Tensor, *states: torch.Tensor):
        if not states:
            return self.model(features)
        return self.model(features, *states)


def _frozen_copy(model: TaskNet) -> TaskNet:
    return copy.deepcopy(model).to("cpu").float().eval()


def export_onnx(model: TaskNet, path: str | os.PathLike, *, opset: int = DEFAULT_OPSET, overwrite: bool = False) -> Path:
    """Write ``model`` (in eval mode, on the CPU) as a streaming ONNX graph; returns the path.

    Uses the TorchScript exporter (``dynamo=False``) with a dynamic time axis; the file is written
    atomically and checked with ``onnx.checker``.
    """
    import onnx

    path = Path(path)
    if path.suffix != ".onnx":
        raise ConfigError(f"the model file must end in .onnx, got {path}")
    net = _frozen_copy(model)
    graph = _StreamingGraph(net).eval()
    states = net.initial_state(1)
    n_states = len(states)
    example_frames = max(8, net.config.receptive_field_frames + 2)
    features = torch.zeros(1, example_frames, net.config.n_bins)
    input_names = [FEATURES_INPUT] + [state_input_name(i) for i in range(n_states)]
    output_names = [PROBS_OUTPUT] + [state_output_name(i) for i in range(n_states)]
    dynamic_axes = {FEATURES_INPUT: {1: "frames"}, PROBS_OUTPUT: {1: "frames"}}
    with atomic_path(path, overwrite=overwrite) as tmp:
        with torch.no_grad(), warnings.catch_warnings():
            # the TorchScript exporter announces its own deprecation; it is the path chosen on purpose
            # (the dynamo exporter needs onnxscript and handles the state plumbing less predictably)
            warnings.filterwarnings("ignore", message=r".*legacy TorchScript-based ONNX export.*",
                                    category=DeprecationWarning)
            warnings.filterwarnings("ignore", message=r"The feature will be removed", category=DeprecationWarning,
                                    module=r"torch\.onnx")  # the exporter's own internal helpers
            torch.onnx.export(
                graph, (features, *states), str(tmp),
                input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes,
                opset_version=opset, do_constant_folding=True, dynamo=False,
            )
        proto = onnx.load(str(tmp))
        onnx.checker.check_model(proto)
        meta = proto.metadata_props.add()
        meta.key, meta.value = "featherlight_task", net.config.task
        proto.producer_name = "featherlight"
        proto.producer_version = featherlight_version()
        onnx.save(proto, str(tmp))
    log.info("exported %s (%d states, opset %d)", path, n_states, opset)
    return path


def decoder_delay_frames(task: str, decoder: Mapping[str, Any]) -> int:
    """Frames the task's online decoder waits before an event is final, with these settings.

    An explicit ``"delay_frames"`` entry wins; otherwise the delay is read from the task's online decoder
    built with the settings that set it (pitch: ``min_voiced_frames`` and ``split_frames``, flat or under
    ``"f0"``/``"notes"``, the note delay; chords: ``min_frames``; drums/onsets: ``post_max_frames``,
    ``post_avg_frames``, ``refine``). Other settings (thresholds) do not change the delay.
    """
    from models.decoders.chords import ChordDecoderConfig, ChordOnlineDecoder
    from models.decoders.peaks import PeakPickingConfig
    from models.decoders.pitch import F0DecoderConfig, NoteConfig, PitchDecoderConfig, PitchOnlineDecoder

    if "delay_frames" in decoder:
        delay = decoder["delay_frames"]
        if not isinstance(delay, int) or isinstance(delay, bool) or delay < 0:
            raise ConfigError(f"decoder setting 'delay_frames' must be a whole number >= 0, got {delay!r}")
        return delay

    def pick(source: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
        return {k: source[k] for k in names if k in source}

    try:
        if task == "pitch":
            f0 = {**pick(decoder, ("min_voiced_frames",)), **pick(decoder.get("f0", {}), ("min_voiced_frames",))}
            notes = {**pick(decoder, ("split_frames",)), **pick(decoder.get("notes", {}), ("split_frames",))}
            return PitchOnlineDecoder(PitchDecoderConfig(F0DecoderConfig(**f0), NoteConfig(**notes))).delay_frames
        if task == "chords":
            return ChordOnlineDecoder(config=ChordDecoderConfig(**pick(decoder, ("min_frames",)))).delay_frames
        return PeakPickingConfig(**pick(decoder, ("post_max_frames", "post_avg_frames", "refine"))).delay_frames
    except (TypeError, AttributeError) as exc:
        raise ConfigError(f"decoder settings {dict(decoder)} are malformed ({exc}); fix decoder.json") from None


def make_card(
    model: TaskNet,
    onnx_path: str | os.PathLike,
    *,
    training: Mapping[str, Any],
    metrics: Mapping[str, Any],
    decoder: Mapping[str, Any],
    pruning_history: Sequence[Mapping[str, Any]] = (),
    frontend: FrontEndConfig = FrontEndConfig(),
    name: str | None = None,
) -> ModelCard:
    """The card for ``model`` exported at ``onnx_path`` (its size is read from the file).

    latency_ms = front-end lookahead (window / 2) + model lookahead + decoder delay, the last two in hops
    (the decoder delay, from :func:`decoder_delay_frames`, is recorded as ``decoder["delay_frames"]``,
    an informational key the analyser ignores). The name defaults to the file stem.
    """
    config: NetConfig = model.config
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise ConfigError(f"cannot make a card for {onnx_path}: the file does not exist; export the model first")
    if config.n_bins != frontend.n_bins:
        raise ConfigError(f"the network takes {config.n_bins} bins but the front-end makes {frontend.n_bins}; "
                          "pass the front-end the model was trained with")
    hop_ms = 1000.0 * frontend.hop_s
    delay_frames = decoder_delay_frames(config.task, decoder)
    latency_ms = 1000.0 * frontend.lookahead_s + hop_ms * (config.lookahead_frames + delay_frames)
    labels = tuple(config.output_names) or default_labels(config.task, config.n_outputs)
    frame_rate = frontend.sample_rate_hz / frontend.hop_samples
    return ModelCard(
        task=config.task,
        name=name or onnx_path.stem,
        labels=labels,
        sample_rate_hz=frontend.sample_rate_hz,
        hop_samples=frontend.hop_samples,
        frontend=frontend.to_dict(),
        net=json.loads(json.dumps(config.to_dict())),  # tuples -> lists, as on disk
        lookahead_frames=config.lookahead_frames,
        receptive_field_frames=config.receptive_field_frames,
        latency_ms=round(latency_ms, 6),
        state_shapes=tuple(model.state_shapes(1)),
        n_parameters=count_parameters(model),
        macs_per_second=int(round(macs_per_frame(config) * frame_rate)),
        file_bytes=onnx_path.stat().st_size,
        training=_plain(training, "training"),
        metrics=_plain(metrics, "metrics"),
        decoder={**_plain(decoder, "decoder"), "delay_frames": delay_frames},
        pruning_history=tuple(_plain(r, "pruning_history entry") for r in pruning_history),
        featherlight_version=featherlight_version(),
        created_utc=utc_now(),
    )


def _plain(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A JSON-clean deep copy (numpy scalars become numbers); ConfigError when it cannot be."""
    def convert(v):
        if isinstance(v, Mapping):
            return {str(k): convert(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [convert(x) for x in v]
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, Path):
            return str(v)
        return v

    out = convert(value)
    try:
        json.dumps(out, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"the card's {what} cannot be written as JSON ({exc}); pass plain numbers and strings") from None
    return out


def check_parity(model: TaskNet, onnx_model: OnnxTaskModel, *, n_frames: int = 64, seed: int = 0) -> float:
    """Max |ONNX - torch| over random features, offline and streaming in uneven blocks."""
    net = _frozen_copy(model)
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n_frames, net.config.n_bins)).astype(np.float32)
    with torch.no_grad():
        reference = net(torch.from_numpy(features)[None])[0].numpy()
    offline, _ = onnx_model.run(features, onnx_model.initial_state())
    worst = float(np.max(np.abs(offline - reference)))
    state, parts, pos = onnx_model.initial_state(), [], 0
    for size in (1, 0, 7, 3, n_frames):
        block, state = onnx_model.run(features[pos:pos + size], state)
        parts.append(block)
        pos = min(n_frames, pos + size)
    streamed = np.concatenate(parts)
    return max(worst, float(np.max(np.abs(streamed - reference))))


# --- run folders ---------------------------------------------------------------------------------
def _read_json(path: Path, required: bool) -> Any:
    if not path.is_file():
        if required:
            raise ConfigError(f"training run file {path} not found; a run folder holds {RUN_CONFIG} and "
                              f"{RUN_WEIGHTS} (see models/training/export.py)")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg}); fix or rewrite it") from None


def _load_state_dict(model: TaskNet, weights: Path) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not weights.is_file():
        raise ConfigError(f"training run file {weights} not found; save the best epoch with "
                          "safetensors.torch.save_file(model.state_dict(), 'best.safetensors')")
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError) as exc:
        raise ConfigError(f"{weights} is not a readable safetensors file ({exc}); re-save the weights") from None
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
                  for k in sorted(set(own) & set(state)) if state[k].shape != own[k].shape]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:5])}{' ...' if len(unexpected) > 5 else ''}")
        if mismatched:
            parts.append(f"shape mismatch {', '.join(mismatched[:5])}")
        raise ConfigError(f"{weights} does not fit the network in {RUN_CONFIG} ({'; '.join(parts)}); "
                          "config.json 'net' must be the NetConfig the weights were trained with")
    model.load_state_dict(state, strict=True)


_RUN_METRIC_INFO = ("best_epoch", "metric", "decoder_tuned")


def _run_metrics(raw: Any, path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(validation metrics, training facts: best_epoch, metric (the selection metric's name), decoder_tuned)."""
    if raw is None:
        return {}, {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a JSON object like {{\"best_epoch\": 12, \"f1\": 0.8}}")
    info = {k: raw[k] for k in _RUN_METRIC_INFO if k in raw}
    validation = raw.get("validation", {k: v for k, v in raw.items() if k not in _RUN_METRIC_INFO})
    if not isinstance(validation, dict):
        raise ConfigError(f"{path}: 'validation' must be an object of metric name -> number")
    return validation, info


def load_run(run_dir: str | os.PathLike) -> tuple[TaskNet, FrontEndConfig, dict[str, Any]]:
    """The trained network (eval mode), its front-end and the raw run config of a run folder."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"training run folder {run_dir} not found; pass the folder the training wrote")
    config = _read_json(run_dir / RUN_CONFIG, required=True)
    where = run_dir / RUN_CONFIG
    if not isinstance(config, dict):
        raise ConfigError(f"{where} must hold a JSON object")
    task = config.get("task")
    if task not in TASKS:
        raise ConfigError(f"{where}: 'task' is {task!r}; use one of {', '.join(TASKS)}")
    if not isinstance(config.get("net"), dict):
        raise ConfigError(f"{where}: 'net' is missing or not an object; write NetConfig.to_dict() there")
    try:
        net_config = NetConfig.from_dict(config["net"])
    except TypeError as exc:
        raise ConfigError(f"{where}: 'net' is not a NetConfig ({exc}); write NetConfig.to_dict() there") from None
    if net_config.task != task:
        raise ConfigError(f"{where}: 'net' is for task {net_config.task!r} but 'task' is {task!r}; make them agree")
    try:
        frontend = FrontEndConfig(**config.get("frontend", {}))
    except TypeError as exc:
        raise ConfigError(f"{where}: 'frontend' is not a FrontEndConfig ({exc}); write FrontEndConfig().to_dict()") from None
    model = TaskNet(net_config)
    _load_state_dict(model, run_dir / RUN_WEIGHTS)
    return model.eval(), frontend, config


def export_run(
    run_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    *,
    name: str | None = None,
    overwrite: bool = False,
) -> tuple[Path, Path]:
    """Export a training run folder (see the module docstring) to ``<out_dir>/<name>.onnx`` + ``.json``.

    ``out_dir`` defaults to ``run_dir``, ``name`` to ``"model"``. The exported graph is checked against
    torch (offline and streaming, max |diff| <= PARITY_TOLERANCE) before the card is written; the
    parity found is recorded in the card's ``training.export_max_abs_diff``.
    """
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    name = name or "model"
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ConfigError(f"model name {name!r} must be a plain file stem (no folders, not hidden)")
    onnx_path, card_path = out_dir / f"{name}.onnx", out_dir / f"{name}.json"
    check_writable([onnx_path, card_path], overwrite)
    model, frontend, config = load_run(run_dir)
    metrics_raw = _read_json(run_dir / RUN_METRICS, required=False)
    validation, metric_info = _run_metrics(metrics_raw, run_dir / RUN_METRICS)
    decoder = _read_json(run_dir / RUN_DECODER, required=False) or {}
    if not isinstance(decoder, dict):
        raise ConfigError(f"{run_dir / RUN_DECODER} must hold a JSON object of decoder settings")
    pruning = _read_json(run_dir / RUN_PRUNING, required=False) or []
    if not isinstance(pruning, list):
        raise ConfigError(f"{run_dir / RUN_PRUNING} must hold a JSON list of rounds")
    extra = {k: v for k, v in config.items() if k not in ("task", "net", "frontend", "data", "seed", "command", "epochs")}
    training = {
        "run_dir": str(run_dir.resolve()),
        "data": config.get("data"),
        "command": config.get("command"),
        "seed": config.get("seed"),
        "epochs": config.get("epochs"),
        "best_epoch": metric_info.get("best_epoch"),
        "selection_metric": metric_info.get("metric"),
        "decoder_tuned": metric_info.get("decoder_tuned"),
        "config": extra,
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(onnx_path, overwrite=overwrite) as tmp_onnx:
        export_onnx(model, tmp_onnx, overwrite=True)
        card = make_card(model, tmp_onnx, training=training, metrics=validation, decoder=decoder,
                         pruning_history=pruning, frontend=frontend, name=name)
        diff = check_parity(model, OnnxTaskModel(tmp_onnx, card=card))
        if not diff <= PARITY_TOLERANCE:
            raise ConfigError(f"the exported graph differs from torch by {diff:.3g} (> {PARITY_TOLERANCE}); "
                              "this is a bug in the export, please report it with the run folder")
        card = replace(card, training={**card.training, "export_max_abs_diff": diff})
    save_card(card, card_path, overwrite=overwrite)
    log.info("exported %s and %s (max |onnx - torch| %.2g)", onnx_path, card_path, diff)
    return onnx_path, card_path
