"""The key footer every screen shows.

Textual's ``Footer`` rebuilds all its keys (removes them, mounts new ones, restyles them)
each time the screen's bindings may have changed, which is every focus change: a tab on a
form page cost a footer rebuild on the UI thread, and the removed keys were garbage for
the collector. :class:`KeyFooter` rebuilds only when the keys it shows changed."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """A ``Footer`` that recomposes only when what it shows changed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[object, ...] | None = None

    def _keys(self) -> tuple[object, ...]:
        """What :meth:`Footer.compose` shows: each shown binding (its key and how it is
        displayed, what it says, its group, whether it is enabled) and the command
        palette's key."""
        app = self.app
        palette = app.COMMAND_PALETTE_BINDING
        keys: list[object] = [self.show_command_palette, self.compact, self.combine_groups]
        for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items():
            if binding.show or key == palette:
                display = app.get_key_display(binding)
                keys.append((key, display, binding.description, binding.action,
                             binding.group, binding.tooltip, enabled, tooltip))  # fmt: skip
        return tuple(keys)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if not self.is_attached:
            return
        keys = self._keys()
        if keys == self._shown:
            return
        self._shown = keys
        await self.recompose()
