"""Fuzzed input (issue 20): every command of every service and every gateway request,
generated from the published schemas, against the running services."""
