"""The order and stock domain: plain classes and decisions, no I/O."""
