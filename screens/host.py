"""What the screens may ask of the app (:class:`screens.app.WizardApp`), typed: a screen
reaches it with ``wizard_of(self)`` instead of an untyped ``self.app``, so the type
checker sees every call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from textual.screen import Screen

if TYPE_CHECKING:  # the welcome screen uses this before the engine is loaded
    from wizard.flow import Drift, HostKeyStatus
    from wizard.plan import Step
    from wizard.session import Session, SessionStore


class WizardHost(Protocol):
    session: Session | None
    start_timeout: float | None

    @property
    def store(self) -> SessionStore: ...

    def save(self, screen: str | None = None) -> None: ...

    def confirm_keys(self, statuses: list[HostKeyStatus]) -> bool: ...

    def confirm_drift(self, drift: list[Drift]) -> bool: ...

    def keep_waiting(self, step: Step, seconds: float, why: str) -> bool: ...

    def ask_secret(self, field: str, label: str) -> str: ...


def wizard_of(screen: Screen[Any]) -> WizardHost:
    """The screen's app, seen through :class:`WizardHost`."""
    return cast(WizardHost, screen.app)
