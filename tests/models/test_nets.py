import numpy as np
import pytest

torch = pytest.importorskip("torch")

from models.errors import ConfigError  # noqa: E402
from models.training.nets import NetConfig, TaskNet, count_parameters, macs_per_frame  # noqa: E402


def small_config(**kw):
    base = dict(task="onsets", n_outputs=3, n_bins=48, conv2d_channels=(4, 6), conv2d_kernel_time=(3, 2),
                conv2d_kernel_freq=(5, 3), conv2d_pool_freq=(2, 3), temporal_channels=(16, 12, 10),
                temporal_kernel=(1, 3, 3), temporal_dilation=(1, 2, 4), dropout=0.0)
    base.update(kw)
    return NetConfig(**base)


def randomised(model):
    # non-trivial batch-norm statistics so the test exercises them
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return model.eval()


@pytest.mark.parametrize("activation, shifts", [("sigmoid", ()), ("softmax", ()), ("sigmoid", (-12, 0, 12, 19))])
def test_streaming_equals_offline(activation, shifts):
    torch.manual_seed(0)
    model = randomised(TaskNet(small_config(output_activation=activation, harmonic_shifts=shifts)))
    x = torch.randn(2, 57, 48)
    with torch.no_grad():
        offline = model(x)
        states = model.initial_state(2)
        parts, pos = [], 0
        for n in [1, 5, 2, 13, 1, 20, 15]:
            y, *states = model(x[:, pos:pos + n], *states)
            parts.append(y)
            pos += n
    assert pos == 57
    np.testing.assert_allclose(torch.cat(parts, 1).numpy(), offline.numpy(), atol=1e-5, rtol=1e-5)
    if activation == "softmax":
        np.testing.assert_allclose(offline.sum(-1).numpy(), 1.0, atol=1e-5)


def test_network_is_causal():
    torch.manual_seed(0)
    model = randomised(TaskNet(small_config()))
    x = torch.randn(1, 40, 48)
    x2 = x.clone()
    x2[:, 25:] = torch.randn(1, 15, 48)
    with torch.no_grad():
        a, b = model(x), model(x2)
    assert torch.equal(a[:, :25], b[:, :25])
    assert not torch.allclose(a[:, 25:], b[:, 25:])


def test_receptive_field_matches_config():
    cfg = small_config()
    assert cfg.receptive_field_frames == 1 + (2 + 1) + (2 * 2 + 2 * 4)
    torch.manual_seed(0)
    model = randomised(TaskNet(cfg))
    x = torch.randn(1, 60, 48)
    x2 = x.clone()
    x2[:, 10] += 5.0
    with torch.no_grad():
        diff = (model(x) - model(x2)).abs().sum(-1)[0]
    changed = torch.nonzero(diff > 1e-6).flatten()
    assert changed.min().item() == 10
    assert changed.max().item() == 10 + cfg.receptive_field_frames - 1


def test_state_shapes_follow_widths():
    model = TaskNet(small_config())
    shapes = model.state_shapes(batch=3)
    assert shapes == [(3, 1, 2, 48), (3, 4, 1, 24), (3, 16, 4), (3, 12, 8)]


def test_harmonic_stack_lines_up_shifted_bins():
    cfg = small_config(harmonic_shifts=(0, 12, -12, 19))
    model = TaskNet(cfg)
    x = torch.arange(2 * 3 * 48, dtype=torch.float32).reshape(2, 3, 48) + 1.0
    stacked = model.stack(x)
    assert stacked.shape == (2, 4, 3, 48)
    assert torch.equal(stacked[:, 0], x)
    # channel c, bin f = input bin f + shift, zero where that bin does not exist
    assert torch.equal(stacked[:, 1, :, :36], x[..., 12:]) and not stacked[:, 1, :, 36:].any()
    assert torch.equal(stacked[:, 2, :, 12:], x[..., :36]) and not stacked[:, 2, :, :12].any()
    assert torch.equal(stacked[:, 3, :, :29], x[..., 19:]) and not stacked[:, 3, :, 29:].any()
    assert model.state_shapes(batch=1)[0] == (1, 4, 2, 48)
    assert model.input_norm.num_features == 4 and model.conv2d[0].conv.in_channels == 4
    assert macs_per_frame(cfg) == macs_per_frame(small_config()) + 48 * 4 * 3 * 3 * 5
    assert cfg.input_channels == 4 and small_config().input_channels == 1


def test_default_sizes_are_in_the_intended_range():
    cfg = NetConfig(task="pitch", n_outputs=361)
    model = TaskNet(cfg)
    params = count_parameters(model)
    assert 100_000 <= params <= 1_500_000
    assert macs_per_frame(cfg) > params // 2


def test_bad_configs_are_refused():
    with pytest.raises(ConfigError, match="same length"):
        small_config(temporal_kernel=(1, 3))
    with pytest.raises(ConfigError, match="odd"):
        small_config(conv2d_kernel_freq=(4, 3))
    with pytest.raises(ConfigError, match="at least one unit"):
        small_config(temporal_channels=(16, 0, 10))
    with pytest.raises(ConfigError, match="harmonic_shifts"):
        small_config(harmonic_shifts=(0, 12, 12))
    with pytest.raises(ConfigError, match="harmonic_shifts"):
        small_config(harmonic_shifts=(0, 48))


def test_config_round_trips_through_dict():
    for cfg in (small_config(), small_config(harmonic_shifts=(-12, 0, 12))):
        assert NetConfig.from_dict(cfg.to_dict()) == cfg
