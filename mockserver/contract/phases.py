"""The phases of a contract run, apart so the command line can name them without the suite."""

SCHEMATHESIS_PHASES = ("examples", "coverage", "fuzzing", "stateful")
PHASES = (*SCHEMATHESIS_PHASES, "walk")  # the walk is ours: see walk.py
