print("matryoshka: command line not yet built")
