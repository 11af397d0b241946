"""The service: the steps a run takes (sync, reconcile, plan, execute, record), each in its own module."""
