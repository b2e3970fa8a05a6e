"""The analysis views of the main window: one module per view, all on one shared time axis.

Every view draws from an :class:`~desktop_app.live.store.AnalysisStore` and is told what changed through
:meth:`apply_changes` (a :class:`~desktop_app.live.store.StoreChanges`), so a 60 Hz redraw only adds what
is new. Views only run in the GUI thread.
"""
