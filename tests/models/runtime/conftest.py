"""Tiny exported models for the runtime tests (torch is used only to build them)."""

from __future__ import annotations

import pytest

from models.frontend import FrontEndConfig

N_BINS = 48
TASK_OUTPUTS = {"pitch": (361, "sigmoid"), "chords": (133, "softmax"), "drums": (6, "sigmoid"), "onsets": (1, "sigmoid")}


def tiny_frontend() -> FrontEndConfig:
    return FrontEndConfig(n_bins=N_BINS)


@pytest.fixture
def export_tiny(tmp_path):
    """export_tiny(task, lookahead_frames=0, name=...) -> (torch model, onnx path, card path)."""
    torch = pytest.importorskip("torch")
    from models.runtime.card import save_card
    from models.training.export import export_onnx, make_card
    from models.training.nets import NetConfig, TaskNet

    def build(task: str, lookahead_frames: int = 0, name: str | None = None, seed: int = 0, folder=None):
        n_outputs, activation = TASK_OUTPUTS[task]
        config = NetConfig(task=task, n_outputs=n_outputs, output_activation=activation, n_bins=N_BINS,
                           conv2d_channels=(3, 4), conv2d_kernel_time=(3, 2), conv2d_kernel_freq=(5, 3),
                           conv2d_pool_freq=(2, 3), temporal_channels=(12, 10), temporal_kernel=(3, 3),
                           temporal_dilation=(1, 2), dropout=0.0, lookahead_frames=lookahead_frames)
        torch.manual_seed(seed)
        model = TaskNet(config)
        g = torch.Generator().manual_seed(seed + 1)
        with torch.no_grad():  # non-trivial batch-norm statistics and affine parameters
            for m in model.modules():
                if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                    m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.3)
                    m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                    m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
        model.eval()
        out = folder or tmp_path
        onnx_path = export_onnx(model, out / f"{name or task}.onnx")
        card = make_card(model, onnx_path, training={"data": "synthetic"}, metrics={"f1": 0.5},
                         decoder={"delay_frames": 2}, frontend=tiny_frontend())
        card_path = save_card(card, onnx_path.with_suffix(".json"))
        return model, onnx_path, card_path

    return build
