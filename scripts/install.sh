#!/usr/bin/env bash
# Install Featherlight into ./.venv on a Debian/Ubuntu machine.
#   bash scripts/install.sh          # the app and its command-line tools
#   bash scripts/install.sh --dev    # plus the test tools
# System packages (audio I/O, MIDI rendering, headless Qt) are installed with apt-get when this runs as
# root or with password-less sudo; otherwise the script names them and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
PYTHON="${PYTHON:-python3}"

apt_packages=(
  libportaudio2 libsndfile1        # sounddevice / soundfile
  fluidsynth fluid-soundfont-gm    # rendering the training corpus
  timgm6mb-soundfont fluidr3mono-gm-soundfont musescore-general-soundfont
  avldrums.lv2-soundfont           # two acoustic one-kit fonts (corpus --kit-fonts, held-out kit tests)
  ffmpeg                           # decoding m4a/aac/wma
  jackd2                           # live-input tests through a JACK dummy server
  libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3   # Qt, also offscreen
  xvfb libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0   # Qt on a virtual screen
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi
  if [ "$SUDO" = none ]; then
    echo "featherlight install: these system packages are missing: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install ${missing[*]}   and run this script again" >&2
    exit 1
  fi
  echo "installing system packages: ${missing[*]}"
  # jackd2 asks about real-time priority; answer 'no' without a prompt
  echo "jackd2 jackd/tweak_rt_limits boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned to the CPU build these machines carry: an unpinned torch pulls gigabytes of CUDA wheels.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".${extras}"
echo "featherlight installed in .venv: run .venv/bin/featherlight (or .venv/bin/featherlight --help)"
