"""The clinic: what people do to the pump (refill procedure, replacement, visit logs)."""
