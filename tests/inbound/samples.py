"""Where the sample messages live (``tests/samples/<kind>/*.eml``) and how to read them."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def sample_bytes(kind: str, name: str) -> bytes:
    """Raw bytes of ``tests/samples/<kind>/<name>.eml``."""
    return (SAMPLES / kind / f"{name}.eml").read_bytes()


def sample_names(kind: str) -> list[str]:
    """Every sample of one kind, by file name without ``.eml``, sorted."""
    return sorted(path.stem for path in (SAMPLES / kind).glob("*.eml"))
