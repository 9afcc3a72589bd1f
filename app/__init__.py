"""The Starlette application, settings, authentication and the command line."""
