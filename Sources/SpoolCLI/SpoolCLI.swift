// The spool command.
