"""Marketing automation: rules (`rules`), email content (`render`, `templates/`) and unsubscribe
links (`unsubscribe`). Its interfaces are in `hub.ports` with the others, the values they carry in
`hub.domain.marketing`; the service that runs them is `hub.services.marketing`; docs/marketing.md
describes the whole."""

from hub.marketing.rules import Due, Situation, Trigger

__all__ = ["Due", "Situation", "Trigger"]
