import random

# Raw report data, as the service keeps it in memory: binary samples of a few megabytes.
REPORTS = {name: random.Random(name).randbytes(4_000_000) for name in ("sales", "stock")}
