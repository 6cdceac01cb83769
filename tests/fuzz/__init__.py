"""Fuzzing the connectors: mutated real files must parse or be rejected with a ConnectorError."""
