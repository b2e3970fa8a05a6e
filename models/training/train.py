"""Train a task network: ``train(config, run_dir)`` writes the run folder :mod:`models.training.export` reads.

Run folder (every file written atomically):

- ``config.json``: the whole :class:`TrainConfig` plus ``net`` (NetConfig dict), ``data`` (paths), ``seed``
  and ``command`` (argv);
- ``best.safetensors``: state_dict of the best epoch (by the validation metric);
- ``metrics.json``: validation metrics of the best checkpoint with the tuned decoder, plus ``best_epoch``,
  ``metric`` (the name of the selection metric) and ``decoder_tuned``;
- ``decoder.json``: decoder settings tuned on validation; the keys are fields of the task's decoder
  config (pitch: :class:`~models.decoders.pitch.F0DecoderConfig` ``voicing_on``/``voicing_off``; chords:
  :class:`~models.decoders.chords.ChordDecoderConfig` ``self_transition_prob``; drums/onsets:
  :class:`~models.decoders.peaks.PeakPickingConfig` ``threshold``, per class name for drums);
- ``last.safetensors`` + ``optimizer.safetensors`` (AdamW moments, safetensors) + ``state.json`` (epoch,
  optimizer param groups, scheduler, early-stopping counters, history): written after every epoch in two
  phases (``*.next.safetensors``, then ``state.json``, then renamed into place), so a run killed at any
  point (kill -9 included) resumes from the last finished epoch with ``resume=True``;
- ``log.csv``: epoch, train_loss, valid_loss, the validation metric, learning rate, seconds.

Fine-tuning: ``init_weights`` (``--init``) starts from a trained run's weights (its best.safetensors, same
task and network settings, checked tensor by tensor), or from an exported model (``.onnx`` with its
card, such as a bundled one: :mod:`models.training.onnx_weights` rebuilds its weights), instead of the
seed's random initialisation; config.json records the file and its sha256 under ``init``.

Reproducibility: the model is initialised from ``seed`` (or ``init_weights``); before each epoch the
torch RNG is seeded from ``(seed, epoch)`` and the excerpts are drawn from ``(seed, epoch, index)``, and
the default LR scheduler (reduce-on-plateau) does not depend on the number of epochs. So a resumed run gives
bit-identical weights to an uninterrupted one on the CPU, and ``epochs`` may be raised on resume. The
``cosine`` schedule (``lr_schedule``) sets each step's rate from the step's index alone,
``lr * (1 + cos(pi * step / steps)) / 2`` over ``epochs`` epochs, so it resumes bit-identically too, with the
same ``epochs``. For a fine-tune it is the schedule to pick: a constant rate leaves the last epochs' weights
wherever the last batches pushed them (validation moves a point between epochs), the decay settles them.
Measured (2026-12-06): onsets-live fine-tuned 1 epoch at lr 0.0005 on 1134 minutes, same start, data and
seed: validation F1 0.806 constant / 0.819 cosine with the default decoder, 0.836 / 0.841 tuned (the start
had 0.839), test split 0.880 / 0.879.

Losses: pitch BCE on saliences + BCE on voicing; chords cross-entropy; drums/onsets BCE (with
``event_late_frames``, each event's target may move a few frames later, see :func:`late_event_targets`; with
``ignore_hidden_onsets`` the training files' hidden onsets are left out, see ``targets.hidden_onsets``). Positive
targets of the sigmoid outputs (pitch saliences, drum and onset activations) are weighted by
``positive_weight`` (BCE ``pos_weight``): without it the sparse pitch saliences collapse towards zero
for hundreds of steps (on a 12-minute rendered corpus, validation RPA after 120 steps: 0.48 with weight
5, below 0.09 after 240 steps without). Output frame ``t`` is trained on the target of frame
``t - lookahead_frames``. Validation metrics: pitch ``rpa`` (f0 from
:func:`~models.decoders.pitch.decode_f0`), chords ``majmin`` (:func:`~models.decoders.chords.decode_viterbi`),
drums ``mean_f1_ksh`` and onsets ``f1_50ms`` (peak picking), all via :mod:`models.evaluation`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.annotations.types import DRUM_CLASSES, Annotation, F0Track
from models.decoders.chords import ChordDecoderConfig, decode_viterbi
from models.decoders.peaks import PeakPickingConfig, decode_drums, decode_onsets
from models.decoders.pitch import F0DecoderConfig, decode_f0
from models.errors import ConfigError, DatasetError, OverwriteError
from models.evaluation.aggregate import aggregate
from models.evaluation.metrics import metrics_for
from models.fileio import atomic_path, atomic_write_text
from models.frontend import FrontEndConfig
from models.training.config import TrainConfig
from models.training.data import FileData, TrainExcerpts, load_task_files
from models.training.nets import TaskNet, count_parameters
from models.training.targets import EVENT_WIDEN_VALUE, frame_f0_hz

__all__ = ["METRIC_BY_TASK", "RUN_FILES", "train", "predict_file", "evaluate", "tune_decoder", "resolve_device",
           "cosine_lr", "late_event_targets"]

log = logging.getLogger(__name__)

#: The validation metric that selects the best epoch, per task (higher is better).
METRIC_BY_TASK: dict[str, str] = {"pitch": "rpa", "chords": "majmin", "drums": "mean_f1_ksh", "onsets": "f1_50ms"}

#: Files a run folder may hold (what ``--overwrite`` removes).
RUN_FILES: tuple[str, ...] = ("config.json", "best.safetensors", "metrics.json", "decoder.json",
                              "last.safetensors", "optimizer.safetensors", "state.json", "log.csv",
                              "last.next.safetensors", "optimizer.next.safetensors")

_EVAL_CHUNK_FRAMES = 2000
#: peak thresholds tried for drums and onsets: steps of 0.05, as a well-trained activation is sharp enough
#: that 0.1 steps miss its best point (onsets model of 2026-12-06: 0.7 from the 0.1 grid, validation F1 0.858;
#: 0.65, 0.861; test split 0.892 -> 0.893)
_THRESHOLD_GRID = tuple(np.round(np.arange(0.1, 0.91, 0.05), 2))
_VOICING_GRID = tuple(np.round(np.arange(0.2, 0.81, 0.1), 2))
_CHORD_STAY_GRID = (0.9, 0.99, 0.999)


# --- small helpers ---------------------------------------------------------------------------------
def cosine_lr(lr: float, step: int, total_steps: int) -> float:
    """The cosine schedule's rate at ``step`` (0-based) of ``total_steps``: ``lr`` at 0, falling to 0."""
    return lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))


def resolve_device(device: str) -> torch.device:
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but torch sees no CUDA GPU; use --device cpu or auto")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _write_json(path: Path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n", overwrite=True)


def _save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    from safetensors.torch import save_file

    with atomic_path(path, overwrite=True) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)


def _load_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    tensors = {}
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
        for key in f.keys():
            tensors[key] = f.get_tensor(key)
    return tensors, metadata


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, state in sd["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{name}"] = value
            else:
                scalars[f"{idx}.{name}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], info: dict) -> None:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    for key, value in info.get("scalars", {}).items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": info["param_groups"]})


# --- model outputs and losses ----------------------------------------------------------------------
def predict_file(model: TaskNet, features: np.ndarray, device: torch.device) -> np.ndarray:
    """Probabilities ``(T, n_outputs)`` aligned with the input frames (lookahead removed), in eval mode.

    Runs in chunks carrying the streaming state (equal to one offline call) and feeds
    ``lookahead_frames`` silent frames at the end to release the last outputs.
    """
    lookahead = model.config.lookahead_frames
    pad = max(lookahead, 0)
    x = np.concatenate([np.asarray(features, dtype=np.float32),
                        np.zeros((pad, features.shape[1]), dtype=np.float32)])
    was_training = model.training
    model.eval()
    outputs = []
    with torch.no_grad():
        states = model.initial_state(1, device)
        for a in range(0, x.shape[0], _EVAL_CHUNK_FRAMES):
            chunk = torch.from_numpy(x[a:a + _EVAL_CHUNK_FRAMES]).unsqueeze(0).to(device)
            if states:
                probs, *states = model(chunk, *states)
            else:
                probs = model(chunk)
            outputs.append(probs[0].cpu().numpy())
    model.train(was_training)
    probs = np.concatenate(outputs) if outputs else np.zeros((0, model.config.n_outputs), dtype=np.float32)
    return align_outputs(probs, lookahead, features.shape[0])


def align_outputs(probs: np.ndarray, lookahead: int, n_frames: int) -> np.ndarray:
    """Rows of a whole-stream output (padded with ``max(lookahead, 0)`` silent frames) aligned to frames.

    Row ``i`` of the result describes frame ``i``: with ``lookahead > 0`` the first ``lookahead`` rows go;
    with anticipation (``lookahead = -a``) ``a`` zero rows go in front (no output describes frames
    ``0 .. a-1``) and the rows describing frames past the end are dropped.
    """
    if lookahead >= 0:
        return probs[lookahead:lookahead + n_frames]
    head = np.zeros((-lookahead, probs.shape[1]), dtype=probs.dtype)
    return np.concatenate([head, probs])[:n_frames]


def late_event_targets(logits: torch.Tensor, targets: torch.Tensor, late_frames: int,
                       widen_value: float = EVENT_WIDEN_VALUE) -> torch.Tensor:
    """Drum or onset targets ``(B, T, C)`` whose events (frames at 1) each move up to ``late_frames`` frames
    later, to the frame of that span where the network's logit is highest (the earliest on ties), never onto
    or past the next event of the same class; the frames next to a moved event take ``widen_value``.

    A slow attack (strings, pads, a brushed hat) shows in the spectrum only some tens of ms after its
    note-on, so the exact labelled frame can be a target the network cannot see; the evaluation counts a
    detection within 50 ms. Events the network already places on their frame stay there. The logits only
    choose the frame: no gradient flows through the choice. ``late_frames`` 0 returns ``targets``.
    """
    if late_frames <= 0:
        return targets
    events = targets == 1.0
    n_frames = targets.shape[1]
    count = torch.cumsum(events.to(torch.int32), dim=1)  # events up to and including each frame
    chooser = logits.detach()
    lowest = torch.finfo(chooser.dtype).min
    scores = [chooser]
    for d in range(1, late_frames + 1):
        score = torch.full_like(chooser, lowest)
        if d < n_frames:
            later = chooser[:, d:]
            passes_event = (count[:, d:] - count[:, :-d]) > 0  # another event in (t, t + d]
            score[:, :-d] = later.masked_fill(passes_event, lowest)
        scores.append(score)
    shift = torch.stack(scores, dim=-1).argmax(dim=-1)  # 0 wherever only the event's own frame is allowed
    index = (torch.arange(n_frames, device=targets.device).view(1, -1, 1) + shift).clamp_max(n_frames - 1)
    centres = torch.zeros_like(targets).scatter_add_(1, index, events.to(targets.dtype))

    def beside(x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(x)
        out[:, 1:] = x[:, :-1]
        out[:, :-1] = torch.maximum(out[:, :-1], x[:, 1:])
        return out

    moved = torch.maximum(centres, beside(centres) * widen_value)
    # widened frames of an event just outside the excerpt have no event beside them here: keep them
    orphans = (targets > 0) & (targets < 1) & (beside(events.to(targets.dtype)) == 0)
    return torch.maximum(moved, torch.where(orphans, targets, torch.zeros_like(targets)))


def _loss(task: str, logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, lookahead: int,
          positive_weight: float, late_frames: int = 0) -> torch.Tensor:
    """Masked loss; output frame t is compared with target frame t - lookahead (t + a for lookahead -a).
    Drums and onsets with ``late_frames``: targets from :func:`late_event_targets`."""
    if lookahead > 0:
        logits = logits[:, lookahead:]
        targets, mask = targets[:, :-lookahead], mask[:, :-lookahead]
    elif lookahead < 0:
        logits = logits[:, :lookahead]
        targets, mask = targets[:, -lookahead:], mask[:, -lookahead:]
    if late_frames and task in ("drums", "onsets"):
        targets = late_event_targets(logits, targets, late_frames)
    if task == "chords":
        t = torch.where(mask > 0, targets, torch.full_like(targets, -1))
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), t.reshape(-1), ignore_index=-1)
    pos = torch.tensor(positive_weight, dtype=logits.dtype, device=logits.device)
    if task == "pitch":
        sal = nn.functional.binary_cross_entropy_with_logits(logits[..., :-1], targets[..., :-1], reduction="none",
                                                             pos_weight=pos)
        sal_w = mask[..., 0:1].expand_as(sal)
        voi = nn.functional.binary_cross_entropy_with_logits(logits[..., -1], targets[..., -1], reduction="none")
        voi_w = mask[..., 1]
        return (sal * sal_w).sum() / sal_w.sum().clamp_min(1.0) + (voi * voi_w).sum() / voi_w.sum().clamp_min(1.0)
    bce = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none", pos_weight=pos)
    return (bce * mask).sum() / mask.sum().clamp_min(1.0)


def _valid_loss(task: str, model: TaskNet, files: list[FileData], device: torch.device, positive_weight: float,
                late_frames: int = 0) -> float:
    """Mean per-file loss on whole validation files (eval mode)."""
    losses = []
    model.eval()
    with torch.no_grad():
        for f in files:
            x = torch.from_numpy(np.array(f.features, dtype=np.float32)).unsqueeze(0).to(device)
            logits = model(x, logits=True)
            t = torch.from_numpy(np.asarray(f.targets)).unsqueeze(0).to(device)
            m = torch.from_numpy(np.asarray(f.mask)).unsqueeze(0).to(device)
            losses.append(float(_loss(task, logits, t, m, model.config.lookahead_frames, positive_weight,
                                      late_frames)))
    model.train()
    return float(np.mean(losses)) if losses else float("nan")


# --- decoding and metrics --------------------------------------------------------------------------
def default_decoder(task: str) -> dict:
    if task == "pitch":
        c = F0DecoderConfig()
        return {"voicing_on": c.voicing_on, "voicing_off": c.voicing_off}
    if task == "chords":
        return {"self_transition_prob": ChordDecoderConfig().self_transition_prob}
    if task == "drums":
        return {"threshold": {name: 0.5 for name in DRUM_CLASSES}}
    return {"threshold": 0.5}


def _reference(task: str, f: FileData, hop_s: float) -> Annotation:
    if task == "pitch":
        if f.annotation.f0 is not None and len(f.annotation.f0):
            return Annotation(f0=f.annotation.f0)
        f0, _ = frame_f0_hz(f.annotation, f.n_frames, hop_s)
        times = np.arange(f.n_frames) * hop_s
        return Annotation(f0=F0Track(times, f0, np.ones_like(f0)))
    if task == "chords":
        return Annotation(chords=f.annotation.chords)
    if task == "drums":
        return Annotation(drums=f.annotation.drums)
    return Annotation(onsets=f.annotation.onsets)


def _estimate(task: str, probs: np.ndarray, decoder: dict) -> Annotation:
    if task == "pitch":
        cfg = replace(F0DecoderConfig(), **decoder)
        return Annotation(f0=decode_f0(probs[:, :-1], probs[:, -1], cfg))
    if task == "chords":
        return Annotation(chords=decode_viterbi(probs, config=replace(ChordDecoderConfig(), **decoder)))
    if task == "drums":
        return Annotation(drums=decode_drums(probs, PeakPickingConfig(threshold=decoder["threshold"])))
    return Annotation(onsets=decode_onsets(probs, PeakPickingConfig(threshold=decoder["threshold"])))


def evaluate(task: str, probs_per_file: list[np.ndarray], files: list[FileData], decoder: dict,
             hop_s: float = 0.01) -> dict[str, float]:
    """Dataset metrics (:func:`models.evaluation.aggregate.aggregate`) of decoded outputs."""
    rows = [metrics_for(task, _reference(task, f, hop_s), _estimate(task, p, decoder))
            for f, p in zip(files, probs_per_file)]
    return aggregate(task, rows)


def _metric(task: str, metrics: dict[str, float]) -> float:
    value = metrics.get(METRIC_BY_TASK[task])
    return float(value) if value is not None and math.isfinite(value) else 0.0


def tune_decoder(task: str, probs_per_file: list[np.ndarray], files: list[FileData],
                 hop_s: float = 0.01) -> tuple[dict, dict[str, float]]:
    """A simple grid search of the decoder on validation; returns (settings, metrics with them).

    Pitch: ``voicing_on`` (``voicing_off`` 0.1 below) maximising overall accuracy. Chords: the Viterbi
    self-transition probability maximising majmin. Drums: one peak threshold per class maximising
    that class's F1. Onsets: one threshold maximising F1 at 50 ms.
    """
    if task == "pitch":
        best, best_value = default_decoder(task), -1.0
        for on in _VOICING_GRID:
            candidate = {"voicing_on": float(on), "voicing_off": float(round(max(on - 0.1, 0.0), 2))}
            m = evaluate(task, probs_per_file, files, candidate, hop_s)
            if m.get("oa", 0.0) > best_value:
                best, best_value = candidate, m.get("oa", 0.0)
    elif task == "chords":
        best, best_value = default_decoder(task), -1.0
        for stay in _CHORD_STAY_GRID:
            candidate = {"self_transition_prob": stay}
            value = _metric(task, evaluate(task, probs_per_file, files, candidate, hop_s))
            if value > best_value:
                best, best_value = candidate, value
    elif task == "drums":
        # per class: best F1, ties (e.g. a class absent from validation) broken by fewer false hits
        scores = {name: ((-1.0, -math.inf), 0.5) for name in DRUM_CLASSES}
        for t in _THRESHOLD_GRID:
            m = evaluate(task, probs_per_file, files, {"threshold": {n: float(t) for n in DRUM_CLASSES}}, hop_s)
            for name in DRUM_CLASSES:
                key = (m.get(f"{name}_f1", 0.0), -m.get(f"{name}_n_est", 0.0))
                if key > scores[name][0]:
                    scores[name] = (key, float(t))
        best = {"threshold": {name: scores[name][1] for name in DRUM_CLASSES}}
    else:
        best, best_value = default_decoder(task), -1.0
        for t in _THRESHOLD_GRID:
            value = _metric(task, evaluate(task, probs_per_file, files, {"threshold": float(t)}, hop_s))
            if value > best_value:
                best, best_value = {"threshold": float(t)}, value
    return best, evaluate(task, probs_per_file, files, best, hop_s)


# --- the run folder --------------------------------------------------------------------------------
_NEXT = {"last.safetensors": "last.next.safetensors", "optimizer.safetensors": "optimizer.next.safetensors"}


def _recover_checkpoint(run_dir: Path, epoch: int) -> None:
    """Finish or drop a two-phase checkpoint: a ``*.next`` file of ``epoch`` (the epoch state.json names)
    replaces its final name; one of another epoch (cut off before state.json was written) is deleted."""
    for final, pending in _NEXT.items():
        path = run_dir / pending
        if not path.is_file():
            continue
        try:
            _, meta = _load_tensors(path)
            ok = int(meta.get("epoch", -1)) == epoch
        except Exception:  # a truncated file from a crash: not the checkpoint state.json names
            ok = False
        if ok:
            os.replace(path, run_dir / final)
        else:
            path.unlink()


def _write_log(run_dir: Path, history: list[dict]) -> None:
    buf = io.StringIO()
    columns = ["epoch", "train_loss", "valid_loss", "valid_metric", "lr", "seconds"]
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: row[k] for k in columns})
    atomic_write_text(run_dir / "log.csv", buf.getvalue(), overwrite=True)


def _config_json(config: TrainConfig, command: list[str] | None, init: dict | None = None) -> dict:
    data = config.to_dict()
    data.update({"net": config.net_config().to_dict(), "data": config.data_paths(), "seed": config.seed,
                 "command": list(command or []), "frontend": FrontEndConfig().to_dict()})
    if init is not None:
        data["init"] = init
    return json.loads(json.dumps(data))


#: Frames of training features the batch-norm statistics of an --init ONNX model are measured on (10 min).
_ONNX_CALIBRATION_FRAMES = 60_000


def _init_weights_path(config: TrainConfig) -> Path:
    """The file ``config.init_weights`` names (a run folder means its best.safetensors)."""
    path = Path(str(config.init_weights))
    if path.is_dir():
        path = path / "best.safetensors"
    if not path.is_file():
        raise ConfigError(f"--init {config.init_weights}: no such weights file; give a training run folder "
                          "(its best.safetensors is used), a .safetensors state dict of this task's network, or "
                          "an exported model (.onnx with its .json card, e.g. a bundled one)")
    return path


def _load_init_weights(model: torch.nn.Module, config: TrainConfig, train_files: list[FileData] = ()) -> dict:
    """Load the fine-tuning start weights into ``model``; returns what config.json records about them.

    A ``.onnx`` file (an exported model with its card, e.g. ``resources/models/drums.onnx``) is turned
    back into trainable weights by :func:`models.training.onnx_weights.weights_from_onnx`, its batch-norm
    statistics measured on the first frames of ``train_files``.
    """
    import hashlib

    path = _init_weights_path(config)
    if path.suffix == ".onnx":
        from models.training.onnx_weights import weights_from_onnx

        calibration, frames = [], 0
        for f in train_files:
            if frames >= _ONNX_CALIBRATION_FRAMES:
                break
            calibration.append(f.features)
            frames += int(f.features.shape[0])
        net, info = weights_from_onnx(path, calibration, lookahead_frames=model.config.lookahead_frames)
        tensors, what = net.state_dict(), f"the weights of {path.name}"
    else:
        try:
            tensors, _ = _load_tensors(path)
        except Exception as exc:  # safetensors raises its own types for truncated or foreign files
            raise ConfigError(f"--init {path}: not a readable safetensors file ({exc}); give a run folder's "
                              "best.safetensors") from None
        info, what = None, "these weights"
    own = model.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    shapes = sorted(k for k in set(own) & set(tensors) if tuple(own[k].shape) != tuple(tensors[k].shape))
    if missing or extra or shapes:
        details = "; ".join(part for part in (
            f"missing {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}" if missing else "",
            f"unexpected {', '.join(extra[:4])}{' ...' if len(extra) > 4 else ''}" if extra else "",
            f"other shapes {', '.join(shapes[:4])}{' ...' if len(shapes) > 4 else ''}" if shapes else "") if part)
        raise ConfigError(f"--init {path}: {what} are not for the {config.task} network of this run "
                          f"({details}); fine-tune from a model of the same task and network settings")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in tensors.items()})
    if info is None:
        info = {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    log.info("starting from the weights in %s (sha256 %s)", path, info["sha256"][:12])
    return info


def _check_run_dir(config: TrainConfig, run_dir: Path, resume: bool, overwrite: bool) -> dict | None:
    """The saved state to resume from, or None for a fresh start; refuses to clobber anything else.

    A fresh start needs an empty folder (a ``cache`` sub-folder may be there); ``overwrite`` deletes the
    files of an earlier run (:data:`RUN_FILES`) and leaves any other file alone.
    """
    state_path, config_path = run_dir / "state.json", run_dir / "config.json"
    if overwrite:
        for name in RUN_FILES:
            if (run_dir / name).is_file():
                (run_dir / name).unlink()
        return None
    existing = [n for n in RUN_FILES if (run_dir / n).exists()]
    if not resume:
        if existing:
            raise OverwriteError(
                f"{run_dir} already holds a training run ({', '.join(existing)}); pass resume=True (--resume) to "
                "continue it, overwrite (--overwrite) to start over, or choose another folder"
            )
        others = sorted(p.name for p in run_dir.iterdir() if p.name != "cache")
        if others:
            shown = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
            raise OverwriteError(
                f"{run_dir} is not empty ({shown}) and holds no training run; choose a new or empty folder, or "
                "pass overwrite (--overwrite) to write the run there anyway (other files are left alone)"
            )
        return None
    if not state_path.is_file():
        if existing:
            raise OverwriteError(f"{run_dir} holds {', '.join(existing)} but no state.json to resume from; "
                                 "start over with --overwrite or choose another folder")
        log.info("nothing to resume in %s; starting a new run", run_dir)
        return None
    extras = ("data", "command", "frontend", "init")  # config.json keys that are not TrainConfig fields
    saved = TrainConfig.from_dict({k: v for k, v in json.loads(config_path.read_text()).items()
                                   if k not in extras}) if config_path.is_file() else None
    if saved is None or saved.result_dict() != config.result_dict():
        diff = sorted(k for k in config.result_dict()
                      if saved is None or saved.result_dict().get(k) != config.result_dict().get(k))
        raise ConfigError(
            f"cannot resume the run in {run_dir}: its config differs in {', '.join(diff) or 'config.json (missing)'}; "
            "use the same settings, or start over with --overwrite / another folder"
        )
    return json.loads(state_path.read_text())


def train(config: TrainConfig, run_dir: str | Path, *, resume: bool = False, progress: bool = True,
          overwrite: bool = False, command: list[str] | None = None) -> dict:
    """Train ``config`` into ``run_dir`` (see the module doc); returns a summary dict.

    ``run_dir`` must be new or empty, unless ``resume`` (continue the run there; same result-deciding
    settings, else :class:`ConfigError`) or ``overwrite`` (delete that run's files and start over).
    ``command`` (argv) is recorded in config.json.

    Summary keys: ``run_dir``, ``metric`` (name), ``best_metric``, ``best_epoch``, ``epochs_run``,
    ``stopped_early``, ``metrics`` (tuned, as in metrics.json), ``decoder``, ``n_parameters``.
    """
    from tqdm.auto import tqdm

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if resume and overwrite:
        raise ConfigError("resume and overwrite exclude each other: resume continues a run, overwrite starts over")
    saved_state = _check_run_dir(config, run_dir, resume, overwrite)
    task, net_config = config.task, config.net_config()
    frontend = FrontEndConfig()
    device = resolve_device(config.device)
    cache_dir = Path(config.cache_dir) if config.cache_dir else run_dir / "cache"

    problems = []
    try:
        train_files = load_task_files(config.train_dir, task, cache_dir, frontend=frontend,
                                      pitch_std_cents=config.pitch_target_std_cents,
                                      pitch_note_start_weight=config.pitch_note_start_weight,
                                      ignore_hidden_onsets=config.ignore_hidden_onsets)
    except DatasetError as exc:
        problems += [f"train: {p}" for p in exc.problems] or [f"train: {exc}"]
    try:
        valid_files = load_task_files(config.valid_dir, task, cache_dir, frontend=frontend,
                                      pitch_std_cents=config.pitch_target_std_cents)
    except DatasetError as exc:
        problems += [f"valid: {p}" for p in exc.problems] or [f"valid: {exc}"]
    if problems:
        raise DatasetError(f"cannot train {task}: {len(problems)} problem(s) in the data folders "
                           f"{config.train_dir} and {config.valid_dir}", problems)
    torch.manual_seed(config.seed)
    model = TaskNet(net_config).to(device)
    if saved_state is None:
        init = _load_init_weights(model, config, train_files) if config.init_weights else None
        _write_json(run_dir / "config.json", _config_json(config, command, init))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=3)
    history: list[dict] = []
    start_epoch, best_value, best_epoch, bad_epochs = 0, -1.0, -1, 0
    if saved_state is not None:
        epoch_done = int(saved_state["epoch"])
        _recover_checkpoint(run_dir, epoch_done)
        model_tensors, meta = _load_tensors(run_dir / "last.safetensors")
        opt_tensors, opt_meta = _load_tensors(run_dir / "optimizer.safetensors")
        if int(meta.get("epoch", -1)) != epoch_done or int(opt_meta.get("epoch", -1)) != epoch_done:
            raise ConfigError(f"the checkpoint files in {run_dir} do not match state.json (epoch {epoch_done}); "
                              "the run was cut off while saving: start over with --overwrite")
        model.load_state_dict(model_tensors)
        _restore_optimizer(optimizer, opt_tensors, saved_state["optimizer"])
        scheduler.load_state_dict(saved_state["scheduler"])
        history = saved_state["history"]
        start_epoch = epoch_done + 1
        best_value, best_epoch, bad_epochs = saved_state["best_metric"], saved_state["best_epoch"], saved_state["bad_epochs"]
        log.info("resuming %s after epoch %d (best %s %.4f at epoch %d)", run_dir, epoch_done,
                 METRIC_BY_TASK[task], best_value, best_epoch)

    excerpts = TrainExcerpts(train_files, task=task, excerpt_frames=config.excerpt_frames, seed=config.seed,
                             gain_db_range=config.gain_db_range, transpose_semitones=config.transpose_semitones,
                             excerpts_per_epoch=config.excerpts_per_epoch)
    metric_name = METRIC_BY_TASK[task]
    lookahead = net_config.lookahead_frames
    epoch_bar = tqdm(range(start_epoch, config.epochs), desc=f"train {task}", unit="epoch", disable=not progress,
                     initial=start_epoch, total=config.epochs)
    steps_per_epoch = math.ceil(len(excerpts) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    for epoch in epoch_bar:
        if bad_epochs >= config.patience:
            break
        t0 = time.perf_counter()
        torch.manual_seed(config.seed * 1_000_003 + epoch)
        excerpts.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(excerpts, batch_size=config.batch_size, shuffle=False,
                                             num_workers=config.workers, drop_last=False)
        model.train()
        losses = []
        batch_bar = tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not progress)
        for step, (features, targets, mask) in enumerate(batch_bar, start=epoch * steps_per_epoch):
            if config.lr_schedule == "cosine":
                for group in optimizer.param_groups:
                    group["lr"] = cosine_lr(config.lr, step, total_steps)
            features, targets, mask = features.to(device), targets.to(device), mask.to(device)
            logits = model(features, logits=True)
            loss = _loss(task, logits, targets, mask, lookahead, config.positive_weight, config.event_late_frames)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip_norm)
            optimizer.step()
            losses.append(loss.item())
            batch_bar.set_postfix(loss=f"{losses[-1]:.4f}")
        probs = [predict_file(model, f.features, device) for f in valid_files]
        metrics = evaluate(task, probs, valid_files, default_decoder(task), frontend.hop_s)
        value = _metric(task, metrics)
        valid_loss = _valid_loss(task, model, valid_files, device, config.positive_weight, config.event_late_frames)
        if config.lr_schedule == "plateau":
            scheduler.step(value)
        improved = value > best_value
        if improved:
            best_value, best_epoch, bad_epochs = value, epoch, 0
            _save_tensors(run_dir / "best.safetensors", model.state_dict(), {"epoch": str(epoch)})
            _write_json(run_dir / "metrics.json", {**metrics, "best_epoch": epoch, "metric": metric_name,
                                                   "decoder_tuned": False})
        else:
            bad_epochs += 1
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else float("nan"),
                        "valid_loss": valid_loss, "valid_metric": value,
                        "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - t0, 3)})
        # two-phase checkpoint: *.next files, then state.json, then rename (see _recover_checkpoint)
        _save_tensors(run_dir / _NEXT["last.safetensors"], model.state_dict(), {"epoch": str(epoch)})
        opt_tensors, opt_info = _optimizer_tensors(optimizer)
        _save_tensors(run_dir / _NEXT["optimizer.safetensors"], opt_tensors, {"epoch": str(epoch)})
        _write_log(run_dir, history)
        _write_json(run_dir / "state.json", {
            "epoch": epoch, "best_epoch": best_epoch, "best_metric": best_value, "bad_epochs": bad_epochs,
            "metric": metric_name, "optimizer": opt_info, "scheduler": scheduler.state_dict(),
            "rng": {"torch_seed_per_epoch": "seed * 1000003 + epoch", "excerpts": "(seed, epoch, index)"},
            "history": history, "finished": False,
        })
        _recover_checkpoint(run_dir, epoch)
        log.info("epoch %d: train loss %.4f, valid loss %.4f, %s %.4f%s", epoch, history[-1]["train_loss"],
                 valid_loss, metric_name, value, " (best)" if improved else "")
        epoch_bar.set_postfix(loss=f"{history[-1]['train_loss']:.4f}", **{metric_name: f"{value:.3f}"})
    epoch_bar.close()
    stopped_early = bad_epochs >= config.patience

    # tune the decoder on the best checkpoint
    best_tensors, _ = _load_tensors(run_dir / "best.safetensors")
    model.load_state_dict(best_tensors)
    probs = [predict_file(model, f.features, device) for f in valid_files]
    decoder, tuned = tune_decoder(task, probs, valid_files, frontend.hop_s)
    _write_json(run_dir / "decoder.json", decoder)
    final_metrics = {**tuned, "best_epoch": best_epoch, "metric": metric_name, "decoder_tuned": True}
    _write_json(run_dir / "metrics.json", final_metrics)
    state = json.loads((run_dir / "state.json").read_text())
    state["finished"] = True
    _write_json(run_dir / "state.json", state)
    summary = {"run_dir": str(run_dir), "metric": metric_name, "best_metric": _metric(task, tuned),
               "best_epoch": best_epoch, "epochs_run": len(history), "stopped_early": stopped_early,
               "metrics": final_metrics, "decoder": decoder, "n_parameters": count_parameters(model)}
    log.info("best %s %.4f at epoch %d (tuned decoder %s)", metric_name, summary["best_metric"], best_epoch, decoder)
    return summary
