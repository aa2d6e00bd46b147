"""Join customers with their orders: revenue per city, and a per-customer summary.

    minispark submit --master 'local-cluster[2,1,512]' examples/join.py

Both data sets are small lists built into this program; in a real job they would come from
files (sc.textFile) or a table export. Amounts are in cents so the sums are exact.
"""

from minispark import SparkConf, SparkContext

# (customer_id, (name, city))
CUSTOMERS = [
    (1, ("Ada", "Lisbon")),
    (2, ("Brian", "Porto")),
    (3, ("Chen", "Lisbon")),
    (4, ("Dana", "Faro")),
    (5, ("Emeka", "Porto")),
    (6, ("Farah", "Faro")),  # has no orders
]

# (order_id, customer_id, amount_cents)
ORDERS = [
    (1001, 1, 2_500),
    (1002, 2, 1_250),
    (1003, 1, 9_900),
    (1004, 3, 4_000),
    (1005, 5, 750),
    (1006, 1, 1_000),
    (1007, 4, 15_000),
    (1008, 5, 3_300),
    (1009, 2, 600),
    (1010, 99, 5_000),  # an unknown customer: an inner join drops it
]


def euros(cents):
    return f"{cents / 100:,.2f} EUR"


if __name__ == "__main__":
    conf = SparkConf().setAppName("join")
    with SparkContext(conf=conf) as sc:
        customers = sc.parallelize(CUSTOMERS)
        orders = sc.parallelize(ORDERS).map(lambda o: (o[1], o[2]))  # key by customer id

        # Inner join: each order meets its customer's city; orders of unknown customers vanish.
        by_city = (
            orders.join(customers)  # (customer_id, (amount, (name, city)))
            .map(lambda kv: (kv[1][1][1], kv[1][0]))
            .reduceByKey(lambda a, b: a + b)
        )
        print("Revenue per city:")
        for city, cents in sorted(by_city.collect(), key=lambda cc: (-cc[1], cc[0])):
            print(f"  {city:<8} {euros(cents):>14}")

        # Aggregate the orders first, then join: the shuffle moves one record per customer
        # instead of one per order. leftOuterJoin keeps customers with no orders (None).
        per_customer = orders.aggregateByKey(
            (0, 0),
            lambda acc, amount: (acc[0] + 1, acc[1] + amount),
            lambda a, b: (a[0] + b[0], a[1] + b[1]),
        )
        summary = customers.leftOuterJoin(per_customer).map(
            lambda kv: (kv[1][0][0], kv[1][1] or (0, 0))  # (name, (orders, cents))
        )
        print("Orders per customer:")
        for name, (count, cents) in sorted(summary.collect()):
            noun = "order" if count == 1 else "orders"
            print(f"  {name:<8} {count:2d} {noun:<6} {euros(cents):>14}")
