print("ringload")
