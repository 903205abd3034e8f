"""The HTTP APIs' bodies, apart from their Powertools wiring: request models, routes as functions
of the sandbox's services, and the JSON answers (the handlers in functions/ only route)."""
