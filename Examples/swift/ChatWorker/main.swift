print("chat worker")
