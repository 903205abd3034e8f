"""What each queue consumer does with a record, apart from its Lambda wiring: the service it calls and
the outcome counted (functions/<name>/app.py gives these to hub.consumer.SqsConsumer)."""
