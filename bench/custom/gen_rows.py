"""The rows of bench/custom.sh: n simple rows, one dict each (plain Python, no nilus)."""


def rows(n):
    for i in range(n):
        yield {"id": i, "name": "customer", "amount": i * 0.5, "active": True, "region": "eu-west"}
