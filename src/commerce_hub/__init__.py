"""Commerce Hub tooling: the command line and the local stack."""
