print("ringgate")
