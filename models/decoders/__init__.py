"""Decoders: frame-wise network outputs (one vector per 10 ms frame) -> annotation events.

numpy only. Every task has an offline form (whole file) and an online form (a stateful decoder fed
blocks of any size: ``process(frames) -> events now final``, ``flush()`` at the end, ``reset()``,
``delay_frames``), and streaming output equals offline output exactly. Where a whole-file decoder
(Viterbi) is offered, it is a separate function; the contract then holds for
``decode_offline_streamable`` (the online decoder over a whole file). The chord and f0 Viterbi
decoders also have a stream form (:class:`~models.decoders.chords.ChordViterbiDecoder`,
:class:`~models.decoders.pitch.F0ViterbiDecoder`): fed as the stream goes, they give the whole-file path
at the end of the stream (the analyser's whole-file decoding).

* :mod:`models.decoders.vocabulary` - pitch bins, chord classes and Harte label reduction.
* :mod:`models.decoders.peaks` - peak picking: drum hits and onset times.
* :mod:`models.decoders.pitch` - f0 track (with voicing) and note segmentation; Viterbi f0.
* :mod:`models.decoders.chords` - HMM Viterbi and forward-filtering chord segments.
"""

from models.decoders.chords import ChordDecoderConfig, ChordOnlineDecoder, ChordViterbiDecoder, decode_viterbi
from models.decoders.peaks import (
    DrumOnlineDecoder,
    OnsetOnlineDecoder,
    Peak,
    PeakOnlineDecoder,
    PeakPickingConfig,
    decode_drums,
    decode_onsets,
    pick_peak_events,
    pick_peaks,
)
from models.decoders.pitch import (
    F0DecoderConfig,
    F0OnlineDecoder,
    F0ViterbiConfig,
    F0ViterbiDecoder,
    NoteConfig,
    NoteOnlineDecoder,
    PitchDecoderConfig,
    PitchOnlineDecoder,
    PitchUpdate,
    decode_f0,
    decode_f0_viterbi,
    segment_notes,
)
from models.decoders.vocabulary import ChordVocabulary, PitchBins

__all__ = [
    "ChordDecoderConfig", "ChordOnlineDecoder", "ChordViterbiDecoder", "ChordVocabulary", "DrumOnlineDecoder", "F0DecoderConfig",
    "F0OnlineDecoder", "F0ViterbiConfig", "F0ViterbiDecoder", "NoteConfig", "NoteOnlineDecoder", "OnsetOnlineDecoder", "Peak",
    "PeakOnlineDecoder", "PeakPickingConfig", "PitchBins", "PitchDecoderConfig", "PitchOnlineDecoder",
    "PitchUpdate", "decode_drums", "decode_f0", "decode_f0_viterbi", "decode_onsets", "decode_viterbi",
    "pick_peak_events", "pick_peaks", "segment_notes",
]
