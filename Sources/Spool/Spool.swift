// The Spool engine. See README.md.
