"""Application services: one use case each, working through the ports."""
