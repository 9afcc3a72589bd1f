"""The Starlette application, settings, authentication and the command line."""

from app.logs import install as _keep_secrets_out_of_logs

_keep_secrets_out_of_logs()
