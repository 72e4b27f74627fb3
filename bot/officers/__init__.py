"""Officers and admins at work: the case card and its actions, case lists, search, the roster and the
audit trail.
"""
