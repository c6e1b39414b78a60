"""A flow between two events: ``alpha*f(t) + beta`` of the programme's dose rate ``f``.

The vocabulary every part speaks with the coordinator: a part reports the flow it causes as an
``Affine``, and ``pumpsim.model.flows`` holds them all for the state after the last event.
"""

from __future__ import annotations


class Affine:
    """A flow ``alpha*f(t) + beta`` (f in mcg/h; the flow's own unit per hour)."""

    __slots__ = ("alpha", "beta")

    def __init__(self, alpha: float = 0.0, beta: float = 0.0) -> None:
        self.alpha = alpha
        self.beta = beta

    def scaled(self, factor: float) -> Affine:
        """This flow times a constant."""
        return Affine(self.alpha * factor, self.beta * factor)

    def moves(self) -> bool:
        """Whether anything flows at all (f is never negative)."""
        return self.alpha > 0 or self.beta > 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Affine) and self.alpha == other.alpha and self.beta == other.beta

    def __hash__(self) -> int:
        return hash((self.alpha, self.beta))

    def __repr__(self) -> str:
        return f"Affine(alpha={self.alpha!r}, beta={self.beta!r})"
