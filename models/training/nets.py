"""The task networks: one prunable family for pitch, chords, drums and onsets.

Input: front-end frames ``(batch, frames, n_bins)`` (see :mod:`models.frontend`). Output: per-frame
probabilities ``(batch, frames, n_outputs)``. Every temporal convolution is *causal* and carries its own
state (the last input frames it needs), so one graph serves both uses:

- offline: call with zero states and all frames at once;
- streaming: call block by block, feeding back the returned states.

Both compute the same thing. A bounded lookahead is obtained by *delaying* the targets during
training: output frame ``t`` describes input frame ``t - lookahead_frames``; the runtime feeds
``lookahead_frames`` silent frames at the end of a stream to release the last outputs.

A *negative* ``lookahead_frames = -a`` (anticipation, for drums and onsets) trains output frame ``t`` to
describe frame ``t + a``. That is not clairvoyance: the front-end frame ``t`` is a window centred on
``t`` that already holds ``window / 2`` (32 ms) of later audio, so an attack at frame ``t + a`` (up to
:data:`MAX_ANTICIPATION_FRAMES` hops later) is already in it. It cuts the latency of event detection
by ``a`` hops; the runtime puts ``a`` empty rows in front of a stream (frames ``0 .. a-1``, which no
output describes).

Structure (each stage is optional, widths are the prunable units):

    [harmonic stack: the frames shifted down by whole bins per input channel, zero beyond the edge]
    input BatchNorm (one global channel, or one per stacked harmonic)
    2-D stage: [causal Conv2d(time kt, freq kf, 'same' in frequency) -> BatchNorm -> ReLU -> MaxPool(freq)] * n
    flatten channels x frequency
    temporal stage: [causal Conv1d(kernel k, dilation d) -> BatchNorm -> ReLU -> Dropout] * m
    head: Conv1d(kernel 1) -> sigmoid (pitch, drums, onsets) or softmax (chords)

A trimmed network is the same class built from a :class:`NetConfig` with smaller widths, so saving,
loading and ONNX export need nothing special.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import torch
from torch import nn

from models.errors import ConfigError

ACTIVATIONS = ("sigmoid", "softmax")
#: The most hops an output may describe ahead of its input frame: half the 64 ms front-end window is
#: 3.2 hops of later audio, so 3 keeps every described frame inside audio the model has seen.
MAX_ANTICIPATION_FRAMES = 3


@dataclass(frozen=True)
class NetConfig:
    task: str
    n_outputs: int
    output_activation: str = "sigmoid"
    n_bins: int = 288
    conv2d_channels: tuple[int, ...] = (8, 16)
    conv2d_kernel_time: tuple[int, ...] = (3, 3)
    conv2d_kernel_freq: tuple[int, ...] = (5, 5)
    conv2d_pool_freq: tuple[int, ...] = (3, 2)
    temporal_channels: tuple[int, ...] = (256, 256, 256)
    temporal_kernel: tuple[int, ...] = (1, 3, 3)
    temporal_dilation: tuple[int, ...] = (1, 1, 2)
    dropout: float = 0.1
    lookahead_frames: int = 0
    output_names: tuple[str, ...] = field(default=())
    #: Harmonic stack at the input (empty: the frames alone, one channel). Input channel ``c`` holds the
    #: frames shifted down by ``harmonic_shifts[c]`` bins: bin ``f`` of it is bin ``f + shift`` of the
    #: frames (zero past either edge). On a log-frequency axis harmonic ``h`` of the pitch at bin ``f``
    #: lies ``bins_per_octave * log2(h)`` bins above it, so with shifts for h = 0.5, 1, 2, 3, ... the
    #: first 2-D convolution sees a pitch's harmonics lined up at its own bin (a harmonic CQT).
    harmonic_shifts: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        n2 = len(self.conv2d_channels)
        if not (len(self.conv2d_kernel_time) == len(self.conv2d_kernel_freq) == len(self.conv2d_pool_freq) == n2):
            raise ConfigError("conv2d_channels, conv2d_kernel_time, conv2d_kernel_freq and conv2d_pool_freq "
                              "must have the same length")
        n1 = len(self.temporal_channels)
        if not (len(self.temporal_kernel) == len(self.temporal_dilation) == n1):
            raise ConfigError("temporal_channels, temporal_kernel and temporal_dilation must have the same length")
        if any(c < 1 for c in (*self.conv2d_channels, *self.temporal_channels)):
            raise ConfigError(f"every layer needs at least one unit, got {self.conv2d_channels} / {self.temporal_channels}")
        if any(k % 2 == 0 for k in self.conv2d_kernel_freq):
            raise ConfigError(f"frequency kernels must be odd ('same' padding), got {self.conv2d_kernel_freq}")
        if self.output_activation not in ACTIVATIONS:
            raise ConfigError(f"output_activation must be one of {ACTIVATIONS}, got {self.output_activation!r}")
        if self.flat_frequency_bins < 1:
            raise ConfigError(f"frequency pooling {self.conv2d_pool_freq} leaves no bins of {self.n_bins}")
        if len(set(self.harmonic_shifts)) != len(self.harmonic_shifts) or any(
                abs(s) >= self.n_bins for s in self.harmonic_shifts):
            raise ConfigError(f"harmonic_shifts must be distinct and each smaller than the {self.n_bins} bins in "
                              f"size, got {self.harmonic_shifts}")
        if self.lookahead_frames < -MAX_ANTICIPATION_FRAMES:
            raise ConfigError(f"lookahead_frames must be >= -{MAX_ANTICIPATION_FRAMES} (an output can describe at "
                              f"most {MAX_ANTICIPATION_FRAMES} frames ahead of its input), got {self.lookahead_frames}")

    @property
    def input_channels(self) -> int:
        return max(1, len(self.harmonic_shifts))

    @property
    def flat_frequency_bins(self) -> int:
        bins = self.n_bins
        for pool in self.conv2d_pool_freq:
            bins //= pool
        return bins

    @property
    def receptive_field_frames(self) -> int:
        """Past frames (including the current one) an output depends on."""
        rf = 1
        rf += sum(k - 1 for k in self.conv2d_kernel_time)
        rf += sum((k - 1) * d for k, d in zip(self.temporal_kernel, self.temporal_dilation))
        return rf

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "NetConfig":
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**fields)

    def with_widths(self, conv2d_channels: tuple[int, ...], temporal_channels: tuple[int, ...]) -> "NetConfig":
        return replace(self, conv2d_channels=tuple(conv2d_channels), temporal_channels=tuple(temporal_channels))


class CausalConv2d(nn.Module):
    """Conv2d over (time, frequency): causal in time (state = last kt-1 input frames), 'same' in frequency."""

    def __init__(self, in_channels: int, out_channels: int, kernel_time: int, kernel_freq: int) -> None:
        super().__init__()
        self.context = kernel_time - 1
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel_time, kernel_freq), padding=(0, kernel_freq // 2))

    def forward(self, x: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        # x: (B, C, T, F); state: (B, C, context, F)
        if self.context == 0:
            return self.conv(x), None
        full = torch.cat([state, x], dim=2)
        return self.conv(full), full[:, :, full.shape[2] - self.context:, :]


class CausalConv1d(nn.Module):
    """Conv1d over time, causal (state = last (k-1)*d input frames)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.context = (kernel - 1) * dilation
        self.conv = nn.Conv1d(in_channels, out_channels, kernel, dilation=dilation)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        # x: (B, C, T); state: (B, C, context)
        if self.context == 0:
            return self.conv(x), None
        full = torch.cat([state, x], dim=2)
        return self.conv(full), full[:, :, full.shape[2] - self.context:]


class TaskNet(nn.Module):
    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        self.input_norm = nn.BatchNorm2d(config.input_channels)
        self.conv2d = nn.ModuleList()
        self.norm2d = nn.ModuleList()
        self.pool2d = nn.ModuleList()
        channels = config.input_channels
        for out, kt, kf, pool in zip(config.conv2d_channels, config.conv2d_kernel_time,
                                     config.conv2d_kernel_freq, config.conv2d_pool_freq):
            self.conv2d.append(CausalConv2d(channels, out, kt, kf))
            self.norm2d.append(nn.BatchNorm2d(out))
            self.pool2d.append(nn.MaxPool2d((1, pool)) if pool > 1 else nn.Identity())
            channels = out
        features = channels * config.flat_frequency_bins
        self.temporal = nn.ModuleList()
        self.norm1d = nn.ModuleList()
        for out, k, d in zip(config.temporal_channels, config.temporal_kernel, config.temporal_dilation):
            self.temporal.append(CausalConv1d(features, out, k, d))
            self.norm1d.append(nn.BatchNorm1d(out))
            features = out
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Conv1d(features, config.n_outputs, 1)

    # --- state -----------------------------------------------------------------------------------
    def state_shapes(self, batch: int = 1) -> list[tuple[int, ...]]:
        """Shapes of the streaming states, in the order forward() takes and returns them."""
        shapes = []
        channels, bins = self.config.input_channels, self.config.n_bins
        for layer, pool in zip(self.conv2d, self.config.conv2d_pool_freq):
            if layer.context:
                shapes.append((batch, channels, layer.context, bins))
            channels, bins = layer.conv.out_channels, bins // pool
        features = channels * bins
        for layer in self.temporal:
            if layer.context:
                shapes.append((batch, features, layer.context))
            features = layer.conv.out_channels
        return shapes

    def initial_state(self, batch: int = 1, device: torch.device | None = None) -> list[torch.Tensor]:
        return [torch.zeros(shape, device=device) for shape in self.state_shapes(batch)]

    # --- forward ---------------------------------------------------------------------------------
    def stack(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, F) -> (B, C_in, T, F): the frames, or their harmonic stack (see NetConfig)."""
        if not self.config.harmonic_shifts:
            return features.unsqueeze(1)
        n = features.shape[-1]
        channels = []
        for shift in self.config.harmonic_shifts:
            if shift > 0:
                channels.append(nn.functional.pad(features[..., shift:], (0, shift)))
            elif shift < 0:
                channels.append(nn.functional.pad(features[..., : n + shift], (-shift, 0)))
            else:
                channels.append(features)
        return torch.stack(channels, dim=1)

    def forward(self, features: torch.Tensor, *states: torch.Tensor, logits: bool = False):
        """(B, T, n_bins) [+ states] -> (B, T, n_outputs) [+ new states].

        Without states (training, offline) the states start at zero and only the output is returned.
        With states (streaming, ONNX) the output is returned with the new states.
        """
        streaming = len(states) > 0
        state_iter = iter(states if streaming else self.initial_state(features.shape[0], features.device))
        new_states: list[torch.Tensor] = []
        x = self.input_norm(self.stack(features))  # (B, C_in, T, F)
        for conv, norm, pool in zip(self.conv2d, self.norm2d, self.pool2d):
            x, s = conv(x, next(state_iter) if conv.context else None)
            if s is not None:
                new_states.append(s)
            x = pool(torch.relu(norm(x)))
        b, c, t, f = x.shape
        x = x.permute(0, 1, 3, 2).reshape(b, c * f, t)  # (B, C*F, T): channel-major
        for conv, norm in zip(self.temporal, self.norm1d):
            x, s = conv(x, next(state_iter) if conv.context else None)
            if s is not None:
                new_states.append(s)
            x = self.dropout(torch.relu(norm(x)))
        y = self.head(x).transpose(1, 2)  # (B, T, n_outputs)
        if not logits:
            y = torch.sigmoid(y) if self.config.output_activation == "sigmoid" else torch.softmax(y, dim=-1)
        return (y, *new_states) if streaming else y


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def macs_per_frame(config: NetConfig) -> int:
    """Multiply-accumulates per output frame (convolutions and head; norms and pooling excluded)."""
    macs = 0
    channels, bins = config.input_channels, config.n_bins
    for out, kt, kf, pool in zip(config.conv2d_channels, config.conv2d_kernel_time,
                                 config.conv2d_kernel_freq, config.conv2d_pool_freq):
        macs += bins * out * channels * kt * kf
        channels, bins = out, bins // pool
    features = channels * bins
    for out, k in zip(config.temporal_channels, config.temporal_kernel):
        macs += features * out * k
        features = out
    macs += features * config.n_outputs
    return macs
