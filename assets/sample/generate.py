#!/usr/bin/env python3
"""Writes sales_summary.csv, the sample dataset Skein registers on first start.

Deterministic: a fixed seed and a hand-written PRNG (xorshift64*), so every Python version
produces the same bytes. Run `python3 generate.py > sales_summary.csv` to regenerate; a test
checks that the committed CSV is exactly this script's output.
"""
import datetime
import sys

SEED = 20240611
ORDERS = 4000
START = datetime.date(2022, 1, 1)
END = datetime.date(2024, 12, 31)

# (customer, home region, weight): some customers buy far more than others.
CUSTOMERS = [
    ("QUICK-Stop", "West", 9), ("Ernst Handel", "Central", 8), ("Save-a-lot Markets", "South", 8),
    ("Rattlesnake Canyon Grocery", "West", 6), ("Hungry Owl All-Night Grocers", "North", 6),
    ("Hanari Carnes", "South", 5), ("Folk och fä HB", "North", 5), ("Königlich Essen", "Central", 5),
    ("Mère Paillarde", "East", 5), ("Frankenversand", "Central", 4), ("White Clover Markets", "West", 4),
    ("Suprêmes délices", "East", 4), ("Bottom-Dollar Markets", "East", 4), ("Berglunds snabbköp", "North", 3),
    ("Great Lakes Food Market", "North", 3), ("Lehmanns Marktstand", "Central", 3), ("Wartian Herkku", "North", 3),
    ("Split Rail Beer & Ale", "West", 3), ("Queen Cozinha", "South", 3), ("Piccolo und mehr", "Central", 2),
    ("Ricardo Adocicados", "South", 2), ("Old World Delicatessen", "West", 2), ("Vaffeljernet", "North", 2),
    ("Tortuga Restaurante", "South", 2), ("Seven Seas Imports", "East", 2), ("Island Trading", "East", 2),
    ("Blondel père et fils", "East", 2), ("Magazzini Alimentari Riuniti", "Central", 1),
    ("Lonesome Pine Restaurant", "West", 1), ("Around the Horn", "East", 1),
]

# (product, unit price in USD)
PRODUCTS = [
    ("Chai", 18.00), ("Chang", 19.00), ("Aniseed Syrup", 10.00), ("Chef Anton's Cajun Seasoning", 22.00),
    ("Grandma's Boysenberry Spread", 25.00), ("Northwoods Cranberry Sauce", 40.00), ("Mishi Kobe Niku", 97.00),
    ("Ikura", 31.00), ("Queso Cabrales", 21.00), ("Tofu", 23.25), ("Pavlova", 17.45),
    ("Côte de Blaye", 263.50), ("Raclette Courdavault", 55.00), ("Gnocchi di nonna Alice", 38.00),
]

DISCOUNTS = [0.0, 0.0, 0.0, 0.05, 0.10, 0.15, 0.20]
# More orders each year: 2022 is the smallest year, 2023 the biggest jump.
YEAR_WEIGHT = {2022: 2, 2023: 4, 2024: 5}


class Rng:
    """xorshift64*: small, fast, and identical everywhere."""

    def __init__(self, seed):
        self.state = seed or 1

    def next(self):
        x = self.state
        x ^= (x >> 12)
        x ^= (x << 25) & 0xFFFFFFFFFFFFFFFF
        x ^= (x >> 27)
        self.state = x
        return (x * 0x2545F4914F6CDD1D) & 0xFFFFFFFFFFFFFFFF

    def below(self, n):
        return self.next() % n

    def weighted(self, items, weight):
        total = sum(weight(item) for item in items)
        pick = self.below(total)
        for item in items:
            pick -= weight(item)
            if pick < 0:
                return item
        return items[-1]


def main(out):
    rng = Rng(SEED)
    days = [START + datetime.timedelta(days=n) for n in range((END - START).days + 1)]
    dates = sorted(rng.weighted(days, lambda d: YEAR_WEIGHT[d.year]) for _ in range(ORDERS))
    out.write("order_id,order_date,customer_name,product,region,quantity,total_sales_amount\n")
    for n, date in enumerate(dates):
        customer, region, _ = rng.weighted(CUSTOMERS, lambda c: c[2])
        product, price = PRODUCTS[rng.below(len(PRODUCTS))]
        quantity = 1 + rng.below(40)
        discount = DISCOUNTS[rng.below(len(DISCOUNTS))]
        cents = round(quantity * price * 100 * (1 - discount))
        total = f"{cents // 100}.{cents % 100:02d}"
        name = f'"{customer}"' if "," in customer else customer
        item = f'"{product}"' if "," in product else product
        out.write(f"{10001 + n},{date.isoformat()},{name},{item},{region},{quantity},{total}\n")


if __name__ == "__main__":
    main(sys.stdout)
