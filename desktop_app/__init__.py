"""Featherlight's desktop application: the only package that imports Qt."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("featherlight")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
