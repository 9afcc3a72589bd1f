"""The Starlette application, authentication, and the command line that puts the rest together."""

from app.logs import install as _keep_secrets_out_of_logs

_keep_secrets_out_of_logs()
