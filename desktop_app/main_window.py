"""The main window: live and file analysis on one time axis.

File mode: File > Open (or drop a file on the window) runs a :class:`FileAnalysisJob` in the background;
its batches go into the :class:`AnalysisStore` and a ~60 Hz timer draws what changed
(:meth:`TimelineView.refresh`). Live mode: the input device combo and Start/Stop run
:class:`AudioCapture` -> :class:`AnalysisWorker` -> store. The GUI thread is the only one touching the
store. Models come from :class:`ModelCatalog` (the default choice per task); tasks without a usable
model show "no model", and with no model at all the window says where to put one.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QComboBox, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar,
                               QPushButton, QToolBar, QVBoxLayout, QWidget)

from desktop_app import __version__
from desktop_app.live.model_choice import ModelCatalog
from desktop_app.live.store import AnalysisStore
from desktop_app.live.worker import AnalysisWorker, EventBatch, FileAnalysisJob, WorkerStats
from desktop_app.views.timeline import TimelineView
from desktop_app.views.tuner import TunerWidget
from models.annotations.types import DRUM_CLASSES, TASKS
from models.errors import FeatherlightError

__all__ = ["MainWindow", "run_app"]

log = logging.getLogger(__name__)

REDRAW_INTERVAL_MS = 16  # ~60 Hz
#: View menu layers: (store layer, menu text).
VIEW_LAYERS: tuple[tuple[str, str], ...] = (("f0", "Pitch curve"), ("notes", "Notes"), ("chords", "Chords"),
                                            ("drums", "Drums"), ("onsets", "Onsets"))


def _audio_extensions() -> frozenset[str]:
    from models.audio import AUDIO_EXTENSIONS

    return AUDIO_EXTENSIONS


def _default_capture():
    from desktop_app.audio.capture import AudioCapture

    return AudioCapture()


def _default_device_lister() -> list:
    from desktop_app.audio.devices import list_input_devices

    return list_input_devices()


class MainWindow(QMainWindow):
    """The analysis window. ``catalog``, ``device_lister`` (-> InputDevice list) and ``capture_factory``
    (-> an AudioCapture-like input: open/start/stop/close plus the AudioSource reading side) can be
    replaced (tests)."""

    def __init__(self, catalog: ModelCatalog | None = None,
                 device_lister: Callable[[], list] | None = None,
                 capture_factory: Callable[[], object] | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Featherlight")
        self.resize(1100, 720)
        self.setAcceptDrops(True)
        self.catalog = catalog if catalog is not None else ModelCatalog()
        self._device_lister = device_lister or _default_device_lister
        self._capture_factory = capture_factory or _default_capture
        self.store = AnalysisStore()
        self.file_job: FileAnalysisJob | None = None
        self.current_file: Path | None = None
        self.worker: AnalysisWorker | None = None
        self.capture = None
        self._live_session: int | None = None
        self._live_on = False
        self.choice: dict[str, str] = {}
        self.last_error: str | None = None

        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.banner = QLabel(central)
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setStyleSheet("QLabel { background: #fff4d6; padding: 8px; border: 1px solid #e0c080; }")
        self.banner.setVisible(False)
        layout.addWidget(self.banner)
        self.tuner = TunerWidget(central)
        layout.addWidget(self.tuner)
        self.timeline = TimelineView(central)
        layout.addWidget(self.timeline, 1)
        self.setCentralWidget(central)

        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        self.reload_models()
        self.refresh_devices()

        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_INTERVAL_MS)
        self.redraw_timer.timeout.connect(self.redraw)
        self.redraw_timer.start()
        self.statusBar().showMessage("Ready")

    # --- building ----------------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        bar = QToolBar("Input", self)
        bar.setObjectName("inputToolBar")
        self.addToolBar(bar)
        bar.addWidget(QLabel(" Input: ", bar))
        self.device_combo = QComboBox(bar)
        self.device_combo.setMinimumWidth(260)
        bar.addWidget(self.device_combo)
        self.start_button = QPushButton("Start", bar)
        self.start_button.setToolTip("Analyse the selected input live (Ctrl+R)")
        self.start_button.setShortcut(QKeySequence("Ctrl+R"))
        self.start_button.clicked.connect(self.toggle_live)
        bar.addWidget(self.start_button)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open...", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.choose_file)
        file_menu.addAction(self.open_action)
        self.rescan_models_action = QAction("Rescan &models", self)
        self.rescan_models_action.triggered.connect(self.reload_models)
        file_menu.addAction(self.rescan_models_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        view_menu = self.menuBar().addMenu("&View")
        self.layer_actions: dict[str, QAction] = {}
        for layer, text in VIEW_LAYERS:
            action = QAction(text, self)
            action.setCheckable(True)
            action.setChecked(True)
            action.toggled.connect(lambda checked, layer=layer: self.timeline.set_layer_visible(layer, checked))
            view_menu.addAction(action)
            self.layer_actions[layer] = action
        view_menu.addSeparator()
        self.follow_action = QAction("&Follow the present", self)
        self.follow_action.setCheckable(True)
        self.follow_action.setShortcut(QKeySequence("F"))
        self.follow_action.toggled.connect(self.timeline.set_following)
        self.timeline.followingChanged.connect(self._on_following_changed)
        view_menu.addAction(self.follow_action)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.progress_bar = QProgressBar(bar)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setMaximumWidth(200)
        self.progress_bar.setVisible(False)
        bar.addPermanentWidget(self.progress_bar)
        self.stats_label = QLabel("", bar)
        bar.addPermanentWidget(self.stats_label)

    # --- models ------------------------------------------------------------------------------------
    @Slot()
    def reload_models(self) -> None:
        """Scan the model folders again and take the default model per task."""
        self.catalog.refresh()
        self.choice = self.catalog.default_choice()
        tasks = tuple(t for t in TASKS if t in self.choice)
        self.timeline.set_models_present(tasks)
        if "drums" in self.choice:
            n = self.catalog.load(self.choice["drums"]).n_outputs
            self.timeline.drum_lanes.set_classes(DRUM_CLASSES[:n])
        if not tasks:
            folder = self.catalog.user_dir
            self.banner.setText(
                "<b>No analysis models found.</b> Nothing can be analysed until there is at least one. "
                f"Put ONNX models with their model cards (<code>name.onnx</code> + <code>name.json</code>) in "
                f"the user model folder <code>{folder}</code> (or set FEATHERLIGHT_MODEL_DIR), then choose "
                "File &gt; Rescan models.")
            self.banner.setVisible(True)
        else:
            missing = [t for t in TASKS if t not in tasks]
            if missing:
                self.banner.setText(f"No model for {', '.join(missing)}: those layers stay empty. Models go in "
                                    f"<code>{self.catalog.user_dir}</code>.")
                self.banner.setVisible(True)
            else:
                self.banner.setVisible(False)
        log.info("models chosen: %s", self.choice or "none")

    @property
    def analysed_tasks(self) -> tuple[str, ...]:
        return tuple(t for t in TASKS if t in self.choice)

    def _build_analyzer(self):
        if not self.choice:
            raise FeatherlightError(
                f"no analysis models found; put ONNX models with their cards in {self.catalog.user_dir} and choose "
                "File > Rescan models")
        return self.catalog.build_analyzer(self.choice)

    # --- errors ------------------------------------------------------------------------------------
    def show_error(self, title: str, message: str) -> None:
        """One message box per error; the message is logged too."""
        log.error("%s: %s", title, message)
        self.last_error = message
        self.statusBar().showMessage(f"{title}: {message}", 10000)
        QMessageBox.critical(self, title, message)

    # --- file mode ---------------------------------------------------------------------------------
    @Slot()
    def choose_file(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(_audio_extensions()))
        path, _ = QFileDialog.getOpenFileName(self, "Open audio file", "", f"Audio files ({patterns});;All files (*)")
        if path:
            self.open_file(path)

    def open_file(self, path: str | os.PathLike) -> bool:
        """Analyse a file in the background; False (and an error message) when it cannot start."""
        path = Path(path)
        if self.is_live:
            self.stop_live()
        self._cancel_file_job()
        try:
            if not path.is_file():
                raise FeatherlightError(f"cannot open {path}: no such file; pick an existing audio file")
            analyzer = self._build_analyzer()
        except FeatherlightError as exc:
            self.show_error("Cannot open file", str(exc))
            return False
        self.current_file = path
        self.store.clear(analyzer.tasks)
        self.timeline.set_live(False)
        self.timeline.reset(self.store)
        self.tuner.show_reading(None)
        self.tuner.show_chord(None)
        job = FileAnalysisJob(path, analyzer, parent=self)
        job.eventsReady.connect(self._on_file_events)
        job.progress.connect(self._on_file_progress)
        job.finished.connect(self._on_file_finished)
        job.failed.connect(self._on_file_failed)
        job.done.connect(self._on_file_done)
        self.file_job = job
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self.setWindowTitle(f"Featherlight - {path.name}")
        self.statusBar().showMessage(f"Analysing {path.name}...")
        job.start()
        return True

    def _cancel_file_job(self) -> None:
        job = self.file_job
        if job is not None and job.is_running:
            for signal in (job.eventsReady, job.progress, job.finished, job.failed, job.done):
                signal.disconnect()
            job.cancel()
            job.wait(5000)
        self.file_job = None
        self.progress_bar.setVisible(False)

    @Slot(object)
    def _on_file_events(self, batch: EventBatch) -> None:
        self.store.add(batch.events)

    @Slot(float)
    def _on_file_progress(self, fraction: float) -> None:
        self.progress_bar.setValue(int(round(fraction * 1000)))

    @Slot(object)
    def _on_file_finished(self, annotation) -> None:
        duration_s = annotation.duration_s or self.store.latest_time_s
        self.redraw()
        self.timeline.show_whole(duration_s)
        name = self.current_file.name if self.current_file else "file"
        counts = self.store.counts()
        self.statusBar().showMessage(
            f"Analysed {name} ({duration_s:.1f} s): {counts['notes']} notes, {counts['chords']} chords, "
            f"{counts['drums']} drum hits, {counts['onsets']} onsets")

    @Slot(str)
    def _on_file_failed(self, message: str) -> None:
        self.show_error("Analysis failed", message)

    @Slot()
    def _on_file_done(self) -> None:
        self.progress_bar.setVisible(False)

    @property
    def file_analysis_running(self) -> bool:
        return self.file_job is not None and self.file_job.is_running

    # --- drag and drop -----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(url.isLocalFile() for url in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if files:
            event.acceptProposedAction()
            if len(files) > 1:
                self.statusBar().showMessage(f"{len(files)} files dropped; opening the first, {Path(files[0]).name}")
            self.open_file(files[0])

    # --- live mode ---------------------------------------------------------------------------------
    @Slot()
    def refresh_devices(self) -> None:
        """Fill the input combo from the audio devices; a problem (no PortAudio, no device) is shown in it."""
        self.device_combo.clear()
        try:
            devices = self._device_lister()
        except FeatherlightError as exc:
            log.warning("no input devices: %s", exc)
            devices = []
            self.device_combo.setToolTip(str(exc))
        for device in devices:
            self.device_combo.addItem(device.label, device)
            if getattr(device, "is_default", False):
                self.device_combo.setCurrentIndex(self.device_combo.count() - 1)
        if not devices:
            self.device_combo.addItem("no input device", None)
        self.start_button.setEnabled(bool(devices))

    @property
    def is_live(self) -> bool:
        """Whether live analysis was started and not stopped since (the worker starts asynchronously)."""
        return self._live_on

    @Slot()
    def toggle_live(self) -> None:
        if self.is_live:
            self.stop_live()
        else:
            self.start_live()

    def start_live(self) -> bool:
        """Open the selected device and analyse it; on failure show why and keep the previous state."""
        device = self.device_combo.currentData()
        if device is None:
            self.show_error("No input device", "no input device is selected; connect one and restart, or open a file")
            return False
        try:
            analyzer = self._build_analyzer()
            capture = self.capture or self._capture_factory()
            capture.open(device)
            capture.start()
        except FeatherlightError as exc:
            self.show_error("Cannot start live input", str(exc))
            return False
        self._cancel_file_job()
        self.capture = capture
        self.current_file = None
        self.store.clear(analyzer.tasks)
        self.timeline.reset(self.store)
        self.timeline.set_live(True)
        if self.worker is None:
            self.worker = AnalysisWorker(analyzer, capture)
            self.worker.eventsReady.connect(self._on_live_events)
            self.worker.stats.connect(self._on_stats)
            self.worker.failed.connect(self._on_live_failed)
        else:
            self.worker.set_analyzer(analyzer)
            self.worker.set_source(capture)
        self._live_session = None
        self.worker.start()
        self._live_on = True
        self.start_button.setText("Stop")
        self.setWindowTitle(f"Featherlight - live: {device.label}")
        self.statusBar().showMessage(f"Listening to {device.label}")
        return True

    def stop_live(self) -> None:
        self._live_on = False
        if self.worker is not None:
            self.worker.stop()
        if self.capture is not None:
            try:
                self.capture.stop()
            except FeatherlightError as exc:
                log.warning("stopping the input: %s", exc)
        self.start_button.setText("Start")
        self.statusBar().showMessage("Stopped")

    @Slot(object)
    def _on_live_events(self, batch: EventBatch) -> None:
        if self._live_session is None:
            self._live_session = batch.session
        if batch.session < self._live_session:
            return  # a batch of a stream stopped before the last start
        self._live_session = batch.session
        self.store.add(batch.events)

    @Slot(object)
    def _on_stats(self, stats: WorkerStats) -> None:
        latency = ", ".join(f"{task} {1000 * value:.0f} ms" for task, value in sorted(stats.latency_s.items()))
        self.stats_label.setText(f"CPU {100 * stats.cpu_load:.0f}%  |  latency {latency or '-'}  |  "
                                 f"overflows {stats.overflow_count}")

    @Slot(str)
    def _on_live_failed(self, message: str) -> None:
        self.stop_live()
        self.show_error("Live analysis stopped", message)

    @Slot(bool)
    def _on_following_changed(self, following: bool) -> None:
        if self.follow_action.isChecked() != following:
            self.follow_action.blockSignals(True)
            self.follow_action.setChecked(following)
            self.follow_action.blockSignals(False)

    # --- drawing -----------------------------------------------------------------------------------
    @Slot()
    def redraw(self) -> None:
        """Draw what the store gained (the 60 Hz timer); the tuner reads the newest frame."""
        if self.timeline.refresh(self.store):
            self.tuner.update_from(self.store)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.redraw_timer.stop()
        self._cancel_file_job()
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        if self.capture is not None:
            try:
                self.capture.close()
            except FeatherlightError as exc:
                log.warning("closing the input: %s", exc)
            self.capture = None
        super().closeEvent(event)


def run_app(files: list[str]) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Featherlight")
    app.setOrganizationName("Featherlight")
    app.setApplicationVersion(__version__)
    window = MainWindow()
    window.show()
    if files:
        if len(files) > 1:
            log.warning("%d files given; opening the first, %s", len(files), files[0])
        QTimer.singleShot(0, lambda: window.open_file(files[0]))
    return int(app.exec())
