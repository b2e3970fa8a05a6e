"""The live analysis pipeline behind the window.

* :mod:`desktop_app.live.store` - :class:`AnalysisStore`, the versioned results the views draw (no Qt).
* :mod:`desktop_app.live.sources` - the :class:`AudioSource` protocol and :class:`FileAudioSource` (no Qt).
* :mod:`desktop_app.live.worker` - :class:`AnalysisWorker` (live, own thread) and :class:`FileAnalysisJob`.
* :mod:`desktop_app.live.model_choice` - :class:`ModelCatalog`: bundled and user models per task.

Submodules are imported on demand (``from desktop_app.live.store import AnalysisStore``), so the
Qt-free parts stay importable without Qt.
"""
