"""Chord decoding from noisy posteriors of a known chord sequence: Viterbi, online rule, tiling."""

from __future__ import annotations

import numpy as np
import pytest

from models.annotations.types import ChordSegment
from models.decoders.chords import (
    ChordDecoderConfig,
    ChordOnlineDecoder,
    ChordViterbiDecoder,
    decode_offline_streamable,
    decode_viterbi,
    segments_from_frames,
)
from models.decoders.vocabulary import ChordVocabulary
from models.errors import ConfigError

FULL = ChordVocabulary()
MAJMIN = ChordVocabulary.majmin()
SEQUENCE = [(80, "C:maj"), (120, "A:min"), (60, "F:maj7"), (100, "G:7"), (40, "N"), (90, "D:hdim7")]


def true_frames(vocabulary: ChordVocabulary, sequence=SEQUENCE) -> np.ndarray:
    return np.concatenate([np.full(n, vocabulary.label_to_index(label)) for n, label in sequence])


def noisy_posteriors(classes: np.ndarray, n_classes: int, rng: np.random.Generator,
                     flicker_every: int = 0, noise: float = 1.2) -> np.ndarray:
    """Softmax of a logit 3 for the true class plus Gaussian noise; optional one-frame flickers."""
    logits = rng.normal(0.0, noise, size=(classes.size, n_classes))
    logits[np.arange(classes.size), classes] += 3.0
    if flicker_every:
        for i in range(flicker_every // 2, classes.size, flicker_every):
            logits[i, (classes[i] + 5) % n_classes] += 8.0  # a confident wrong frame
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def assert_tiles(segments, n_frames: int, rate_hz: float = 100.0) -> None:
    assert segments[0].start_s == 0.0
    assert segments[-1].end_s == pytest.approx(n_frames / rate_hz)
    for a, b in zip(segments, segments[1:]):
        assert a.end_s == b.start_s
        assert a.label != b.label
    assert all(s.end_s > s.start_s for s in segments)


def boundaries(sequence=SEQUENCE) -> list[int]:
    return np.cumsum([n for n, _ in sequence])[:-1].tolist()


@pytest.mark.parametrize("vocabulary", [FULL, MAJMIN], ids=["full", "majmin"])
def test_viterbi_recovers_the_sequence(vocabulary):
    rng = np.random.default_rng(0)
    classes = true_frames(vocabulary)
    post = noisy_posteriors(classes, vocabulary.n_classes, rng, flicker_every=17)
    framewise = segments_from_frames(np.argmax(post, axis=1), vocabulary, 100.0)
    assert len(framewise) > 40  # argmax alone is a mess
    segments = decode_viterbi(post, vocabulary)
    expected = [vocabulary.reduce_label(label) for _, label in SEQUENCE]
    assert [s.label for s in segments] == expected
    found = [round(s.start_s * 100) for s in segments[1:]]
    assert np.abs(np.array(found) - np.array(boundaries())).max() <= 2
    assert_tiles(segments, classes.size)


def test_single_frame_flickers_are_removed_online():
    rng = np.random.default_rng(1)
    classes = true_frames(FULL)
    post = noisy_posteriors(classes, FULL.n_classes, rng, flicker_every=13, noise=0.5)
    segments = decode_offline_streamable(post, FULL)
    assert [s.label for s in segments] == [label for _, label in SEQUENCE]
    # the acceptance run starts where the filtered argmax changed: a few frames of filter lag at most
    found = np.array([round(s.start_s * 100) for s in segments[1:]])
    assert np.all(found >= np.array(boundaries())) and np.all(found - np.array(boundaries()) <= 6)
    assert_tiles(segments, classes.size)


@pytest.mark.parametrize("seed", range(4))
def test_streaming_equals_offline_replay(seed):
    rng = np.random.default_rng(seed)
    sequence = [(int(rng.integers(1, 60)), MAJMIN.labels[int(rng.integers(0, 25))]) for _ in range(30)]
    classes = true_frames(MAJMIN, sequence)
    post = noisy_posteriors(classes, MAJMIN.n_classes, rng, noise=2.0)
    config = ChordDecoderConfig(min_frames=int(rng.integers(1, 12)), self_transition_prob=0.9)
    offline = decode_offline_streamable(post, MAJMIN, config)
    assert len(offline) > 5
    assert_tiles(offline, classes.size)
    for max_block in (1, 8, 200):
        decoder = ChordOnlineDecoder(MAJMIN, config)
        out, i = [], 0
        while i < classes.size:
            size = int(rng.integers(1, max_block + 1))
            out += decoder.process(post[i : i + size])
            i += size
        assert tuple(out + decoder.flush()) == offline


def test_delay_and_current_chord():
    rng = np.random.default_rng(4)
    classes = true_frames(FULL)
    post = noisy_posteriors(classes, FULL.n_classes, rng, noise=0.5)
    decoder = ChordOnlineDecoder(FULL, ChordDecoderConfig(min_frames=5))
    assert decoder.delay_frames == 5 and decoder.current_chord() is None
    readouts = []
    for i in range(classes.size):
        for segment in decoder.process(post[i : i + 1]):
            last_frame = round(segment.end_s * 100) - 1
            assert i - last_frame <= decoder.delay_frames
        readouts.append(decoder.current_chord())
    assert readouts[3] is None and readouts[10] == "C:maj" and readouts[150] == "A:min"
    assert decoder.filtered_posteriors().sum() == pytest.approx(1.0)
    tail = decoder.flush()
    assert tail == [ChordSegment(tail[0].start_s, 4.9, "D:hdim7")]
    assert decoder.current_chord() is None  # flush started over


def test_short_and_empty_inputs():
    post = np.zeros((3, 25))
    post[:, 9] = 1.0
    assert decode_offline_streamable(post, MAJMIN) == (ChordSegment(0.0, 0.03, "A:maj"),)  # never accepted
    assert decode_viterbi(post, MAJMIN) == (ChordSegment(0.0, 0.03, "A:maj"),)
    assert decode_viterbi(np.zeros((0, 25)), MAJMIN) == ()
    assert decode_offline_streamable(np.zeros((0, 25)), MAJMIN) == ()


def test_errors_name_the_problem():
    with pytest.raises(ConfigError, match="133 outputs per frame but the decoder expects 25"):
        decode_viterbi(np.zeros((4, 133)), MAJMIN)
    with pytest.raises(ConfigError, match="self_transition_prob"):
        ChordDecoderConfig(self_transition_prob=1.0)
    with pytest.raises(ConfigError, match="min_frames"):
        ChordDecoderConfig(min_frames=0)


def reference_viterbi_path(post: np.ndarray, stay: float) -> np.ndarray:
    """Textbook Viterbi with the full transition matrix (O(K^2) a frame): the check on the fast one."""
    n, k = post.shape
    trans = np.full((k, k), (1.0 - stay) / (k - 1))
    np.fill_diagonal(trans, stay)
    log_trans, log_emit = np.log(trans), np.log(post + 1e-12)
    delta = log_emit[0] - np.log(k)
    back = np.zeros((n, k), dtype=np.int64)
    for t in range(1, n):
        scores = delta[:, None] + log_trans  # (from, to)
        back[t] = np.argmax(scores, axis=0)
        delta = scores[back[t], np.arange(k)] + log_emit[t]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(np.argmax(delta))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


@pytest.mark.parametrize("stay", [0.9, 0.99, 0.999])
def test_viterbi_equals_the_textbook_algorithm(stay):
    rng = np.random.default_rng(3)
    classes = true_frames(MAJMIN)
    post = noisy_posteriors(classes, MAJMIN.n_classes, rng, flicker_every=23, noise=2.0)
    expected = segments_from_frames(reference_viterbi_path(post, stay), MAJMIN, 100.0)
    assert decode_viterbi(post, MAJMIN, ChordDecoderConfig(self_transition_prob=stay)) == expected


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_viterbi_fed_in_blocks_equals_the_whole_file(seed):
    rng = np.random.default_rng(seed)
    classes = true_frames(FULL)
    post = noisy_posteriors(classes, FULL.n_classes, rng, flicker_every=11, noise=1.8)
    whole = decode_viterbi(post, FULL)
    decoder = ChordViterbiDecoder(FULL)
    cuts = np.sort(rng.choice(np.arange(1, classes.size), size=25, replace=False))
    for block in np.split(post, cuts):
        decoder.process(block)
        decoder.process(block[:0])  # empty blocks change nothing
    assert decoder.frames == classes.size
    assert decoder.flush() == whole
    assert decoder.frames == 0 and decoder.flush() == ()  # flush starts over
    decoder.process(post[:1])
    assert decoder.flush() == (ChordSegment(0.0, 0.01, FULL.index_to_label(int(np.argmax(post[0])))),)


def test_viterbi_decoder_refuses_posteriors_of_another_vocabulary():
    with pytest.raises(ConfigError):
        ChordViterbiDecoder(FULL).process(np.zeros((4, MAJMIN.n_classes)))


def test_compiled_kernels_match_the_numpy_forms():
    """The chord Viterbi's forward pass and the online filter run compiled (numba): the same floats,
    back-pointers and argmaxes as their numpy forms, ties (lowest class wins) and one-class posteriors
    included."""
    from models.decoders import chords as C

    rng = np.random.default_rng(5)
    n, k = 150, 25
    for trial in range(4):
        post = rng.dirichlet(np.full(k, 0.3), size=n)
        if trial == 2:
            post = np.round(post, 1)  # coarse: exact ties between classes
        if trial == 3:
            post[40:60] = 0.0
            post[40:60, 7] = 1.0  # every other class at zero: only _TINY keeps them alive
        log_emit = np.log(post + C._TINY)
        outs = []
        for forward in (C._viterbi_forward_numpy, C._viterbi_forward):
            back = np.zeros((n, k), np.uint8)
            delta = forward(log_emit[0].copy(), log_emit, back, 1, np.log(0.9), np.log(0.1 / (k - 1)))
            outs.append((np.asarray(delta), back))
        assert np.array_equal(outs[0][0], outs[1][0]) and np.array_equal(outs[0][1], outs[1][1])
        filters = []
        for forward_filter in (C._forward_filter_numpy, C._forward_filter):
            alpha, best = forward_filter(post[:70], C._EMPTY, 0.95, 0.05 / (k - 1))
            alpha, best2 = forward_filter(post[70:], alpha, 0.95, 0.05 / (k - 1))
            filters.append((alpha, np.concatenate([best, best2])))
        assert np.array_equal(filters[0][0], filters[1][0]) and np.array_equal(filters[0][1], filters[1][1])
    assert C._viterbi_forward is not C._viterbi_forward_numpy  # numba is installed: the compiled form runs
