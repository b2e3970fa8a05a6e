"""Run an exported task model with onnxruntime on the CPU (numpy + onnxruntime only; never torch).

The ONNX graph takes ``features`` (1, T, n_bins) float32 with a dynamic T plus the streaming states
``state_in_0 .. state_in_{k-1}`` and returns ``probs`` (1, T, n_outputs) followed by ``state_out_0 ..``
in the same order. :class:`OnnxTaskModel` hides the batch axis and the state plumbing:

- streaming: ``state = model.initial_state()``, then ``probs, state = model.run(block, state)`` for
  blocks of any size (0 included), and ``model.flush(state)`` at the end of the stream. Row ``j`` of the
  concatenated outputs describes frame ``j - lookahead_frames``;
- offline: ``model.run_offline(features)`` returns rows aligned with the input frames (row ``i``
  describes frame ``i``): it feeds ``lookahead_frames`` zero frames at the end and drops the first
  ``lookahead_frames`` rows. It equals the streaming result with the same alignment. A model with
  anticipation (``lookahead_frames = -a < 0``, see :mod:`models.training.nets`) gets ``a`` zero rows in
  front instead and loses the ``a`` rows that describe frames past the end.

Model discovery: :func:`find_bundled_models` (the package's ``resources/models``) and
:func:`user_model_dir` (where the user's own exported or pruned models live).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np

from models.annotations.types import TASKS
from models.errors import ConfigError, MissingDependencyError
from models.runtime.card import ModelCard, load_card

log = logging.getLogger(__name__)

FEATURES_INPUT = "features"
PROBS_OUTPUT = "probs"

__all__ = [
    "OnnxTaskModel",
    "find_bundled_models",
    "find_models",
    "state_input_name",
    "state_output_name",
    "user_model_dir",
]


def state_input_name(i: int) -> str:
    return f"state_in_{i}"


def state_output_name(i: int) -> str:
    return f"state_out_{i}"


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:  # pragma: no cover - it is a hard dependency
        raise MissingDependencyError("onnxruntime is not installed; run: pip install onnxruntime") from None
    return onnxruntime


class OnnxTaskModel:
    """One task model: an onnxruntime session plus its :class:`ModelCard`.

    ``intra_op_threads`` is onnxruntime's intra-op thread count (1 suits the live path: a model per
    10 ms hop is far too small to gain from more threads).
    """

    def __init__(self, onnx_path: str | os.PathLike, *, card: ModelCard | None = None, intra_op_threads: int = 1) -> None:
        self.path = Path(onnx_path)
        if not self.path.is_file():
            raise ConfigError(f"model file {self.path} not found; check the path, or export a model with "
                              "featherlight export RUN_DIR")
        if card is None:
            card_path = self.path.with_suffix(".json")
            if not card_path.is_file():
                raise ConfigError(f"model {self.path} has no model card {card_path.name} beside it; copy the card "
                                  "that came with the model, or re-export it with featherlight export")
            card = load_card(card_path)
        if intra_op_threads < 1:
            raise ConfigError(f"intra_op_threads must be >= 1, got {intra_op_threads}")
        self._card = card
        ort = _import_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(intra_op_threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        try:
            self._session = ort.InferenceSession(str(self.path), sess_options=options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own classes (InvalidGraph, Fail, ...)
            raise ConfigError(f"model file {self.path} is not a usable ONNX model ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''}); re-export it") from None
        self._state_names = [state_input_name(i) for i in range(len(card.state_shapes))]
        self._output_names = [PROBS_OUTPUT] + [state_output_name(i) for i in range(len(card.state_shapes))]
        self._check_graph()
        self._zero_states = [np.zeros(s, dtype=np.float32) for s in card.state_shapes]

    def _check_graph(self) -> None:
        card = self._card
        fix = "the .onnx and its .json card do not belong together; re-export both with featherlight export"
        inputs = self._session.get_inputs()
        outputs = self._session.get_outputs()
        in_names = [i.name for i in inputs]
        out_names = [o.name for o in outputs]
        expected_in = [FEATURES_INPUT] + self._state_names
        if in_names != expected_in:
            raise ConfigError(f"model {self.path}: graph inputs are {in_names}, the card expects {expected_in}; {fix}")
        if out_names != self._output_names:
            raise ConfigError(f"model {self.path}: graph outputs are {out_names}, the card expects "
                              f"{self._output_names}; {fix}")
        checks = [(inputs[0], (1, -1, card.n_bins))]
        checks += [(inp, tuple(s)) for inp, s in zip(inputs[1:], card.state_shapes)]
        checks += [(outputs[0], (1, -1, card.n_outputs))]
        checks += [(out, tuple(s)) for out, s in zip(outputs[1:], card.state_shapes)]
        for node, expected in checks:
            declared = list(node.shape)
            wanted = tuple(e if e >= 0 else None for e in expected)
            ok = len(declared) == len(wanted) and all(
                w is None or not isinstance(d, int) or d == w for d, w in zip(declared, wanted))
            if not ok:
                shown = ["T" if w is None else w for w in wanted]
                raise ConfigError(f"model {self.path}: {node.name!r} has shape {declared}, the card expects {shown}; {fix}")
            if node.type != "tensor(float)":
                raise ConfigError(f"model {self.path}: {node.name!r} is {node.type}, expected float32; {fix}")

    # --- properties ------------------------------------------------------------------------------
    @property
    def card(self) -> ModelCard:
        return self._card

    @property
    def task(self) -> str:
        return self._card.task

    @property
    def labels(self) -> tuple[str, ...]:
        return self._card.labels

    @property
    def n_outputs(self) -> int:
        return self._card.n_outputs

    @property
    def n_bins(self) -> int:
        return self._card.n_bins

    @property
    def lookahead_frames(self) -> int:
        return self._card.lookahead_frames

    def __repr__(self) -> str:
        return f"OnnxTaskModel({str(self.path)!r}, task={self.task!r}, n_outputs={self.n_outputs})"

    # --- running ---------------------------------------------------------------------------------
    def initial_state(self) -> list[np.ndarray]:
        """Zero states (fresh arrays each call), in the graph's order."""
        return [z.copy() for z in self._zero_states]

    def _check_features(self, features: np.ndarray) -> np.ndarray:
        features = np.asarray(features)
        if features.ndim != 2 or features.shape[1] != self.n_bins:
            raise ConfigError(f"features must have shape (frames, {self.n_bins}) for model {self.path.name}, "
                              f"got {features.shape}; compute them with the model's front-end (card.frontend)")
        return np.ascontiguousarray(features, dtype=np.float32)

    def run(self, features: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """One block: ``features`` (T, n_bins) -> ``(probs (T, n_outputs) float32, new state)``.

        T may be 0 (returns an empty block and the state unchanged, without calling onnxruntime).
        """
        features = self._check_features(features)
        if len(state) != len(self._state_names):
            raise ConfigError(f"model {self.path.name} takes {len(self._state_names)} state arrays, got {len(state)}; "
                              "start from initial_state() and feed back what run() returns")
        if features.shape[0] == 0:
            return np.zeros((0, self.n_outputs), dtype=np.float32), list(state)
        feed = {FEATURES_INPUT: features[None]}
        for name, value in zip(self._state_names, state):
            feed[name] = value
        probs, *new_state = self._session.run(self._output_names, feed)
        return probs[0], new_state

    def flush(self, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """End of stream: the last ``lookahead_frames`` rows, released by feeding silent (zero) frames
        (none for a model with anticipation)."""
        return self.run(np.zeros((max(self.lookahead_frames, 0), self.n_bins), dtype=np.float32), state)

    def run_offline(self, features: np.ndarray) -> np.ndarray:
        """A whole file: probs (T, n_outputs) where row ``i`` describes frame ``i``."""
        features = self._check_features(features)
        if features.shape[0] == 0:
            return np.zeros((0, self.n_outputs), dtype=np.float32)
        n, lookahead = features.shape[0], self.lookahead_frames
        padded = np.concatenate([features, np.zeros((max(lookahead, 0), self.n_bins), dtype=np.float32)])
        probs, _ = self.run(padded, self.initial_state())
        if lookahead >= 0:
            return probs[lookahead:]
        return np.concatenate([np.zeros((-lookahead, self.n_outputs), dtype=np.float32), probs])[:n]

    def time_per_hop_us(self, n_hops: int = 200, *, block_frames: int = 1, warmup: int = 20, seed: int = 0) -> float:
        """Mean wall-clock microseconds per hop when streaming ``block_frames`` frames per call.

        Random features, states fed back as in the live path; ``warmup`` calls are not counted.
        A measurement helper for benchmarks and the pruning report, not a test assertion.
        """
        if n_hops < 1 or block_frames < 1:
            raise ConfigError(f"n_hops and block_frames must be >= 1, got {n_hops}, {block_frames}")
        rng = np.random.default_rng(seed)
        n_calls = max(1, n_hops // block_frames)
        blocks = rng.random((warmup + n_calls, block_frames, self.n_bins), dtype=np.float32)
        state = self.initial_state()
        for block in blocks[:warmup]:
            _, state = self.run(block, state)
        start = time.perf_counter()
        for block in blocks[warmup:]:
            _, state = self.run(block, state)
        elapsed = time.perf_counter() - start
        return elapsed / (n_calls * block_frames) * 1e6


# --- model discovery -----------------------------------------------------------------------------
def user_model_dir() -> Path:
    """Where the user's own models live (not created here).

    ``$FEATHERLIGHT_MODEL_DIR`` when set; otherwise ``%LOCALAPPDATA%\\Featherlight\\models`` on Windows,
    ``~/Library/Application Support/Featherlight/models`` on macOS and
    ``${XDG_DATA_HOME:-~/.local/share}/featherlight/models`` elsewhere.
    """
    override = os.environ.get("FEATHERLIGHT_MODEL_DIR")
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA")
        return (Path(base) if base else home / "AppData" / "Local") / "Featherlight" / "models"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "Featherlight" / "models"
    base = os.environ.get("XDG_DATA_HOME")
    return (Path(base) if base else home / ".local" / "share") / "featherlight" / "models"


def find_models(folder: str | os.PathLike) -> dict[str, list[Path]]:
    """ONNX models with a valid card in ``folder`` (not recursive), by task: {task: [paths]}, each list with
    the model named after the task (``drums.onnx``) first, then the others by name.

    Every task is a key (possibly with an empty list). A model without a card or with an invalid one is
    skipped with a warning naming it.
    """
    found: dict[str, list[Path]] = {task: [] for task in TASKS}
    folder = Path(folder)
    if not folder.is_dir():
        return found
    for onnx_path in sorted(folder.glob("*.onnx")):
        try:
            card = load_card(onnx_path.with_suffix(".json"))
        except ConfigError as exc:
            log.warning("skipping model %s: %s", onnx_path, exc)
            continue
        found[card.task].append(onnx_path)
    for task, paths in found.items():  # the model named after its task first: the default of its folder
        paths.sort(key=lambda p, t=task: (p.stem != t, p.name))
    return found


def find_bundled_models() -> dict[str, list[Path]]:
    """The models shipped in the package's ``resources/models`` folder, by task."""
    try:
        root = resources.files("resources") / "models"
    except ModuleNotFoundError:
        log.warning("the resources package is not installed; no bundled models")
        return {task: [] for task in TASKS}
    if not isinstance(root, Path):  # a zip import: models must be real files for onnxruntime
        log.warning("bundled models inside %s are not plain files; install Featherlight unpacked", root)
        return {task: [] for task in TASKS}
    return find_models(root)
