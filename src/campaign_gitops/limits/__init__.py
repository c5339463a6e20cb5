"""Global campaign limits (the platform's frequency caps): their config, their enforcement in
the local platform's runs, the plan's forecast of users pushed past them, and the plan's blast
radius (`[safety]`)."""
