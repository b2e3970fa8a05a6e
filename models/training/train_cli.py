"""``featherlight train``: train a task network into a run folder (see :mod:`models.training.train`)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from models.annotations.types import TASKS
from models.errors import ConfigError, DatasetError
from models.training.config import LR_SCHEDULES

log = logging.getLogger(__name__)

_DESCRIPTION = """\
Train the network of one task on a folder of labelled audio and write a run folder: config.json,
best.safetensors (the best epoch by the validation metric), metrics.json, decoder.json (decoder
settings tuned on validation), last.safetensors + optimizer.safetensors + state.json (to --resume
after an interruption) and log.csv. Validation metrics: pitch RPA, chords majmin, drums mean F1 of
kick/snare/hi-hat, onsets F1 at 50 ms. Front-end features are cached (RUN_DIR/cache or --cache DIR).
Export the result to ONNX with its model card afterwards.
"""

_EPILOG = """\
--data is either a corpus root holding train/ and valid/ (as 'featherlight corpus render' writes
it) or a training folder, with --valid naming the validation folder.

examples:
  featherlight train --task onsets --data corpus/onsets --out runs/onsets
  featherlight train --task pitch --data my/train --valid my/valid --out runs/pitch --epochs 40
  featherlight train --task pitch --data corpus/pitch --out runs/pitch --resume
  featherlight train --task pitch --data my/corpus --out runs/pitch-mine --init runs/pitch --lr 0.0005
  featherlight train --task pitch --data my/corpus --out runs/pitch-mine --init runs/pitch --lr 0.0005 \\
      --lr-schedule cosine --epochs 3
  featherlight train --task drums --data my/drums --out runs/drums-mine --init resources/models/drums.onnx --lr 0.0005
  featherlight train --task onsets --data corpus/onsets --out runs/onsets-deep \\
      --net '{"temporal_channels": [128, 128, 128, 128], "temporal_kernel": [1, 3, 3, 3], "temporal_dilation": [1, 1, 2, 4]}'
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a task network (pitch, chords, drums, onsets) into a run folder",
        description=_DESCRIPTION, epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--task", required=True, choices=TASKS, help="which task to train")
    parser.add_argument("--data", required=True, type=Path, metavar="DIR",
                        help="corpus root with train/ and valid/, or a training folder (then give --valid)")
    parser.add_argument("--valid", type=Path, metavar="DIR", help="validation folder (default: DATA/valid)")
    parser.add_argument("--out", required=True, type=Path, metavar="RUN_DIR", help="run folder to write")
    parser.add_argument("--epochs", type=int, default=None, metavar="N", help="maximum epochs (default 30)")
    parser.add_argument("--patience", type=int, default=None, metavar="N",
                        help="stop after N epochs without a better validation metric (default 8)")
    parser.add_argument("--batch-size", type=int, default=None, metavar="B", help="excerpts per batch (default 16)")
    parser.add_argument("--excerpt-frames", type=int, default=None, metavar="F",
                        help="frames (10 ms) per training excerpt (default 400 = 4 s)")
    parser.add_argument("--excerpts-per-epoch", type=int, default=None, metavar="N",
                        help="excerpts per epoch (default: enough to cover the training audio once)")
    parser.add_argument("--lr", type=float, default=None, help="AdamW learning rate (default 0.002)")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=None,
                        help="plateau (default): halve the rate after 3 epochs without a better validation "
                        "metric; cosine: decay it every step to 0 at the end of --epochs (the better choice "
                        "for a fine-tune of a few epochs; --resume then needs the same --epochs)")
    parser.add_argument("--seed", type=int, default=None, metavar="S", help="random seed (default 0)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                        help="where to train (default auto: CUDA when torch finds a GPU, else CPU)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="CPU threads torch may use (default: torch's choice)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="data-loader worker processes (default 0: in the main process)")
    parser.add_argument("--cache", type=Path, metavar="DIR", help="feature cache folder (default RUN_DIR/cache)")
    parser.add_argument("--transpose", type=int, default=None, metavar="SEMITONES",
                        help="pitch and chords: random transposition of up to this many semitones either "
                        "way (default: pitch 4, chords 6; 0 turns it off)")
    parser.add_argument("--note-start-weight", type=float, default=None, metavar="W",
                        help="pitch: the loss counts the first 100 ms of each note W times, where slow attacks "
                        "leave the previous note sounding (default 1: every frame alike; validation stays "
                        "unweighted)")
    parser.add_argument("--late-frames", type=int, default=None, metavar="K",
                        help="drums and onsets: each event's target may move up to K frames (10 ms each) later, "
                        "to the frame there the network rates highest, for slow attacks that show only after "
                        "their note-on (default 0: the labelled frame; at most 4)")
    parser.add_argument("--ignore-hidden-onsets", action="store_true", default=None,
                        help="onsets: no target and no loss around the training files' onsets that bring no "
                        "more spectral change within 50 ms than one in ten onset-free frames of the file "
                        "(slow attacks under sustained sound; scripts/onset_visibility.py counts them); "
                        "validation keeps every onset")
    parser.add_argument("--init", type=Path, default=None, metavar="RUN_DIR|WEIGHTS|MODEL.onnx",
                        help="fine-tune: start from a trained run's weights (its best.safetensors, or a "
                        ".safetensors file) or an exported model (.onnx with its .json card, e.g. a bundled "
                        "one in resources/models) instead of a random initialisation; same task and network")
    parser.add_argument("--lookahead", type=int, default=None, metavar="FRAMES",
                        help="frames (10 ms) of audio after a frame the network may hear before it describes it; "
                        "less cuts live latency (default: pitch, drums, onsets 2; chords 50; negative: "
                        "anticipate, see models/training/nets.py)")
    parser.add_argument("--net", default=None, metavar="JSON",
                        help="network shape: a JSON object, or a .json file holding one, of network settings "
                        "that replace the task's default (keys of NetConfig in models/training/nets.py, e.g. "
                        "'{\"temporal_channels\": [128, 128, 128, 128], \"temporal_kernel\": [1, 3, 3, 3], "
                        "\"temporal_dilation\": [1, 1, 2, 4]}'); --lookahead applies on top")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue the interrupted run in RUN_DIR (same settings)")
    mode.add_argument("--overwrite", action="store_true", help="delete an earlier run in RUN_DIR and start over")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def _data_folders(data: Path, valid: Path | None) -> tuple[Path, Path]:
    if not data.is_dir():
        raise DatasetError(f"--data {data} is not a folder; pass a corpus root (with train/ and valid/) or a "
                           "training folder", [f"{data}: not a folder"])
    if valid is not None:
        return data, valid
    if (data / "train").is_dir() and (data / "valid").is_dir():
        return data / "train", data / "valid"
    raise DatasetError(
        f"--data {data} has no train/ and valid/ sub-folders; pass a corpus root that has them, or give the "
        "validation folder with --valid", [f"{data}: no train/ and valid/ sub-folders and no --valid"]
    )


#: Network settings fixed by the task and the front-end: ``--net`` may not change them.
_FIXED_NET_KEYS = ("task", "n_outputs", "output_names", "n_bins")


def parse_net_option(value: str | None) -> dict:
    """``--net``: a JSON object given inline, or the path of a .json file holding one."""
    if value is None:
        return {}
    text = value
    if not value.lstrip().startswith(("{", "[")):
        path = Path(value)
        if not path.is_file():
            raise ConfigError(f"--net {value!r} is neither a JSON object nor an existing .json file; give the "
                              "network settings inline, e.g. --net '{\"temporal_channels\": [128, 128]}'")
        text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--net is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); write "
                          "it as a JSON object with double-quoted keys") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--net must be a JSON object of network settings, got {type(data).__name__}")
    return data


def net_settings(task: str, overrides: dict) -> dict:
    """The task's default network with ``overrides`` applied, checked (a NetConfig dict)."""
    from dataclasses import fields

    from models.training.config import default_net_config
    from models.training.nets import NetConfig

    known = {f.name for f in fields(NetConfig)} - set(_FIXED_NET_KEYS)
    unknown = sorted(set(overrides) - known)
    if unknown:
        fixed = [k for k in unknown if k in _FIXED_NET_KEYS]
        hint = (f"{', '.join(fixed)} follow from the task and the front-end" if fixed
                else f"known settings: {', '.join(sorted(known))}")
        raise ConfigError(f"--net: unknown or fixed network setting(s) {', '.join(unknown)}; {hint}")
    net = {**default_net_config(task).to_dict(), **overrides}
    try:
        return NetConfig.from_dict(net).to_dict()
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"--net: {exc}") from None


def build_config(args: argparse.Namespace):
    from models.training.config import TrainConfig

    train_dir, valid_dir = _data_folders(args.data, args.valid)
    overrides = {
        "epochs": args.epochs, "patience": args.patience, "batch_size": args.batch_size,
        "excerpt_frames": args.excerpt_frames, "excerpts_per_epoch": args.excerpts_per_epoch, "lr": args.lr,
        "lr_schedule": args.lr_schedule,
        "seed": args.seed, "device": args.device, "workers": args.workers,
        "transpose_semitones": args.transpose, "init_weights": str(args.init) if args.init else None,
        "pitch_note_start_weight": getattr(args, "note_start_weight", None),
        "event_late_frames": getattr(args, "late_frames", None),
        "ignore_hidden_onsets": getattr(args, "ignore_hidden_onsets", None),
    }
    values = {k: v for k, v in overrides.items() if v is not None}
    net_overrides = parse_net_option(getattr(args, "net", None))
    if getattr(args, "lookahead", None) is not None:
        net_overrides["lookahead_frames"] = args.lookahead
    if net_overrides:
        values["net"] = net_settings(args.task, net_overrides)
    return TrainConfig(task=args.task, train_dir=str(train_dir), valid_dir=str(valid_dir),
                       cache_dir=str(args.cache) if args.cache else None, **values)


def _command_line(args: argparse.Namespace) -> list[str]:
    """The command as given (options in canonical order), for config.json."""
    out = ["featherlight", "train"]
    for key, value in vars(args).items():
        if key in ("func", "command", "verbose") or value is None or value is False:
            continue
        flag = "--" + {"out": "out", "cache": "cache"}.get(key, key).replace("_", "-")
        out += [flag] if value is True else [flag, str(value)]
    return out


def run(args: argparse.Namespace) -> int:
    from models.training.train import train

    config = build_config(args)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    summary = train(config, args.out, resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress,
                    command=_command_line(args))
    print(f"{config.task}: best {summary['metric']} {summary['best_metric']:.4f} at epoch {summary['best_epoch']} "
          f"({summary['epochs_run']} epochs{', stopped early' if summary['stopped_early'] else ''}); "
          f"decoder {json.dumps(summary['decoder'])}; run folder {summary['run_dir']}")
    return 0
