"""Scrollbars a terminal without Unicode draws whole.

Textual draws a scrollbar thumb's ends in eighths of a cell ("▁▂▃…▇"), which a terminal
whose locale is not UTF-8 (``glyphs.ASCII``) can only show as "_": stray underscores beside
the text. There the thumb is whole cells (reversed spaces, as its body already is).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.segment import Segments
from textual.scrollbar import ScrollBarRender

from tui import glyphs


class _WholeCells(ScrollBarRender):
    # a blank end is left out: the thumb rounds to whole cells
    VERTICAL_BARS: ClassVar[list[str]] = [" "] * len(ScrollBarRender.VERTICAL_BARS)
    HORIZONTAL_BARS: ClassVar[list[str]] = [" "] * len(ScrollBarRender.HORIZONTAL_BARS)


class GlyphScrollBarRender(ScrollBarRender):
    """Textual's scrollbar, in whole cells while the ASCII glyphs are in use."""

    @classmethod
    def render_bar(cls, *args: Any, **kwargs: Any) -> Segments:
        if glyphs.glyphs() is glyphs.ASCII:
            return _WholeCells.render_bar(*args, **kwargs)
        return super().render_bar(*args, **kwargs)
