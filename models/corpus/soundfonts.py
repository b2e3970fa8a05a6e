"""Which General MIDI soundfonts the corpus renders with."""

from __future__ import annotations

from pathlib import Path

from models.errors import CorpusError

#: Looked for, in this order, when --soundfonts is not given (Debian/Ubuntu package locations).
DEFAULT_SOUNDFONTS: tuple[str, ...] = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",          # fluid-soundfont-gm
    "/usr/share/sounds/sf2/TimGM6mb.sf2",            # timgm6mb-soundfont
    "/usr/share/sounds/sf3/FluidR3Mono_GM.sf3",      # fluidr3mono-gm-soundfont
    "/usr/share/sounds/sf3/MuseScore_General.sf3",   # musescore-general-soundfont
)


def resolve_soundfonts(paths: list[str] | tuple[str, ...] | None) -> list[str]:
    """Absolute paths of the fonts to use; the defaults that exist when ``paths`` is empty."""
    if paths:
        out = []
        for p in paths:
            path = Path(p).expanduser()
            if not path.is_file():
                raise CorpusError(f"soundfont not found: {path}; pass existing .sf2/.sf3 files to --soundfonts")
            if path.suffix.lower() not in (".sf2", ".sf3"):
                raise CorpusError(f"{path} is not a soundfont (.sf2 or .sf3); pass General MIDI soundfonts")
            out.append(str(path.resolve()))
        return sorted(set(out), key=out.index)
    found = [p for p in DEFAULT_SOUNDFONTS if Path(p).is_file()]
    if not found:
        raise CorpusError(
            "no General MIDI soundfont found (looked for " + ", ".join(DEFAULT_SOUNDFONTS) + "); install "
            "fluid-soundfont-gm (apt install fluid-soundfont-gm) or pass --soundfonts FILE.sf2"
        )
    return found
