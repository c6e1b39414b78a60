"""Scenario input: safe YAML with line numbers, the pydantic schema, expectations."""
