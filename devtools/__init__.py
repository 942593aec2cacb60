"""Local stand-ins for outside services (1Password Connect, Slack) used in development and tests."""
