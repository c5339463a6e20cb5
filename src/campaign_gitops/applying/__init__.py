"""Applying a plan: `applier.py` carries the changes out, journaled step by step and resumable
after a crash; `locks.py` takes the state store's locks for what the plan changes; `audit.py`
records who applied which commit, and whether the files were as committed."""
