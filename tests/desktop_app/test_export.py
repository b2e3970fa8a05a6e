"""Export of the window's analysis: contract files round trip, overwrite refusal, PNG of a widget."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from desktop_app import export as ex
from desktop_app.live.store import AnalysisStore
from models.annotations.contract import gather_annotation
from models.annotations.jams_io import load_jams
from models.annotations.midi_io import load_drums_midi, load_notes_midi
from models.annotations.types import ChordSegment, DrumHit, F0Track, Note
from models.errors import ConfigError, OverwriteError
from models.runtime.analyzer import AnalysisEvents

NOTES = (Note(0.25, 0.75, 60.0, 100), Note(1.0, 1.5, 64.0, 90), Note(1.5, 2.0, 67.0, 80))
CHORDS = (ChordSegment(0.0, 1.0, "C:maj"), ChordSegment(1.0, 2.0, "A:min"))
DRUMS = (DrumHit(0.5, "kick"), DrumHit(1.0, "snare"), DrumHit(1.25, "hihat"))
ONSETS = (0.25, 1.0, 1.5)
F0_TIMES = np.arange(0, 200) * 0.01
F0_HZ = np.where((F0_TIMES >= 0.25) & (F0_TIMES < 0.75), 261.625565, -220.0)


def filled_store() -> AnalysisStore:
    store = AnalysisStore()
    store.add(AnalysisEvents(
        f0=F0Track(F0_TIMES, F0_HZ, np.where(F0_HZ > 0, 0.9, 0.1)), notes=NOTES, chords=CHORDS,
        current_chord="A:min", drums=DRUMS, onsets_s=np.asarray(ONSETS), frames_done=200, latest_time_s=2.0,
    ))
    return store


class Painted(QWidget):
    """A widget that draws a red box on white: a grab of it is not blank."""

    def __init__(self, blank: bool = False) -> None:
        super().__init__()
        self.blank = blank
        self.resize(120, 80)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("white"))
        if not self.blank:
            p.fillRect(10, 10, 40, 30, QColor("red"))
        p.end()


def test_round_trip_through_the_contract_readers(tmp_path):
    written = ex.export_analysis(filled_store(), tmp_path, "take1", ("jams", "midi", "lab", "csv"))
    assert [p.name for p in written] == [
        "take1.jams", "take1.f0.csv", "take1.notes.csv", "take1.notes.mid", "take1.chords.lab",
        "take1.drums.csv", "take1.drums.mid", "take1.onsets.csv",
    ]
    # what the project's reader gathers beside an audio file of that stem (task files win over JAMS)
    back, sources = gather_annotation(tmp_path / "take1.wav", duration_s=2.0)
    assert {k: p.name for k, p in sources.items()} == {
        "f0": "take1.f0.csv", "notes": "take1.notes.csv", "chords": "take1.chords.lab",
        "drums": "take1.drums.csv", "onsets": "take1.onsets.csv"}
    assert back.notes == NOTES
    assert back.chords == CHORDS
    assert back.drums == DRUMS
    np.testing.assert_allclose(back.onsets, ONSETS)
    np.testing.assert_allclose(back.f0.times_s, F0_TIMES, atol=1e-9)
    np.testing.assert_allclose(back.f0.f0_hz, F0_HZ, rtol=1e-6)
    # the MIDI files and the JAMS file hold the same events
    assert load_notes_midi(tmp_path / "take1.notes.mid") == NOTES
    assert load_drums_midi(tmp_path / "take1.drums.mid") == DRUMS
    jam = load_jams(tmp_path / "take1.jams")
    assert jam.chords == CHORDS
    assert [(n.onset_s, n.offset_s, n.pitch_midi) for n in jam.notes] == [
        (n.onset_s, n.offset_s, n.pitch_midi) for n in NOTES]
    assert [(h.time_s, h.drum) for h in jam.drums] == [(h.time_s, h.drum) for h in DRUMS]
    np.testing.assert_allclose(jam.onsets, ONSETS)
    assert jam.metadata == {"exported_by": "featherlight"}
    assert jam.duration_s == pytest.approx(2.0)


def test_formats_select_files_and_absent_tasks_write_nothing(tmp_path):
    store = filled_store()
    assert [p.name for p in ex.export_targets(store, tmp_path, "a", ["lab", "png"])] == ["a.chords.lab", "a.png"]
    assert [p.name for p in ex.export_targets(store, tmp_path, "a", ["midi"])] == ["a.notes.mid", "a.drums.mid"]
    chords_only = AnalysisStore(tasks=("chords",))
    chords_only.add(AnalysisEvents(F0Track(np.zeros(0), np.zeros(0), np.zeros(0)), (), CHORDS, None, (),
                                   np.zeros(0), 200, 2.0))
    assert [p.name for p in ex.export_targets(chords_only, tmp_path, "c", ["jams", "midi", "lab", "csv"])] == [
        "c.jams", "c.chords.lab"]
    with pytest.raises(ex.ExportError, match="nothing to export"):
        ex.export_analysis(chords_only, tmp_path, "c", ["midi"])
    assert list(tmp_path.iterdir()) == []


def test_bad_format_stem_and_missing_widget(tmp_path):
    store = filled_store()
    with pytest.raises(ConfigError, match=r"unknown export format\(s\) 'mp3'"):
        ex.export_analysis(store, tmp_path, "x", ["jams", "mp3"])
    with pytest.raises(ConfigError, match="no export format chosen"):
        ex.export_analysis(store, tmp_path, "x", [])
    with pytest.raises(ConfigError, match="plain name without folders"):
        ex.export_analysis(store, tmp_path, "sub/x", ["jams"])
    with pytest.raises(ConfigError, match="needs the view widget"):
        ex.export_analysis(store, tmp_path, "x", ["png"])
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file; choose a folder"):
        ex.export_analysis(store, tmp_path / "file", "x", ["jams"])


def test_overwrite_is_refused_with_the_list_and_nothing_is_written(tmp_path):
    store = filled_store()
    (tmp_path / "take1.chords.lab").write_text("mine\n")
    (tmp_path / "take1.onsets.csv").write_text("mine too\n")
    assert [p.name for p in ex.existing_targets(store, tmp_path, "take1", ["lab", "csv", "jams"])] == [
        "take1.chords.lab", "take1.onsets.csv"]
    with pytest.raises(ex.ExportOverwriteError, match="2 files already exist") as info:
        ex.export_analysis(store, tmp_path, "take1", ["jams", "lab", "csv"])
    assert isinstance(info.value, OverwriteError)
    assert [p.name for p in info.value.paths] == ["take1.chords.lab", "take1.onsets.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take1.chords.lab", "take1.onsets.csv"]
    assert (tmp_path / "take1.chords.lab").read_text() == "mine\n"
    written = ex.export_analysis(store, tmp_path, "take1", ["jams", "lab", "csv"], overwrite=True)
    assert len(written) == 6
    assert (tmp_path / "take1.chords.lab").read_text().splitlines()[0].split() == ["0", "1", "C:maj"]


def test_png_of_a_widget_is_not_blank_and_not_overwritten(qtbot, tmp_path):
    widget = Painted()
    qtbot.addWidget(widget)
    out = ex.export_png(widget, tmp_path / "view.png")
    image = QImage(str(out))
    assert (image.width(), image.height()) == (120, 80)
    assert image.pixelColor(20, 20) == QColor("red")
    assert image.pixelColor(100, 70) == QColor("white")
    with pytest.raises(OverwriteError, match="already exists"):
        ex.export_png(widget, out)
    assert ex.export_png(widget, out, overwrite=True) == out
    with pytest.raises(ConfigError, match=r"must end in \.png"):
        ex.export_png(widget, tmp_path / "view.jpg")


def test_png_of_a_blank_widget_is_refused(qtbot, tmp_path):
    widget = Painted(blank=True)
    qtbot.addWidget(widget)
    with pytest.raises(ex.ExportError, match="empty image"):
        ex.export_png(widget, tmp_path / "blank.png")
    assert not (tmp_path / "blank.png").exists()


def test_export_with_png_writes_contract_files_and_the_view(qtbot, tmp_path):
    widget = Painted()
    qtbot.addWidget(widget)
    written = ex.export_analysis(filled_store(), tmp_path, "s", ["lab", "png"], widget=widget)
    assert [p.name for p in written] == ["s.chords.lab", "s.png"]
    assert not QImage(str(tmp_path / "s.png")).isNull()


def test_dialog_asks_once_before_replacing(qtbot, tmp_path, monkeypatch):
    (tmp_path / "song.chords.lab").write_text("mine\n")
    asked = []
    monkeypatch.setattr(ex.ExportDialog, "exec", lambda self: QDialog.DialogCode.Accepted)

    def answer(parent, title, text, *args):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", staticmethod(answer))
    written = ex.run_export_dialog(None, filled_store(), tmp_path, "song")
    assert len(asked) == 1 and "song.chords.lab" in asked[0]
    assert [p.name for p in written] == [
        "song.jams", "song.f0.csv", "song.notes.csv", "song.notes.mid", "song.chords.lab",
        "song.drums.csv", "song.drums.mid", "song.onsets.csv"]
    assert (tmp_path / "song.chords.lab").read_text() != "mine\n"


def test_dialog_reads_folder_stem_and_formats(qtbot, tmp_path):
    dialog = ex.ExportDialog(None, tmp_path, "take", formats=("lab", "png"), png_available=False)
    qtbot.addWidget(dialog)
    assert dialog.folder() == tmp_path and dialog.stem() == "take"
    assert dialog.formats() == ("lab",)
    dialog.checks["csv"].setChecked(True)
    dialog.stem_edit.setText("  other ")
    assert dialog.formats() == ("lab", "csv") and dialog.stem() == "other"


def test_png_of_the_timeline_view_with_an_analysis(qtbot, tmp_path):
    from desktop_app.views.timeline import TimelineView

    store = filled_store()
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.reset(store)
    view.refresh(store)
    view.show_whole(2.0)
    out = ex.export_png(view, tmp_path / "view.png")
    image = QImage(str(out))
    assert (image.width(), image.height()) == (800, 500)
    assert not ex._image_is_blank(image)
