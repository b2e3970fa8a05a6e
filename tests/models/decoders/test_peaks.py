"""Peak picking, drum hits and onset times: known click trains, edge rules, streaming == offline."""

from __future__ import annotations

import numpy as np
import pytest

from models.annotations.types import DRUM_CLASSES, DrumHit
from models.decoders.peaks import (
    DrumOnlineDecoder,
    OnsetOnlineDecoder,
    Peak,
    PeakOnlineDecoder,
    PeakPickingConfig,
    activation_to_velocity,
    decode_drums,
    decode_onsets,
    pick_peak_events,
    pick_peaks,
)
from models.errors import ConfigError


def click_train(n_frames: int, frames: list[int], height: float = 1.0) -> np.ndarray:
    """A symmetric triangular bump (0.5, 1, 0.5) * height at each frame."""
    a = np.zeros(n_frames)
    for f in frames:
        a[f] = max(a[f], height)
        for side in (f - 1, f + 1):
            if 0 <= side < n_frames:
                a[side] = max(a[side], 0.5 * height)
    return a


def stream(decoder, frames: np.ndarray, rng: np.random.Generator, max_block: int) -> list:
    out, i = [], 0
    while i < len(frames):
        size = int(rng.integers(1, max_block + 1))
        out += decoder.process(frames[i : i + size])
        i += size
    return out + decoder.flush()


#: The picker that waits one hop after a peak (the default until 2026-11-25): a true local maximum,
#: refined to sub-frame time.
ONE_HOP = dict(post_max_frames=1, post_avg_frames=1, refine=True)


def test_click_train_gives_exact_frames():
    a = click_train(200, [10, 37, 90, 150])
    config = PeakPickingConfig(**ONE_HOP)
    assert config.delay_frames == 1
    assert pick_peaks(a, config).tolist() == [10, 37, 90, 150]
    assert np.allclose(decode_onsets(a, config), [0.10, 0.37, 0.90, 1.50], atol=1e-12)  # symmetric: no shift


def test_default_picker_decides_on_arrival():
    """Delay 0: a hit is the first frame that passes the threshold and rises above the frames before it."""
    assert PeakPickingConfig().delay_frames == 0
    a = click_train(200, [10, 37, 90, 150])  # bumps 0.5, 1, 0.5
    assert pick_peaks(a, PeakPickingConfig(threshold=0.6)).tolist() == [10, 37, 90, 150]
    assert pick_peaks(a).tolist() == [9, 36, 89, 149]  # 0.5 already passes the default threshold 0.5
    rising = np.zeros(60)
    rising[20:25] = [0.3, 0.7, 0.8, 0.9, 0.2]  # a rise over combine_frames frames gives one hit, on its way up
    assert pick_peaks(rising).tolist() == [21]
    longer = rising.copy()
    longer[24] = 1.0  # still rising combine_frames after the hit: a second hit (a limit of deciding at once)
    assert pick_peaks(longer).tolist() == [21, 24]
    decoder = OnsetOnlineDecoder(PeakPickingConfig())
    assert decoder.process(rising[:21]) == [] and decoder.process(rising[21:22]) == [0.21]


def test_threshold_and_local_mean_rules():
    a = click_train(100, [20]) + click_train(100, [60], 0.45)
    assert pick_peaks(a, PeakPickingConfig(**ONE_HOP)).tolist() == [20]  # 0.45 < threshold 0.5
    assert pick_peaks(a, PeakPickingConfig(threshold=0.45, **ONE_HOP)).tolist() == [20, 60]
    background = np.full(100, 0.8)
    background[50] = 0.82  # a maximum, but only 0.02 above its local mean
    # frame 0 rises from the zeros before t = 0; the rest of the plateau never rises again
    for timing in (ONE_HOP, {}):
        assert pick_peaks(background, PeakPickingConfig(delta=0.05, **timing)).tolist() == [0]
        assert pick_peaks(background, PeakPickingConfig(delta=0.0, **timing)).tolist() == [0, 50]


def test_combine_keeps_the_first_of_close_peaks():
    a = np.zeros(50)
    a[[10, 12, 14, 30]] = [0.9, 1.0, 0.95, 0.9]
    narrow = dict(pre_max_frames=1, post_max_frames=1)
    assert pick_peaks(a, PeakPickingConfig(combine_frames=0, **narrow)).tolist() == [10, 12, 14, 30]
    assert pick_peaks(a, PeakPickingConfig(combine_frames=3, **narrow)).tolist() == [10, 14, 30]
    assert pick_peaks(a, PeakPickingConfig(combine_frames=5, **narrow)).tolist() == [10, 30]


def test_a_plateau_peaks_on_its_first_frame():
    a = np.zeros(40)
    a[10:14] = 0.9
    assert pick_peaks(a, PeakPickingConfig(combine_frames=0)).tolist() == [10]


def test_parabolic_refinement():
    a = np.zeros(40)
    a[19], a[20], a[21] = 0.5, 1.0, 0.0
    [peak] = pick_peak_events(a, PeakPickingConfig(**ONE_HOP))
    assert peak.frame == 20
    assert peak.offset_frames == pytest.approx(-1.0 / 6.0, abs=1e-12)  # vertex of the parabola
    assert decode_onsets(a, PeakPickingConfig(**ONE_HOP))[0] == pytest.approx((20 - 1.0 / 6.0) / 100.0, abs=1e-12)
    assert decode_onsets(a, PeakPickingConfig(**{**ONE_HOP, "refine": False})).tolist() == [0.2]


def test_per_class_thresholds():
    a = np.stack([click_train(60, [10], 0.6), click_train(60, [30], 0.6), click_train(60, [50], 0.6)], axis=1)
    assert [p.tolist() for p in pick_peaks(a)] == [[10], [30], [50]]
    by_list = PeakPickingConfig(threshold=[0.5, 0.7, 0.5])
    assert [p.tolist() for p in pick_peaks(a, by_list)] == [[10], [], [50]]
    by_name = PeakPickingConfig(threshold={"snare": 0.7, "hihat": 0.65})
    hits = decode_drums(a, by_name)
    assert hits == (DrumHit(0.1, "kick", activation_to_velocity(0.6)),)
    by_index = PeakPickingConfig(threshold={0: 0.9})
    assert [p.tolist() for p in pick_peaks(a, by_index)] == [[], [30], [50]]


def test_threshold_errors_name_the_problem():
    a = np.zeros((10, 3))
    with pytest.raises(ConfigError, match="'cowbell'.*kick, snare, hihat"):
        decode_drums(a, PeakPickingConfig(threshold={"cowbell": 0.3}))
    with pytest.raises(ConfigError, match="2 thresholds given for 3 classes"):
        pick_peaks(a, PeakPickingConfig(threshold=(0.3, 0.4)))
    with pytest.raises(ConfigError, match="combine_frames"):
        PeakPickingConfig(combine_frames=-1)
    with pytest.raises(ConfigError, match="7 classes"):
        decode_drums(np.zeros((10, 7)))


def test_drum_hits_follow_class_order_and_velocity():
    a = np.zeros((80, 3))
    a[:, 0] = click_train(80, [10, 50])
    a[:, 2] = click_train(80, [10], 0.6)
    a[:, 1] = click_train(80, [30], 0.8)
    hits = decode_drums(a, PeakPickingConfig(post_max_frames=1, post_avg_frames=1))
    assert hits == (
        DrumHit(0.1, "kick", 127), DrumHit(0.1, "hihat", 76), DrumHit(0.3, "snare", 102), DrumHit(0.5, "kick", 127),
    )
    assert DRUM_CLASSES[:3] == ("kick", "snare", "hihat")
    assert activation_to_velocity(0.0) == 1 and activation_to_velocity(1.5) == 127


def random_activations(rng: np.random.Generator, n: int, classes: int) -> np.ndarray:
    a = rng.random((n, classes)) ** 4
    a[rng.random((n, classes)) < 0.05] = 0.9  # some plateaus of equal values
    return a


@pytest.mark.parametrize("seed", range(6))
def test_streaming_equals_offline_peaks(seed):
    rng = np.random.default_rng(seed)
    config = PeakPickingConfig(
        threshold=0.3,
        delta=float(rng.choice([0.0, 0.05])),
        pre_max_frames=int(rng.integers(0, 5)),
        post_max_frames=int(rng.integers(0, 4)),
        pre_avg_frames=int(rng.integers(0, 12)),
        post_avg_frames=int(rng.integers(0, 4)),
        combine_frames=int(rng.integers(0, 5)),
        refine=bool(seed % 2),
    )
    a = random_activations(rng, 400, 3)
    offline = pick_peak_events(a, config)
    assert len(offline) > 10
    for max_block in (1, 7, 64, 1000):
        assert stream(PeakOnlineDecoder(config), a, rng, max_block) == offline


def test_streaming_equals_offline_drums_and_onsets():
    rng = np.random.default_rng(11)
    a = random_activations(rng, 500, 6)
    config = PeakPickingConfig(threshold=(0.3, 0.4, 0.3, 0.5, 0.3, 0.3))
    offline = decode_drums(a, config)
    assert {h.drum for h in offline} == set(DRUM_CLASSES)
    assert tuple(stream(DrumOnlineDecoder(config), a, rng, 5)) == offline
    onset = a[:, 0]
    assert stream(OnsetOnlineDecoder(), onset, rng, 1) == decode_onsets(onset).tolist()
    assert stream(OnsetOnlineDecoder(), onset[:, None], rng, 9) == decode_onsets(onset).tolist()


def test_online_delay_is_bounded_and_flush_starts_over():
    rng = np.random.default_rng(3)
    a = random_activations(rng, 300, 2)
    config = PeakPickingConfig(threshold=0.3, post_max_frames=1, post_avg_frames=4)
    decoder = PeakOnlineDecoder(config)
    assert decoder.delay_frames == 4
    seen: list[Peak] = []
    for i in range(len(a)):
        for peak in decoder.process(a[i : i + 1]):
            assert peak.frame + decoder.delay_frames == i  # returned exactly when its last needed frame came
            seen.append(peak)
    seen += decoder.flush()
    assert seen == pick_peak_events(a, config)
    assert stream(decoder, a, rng, 3) == seen  # flush left it ready for a new stream
    with pytest.raises(ConfigError, match="3 outputs per frame but the decoder expects 2"):
        decoder.process(a[:5])
        decoder.process(np.zeros((2, 3)))


def test_empty_input():
    assert pick_peaks(np.zeros(0)).tolist() == []
    assert decode_drums(np.zeros((0, 3))) == ()
    assert OnsetOnlineDecoder().flush() == []
