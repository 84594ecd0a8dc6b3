"""deploymock: stateful, spec-driven mocks of cloud "update a deployment" APIs."""

from __future__ import annotations

__version__ = "0.1.0"
