"""Personal accounts: users with roles, their passwords and their browser sessions."""
