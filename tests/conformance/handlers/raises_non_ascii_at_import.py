raise ValueError("échec à l'initialisation 😀")
