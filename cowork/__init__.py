"""cowork: a realtime platform for coworking operators."""

__version__ = "0.1.0"
