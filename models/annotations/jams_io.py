"""JAMS, the interchange format: one file holds every task's labels for one audio file.

What :func:`write_jams` stores, and how :func:`load_jams` reads it back:

==========  =====================  ==========================================================================
field       JAMS namespace         observations
==========  =====================  ==========================================================================
f0          ``pitch_contour``      value ``{index: 0, frequency: |f0_hz|, voiced: f0_hz > 0}``,
                                   confidence = frame confidence; ``f0_hz == 0`` is written as frequency 0
notes       ``note_midi``          value = pitch_midi, duration = offset - onset,
                                   confidence = MIDI velocity (marked in the sandbox, see below)
chords      ``chord``              value = Harte label
drums       ``tag_open``           value = drum class; confidence = velocity; sandbox
                                   ``{"featherlight": {"kind": "drums", ...}}`` marks it as drum hits
onsets      ``onset``              value = null
metadata    top-level sandbox      ``jam.sandbox["featherlight"]`` (must be JSON-serialisable)
==========  =====================  ==========================================================================

Every annotation written carries ``sandbox.featherlight.confidence`` saying what confidence means
("velocity" for notes and drums). Files are validated against the JAMS schema before being written.

On reading, files from other tools are accepted too: ``chord_harte`` (and other chord namespaces jams
can convert), ``note_hz`` (converted to MIDI numbers), ``pitch_hz`` (negative = unvoiced) and
``pitch_contour``; when a namespace occurs more than once the first annotation wins (logged).
Non-JSON or schema-invalid files raise :class:`~models.errors.AnnotationFormatError`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import jams
import numpy as np

from models.annotations.lab import chord_label_problem
from models.annotations.types import DRUM_CLASSES, Annotation, ChordSegment, DrumHit, F0Track, Note
from models.errors import AnnotationError, AnnotationFormatError
from models.fileio import atomic_path

__all__ = ["DRUMS_SANDBOX_KIND", "load_jams", "write_jams"]

log = logging.getLogger(__name__)

SANDBOX_KEY = "featherlight"
#: ``ann.sandbox.featherlight.kind`` of the tag_open annotation that holds drum hits.
DRUMS_SANDBOX_KIND = "drums"
_ANNOTATOR = {"name": "Featherlight"}


@contextlib.contextmanager
def _quiet_jsonschema() -> Iterator[None]:
    """jams calls a jsonschema API that now warns on every validation; the warning is not ours to fix."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _new_annotation(namespace: str, duration_s: float, **sandbox: str) -> jams.Annotation:
    ann = jams.Annotation(namespace=namespace, time=0.0, duration=duration_s)
    ann.annotation_metadata.data_source = "Featherlight"
    if sandbox:
        ann.sandbox.update(**{SANDBOX_KEY: dict(sandbox)})
    return ann


def _event_end_s(annotation: Annotation) -> float:
    ends = [0.0]
    if annotation.f0 is not None and len(annotation.f0):
        ends.append(float(np.max(annotation.f0.times_s)))
    if annotation.notes:
        ends.append(max(n.offset_s for n in annotation.notes))
    if annotation.chords:
        ends.append(max(c.end_s for c in annotation.chords))
    if annotation.drums:
        ends.append(max(h.time_s for h in annotation.drums))
    if annotation.onsets is not None and np.size(annotation.onsets):
        ends.append(float(np.max(annotation.onsets)))
    return max(ends)


def _to_jams(annotation: Annotation, path: Path) -> jams.JAMS:
    duration_s = annotation.duration_s if annotation.duration_s is not None else _event_end_s(annotation)
    jam = jams.JAMS()
    jam.file_metadata.duration = float(duration_s)
    if annotation.f0 is not None:
        ann = _new_annotation("pitch_contour", duration_s, confidence="frame confidence in [0, 1]")
        for t, f, c in zip(annotation.f0.times_s, annotation.f0.f0_hz, annotation.f0.confidence):
            ann.append(time=float(t), duration=0.0, confidence=float(c),
                       value={"index": 0, "frequency": abs(float(f)), "voiced": bool(f > 0)})
        jam.annotations.append(ann)
    if annotation.notes is not None:
        ann = _new_annotation("note_midi", duration_s, confidence="velocity")
        for n in annotation.notes:
            ann.append(time=float(n.onset_s), duration=float(n.offset_s - n.onset_s),
                       value=float(n.pitch_midi), confidence=int(n.velocity))
        jam.annotations.append(ann)
    if annotation.chords is not None:
        ann = _new_annotation("chord", duration_s)
        for c in annotation.chords:
            problem = chord_label_problem(c.label)
            if problem is not None:
                raise AnnotationError(f"cannot write {path}: chord label {c.label!r} is not Harte syntax ({problem})")
            ann.append(time=float(c.start_s), duration=float(c.end_s - c.start_s), value=c.label, confidence=1.0)
        jam.annotations.append(ann)
    if annotation.drums is not None:
        ann = _new_annotation("tag_open", duration_s, kind=DRUMS_SANDBOX_KIND, confidence="velocity")
        for h in annotation.drums:
            if h.drum not in DRUM_CLASSES:
                raise AnnotationError(
                    f"cannot write {path}: unknown drum {h.drum!r}; use one of {', '.join(DRUM_CLASSES)}"
                )
            ann.append(time=float(h.time_s), duration=0.0, value=h.drum, confidence=int(h.velocity))
        jam.annotations.append(ann)
    if annotation.onsets is not None:
        ann = _new_annotation("onset", duration_s)
        for t in np.sort(np.asarray(annotation.onsets, dtype=np.float64).reshape(-1)):
            ann.append(time=float(t), duration=0.0, value=None, confidence=1.0)
        jam.annotations.append(ann)
    for ann in jam.annotations:
        ann.annotation_metadata.annotator = dict(_ANNOTATOR)
    if annotation.metadata:
        try:
            json.dumps(annotation.metadata)
        except (TypeError, ValueError) as exc:
            raise AnnotationError(
                f"cannot write {path}: annotation.metadata is not JSON-serialisable ({exc}); "
                "keep it to strings, numbers, lists and dicts"
            ) from exc
        jam.sandbox.update(**{SANDBOX_KEY: dict(annotation.metadata)})
    return jam


def write_jams(path: str | os.PathLike, annotation: Annotation, *, overwrite: bool = False) -> Path:
    """Write every task ``annotation`` carries into one JAMS file, validated against the schema first."""
    target = Path(path)
    jam = _to_jams(annotation, target)
    try:
        with _quiet_jsonschema():
            jam.validate(strict=True)
    except jams.SchemaError as exc:
        raise AnnotationError(f"cannot write {target}: the JAMS document does not validate ({exc})") from exc
    with atomic_path(target, overwrite=overwrite) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(jam.dumps())
    return target


# --- reading ---------------------------------------------------------------------------------------
def _ann_sandbox(ann: jams.Annotation) -> dict:
    box = ann.sandbox[SANDBOX_KEY] if SANDBOX_KEY in ann.sandbox else {}
    return dict(box) if isinstance(box, dict) else {}


def _velocity_from(confidence, marked: bool) -> int:
    if marked and isinstance(confidence, (int, float)) and math.isfinite(confidence):
        return int(min(127, max(0, round(confidence))))
    return 100


def _read_f0(ann: jams.Annotation) -> F0Track:
    times, freqs, confs = [], [], []
    for obs in ann.data:
        if ann.namespace == "pitch_hz":
            freq = float(obs.value)
        else:
            value = obs.value if isinstance(obs.value, dict) else {}
            hz = abs(float(value.get("frequency", 0.0)))
            freq = hz if value.get("voiced", hz > 0) else (-hz if hz else 0.0)
        conf = obs.confidence if isinstance(obs.confidence, (int, float)) else 1.0
        times.append(float(obs.time))
        freqs.append(freq)
        confs.append(float(conf))
    order = np.argsort(times, kind="stable")
    return F0Track(np.asarray(times)[order], np.asarray(freqs)[order], np.asarray(confs)[order])


def _read_notes(ann: jams.Annotation) -> tuple[Note, ...]:
    marked = _ann_sandbox(ann).get("confidence") == "velocity"
    notes = []
    for obs in ann.data:
        pitch = float(obs.value)
        if ann.namespace == "note_hz":
            if pitch <= 0:
                continue
            pitch = float(69.0 + 12.0 * math.log2(pitch / 440.0))
        notes.append(Note(float(obs.time), float(obs.time + obs.duration), pitch,
                          _velocity_from(obs.confidence, marked)))
    return tuple(sorted(notes, key=lambda n: (n.onset_s, n.pitch_midi)))


def _read_chords(ann: jams.Annotation, path: Path) -> tuple[ChordSegment, ...]:
    segments = []
    for obs in ann.data:
        label = str(obs.value)
        problem = chord_label_problem(label)
        if problem is not None:
            raise AnnotationFormatError(f"{path}: chord label {label!r} at {obs.time} s is not Harte syntax ({problem})")
        segments.append(ChordSegment(float(obs.time), float(obs.time + obs.duration), label))
    return tuple(sorted(segments, key=lambda c: c.start_s))


def _read_drums(ann: jams.Annotation, path: Path) -> tuple[DrumHit, ...]:
    marked = _ann_sandbox(ann).get("confidence") == "velocity"
    hits = []
    for obs in ann.data:
        drum = str(obs.value).strip().lower()
        if drum not in DRUM_CLASSES:
            raise AnnotationFormatError(
                f"{path}: unknown drum {obs.value!r} at {obs.time} s in the drum annotation; "
                f"allowed names are {', '.join(DRUM_CLASSES)}"
            )
        hits.append(DrumHit(float(obs.time), drum, _velocity_from(obs.confidence, marked)))
    return tuple(sorted(hits, key=lambda h: (h.time_s, DRUM_CLASSES.index(h.drum))))


def _kind(ann: jams.Annotation) -> str | None:
    ns = ann.namespace
    if ns in ("pitch_contour", "pitch_hz"):
        return "f0"
    if ns in ("note_midi", "note_hz"):
        return "notes"
    if ns in ("chord", "chord_harte"):
        return "chords"
    if ns == "tag_open" and _ann_sandbox(ann).get("kind") == DRUMS_SANDBOX_KIND:
        return "drums"
    if ns == "onset":
        return "onsets"
    return None


def load_jams(path: str | os.PathLike) -> Annotation:
    """Read a JAMS file into an :class:`Annotation` (fields for tasks it lacks stay ``None``)."""
    p = Path(path)
    if not p.is_file():
        what = "is a folder" if p.is_dir() else "does not exist"
        raise AnnotationError(f"JAMS file {p} {what}; check the path")
    try:
        text = p.read_text(encoding="utf-8")
        json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise AnnotationFormatError(f"{p}: not a JSON file{where} ({exc}); a .jams file must be JSON text") from exc
    try:
        jam = jams.load(str(p), validate=False)
    except Exception as exc:  # jams raises many types for structurally wrong documents
        raise AnnotationFormatError(f"{p}: not a valid JAMS document ({type(exc).__name__}: {exc})") from exc

    found: dict[str, jams.Annotation] = {}
    for ann in jam.annotations:
        kind = _kind(ann)
        if kind is None:
            log.debug("%s: ignoring annotation in namespace %s", p, ann.namespace)
            continue
        if kind in found:
            log.info("%s: more than one %s annotation (%s); using the first", p, kind, ann.namespace)
            continue
        try:
            with _quiet_jsonschema():
                ann.validate(strict=True)
        except jams.SchemaError as exc:
            raise AnnotationFormatError(
                f"{p}: the {ann.namespace} annotation does not validate ({str(exc).splitlines()[0]})"
            ) from exc
        found[kind] = ann

    try:
        f0 = _read_f0(found["f0"]) if "f0" in found else None
        notes = _read_notes(found["notes"]) if "notes" in found else None
        chords = _read_chords(found["chords"], p) if "chords" in found else None
        drums = _read_drums(found["drums"], p) if "drums" in found else None
        onsets = (np.sort(np.array([float(o.time) for o in found["onsets"].data], dtype=np.float64))
                  if "onsets" in found else None)
    except (TypeError, ValueError) as exc:
        raise AnnotationFormatError(f"{p}: an observation has a value of the wrong type ({exc})") from exc
    duration = jam.file_metadata.duration
    metadata = jam.sandbox[SANDBOX_KEY] if SANDBOX_KEY in jam.sandbox else {}
    return Annotation(
        duration_s=float(duration) if isinstance(duration, (int, float)) else None,
        f0=f0, notes=notes, chords=chords, drums=drums, onsets=onsets,
        metadata=dict(metadata) if isinstance(metadata, dict) else {},
    )
