"""Reconcile desired with actual state; the scheduler daemon."""
