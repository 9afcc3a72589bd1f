"""The compiled read path: hot read operations planned once into SQL that builds the JSON.

An operation (its document and name) and the viewer's roles compile once into a ``Plan``
(``compiled.plan``); each root field of the plan then runs as one SQL statement whose rows
are the response's JSON, built by the database. Whatever the plan cannot express exactly
runs through the resolvers, whole: the two paths are held equal by a differential test.
"""
