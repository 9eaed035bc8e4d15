"""The French départements, in INSEE order (a light module: the command line reads it at start)."""

#: The 101 départements; ``generate(n)`` takes the first n.
DEPARTEMENTS: tuple[str, ...] = (
    *(f"{i:02d}" for i in range(1, 20)), "2A", "2B", *(f"{i:02d}" for i in range(21, 96)),
    "971", "972", "973", "974", "976",
)
