"""Marketing's edge: email content (`render`, `templates/`), the unsubscribe links and pages
(`unsubscribe`, `pages`) and what a schedule delivers to the queue (`scheduled`). The rules are
pure decisions in `hub.domain.marketing_rules`, the values its ports carry in
`hub.domain.marketing`, its interfaces in `hub.ports` with the others, its configuration in
`hub.config.marketing` and its environment in `hub.settings`; the service that runs them is
`hub.services.marketing`; docs/marketing.md describes the whole."""
