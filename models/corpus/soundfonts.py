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


def _checked(paths, flag: str, what: str) -> list[str]:
    out = []
    for p in paths:
        path = Path(p).expanduser()
        if not path.is_file():
            raise CorpusError(f"soundfont not found: {path}; pass existing .sf2/.sf3 files to {flag}")
        if path.suffix.lower() not in (".sf2", ".sf3"):
            raise CorpusError(f"{path} is not a soundfont (.sf2 or .sf3); pass {what} to {flag}")
        out.append(str(path.resolve()))
    return sorted(set(out), key=out.index)


def resolve_soundfonts(paths: list[str] | tuple[str, ...] | None) -> list[str]:
    """Absolute paths of the fonts to use; the defaults that exist when ``paths`` is empty."""
    if paths:
        return _checked(paths, "--soundfonts", "General MIDI soundfonts")
    found = [p for p in DEFAULT_SOUNDFONTS if Path(p).is_file()]
    if not found:
        raise CorpusError(
            "no General MIDI soundfont found (looked for " + ", ".join(DEFAULT_SOUNDFONTS) + "); install "
            "fluid-soundfont-gm (apt install fluid-soundfont-gm) or pass --soundfonts FILE.sf2"
        )
    return found


#: The two acoustic kits of Debian's avldrums.lv2-soundfont (multi-sampled real drums, CC BY-SA).
AVL_KIT_FONTS: tuple[str, ...] = (
    "/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2",
    "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2",
)


def resolve_kit_fonts(paths: list[str] | tuple[str, ...] | None) -> list[str]:
    """Absolute paths of the one-kit fonts (none when ``paths`` is empty: kit fonts are opt-in)."""
    return _checked(paths or (), "--kit-fonts", "one-kit soundfonts (one drum kit as preset 0 of bank 0)")


#: General MIDI keys that one-kit fonts commonly share with the GM drum map (kick 36 .. tom 47, e.g. the
#: avldrums key map); a hit on another key of a drum class plays its class's key instead (35 -> 36, 48 -> 45)
KIT_FONT_KEYS: frozenset[int] = frozenset(range(36, 48))


def kit_font_key(gm_key: int) -> int | None:
    """The key a General MIDI drum note plays on a one-kit font (same class, a key those fonts have), or
    None for a key of no drum class (cowbell, tambourine...): what sits there differs from kit to kit."""
    from models.annotations.types import DRUM_CLASS_TO_GM_KEY, GM_DRUM_KEY_TO_CLASS

    drum = GM_DRUM_KEY_TO_CLASS.get(gm_key)
    if drum is None:
        return None
    return gm_key if gm_key in KIT_FONT_KEYS else DRUM_CLASS_TO_GM_KEY[drum]
