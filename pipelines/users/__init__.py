"""Who may open the app: the roles store (`store`), the access log (`audit`) and their command (`cli`)."""
