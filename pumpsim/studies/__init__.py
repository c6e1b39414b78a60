"""Studies built on the model and the scenario: fleet sweeps, fitted replays, what-if and slack."""
