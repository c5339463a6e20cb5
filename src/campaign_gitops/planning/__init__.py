"""Planning: desired + live + state store -> a plan. `planner.py` judges each campaign by
the rules table, `moves.py` matches files to live campaigns and records (moves, adoption),
`labels.py` plans labels, `capabilities.py` turns what a backend cannot do into manual changes."""
