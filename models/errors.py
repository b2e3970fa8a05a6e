"""One exception root for Featherlight, with a subclass per concern.

Every message names the bad value (a path, a number, a label) and says how to fix it.
The CLI turns any :class:`FeatherlightError` into one line on stderr and a non-zero exit;
the GUI shows it in one dialog.
"""

from __future__ import annotations


class FeatherlightError(Exception):
    """Root of every error Featherlight raises on purpose."""


# --- audio -----------------------------------------------------------------------------------------
class AudioError(FeatherlightError):
    """An audio file could not be used."""


class AudioFileNotFoundError(AudioError, FileNotFoundError):
    """The audio path does not exist or is not a file."""


class UnreadableAudioError(AudioError):
    """The file exists but no decoder could read it (corrupt, truncated, or not audio)."""


class EmptyAudioError(AudioError):
    """The file decodes to zero samples."""


class SilentAudioError(AudioError):
    """The file holds only digital silence (raised only where silence makes a task meaningless)."""


class NonFiniteAudioError(AudioError):
    """The decoded samples contain NaN or infinity."""


class AudioTooLongError(AudioError):
    """The file is longer than the caller's limit."""


class SampleRateError(AudioError):
    """A sample rate is missing, non-positive or unsupported."""


# --- annotations -----------------------------------------------------------------------------------
class AnnotationError(FeatherlightError):
    """An annotation file could not be read or written."""


class AnnotationFormatError(AnnotationError, ValueError):
    """An annotation file is malformed; the message names the file, the line and the problem."""


class UnknownAnnotationFormatError(AnnotationError):
    """The file extension does not match any annotation format Featherlight reads."""


class OverwriteError(FeatherlightError, FileExistsError):
    """Refusing to overwrite a file the user made; pass overwrite=True (or --overwrite) to replace it."""


# --- datasets, corpus, evaluation ------------------------------------------------------------------
class DatasetError(FeatherlightError):
    """A dataset folder has problems; ``problems`` lists every one of them."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class CorpusError(FeatherlightError):
    """Rendering the training corpus failed (missing source data, soundfont or synthesiser)."""


class EvaluationError(FeatherlightError):
    """Scoring could not run (no matching files, unknown task, empty reference)."""


class MissingDependencyError(FeatherlightError):
    """An optional package or system program is not installed; the message says how to install it."""


class ConfigError(FeatherlightError, ValueError):
    """A configuration value is out of range or inconsistent."""
