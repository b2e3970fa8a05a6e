"""Trainable weights from an exported model (``name.onnx`` + its card): fine-tune a bundled model.

An exported graph holds every weight of its :class:`~models.training.nets.TaskNet`, but the exporter
folds each batch-norm that follows a convolution into that convolution (eval mode: ``y = a * conv(x) +
b`` per channel is one convolution with scaled weights). :func:`weights_from_onnx` rebuilds the network
of the card's ``net`` settings from the graph:

- the input norm and the head are copied as they are (they have their own initializers);
- each folded convolution gets the folded weights and bias, and its batch-norm is set so that it changes
  nothing in eval mode (``running_mean = m``, ``running_var = v``, ``weight = sqrt(v + eps)``,
  ``bias = m``: ``(x - m) / sqrt(v + eps) * sqrt(v + eps) + m = x``). ``m`` and ``v`` are the mean and
  variance of that convolution's output over calibration features (the training data's first frames),
  so in *training* mode, where a batch-norm divides by the batch's own statistics, the layer still
  starts out close to what the exported model computed instead of rescaling every channel to unit
  variance. Without calibration features ``m = 0`` and ``v = 1``.

The result computes what the ONNX graph computes in eval mode (a test checks the parity), so
``featherlight train --init resources/models/drums.onnx`` fine-tunes the bundled model itself. The
card's ``net`` settings decide the shapes; a lookahead other than the card's may be asked for (the
weights do not depend on it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from models.errors import ConfigError
from models.training.nets import NetConfig, TaskNet

log = logging.getLogger(__name__)

__all__ = ["net_config_from_card", "weights_from_onnx"]


def net_config_from_card(onnx_path: str | os.PathLike) -> NetConfig:
    """The :class:`NetConfig` stored in the card beside ``onnx_path`` (``name.json``)."""
    card_path = Path(onnx_path).with_suffix(".json")
    if not card_path.is_file():
        raise ConfigError(f"{onnx_path}: no model card {card_path.name} beside it; an exported model is the "
                          ".onnx file with its .json card (featherlight export writes both)")
    try:
        card = json.loads(card_path.read_text())
        return NetConfig.from_dict(dict(card["net"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{card_path}: the card holds no usable 'net' settings ({exc}); re-export the model "
                          "with featherlight export") from None


def _conv_weights_in_graph_order(onnx_path: Path) -> list[tuple[np.ndarray, np.ndarray | None]]:
    import onnx
    from onnx import numpy_helper

    try:
        proto = onnx.load(str(onnx_path))
    except Exception as exc:  # onnx raises several types for a damaged file
        raise ConfigError(f"{onnx_path}: not a readable ONNX file ({exc}); give an exported model") from None
    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    convs = []
    for node in proto.graph.node:
        if node.op_type != "Conv":
            continue
        weight = inits.get(node.input[1])
        bias = inits.get(node.input[2]) if len(node.input) > 2 else None
        if weight is None:
            raise ConfigError(f"{onnx_path}: convolution {node.name or '?'} has no stored weights; this is not a "
                              "graph featherlight export wrote")
        convs.append((weight, bias))
    return convs, inits


def _initializer(inits: dict, name: str, onnx_path: Path) -> torch.Tensor:
    if name not in inits:
        raise ConfigError(f"{onnx_path}: the graph has no {name}; this is not a graph featherlight export wrote")
    return torch.from_numpy(np.array(inits[name], dtype=np.float32))


def weights_from_onnx(onnx_path: str | os.PathLike, calibration: Iterable[np.ndarray] = (), *,
                      lookahead_frames: int | None = None) -> tuple[TaskNet, dict]:
    """The network of an exported model, trainable (see the module doc), and what a run records of it.

    ``calibration``: front-end feature arrays ``(frames, n_bins)`` (a few minutes are plenty) for the
    batch-norm statistics. Returns ``(net, info)`` with ``info = {"path", "sha256", "format": "onnx"}``.
    """
    path = Path(onnx_path)
    if not path.is_file():
        raise ConfigError(f"--init {path}: no such model file; give an exported .onnx (with its .json card), a "
                          "training run folder or a .safetensors state dict")
    config = net_config_from_card(path)
    if lookahead_frames is not None:
        config = NetConfig.from_dict({**config.to_dict(), "lookahead_frames": int(lookahead_frames)})
    net = TaskNet(config).eval()
    convs, inits = _conv_weights_in_graph_order(path)
    layers = [*(c.conv for c in net.conv2d), *(t.conv for t in net.temporal), net.head]
    norms = [*net.norm2d, *net.norm1d]
    if len(convs) != len(layers) or any(tuple(w.shape) != tuple(layer.weight.shape)
                                        for (w, _), layer in zip(convs, layers)):
        found = [tuple(w.shape) for w, _ in convs]
        wanted = [tuple(layer.weight.shape) for layer in layers]
        raise ConfigError(f"{path}: the graph's convolutions {found} do not match the card's network {wanted}; "
                          "the card and the .onnx file belong to different models")
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(net.input_norm, name).copy_(_initializer(inits, f"model.input_norm.{name}", path))
        for (weight, bias), layer in zip(convs, layers):
            layer.weight.copy_(torch.from_numpy(np.array(weight, dtype=np.float32)))
            layer.bias.copy_(torch.from_numpy(np.array(bias, dtype=np.float32)) if bias is not None
                             else torch.zeros_like(layer.bias))
        for norm in norms:  # identity for now: the statistics below need the folded layers in place
            norm.running_mean.zero_()
            norm.running_var.fill_(1.0 - norm.eps)
            norm.weight.fill_(1.0)
            norm.bias.zero_()
    means, variances = _calibrate(net, norms, calibration)
    with torch.no_grad():
        for norm, mean, var in zip(norms, means, variances):
            norm.running_mean.copy_(mean)
            norm.running_var.copy_(var)
            norm.weight.copy_(torch.sqrt(var + norm.eps))
            norm.bias.copy_(mean)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    log.info("weights of %s (sha256 %s) rebuilt for training", path, digest[:12])
    return net, {"path": str(path), "sha256": digest, "format": "onnx"}


def _calibrate(net: TaskNet, norms: list, calibration: Iterable[np.ndarray]) -> tuple[list, list]:
    """Per-channel mean and variance of each norm's input (a folded convolution's output)."""
    sums = [None] * len(norms)
    squares = [None] * len(norms)
    counts = [0] * len(norms)

    def hook(index: int):
        def collect(_module, inputs, _output):
            x = inputs[0].detach().double()
            dims = [d for d in range(x.dim()) if d != 1]  # every axis but the channels
            s, q = x.sum(dim=dims), (x * x).sum(dim=dims)
            sums[index] = s if sums[index] is None else sums[index] + s
            squares[index] = q if squares[index] is None else squares[index] + q
            counts[index] += x.numel() // x.shape[1]
        return collect

    handles = [norm.register_forward_hook(hook(i)) for i, norm in enumerate(norms)]
    try:
        with torch.no_grad():
            for features in calibration:
                x = np.asarray(features, dtype=np.float32)
                if x.ndim != 2 or x.shape[0] == 0:
                    continue
                net(torch.from_numpy(np.array(x)).unsqueeze(0))
    finally:
        for handle in handles:
            handle.remove()
    means, variances = [], []
    for norm, s, q, n in zip(norms, sums, squares, counts):
        if not n:
            means.append(torch.zeros_like(norm.running_mean))
            variances.append(torch.ones_like(norm.running_var))
            continue
        mean = s / n
        var = (q / n - mean * mean).clamp_min(1e-6)
        means.append(mean.float())
        variances.append(var.float())
    return means, variances
