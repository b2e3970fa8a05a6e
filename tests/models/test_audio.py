"""models.audio: decoding every supported format to 16 kHz mono, and a clear error for every bad input."""

from __future__ import annotations

import logging
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from models.audio import AUDIO_EXTENSIONS, FFMPEG_EXTENSIONS, AudioInfo, audio_info, load_audio, write_audio
from models.errors import (
    AudioError,
    AudioFileNotFoundError,
    AudioTooLongError,
    EmptyAudioError,
    NonFiniteAudioError,
    OverwriteError,
    SampleRateError,
    SilentAudioError,
    UnreadableAudioError,
)

SR_IN = 44100
DURATION_S = 1.0


def stereo_tone(freq_hz: float = 440.0, duration_s: float = DURATION_S, sr: int = SR_IN) -> np.ndarray:
    """(frames, 2): the tone at 0.5 left and 0.25 right (sound file layout)."""
    t = np.arange(int(duration_s * sr)) / sr
    tone = np.sin(2 * np.pi * freq_hz * t)
    return np.stack([0.5 * tone, 0.25 * tone], axis=1).astype(np.float32)


def peak_hz(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spectrum) * sr / x.size)


WRITE_KW = {
    "wav": {"subtype": "PCM_16"},
    "flac": {"subtype": "PCM_16"},
    "ogg": {"format": "OGG", "subtype": "VORBIS"},
    "mp3": {"format": "MP3", "subtype": "MPEG_LAYER_III"},
}


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_stereo_44k_tone_loads_as_16k_mono_with_peak_at_440(tmp_path, ext):
    if ext == "mp3" and "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write MP3")
    path = tmp_path / f"tone.{ext}"
    sf.write(path, stereo_tone(), SR_IN, **WRITE_KW[ext])

    info = audio_info(path)
    assert isinstance(info, AudioInfo)
    assert info.sample_rate_hz == SR_IN
    assert info.channels == 2
    if ext in ("wav", "flac"):
        assert info.frames == SR_IN
        assert info.duration_s == pytest.approx(1.0)

    y = load_audio(path)
    assert y.dtype == np.float32
    assert y.ndim == 1
    if ext in ("wav", "flac", "ogg"):
        assert y.size == 16000
    else:  # MP3 decoders may add up to a frame of padding
        assert abs(y.size - 16000) <= 1200
    assert peak_hz(y[: 16000 // 2 * 2], 16000) == pytest.approx(440.0, abs=2.0)
    # the mono mix is the mean of 0.5 and 0.25: peak amplitude 0.375
    assert float(np.max(np.abs(y[1000:-1000]))) == pytest.approx(0.375, abs=0.03)


def test_stereo_kept_when_mono_false_and_native_rate_untouched(tmp_path):
    path = tmp_path / "tone.wav"
    data = stereo_tone()
    sf.write(path, data, SR_IN, subtype="FLOAT")
    y = load_audio(path, SR_IN, mono=False)
    assert y.shape == (2, SR_IN)
    np.testing.assert_array_equal(y, data.T)


def test_long_file_is_resampled_in_blocks_like_one_shot_soxr(tmp_path):
    import soxr

    path = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    data = (0.1 * rng.standard_normal(SR_IN * 8)).astype(np.float32)  # longer than one decode block
    sf.write(path, data, SR_IN, subtype="FLOAT")
    y = load_audio(path, 16000)
    ref = soxr.resample(data, SR_IN, 16000, quality="HQ")
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, atol=1e-5)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_m4a_decodes_through_ffmpeg(tmp_path):
    wav = tmp_path / "tone.wav"
    sf.write(wav, stereo_tone(), SR_IN)
    m4a = tmp_path / "tone.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(wav), str(m4a)], check=True)
    assert ".m4a" in AUDIO_EXTENSIONS
    assert audio_info(m4a).format.startswith("ffmpeg:")
    y = load_audio(m4a)
    assert abs(y.size - 16000) <= 1600  # AAC priming samples
    assert peak_hz(y, 16000) == pytest.approx(440.0, abs=2.0)


def test_audio_extensions_are_lower_case_with_dot():
    assert {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".opus"} <= AUDIO_EXTENSIONS
    assert all(e.startswith(".") and e == e.lower() for e in AUDIO_EXTENSIONS)
    if shutil.which("ffmpeg") is None:
        assert not (FFMPEG_EXTENSIONS & AUDIO_EXTENSIONS)


# --- bad inputs ------------------------------------------------------------------------------------
def test_missing_path(tmp_path):
    with pytest.raises(AudioFileNotFoundError, match="not found") as err:
        load_audio(tmp_path / "nope.wav")
    assert "nope.wav" in str(err.value)
    assert isinstance(err.value, FileNotFoundError)


def test_directory(tmp_path):
    with pytest.raises(AudioFileNotFoundError, match="is a folder"):
        load_audio(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(UnreadableAudioError, match=r"empty \(0 bytes\)") as err:
        load_audio(path)
    assert "empty.wav" in str(err.value)
    assert "WAV or FLAC" in str(err.value)


def test_garbage_bytes_named_wav(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(b"this is not audio at all, just text" * 20)
    with pytest.raises(UnreadableAudioError) as err:
        load_audio(path)
    message = str(err.value)
    assert "garbage.wav" in message
    assert "says" in message  # the decoder's own words are passed on
    assert "convert it to WAV or FLAC" in message


def test_truncated_header(tmp_path):
    path = tmp_path / "head.wav"
    sf.write(path, stereo_tone(), SR_IN)
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(UnreadableAudioError, match="head.wav"):
        load_audio(path)


def test_truncated_data_chunk_loads_what_is_there_and_warns(tmp_path, caplog):
    path = tmp_path / "cut.wav"
    sf.write(path, stereo_tone(), SR_IN, subtype="PCM_16")
    raw = path.read_bytes()
    path.write_bytes(raw[: 44 + SR_IN * 4 // 2])  # header + half of the frames (2 ch x 2 bytes)
    with caplog.at_level(logging.WARNING, logger="models.audio"):
        y = load_audio(path, SR_IN)
    assert y.size == SR_IN // 2
    assert "truncated" in caplog.text


def test_zero_samples(tmp_path):
    path = tmp_path / "zero.wav"
    with sf.SoundFile(path, "w", samplerate=16000, channels=1, subtype="PCM_16"):
        pass
    with pytest.raises(EmptyAudioError, match="no samples"):
        load_audio(path)


def test_nan_samples_say_how_many_and_where(tmp_path):
    path = tmp_path / "nan.wav"
    data = np.zeros(16000, dtype=np.float32)
    data[8000] = np.nan
    data[8001] = np.inf
    data[12000] = np.nan
    sf.write(path, data, 16000, subtype="FLOAT")
    with pytest.raises(NonFiniteAudioError) as err:
        load_audio(path)
    message = str(err.value)
    assert "3 NaN or infinite" in message
    assert "0.500 s" in message
    assert "nan.wav" in message


def test_too_long(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, np.full(16000 * 3, 0.1, dtype=np.float32), 16000)
    with pytest.raises(AudioTooLongError) as err:
        load_audio(path, max_duration_s=2.0)
    message = str(err.value)
    assert "3.0 s" in message and "2.0 s" in message and "split" in message
    assert load_audio(path, max_duration_s=None).size == 16000 * 3


def test_silent_only_when_asked(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(1600, dtype=np.float32), 16000)
    assert np.all(load_audio(path) == 0)
    with pytest.raises(SilentAudioError, match="silence"):
        load_audio(path, allow_silent=False)


@pytest.mark.parametrize("rate", [0, -16000, 16000.5, float("nan"), True, None, "16000"])
def test_bad_sample_rate(tmp_path, rate):
    path = tmp_path / "ok.wav"
    sf.write(path, np.full(160, 0.1, dtype=np.float32), 16000)
    with pytest.raises(SampleRateError, match="sample_rate_hz"):
        load_audio(path, rate)


def test_integral_float_rate_is_accepted(tmp_path):
    path = tmp_path / "ok.wav"
    sf.write(path, np.full(1600, 0.1, dtype=np.float32), 16000)
    assert load_audio(path, 8000.0).size == 800


def test_every_audio_error_is_a_featherlight_audio_error():
    for cls in (AudioFileNotFoundError, UnreadableAudioError, EmptyAudioError, NonFiniteAudioError,
                AudioTooLongError, SilentAudioError, SampleRateError):
        assert issubclass(cls, AudioError)


def test_m4a_without_ffmpeg_says_install_ffmpeg(tmp_path, monkeypatch):
    import models.audio

    monkeypatch.setattr(models.audio, "_ffmpeg_available", lambda: False)
    path = tmp_path / "song.m4a"
    path.write_bytes(b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 100)
    with pytest.raises(UnreadableAudioError, match="install ffmpeg"):
        load_audio(path)


# --- writing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", ["wav", "flac", "ogg"])
def test_write_audio_round_trip_and_refuses_overwrite(tmp_path, ext):
    path = tmp_path / f"out.{ext}"
    x = stereo_tone(duration_s=0.5, sr=16000).T  # (channels, samples)
    assert write_audio(path, x, 16000) == path
    assert sf.info(path).format == {"wav": "WAV", "flac": "FLAC", "ogg": "OGG"}[ext]
    y = load_audio(path, 16000, mono=False)
    assert y.shape == x.shape
    if ext == "wav":
        np.testing.assert_array_equal(y, x)
    else:
        assert peak_hz(y[0], 16000) == pytest.approx(440.0, abs=2.0)
    with pytest.raises(OverwriteError, match="overwrite=True"):
        write_audio(path, x[0], 16000)
    write_audio(path, x[0], 16000, overwrite=True)
    assert sf.info(path).channels == 1
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp files left behind


def test_write_audio_rejects_bad_input(tmp_path):
    with pytest.raises(AudioError, match=r"\.mp4"):
        write_audio(tmp_path / "x.mp4", np.zeros(10, np.float32), 16000)
    with pytest.raises(NonFiniteAudioError, match="1 NaN"):
        write_audio(tmp_path / "x.wav", np.array([0.0, np.nan], np.float32), 16000)
    with pytest.raises(SampleRateError):
        write_audio(tmp_path / "x.wav", np.zeros(10, np.float32), 0)
    assert not list(tmp_path.iterdir())
