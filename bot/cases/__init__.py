"""What a case is and what happens to it below the conversations: its vocabulary, filing, assignment,
SLA, access rules, alerts and news, collective cases, and privacy (consent, forgetting, retention).
"""
