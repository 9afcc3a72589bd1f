"""Strawberry types, inputs, enums and the Query/Mutation classes that make the Schema."""
