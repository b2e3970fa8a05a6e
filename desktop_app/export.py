"""Exporting the current analysis: the output contract files and a PNG of the view.

The window calls :func:`export_analysis` with the :class:`~desktop_app.live.store.AnalysisStore` it shows,
a folder, a file stem and the formats the user ticked (``"jams"``, ``"midi"``, ``"lab"``, ``"csv"``,
``"png"``). The files are the ones ``models.annotations.contract.write_analysis`` writes (``stem.jams``,
``stem.notes.mid``, ``stem.chords.lab``, ``stem.f0.csv``, ...), plus ``stem.png`` of the view.

Nothing is replaced without consent: every target is checked first, and when some exist an
:class:`ExportOverwriteError` lists them all (``.paths``) so the window can ask once and call again with
``overwrite=True``. Nothing is written in that case. :func:`run_export_dialog` does all of that with a
dialog and a question box.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.live.store import AnalysisStore
from models.annotations.contract import OUTPUT_SUFFIXES, write_analysis
from models.annotations.types import Annotation
from models.errors import ConfigError, FeatherlightError, OverwriteError
from models.fileio import atomic_write_bytes, check_writable

__all__ = [
    "EXPORT_FORMATS",
    "PNG_SUFFIX",
    "ExportDialog",
    "ExportError",
    "ExportOverwriteError",
    "export_analysis",
    "export_png",
    "export_targets",
    "run_export_dialog",
]

log = logging.getLogger(__name__)

#: What the user picks -> the contract artifacts (keys of ``OUTPUT_SUFFIXES``) it writes. "png" is the view.
EXPORT_FORMATS: dict[str, tuple[str, ...]] = {
    "jams": ("jams",),
    "midi": ("notes_mid", "drums_mid"),
    "lab": ("chords",),
    "csv": ("f0", "notes_csv", "drums_csv", "onsets"),
    "png": (),
}
#: Labels for the dialog's check boxes, in display order.
FORMAT_LABELS: dict[str, str] = {
    "jams": "JAMS (all tasks)",
    "midi": "MIDI (notes, drums)",
    "lab": ".lab (chords)",
    "csv": "CSV (f0, notes, drums, onsets)",
    "png": "PNG of the view",
}
PNG_SUFFIX = ".png"

#: Contract artifact -> the Annotation field it needs (None: any field, the JAMS file).
_ARTIFACT_FIELD: dict[str, str | None] = {
    "jams": None, "f0": "f0", "notes_csv": "notes", "notes_mid": "notes", "chords": "chords",
    "drums_csv": "drums", "drums_mid": "drums", "onsets": "onsets",
}
_FIELDS = ("f0", "notes", "chords", "drums", "onsets")


class ExportError(FeatherlightError):
    """An export could not be made (nothing to export, an empty image, a widget that cannot be drawn)."""


class ExportOverwriteError(OverwriteError):
    """Some export targets exist already; ``paths`` lists every one of them (nothing was written)."""

    def __init__(self, message: str, paths: Sequence[Path]) -> None:
        super().__init__(message)
        self.paths = [Path(p) for p in paths]


# --- planning --------------------------------------------------------------------------------------
def _check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = (formats,)
    wanted = tuple(dict.fromkeys(str(f).lower().lstrip(".") for f in formats))
    unknown = [f for f in wanted if f not in EXPORT_FORMATS]
    if unknown:
        raise ConfigError(f"unknown export format(s) {', '.join(map(repr, unknown))}; choose from "
                          f"{', '.join(EXPORT_FORMATS)}")
    if not wanted:
        raise ConfigError("no export format chosen; tick at least one of " + ", ".join(EXPORT_FORMATS))
    return wanted


def _check_stem(stem: str) -> str:
    stem = str(stem).strip()
    if not stem or "/" in stem or os.sep in stem or stem in (".", ".."):
        raise ConfigError(f"export file name must be a plain name without folders, got {stem!r}; "
                          "type a name such as 'take1'")
    return stem


def _artifacts(annotation: Annotation, formats: tuple[str, ...]) -> list[str]:
    """The contract artifacts that ``write_analysis`` will write for these formats, in its order."""
    wanted = {a for f in formats for a in EXPORT_FORMATS[f]}
    has_any = any(getattr(annotation, f) is not None for f in _FIELDS)
    out = []
    for artifact in OUTPUT_SUFFIXES:
        if artifact not in wanted:
            continue
        field = _ARTIFACT_FIELD[artifact]
        if (has_any if field is None else getattr(annotation, field) is not None):
            out.append(artifact)
    return out


def _annotation_of(source: AnalysisStore | Annotation, duration_s: float | None,
                   metadata: dict | None) -> Annotation:
    if isinstance(source, Annotation):
        return source
    if isinstance(source, AnalysisStore):
        meta = {"exported_by": "featherlight", **(metadata or {})}
        return source.to_annotation(duration_s=duration_s, metadata=meta)
    raise ConfigError(f"cannot export a {type(source).__name__}; pass the window's AnalysisStore or an Annotation")


def export_targets(source: AnalysisStore | Annotation, out_dir: str | os.PathLike, stem: str,
                   formats: Iterable[str]) -> list[Path]:
    """The files :func:`export_analysis` would write (contract files in contract order, then the PNG)."""
    wanted = _check_formats(formats)
    stem = _check_stem(stem)
    annotation = _annotation_of(source, None, None)
    folder = Path(out_dir)
    paths = [folder / f"{stem}{OUTPUT_SUFFIXES[a]}" for a in _artifacts(annotation, wanted)]
    if "png" in wanted:
        paths.append(folder / f"{stem}{PNG_SUFFIX}")
    return paths


def existing_targets(source: AnalysisStore | Annotation, out_dir: str | os.PathLike, stem: str,
                     formats: Iterable[str]) -> list[Path]:
    """The targets of :func:`export_targets` that exist already (what the window should ask about)."""
    return [p for p in export_targets(source, out_dir, stem, formats) if p.exists()]


# --- writing ---------------------------------------------------------------------------------------
def export_analysis(
    source: AnalysisStore | Annotation,
    out_dir: str | os.PathLike,
    stem: str,
    formats: Iterable[str] = ("jams", "midi", "lab", "csv"),
    *,
    overwrite: bool = False,
    widget: QWidget | None = None,
    duration_s: float | None = None,
    metadata: dict | None = None,
) -> list[Path]:
    """Write the analysis in ``formats`` into ``out_dir`` as ``stem`` + suffix; returns the paths written.

    ``source``: the window's store (its :meth:`~AnalysisStore.to_annotation` is exported; ``duration_s``
    defaults to the time analysed) or an :class:`Annotation`. ``"png"`` needs ``widget`` (the view).
    Raises :class:`ExportOverwriteError` listing every existing target unless ``overwrite`` (nothing is
    written then), :class:`~models.errors.ConfigError` for a bad stem, format or folder.
    """
    wanted = _check_formats(formats)
    stem = _check_stem(stem)
    if "png" in wanted and widget is None:
        raise ConfigError("PNG export needs the view widget; pass widget=<the timeline view> or untick PNG")
    annotation = _annotation_of(source, duration_s, metadata)
    folder = Path(out_dir).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"export folder {folder} is a file; choose a folder")
    targets = export_targets(annotation, folder, stem, wanted)
    if not targets:
        raise ExportError("there is nothing to export yet for the chosen formats; analyse a file or the input "
                          "first, or tick JAMS/CSV")
    existing = [p for p in targets if p.exists() and not p.is_dir()]
    if existing and not overwrite:
        names = ", ".join(str(p) for p in existing)
        noun = "file already exists" if len(existing) == 1 else f"{len(existing)} files already exist"
        raise ExportOverwriteError(f"{noun}: {names}; confirm replacing them (overwrite=True) or choose "
                                   "another name or folder", existing)
    check_writable(targets, overwrite)  # folders in the way are refused even with overwrite
    png = None
    if "png" in wanted:  # grab before writing anything, so an undrawable view writes nothing
        png = _png_bytes(widget)
    artifacts = _artifacts(annotation, wanted)
    written: list[Path] = []
    if artifacts:
        written += write_analysis(annotation, folder, stem, overwrite=overwrite, formats=artifacts)
    if png is not None:
        written.append(atomic_write_bytes(folder / f"{stem}{PNG_SUFFIX}", png, overwrite=overwrite))
    log.info("exported %d file(s) as %s into %s", len(written), stem, folder)
    return written


def _image_is_blank(image: QImage) -> bool:
    """True when every pixel has the same colour (or the image is empty)."""
    if image.isNull() or image.width() == 0 or image.height() == 0:
        return True
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    row_bytes = rgba.bytesPerLine()
    data = np.frombuffer(rgba.constBits(), dtype=np.uint8, count=row_bytes * rgba.height())
    pixels = data.reshape(rgba.height(), row_bytes)[:, : 4 * rgba.width()].reshape(-1, 4)
    return bool((pixels == pixels[0]).all())


def _png_bytes(widget: QWidget) -> bytes:
    if not isinstance(widget, QWidget):
        raise ConfigError(f"PNG export needs a QWidget, got {type(widget).__name__}; pass the view widget")
    pixmap = widget.grab()
    image = pixmap.toImage()
    if _image_is_blank(image):
        raise ExportError(f"the {type(widget).__name__} drew an empty image ({image.width()}x{image.height()} "
                          "pixels of one colour); show the view with an analysis loaded, then export again")
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise ExportError("Qt could not encode the view as PNG; check that the Qt image plugins are installed")
    buffer.close()
    return bytes(data.data())


def export_png(widget: QWidget, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Save a PNG of ``widget`` (``QWidget.grab()``) to ``path`` atomically; returns the path.

    Raises :class:`~models.errors.OverwriteError` when ``path`` exists and ``overwrite`` is false, and
    :class:`ExportError` when the grabbed image is empty or of one colour (nothing drawn).
    """
    target = Path(path).expanduser()
    if target.suffix.lower() != PNG_SUFFIX:
        raise ConfigError(f"PNG export path must end in .png, got {target}; rename it to {target.stem}.png")
    check_writable([target], overwrite)
    return atomic_write_bytes(target, _png_bytes(widget), overwrite=overwrite)


# --- dialog ----------------------------------------------------------------------------------------
class ExportDialog(QDialog):
    """Folder, file name and formats of an export. Read :meth:`folder`, :meth:`stem`, :meth:`formats`."""

    def __init__(self, parent: QWidget | None = None, default_dir: str | os.PathLike = ".",
                 default_stem: str = "analysis", *, formats: Iterable[str] = ("jams", "midi", "lab", "csv"),
                 png_available: bool = True) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export analysis")
        self.folder_edit = QLineEdit(str(default_dir))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        self.stem_edit = QLineEdit(str(default_stem))
        form = QFormLayout()
        form.addRow("Folder", folder_row)
        form.addRow("File name", self.stem_edit)
        self.checks: dict[str, QCheckBox] = {}
        chosen = set(formats)
        for key, label in FORMAT_LABELS.items():
            box = QCheckBox(label)
            box.setChecked(key in chosen and (key != "png" or png_available))
            if key == "png" and not png_available:
                box.setEnabled(False)
            self.checks[key] = box
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        for box in self.checks.values():
            layout.addWidget(box)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into folder", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def folder(self) -> Path:
        return Path(self.folder_edit.text().strip() or ".").expanduser()

    def stem(self) -> str:
        return self.stem_edit.text().strip()

    def formats(self) -> tuple[str, ...]:
        return tuple(k for k, box in self.checks.items() if box.isChecked() and box.isEnabled())


def run_export_dialog(parent: QWidget | None, store: AnalysisStore, default_dir: str | os.PathLike,
                      default_stem: str, *, widget: QWidget | None = None,
                      duration_s: float | None = None, metadata: dict | None = None) -> list[Path] | None:
    """Ask where and what to export, ask once before replacing files, export; returns the paths or None.

    ``widget``: the view for the PNG (PNG is disabled without it). Errors are shown in one message box
    and logged; None means the user cancelled or the export failed.
    """
    dialog = ExportDialog(parent, default_dir, default_stem, png_available=widget is not None)
    while True:
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        try:
            return export_analysis(store, dialog.folder(), dialog.stem(), dialog.formats(), widget=widget,
                                   duration_s=duration_s, metadata=metadata)
        except ExportOverwriteError as exc:
            names = "\n".join(p.name for p in exc.paths)
            answer = QMessageBox.question(
                parent, "Replace files?",
                f"These files already exist in {dialog.folder()}:\n{names}\n\nReplace them?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                continue  # back to the dialog to pick another name
            try:
                return export_analysis(store, dialog.folder(), dialog.stem(), dialog.formats(), widget=widget,
                                       overwrite=True, duration_s=duration_s, metadata=metadata)
            except FeatherlightError as exc2:
                log.error("export failed: %s", exc2)
                QMessageBox.critical(parent, "Export failed", str(exc2))
                return None
        except FeatherlightError as exc:
            log.error("export failed: %s", exc)
            QMessageBox.critical(parent, "Export failed", str(exc))
            if isinstance(exc, ConfigError):
                continue  # a bad name or no format ticked: let the user fix it
            return None
