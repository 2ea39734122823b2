"""The returns planner: bringing home people quarantined in other cities (docs/returns-planner.md).

Pure code, no Django import. ``instance`` reads an instance, ``planner.plan`` makes a plan with its
lower bound (``bound``), ``validate.check`` checks a plan against every rule independently,
``greedy`` is the benchmark's simple plan, ``replan`` moves what has not started of a plan under
way, ``generate`` makes seeded instances.
"""
