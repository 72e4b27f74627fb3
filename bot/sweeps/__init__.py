"""What runs on a schedule: SLA reminders and escalation, the morning digest and Monday report, and the
follow-up question after a case is resolved.
"""
