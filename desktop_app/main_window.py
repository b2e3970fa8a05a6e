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
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QDateTime, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QComboBox, QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox,
                               QProgressBar, QPushButton, QToolBar, QVBoxLayout, QWidget)

from desktop_app import __version__
from desktop_app.live.model_choice import ModelCatalog
from desktop_app.live.store import AnalysisStore
from desktop_app.live.worker import AnalysisWorker, EventBatch, FileAnalysisJob, WorkerStats
from desktop_app.settings import AppSettings
from desktop_app.views.model_panel import ModelPanel
from desktop_app.views.transport import TransportBar
from desktop_app.views.timeline import TimelineView
from desktop_app.views.tuner import TunerWidget
from models.annotations.types import DRUM_CLASSES, TASKS
from models.errors import FeatherlightError

__all__ = ["MainWindow", "run_app"]

log = logging.getLogger(__name__)

REDRAW_INTERVAL_MS = 16  # ~60 Hz
#: Live events that a musician waits for (a hit, an onset, a note or chord, the start of a voiced f0 run)
#: are drawn as soon as they arrive instead of at the next timer frame, unless a frame was drawn less than
#: this long ago (so a dense stream of events cannot raise the frame rate above ~1000 / this).
EVENT_REDRAW_MIN_MS = 12.0


def _clock_s() -> float:
    """Monotonic seconds for redraw pacing (one name, so tests can set the clock)."""
    return time.monotonic()
#: View menu layers: (store layer, menu text).
VIEW_LAYERS: tuple[tuple[str, str], ...] = (("spectrogram", "Spectrogram"), ("f0", "Pitch curve"), ("notes", "Notes"), ("chords", "Chords"),
                                            ("drums", "Drums"), ("onsets", "Onsets"))


def _audio_extensions() -> frozenset[str]:
    from models.audio import AUDIO_EXTENSIONS

    return AUDIO_EXTENSIONS


def _default_capture():
    from desktop_app.audio.capture import AudioCapture

    return AudioCapture()


def _default_player():
    from desktop_app.audio.playback import FilePlayer

    return FilePlayer()


def _default_device_lister() -> list:
    from desktop_app.audio.devices import list_input_devices

    return list_input_devices()


class MainWindow(QMainWindow):
    """The analysis window. ``catalog``, ``device_lister`` (-> InputDevice list) and ``capture_factory``
    (-> an AudioCapture-like input: open/start/stop/close plus the AudioSource reading side) can be
    replaced (tests). ``settings``: where the window remembers device, models, layers and layout between
    runs (:func:`run_app` passes the user's; ``None`` remembers nothing, as in tests)."""

    def __init__(self, catalog: ModelCatalog | None = None,
                 device_lister: Callable[[], list] | None = None,
                 capture_factory: Callable[[], object] | None = None,
                 settings: AppSettings | None = None,
                 player_factory: Callable[[], object] | None = None) -> None:
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
        self._live_input: tuple[object, int | None] | None = None  # (device, channel) being listened to
        self.choice: dict[str, str] = {}
        self.last_error: str | None = None
        self.settings = settings
        self._player_factory = player_factory or _default_player
        self.player = None  # FilePlayer of the open file (None: nothing to play, or no output device)
        self._player_problem_shown = False
        self._drawn_playhead_s: float | None = None

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
        self._build_model_dock()
        self._build_menus()
        self._build_status_bar()
        self.reload_models()
        self.refresh_devices()
        self._restore_settings()

        self._last_redraw_s = 0.0
        self._live_voiced = False  # whether the newest live f0 frame was voiced
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
        self.channel_combo = QComboBox(bar)
        self.channel_combo.setToolTip("Input channel: one channel of the device, or the mix of its first channels")
        self.channel_combo.setMinimumWidth(90)
        bar.addWidget(self.channel_combo)
        self._switching_input = False  # True while the window itself changes the two combos
        self.device_combo.currentIndexChanged.connect(self._on_device_selected)
        self.channel_combo.currentIndexChanged.connect(self._on_channel_selected)
        self.start_button = QPushButton("Start", bar)
        self.start_button.setToolTip("Analyse the selected input live (Ctrl+R)")
        self.start_button.setShortcut(QKeySequence("Ctrl+R"))
        self.start_button.clicked.connect(self.toggle_live)
        bar.addWidget(self.start_button)
        transport = QToolBar("Transport", self)
        transport.setObjectName("transportToolBar")
        self.addToolBar(transport)
        self.transport = TransportBar(transport)
        self.transport.playRequested.connect(self.play)
        self.transport.pauseRequested.connect(self.pause)
        self.transport.seekRequested.connect(self.seek)
        transport.addWidget(self.transport)

    def _build_model_dock(self) -> None:
        self.model_panel = ModelPanel(self.catalog, self)
        self.model_panel.choiceChanged.connect(self._on_model_choice_changed)
        dock = QDockWidget("Models", self)
        dock.setObjectName("modelsDock")
        dock.setWidget(self.model_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.model_dock = dock

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open...", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.choose_file)
        file_menu.addAction(self.open_action)
        self.demo_action = QAction("Open the &demo", self)
        self.demo_action.setToolTip("A 20 s demo with melody, chords and drums, to try every layer at once")
        self.demo_action.triggered.connect(self.open_demo)
        file_menu.addAction(self.demo_action)
        file_menu.addSeparator()
        self.export_action = QAction("&Export analysis...", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.setToolTip("Write the analysis as JAMS, MIDI, .lab and CSV, and the view as PNG")
        self.export_action.triggered.connect(self.export_dialog)
        file_menu.addAction(self.export_action)
        self.export_png_action = QAction("Export view as &PNG...", self)
        self.export_png_action.triggered.connect(self.export_view_png)
        file_menu.addAction(self.export_png_action)
        file_menu.addSeparator()
        self.rescan_models_action = QAction("Rescan &models", self)
        self.rescan_models_action.triggered.connect(self.reload_models)
        file_menu.addAction(self.rescan_models_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        play_menu = self.menuBar().addMenu("&Playback")
        for action in self.transport.actions_for_menu:
            play_menu.addAction(action)
            self.addAction(action)  # shortcuts work wherever the focus is

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
        view_menu.addSeparator()
        view_menu.addAction(self.model_dock.toggleViewAction())

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
        """Scan the model folders again; keep the chosen model per task where it is still there."""
        self.catalog.refresh()
        self.model_panel.blockSignals(True)
        try:
            self.choice = self.model_panel.refresh()
        finally:
            self.model_panel.blockSignals(False)
        self._apply_choice()

    @Slot(dict)
    def _on_model_choice_changed(self, choice: dict) -> None:
        self.choice = dict(choice)
        self._apply_choice()
        if self.settings is not None:
            self.settings.set_model_choice(self._choice_to_save())
        if self.is_live and self.worker is not None:  # swap the models of the running analysis
            try:
                self.worker.set_analyzer(self._build_analyzer())
                self.store.clear(self.analysed_tasks)
                self.timeline.reset(self.store)
            except FeatherlightError as exc:
                self.show_error("Cannot use these models", str(exc))
        elif self.current_file is not None and not self.is_live:
            self.open_file(self.current_file)  # analyse the file again with the new models

    def _apply_choice(self) -> None:
        """Lanes, drum classes and the banner for the models in ``self.choice``."""
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

    def _build_analyzer(self, *, whole_file: bool = False):
        if not self.choice:
            raise FeatherlightError(
                f"no analysis models found; put ONNX models with their cards in {self.catalog.user_dir} and choose "
                "File > Rescan models")
        return self.catalog.build_analyzer(self.choice, whole_file=whole_file)

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
        start = self.settings.last_folder() if self.settings is not None else None
        path, _ = QFileDialog.getOpenFileName(self, "Open audio file", str(start or ""),
                                              f"Audio files ({patterns});;All files (*)")
        if path:
            if self.settings is not None:
                self.settings.set_last_folder(path)
            self.open_file(path)

    @Slot()
    def open_demo(self) -> bool:
        """Analyse the bundled demo (melody, chords, drums)."""
        from desktop_app.demo import demo_file

        try:
            path = demo_file()
        except FeatherlightError as exc:
            self.show_error("No demo file", str(exc))
            return False
        return self.open_file(path)

    # --- export ------------------------------------------------------------------------------------
    def _export_stem(self) -> str:
        if self.current_file is not None:
            return self.current_file.stem
        return "live-" + QDateTime.currentDateTime().toString("yyyyMMdd-HHmmss")

    def _export_folder(self) -> Path:
        if self.settings is not None and self.settings.export_folder() is not None:
            return self.settings.export_folder()
        if self.current_file is not None:
            return self.current_file.parent
        return Path.home()

    @Slot()
    def export_dialog(self) -> list[Path] | None:
        """Ask for folder, name and formats, then write the analysis (asks before replacing files)."""
        from desktop_app.export import run_export_dialog

        if not any(self.store.counts().values()):
            self.show_error("Nothing to export", "there is no analysis yet; open a file or start the live input first")
            return None
        written = run_export_dialog(self, self.store, self._export_folder(), self._export_stem(),
                                    widget=self.timeline, duration_s=self.store.latest_time_s or None,
                                    metadata={"source": str(self.current_file) if self.current_file else "live input"})
        if written:
            if self.settings is not None:
                self.settings.set_export_folder(written[0].parent)
            self.statusBar().showMessage(f"Exported {len(written)} file(s) to {written[0].parent}", 10000)
        return written

    @Slot()
    def export_view_png(self) -> Path | None:
        from desktop_app.export import export_png

        default = self._export_folder() / f"{self._export_stem()}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export view as PNG", str(default), "PNG images (*.png)")
        if not path:
            return None
        try:  # the file dialog already asked before replacing an existing file
            written = export_png(self.timeline, path, overwrite=True)
        except FeatherlightError as exc:
            self.show_error("Cannot export the view", str(exc))
            return None
        self.statusBar().showMessage(f"Saved {written}", 10000)
        return written

    def open_file(self, path: str | os.PathLike) -> bool:
        """Analyse a file in the background; False (and an error message) when it cannot start."""
        path = Path(path)
        if self.is_live:
            self.stop_live()
        self._cancel_file_job()
        try:
            if not path.is_file():
                raise FeatherlightError(f"cannot open {path}: no such file; pick an existing audio file")
            analyzer = self._build_analyzer(whole_file=True)  # the same results as featherlight analyze
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
        self._open_player(path)
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self.setWindowTitle(f"Featherlight - {path.name}")
        self.statusBar().showMessage(f"Analysing {path.name}...")
        job.start()
        return True

    # --- playback ----------------------------------------------------------------------------------
    def _open_player(self, path: Path) -> None:
        """Load ``path`` for playback; without a usable output device the analysis still runs."""
        self._close_player()
        self.transport.set_enabled_for_file(False)
        try:
            player = self._player_factory()
            if player is None:  # a window without playback (scripts, tests)
                return
            duration_s = player.open_file(path)
        except FeatherlightError as exc:
            log.warning("no playback for %s: %s", path, exc)
            self.statusBar().showMessage(f"Playback unavailable: {exc}", 10000)
            return
        self.player = player
        self._player_problem_shown = False
        self._drawn_playhead_s = None
        self.transport.set_duration(duration_s)
        self.transport.set_position(0.0)
        self.transport.set_playing(False)
        self.transport.set_enabled_for_file(True)

    def _close_player(self) -> None:
        if self.player is not None:
            try:
                self.player.close()
            except FeatherlightError as exc:
                log.warning("closing playback: %s", exc)
            self.player = None
        self.timeline.set_playhead(None)
        self.transport.set_playing(False)
        self.transport.set_enabled_for_file(False)

    @Slot()
    def play(self) -> None:
        if self.player is None:
            return
        try:
            self.player.play()
        except FeatherlightError as exc:
            self.show_error("Cannot play", str(exc))
            return
        self.timeline.set_following(True)  # the view pages along with the playhead

    @Slot()
    def pause(self) -> None:
        if self.player is not None:
            self.player.pause()

    @Slot(float)
    def seek(self, time_s: float) -> None:
        if self.player is not None:
            self.player.seek(time_s)

    def _update_playback(self) -> None:
        """The 60 Hz part of playback: playhead and transport follow what is heard."""
        from desktop_app.audio.playback import PlaybackState

        player = self.player
        if player is None:
            return
        position_s = player.position_s
        if position_s != self._drawn_playhead_s:  # paused: nothing to repaint
            self._drawn_playhead_s = position_s
            self.transport.set_position(position_s)
            self.timeline.set_playhead(position_s)
            self.tuner.update_from(self.store, at_s=position_s)  # the note and chord being heard
        self.transport.set_playing(player.is_playing)
        if player.take_finished():
            self.statusBar().showMessage("End of file", 3000)
        if player.state in (PlaybackState.STALLED, PlaybackState.DIED) and not self._player_problem_shown:
            self._player_problem_shown = True
            self.show_error("Playback stopped", f"the output device stopped ({player.state.value}); check that it is "
                            "still connected, then open the file again")

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
        self._fill_channels()

    #: The most channels the channel list offers one by one (multichannel interfaces and PipeWire report more).
    MAX_LISTED_CHANNELS = 64

    def _fill_channels(self, channel: int | None = None, *, keep: bool = True) -> None:
        """List the selected device's channels ("Mix" first); select ``channel``, or keep the current one
        when the device has it (``keep``), else the mix."""
        if keep and channel is None:
            channel = self.channel_combo.currentData()
        device = self.device_combo.currentData()
        n = int(getattr(device, "max_input_channels", 1) or 1) if device is not None else 0
        self._switching_input = True
        try:
            self.channel_combo.clear()
            self.channel_combo.addItem("Mix" if n > 1 else "Mono", None)
            self.channel_combo.setItemData(0, "the mean of the first channels" if n > 1 else "the only channel",
                                           Qt.ItemDataRole.ToolTipRole)
            if n > 1:
                for k in range(min(n, self.MAX_LISTED_CHANNELS)):
                    self.channel_combo.addItem(f"Ch {k + 1}", k)
            index = self.channel_combo.findData(channel) if channel is not None else 0
            self.channel_combo.setCurrentIndex(max(index, 0))
            self.channel_combo.setEnabled(n > 1)
        finally:
            self._switching_input = False

    def selected_input(self) -> tuple[object, int | None]:
        """The device and channel (0-based, or None for the mix) chosen in the toolbar."""
        return self.device_combo.currentData(), self.channel_combo.currentData()

    def _select_input(self, device, channel: int | None) -> None:
        self._switching_input = True
        try:
            devices = [self.device_combo.itemData(i) for i in range(self.device_combo.count())]
            if device in devices:
                self.device_combo.setCurrentIndex(devices.index(device))
        finally:
            self._switching_input = False
        self._fill_channels(channel, keep=False)

    @Slot(int)
    def _on_device_selected(self, _index: int) -> None:
        if self._switching_input:
            return
        self._fill_channels(keep=False)  # channel numbers mean other inputs on another device: start from the mix
        self._on_input_changed()

    @Slot(int)
    def _on_channel_selected(self, _index: int) -> None:
        if not self._switching_input:
            self._on_input_changed()

    def _on_input_changed(self) -> None:
        """Another device or channel while listening: listen to it at once (a new live session); when it
        cannot be opened, go back to the input that worked."""
        if self._switching_input or not self.is_live:
            return
        previous = self._live_input
        if previous == self.selected_input():
            return
        self.stop_live()
        if not self.start_live() and previous is not None:
            self._select_input(*previous)
            self.start_live()

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
        """Open the selected device (and channel) and analyse it; on failure show why and keep the previous
        state."""
        device, channel = self.selected_input()
        if device is None:
            self.show_error("No input device", "no input device is selected; connect one and restart, or open a file")
            return False
        try:
            analyzer = self._build_analyzer()
            capture = self.capture or self._capture_factory()
            capture.open(device, channel)
            capture.start()
        except FeatherlightError as exc:
            self.show_error("Cannot start live input", str(exc))
            return False
        self._cancel_file_job()
        self._close_player()
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
        self._live_voiced = False
        if self.settings is not None:
            self.settings.set_input_device(device)
            self.settings.set_input_channel(channel)
        self.worker.start()
        self._live_on = True
        self._live_input = (device, channel)
        self.start_button.setText("Stop")
        where = device.label if channel is None else f"{device.label}, channel {channel + 1}"
        self.setWindowTitle(f"Featherlight - live: {where}")
        self.statusBar().showMessage(f"Listening to {where}")
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
        if self._has_news(batch.events) and 1000.0 * (_clock_s() - self._last_redraw_s) >= EVENT_REDRAW_MIN_MS:
            self.redraw()
            self.redraw_timer.start()  # the next timer frame a whole interval from now

    def _has_news(self, events) -> bool:
        """Whether a live batch holds an event worth drawing at once (see :data:`EVENT_REDRAW_MIN_MS`)."""
        news = bool(events.drums or events.onsets_s.size or events.notes or events.chords)
        f0 = events.f0.f0_hz
        if len(f0):
            voiced = f0 > 0
            news = news or bool(voiced[0] and not self._live_voiced) or bool((voiced[1:] & ~voiced[:-1]).any())
            self._live_voiced = bool(voiced[-1])
        return news

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
        """Draw what the store gained (the 60 Hz timer, or a live event); the tuner reads the newest frame."""
        self._last_redraw_s = _clock_s()
        self._update_playback()
        if self.timeline.refresh(self.store) and self.player is None:  # with playback, the playhead drives it
            self.tuner.update_from(self.store)

    # --- settings ----------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        """Window layout, layers, follow mode, input device and models as they were last time."""
        s = self.settings
        if s is None:
            return
        if s.window_geometry() is not None:
            self.restoreGeometry(s.window_geometry())
        if s.window_state() is not None:
            self.restoreState(s.window_state())
        for layer, visible in s.visible_layers().items():
            action = self.layer_actions.get(layer)
            if action is not None:
                action.setChecked(visible)
        self.follow_action.setChecked(s.follow_mode())
        devices = [self.device_combo.itemData(i) for i in range(self.device_combo.count())]
        device = s.resolve_input_device([d for d in devices if d is not None])
        if device is not None:
            self._select_input(device, s.resolve_input_channel(device))
        self.model_panel.set_choice(s.resolve_model_choice(self.catalog))

    def _choice_to_save(self) -> dict[str, str]:
        from desktop_app.settings import MODEL_OFF

        return {task: self.choice.get(task, MODEL_OFF) for task in TASKS}

    def _save_settings(self) -> None:
        s = self.settings
        if s is None:
            return
        s.set_window_geometry(self.saveGeometry())
        s.set_window_state(self.saveState())
        s.set_visible_layers({layer: action.isChecked() for layer, action in self.layer_actions.items()})
        s.set_follow_mode(self.follow_action.isChecked())
        s.set_model_choice(self._choice_to_save())
        device, channel = self.selected_input()
        if device is not None:
            s.set_input_device(device)
            s.set_input_channel(channel)
        s.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._save_settings()
        self.model_panel.shutdown()
        self.redraw_timer.stop()
        self._cancel_file_job()
        self._close_player()
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
    window = MainWindow(settings=AppSettings())
    window.show()
    if files:
        if len(files) > 1:
            log.warning("%d files given; opening the first, %s", len(files), files[0])
        QTimer.singleShot(0, lambda: window.open_file(files[0]))
    return int(app.exec())
