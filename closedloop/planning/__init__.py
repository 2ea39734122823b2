"""Pure planning algorithms: plain data in, plain data out, no Django import.

- ``rooms``: the room allocation engine for isolation sites (``allocate``).
- ``room_rules``: an independent checker of an allocation against the room rules (``check``).
"""
