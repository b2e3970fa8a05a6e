"""The tuner readout: the current note name and octave in large type, the cents deviation, the chord."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop_app.live.store import AnalysisStore, TunerReading

__all__ = ["TunerWidget", "format_cents"]

_IN_TUNE_CENTS = 5.0


def format_cents(cents: float) -> str:
    """``+12 cents`` / ``-3 cents`` / ``0 cents`` (rounded to a whole cent)."""
    value = int(round(cents))
    return f"{value:+d} cents" if value else "0 cents"


class TunerWidget(QWidget):
    """Shows a :class:`TunerReading` and a chord; ``--`` when there is none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note_label = QLabel("--", self)
        big = QFont()
        big.setPointSize(34)
        big.setBold(True)
        self.note_label.setFont(big)
        self.note_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note_label.setMinimumWidth(110)
        self.cents_label = QLabel("", self)
        self.f0_label = QLabel("", self)
        self.chord_label = QLabel("--", self)
        chord_font = QFont()
        chord_font.setPointSize(24)
        self.chord_label.setFont(chord_font)
        self.chord_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.chord_label.setMinimumWidth(110)
        details = QVBoxLayout()
        details.addWidget(self.cents_label)
        details.addWidget(self.f0_label)
        layout = QHBoxLayout(self)
        layout.addWidget(self.note_label)
        layout.addLayout(details)
        layout.addStretch(1)
        layout.addWidget(QLabel("Chord:", self))
        layout.addWidget(self.chord_label)

    def show_reading(self, reading: TunerReading | None) -> None:
        if reading is None:
            self.note_label.setText("--")
            self.cents_label.setText("")
            self.f0_label.setText("")
            return
        self.note_label.setText(reading.note)
        colour = "#2a8a2a" if abs(reading.cents) <= _IN_TUNE_CENTS else "#b05a00"
        self.cents_label.setText(f'<span style="color:{colour}">{format_cents(reading.cents)}</span>')
        self.f0_label.setText(f"{reading.f0_hz:.1f} Hz")

    def show_chord(self, label: str | None) -> None:
        self.chord_label.setText(label if label else "--")

    def update_from(self, store: AnalysisStore, at_s: float | None = None) -> None:
        """Read the tuner and the chord from the store: the newest frame live, or the frame at ``at_s``."""
        if at_s is None:
            self.show_reading(store.tuner_reading())
            self.show_chord(store.current_chord)
        else:
            self.show_reading(store.tuner_reading(at_s))
            self.show_chord(store.chord_at(at_s))
