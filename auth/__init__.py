"""Users, roles, API tokens, login, and the one helper every view uses to check
role and enterprise scope."""
