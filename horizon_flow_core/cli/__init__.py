"""The ``flow`` command line. Each ``*_cmd.py`` module registers one group of verbs."""
