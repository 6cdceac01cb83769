"""Programs the tests run in subprocesses (to kill them, or to damage a store from outside)."""
