"""What every view on the shared time axis has in common: a plot, a layer switch and a "no model" state."""

from __future__ import annotations

import pyqtgraph as pg

from desktop_app.live.store import AnalysisStore, StoreChanges

__all__ = ["Lane"]


class Lane:
    """One plot on the shared time axis, drawing one store layer (or two, for the piano roll).

    Subclasses implement :meth:`_clear_items` and :meth:`_add` (draw store items ``start:stop``).
    """

    title: str = ""
    task: str = ""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self._visible = True
        self._has_model = True
        self._no_model_text = pg.TextItem("no model", color=(160, 160, 160), anchor=(0.5, 0.5))
        self._no_model_text.setVisible(False)
        self.plot.getViewBox().addItem(self._no_model_text, ignoreBounds=True)
        self.plot.setTitle(self.title)
        self.plot.hideButtons()

    # --- state ----------------------------------------------------------------------------------
    @property
    def visible(self) -> bool:
        return self._visible

    def set_visible(self, visible: bool) -> None:
        """Show or hide the layer's items (the lane keeps its place so the axis does not jump)."""
        self._visible = bool(visible)
        for item in self.items():
            item.setVisible(self._visible)

    @property
    def has_model(self) -> bool:
        return self._has_model

    def set_has_model(self, has_model: bool) -> None:
        """No model for this task: the lane says "no model" and the title tells it too."""
        self._has_model = bool(has_model)
        self._no_model_text.setVisible(not self._has_model)
        self.plot.setTitle(self.title if self._has_model else f"{self.title} - no model")
        if not self._has_model:
            self._place_no_model_text()

    def _place_no_model_text(self) -> None:
        (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
        self._no_model_text.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    # --- drawing --------------------------------------------------------------------------------
    def apply_changes(self, store: AnalysisStore, changes: StoreChanges) -> None:
        if changes.cleared:
            self._clear_items()
        self._add(store, changes)
        if not self._has_model:
            self._place_no_model_text()

    def items(self) -> list:
        raise NotImplementedError

    def _clear_items(self) -> None:
        raise NotImplementedError

    def _add(self, store: AnalysisStore, changes: StoreChanges) -> None:
        raise NotImplementedError
