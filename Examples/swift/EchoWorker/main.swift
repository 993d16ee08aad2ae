// Placeholder until the example lands.
print("echo worker")
