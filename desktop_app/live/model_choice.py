"""Which models the user can pick per task, and an analyser built from the picks (no Qt, no torch).

:class:`ModelCatalog` lists, per task, the bundled models (``resources/models``) and the user's own
(:func:`models.runtime.onnx_model.user_model_dir`): name, path, parameter count, file size and the
latency the card states. Every model is opened once while listing, so a broken one (no card, a bad
card, an unreadable or mismatched graph) is listed as unusable with the reason instead of breaking
the others. The measured time per hop is taken lazily on first request and cached per file version.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from models.annotations.types import TASKS
from models.errors import ConfigError, FeatherlightError
from models.runtime.analyzer import Analyzer
from models.runtime.card import ModelCard, load_card
from models.runtime.onnx_model import OnnxTaskModel, user_model_dir

__all__ = ["ModelCatalog", "ModelOption", "bundled_model_dir"]

log = logging.getLogger(__name__)

BUNDLED = "bundled"
USER = "user"


def bundled_model_dir() -> Path | None:
    """The package's ``resources/models`` folder, or None when it is not installed as plain files."""
    try:
        root = resources.files("resources") / "models"
    except ModuleNotFoundError:
        return None
    return root if isinstance(root, Path) else None


@dataclass(frozen=True)
class ModelOption:
    """One selectable model. ``usable`` False: ``problem`` says why and how to fix it."""

    origin: str  # "bundled" or "user"
    name: str
    path: Path
    task: str | None  # None when the card could not be read
    usable: bool
    problem: str | None = None
    n_parameters: int | None = None
    file_bytes: int | None = None
    latency_ms: float | None = None  # from the card
    card: ModelCard | None = None

    @property
    def key(self) -> str:
        """Stable identifier for settings: ``"bundled:<name>"`` or ``"user:<name>"``."""
        return f"{self.origin}:{self.name}"

    def describe(self) -> str:
        if not self.usable:
            return f"{self.name} ({self.origin}): unusable - {self.problem}"
        size_kb = (self.file_bytes or 0) / 1024
        return (f"{self.name} ({self.origin}): {self.n_parameters:,} parameters, {size_kb:.1f} KiB, "
                f"latency {self.latency_ms:.0f} ms")


class ModelCatalog:
    """Bundled and user models per task (see the module docstring).

    ``bundled_dir`` / ``user_dir``: folders to scan (defaults: :func:`bundled_model_dir` and
    :func:`user_model_dir`; pass ``None`` explicitly via ``scan_bundled=False`` to leave one out).
    """

    def __init__(self, *, bundled_dir: str | os.PathLike | None = None, user_dir: str | os.PathLike | None = None,
                 scan_bundled: bool = True, scan_user: bool = True, intra_op_threads: int = 1) -> None:
        self._folders: list[tuple[str, Path]] = []
        if scan_bundled:
            folder = Path(bundled_dir) if bundled_dir is not None else bundled_model_dir()
            if folder is not None:
                self._folders.append((BUNDLED, folder))
        if scan_user:
            self._folders.append((USER, Path(user_dir) if user_dir is not None else user_model_dir()))
        self._intra_op_threads = intra_op_threads
        self._options: list[ModelOption] = []
        self._loaded: dict[str, OnnxTaskModel] = {}
        self._hop_us: dict[tuple[str, int, int], float] = {}
        self.refresh()

    # --- listing -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Scan the folders again (a model added, replaced or removed since)."""
        options, loaded = [], {}
        for origin, folder in self._folders:
            if not folder.is_dir():
                continue
            for onnx_path in sorted(folder.glob("*.onnx")):
                option, model = self._inspect(origin, onnx_path)
                options.append(option)
                if model is not None:
                    loaded[option.key] = model
        self._options, self._loaded = options, loaded

    def _inspect(self, origin: str, onnx_path: Path) -> tuple[ModelOption, OnnxTaskModel | None]:
        name = onnx_path.stem
        card_path = onnx_path.with_suffix(".json")
        if not card_path.is_file():
            problem = (f"no model card {card_path.name} beside {onnx_path}; copy the card that came with the model "
                       "or re-export it with featherlight export")
            log.warning("model %s: %s", onnx_path, problem)
            return ModelOption(origin, name, onnx_path, None, False, problem), None
        try:
            card = load_card(card_path)
        except FeatherlightError as exc:
            log.warning("model %s: %s", onnx_path, exc)
            return ModelOption(origin, name, onnx_path, None, False, str(exc)), None
        details = dict(task=card.task, n_parameters=int(card.n_parameters), file_bytes=onnx_path.stat().st_size,
                       latency_ms=float(card.latency_ms), card=card)
        try:
            model = OnnxTaskModel(onnx_path, card=card, intra_op_threads=self._intra_op_threads)
        except FeatherlightError as exc:
            log.warning("model %s: %s", onnx_path, exc)
            return ModelOption(origin, name, onnx_path, usable=False, problem=str(exc), **details), None
        return ModelOption(origin, name, onnx_path, usable=True, **details), model

    def options(self, task: str) -> list[ModelOption]:
        """Every model found for ``task`` (bundled first, then the user's), usable or not."""
        self._check_task(task)
        return [o for o in self._options if o.task == task]

    def unusable(self) -> list[ModelOption]:
        """Models that cannot be used (including those whose task is unknown because the card is broken)."""
        return [o for o in self._options if not o.usable]

    def all_options(self) -> list[ModelOption]:
        return list(self._options)

    def find(self, key: str) -> ModelOption:
        """The option with ``key`` (``"bundled:name"``/``"user:name"``) or a plain name."""
        matches = [o for o in self._options if o.key == key] or [o for o in self._options if o.name == key]
        if not matches:
            known = ", ".join(o.key for o in self._options) or "none"
            raise ConfigError(f"no model {key!r} in the bundled or user model folders (found: {known}); pick one "
                              f"of those or copy the .onnx and its .json card into {self.user_dir}")
        return matches[0]

    @property
    def user_dir(self) -> Path | None:
        return next((folder for origin, folder in self._folders if origin == USER), None)

    def default_choice(self) -> dict[str, str]:
        """Per task with a usable model, ``{task: key}``: the bundled model named after the task
        (``drums``; other bundled ones, e.g. ``drums-live``, are alternatives), else the first usable one
        (bundled before user)."""
        choice = {}
        for task in TASKS:
            usable = [o for o in self.options(task) if o.usable]
            if usable:
                named = [o for o in usable if o.origin == BUNDLED and o.name == task]
                choice[task] = (named or usable)[0].key
        return choice

    # --- loading -----------------------------------------------------------------------------------
    def load(self, key: str) -> OnnxTaskModel:
        """The ready onnxruntime model for ``key``; a clear error when it is unusable."""
        option = self.find(key)
        if not option.usable:
            raise ConfigError(f"model {option.key} cannot be used: {option.problem}")
        return self._loaded[option.key]

    def build_analyzer(self, choice: Mapping[str, str], *, whole_file: bool = False) -> Analyzer:
        """An analyser over ``{task: key}`` (a fresh one each call: analysers hold stream state);
        ``whole_file`` for a file (chords decoded again over the whole file at its end, as
        ``featherlight analyze`` does), not for a live stream."""
        models = {}
        for task, key in choice.items():
            self._check_task(task)
            model = self.load(key)
            if model.task != task:
                raise ConfigError(f"model {key} is a {model.task} model but was chosen for {task}; pick a {task} model")
            models[task] = model
        return Analyzer(models, whole_file=whole_file)

    def time_per_hop_us(self, key: str, n_hops: int = 200) -> float:
        """Measured mean wall time per 10 ms hop (microseconds), streaming one frame per call; cached.

        Takes a fraction of a second the first time: call it off the GUI thread.
        """
        option = self.find(key)
        model = self.load(key)
        stat = option.path.stat()
        cache_key = (str(option.path), stat.st_mtime_ns, stat.st_size)
        if cache_key not in self._hop_us:
            self._hop_us[cache_key] = float(model.time_per_hop_us(n_hops))
        return self._hop_us[cache_key]

    def cached_time_per_hop_us(self, key: str) -> float | None:
        """The measured time per hop when already measured, else None (never measures)."""
        option = self.find(key)
        stat = option.path.stat()
        return self._hop_us.get((str(option.path), stat.st_mtime_ns, stat.st_size))

    @staticmethod
    def _check_task(task: str) -> None:
        if task not in TASKS:
            raise ConfigError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
