import numpy as np
import pytest

torch = pytest.importorskip("torch")

from models.frontend import FrontEnd  # noqa: E402
from models.training.frontend_torch import TorchFrontEnd  # noqa: E402


@pytest.mark.parametrize("n_samples", [16000, 16001, 15999, 700])
def test_torch_frontend_matches_numpy(n_samples):
    rng = np.random.default_rng(n_samples)
    t = np.arange(n_samples) / 16000
    audio = 0.3 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(n_samples)
    ref = FrontEnd().compute(audio)
    got = TorchFrontEnd()(torch.from_numpy(audio[None]).float())[0].numpy()
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=2e-4, rtol=1e-4)
