"""`make fuzz`: schemathesis against openapi.json on the local stack (README, "Fuzzing")."""
