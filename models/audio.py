"""Reading and writing audio files: one place that turns any user file into float32 samples.

Decoding goes through libsndfile (``soundfile``: WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF); formats it
cannot read (m4a, aac, wma, webm) go through the ``ffmpeg`` program when it is installed, streaming
raw float32 samples through a pipe. Resampling uses soxr's high-quality streaming resampler, block by
block, so a long file never sits in memory at its original rate.

Every problem a user can cause becomes one exception from :mod:`models.errors` whose message names the
file and says what to do.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from models.errors import (
    AudioError,
    AudioFileNotFoundError,
    AudioTooLongError,
    EmptyAudioError,
    NonFiniteAudioError,
    SampleRateError,
    SilentAudioError,
    UnreadableAudioError,
)
from models.fileio import atomic_path

__all__ = [
    "AUDIO_EXTENSIONS",
    "FFMPEG_EXTENSIONS",
    "SNDFILE_EXTENSIONS",
    "AudioInfo",
    "audio_info",
    "load_audio",
    "write_audio",
]

log = logging.getLogger(__name__)

#: Extensions libsndfile decodes itself.
SNDFILE_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".opus"}
)
#: Extensions only ffmpeg decodes (offered only when ffmpeg and ffprobe are on PATH).
FFMPEG_EXTENSIONS: frozenset[str] = frozenset({".m4a", ".aac", ".wma", ".webm"})


def _ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


#: Every extension :func:`load_audio` accepts on this machine (lower case, with the dot).
AUDIO_EXTENSIONS: frozenset[str] = SNDFILE_EXTENSIONS | (FFMPEG_EXTENSIONS if _ffmpeg_available() else frozenset())

_BLOCK_FRAMES = 1 << 17  # ~3 s at 44.1 kHz per decoded block
_WRITE_FORMATS: dict[str, str] = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
_DEFAULT_MAX_DURATION_S = 6 * 3600.0


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says about it."""

    path: Path
    sample_rate_hz: int
    channels: int
    frames: int
    duration_s: float
    format: str  # e.g. "WAV", "FLAC", "MP3", or "ffmpeg:aac"


# --- header ----------------------------------------------------------------------------------------
def _check_path(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise AudioFileNotFoundError(f"audio file not found: {p}; check the path and the spelling")
    if p.is_dir():
        raise AudioFileNotFoundError(
            f"expected an audio file but {p} is a folder; pass one file (or use a dataset command for folders)"
        )
    return p


def _unreadable(path: Path, reason: str) -> UnreadableAudioError:
    ext = path.suffix.lower()
    if ext in FFMPEG_EXTENSIONS and not _ffmpeg_available():
        fix = f"install ffmpeg (it decodes {ext} files), or convert the file to WAV or FLAC"
    else:
        fix = "check that it is a complete audio file, or convert it to WAV or FLAC"
    return UnreadableAudioError(f"cannot read audio file {path}: {reason}; {fix}")


def _sndfile_info(path: Path) -> AudioInfo:
    if path.stat().st_size == 0:
        raise _unreadable(path, "the file is empty (0 bytes)")
    try:
        with sf.SoundFile(str(path)) as f:
            rate, channels, frames, fmt = int(f.samplerate), int(f.channels), int(f.frames), str(f.format)
    except (sf.SoundFileError, RuntimeError, TypeError, ValueError) as exc:
        raise _unreadable(path, f"libsndfile says: {exc}") from exc
    if rate <= 0:
        raise _unreadable(path, f"the header gives sample rate {rate} Hz")
    return AudioInfo(path, rate, channels, frames, frames / rate, fmt)


def _ffprobe_info(path: Path) -> AudioInfo:
    cmd = ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
           "stream=sample_rate,channels,codec_name,duration:format=duration", "-of", "json", str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _unreadable(path, f"ffprobe failed: {exc}") from exc
    if proc.returncode != 0:
        raise _unreadable(path, f"ffprobe says: {proc.stderr.strip() or 'exit ' + str(proc.returncode)}")
    try:
        data = json.loads(proc.stdout or "{}")
        streams = data.get("streams") or []
        if not streams:
            raise _unreadable(path, "ffprobe found no audio stream")
        stream = streams[0]
        rate = int(stream["sample_rate"])
        channels = int(stream["channels"])
        duration = stream.get("duration") or (data.get("format") or {}).get("duration") or 0.0
        duration_s = float(duration)
    except (KeyError, TypeError, ValueError) as exc:
        raise _unreadable(path, f"ffprobe output could not be parsed ({exc})") from exc
    if rate <= 0 or channels <= 0:
        raise _unreadable(path, f"ffprobe reports {rate} Hz and {channels} channels")
    frames = int(round(duration_s * rate))
    return AudioInfo(path, rate, channels, frames, duration_s, f"ffmpeg:{stream.get('codec_name', '?')}")


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Read only the header of ``path``: sample rate, channels, length. Fast; decodes nothing.

    Raises :class:`AudioFileNotFoundError` or :class:`UnreadableAudioError`.
    """
    p = _check_path(path)
    try:
        return _sndfile_info(p)
    except UnreadableAudioError as first:
        if p.stat().st_size == 0 or not _ffmpeg_available():
            raise
        try:
            return _ffprobe_info(p)
        except UnreadableAudioError:
            raise first from None


# --- decoding --------------------------------------------------------------------------------------
_TRUNCATED_RE = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def _warn_if_truncated(path: Path, f: sf.SoundFile) -> None:
    """libsndfile shortens a cut-off WAV/AIFF data chunk silently; its log says so, and so do we."""
    try:
        extra = f.extra_info
    except (sf.SoundFileError, RuntimeError, AttributeError):
        return
    match = _TRUNCATED_RE.search(extra or "")
    if match and int(match.group(2)) < int(match.group(1)):
        declared, present = int(match.group(1)), int(match.group(2))
        log.warning("%s: the data chunk should hold %d bytes but only %d are present (truncated file?); "
                    "using the %.3f s that are there", path, declared, present, f.frames / f.samplerate)


def _sndfile_blocks(info: AudioInfo) -> Iterator[np.ndarray]:
    """Yield (frames, channels) float32 blocks; warns when the data ends before the header says."""
    read = 0
    try:
        with sf.SoundFile(str(info.path)) as f:
            _warn_if_truncated(info.path, f)
            while True:
                block = f.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    break
                read += block.shape[0]
                yield block
    except (sf.SoundFileError, RuntimeError) as exc:
        if read == 0:
            raise _unreadable(info.path, f"libsndfile says: {exc}") from exc
        log.warning("%s: decoding stopped after %.3f s (%s); using what was read",
                    info.path, read / info.sample_rate_hz, exc)
        return
    if info.frames > 0 and read < info.frames and info.format in ("WAV", "WAVEX", "RF64", "W64", "AIFF"):
        log.warning("%s: the header announces %.3f s but only %.3f s of samples are present "
                    "(truncated file?); using what is there",
                    info.path, info.frames / info.sample_rate_hz, read / info.sample_rate_hz)


def _ffmpeg_blocks(info: AudioInfo) -> Iterator[np.ndarray]:
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(info.path), "-vn", "-f", "f32le",
           "-acodec", "pcm_f32le", "-ac", str(info.channels), "-ar", str(info.sample_rate_hz), "pipe:1"]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise _unreadable(info.path, f"could not start ffmpeg: {exc}") from exc
    frame_bytes = 4 * info.channels
    leftover = b""
    try:
        assert proc.stdout is not None
        while True:
            chunk = proc.stdout.read(_BLOCK_FRAMES * frame_bytes)
            if not chunk:
                break
            chunk = leftover + chunk
            usable = len(chunk) - len(chunk) % frame_bytes
            leftover = chunk[usable:]
            if usable:
                yield np.frombuffer(chunk[:usable], dtype="<f4").reshape(-1, info.channels)
    finally:
        if proc.stdout is not None:
            proc.stdout.close()
        stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr is not None else ""
        if proc.stderr is not None:
            proc.stderr.close()
        code = proc.wait()
    if code != 0:
        raise _unreadable(info.path, f"ffmpeg says: {stderr.strip() or 'exit ' + str(code)}")


def _open_blocks(info: AudioInfo) -> Iterator[np.ndarray]:
    if info.format.startswith("ffmpeg:"):
        return _ffmpeg_blocks(info)
    return _sndfile_blocks(info)


class _Growable:
    """A float32 (channels, n) buffer filled left to right, grown geometrically if the estimate was short."""

    def __init__(self, channels: int, estimate: int) -> None:
        self._buf = np.empty((channels, max(estimate, 1)), dtype=np.float32)
        self.size = 0

    def append(self, block: np.ndarray) -> None:  # block: (n, channels)
        n = block.shape[0]
        if self.size + n > self._buf.shape[1]:
            grown = np.empty((self._buf.shape[0], max(2 * self._buf.shape[1], self.size + n)), np.float32)
            grown[:, : self.size] = self._buf[:, : self.size]
            self._buf = grown
        self._buf[:, self.size : self.size + n] = block.T
        self.size += n

    def result(self) -> np.ndarray:
        return self._buf[:, : self.size]


def _check_rate(sample_rate_hz: object, message: str) -> int:
    """The rate as an int; integral floats (16000.0) are accepted, anything else is a SampleRateError."""
    ok = (
        isinstance(sample_rate_hz, (int, float, np.integer, np.floating))
        and not isinstance(sample_rate_hz, bool)
        and math.isfinite(sample_rate_hz)
        and sample_rate_hz > 0
        and float(sample_rate_hz) == int(sample_rate_hz)
    )
    if not ok:
        raise SampleRateError(f"{message}, got {sample_rate_hz!r}")
    return int(sample_rate_hz)


def load_audio(
    path: str | os.PathLike,
    sample_rate_hz: int = 16000,
    *,
    mono: bool = True,
    max_duration_s: float | None = _DEFAULT_MAX_DURATION_S,
    allow_silent: bool = True,
) -> np.ndarray:
    """Decode ``path`` to float32 samples at ``sample_rate_hz``.

    Returns a 1-D array when ``mono`` (the mean of the channels), otherwise ``(channels, samples)``.
    The length is checked from the header before anything is decoded; decoding and resampling run in
    blocks so memory stays proportional to the output.

    Raises (all from :mod:`models.errors`): :class:`SampleRateError` (``sample_rate_hz <= 0``),
    :class:`AudioFileNotFoundError`, :class:`UnreadableAudioError`, :class:`EmptyAudioError`,
    :class:`AudioTooLongError`, :class:`NonFiniteAudioError`, :class:`SilentAudioError` (only when
    ``allow_silent`` is false).
    """
    out_rate = _check_rate(sample_rate_hz, "sample_rate_hz must be a positive whole number of samples per second")
    info = audio_info(path)
    if max_duration_s is not None and info.duration_s > max_duration_s:
        raise AudioTooLongError(
            f"{info.path} lasts {info.duration_s:.1f} s, longer than the limit of {max_duration_s:.1f} s; "
            "split the file into shorter pieces (e.g. with sox or ffmpeg) or raise the limit"
        )
    if info.frames == 0 and not info.format.startswith("ffmpeg:"):
        raise EmptyAudioError(f"{info.path} holds no samples (0 frames); record or export it again")

    out_channels = 1 if mono else info.channels
    estimate = int(math.ceil(info.frames * out_rate / info.sample_rate_hz)) + 64
    out = _Growable(out_channels, estimate)
    resampler = None
    if info.sample_rate_hz != out_rate:
        resampler = soxr.ResampleStream(info.sample_rate_hz, out_rate, out_channels, dtype="float32", quality="HQ")

    frames_read = 0
    nonfinite_count = 0
    first_nonfinite_s: float | None = None
    peak = 0.0
    limit_frames = None if max_duration_s is None else int(max_duration_s * info.sample_rate_hz) + 1
    for block in _open_blocks(info):
        bad = ~np.isfinite(block)
        if bad.any():
            bad_frames = bad.any(axis=1)
            if first_nonfinite_s is None:
                first_nonfinite_s = (frames_read + int(np.argmax(bad_frames))) / info.sample_rate_hz
            nonfinite_count += int(bad.sum())
        frames_read += block.shape[0]
        if limit_frames is not None and frames_read > limit_frames:  # header lied (ffmpeg estimates)
            raise AudioTooLongError(
                f"{info.path} lasts more than the limit of {max_duration_s:.1f} s; "
                "split the file into shorter pieces (e.g. with sox or ffmpeg) or raise the limit"
            )
        if nonfinite_count:
            continue  # keep counting, stop producing
        peak = max(peak, float(np.max(np.abs(block))) if block.size else 0.0)
        if mono:
            block = block.mean(axis=1, keepdims=True, dtype=np.float32) if block.shape[1] > 1 else block
        if resampler is not None:
            block = resampler.resample_chunk(np.ascontiguousarray(block), last=False)
            block = block.reshape(-1, out_channels)
        out.append(block)

    if nonfinite_count:
        raise NonFiniteAudioError(
            f"{info.path} contains {nonfinite_count} NaN or infinite sample value(s), the first at "
            f"{first_nonfinite_s:.3f} s; re-export the file with a finite (e.g. 16-bit PCM) encoding"
        )
    if frames_read == 0:
        raise EmptyAudioError(f"{info.path} holds no samples (0 frames); record or export it again")
    if resampler is not None:
        tail = resampler.resample_chunk(np.zeros((0, out_channels), dtype=np.float32), last=True)
        out.append(tail.reshape(-1, out_channels))
    if peak == 0.0 and not allow_silent:
        raise SilentAudioError(
            f"{info.path} is digital silence (every sample is 0); check the recording level or the input"
        )
    samples = out.result()
    if out.size == 0:
        raise EmptyAudioError(
            f"{info.path} is too short to yield a single sample at {out_rate} Hz; use a longer file"
        )
    return np.ascontiguousarray(samples[0] if mono else samples)


# --- writing ---------------------------------------------------------------------------------------
def write_audio(
    path: str | os.PathLike,
    samples: np.ndarray,
    sample_rate_hz: int,
    *,
    overwrite: bool = False,
    subtype: str | None = None,
) -> Path:
    """Write ``samples`` (1-D mono, or ``(channels, samples)`` as :func:`load_audio` returns) atomically.

    The format comes from the extension: ``.wav`` (default float32 for float input, 16-bit PCM for
    integer input), ``.flac`` (16-bit) or ``.ogg`` (Vorbis). ``subtype`` overrides libsndfile's
    subtype (e.g. ``"PCM_24"``). Refuses to replace an existing file unless ``overwrite=True``.
    """
    target = Path(path)
    ext = target.suffix.lower()
    if ext not in _WRITE_FORMATS:
        raise AudioError(
            f"cannot write audio to {target}: unsupported extension {ext or '(none)'!r}; "
            f"use one of {', '.join(sorted(_WRITE_FORMATS))}"
        )
    rate = _check_rate(sample_rate_hz, f"cannot write {target}: sample_rate_hz must be a positive whole number")
    data = np.asarray(samples)
    if data.ndim == 1:
        frames_first = data[:, None]
    elif data.ndim == 2:
        frames_first = data.T
    else:
        raise AudioError(f"cannot write {target}: samples must be 1-D or (channels, samples), got shape {data.shape}")
    if frames_first.shape[0] == 0:
        raise EmptyAudioError(f"refusing to write {target}: there are no samples")
    if np.issubdtype(data.dtype, np.floating):
        bad = ~np.isfinite(frames_first)
        if bad.any():
            raise NonFiniteAudioError(
                f"refusing to write {target}: {int(bad.sum())} NaN or infinite sample value(s); clean the signal first"
            )
    fmt = _WRITE_FORMATS[ext]
    if subtype is None:
        if fmt == "WAV":
            subtype = "FLOAT" if np.issubdtype(data.dtype, np.floating) else "PCM_16"
        elif fmt == "FLAC":
            subtype = "PCM_16"
        else:
            subtype = "VORBIS"
    with atomic_path(target, overwrite=overwrite) as tmp:
        try:
            sf.write(str(tmp), frames_first, rate, format=fmt, subtype=subtype)
        except (sf.SoundFileError, RuntimeError, ValueError, TypeError) as exc:
            raise AudioError(f"cannot write {target} as {fmt}/{subtype}: {exc}; try another subtype or format") from exc
    return target
