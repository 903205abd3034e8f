"""Marketing automation: rules (`rules`), the interfaces marketing owns (`ports`), email content
(`render`, `templates/`) and unsubscribe links (`unsubscribe`). The service that runs them is
`hub.services.marketing`; docs/marketing.md describes the whole."""

from hub.marketing.rules import Due, Situation, Trigger

__all__ = ["Due", "Situation", "Trigger"]
