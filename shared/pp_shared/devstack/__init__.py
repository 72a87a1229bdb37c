"""The development stack: ``policypulse`` (the command line), ``policypulse up`` (the
services on embedded Postgres and broker), and the load generator."""
