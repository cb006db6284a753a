"""Errors of the analysis: each carries a one-line message fit to show a person."""

from __future__ import annotations


class AnalysisError(Exception):
    """A clip cannot be analysed; ``str(error)`` is one human-readable line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        """The one-line message."""
        return str(self.args[0])


class ClipNotFound(AnalysisError):
    """The path does not exist or is not a regular file."""


class NotAVideo(AnalysisError):
    """The file is not a media container at all, or is a still image."""


class NoVideoStream(AnalysisError):
    """The container holds audio (or data) but no video track."""


class NoFrames(AnalysisError):
    """The video track holds no decodable frame."""


class TruncatedVideo(AnalysisError):
    """The file ends or breaks before its video does."""
