"""Flowkick: a business's own social posts and reviews on its website, served from a cache."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("flowkick")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
