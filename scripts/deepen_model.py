"""Grow an exported model, for fine-tuning: temporal layers that start as the identity, a harmonic stack at
the input whose new channels start unused, and/or wider 2-D or temporal layers whose new units start unheard.

    .venv/bin/python scripts/deepen_model.py resources/models/pitch.onnx --data WORK/corpus/pitch/train \
        --kernel 2 2 --dilation 8 16 --out WORK/init/pitch-deep.safetensors
    .venv/bin/python scripts/deepen_model.py resources/models/pitch.onnx --data WORK/corpus/pitch/train \
        --harmonics 0.5 1 2 3 4 5 --out WORK/init/pitch-hcqt.safetensors

The new layers (one per --kernel / --dilation pair, as wide as the model's last temporal layer) go between
the last temporal layer and the head. Each starts as the identity: its convolution passes its input
channel to the same output channel at the current frame (the last tap of the causal kernel) and nothing
else, and its batch norm is set from the statistics of its input on --data (mean and variance back in
place of the normalisation), so the deepened network computes what the model computed (the script checks
this, in eval mode, on --data) while its receptive field grows by sum((kernel - 1) * dilation) frames of
past context. ``--harmonics`` (1 among them) stacks the input frames shifted by ``bins_per_octave * log2(h)``
bins per harmonic h (``harmonic_shifts`` in :class:`models.training.nets.NetConfig`): the first 2-D
convolution gets one input channel per harmonic, the model's weights on the h = 1 channel and zeros on the
others, so again the grown network computes what the model computed until fine-tuning uses the new
channels (whose input norms are set from their statistics on --data). ``--conv2d-channels`` widens the 2-D
layers: the new units get random weights (seeded) from all their inputs and batch norms set from their
statistics on --data, and they reach the next layer through zero weights, so they compute features from
the start while the output is still the model's. ``--temporal-channels`` widens the temporal layers the same
way (new units random and normalised on --data, heard by the next layer or the head through zero weights;
new layers from --kernel are then as wide as the widened last layer). Fine-tune from the result with

    featherlight train ... --init WORK/init/pitch-deep.safetensors --net WORK/init/pitch-deep.net.json

(what ``scripts/build_models.py --train-options`` passes). Written next to the weights: ``<stem>.net.json``
(the deepened network's temporal settings, for ``--net``) and ``<stem>.json`` (this command, the source
model's sha256, the largest output difference found), which build_models records in the model card.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CALIBRATION_FRAMES = 60_000  # ten minutes of front-end frames for the batch-norm statistics


def calibration_features(folder: Path, cache: Path, max_frames: int = CALIBRATION_FRAMES) -> list[np.ndarray]:
    """Front-end features of every 7th audio file under ``folder`` (sorted), up to ``max_frames`` frames."""
    from models.annotations.dataset import find_audio_files
    from models.training.data import cached_features

    out, frames = [], 0
    for path in find_audio_files(folder)[::7]:
        features = np.array(cached_features(path, cache))
        out.append(features)
        frames += features.shape[0]
        if frames >= max_frames:
            break
    return out


def delay_taps(kernels: list[int], dilations: list[int], delay: int) -> list[int]:
    """How many dilation steps into the past each new layer's identity tap sits so that the new layers
    together delay their input by ``delay`` frames (of the ways to do it, one with the fewest steps);
    ConfigError if these layers cannot make that delay."""
    import itertools

    from models.errors import ConfigError

    ways = [s for s in itertools.product(*(range(k) for k in kernels))
            if sum(step * d for step, d in zip(s, dilations)) == delay]
    if not ways:
        raise ConfigError(f"--delay {delay}: the new layers (kernels {kernels}, dilations {dilations}) cannot delay "
                          f"by {delay} frames; a layer of kernel k and dilation d delays by 0, d, ..., (k - 1) * d")
    return list(min(ways, key=sum))


def harmonic_shifts(harmonics: list[float], bins_per_octave: int) -> tuple[int, ...]:
    """Bin shifts of the harmonic stack for ``harmonics`` (nearest whole bin); ConfigError without h = 1,
    with a repeated shift or a non-positive harmonic."""
    import math

    from models.errors import ConfigError

    if any(h <= 0 for h in harmonics) or 1 not in harmonics:
        raise ConfigError(f"--harmonics {harmonics}: give positive harmonics including 1 (the model's own input)")
    shifts = tuple(int(round(bins_per_octave * math.log2(h))) for h in harmonics)
    if len(set(shifts)) != len(shifts):
        raise ConfigError(f"--harmonics {harmonics} give repeated bin shifts {shifts} at {bins_per_octave} bins "
                          "per octave; leave the duplicates out")
    return shifts


def deepen(onnx_path: Path, calibration: list[np.ndarray], kernels: list[int], dilations: list[int], delay: int = 0,
           shifts: tuple[int, ...] = (), widths: tuple[int, ...] = (), temporal_widths: tuple[int, ...] = ()):
    """(deepened TaskNet, largest |old - new| output on the calibration's first file).

    With ``delay`` the new layers pass their input on ``delay`` frames later, so the deepened network's
    frame ``t`` is the model's frame ``t - delay`` (compared there): fine-tune it with the model's lookahead
    plus ``delay`` and it starts where the model was, with ``delay`` more frames of the future in view."""
    import torch

    from models.errors import ConfigError
    from models.training.nets import NetConfig, TaskNet
    from models.training.onnx_weights import _calibrate, weights_from_onnx

    old, _ = weights_from_onnx(onnx_path, calibration)
    cfg = old.config.to_dict()
    widened = tuple(old.config.temporal_channels)
    if temporal_widths:
        if len(temporal_widths) != len(widened) or any(w < c for w, c in zip(temporal_widths, widened)):
            raise ConfigError(f"--temporal-channels {list(temporal_widths)}: give one width per temporal layer, none "
                              f"below the model's {list(widened)}")
        widened = tuple(temporal_widths)
    width = widened[-1]  # new layers are as wide as the (widened) last temporal layer
    cfg["temporal_channels"] = (*widened, *([width] * len(kernels)))
    cfg["temporal_kernel"] = (*old.config.temporal_kernel, *kernels)
    cfg["temporal_dilation"] = (*old.config.temporal_dilation, *dilations)
    if widths:
        if len(widths) != len(old.config.conv2d_channels) or any(
                w < c for w, c in zip(widths, old.config.conv2d_channels)):
            raise ConfigError(f"--conv2d-channels {list(widths)}: give one width per 2-D layer, none below the "
                              f"model's {list(old.config.conv2d_channels)}")
        cfg["conv2d_channels"] = tuple(widths)
    if shifts:
        if old.config.harmonic_shifts:
            raise ConfigError(f"{onnx_path} already stacks harmonics {old.config.harmonic_shifts}")
        cfg["harmonic_shifts"] = shifts
    torch.manual_seed(0)  # the new units' random weights: the same grown network every time
    new = TaskNet(NetConfig.from_dict(cfg)).eval()
    state = new.state_dict()
    grown_input = {"input_norm.weight", "input_norm.bias", "input_norm.running_mean", "input_norm.running_var",
                   "conv2d.0.conv.weight"} if shifts else set()
    # the head keeps its name and shape; grown tensors get the model's values in their leading slice: new
    # 2-D units keep their random weights (so they compute something from the start) and their outputs
    # reach the next layer through zero weights, so the network still computes what the model computed
    for key, value in old.state_dict().items():
        if key in grown_input:
            continue
        target = state[key]
        if target.shape == value.shape:
            state[key] = value.clone()
            continue
        if value.dim() == 0 or value.dim() != target.dim():
            raise ConfigError(f"cannot grow {key} from {tuple(value.shape)} to {tuple(target.shape)}")
        grown = target.clone()
        if value.dim() >= 2:  # a convolution (or the head): zero from the new input channels (the first temporal
            grown[:, value.shape[1]:] = 0.0  # layer's inputs are channel-major, so new 2-D channels' rows come last)
        grown[tuple(slice(0, n) for n in value.shape)] = value
        state[key] = grown
    if shifts:  # the model's input is channel `own`; the model's units get zero weights on the other channels
        own = shifts.index(0)
        weight = state["conv2d.0.conv.weight"].clone()  # (new units, if widened, keep their random weights)
        first = old.state_dict()["conv2d.0.conv.weight"]
        weight[: first.shape[0]] = 0.0
        weight[: first.shape[0], own] = first[:, 0]
        state["conv2d.0.conv.weight"] = weight
    n_old = len(old.temporal)
    channels = torch.arange(width)
    steps = delay_taps(kernels, dilations, delay)
    for i, back in zip(range(n_old, len(new.temporal)), steps):
        weight = torch.zeros_like(state[f"temporal.{i}.conv.weight"])
        # the last tap is the current frame (causal convolution), the one before it `dilation` frames back
        weight[channels, channels, -1 - back] = 1.0
        state[f"temporal.{i}.conv.weight"] = weight
        state[f"temporal.{i}.conv.bias"] = torch.zeros_like(state[f"temporal.{i}.conv.bias"])
    new.load_state_dict(state)
    added = list(new.norm1d[n_old:])
    with torch.no_grad():
        if shifts:  # every input channel normalised by its own statistics, the model's channel as before
            norm = new.input_norm
            means, variances = _calibrate(new, [norm], calibration)
            norm.running_mean.copy_(means[0])
            norm.running_var.copy_(variances[0])
            norm.weight.fill_(1.0)
            norm.bias.zero_()
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(norm, name)[own] = getattr(old.input_norm, name)[0]
        # new 2-D units, then new temporal units, normalised by their own statistics, layer after layer (the
        # next layer's new units read them), after the input channels
        widened = [*zip(new.norm2d, old.config.conv2d_channels), *zip(new.norm1d, old.config.temporal_channels)]
        for norm, n_old in widened:
            if norm.num_features > n_old:
                means, variances = _calibrate(new, [norm], calibration)
                norm.running_mean[n_old:] = means[0][n_old:]
                norm.running_var[n_old:] = variances[0][n_old:]
                norm.weight[n_old:] = 1.0
                norm.bias[n_old:] = 0.0
        for norm in added:  # identity while their input statistics are measured
            norm.running_mean.zero_()
            norm.running_var.fill_(1.0 - norm.eps)
            norm.weight.fill_(1.0)
            norm.bias.zero_()
        means, variances = _calibrate(new, added, calibration)
        for norm, mean, var in zip(added, means, variances):  # normalise, then put mean and scale back
            norm.running_mean.copy_(mean)
            norm.running_var.copy_(var)
            norm.weight.copy_(torch.sqrt(var + norm.eps))
            norm.bias.copy_(mean)
        x = torch.from_numpy(np.ascontiguousarray(calibration[0], dtype=np.float32)).unsqueeze(0)
        before, after = old(x), new(x)
        if delay:
            before, after = before[:, : before.shape[1] - delay], after[:, delay:]  # (1, T, outputs)
        diff = float((before - after).abs().max())
    return new, diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="exported model (.onnx with its .json card)")
    parser.add_argument("--data", type=Path, required=True, help="folder of the task's training audio (calibration)")
    parser.add_argument("--kernel", type=int, nargs="+", default=[], help="kernel of each new layer")
    parser.add_argument("--dilation", type=int, nargs="+", default=[], help="dilation of each new layer")
    parser.add_argument("--harmonics", type=float, nargs="+", default=[],
                        help="stack these harmonics at the input (1 among them), e.g. 0.5 1 2 3 4 5")
    parser.add_argument("--conv2d-channels", type=int, nargs="+", default=[],
                        help="widen the 2-D layers to these widths (one per layer, e.g. 16 32 for the bundled 8 16)")
    parser.add_argument("--temporal-channels", type=int, nargs="+", default=[],
                        help="widen the temporal layers to these widths (one per layer, e.g. 192 192 192 for 128s)")
    parser.add_argument("--delay", type=int, default=0,
                        help="the new layers delay by this many frames (train with the model's lookahead plus this)")
    parser.add_argument("--out", type=Path, required=True, help="weights to write (.safetensors)")
    parser.add_argument("--cache", type=Path, default=None, help="feature cache (default: OUT's folder/cache)")
    args = parser.parse_args(argv)
    from models.errors import ConfigError, FeatherlightError

    try:
        if len(args.kernel) != len(args.dilation) or min(args.kernel + args.dilation, default=1) < 1:
            raise ConfigError("give one --kernel and one --dilation (each >= 1) per new layer")
        if not (args.kernel or args.harmonics or args.conv2d_channels or args.temporal_channels):
            raise ConfigError("nothing to grow: give new layers (--kernel, --dilation), --harmonics, "
                              "--conv2d-channels and/or --temporal-channels")
        shifts = ()
        if args.harmonics:
            from models.runtime.card import load_card

            card_path = args.model.with_suffix(".json")
            if not card_path.is_file():
                raise ConfigError(f"no model card {card_path} beside {args.model}")
            shifts = harmonic_shifts(args.harmonics, load_card(card_path).frontend_config().bins_per_octave)
        if args.out.suffix != ".safetensors":
            raise ConfigError(f"--out {args.out}: name the weights file <name>.safetensors")
        sidecars = [args.out, args.out.with_suffix(".net.json"), args.out.with_suffix(".json")]
        existing = [str(p) for p in sidecars if p.exists()]
        if existing:
            raise ConfigError(f"{', '.join(existing)} already exist(s); remove them or choose another --out")
        calibration = calibration_features(args.data, args.cache or args.out.parent / "cache")
        if not calibration:
            raise ConfigError(f"--data {args.data}: no audio files to calibrate on")
        if args.delay < 0:
            raise ConfigError(f"--delay must be >= 0, got {args.delay}")
        delay_taps(args.kernel, args.dilation, args.delay)  # before the calibration work
        net, diff = deepen(args.model, calibration, args.kernel, args.dilation, args.delay, shifts,
                           tuple(args.conv2d_channels), tuple(args.temporal_channels))
        if diff > 1e-4:
            raise ConfigError(f"the deepened network differs from {args.model} by {diff:.2e}; not written")
        from safetensors.torch import save_file

        from models.fileio import atomic_path, atomic_write_bytes

        args.out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(args.out) as tmp:
            save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp))
        cfg = net.config.to_dict()
        net_json = {k: list(cfg[k]) for k in ("temporal_channels", "temporal_kernel", "temporal_dilation")}
        if shifts:
            net_json["harmonic_shifts"] = list(shifts)
        if args.conv2d_channels:
            net_json["conv2d_channels"] = list(cfg["conv2d_channels"])
        atomic_write_bytes(args.out.with_suffix(".net.json"), json.dumps(net_json).encode())
        record = {"command": ["scripts/deepen_model.py", *(sys.argv[1:] if argv is None else argv)],
                  "source_model": str(args.model),
                  "source_sha256": hashlib.sha256(args.model.read_bytes()).hexdigest(),
                  "max_abs_diff": diff, "net": net_json, "delay_frames": args.delay,
                  "lookahead_frames": net.config.lookahead_frames + args.delay}
        atomic_write_bytes(args.out.with_suffix(".json"), json.dumps(record, indent=1).encode())
        n_params = sum(p.numel() for p in net.parameters())
        print(f"wrote {args.out} ({n_params:,} parameters, receptive field {net.config.receptive_field_frames} "
              f"frames, max |old - new| {diff:.1e}) and {args.out.with_suffix('.net.json')}")
    except FeatherlightError as exc:
        print(f"deepen_model: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
