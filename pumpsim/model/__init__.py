"""The model: the physics of the pump and the body, and the pump's firmware. It imports nothing
else of pumpsim, no pydantic and no I/O.
"""
