"""Who may do what, where: the Casbin model, role policy, enforcer, guard and scope filter.

The only package that imports casbin. Resolvers call just the guard and the scope filter.
"""
