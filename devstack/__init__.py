"""`make run` and the demo: the stack runner, the demo data and the commands that seed and connect it.

Installed only in development (DEBUG on, or DEVSTACK=1, which `make run` and `make seed` set);
nothing outside devstack/, sandbox/ and tests imports it.
"""
