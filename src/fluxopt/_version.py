"""The version of fluxopt (read by the build backend and by the summaries)."""

__version__ = "0.1.0"
