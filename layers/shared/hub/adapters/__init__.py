"""Adapters: the boto3 implementations of the ports."""
