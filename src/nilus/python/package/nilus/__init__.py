"""The nilus package: the API of custom sources and destinations, run by nilus's embedded
interpreter (docs/custom-connectors.md)."""

from nilus._api import (
    CustomDestination,
    CustomSource,
    Resource,
    RetryableError,
    current,
    destination,
    resource,
    source,
)

__all__ = [
    "CustomDestination",
    "CustomSource",
    "Resource",
    "RetryableError",
    "current",
    "destination",
    "resource",
    "source",
]
