"""Talking to Telegram: Bot API calls and their failures, updates, the durable outbox, PTB persistence,
the chat log, the commands every user has, and the bot's status.
"""
