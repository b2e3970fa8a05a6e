"""The per-task model selector: one row per task with every model the catalog found, plus "off".

Each row shows the chosen model's parameter count, file size and the latency its card states, and the
time per hop measured on this machine. Measuring takes a fraction of a second per model, so it runs in
a private :class:`QThreadPool` (one thread: measurements never compete with each other) and the row
says "measuring..." until the result arrives; results are cached by the catalog per file version.

Models that cannot be used (a broken card, an unreadable graph) are listed greyed out, with the reason
as tooltip. The panel holds no analysis state: the window listens to ``choiceChanged(dict)`` (``{task:
option key}``, tasks set to off left out), saves :meth:`ModelPanel.choice` and restores it with
:meth:`ModelPanel.set_choice`. It is a plain QWidget, suitable as a QDockWidget's widget.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QVBoxLayout, QWidget

from desktop_app.live.model_choice import ModelCatalog, ModelOption
from models.annotations.types import TASKS
from models.errors import ConfigError

__all__ = ["OFF", "ModelPanel", "option_text"]

log = logging.getLogger(__name__)

#: The combo entry (and ``set_choice`` value) that turns a task off.
OFF = "off"
MEASURING_TEXT = "measuring..."
TASK_TITLES = {"pitch": "Pitch", "chords": "Chords", "drums": "Drums", "onsets": "Onsets"}


def option_origin(option: ModelOption) -> str:
    """``"bundled, dense"`` / ``"bundled, trimmed (3 rounds)"`` / ``"user"`` / ``"user, trimmed ..."``."""
    card = option.card
    rounds = len(card.pruning_history) if card is not None else 0
    if rounds:
        return f"{option.origin}, trimmed ({rounds} round{'s' if rounds != 1 else ''})"
    if option.origin == "bundled":
        return "bundled, dense"
    return option.origin


def option_text(option: ModelOption) -> str:
    """The combo text of an option: its name and where it comes from."""
    text = f"{option.name} ({option_origin(option)})"
    return text if option.usable else f"{text} - unusable"


def format_bytes(n_bytes: int | None) -> str:
    if n_bytes is None:
        return "?"
    if n_bytes < 1024 * 1024:
        return f"{n_bytes / 1024:.1f} KiB"
    return f"{n_bytes / (1024 * 1024):.2f} MiB"


def format_hop_time(time_per_hop_us: float, hop_s: float) -> str:
    """``"85 µs/hop (0.9% of real time)"``."""
    share = time_per_hop_us * 1e-6 / hop_s if hop_s > 0 else float("nan")
    return f"{time_per_hop_us:,.0f} µs/hop ({100 * share:.1f}% of real time)"


def _guess_task(option: ModelOption) -> str | None:
    """The task a model with an unreadable card is probably for (raw card field, then file name)."""
    try:
        raw = json.loads(option.path.with_suffix(".json").read_text(encoding="utf-8"))
        task = raw.get("task") if isinstance(raw, dict) else None
    except (OSError, ValueError):
        task = None
    if task in TASKS:
        return task
    return next((t for t in TASKS if option.name.lower().startswith(t)), None)


class _MeasureSignals(QObject):
    measured = Signal(str, str, float)  # task, key, microseconds per hop
    failed = Signal(str, str, str)  # task, key, message


class _MeasureJob(QRunnable):
    """Measures one model's time per hop in the pool thread; reports through queued signals."""

    def __init__(self, catalog: ModelCatalog, task: str, key: str, n_hops: int, signals: _MeasureSignals) -> None:
        super().__init__()
        self._catalog, self._task, self._key, self._n_hops, self._signals = catalog, task, key, n_hops, signals

    def run(self) -> None:
        try:
            value = self._catalog.time_per_hop_us(self._key, self._n_hops)
        except Exception as exc:  # noqa: BLE001 - shown in the row; the pool thread must not die
            log.warning("measuring %s failed: %s", self._key, exc)
            self._emit(self._signals.failed, self._task, self._key, f"{type(exc).__name__}: {exc}")
            return
        self._emit(self._signals.measured, self._task, self._key, float(value))

    @staticmethod
    def _emit(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the panel was destroyed while measuring
            log.debug("model panel gone before the measurement of %s arrived", args[1])


class _TaskRow:
    """The widgets of one task's row."""

    def __init__(self, task: str, parent: QWidget) -> None:
        self.task = task
        self.title = QLabel(TASK_TITLES.get(task, task), parent)
        self.combo = QComboBox(parent)
        self.combo.setObjectName(f"modelCombo_{task}")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.details = QLabel("", parent)
        self.details.setObjectName(f"modelDetails_{task}")
        self.hop = QLabel("", parent)
        self.hop.setObjectName(f"modelHop_{task}")


class ModelPanel(QWidget):
    """Per task a combo of the catalog's models (+ "off") and the chosen model's size and speed.

    ``choiceChanged(dict)`` is emitted whenever :meth:`choice` changes: the user picked another entry,
    :meth:`set_choice` restored a different choice, or :meth:`refresh` had to replace a model that is
    gone. ``n_hops``: hops streamed per time measurement.
    """

    choiceChanged = Signal(dict)
    #: (task, key, microseconds per hop) each time a measurement arrives (tests, status displays).
    hopTimeMeasured = Signal(str, str, float)

    def __init__(self, catalog: ModelCatalog, parent: QWidget | None = None, *, n_hops: int = 200) -> None:
        super().__init__(parent)
        if n_hops < 1:
            raise ConfigError(f"n_hops must be at least 1, got {n_hops}; use about 200 for a stable figure")
        self.catalog = catalog
        self.n_hops = n_hops
        self.thread_pool = QThreadPool(self)
        self.thread_pool.setMaxThreadCount(1)
        self._signals = _MeasureSignals(self)
        self._signals.measured.connect(self._on_measured)
        self._signals.failed.connect(self._on_measure_failed)
        self._pending: set[str] = set()
        self._failed: dict[str, str] = {}
        self._choice: dict[str, str] = {}
        self._filling = False

        self.warning_label = QLabel("", self)
        self.warning_label.setObjectName("modelWarning")
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet("QLabel { background: #fff4d6; padding: 4px; border: 1px solid #e0c080; }")
        self.warning_label.setVisible(False)
        grid = QGridLayout()
        grid.setColumnStretch(2, 1)
        self.rows: dict[str, _TaskRow] = {}
        for row_index, task in enumerate(TASKS):
            row = _TaskRow(task, self)
            grid.addWidget(row.title, 2 * row_index, 0)
            grid.addWidget(row.combo, 2 * row_index, 1, 1, 2)
            grid.addWidget(row.details, 2 * row_index + 1, 1)
            grid.addWidget(row.hop, 2 * row_index + 1, 2)
            row.combo.currentIndexChanged.connect(lambda _index, task=task: self._on_combo_changed(task))
            self.rows[task] = row
        layout = QVBoxLayout(self)
        layout.addWidget(self.warning_label)
        layout.addLayout(grid)
        layout.addStretch(1)
        self._fill_combos()
        self._apply(self.catalog.default_choice(), warnings=[], emit=False)

    # --- public API ------------------------------------------------------------------------------------
    def choice(self) -> dict[str, str]:
        """``{task: option key}`` of the tasks not set to off, in task order."""
        return dict(self._choice)

    def combo(self, task: str) -> QComboBox:
        return self._row(task).combo

    def set_choice(self, choice: Mapping[str, str]) -> dict[str, str]:
        """Select ``choice`` (``{task: key}``; a missing task or ``"off"`` means off) and return what is in effect.

        A key the catalog does not know, or one that is unusable or belongs to another task, falls back
        to the catalog's default for that task (off when it has none) and the panel shows a warning
        naming the key. ``choiceChanged`` is emitted when the result differs from the current choice.
        """
        unknown_tasks = [task for task in choice if task not in TASKS]
        warnings = [f"ignored unknown task {task!r} (expected one of {', '.join(TASKS)})" for task in unknown_tasks]
        wanted = {task: key for task, key in choice.items() if task in TASKS and key and key != OFF}
        return self._apply(wanted, warnings, emit=True)

    def refresh(self) -> dict[str, str]:
        """Re-read the catalog's options (call after ``catalog.refresh()``); keeps the choice where possible."""
        self._fill_combos()
        return self._apply(dict(self._choice), warnings=[], emit=True)

    @property
    def warning_text(self) -> str:
        return self.warning_label.text() if self.warning_label.isVisibleTo(self) else ""

    def hop_text(self, task: str) -> str:
        return self._row(task).hop.text()

    def details_text(self, task: str) -> str:
        return self._row(task).details.text()

    def wait_for_measurements(self, timeout_ms: int = 30000) -> bool:
        """Block until queued measurements ran (tests, shutdown); their results still arrive queued."""
        return self.thread_pool.waitForDone(timeout_ms)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Drop queued measurements and wait for the running one (call before the window closes)."""
        self.thread_pool.clear()
        self.thread_pool.waitForDone(timeout_ms)

    # --- building the rows ---------------------------------------------------------------------------
    def _row(self, task: str) -> _TaskRow:
        if task not in self.rows:
            raise ConfigError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
        return self.rows[task]

    def _fill_combos(self) -> None:
        self._filling = True
        try:
            for task, row in self.rows.items():
                combo = row.combo
                combo.clear()
                for option in self._options_for(task):
                    combo.addItem(option_text(option), option.key)
                    index = combo.count() - 1
                    if option.usable:
                        combo.setItemData(index, option.describe(), Qt.ItemDataRole.ToolTipRole)
                    else:
                        combo.setItemData(index, f"Cannot be used: {option.problem}", Qt.ItemDataRole.ToolTipRole)
                        item = combo.model().item(index)
                        item.setEnabled(False)
                combo.addItem("off", OFF)
                combo.setItemData(combo.count() - 1, f"no {task} analysis", Qt.ItemDataRole.ToolTipRole)
        finally:
            self._filling = False

    def _options_for(self, task: str) -> list[ModelOption]:
        """The catalog's options for ``task``, plus unusable models whose card names no readable task.

        A model whose card cannot be parsed has ``task=None``; it goes in the row its card's raw
        ``"task"`` field names, else the row its file name starts with, else every row, so the user
        always sees it with the reason.
        """
        listed = list(self.catalog.options(task))
        for option in self.catalog.unusable():
            if option.task is None and _guess_task(option) in (task, None):
                listed.append(option)
        return listed

    def _usable_option(self, task: str, key: str) -> tuple[ModelOption | None, str | None]:
        """(the option, None) when ``key`` is a usable ``task`` model, else (None, why not)."""
        matches = [o for o in self._options_for(task) if o.key == key] or \
                  [o for o in self._options_for(task) if o.name == key]
        if not matches:
            others = [o for o in self.catalog.all_options() if key in (o.key, o.name)]
            if others and others[0].task is not None:
                return None, f"{key!r} is a {others[0].task} model, not a {task} model"
            return None, f"no {task} model {key!r} in the model folders"
        option = matches[0]
        if not option.usable:
            return None, f"{option.key} cannot be used ({option.problem})"
        return option, None

    def _apply(self, wanted: Mapping[str, str], warnings: list[str], *, emit: bool) -> dict[str, str]:
        defaults = self.catalog.default_choice()
        effective: dict[str, str] = {}
        for task in TASKS:
            key = wanted.get(task)
            if key is None:
                continue
            option, problem = self._usable_option(task, key)
            if option is not None:
                effective[task] = option.key
                continue
            fallback = defaults.get(task)
            if fallback is not None:
                effective[task] = fallback
                warnings.append(f"{task}: {problem}; using {fallback} instead")
            else:
                warnings.append(f"{task}: {problem}; {task} is off (no usable {task} model)")
        for message in warnings:
            log.warning("model choice: %s", message)
        self._show_warnings(warnings)
        previous = self._choice
        self._choice = effective
        self._filling = True
        try:
            for task, row in self.rows.items():
                index = row.combo.findData(effective.get(task, OFF))
                row.combo.setCurrentIndex(index)
        finally:
            self._filling = False
        for task in TASKS:
            self._show_details(task)
        if emit and effective != previous:
            self.choiceChanged.emit(dict(effective))
        return dict(effective)

    def _show_warnings(self, warnings: list[str]) -> None:
        if warnings:
            self.warning_label.setText("\n".join(warnings))
            self.warning_label.setVisible(True)
        else:
            self.warning_label.clear()
            self.warning_label.setVisible(False)

    def _show_details(self, task: str) -> None:
        row = self.rows[task]
        key = self._choice.get(task)
        if key is None:
            row.details.setText("off" if self.catalog.options(task) else "no model found")
            row.details.setToolTip("")
            row.hop.setText("")
            row.hop.setToolTip("")
            return
        option = self.catalog.find(key)
        row.details.setText(f"{option.n_parameters:,} params, {format_bytes(option.file_bytes)}, "
                            f"latency {option.latency_ms:.0f} ms")
        card = option.card
        history = f"{len(card.pruning_history)} trimming round(s)" if card and card.pruning_history else "dense"
        training = card.training.get("data", "?") if card and isinstance(card.training, dict) else "?"
        row.details.setToolTip(f"{option.path}\n{history}; trained on: {training}")
        hop_s = card.hop_s if card is not None else 0.01
        cached = self.catalog.cached_time_per_hop_us(key)
        if cached is not None:
            row.hop.setText(format_hop_time(cached, hop_s))
            row.hop.setToolTip(f"measured on this machine, mean of {self.n_hops} hops streamed one at a time")
        elif key in self._failed:
            row.hop.setText("not measured")
            row.hop.setToolTip(self._failed[key])
        else:
            row.hop.setText(MEASURING_TEXT)
            row.hop.setToolTip("")
            self._measure(task, key)

    def _measure(self, task: str, key: str) -> None:
        if key in self._pending:
            return
        self._pending.add(key)
        self.thread_pool.start(_MeasureJob(self.catalog, task, key, self.n_hops, self._signals))

    # --- slots ------------------------------------------------------------------------------------------
    def _on_combo_changed(self, task: str) -> None:
        if self._filling:
            return
        key = self.rows[task].combo.currentData()
        choice = dict(self._choice)
        if key is None or key == OFF:
            choice.pop(task, None)
        else:
            choice[task] = key
        self._show_warnings([])
        if choice != self._choice:
            self._choice = {t: choice[t] for t in TASKS if t in choice}
            self._show_details(task)
            self.choiceChanged.emit(dict(self._choice))

    @Slot(str, str, float)
    def _on_measured(self, task: str, key: str, time_per_hop_us: float) -> None:
        self._pending.discard(key)
        self._failed.pop(key, None)
        for row_task, chosen in self._choice.items():
            if chosen == key:
                self._show_details(row_task)
        self.hopTimeMeasured.emit(task, key, time_per_hop_us)

    @Slot(str, str, str)
    def _on_measure_failed(self, task: str, key: str, message: str) -> None:
        self._pending.discard(key)
        self._failed[key] = message
        for row_task, chosen in self._choice.items():
            if chosen == key:
                self._show_details(row_task)
