"""The parts of one simulated patient and pump: each owns its state, its flows, its next crossing
and its reaction.
"""
