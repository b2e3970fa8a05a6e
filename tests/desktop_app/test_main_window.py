"""The main window without models or audio devices: it opens, says what is missing and how to fix it."""

from __future__ import annotations

from desktop_app.live.model_choice import ModelCatalog
from desktop_app.main_window import MainWindow


def test_window_opens_and_says_where_models_go_when_there_are_none(qtbot, tmp_path):
    empty = tmp_path / "models"
    window = MainWindow(catalog=ModelCatalog(scan_bundled=False, user_dir=empty), device_lister=lambda: [])
    qtbot.addWidget(window)
    window.show()
    assert window.windowTitle() == "Featherlight"
    assert window.statusBar().currentMessage() == "Ready"
    assert window.banner.isVisible()
    text = window.banner.text()
    assert "No analysis models found" in text and str(empty) in text and "Rescan models" in text
    assert all(not lane.has_model for lane in window.timeline.lanes.values())
    assert window.device_combo.currentText() == "no input device"
    assert not window.start_button.isEnabled()
    assert [a.text() for a in window.layer_actions.values()] == ["Spectrogram", "Pitch curve", "Notes", "Chords", "Drums",
                                                                 "Onsets"]
    assert all(a.isCheckable() and a.isChecked() for a in window.layer_actions.values())


def test_opening_a_file_without_models_shows_the_fix(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda _p, title, text, *a: shown.append((title, text))))
    audio = tmp_path / "tone.wav"
    import numpy as np
    import soundfile as sf

    sf.write(audio, np.zeros(1600, dtype=np.float32), 16000)
    window = MainWindow(catalog=ModelCatalog(scan_bundled=False, user_dir=tmp_path / "none"), device_lister=lambda: [])
    qtbot.addWidget(window)
    assert window.open_file(audio) is False
    assert len(shown) == 1
    title, text = shown[0]
    assert title == "Cannot open file"
    assert "no analysis models found" in text and str(tmp_path / "none") in text
    assert window.file_job is None
