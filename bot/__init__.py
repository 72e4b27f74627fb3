"""A Telegram bot for trade unions: workers join, report unpaid wages and ask for legal aid."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("union-bot")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
