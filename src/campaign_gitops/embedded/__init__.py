"""The embedded platform's engine, which `backends/local.py` serves: `audience.py` (the profile
store and segment engine), `runs.py` (runs, sends and conversions as of a time), `synthetic.py`
(generated profiles for `platform seed`)."""
