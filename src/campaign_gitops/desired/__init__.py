"""The desired state: the repository's campaign and label files read, checked and turned into
models. `loader.py` reads and builds it, `filecheck.py` checks one file, `filerounds.py` finds
every problem of an invalid one, `parallel.py` spreads the files over worker processes,
`selection.py` picks the files a partial plan reads."""
