"""Helpers shared by connectors: `nilus.common.pendulum` is pendulum, when it is installed."""
