"""Local real servers for development and tests: Kafka, FerretDB, SMTP."""
