"""The platform's public events: one module per emitting service, each model registered by type.

These are a contract with people outside the code (agencies' consumers, the AsyncAPI document):
add optional fields freely; renaming or removing one is a new `.v2` type.
"""

from motcua.common.contracts import catalogue, identity, notification, submission

__all__ = ["catalogue", "identity", "notification", "submission"]
