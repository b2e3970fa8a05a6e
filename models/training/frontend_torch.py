"""The shared front-end in torch, for training on batches (and on a GPU when one is there).

It computes exactly what :class:`models.frontend.FrontEnd` computes (a test compares them): a centred Hann
window of ``window_samples`` zero-padded to ``n_fft``, magnitude, the same log-frequency filterbank, and
``log1p(log_gain * x)``. Frame ``i`` is centred on sample ``i * hop``; there are ceil(N / hop) frames.
"""

from __future__ import annotations

import numpy as np
import torch

from models.frontend import FrontEndConfig, log_filterbank


class TorchFrontEnd(torch.nn.Module):
    def __init__(self, config: FrontEndConfig | None = None) -> None:
        super().__init__()
        self.config = config or FrontEndConfig()
        w = np.hanning(self.config.window_samples + 1)[:-1]
        self.register_buffer("window", torch.from_numpy(w / w.sum()).float(), persistent=False)
        self.register_buffer("filterbank", torch.from_numpy(log_filterbank(self.config)).float(), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> (batch, frames, n_bins)."""
        cfg = self.config
        n = audio.shape[-1]
        n_frames = -(-n // cfg.hop_samples)
        spec = torch.stft(audio, n_fft=cfg.n_fft, hop_length=cfg.hop_samples, win_length=cfg.window_samples,
                          window=self.window, center=True, pad_mode="constant", return_complex=True)
        mag = spec.abs()[..., :n_frames].transpose(-1, -2)  # (batch, frames, n_fft//2+1)
        return torch.log1p(cfg.log_gain * (mag @ self.filterbank))
