raise RuntimeError("init failed here")
