"""The main window.

The full live/file analysis window arrives with the desktop-app issue; until then this window says what
the installation can already do, so `featherlight` opens something honest rather than nothing.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QVBoxLayout, QWidget

from desktop_app import __version__

_WELCOME = """<h2>Featherlight {version}</h2>
<p>A desktop music analyser: pitch with notes, chords, drum hits and onsets on one time axis,
computed by ultra-light neural networks on the CPU.</p>
<p>The live and file analysis views are not built yet. From a terminal you can already:</p>
<ul>
<li><code>featherlight doctor</code>: check the installation, audio devices and models</li>
<li><code>featherlight corpus render</code>: render a labelled training corpus from MIDI</li>
<li><code>featherlight eval</code>: score analyses (or the DSP baselines) against annotations</li>
</ul>"""


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Featherlight")
        self.resize(900, 560)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.welcome = QLabel(_WELCOME.format(version=__version__), central)
        self.welcome.setTextFormat(Qt.TextFormat.RichText)
        self.welcome.setWordWrap(True)
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.welcome)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Ready")


def run_app(files: list[str]) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Featherlight")
    app.setOrganizationName("Featherlight")
    window = MainWindow()
    if files:
        window.statusBar().showMessage(f"File analysis is not available yet ({len(files)} file(s) given)")
    window.show()
    return int(app.exec())
