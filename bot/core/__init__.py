"""The ground everything stands on: config, the clock, translations and wording, the handler context,
logging, and the Protocol the running app provides. Of ours, it imports only storage.
"""
