"""The operator's commands: accounts and grants, the org import, the audit export and checks,
and the policy check. Each module offers its subcommands through ``register(subparsers)``;
``app/cli.py`` builds the ``riverchief`` parser from them. Nothing here imports ``app``.
"""
